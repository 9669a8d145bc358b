"""A team's own reward-model results (``--rm-results FILE --method M [--base ID]``) into ``rm_results``.

``python -m pipeline.run --stages ingest --rm-results FILE... --method regression|bradley_terry [--base ID]``
checks every file first (``advisor.formats.user_rm``: the ``rewardbench`` results JSON or a CSV), then copies it
into ``work_dir/rm_results/`` with a ``<file>.meta`` sidecar (JSON: method, base, original path), so every
later rebuild keeps it (like ``--results``); a file of the same name kept before is replaced (an updated
file supersedes the stale copy: the newest wins, and the log says so). The ingest stage then reads every
file there. Hub ids ignore case: each model is stored under the ``models`` table's spelling (else the first
file's), and the log names any id it respelt.

Rows: ``rm_results`` with ``source = 'user'``, ``run_id = 'user:<file name>'`` and ``config`` = JSON
provenance (file, sha256, format, writer, model named in the file, row). One malformed file -> InputError
naming it, the row, the field and the fix; nothing is copied and nothing is written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from advisor.core.names import hub_key
from advisor.formats import user_rm
from pipeline import schema
from pipeline.errors import InputError
from pipeline.ingest.common import add_source, sha256
from pipeline.ingest.lmeval_json import read_meta, write_meta

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
    names = [p.name for p in new]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError("--rm-results", f"two files named {twice[0]}", "rename one: each file is kept under its name")
    _keep(ctx, new, method, base, work_dir / DIR)
    parsed = []
    for f in files(work_dir):  # all valid before any is written
        meta = read_meta(f)
        display = f"{DIR}/{f.name}"
        parsed.append((f, meta, _parse(f, meta.get("method"), meta.get("base"), display)))
    rows = _rows(ctx, parsed)
    schema.insert(ctx.con, "rm_results", rows)
    for f, meta, recs in parsed:
        add_source(ctx.con, f"user_rm:{f.name}", f, meta.get("original") or "user upload", "user's own",
                   f"the team's own RewardBench results ({recs[0].provenance.get('format')})", len(recs))
    ctx.log(f"  user RM results: {len(parsed)} file(s), {len(rows)} row(s) (rm_results.source = 'user')")
    return len(rows)


def _keep(ctx, new: list[Path], method: str | None, base: str | None, dest: Path) -> None:
    """Copy each checked file to ``dest`` under its own name, with its .meta sidecar. A file of the same
    name kept before is replaced: an updated results file supersedes the stale copy (the newest wins)."""
    for p in new:
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / p.name
        replaced = target.exists() and target.read_bytes() != p.read_bytes()
        shutil.copy2(p, target)
        write_meta(target, method=method, base=base, original=str(p.resolve()))
        ctx.log(f"  rm results: kept {p} as {target}" + ("; it replaces the earlier copy of that name (the "
                                                          "newest file wins)" if replaced else ""))


def _rows(ctx, parsed: list) -> list[dict]:
    """The ``rm_results`` rows of the parsed files. Hub ids ignore case: a model is stored under the
    spelling of the ``models`` table (ingested before), else of the first file naming it, and a respelt
    id is reported; a model and method in two files is reported too (both rows are kept)."""
    spelling = {hub_key(h): h for (h,) in ctx.con.execute("SELECT hf_id FROM models").fetchall()}
    where: dict[tuple[str, str], str] = {}
    rows = []
    for f, meta, recs in parsed:
        digest = sha256(f)
        for r in recs:
            hf_id = spelling.setdefault(hub_key(r.hf_id), r.hf_id)
            if hf_id != r.hf_id:
                ctx.log(f"  {DIR}/{f.name}: {r.hf_id!r} stored as {hf_id!r} (hub ids ignore case)")
            key = (hf_id, r.method)
            if key in where:
                ctx.log(f"  {DIR}/{f.name}: {hf_id} / {r.method} is also in {where[key]}; both kept")
            where.setdefault(key, f"{DIR}/{f.name}")
            prov = {"file": f"{DIR}/{f.name}", "sha256": digest, "original": meta.get("original"), **r.provenance}
            rows.append({"hf_id": hf_id, "method": r.method, "chat": r.chat, "chat_hard": r.chat_hard,
                         "safety": r.safety, "reasoning": r.reasoning, "score": r.score, "source": SOURCE,
                         "run_id": f"user:{f.name}", "config": json.dumps(prov, sort_keys=True, default=str)})
    return rows
