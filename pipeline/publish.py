"""Build the database beside the live one, then swap it in with one atomic rename.

A reader (the app) opens the live path read-only; it sees either the old file or the new one, never a
half-written file. A crash (even SIGKILL) leaves at most a ``.building-<pid>`` file behind, which the
next run deletes. When only some stages run, the new file starts as a copy of the live one so the
tables of the other stages are carried over.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import duckdb

from pipeline import schema


def write_json_atomic(path: Path, obj, **dumps) -> None:
    """Write ``obj`` as JSON so that a reader sees the old file, the complete new one, or none (a temporary
    file beside it, then a rename); ``dumps``: options for json.dumps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, **dumps))
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    """Write text so that a reader sees the old file or the complete new one (a uniquely named
    temporary file beside it, then a rename; concurrent writers never share a temporary name)."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def building_path(db_path: Path) -> Path:
    return db_path.with_name(f".{db_path.name}.building-{os.getpid()}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(db_path: Path) -> list[Path]:
    """Delete build files left by runs that died (their pid is gone)."""
    removed = []
    for p in db_path.parent.glob(f".{db_path.name}.building-*"):
        pid = p.name.rsplit("-", 1)[-1].split(".")[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def live_schema_version(db_path: Path) -> str | None:
    if not db_path.exists():
        return None
    try:
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        finally:
            con.close()
        return row[0] if row else None
    except duckdb.Error:
        return None


@contextlib.contextmanager
def building(db_path: Path, carry_over: bool):
    """Yield a read-write connection to a fresh build file; publish it atomically on success."""
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(db_path)
    tmp = building_path(db_path)
    for p in (tmp, Path(str(tmp) + ".wal")):
        p.unlink(missing_ok=True)
    if carry_over and live_schema_version(db_path) == schema.SCHEMA_VERSION:
        shutil.copyfile(db_path, tmp)
    con = duckdb.connect(str(tmp))
    try:
        schema.create_all(con)
        yield con
        con.execute("CHECKPOINT")
        con.close()
        _fsync(tmp)
        os.replace(tmp, db_path)
        _fsync(db_path.parent)
    except BaseException:
        with contextlib.suppress(Exception):
            con.close()
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
