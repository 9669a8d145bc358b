"""The public RewardBench leaderboard (v1 and v2 rows), stored as published (fractions 0-1 converted to
percent so they compare with the paper's tables)."""

from __future__ import annotations

from pathlib import Path

from advisor.core.registry import RM_SECTION_LABELS, RM_SECTIONS, RM_TARGETS
from pipeline import schema
from pipeline.errors import InputError
from pipeline.ingest.common import add_source, read_table

FILE = "rewardbench_v1_v2_leaderboard_eee.csv"
# The file's columns: the overall score, RewardBench v1's sections (their official names), then v2's.
NUMERIC = ["Score", *(RM_SECTION_LABELS[c] for c in RM_SECTIONS), "Prior Sets (0.5 weight)", "Factuality",
           "Precise IF", "Math", "Focus", "Ties"]
COLUMNS = [*RM_TARGETS, "prior_sets", "factuality", "precise_if", "math", "focus", "ties"]  # NUMERIC's, in order
VERSIONS = {"RewardBench": "v1", "RewardBench 2": "v2"}


def ingest(con, data_dir: Path) -> int:
    path = data_dir / "public" / FILE
    df = read_table(path, ["model", "model_type", "source_name", *NUMERIC], numeric=NUMERIC, allow_missing=NUMERIC)
    rows = []
    for i, r in df.iterrows():
        if r["source_name"] not in VERSIONS:
            raise InputError(path, f"unknown source {r['source_name']!r}", f"use one of {list(VERSIONS)}",
                             row=i + 2, field="source_name")
        vals = [None if v != v else 100 * v for v in (r[c] for c in NUMERIC)]
        rows.append({"model": r["model"], "model_type": r["model_type"], "version": VERSIONS[r["source_name"]],
                     **dict(zip(COLUMNS, vals))})
    schema.insert(con, "rewardbench_leaderboard", rows)
    add_source(con, "rewardbench_leaderboard", path, "evaleval/every_eval_ever data/reward-bench @ d9be34d6", "MIT",
               "RewardBench leaderboard (v1 and v2 rows), scores in percent", len(df))
    return len(df)
