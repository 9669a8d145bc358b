"""The Open LLM Leaderboard v2 normalisation (scale ``normalized``, 0-100), as the leaderboard documents it
(https://huggingface.co/docs/leaderboards/open_llm_leaderboard/normalization).

* IFEval: mean of ``prompt_level_strict_acc`` and ``inst_level_strict_acc``, times 100;
* BBH, MUSR: each subtask's ``acc_norm`` rescaled from [1/choices, 1] to [0, 100] (below chance -> 0),
  then the unweighted mean over the 24 (BBH) / 3 (MUSR) subtasks; choices per subtask in the registry
  (``advisor/core/benchmark_subtasks.csv``; BBH counts are the ``doc_to_choice`` lengths of lm-eval's
  leaderboard task YAMLs);
* GPQA (chance 1/4, group ``acc_norm``) and MMLU-PRO (chance 1/10, ``acc``): the same rescaling on
  the task-level value (chance levels: ``advisor/core/benchmark_chance.csv``);
* MATH Lvl 5: group ``exact_match`` times 100 (generative, no chance level).

Computed only where a results file holds every input (``advisor.formats.lmeval`` passes its values in); a
score's ``settings["normalization"]`` says EXACT only when the run was also complete (no ``limit``).
"""

from __future__ import annotations

from collections.abc import Callable

from advisor.core import registry

EXACT = "normalized as the leaderboard does"
LIMITED = "leaderboard formula on a limited sample (run with limit), not the leaderboard's number"


def rescale(value: float, chance: float) -> float:
    """``value`` (0-1) rescaled from [chance, 1] to [0, 100], below chance clipped to 0."""
    return max(0.0, (value - chance) / (1.0 - chance)) * 100.0


def normalized(task: str, metric: Callable[[str], float | None],
               subtask_acc_norm: Callable[[str], float | None]) -> tuple[float, str] | None:
    """(value 0-100, detail) of the OLL v2 normalisation of ``task``, or None if an input is missing.

    ``metric(name)``: the task's value of a metric (None when the file lacks it);
    ``subtask_acc_norm(subtask)``: a subtask's ``acc_norm`` (None when missing).
    """
    if task == "leaderboard_ifeval":
        p = metric("prompt_level_strict_acc")
        i = metric("inst_level_strict_acc")
        if p is None or i is None:
            return None
        return (p + i) / 2 * 100, "mean of prompt- and instruction-level strict accuracy x 100"
    if task in registry.subtask_choices():
        parts = []
        for sub, choices in registry.choices(task).items():
            got = subtask_acc_norm(sub)
            if got is None:
                return None
            parts.append(rescale(got, 1.0 / choices))
        return sum(parts) / len(parts), (f"mean over {len(parts)} subtasks of acc_norm rescaled "
                                        "from chance (1/choices) to 100")
    if task in registry.task_chance():
        name = registry.get(task).metric
        got = metric(name)
        if got is None:
            return None
        chance = registry.chance(task)
        return rescale(got, chance), f"{name} rescaled from chance {chance:g} to 100"
    return None
