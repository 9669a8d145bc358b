"""How much "other" evaluation settings move a model's numbers away from the Open LLM Leaderboard's.

Model cards report the leaderboard's tasks under their own settings (shots, chain-of-thought, chat
template). The one table here that ran the same models under other settings is the lm-eval 19-task
table (``data/public/lmeval_19tasks_41models_sirus20x6.csv``: hf backend, fp16, lm-eval's default
shots, no chat template). It is set against the leaderboard's raw values
(``data/public/open_llm_leaderboard_v2_raw_40models_eee.csv``) for the models both cover.

No task is strictly identical in the two tables. Only like is paired with like (:data:`PAIRS`):

* BBH: lm-eval's ``bbh`` (3-shot chain-of-thought, generated answer scored by exact match, 27 subtasks)
  against ``leaderboard_bbh`` (3-shot multiple choice by log-likelihood, ``acc_norm``, 24 subtasks):
  the same benchmark under other settings, what a card's "BBH 3-shot CoT" is.
* GPQA: ``gpqa_main_zeroshot`` (main set, 448 questions, 0-shot, ``acc_norm``) against
  ``leaderboard_gpqa`` (diamond, extended and main pooled, 0-shot, ``acc_norm``, the leaderboard's
  prompt): the same benchmark, another subset and prompt.

Not paired (:data:`NOT_COMPARABLE`): MMLU is not MMLU-Pro, GSM8K is not MATH level 5, and the table has
no IFEval or MuSR. The shift is measured on the raw 0-1 scale as (other - leaderboard); quantised runs
("(8bit)") are left out. With about a dozen models this is a rough guide, not a correction: the
predictor side may widen intervals of "other" rows by it, never shift their values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from advisor.core.names import ModelResolver
from advisor.core.scales import RULES

DATA = Path(__file__).resolve().parents[2] / "data" / "public"
LMEVAL_FILE = DATA / "lmeval_19tasks_41models_sirus20x6.csv"
LEADERBOARD_RAW_FILE = DATA / "open_llm_leaderboard_v2_raw_40models_eee.csv"


@dataclass(frozen=True)
class Pair:
    benchmark: str  # registry name of the leaderboard task
    leaderboard_column: str  # column in the leaderboard raw file
    other_column: str  # column in the lm-eval 19-task file
    comparability: str


PAIRS = (
    Pair("leaderboard_bbh", "BBH", "bbh(exact_match,get-answer)",
         "same benchmark, other settings: 3-shot chain-of-thought exact match (27 subtasks) vs the "
         "leaderboard's 3-shot multiple-choice acc_norm (24 subtasks)"),
    Pair("leaderboard_gpqa", "GPQA", "gpqa_main_zeroshot(acc_norm,none)",
         "same benchmark, other subset and prompt: GPQA main (448 questions) 0-shot vs the "
         "leaderboard's diamond + extended + main, 0-shot, acc_norm"),
)
NOT_COMPARABLE = {
    "leaderboard_mmlu_pro": "the table has MMLU (4 choices), a different benchmark from MMLU-Pro (10 choices)",
    "leaderboard_math_hard": "the table has GSM8K (grade-school arithmetic), not MATH level 5",
    "leaderboard_ifeval": "not in the 19-task table",
    "leaderboard_musr": "not in the 19-task table",
}
SUMMARY_COLUMNS = ["benchmark", "other_column", "n_models", "mean_diff", "sd_diff", "mean_abs_diff",
                   "spearman", "sd_diff_normalized", "comparability"]


def paired_values(lmeval_file: Path = LMEVAL_FILE, leaderboard_file: Path = LEADERBOARD_RAW_FILE) -> pd.DataFrame:
    """One row per (model both tables cover, paired task): hf_id, benchmark, leaderboard, other, diff.

    A model with several leaderboard submissions (two precisions) uses its float16 one when there is
    (the lm-eval runs are fp16), else the first listed.
    """
    lb = pd.read_csv(leaderboard_file)
    lb = lb.assign(_fp16=lb["precision"].eq("float16")).sort_values("_fp16", ascending=False, kind="stable")
    lb = lb.drop_duplicates("model").set_index("model")
    other = pd.read_csv(lmeval_file)
    resolver = ModelResolver(lb.index)
    rows = []
    for _, r in other.iterrows():
        name = str(r["model_name"])
        if "bit)" in name:
            continue  # quantised run: another model, in effect
        hf_id = resolver.resolve(name)
        if hf_id is None:
            continue
        for p in PAIRS:
            a, b = lb.at[hf_id, p.leaderboard_column], r[p.other_column]
            if pd.notna(a) and pd.notna(b):
                rows.append({"hf_id": hf_id, "run_name": name, "benchmark": p.benchmark,
                             "leaderboard": float(a), "other": float(b), "diff": float(b) - float(a)})
    return pd.DataFrame(rows, columns=["hf_id", "run_name", "benchmark", "leaderboard", "other", "diff"])


def settings_shift(lmeval_file: Path = LMEVAL_FILE, leaderboard_file: Path = LEADERBOARD_RAW_FILE) -> pd.DataFrame:
    """Per paired task: n_models, mean and sample sd of (other - leaderboard) on the raw 0-1 scale,
    mean absolute difference, Spearman correlation of the two (does the ranking survive?), the sd in
    normalized points where the task's raw -> normalized rule is linear (``advisor.core.scales.RULES``:
    x 100 / (1 - chance), above chance; NaN for BBH, which has no such rule), and what kind of pair
    it is. Columns: SUMMARY_COLUMNS."""
    pv = paired_values(lmeval_file, leaderboard_file)
    rows = []
    for p in PAIRS:
        g = pv[pv["benchmark"] == p.benchmark]
        n = len(g)
        rows.append({"benchmark": p.benchmark, "other_column": p.other_column, "n_models": n,
                     "mean_diff": float(g["diff"].mean()) if n else np.nan,
                     "sd_diff": float(g["diff"].std(ddof=1)) if n > 1 else np.nan,
                     "mean_abs_diff": float(g["diff"].abs().mean()) if n else np.nan,
                     "spearman": float(g["leaderboard"].corr(g["other"], method="spearman")) if n > 2 else np.nan,
                     "sd_diff_normalized": (float(g["diff"].std(ddof=1)) * 100 / (1 - RULES[p.benchmark].chance)
                                            if n > 1 and p.benchmark in RULES else np.nan),
                     "comparability": p.comparability})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
