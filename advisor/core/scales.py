"""Exact conversions between the scales a candidate's Open LLM Leaderboard v2 numbers come in, and
the per-row profile the predictor needs (which scale, which tasks, partial or not).

Scales (``advisor.core.registry``): ``raw`` 0-1 as lm-evaluation-harness writes it; ``percent`` = raw x 100
(what model cards print, e.g. MMLU-Pro 52.3); ``normalized`` = the leaderboard's 0-100 score with the
chance level removed (https://huggingface.co/docs/leaderboards/open_llm_leaderboard/normalization,
implemented for whole lm-eval files in ``advisor.core.leaderboard_norm``).

What one number can be converted *exactly* (:data:`RULES`, checked against the 40 paper models'
leaderboard rows: raw x chance rule reproduces the published normalized value to within the 4-decimal
rounding of the raw file, see ``tests/core/test_scales.py``):

* percent <-> raw, every task: divide / multiply by 100.
* MATH Lvl 5: normalized = raw x 100 (generative, no chance level); exact both ways.
* GPQA (chance 1/4) and MMLU-Pro (chance 1/10): normalized = max(0, (raw - chance) / (1 - chance)) x 100.
  raw -> normalized is exact; normalized -> raw is exact only above 0 (a 0 means "at or below chance",
  the raw value is lost).
* IFEval: the leaderboard's value is the mean of prompt- and instruction-level strict accuracy. One
  number (lm-eval's primary metric, prompt-level strict accuracy, or a card's IFEval, often
  instruction-level or loose) does not give it: not converted.
* BBH and MuSR: the leaderboard rescales each subtask from its own chance level (2 to 19 choices in
  BBH, ``advisor/core/benchmark_subtasks.csv``), clips at 0 and averages; the task-level raw number does
  not determine that mean: not converted.

A row whose values are on one scale keeps it. A row with a mix is put on ``normalized`` when every raw
value converts exactly, else on ``raw`` when every normalized value converts exactly, else on the
scale that keeps more of its values (``raw`` on a tie); values that cannot be converted are left out
and named, never guessed. Everything done is recorded in the row's ``converted`` text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from advisor.core import leaderboard_norm, registry

TASKS = registry.OLL_V2_TASKS
SETTINGS = ("leaderboard", "other")
# Where a candidate's cell came from (the ``prov_<feature>`` columns of the candidate table,
# ``advisor.predict.candidates``): typed or uploaded on the row's own scale; copied from the model's
# Open LLM Leaderboard v2 row; converted exactly (percent -> raw, raw <-> normalized, RULES below);
# looked up by hub id in the database (size, pre-training tokens). "" where the cell is missing.
# Prediction adds "imputed" in its output, never in the input.
GIVEN, LEADERBOARD, CONVERTED, LOOKED_UP = "given", "leaderboard", "converted", "looked up"
PROVENANCE = (GIVEN, LEADERBOARD, CONVERTED, LOOKED_UP)
SETTINGS_HELP = {
    "leaderboard": "Open LLM Leaderboard settings (lm-eval leaderboard tasks: their shots, no CoT)",
    "other": "other / unknown settings (e.g. a model card: other shots, CoT, chat template); less certain",
}
# Why a task's raw value cannot be converted to the leaderboard's normalized score from one number.
NOT_CONVERTIBLE = {
    "leaderboard_ifeval": "the leaderboard's IFEval is the mean of prompt- and instruction-level strict "
                          "accuracy; one number does not give it",
    "leaderboard_bbh": "the leaderboard rescales each of the 24 subtasks from its own chance level and "
                       "averages; the task-level number does not determine that",
    "leaderboard_musr": "the leaderboard rescales each of the 3 subtasks from its own chance level and "
                        "averages; the task-level number does not determine that",
}


@dataclass(frozen=True)
class Rule:
    """raw <-> normalized for one task: normalized = max(0, (raw - chance) / (1 - chance)) x 100."""

    chance: float

    def to_normalized(self, raw: float) -> float:
        return leaderboard_norm.rescale(raw, self.chance)

    def to_raw(self, normalized: float) -> float | None:
        if normalized <= 0.0 and self.chance > 0.0:
            return None  # clipped: the raw value was anywhere at or below chance
        return self.chance + normalized / 100.0 * (1.0 - self.chance)


RULES: dict[str, Rule] = {t: Rule(registry.chance(t)) for t in TASKS if t in registry.task_chance()}


def _tidy(x: float) -> float:
    return round(x, 10)  # 52.3 / 100 is 0.523, not 0.5229999999999999


def convert(task: str, value: float, src: str, dst: str) -> float | None:
    """``value`` of ``task`` from scale ``src`` to ``dst`` where the conversion is exact, else None.

    Scales: 'raw', 'percent', 'normalized'. percent <-> raw works for every task; raw <-> normalized
    only for the tasks in :data:`RULES` (see the module docstring).
    """
    for s in (src, dst):
        if s not in registry.SCALE_RANGES:
            raise ValueError(f"unknown scale {s!r}; use one of {', '.join(registry.SCALE_RANGES)}")
    if src == dst:
        return value
    raw = value / 100.0 if src == "percent" else value
    if src == "normalized":
        rule = RULES.get(task)
        raw = rule.to_raw(value) if rule else None
        if raw is None:
            return None
    if dst == "raw":
        return _tidy(raw)
    if dst == "percent":
        return _tidy(raw * 100.0)
    rule = RULES.get(task)
    return _tidy(rule.to_normalized(raw)) if rule else None


def why_not(task: str, src: str, dst: str, value: float | None = None) -> str:
    """Why ``convert`` gave None, in words."""
    if task in NOT_CONVERTIBLE:
        return NOT_CONVERTIBLE[task]
    if task in RULES and src == "normalized" and value is not None and value <= 0:
        return "a normalized 0 means at or below chance; the raw value is not known"
    return f"no exact rule from {src} to {dst} for {registry.get(task).display_name}"


@dataclass
class Harmonized:
    """One row's values on one scale: what was converted and what could not be."""

    scale: str
    values: dict[str, float]
    input_scales: tuple[str, ...]
    converted: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def harmonize(cells: Mapping[str, tuple[float, str]], default: str = "normalized") -> Harmonized:
    """Put one candidate's benchmark values {benchmark: (value, scale)} on one scale (module docstring).

    Only 'raw', 'percent' and 'normalized' cells take part; NaN cells are skipped. ``default`` is the
    scale of a row with no values.
    """
    cells = {b: (float(v), s) for b, (v, s) in cells.items() if not math.isnan(float(v))}
    inputs = tuple(sorted({s for _, s in cells.values()}))
    out = Harmonized(default if not cells else "raw", {}, inputs)
    raw_like: dict[str, float] = {}
    for b, (v, s) in cells.items():
        if s == "percent":
            raw_like[b] = _tidy(v / 100.0)
            out.converted.append(f"{registry.get(b).display_name}: percent {_fmt(v)} -> raw "
                                 f"{_fmt(raw_like[b])} (/100)")
        elif s == "raw":
            raw_like[b] = v
    normalized = {b: v for b, (v, s) in cells.items() if s == "normalized"}
    if not cells:
        return out
    if not normalized:
        out.scale, out.values = "raw", raw_like
        return out
    if not raw_like:
        out.scale, out.values = "normalized", normalized
        return out
    # a mix: try each target scale, keep the one that loses nothing (normalized first), else the most
    attempts = {}
    for target, movers, keep in (("normalized", raw_like, normalized), ("raw", normalized, raw_like)):
        src = "raw" if target == "normalized" else "normalized"
        vals, done, lost = dict(keep), [], []
        for b, v in movers.items():
            got = convert(b, v, src, target)
            name = registry.get(b).display_name
            if got is None:
                lost.append(f"{name} ({src} {_fmt(v)}): not converted to {target}, {why_not(b, src, target, v)}")
            else:
                vals[b] = got
                done.append(f"{name}: {src} {_fmt(v)} -> {target} {_fmt(got)} (exact)")
        attempts[target] = (vals, done, lost)
    if not attempts["normalized"][2]:
        target = "normalized"
    elif not attempts["raw"][2]:
        target = "raw"
    else:
        target = max(("raw", "normalized"), key=lambda t: (len(attempts[t][0]), t == "raw"))
    vals, done, lost = attempts[target]
    out.scale, out.values = target, vals
    out.converted.extend(done)
    out.dropped = lost
    return out


def tasks_present(row: Mapping) -> tuple[str, ...]:
    """The Open LLM Leaderboard v2 tasks a row has a value for, in registry order."""
    present = []
    for t in TASKS:
        v = row.get(t, math.nan) if hasattr(row, "get") else math.nan
        try:
            if v is not None and not math.isnan(float(v)):
                present.append(t)
        except (TypeError, ValueError):
            continue
    return tuple(present)


def candidate_profiles(candidates: pd.DataFrame, default_scale: str = "normalized") -> pd.DataFrame:
    """For each candidate row (``upload.combine``'s frame, or any frame with ``hf_id``, registry
    benchmark columns and optionally ``scale`` / ``settings``): the scale its six-task values are on
    after the exact conversions ``upload`` applied, which tasks it has and which it lacks.

    Columns: hf_id, scale, tasks (tuple of registry names), missing (tuple), partial (bool: some but
    not all six tasks), settings ('leaderboard' | 'other'). The predictor side picks the raw- or
    normalized-scale predictor from ``scale`` and a reduced spec from ``tasks``.
    """
    rows = []
    for _, r in candidates.iterrows():
        present = tasks_present(r)
        rows.append({"hf_id": r["hf_id"],
                     "scale": r["scale"] if "scale" in r and isinstance(r["scale"], str) else default_scale,
                     "tasks": present, "missing": tuple(t for t in TASKS if t not in present),
                     "partial": 0 < len(present) < len(TASKS),
                     "settings": r["settings"] if "settings" in r and r["settings"] in SETTINGS
                     else "leaderboard"})
    return pd.DataFrame(rows, columns=["hf_id", "scale", "tasks", "missing", "partial", "settings"])


def parse_settings(text) -> str | None:
    """'leaderboard' | 'other' from what a user writes in a ``settings`` cell, None if unrecognised."""
    key = registry.normalize_label(text)
    if key in ("leaderboard", "openllmleaderboard", "openllmleaderboardsettings", "leaderboardsettings",
               "oll", "ollv2", "lb", "lmevalleaderboard"):
        return "leaderboard"
    if key in ("other", "unknown", "otherunknown", "others", "modelcard", "card", "custom"):
        return "other"
    return None
