"""Public reward models trained with one recipe on several bases (``data/external/external_rm_groups.csv``)
into ``external_rm_results``: evaluation data for advisor/analyses/transfer.py, never training rows.

Each row's base is a hub id verified against the RM's card or config or the RewardBench 2 paper
(``verified_source``; see data/SOURCES.md); scores are copied from the RewardBench leaderboard file (0-1,
stored here in percent like ``rewardbench_leaderboard``). The ingester checks what a hand-edited table can
get wrong: columns, numbers and their range, versions, hub ids, a source for every base, duplicated (RM,
version) rows, and that every score equals the leaderboard's (``score`` and the sections), so a copy error
cannot slip in.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from advisor.core import registry
from advisor.formats.user_rm import valid_hf_id
from pipeline import schema
from pipeline.errors import InputError
from pipeline.ingest.common import add_source, read_table
from pipeline.ingest.rewardbench_lb import FILE as LB_FILE

FILE = Path("external") / "external_rm_groups.csv"
VERSIONS = ("v1", "v2")
SECTIONS = {**registry.RM_SECTION_LABELS,  # v1's sections, then RewardBench 2's: column -> leaderboard label
            "factuality": "Factuality", "precise_if": "Precise IF", "math": "Math", "focus": "Focus", "ties": "Ties"}
REQUIRED = ["group", "recipe_data", "recipe_method", "hyperparameters", "rm_id", "base_hf_id", "verification",
            "verified_source", "rewardbench_version", "score", *SECTIONS, "seed", "run"]
LB_SOURCE = {"v1": "RewardBench", "v2": "RewardBench 2"}


def ingest(con, data_dir: Path) -> int:
    path = Path(data_dir) / FILE
    numeric = ["score", *SECTIONS, "seed"]
    df = read_table(path, REQUIRED, numeric=numeric, allow_missing=[*SECTIONS, "seed"],
                    ranges={c: (0.0, 1.0) for c in ["score", *SECTIONS]},
                    range_fix="scores are fractions (0-1) as the RewardBench leaderboard publishes them")
    lb = read_table(Path(data_dir) / "public" / LB_FILE, ["model", "source_name", "Score", *SECTIONS.values()],
                    numeric=["Score", *SECTIONS.values()], allow_missing=["Score", *SECTIONS.values()])
    lb = lb.set_index(["model", "source_name"])
    seen: dict[tuple, int] = {}
    for i, r in df.iterrows():
        row = i + 2
        for col in ("group", "rm_id", "verification", "verified_source", "recipe_method"):
            if not r[col].strip():
                raise InputError(path, "empty cell", f"fill {col!r} (a base without a verified source is dropped, "
                                 "not kept: list it in data/external/dropped.csv)", row=row, field=col)
        if r["rewardbench_version"] not in VERSIONS:
            raise InputError(path, f"unknown version {r['rewardbench_version']!r}", f"use one of {list(VERSIONS)}",
                             row=row, field="rewardbench_version")
        if not valid_hf_id(r["base_hf_id"]):
            raise InputError(path, f"{r['base_hf_id']!r} is not a hub id (owner/name)",
                             "write the verified base's Hugging Face id", row=row, field="base_hf_id")
        key = (r["rm_id"], r["rewardbench_version"])
        if key in seen:
            raise InputError(path, f"{key[0]} ({key[1]}) already on row {seen[key]}", "keep one row per RM and version",
                             row=row, field="rm_id")
        seen[key] = row
        lb_key = (r["rm_id"], LB_SOURCE[r["rewardbench_version"]])
        if lb_key not in lb.index:
            raise InputError(path, f"{r['rm_id']} has no {lb_key[1]} row in {LB_FILE}",
                             "copy scores only for RMs on the leaderboard file", row=row, field="rm_id")
        pub = lb.loc[lb_key]
        for col, lb_col in [("score", "Score"), *SECTIONS.items()]:
            a, b = r[col], pub[lb_col]
            if (pd.isna(a) != pd.isna(b)) or (pd.notna(a) and abs(a - b) > 1e-9):
                raise InputError(path, f"{col} {a} differs from the leaderboard's {b}",
                                 f"copy the value from {LB_FILE} (numbers are never edited)", row=row, field=col)
    out = pd.DataFrame({
        "rm_group": df["group"], "recipe_data": df["recipe_data"], "recipe_method": df["recipe_method"],
        "hyperparameters": df["hyperparameters"], "rm_id": df["rm_id"], "base_hf_id": df["base_hf_id"],
        "verification": df["verification"], "verified_source": df["verified_source"],
        "rewardbench_version": df["rewardbench_version"], "score": 100 * df["score"],
        **{c: 100 * df[c] for c in SECTIONS},
        "seed": df["seed"].astype("Int64"), "run": df["run"].replace("", None)})
    schema.insert(con, "external_rm_results", out)
    add_source(con, "external_rm_groups", path, "data/external/build_table.py from the draft reading "
               "(../shared/data/external_rm_groups_draft.csv) + RM cards/configs + the RewardBench 2 paper "
               "(Qwen bases); scores: evaleval/every_eval_ever data/reward-bench @ d9be34d6", "MIT (scores)",
               "public RMs trained with one recipe on several bases, bases verified (evaluation only)", len(df))
    return len(df)
