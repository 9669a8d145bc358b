"""A team's own reward-model results: read and check them (no database writes here).

Two formats, both giving one RewardBench v1 result per row (percent, the scale of ``rm_results``):

* the ``rewardbench`` results JSON, as allenai/reward-bench writes it (checked at commit 05a9005e):
  - the ``rewardbench`` CLI (``rewardbench/rewardbench.py``) writes ``<output_dir>/<model>.json`` =
    ``{"accuracy", "num_prompts", "model", "ref_model", "tokenizer", "chat_template",
    "extra_results": {subset: accuracy}}``;
  - ``scripts/run_rm.py`` (``rewardbench.utils.save_to_hub``) writes ``results/eval-set/<model>.json`` =
    ``{"model", "model_type", "chat_template", <subset>: accuracy, ...}``.
  Section scores come from the subset accuracies with the official rule (``advisor.formats.rewardbench``);
  every one of the 23 subsets of the filtered split must be present (a ``--debug`` run is refused).
  Base model: ``base`` when given, else the file's ``model`` (refused when it is a local path).
* a CSV with columns ``hf_id, method, chat, chat_hard, safety, reasoning[, score]`` (percent, 0-100;
  ``score`` defaults to the mean of the four sections, the official overall; when given it must equal
  that mean within 0.05 points). ``method`` may be left empty when a default method is given.

Every problem raises ``RMFileError`` naming the file, the row (1-based, header = row 1, as a spreadsheet
shows it), the field and the fix.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from advisor.core import registry, untrusted
from advisor.core.errors import InputError
from advisor.core.names import hub_key
from advisor.formats import rewardbench

CSV_COLUMNS = ("hf_id", "method", *registry.RM_SECTIONS)
FORMATS = ("rewardbench_json", "csv")
MAX_BYTES = 5_000_000
_HF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")  # the whole text
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")  # a decimal number: no '1_0', 'nan', 'inf'
FIX_JSON = ("upload the results JSON the `rewardbench` CLI wrote (<output_dir>/<model>.json) or "
            "scripts/run_rm.py's results/eval-set/<model>.json")


RMFileError = InputError  # bad input in a results file: file, row, field and fix (advisor.core.errors)


@dataclass
class RMRow:
    hf_id: str
    method: str
    chat: float
    chat_hard: float
    safety: float
    reasoning: float
    score: float
    provenance: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"hf_id": self.hf_id, "method": self.method, **{c: getattr(self, c) for c in registry.RM_COLUMNS}}


def valid_hf_id(name) -> bool:
    return isinstance(name, str) and bool(_HF_ID.fullmatch(name)) and ".." not in name  # 'org/x\n' too


def _check_method(method, name, row=None, fld="method") -> str:
    if method not in registry.METHODS:
        raise RMFileError(name, f"unknown method {method!r}", f"use one of: {', '.join(registry.METHODS)}",
                          row=row, field=fld)
    return method


def _check_base(base, name, row=None, fld="hf_id") -> str:
    if not valid_hf_id(base):
        raise RMFileError(name, f"{base!r} is not a Hugging Face model id (owner/name)",
                          "write the base model's hub id, e.g. meta-llama/Llama-3.1-8B-Instruct", row=row, field=fld)
    return base


def detect_format(name: str, data: bytes) -> str:
    """'rewardbench_json' or 'csv', from the name's suffix, else from the first character."""
    suffix = Path(str(name)).suffix.lower()
    if suffix == ".json":
        return "rewardbench_json"
    if suffix == ".csv":
        return "csv"
    head = data.lstrip()[:1]
    return "rewardbench_json" if head in (b"{", b"[") else "csv"


def _decode(data: bytes, name) -> str:
    if len(data) == 0:
        raise RMFileError(name, "file is empty", "upload a results JSON or a CSV with a header row")
    if len(data) > MAX_BYTES:
        raise RMFileError(name, f"file is {len(data):,} bytes (over {MAX_BYTES:,})",
                          "upload the summary results (not the per-pair eval-set-scores file)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RMFileError(name, "not UTF-8 text", "save the file as UTF-8") from None


def parse_rewardbench_json(data: bytes, name, method: str, base: str | None = None) -> list[RMRow]:
    """One row from a rewardbench results JSON (either writer; see the module docstring)."""
    _check_method(method, name, fld="--method")
    text = _decode(data, name)
    try:
        obj = untrusted.load_json_bounded(text)  # nesting bounded before parsing
    except untrusted.JSONLimitError as exc:
        raise RMFileError(name, f"refused before parsing: {exc}", FIX_JSON) from None
    except json.JSONDecodeError as exc:
        raise RMFileError(name, f"not valid JSON ({exc.msg}, line {exc.lineno})", FIX_JSON) from None
    if not isinstance(obj, dict):
        raise RMFileError(name, "the JSON is not an object", FIX_JSON)
    known = set(rewardbench.load_constants()["EXAMPLE_COUNTS"])
    if "extra_results" in obj:  # the rewardbench CLI
        subsets, writer, where = obj["extra_results"], "rewardbench CLI", "extra_results"
        if not isinstance(subsets, dict):
            raise RMFileError(name, "'extra_results' is empty: the run was not on allenai/reward-bench",
                              "run `rewardbench` on the default dataset (allenai/reward-bench, filtered)",
                              field="extra_results")
    else:  # scripts/run_rm.py eval-set file
        subsets = {k: v for k, v in obj.items() if k not in ("model", "model_type", "chat_template", "ref_model")}
        writer, where = "scripts/run_rm.py", None
        if not set(subsets) & known:
            prior = {"anthropic_helpful", "anthropic_harmless", "shp", "summarize", "mtbench_human"}
            hint = (" (this is a prior-sets file, pref-sets/)" if set(subsets) & prior else "")
            raise RMFileError(name, f"no RewardBench subset accuracies found{hint}", FIX_JSON,
                              field="extra_results")
    unknown = sorted(set(subsets) - known)
    if unknown:
        raise RMFileError(name, f"unknown RewardBench subset(s) {unknown[:5]}",
                          f"use the filtered split's subsets: {', '.join(sorted(known))}", field=unknown[0])
    missing = sorted(known - set(subsets))
    if missing:
        raise RMFileError(name, f"{len(missing)} of {len(known)} subsets missing ({', '.join(missing[:4])}"
                          f"{', ...' if len(missing) > 4 else ''}); a partial (--debug) run has no RewardBench score",
                          "evaluate on the whole filtered split and upload that file", field=where or missing[0])
    acc = {}
    for k, v in subsets.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= 1:
            raise RMFileError(name, f"accuracy {v!r} is not a fraction in [0, 1]",
                              "subset accuracies are fractions as rewardbench writes them", field=k)
        acc[k] = float(v)
    model = obj.get("model")
    if base is None:
        if not isinstance(model, str) or not model:
            raise RMFileError(name, "the file does not name its model", "pass the base model with --base HF_ID",
                              field="model")
        if not valid_hf_id(model):
            raise RMFileError(name, f"the file's model {model!r} is not a hub id (a local path, or a stray character)",
                              "pass the base model's hub id with --base HF_ID", field="model")
        base = model
    _check_base(base, name, fld="--base")
    s = rewardbench.section_scores(acc)
    prov = {"format": "rewardbench_json", "writer": writer, "model_in_file": model,
            "chat_template": obj.get("chat_template"), "num_prompts": obj.get("num_prompts"),
            "accuracy_in_file": obj.get("accuracy")}
    return [RMRow(base, method, **{c: s[c] for c in registry.RM_COLUMNS}, provenance=prov)]


def _number(text: str, name, row: int, col: str, required: bool = True) -> float | None:
    t = (text or "").strip()
    if not t:
        if required:
            raise RMFileError(name, "empty cell", f"write a number (percent, 0-100) in column {col!r}",
                              row=row, field=col)
        return None
    if not _NUMBER.fullmatch(t):  # float() would also take 'nan', 'inf' and '1_0' (as 10)
        raise RMFileError(name, f"{t[:40]!r} is not a number", f"write a number (percent, 0-100) in column {col!r}",
                          row=row, field=col)
    v = float(t)
    if not math.isfinite(v) or not 0 <= v <= 100:
        fix = ("scores are percent (0-100); multiply fractions by 100" if 0 < v <= 1 else
               "scores are percent (0-100)")
        raise RMFileError(name, f"{t} is outside 0-100", fix, row=row, field=col)
    return v


def _cell_over_limit(line: str, header: list[str]) -> str:
    """The column of the first cell on ``line`` longer than the csv module's field limit (quotes respected)."""
    col, size, quoted, limit = 0, 0, False, csv.field_size_limit()
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            col, size = col + 1, 0
            continue
        size += 1
        if size > limit:
            break
    return header[col] if col < len(header) else f"column {col + 1}"


def _records(text: str, name, header_fix: str):
    """(header, [(row number, {column: cell})]) of a CSV text; RMFileError for a header naming a column
    twice (a reader would silently keep the last) and for what the csv module cannot read (a cell over its
    131,072-character limit: named by row and column)."""
    reader = csv.reader(io.StringIO(text))
    header: list[str] = []
    try:
        header = [h.strip() for h in next(reader, [])]
        twice = sorted({h for h in header if h and header.count(h) > 1})
        if twice:
            raise RMFileError(name, f"column(s) {twice} appear more than once", f"keep one of each: {header_fix}",
                              row=1, field=twice[0])
        out = [(reader.line_num, dict(zip(header, cells))) for cells in reader]
    except csv.Error as exc:
        row = max(reader.line_num, 1)
        if "field larger than field limit" not in str(exc):
            raise RMFileError(name, f"not readable as CSV ({exc})", "save the file as a plain CSV", row=row) from None
        line = text.splitlines()[row - 1] if row <= len(text.splitlines()) else ""
        raise RMFileError(name, f"a cell is over {csv.field_size_limit():,} characters",
                          "cells of this file hold a model id, a method or a number: fix the row",
                          row=row, field=_cell_over_limit(line, header)) from None
    return header, out


def parse_csv(data: bytes, name, method: str | None = None, base: str | None = None) -> list[RMRow]:
    """Rows of a CSV (hf_id, method, chat, chat_hard, safety, reasoning[, score]), in percent.

    ``method``/``base`` fill empty ``method``/``hf_id`` cells (a file's own values win when given). Hub ids
    ignore case: two rows of one model and method, however spelt, are refused."""
    if method is not None:
        _check_method(method, name, fld="--method")
    text = _decode(data, name)
    expected = f"{', '.join(CSV_COLUMNS)}[, score]"
    header, records = _records(text, name, expected)
    if not any(header):
        raise RMFileError(name, "no header row", f"add a header: {expected}")
    need = [c for c in CSV_COLUMNS if c not in header and not (c == "method" and method)
            and not (c == "hf_id" and base)]
    if need:
        raise RMFileError(name, f"missing column(s) {need}", f"expected columns: {expected}", field=need[0])
    out: list[RMRow] = []
    seen: dict[tuple[str, str], int] = {}
    for i, rec in records:
        if not any(v.strip() for v in rec.values()):
            continue
        hf_id = (rec.get("hf_id") or "").strip() or base
        if not hf_id:
            raise RMFileError(name, "empty cell", "write the base model's hub id, or pass --base", row=i, field="hf_id")
        _check_base(hf_id, name, row=i)
        m = (rec.get("method") or "").strip() or method
        if not m:
            raise RMFileError(name, "empty cell", f"write one of {', '.join(registry.METHODS)} or pass --method",
                              row=i, field="method")
        _check_method(m, name, row=i)
        vals = {c: _number(rec.get(c), name, i, c) for c in registry.RM_SECTIONS}
        if max(vals.values()) <= 1.0:
            raise RMFileError(name, "all four sections are at most 1: they look like fractions",
                              "write percent (0-100): multiply the fractions by 100", row=i, field="chat")
        mean = sum(vals.values()) / 4
        score = _number(rec.get("score"), name, i, "score", required=False) if "score" in header else None
        if score is not None and abs(score - mean) > 0.05:
            raise RMFileError(name, f"score {score} differs from the mean of the four sections ({mean:.2f})",
                              "RewardBench's overall score is the plain mean of Chat, Chat Hard, Safety and "
                              "Reasoning: fix the sections or leave 'score' empty", row=i, field="score")
        key = (hub_key(hf_id), m)
        if key in seen:
            raise RMFileError(name, f"{hf_id} / {m} already on row {seen[key]} (hub ids ignore case)",
                              "keep one result per base model and method per file", row=i, field="hf_id")
        seen[key] = i
        out.append(RMRow(hf_id, m, **vals, score=mean if score is None else score,
                         provenance={"format": "csv", "row": i}))
    if not out:
        raise RMFileError(name, "header but no data rows", "add one row per base model and method")
    return out


def parse(data: bytes, name, method: str | None = None, base: str | None = None) -> list[RMRow]:
    """Parse either format (chosen by ``detect_format``)."""
    if detect_format(str(name), data) == "rewardbench_json":
        if method is None:
            raise RMFileError(name, "a rewardbench JSON does not say how the RM was trained",
                              f"pass --method ({' or '.join(registry.METHODS)})", field="--method")
        return parse_rewardbench_json(data, name, method, base)
    return parse_csv(data, name, method, base)


def command(filename: str, method: str, base: str | None = None) -> str:
    """The pipeline command that ingests a file (what the app shows after a check)."""
    import shlex

    parts = ["python", "-m", "pipeline.run", "--stages", "ingest,predictor,transfer", "--rm-results", filename,
             "--method", method]
    if base:
        parts += ["--base", base]
    return " ".join(shlex.quote(p) for p in parts)
