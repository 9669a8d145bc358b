"""Open LLM Leaderboard v2: the raw 0-1 scores of the 40 paper models, and the final normalized 0-100
table of 4,576 models. Both scales are kept, each row labelled; they are never mixed.

Duplicate rule (documented in docs/data.md): four models have two raw submissions differing in precision.
``prefer_bfloat16`` (default) keeps the bfloat16 submission; ``prefer_float16`` the float16 one;
``max_average`` the one with the higher mean raw score. The final table's duplicate rows are resolved to
the same submission: the row whose IFEval and MATH Lvl 5 (which the leaderboard does not rescale:
normalized = 100 x raw) match the kept raw submission. The other row stays in ``leaderboard_v2`` with
``duplicate_of_rank`` set, so nothing is lost.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from advisor.core.names import ModelResolver
from pipeline import schema
from pipeline.errors import InputError
from pipeline.ingest.common import add_source, insert_scores, read_table, unknown_model

RAW_COLUMNS = {"IFEval": "leaderboard_ifeval", "BBH": "leaderboard_bbh", "MATH Level 5": "leaderboard_math_hard",
               "GPQA": "leaderboard_gpqa", "MUSR": "leaderboard_musr", "MMLU-PRO": "leaderboard_mmlu_pro"}
FINAL_COLUMNS = {"IFEval": "leaderboard_ifeval", "BBH": "leaderboard_bbh", "MATH_Lvl5": "leaderboard_math_hard",
                 "GPQA": "leaderboard_gpqa", "MUSR": "leaderboard_musr", "MMLU_PRO": "leaderboard_mmlu_pro"}
RULES = ("prefer_bfloat16", "prefer_float16", "max_average")
RAW_FILE = "open_llm_leaderboard_v2_raw_40models_eee.csv"
FINAL_FILE = "open_llm_leaderboard_v2_final_20250509_modelrank.csv"


def pick_submission(rows, rule: str):
    if rule not in RULES:
        raise InputError("config", f"unknown oll_v2_duplicate_rule {rule!r}", f"use one of {', '.join(RULES)}",
                         field="ingest.oll_v2_duplicate_rule")
    if rule == "max_average":
        return max(rows, key=lambda r: (sum(r[c] for c in RAW_COLUMNS), r["precision"]))
    want = "bfloat16" if rule == "prefer_bfloat16" else "float16"
    preferred = [r for r in rows if r["precision"] == want]
    return preferred[0] if preferred else rows[0]


def ingest_raw(con, data_dir: Path, resolver: ModelResolver, rule: str) -> dict[str, dict]:
    path = data_dir / "public" / RAW_FILE
    df = read_table(path, ["model", "precision", "params_b", *RAW_COLUMNS], numeric=["params_b", *RAW_COLUMNS],
                    ranges={c: (0, 1) for c in RAW_COLUMNS},
                    range_fix="raw scores are fractions; divide percentages by 100")
    by_model: dict[str, list] = {}
    for i, r in df.iterrows():
        hf_id = resolver.resolve(r["model"])
        if hf_id is None:
            raise unknown_model(path, r["model"], i + 2)
        by_model.setdefault(hf_id, []).append(dict(r))
    kept = {}
    rows = []
    for hf_id, subs in by_model.items():
        r = pick_submission(subs, rule)
        kept[hf_id] = r
        settings = {"precision": r["precision"], "submissions": len(subs), "duplicate_rule": rule,
                    "origin": "every_eval_ever hfopenllm_v2", "path": r.get("eee_path", "")}
        rows += [(hf_id, bench, r[col], "raw", "oll_v2_raw", settings) for col, bench in RAW_COLUMNS.items()]
    insert_scores(con, rows)
    add_source(con, "oll_v2_raw", path, "evaleval/every_eval_ever data/hfopenllm_v2 @ d9be34d6", "MIT",
               "Open LLM Leaderboard v2 raw scores (0-1), 40 paper models", len(df))
    return kept


def ingest_final(con, data_dir: Path, resolver: ModelResolver, kept_raw: dict[str, dict]) -> None:
    path = data_dir / "public" / FINAL_FILE
    df = read_table(path, ["rank", "model", "average", "params_b", *FINAL_COLUMNS],
                    numeric=["rank", "average", "params_b", *FINAL_COLUMNS], allow_missing=["params_b"],
                    ranges={**{c: (0, 100) for c in FINAL_COLUMNS},
                            "rank": (1, 2**31 - 1, "ranks are whole numbers from 1")},
                    range_fix="normalized scores are 0-100")
    fractional = df["rank"] % 1 != 0
    if fractional.any():
        i = int(fractional.to_numpy().argmax())
        raise InputError(path, f"{df['rank'].iloc[i]} is not a whole number", "ranks are whole numbers from 1",
                         row=i + 2, field="rank")
    df["hf_id"] = [resolver.exact(m) or m for m in df["model"]]
    n_rows = df["hf_id"].value_counts()
    first_rank: dict[str, int] = {}
    wide, rows = [], []
    chosen: dict[str, int] = {}
    for _, r in df.iterrows():
        hf_id = r["hf_id"]
        rank = int(r["rank"])
        raw = kept_raw.get(hf_id)
        if raw is not None and hf_id not in chosen:
            # this row belongs to the kept submission only if IFEval and MATH match it
            if n_rows[hf_id] == 1 or (abs(r["IFEval"] - 100 * raw["IFEval"]) < 0.02
                                      and abs(r["MATH_Lvl5"] - 100 * raw["MATH Level 5"]) < 0.02):
                chosen[hf_id] = rank
        dup_of = first_rank.get(hf_id)
        first_rank.setdefault(hf_id, rank)
        wide.append((hf_id, rank, r["average"], None if r["params_b"] != r["params_b"] else r["params_b"],
                     *(r[c] for c in FINAL_COLUMNS), hf_id.split("/")[0] if "/" in hf_id else "", dup_of))
    wide_df = pd.DataFrame(wide, columns=["hf_id", "rank", "average", "params_b", *FINAL_COLUMNS.values(),
                                          "org", "duplicate_of_rank"]).astype({"duplicate_of_rank": "Int64"})
    schema.insert(con, "leaderboard_v2", wide_df)  # one bulk insert (executemany: seconds)
    for hf_id, rank in chosen.items():
        r = df[df["rank"] == rank].iloc[0]
        settings = {"rank": rank, "origin": "Open LLM Leaderboard v2 final table (2025-05-09)",
                    "matched_raw_precision": kept_raw[hf_id]["precision"]}
        rows += [(hf_id, bench, r[col], "normalized", "oll_v2_final", settings) for col, bench in FINAL_COLUMNS.items()]
        rows.append((hf_id, "oll_v2_average", r["average"], "normalized", "oll_v2_final", settings))
    missing = sorted(set(kept_raw) - set(chosen))
    if missing:
        raise InputError(path, f"no row matches the kept raw submission of {missing}",
                         "check that the final table and the raw table are from the same leaderboard", field="model")
    insert_scores(con, rows, recorded_at="2025-05-09")  # the final table's snapshot date
    add_source(con, "oll_v2_final", path, "chenjy16/modelrank_ai docs/index.html @ 2c9830dc (2025-05-09)",
               "none stated (leaderboard numbers)", "final Open LLM Leaderboard v2 table, normalized 0-100", len(df))
