"""EvalPlus leaderboard results.json: pass@1 (percent) on HumanEval, HumanEval+, MBPP, MBPP+.

Entries are keyed by display name; the model is found from the entry's Hugging Face link when it has
one, else by the display-name rule of advisor/core/names.py (with data/model_aliases.csv). Entries of
models not in the database are skipped and counted.
"""

from __future__ import annotations

import json
from pathlib import Path

from advisor.core.names import ModelResolver
from pipeline.errors import InputError
from pipeline.ingest.common import add_source, insert_scores

FILE = "evalplus_results_20241226.json"
METRICS = {"humaneval": "humaneval", "humaneval+": "humaneval_plus", "mbpp": "mbpp", "mbpp+": "mbpp_plus"}


def parse(path: Path) -> dict:
    if not path.exists():
        raise InputError(path, "file not found", "restore it from git or point the config at the right file")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid JSON ({exc})", "use EvalPlus's results.json as published") from None
    if not isinstance(data, dict) or not data:
        raise InputError(path, "expected a non-empty object of model -> results", "use EvalPlus's results.json")
    for name, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("pass@1"), dict):
            raise InputError(path, f"entry {name!r} has no 'pass@1' object", "each model needs pass@1 scores",
                             field=f"{name}.pass@1")
        for key, value in entry["pass@1"].items():
            if value is not None and not isinstance(value, (int, float)):
                raise InputError(path, f"{value!r} is not a number", "write pass@1 as a number or null",
                                 field=f"{name}.pass@1.{key}")
            if isinstance(value, (int, float)) and not 0 <= value <= 100:
                raise InputError(path, f"{value} is outside 0-100", "pass@1 is a percentage",
                                 field=f"{name}.pass@1.{key}")
    return data


def resolve(name: str, entry: dict, resolver: ModelResolver) -> str | None:
    link = str(entry.get("link", ""))
    if "huggingface.co/" in link:
        hit = resolver.exact(link.split("huggingface.co/", 1)[1].strip("/"))
        if hit:
            return hit
    return resolver.resolve(name)


def ingest(con, data_dir: Path, resolver: ModelResolver) -> int:
    path = data_dir / "public" / FILE
    data = parse(path)
    rows, matched = [], 0
    for name, entry in data.items():
        hf_id = resolve(name, entry, resolver)
        if hf_id is None:
            continue
        matched += 1
        settings = {"evalplus_name": name, "prompted": entry.get("prompted"), "origin": "EvalPlus leaderboard"}
        rows += [(hf_id, bench, entry["pass@1"][key], "percent", "evalplus", settings)
                 for key, bench in METRICS.items() if entry["pass@1"].get(key) is not None]
    insert_scores(con, rows, recorded_at="2024-12-26")  # the results.json snapshot date
    add_source(con, "evalplus", path, "evalplus/evalplus.github.io results.json @ 4ebfa0d4", "Apache-2.0",
               f"EvalPlus pass@1; {matched} of {len(data)} entries are database models", matched)
    return matched
