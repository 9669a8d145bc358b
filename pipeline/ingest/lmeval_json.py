"""Ingest lm-evaluation-harness ``results_*.json`` and EvalPlus files into ``benchmark_scores``.

``python -m pipeline.run --stages ingest --results FILE... [--model HF_ID]`` copies the files into
``work_dir/results/`` (so every later rebuild keeps them) and the ingest stage then ingests every
``*.json`` under ``work_dir/results/`` and under ``work_dir/lm_eval/`` (the benchmark stage's own runs).

* Parsing and metric choice: ``advisor.formats.results`` (entry point), ``advisor.formats.lmeval`` (primary metric per
  task), ``advisor.core.leaderboard_norm`` (the leaderboard normalisation).
* Model id: ``--model`` when given, else the model the file names (``model_args`` pretrained=...).
  A file naming no model, or only a local path, needs ``--model``. The id used is written beside the
  copy as ``<file>.meta`` (JSON), so rebuilds do not need ``--model`` again.
* Rows: ``source`` = ``lm_eval:<path under work_dir>`` (``evalplus:...`` for EvalPlus), ``settings`` =
  JSON (task, metric, filter, shots, chat_template, dtype, harness_version, model_args, limit, date,
  normalization), ``recorded_at`` = the evaluation's date from the file (``date``), else the file's
  modification time. Rows of one source are replaced, never duplicated, whoever ingests them.
* Two results for the same model and benchmark (two files) are both kept with their settings; where
  one value is needed, ``advisor.db.store.feature_matrix`` takes the newest ``recorded_at`` (then the
  greater source name), i.e. the most recent evaluation run.
* A malformed file raises InputError naming it, the field and the fix, before anything is copied or
  written. A file over ``advisor.formats.results.MAX_RESULTS_BYTES`` (64 MB) or nested deeper than 64 levels is
  refused before it is parsed.
* Parsed once: the rows parsed from a kept file are stored beside it (``.<file>.parsed``, JSON, keyed by
  the file's size and modification time and the model / task map used), so a rebuild reads them
  instead of parsing the file again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path

from advisor.formats import results
from pipeline.errors import InputError
from pipeline.ingest.common import insert_scores
from pipeline.publish import write_json_atomic

META_SUFFIX = ".meta"
PARSED_FORMAT = 1  # bump when results.Parsed or the parsing rules change: stored rows are then re-parsed


def read_meta(path: Path) -> dict:
    meta = path.with_name(path.name + META_SUFFIX)
    if not meta.exists():
        return {}
    try:
        data = json.loads(meta.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(meta, f"not valid JSON ({exc.msg})", "delete the .meta file and ingest the "
                         "results again with --results FILE --model HF_ID") from None
    return data if isinstance(data, dict) else {}


def write_meta(path: Path, **meta) -> None:
    path.with_name(path.name + META_SUFFIX).write_text(json.dumps(meta, indent=2, sort_keys=True))


def _looks_local(name: str | None) -> bool:
    return bool(name) and (name.startswith(("/", "./", "../", "~")) or name.count("/") > 1
                           or Path(name).is_absolute())


def parse_file(path: Path, model: str | None = None, task_map: dict | None = None,
               display: str | None = None) -> results.Parsed:
    """Parse one results file; InputError (file, field, fix) for anything unusable."""
    display = display or str(path)
    try:
        parsed = results.parse(path, name=display, model=model, task_map=task_map)
    except ValueError as exc:
        msg = str(exc)
        where, _, rest = msg.partition(": ")
        problem, _, fix = rest.partition(". Fix: ")
        field = where.split("field ", 1)[1].strip("'\"") if "field " in where else None
        raise InputError(display, problem or msg, fix or results.FIX_LMEVAL, field=field) from None
    except KeyError as exc:  # a task_map naming an unknown benchmark
        raise InputError(display, str(exc).strip("\"'"), "fix the task_map entry", field="task_map") from None
    if parsed.kind == "lm_eval":
        if not parsed.model:
            raise InputError(display, "the file does not name its model (no model_args pretrained= "
                             "and no model_name)", "pass the Hugging Face id with --model HF_ID")
        if _looks_local(parsed.model) and not model:
            raise InputError(display, f"the file names a local path {parsed.model!r} as its model",
                             "pass the Hugging Face id with --model HF_ID", field="config.model_args")
        if not parsed.scores:
            raise InputError(display, f"none of its tasks ({', '.join(parsed.unmapped[:6])}) is a "
                             "benchmark of the registry", "run registry tasks (e.g. lm_eval --tasks "
                             "leaderboard) or map a local task with the benchmarks section's task_map",
                             field="results")
    elif any(s.hf_id is None for s in parsed.scores):
        raise InputError(display, "EvalPlus evaluation output does not name its model",
                         "pass the Hugging Face id with --model HF_ID")
    return parsed


def write_scores(con, parsed: results.Parsed, source: str, fallback_time: datetime) -> int:
    """Replace the rows of ``source`` by ``parsed``'s scores."""
    con.execute("DELETE FROM benchmark_scores WHERE source = ?", [source])
    return insert_scores(con, [(s.hf_id, s.benchmark, s.value, s.scale, source, s.settings) for s in parsed.scores],
                         parsed.recorded_at or fallback_time)


def _rel(path: Path, work_dir: Path) -> str:
    try:
        return path.resolve().relative_to(work_dir.resolve()).as_posix()
    except ValueError:
        return path.name


def source_name(path: Path, work_dir: Path, kind: str) -> str:
    return f"{kind}:{_rel(path, work_dir)}"


def ingest_file(con, path: Path, work_dir: Path, model: str | None = None,
                task_map: dict | None = None) -> tuple[int, results.Parsed]:
    """Parse ``path`` (with its .meta sidecar, if any) and replace its rows; (rows, parsed)."""
    parsed = _parse_with_meta(path, work_dir, model, task_map)
    return _write_file_scores(con, path, work_dir, parsed), parsed


def _parse_with_meta(path: Path, work_dir: Path, model: str | None = None,
                     task_map: dict | None = None) -> results.Parsed:
    """``parse_file``, the model and task map defaulting to what the .meta sidecar says; the rows
    stored beside the file by an earlier run when the file and those settings are unchanged."""
    meta = read_meta(path)
    model = model or meta.get("hf_id")
    task_map = task_map if task_map is not None else meta.get("task_map")
    key = _stored_key(path, model, task_map)
    stored = parsed_path(path)
    if stored.exists():
        try:
            doc = json.loads(stored.read_text())
            if doc.get("key") == key:
                return _parsed_from_json(doc["parsed"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable or stale: parse the file again and rewrite it
    parsed = parse_file(path, model=model, task_map=task_map, display=_rel(path, work_dir))
    _store(path, model, task_map, parsed)
    return parsed


def _stored_key(path: Path, model: str | None, task_map: dict | None) -> dict:
    stat = path.stat()
    return {"format": PARSED_FORMAT, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "model": model,
            "task_map": task_map}


def _store(path: Path, model: str | None, task_map: dict | None, parsed: results.Parsed) -> None:
    write_json_atomic(parsed_path(path), {"key": _stored_key(path, model, task_map), "parsed": _parsed_to_json(parsed)})


def parsed_path(path: Path) -> Path:
    """Where the rows parsed from ``path`` are kept (hidden, and not *.json, so no glob takes it for results)."""
    return path.with_name(f".{path.name}.parsed")


def _parsed_to_json(p: results.Parsed) -> dict:
    return {"kind": p.kind, "model": p.model, "unmapped": p.unmapped, "notes": p.notes,
            "recorded_at": p.recorded_at.isoformat() if p.recorded_at else None,
            "scores": [{"benchmark": s.benchmark, "value": s.value, "scale": s.scale, "settings": s.settings,
                        "hf_id": s.hf_id} for s in p.scores]}


def _parsed_from_json(d: dict) -> results.Parsed:
    return results.Parsed(d["kind"], [results.Score(**s) for s in d["scores"]], model=d["model"],
                         recorded_at=datetime.fromisoformat(d["recorded_at"]) if d["recorded_at"] else None,
                         unmapped=list(d["unmapped"]), notes=list(d["notes"]))


def _write_file_scores(con, path: Path, work_dir: Path, parsed: results.Parsed) -> int:
    """Replace the rows of ``path``'s source; undated results take the file's modification time."""
    mtime = datetime.fromtimestamp(path.stat().st_mtime)
    return write_scores(con, parsed, source_name(path, work_dir, parsed.kind), mtime)


def _copy_target(src: Path, dest_dir: Path) -> Path:
    """dest_dir/src.name, or a name with a content hash when another file already has that name."""
    target = dest_dir / src.name
    if not target.exists() or target.read_bytes() == src.read_bytes():
        return target
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:8]
    return dest_dir / f"{src.stem}-{digest}{src.suffix}"


def results_files(work_dir: Path) -> list[Path]:
    """What the ingest stage reads: work_dir/results/*.json and the benchmark stage's lm-eval and EvalPlus
    outputs under work_dir/lm_eval/ (results_*.json, *eval_results.json)."""
    files = sorted((work_dir / "results").glob("*.json"))
    runs = work_dir / "lm_eval"
    files += sorted(set(runs.rglob("results_*.json")) | set(runs.rglob("*eval_results.json")))
    return [f for f in files if f.is_file()]


def ingest_results(ctx, results=(), model: str | None = None) -> int:
    """Copy the ``results`` files (``ingest.results``: --results; ``model``: --model) into work_dir/results
    and ingest every results file there.

    All new files are validated first: one malformed file -> InputError, nothing copied, nothing
    written. Returns the number of rows written.
    """
    work_dir = Path(ctx.work_dir)
    new = [Path(p) for p in results or []]
    validated = []
    for p in new:
        if not p.is_file():
            raise InputError(p, "results file not found", "pass existing files to --results")
        validated.append(parse_file(p, model=model))  # raises before anything is copied
    dest = work_dir / "results"
    if new:
        dest.mkdir(parents=True, exist_ok=True)
    for p, parsed in zip(new, validated):
        target = _copy_target(p, dest)
        shutil.copy2(p, target)
        if model:
            write_meta(target, hf_id=model, original=str(p.resolve()))
        _store(target, model, None, parsed)  # parsed once: later runs read these rows
        ctx.log(f"  results: kept {p} as {target}")
    files = results_files(work_dir)
    parsed_all = [(f, _parse_with_meta(f, work_dir)) for f in files]  # all valid before any is written
    total = 0
    for f, parsed in parsed_all:
        total += _write_file_scores(ctx.con, f, work_dir, parsed)
        for note in parsed.notes:
            ctx.log(f"  {f.name}: {note}")
    ctx.log(f"  results files: {len(files)} file(s), {total} benchmark rows")
    return total
