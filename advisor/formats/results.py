"""Benchmark results files in, registry scores out: the entry point (``parse``) and
what the two parsers share (``Score``, ``Parsed``, loading bounded JSON, errors naming file and field).

Pure parsing (json + the registry, no torch): used by the pipeline (``pipeline/ingest/lmeval_json.py``)
and by the app's upload page. Two formats are read, each by its own module:

* lm-evaluation-harness 0.4.x ``results_*.json`` (``advisor.formats.lmeval``), with the Open LLM Leaderboard v2
  normalisation where the file holds its inputs (``advisor.core.leaderboard_norm``);
* EvalPlus: the leaderboard ``results.json`` or one ``evalplus.evaluate`` output (``advisor.formats.evalplus``).

Anything else raises ValueError naming the file, the field and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

from advisor.core import untrusted
from advisor.formats import evalplus, lmeval
from advisor.formats.common import FIX_LMEVAL, Parsed, Score, file_error, number  # noqa: F401 - the entry point's face

MAX_RESULTS_BYTES = 64 * 2**20  # a results_*.json of the 6 leaderboard tasks is ~1 MB; samples live elsewhere


def load_json(source: str | Path | bytes, name: str | None = None,
              max_bytes: int | None = None) -> tuple[dict, str]:
    """(parsed JSON object, display name) from a path or uploaded bytes; ValueError if not JSON, larger
    than ``max_bytes`` or nested deeper than ``untrusted.MAX_JSON_DEPTH`` (checked before parsing)."""
    max_bytes = max_bytes or MAX_RESULTS_BYTES
    if isinstance(source, (bytes, bytearray)):
        name = name or "upload"
        raw = bytes(source)
    else:
        path = Path(source)
        name = name or path.name
        if not path.is_file():
            raise file_error(str(path), None, "file not found", "pass an existing results file")
        size = path.stat().st_size
        if size > max_bytes:
            raise file_error(name, None, f"{size / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit for "
                             "results files", "pass the results_*.json lm-evaluation-harness writes, not its "
                             "samples_*.jsonl or a file bundling many runs")
        raw = path.read_bytes()
    try:
        data = untrusted.load_json_bounded(raw, max_bytes=max_bytes)
    except untrusted.JSONLimitError as exc:
        raise file_error(name, None, f"refused before parsing: {exc}", FIX_LMEVAL) from None
    except json.JSONDecodeError as exc:
        raise file_error(name, None, f"not valid JSON ({exc.msg} at line {exc.lineno})", FIX_LMEVAL) from None
    if not isinstance(data, dict):
        raise file_error(name, None, f"top level is a JSON {type(data).__name__}, not an object", FIX_LMEVAL)
    return data, name


def detect(data: dict, file: str = "upload") -> str:
    """'lm_eval' or 'evalplus'; ValueError for anything else."""
    if "results" in data:
        return "lm_eval"
    if isinstance(data.get("eval"), dict):
        return "evalplus"
    if data and all(isinstance(v, dict) and "pass@1" in v for v in data.values()):
        return "evalplus"
    raise file_error(file, "results", "missing: this is not lm-evaluation-harness output (no 'results' "
                     "object) nor an EvalPlus file (no 'eval' or 'pass@1')", FIX_LMEVAL)


def parse(source: str | Path | bytes, name: str | None = None, model: str | None = None,
          task_map: dict[str, str] | None = None) -> Parsed:
    """Parse any supported results file (path or bytes)."""
    data, name = load_json(source, name)
    return _parse_data(data, name, model, task_map)


def _parse_data(data: dict, name: str, model: str | None, task_map: dict[str, str] | None) -> Parsed:
    """An already loaded results object, by the format ``detect`` finds."""
    if detect(data, name) == "lm_eval":
        return lmeval.parse_lmeval(data, name, model=model, task_map=task_map)
    return evalplus.parse_evalplus(data, name, model=model)
