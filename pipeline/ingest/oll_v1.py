"""Open LLM Leaderboard v1 (frozen June 2024), percent scale. Only models known to the database are
ingested (matched by exact hub id); a model with several rows keeps its bfloat16 row, else the newest."""

from __future__ import annotations

from pathlib import Path

from advisor.core.names import ModelResolver
from pipeline.ingest.common import add_source, insert_scores, read_table

FILE = "open_llm_leaderboard_v1_final_sloth.csv"
COLUMNS = {"ARC": "oll_v1_arc", "HellaSwag": "oll_v1_hellaswag", "MMLU": "oll_v1_mmlu",
           "TruthfulQA": "oll_v1_truthfulqa", "Winogrande": "oll_v1_winogrande", "GSM8K": "oll_v1_gsm8k",
           "Average ⬆️": "oll_v1_average"}


def ingest(con, data_dir: Path, resolver: ModelResolver) -> int:
    path = data_dir / "public" / FILE
    df = read_table(path, ["Model", "Precision", "date", *COLUMNS], numeric=list(COLUMNS),
                    allow_missing=list(COLUMNS))
    df["hf_id"] = [resolver.exact(m) for m in df["Model"]]
    known = df[df["hf_id"].notna()].copy()
    known["pref"] = (known["Precision"] == "bfloat16").astype(int)
    known = known.sort_values(["hf_id", "pref", "date"]).groupby("hf_id").tail(1)
    rows = []
    for _, r in known.iterrows():
        settings = {"precision": r["Precision"], "date": r["date"], "origin": "Open LLM Leaderboard v1"}
        rows += [(r["hf_id"], bench, r[col], "percent", "oll_v1", settings)
                 for col, bench in COLUMNS.items() if r[col] == r[col]]
    insert_scores(con, rows)
    add_source(con, "oll_v1", path, "felipemaiapolo/sloth data/open-llm-leaderboard_old.csv @ 49d510cb", "MIT",
               f"Open LLM Leaderboard v1 (June 2024); {len(known)} of its {len(df)} rows are database models",
               len(known))
    return len(known)
