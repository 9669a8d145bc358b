"""Build the database beside the live one, then swap it in with one atomic rename.

A reader (the app) opens the live path read-only; it sees either the old file or the new one, never a
half-written file. A crash (even SIGKILL) leaves at most a ``.building-<pid>`` file behind, which the
next run deletes; any other failure (a full disk, a read-only directory) deletes it at once. When only
some stages run, the new file starts as a copy of the live one so the tables of the other stages are
carried over; a full rebuild carries over the ``runs`` history. Only a missing (or empty) live file means
"nothing to carry": when another program holds it read-write (a ``duckdb`` shell, a notebook) the run
waits for it up to the lock timeout, then exits 2 naming it, so a partial run never publishes a database
without the other stages' tables (``live_database``). A ``--db`` that exists and is not a DuckDB
database (a text file, a CSV named by mistake) is refused before anything runs (``check_target``).

One writer at a time: ``locked`` holds a lock file beside the database (``.<name>.lock``, filelock)
for the whole run, so a second ``pipeline.run`` on the same ``--db`` waits (saying so) up to its
``lock_timeout`` and then exits with an error; it copies the live database only once it holds the
lock, so no published row is lost.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import filelock

from advisor.db import store
from pipeline import schema
from pipeline.errors import InputError

# DuckDB's errors for a file it cannot create, grow or sync (read-only directory, full disk).
DISK_ERRORS = (duckdb.IOException, duckdb.PermissionException, duckdb.FatalException)


class EnvironmentProblem(Exception):
    """The machine, not the input, stopped the run: a read-only directory, a full disk, a held lock."""

    @classmethod
    def of(cls, exc: BaseException, db_path: Path) -> EnvironmentProblem:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        errno_ = getattr(exc, "errno", None)
        if errno_ == errno.ENOSPC or "No space left" in text:
            fix = f"free disk space where {db_path.parent} lives (the build needs about twice the database size)"
        elif errno_ in (errno.EACCES, errno.EPERM, errno.EROFS) or "ermission" in text or "Read-only" in text:
            fix = f"choose a --db in a directory you can write, or make {db_path.parent} writable"
        else:
            fix = "check the disk and the path, then run again"
        where = getattr(exc, "filename", None) or db_path
        return cls(f"{where}: {text}. Fix: {fix}")


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(f".{db_path.name}.lock")


@contextlib.contextmanager
def locked(db_path: Path, timeout: float):
    """Hold the database's lock for the block; wait up to ``timeout`` seconds (saying so) for another
    run to release it, then raise EnvironmentProblem."""
    db_path = Path(db_path)
    path = lock_path(db_path)
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(path)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            print(f"waiting for another pipeline run on {db_path} to finish (lock {path}; up to "
                  f"{timeout:g} s, --lock-timeout) ...", file=sys.stderr, flush=True)
            try:
                lock.acquire(timeout=timeout)
            except filelock.Timeout:
                raise EnvironmentProblem(
                    f"{db_path}: another pipeline run still holds its lock {path} after {timeout:g} s. Fix: "
                    f"wait for that run to finish (or stop it), or raise --lock-timeout / lock_timeout") from None
    except OSError as exc:
        raise EnvironmentProblem.of(exc, db_path) from None
    try:
        yield
    finally:
        lock.release()


def write_json_atomic(path: Path, obj, **dumps) -> None:
    """Write ``obj`` as JSON so that a reader sees the old file, the complete new one, or none (a
    uniquely named temporary file beside it, then a rename); ``dumps``: options for json.dumps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # readable like the plain files it replaces (mkstemp makes it 0600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(obj, **dumps))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def check_target(db_path: Path, file: str = "--db", field: str | None = None) -> None:
    """Refuse a database path (``file``: the flag, or the config and its ``field``) that is not a database
    to replace: a folder, or a file that is neither empty nor a DuckDB database (a typo such as
    ``--db data/lineages.csv`` would otherwise destroy that file)."""
    db_path = Path(db_path)
    if db_path.is_dir():
        raise InputError(file, f"{db_path} is a folder", "name a database file, e.g. data/advisor.duckdb",
                         field=field)
    if db_path.is_file() and db_path.stat().st_size > 0 and not store.is_duckdb_file(db_path):
        raise InputError(file, f"{db_path} exists and is not a DuckDB database (the build would replace it)",
                         "pass a new path, or a database the pipeline built", field=field)


def _lock_holder(exc: duckdb.Error) -> str | None:
    """DuckDB's 'Conflicting lock is held in PROGRAM (PID n)' as 'PROGRAM (PID n)'; None for another error."""
    text = str(exc)
    if "Could not set lock" not in text and "Conflicting lock" not in text:
        return None
    return text.split("held in ", 1)[1].split(")", 1)[0] + ")" if "held in " in text else "another process"


@contextlib.contextmanager
def live_database(db_path: Path, wait_s: float):
    """A read-only connection to the live database for the block, or None when there is none (no file,
    or an empty one). Another process holding it read-write (a ``duckdb`` shell, a notebook): wait up to
    ``wait_s`` seconds (saying so) for it to close, then EnvironmentProblem (exit 2). Any other failure
    to open it is an EnvironmentProblem too: a subset run that cannot read the live file must not
    publish a database without the other stages' tables. While the block runs no writer can open it."""
    db_path = Path(db_path)
    deadline, said = time.monotonic() + wait_s, False
    while True:
        if not db_path.is_file() or db_path.stat().st_size == 0:
            yield None
            return
        try:
            live = duckdb.connect(str(db_path), read_only=True)
            break
        except duckdb.Error as exc:
            holder = _lock_holder(exc)
            if holder is None:
                raise EnvironmentProblem(f"{db_path}: the live database cannot be read ({str(exc).splitlines()[0]}). "
                                         "Fix: move it away to build from scratch (nothing of it can be carried "
                                         "over), or pass another --db") from None
            if time.monotonic() >= deadline:
                raise EnvironmentProblem(
                    f"{db_path}: {holder} holds the live database read-write, so this run cannot read what it "
                    f"carries over (the other stages' tables, the runs history; waited {wait_s:g} s). Fix: close "
                    "the other connection (a `duckdb` shell, a notebook; `duckdb -readonly` reads without "
                    "blocking), or raise --lock-timeout") from None
            if not said:
                print(f"waiting for {holder} to close its read-write connection to {db_path} (up to "
                      f"{wait_s:g} s, --lock-timeout) ...", file=sys.stderr, flush=True)
                said = True
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    try:
        yield live
    finally:
        live.close()


def _live_rows(live, sql: str):
    """``sql``'s rows from the live connection as a DataFrame; None when there is no live database or
    it lacks the table (a database of an older schema)."""
    if live is None:
        return None
    try:
        return live.execute(sql).df()
    except duckdb.CatalogException:
        return None


def live_schema_version(live) -> str | None:
    rows = _live_rows(live, "SELECT value FROM meta WHERE key = 'schema_version'")
    return rows["value"].iloc[0] if rows is not None and len(rows) else None


def carry_runs(con, live, db_path: Path) -> int:
    """Copy the live database's ``runs`` rows into a full rebuild (the history of every publish)."""
    runs = _live_rows(live, "SELECT * FROM runs")
    if runs is None or runs.empty:  # no live database or no runs table: nothing to carry
        return 0
    try:
        return schema.insert(con, "runs", runs)
    except duckdb.Error as exc:  # a live database of an older schema whose runs do not fit
        print(f"warning: the runs history of {db_path} was not carried over ({exc})", file=sys.stderr)
        return 0


@contextlib.contextmanager
def building(db_path: Path, carry_over: bool, wait_s: float = 0.0):
    """Yield a read-write connection to a fresh build file; publish it atomically on success. The
    caller holds ``locked(db_path)``, so the live file copied here is the latest one; ``wait_s``: how
    long to wait for another program's read-write connection to the live file (``live_database``)."""
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(db_path)
    tmp = building_path(db_path)
    con = None
    try:
        for p in (tmp, Path(str(tmp) + ".wal")):
            p.unlink(missing_ok=True)
        with live_database(db_path, wait_s) as live:  # copied and read while no writer can open it
            if carry_over and live_schema_version(live) == schema.SCHEMA_VERSION:
                shutil.copyfile(db_path, tmp)
            con = duckdb.connect(str(tmp))
            schema.create_all(con)
            if not carry_over:
                carry_runs(con, live, db_path)
        yield con
        con.execute("CHECKPOINT")
        con.close()
        _fsync(tmp)
        os.replace(tmp, db_path)
        _fsync(db_path.parent)
    except BaseException:
        with contextlib.suppress(Exception):
            if con is not None:
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
