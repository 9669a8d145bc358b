"""Benchmarks described as data (``advisor/benchmarks.csv``), looked up by name or alias.

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


OLL_V2_TASKS = tuple(names("oll_v2")[:6])
TRAINING_METRICS = ("params_b", "pretrain_tokens_t")
# Reward models: the two training methods and RewardBench's four sections; the overall score is their
# plain mean (rewardbench_v1_scoring_constants.json). Table order: sections first, then the score.
METHODS = ("regression", "bradley_terry")
RM_SECTIONS = ("chat", "chat_hard", "safety", "reasoning")
RM_COLUMNS = (*RM_SECTIONS, "score")  # the paper tables' and rm_results' column order
RM_TARGETS = ("score", *RM_SECTIONS)  # what the predictor serves, the overall score first
RM_SOURCES = ("paper", "pipeline", "user")  # rm_results.source: the paper's tables, RMs trained by pipeline/train,
# the team's own results files (--rm-results)


def model_scales(features, oll_v2_scale: str) -> dict[str, str]:
    """{feature: scale} a model reads its features on: the OLL v2 tasks on ``oll_v2_scale``, every other
    benchmark on its native scale (training metrics: 'count')."""
    return {f: (oll_v2_scale if f in OLL_V2_TASKS else get(f).native_scale) for f in features}
