"""The registries: benchmarks (``advisor/core/benchmarks.csv``, looked up by name or alias), their
leaderboard facts (subtask answer choices ``advisor/core/benchmark_subtasks.csv``, chance levels
``advisor/core/benchmark_chance.csv``), the scale rule, and the reward-model vocabulary (training methods,
RewardBench categories, size groups) with their display labels. Everything else imports these.

Scales: ``raw`` is a 0-1 fraction as lm-evaluation-harness writes it; ``percent`` is the same kind of
number times 100 (Open LLM Leaderboard v1, EvalPlus pass@1); ``normalized`` is the Open LLM Leaderboard
v2's 0-100 score with the chance level removed; ``count`` is a training metric (parameters in
billions, tokens in trillions). A score is always stored with its scale and never silently converted.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SCALES = ("raw", "percent", "normalized", "count")
SCALE_RANGES = {"raw": (0.0, 1.0), "percent": (0.0, 100.0), "normalized": (0.0, 100.0)}  # count: open
REGISTRY_FILE = Path(__file__).with_name("benchmarks.csv")
SUBTASKS_FILE = Path(__file__).with_name("benchmark_subtasks.csv")
CHANCE_FILE = Path(__file__).with_name("benchmark_chance.csv")


@dataclass(frozen=True)
class Benchmark:
    name: str
    display_name: str
    group: str
    topic: str
    harness: str
    task: str
    metric: str
    native_scale: str
    higher_is_better: bool
    fewshot: str
    aliases: tuple[str, ...]


def normalize_label(label: str) -> str:
    """Case- and punctuation-insensitive key: 'MATH Lvl 5' -> 'mathlvl5', 'MMLU-PRO' -> 'mmlupro'.

    '+' is kept as 'plus' so HumanEval and HumanEval+ stay distinct.
    """
    s = str(label).strip().lower().replace("+", "plus")
    return re.sub(r"[^a-z0-9]", "", s)


@lru_cache(maxsize=1)
def benchmarks() -> dict[str, Benchmark]:
    out: dict[str, Benchmark] = {}
    with REGISTRY_FILE.open(newline="") as fh:
        for row in csv.DictReader(fh):
            aliases = tuple(a for a in (row["aliases"] or "").split("|") if a)
            out[row["name"]] = Benchmark(
                name=row["name"], display_name=row["display_name"], group=row["group"],
                topic=row["topic"], harness=row["harness"], task=row["task"], metric=row["metric"],
                native_scale=row["native_scale"], higher_is_better=row["higher_is_better"] == "true",
                fewshot=row["fewshot"], aliases=aliases,
            )
    return out


@lru_cache(maxsize=1)
def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for b in benchmarks().values():
        for label in (b.name, b.display_name, *b.aliases):
            index.setdefault(normalize_label(label), b.name)
    return index


def get(name: str) -> Benchmark:
    """The benchmark called ``name`` (exact registry name); the error lists the valid names."""
    try:
        return benchmarks()[name]
    except KeyError:
        valid = ", ".join(sorted(benchmarks()))
        raise KeyError(f"unknown benchmark {name!r}; valid names: {valid}") from None


def resolve(label: str) -> str | None:
    """Registry name for a column label or alias ('MATH Lvl 5', 'Params (B)'), or None."""
    return _alias_index().get(normalize_label(label))


def names(group: str | None = None) -> list[str]:
    return [b.name for b in benchmarks().values() if group is None or b.group == group]


# The six tasks of the Open LLM Leaderboard v2, in the leaderboard's column order (IFEval, BBH, MATH Lvl 5,
# GPQA, MUSR, MMLU-PRO); each is an oll_v2 row of benchmarks.csv (tests/core/test_registry.py).
OLL_V2_TASKS = ("leaderboard_ifeval", "leaderboard_bbh", "leaderboard_math_hard", "leaderboard_gpqa",
                "leaderboard_musr", "leaderboard_mmlu_pro")
TRAINING_METRICS = ("params_b", "pretrain_tokens_t")


# --- leaderboard facts: answer choices per subtask and chance levels (OLL v2 normalisation) -------

def _read_csv(path: Path, columns: tuple[str, ...]) -> list[dict]:
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: column(s) {missing} missing. Fix: restore the header "
                             f"{','.join(columns)}")
        return list(reader)


@lru_cache(maxsize=1)
def subtask_choices() -> dict[str, dict[str, int]]:
    """{task: {subtask: number of answer choices}} (chance level = 1/choices), file order.

    BBH counts are the ``doc_to_choice`` lengths of lm-eval's leaderboard task YAMLs.
    """
    out: dict[str, dict[str, int]] = {}
    for i, row in enumerate(_read_csv(SUBTASKS_FILE, ("task", "subtask", "choices")), start=2):
        get(row["task"])  # KeyError listing the valid names
        try:
            n = int(row["choices"])
        except ValueError:
            n = 0
        if n < 2:
            raise ValueError(f"{SUBTASKS_FILE}, row {i}, field 'choices': {row['choices']!r}. "
                             "Fix: write the number of answer choices (an integer >= 2)")
        out.setdefault(row["task"], {})[row["subtask"]] = n
    return out


@lru_cache(maxsize=1)
def task_chance() -> dict[str, float]:
    """{task: chance level} of the tasks the leaderboard rescales on their task-level value."""
    out: dict[str, float] = {}
    for i, row in enumerate(_read_csv(CHANCE_FILE, ("task", "chance")), start=2):
        get(row["task"])
        try:
            c = float(row["chance"])
        except ValueError:
            c = -1.0
        if not 0.0 <= c < 1.0:
            raise ValueError(f"{CHANCE_FILE}, row {i}, field 'chance': {row['chance']!r}. "
                             "Fix: write the chance level as a fraction in [0, 1)")
        out[row["task"]] = c
    return out


def choices(task: str) -> dict[str, int]:
    """{subtask: answer choices} of ``task``; the error lists the tasks that have subtasks."""
    try:
        return subtask_choices()[task]
    except KeyError:
        raise KeyError(f"no subtask choices for {task!r}; tasks with subtasks: "
                       f"{', '.join(subtask_choices())}") from None


def chance(task: str) -> float:
    """Task-level chance level of ``task``; the error lists the tasks that have one."""
    try:
        return task_chance()[task]
    except KeyError:
        raise KeyError(f"no chance level for {task!r}; tasks with one: {', '.join(task_chance())}") from None


# --- scales ---------------------------------------------------------------------------------------

def model_scales(features, oll_v2_scale: str) -> dict[str, str]:
    """{feature: scale} the features are read on, everywhere (predictor, presence, transfer and the
    app's tables): the OLL v2 tasks on ``oll_v2_scale``, every other benchmark on its native scale
    (training metrics: 'count'). Unknown names raise (KeyError listing the valid ones)."""
    return {f: (oll_v2_scale if f in OLL_V2_TASKS else get(f).native_scale) for f in features}


# --- reward models --------------------------------------------------------------------------------
# The two training methods and RewardBench's four sections; the overall score is their plain mean
# (rewardbench_v1_scoring_constants.json). Labels: the official section names (the constants' keys).
METHODS = ("regression", "bradley_terry")
METHOD_LABELS = {"regression": "Regression", "bradley_terry": "Bradley-Terry"}
RM_SECTION_LABELS = {"chat": "Chat", "chat_hard": "Chat Hard", "safety": "Safety", "reasoning": "Reasoning"}
RM_SECTIONS = tuple(RM_SECTION_LABELS)
RM_COLUMNS = (*RM_SECTIONS, "score")  # the paper tables' and rm_results' column order
RM_TARGETS = ("score", *RM_SECTIONS)  # what the predictor serves, the overall score first
CATEGORY_LABELS = {"score": "Overall", **RM_SECTION_LABELS}  # display labels of RM_TARGETS
RM_SOURCES = ("paper", "pipeline", "user")  # rm_results.source: the paper's tables, RMs trained by pipeline/train,
# the team's own results files (--rm-results)

# Size groups of base models (paper 3.3): parameters in billions -> group, in display order.
SIZE_GROUPS = ("<3B", "3-6B", ">=6B")


# Confidence tiers of a candidate in the shortlist (advisor.predict.verdict assigns them; docs/app.md
# lists them). A row gets the first tier, in this order, any of whose conditions holds; ``high`` has
# none: it is what is left. The conditions are the row flags of ``advisor.predict.verdict.FLAGS``.
CONFIDENCE_TIERS = (
    {"tier": "measured", "when": ("measured",),
     "definition": "a reward model trained on this base with the chosen method was measured (the paper's "
                   "results or your own): ranked by that measurement, the prediction shown beside it"},
    {"tier": "low", "when": ("out_of_domain", "clamped"),
     "definition": "outside the predictor's domain (no known model nearby) or with inputs beyond the known "
                   "models' range (clamped to it): a rough guess, never named the best"},
    {"tier": "medium", "when": ("imputed", "partial", "other_settings"),
     "definition": "in domain, but some inputs were missing (imputed, or served by a reduced spec) or come "
                   "from other evaluation settings than the leaderboard's"},
    {"tier": "high", "when": (),
     "definition": "complete inputs (given, from the leaderboard or looked up), in domain, nothing clamped"},
)
TIER_DEFINITIONS = {t["tier"]: t["definition"] for t in CONFIDENCE_TIERS}
TIER_DISPLAY_ORDER = ("measured", "high", "medium", "low")  # best first: legends, the app's list, the docs


def size_group(params_b: float) -> str:
    """'<3B' below 3 B parameters, '3-6B' below 6 B, else '>=6B'."""
    return "<3B" if params_b < 3 else ("3-6B" if params_b < 6 else ">=6B")


def label(name: str) -> str:
    """Display name of a benchmark or training metric, the registry name when unknown."""
    try:
        return get(name).display_name
    except KeyError:
        return CATEGORY_LABELS.get(name, name)
