"""A team's own reward-model results (``--rm-results FILE --method M [--base ID]``) into ``rm_results``.

``python -m pipeline.run --stages ingest --rm-results FILE... --method regression|bradley_terry [--base ID]``
checks every file first (``advisor.formats.user_rm``: the ``rewardbench`` results JSON or a CSV), then copies it
into ``work_dir/rm_results/`` with a ``<file>.meta`` sidecar (JSON: method, base, original path), so every
later rebuild keeps it (like ``--results``). The ingest stage then reads every file there.

Rows: ``rm_results`` with ``source = 'user'``, ``run_id = 'user:<file name>'`` and ``config`` = JSON
provenance (file, sha256, format, writer, model named in the file, row). One malformed file -> InputError
naming it, the row, the field and the fix; nothing is copied and nothing is written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from advisor.formats import user_rm
from pipeline import schema
from pipeline.errors import InputError
from pipeline.ingest.common import add_source, sha256
from pipeline.ingest.lmeval_json import _copy_target, read_meta, write_meta

SOURCE = "user"
DIR = "rm_results"


def _parse(path: Path, method: str | None, base: str | None, display: str) -> list[user_rm.RMRow]:
    return user_rm.parse(path.read_bytes(), display, method=method, base=base)  # raises InputError


def files(work_dir: Path) -> list[Path]:
    d = Path(work_dir) / DIR
    return sorted(p for p in d.glob("*") if p.is_file() and p.suffix.lower() in (".json", ".csv")) if d.is_dir() else []


def ingest(ctx, rm_results=(), method: str | None = None, base: str | None = None) -> int:
    """Copy the ``rm_results`` files (``ingest.rm_results``: --rm-results, with --method / --base; checked
    first) and ingest every file under work_dir/rm_results."""
    work_dir = Path(ctx.work_dir)
    new = [Path(p) for p in rm_results or []]
    if base and len(new) > 1:
        raise InputError("--base", "one --base for several --rm-results files",
                         "pass one file per run when you name its base model")
    for p in new:
        if not p.is_file():
            raise InputError(p, "results file not found", "pass an existing file to --rm-results")
        if p.suffix.lower() not in (".json", ".csv"):
            raise InputError(p, f"unsupported file type {p.suffix!r}", "pass a rewardbench results .json or a .csv")
        _parse(p, method, base, str(p))  # raises before anything is copied
    dest = work_dir / DIR
    for p in new:
        dest.mkdir(parents=True, exist_ok=True)
        target = _copy_target(p, dest)
        shutil.copy2(p, target)
        write_meta(target, method=method, base=base, original=str(p.resolve()))
        ctx.log(f"  rm results: kept {p} as {target}")
    parsed = []
    for f in files(work_dir):  # all valid before any is written
        meta = read_meta(f)
        display = f"{DIR}/{f.name}"
        parsed.append((f, meta, _parse(f, meta.get("method"), meta.get("base"), display)))
    rows = []
    for f, meta, recs in parsed:
        digest = sha256(f)
        for r in recs:
            prov = {"file": f"{DIR}/{f.name}", "sha256": digest, "original": meta.get("original"), **r.provenance}
            rows.append({"hf_id": r.hf_id, "method": r.method, "chat": r.chat, "chat_hard": r.chat_hard,
                         "safety": r.safety, "reasoning": r.reasoning, "score": r.score, "source": SOURCE,
                         "run_id": f"user:{f.name}", "config": json.dumps(prov, sort_keys=True, default=str)})
    schema.insert(ctx.con, "rm_results", rows)
    for f, meta, recs in parsed:
        add_source(ctx.con, f"user_rm:{f.name}", f, meta.get("original") or "user upload", "user's own",
                   f"the team's own RewardBench results ({recs[0].provenance.get('format')})", len(recs))
    ctx.log(f"  user RM results: {len(parsed)} file(s), {len(rows)} row(s) (rm_results.source = 'user')")
    return len(rows)
