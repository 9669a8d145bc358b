"""EvalPlus result files -> registry scores (pass@1, percent).

Two shapes: the EvalPlus leaderboard ``results.json`` (``{model: {"link", "pass@1": {humaneval, humaneval+,
mbpp, mbpp+}}}``, percent) and ``evalplus.evaluate``'s ``*_eval_results.json`` (``{"eval": {task_id:
[{"base_status", "plus_status"}...]}}``: pass@1 = mean over problems of the passing fraction, times 100).
The entry point for any results file is ``advisor.formats.results.parse``.
"""

from __future__ import annotations

import re
from datetime import datetime

from advisor.formats.common import FIX_LMEVAL, Parsed, Score, file_error, number

EVALPLUS_KEYS = {"humaneval": "humaneval", "humaneval+": "humaneval_plus", "mbpp": "mbpp",
                 "mbpp+": "mbpp_plus"}


def _hf_id_from_link(link) -> str | None:
    m = re.match(r"https?://huggingface\.co/([^/\s]+/[^/\s?#]+)", str(link or ""))
    return m.group(1) if m else None


def parse_evalplus(data: dict, file: str = "upload", model: str | None = None) -> Parsed:
    """EvalPlus leaderboard results (many models) or one ``evalplus.evaluate`` output."""
    if isinstance(data.get("eval"), dict):
        return _parse_evalplus_eval(data, file, model)
    scores, unmapped = [], []
    for name, entry in data.items():
        hf_id = _hf_id_from_link(entry.get("link"))
        if hf_id is None:
            unmapped.append(name)
            continue
        p1 = entry.get("pass@1")
        if not isinstance(p1, dict):
            raise file_error(file, f"{name}.pass@1", "must be an object of dataset -> percent", FIX_LMEVAL)
        for key, bench in EVALPLUS_KEYS.items():
            v = number(p1.get(key), file, f"{name}.pass@1.{key}", allow_na=True)
            if v is None:
                continue
            if not 0.0 <= v <= 100.0:
                raise file_error(file, f"{name}.pass@1.{key}", f"value {v} outside 0-100", FIX_LMEVAL)
            settings = {"harness": "evalplus", "metric": "pass@1", "file": file, "entry": name,
                        "prompted": entry.get("prompted"), "shots": 0}
            scores.append(Score(bench, v, "percent", settings, hf_id))
    notes = [f"{len(unmapped)} EvalPlus entr(ies) without a huggingface.co link were skipped"] if unmapped else []
    return Parsed("evalplus", scores, model=None, unmapped=unmapped, notes=notes)


def _parse_evalplus_eval(data: dict, file: str, model: str | None) -> Parsed:
    evals = data["eval"]
    if not evals:
        raise file_error(file, "eval", "is empty", "evaluate at least one problem with evalplus.evaluate")
    prefixes = {str(tid).split("/", 1)[0].lower() for tid in evals}
    if len(prefixes) != 1 or next(iter(prefixes)) not in ("humaneval", "mbpp"):
        raise file_error(file, "eval", f"task ids must all start with HumanEval/ or Mbpp/, got {sorted(prefixes)}",
                   "ingest one evalplus.evaluate output per dataset")
    dataset = next(iter(prefixes))
    base, plus = [], []
    for tid, samples in evals.items():
        if not isinstance(samples, list) or not samples:
            raise file_error(file, f"eval.{tid}", "must be a non-empty list of sample results", FIX_LMEVAL)
        for s in samples:
            if not isinstance(s, dict) or "base_status" not in s:
                raise file_error(file, f"eval.{tid}", "sample without 'base_status'", FIX_LMEVAL)
        base.append(sum(s["base_status"] == "pass" for s in samples) / len(samples))
        if all("plus_status" in s for s in samples):
            plus.append(sum(s["base_status"] == "pass" and s["plus_status"] == "pass"
                            for s in samples) / len(samples))
    when = None
    d = data.get("date")
    if isinstance(d, str):
        try:
            when = datetime.fromisoformat(d.replace(" ", "T"))
        except ValueError:
            when = None
    settings = {"harness": "evalplus", "metric": "pass@1", "file": file, "shots": 0,
                "problems": len(evals), "hash": data.get("hash"),
                "date": when.isoformat() if when else None}
    scores = [Score(dataset, 100.0 * sum(base) / len(base), "percent", dict(settings), model)]
    if len(plus) == len(base):
        scores.append(Score(f"{dataset}_plus", 100.0 * sum(plus) / len(plus), "percent",
                            dict(settings), model))
    return Parsed("evalplus", scores, model=model, recorded_at=when)
