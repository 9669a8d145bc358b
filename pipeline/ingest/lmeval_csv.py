"""The 19-task lm-evaluation-harness table (hf backend, fp16, default shots, no chat template), raw
0-1 scale. Column headers are 'task(metric,filter)'; model names are written 'org_name'."""

from __future__ import annotations

import re
from pathlib import Path

from advisor.core import registry
from advisor.core.names import ModelResolver
from pipeline.errors import InputError
from pipeline.ingest.common import add_source, insert_scores, read_table

FILE = "lmeval_19tasks_41models_sirus20x6.csv"
HEADER = re.compile(r"^(\w+)\(([^,]+),([^)]+)\)$")


def task_columns(columns) -> dict[str, tuple[str, str, str]]:
    """{column: (benchmark, metric, filter)} for every 'task(metric,filter)' column in the registry."""
    out = {}
    for col in columns:
        m = HEADER.match(col)
        if m and m.group(1) in registry.benchmarks():
            out[col] = (m.group(1), m.group(2), m.group(3))
    return out


def ingest(con, data_dir: Path, resolver: ModelResolver) -> int:
    path = data_dir / "public" / FILE
    head = read_table(path, ["model_name"])
    cols = task_columns(head.columns)
    if not cols:
        raise InputError(path, "no 'task(metric,filter)' columns of known tasks",
                         "use the lm-eval master table with headers like 'mmlu(acc,none)'", field="header")
    df = read_table(path, ["model_name", *cols], numeric=list(cols), allow_missing=list(cols),
                    ranges={c: (0, 1) for c in cols}, range_fix="lm-eval scores are fractions")
    rows, matched = [], 0
    for _, r in df.iterrows():
        hf_id = resolver.resolve(r["model_name"])
        if hf_id is None or "bit)" in r["model_name"]:
            continue  # not a database model, or a quantised run (not comparable)
        matched += 1
        for col, (bench, metric, filt) in cols.items():
            if r[col] == r[col]:
                settings = {"metric": metric, "filter": filt, "backend": "hf", "dtype": "float16",
                            "fewshot": "default", "chat_template": False, "run_name": r["model_name"]}
                rows.append((hf_id, bench, r[col], "raw", "lmeval_19tasks", settings))
    insert_scores(con, rows)
    add_source(con, "lmeval_19tasks", path,
               "sirus20x6/41-llms-evaluated-on-19-benchmarks results_tables/llm_benchmarks_master.csv @ b846f7fe",
               "none stated", f"lm-eval 19 tasks; {matched} of {len(df)} runs are database models", matched)
    return matched
