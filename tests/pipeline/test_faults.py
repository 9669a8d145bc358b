"""Fault injection: SIGKILL ``python -m pipeline.run`` at random points and at the exact publish
steps, rerun, and check the database and the work directory; and the app keeps serving while the
pipeline publishes 20 times in a row.

After every kill the live database is either the old one (byte-identical) or the complete new one:
it opens, every table reads, the row counts equal a clean build's (no duplicate, no lost rows). A
rerun publishes, leaves no build files, and does not redo finished work: training trials with a
``done.json`` and presence score shards keep their modification times.

Random kill points come from ``FAULT_SEED`` (printed, default random) so a failure can be replayed.
The training and presence cases use tiny models and a few seconds of work each.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("FAULT_SEED", random.randrange(10**6)))
RNG = random.Random(SEED)
PY = sys.executable
BUILD_S: list[float] = []
INGEST_TABLES = ("models", "benchmarks", "benchmark_scores", "post_training", "leaderboard_v2",
                 "rewardbench_leaderboard", "sources")

pytestmark = pytest.mark.faults  # every test here kills or injects faults into pipeline runs (`built`: slow)


def run(db: Path, *args, config=None, check=True, timeout=600) -> subprocess.CompletedProcess:
    cmd = [PY, "-m", "pipeline.run", "--db", str(db), *(["--config", str(config)] if config else []), *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def counts(db: Path, tables=INGEST_TABLES) -> dict[str, int]:
    """Row count of each table; opening and reading every table is the corruption check."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608 - table names from code
               for t in tables}
        out["rm_results.paper"] = con.execute("SELECT count(*) FROM rm_results WHERE source='paper'").fetchone()[0]
        out["runs"] = con.execute("SELECT count(*) FROM runs").fetchone()[0]
        dup = con.execute("SELECT count(*) FROM (SELECT hf_id, benchmark, scale, source, count(*) n "
                          "FROM benchmark_scores GROUP BY ALL HAVING n > 1)").fetchone()[0]
        assert dup == 0, f"{dup} duplicated benchmark rows"
        return out
    finally:
        con.close()


def leftovers(db: Path) -> list[Path]:
    return list(db.parent.glob(f".{db.name}.building-*")) + list(db.parent.glob("*.wal"))


def kill_when(cmd: list[str], ready, delay: float, timeout: float = 300, env=None) -> tuple[bool, str]:
    """Start ``cmd``; once ``ready()`` holds, wait ``delay`` s and SIGKILL it. (killed, output)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.02)
    if proc.poll() is None:
        time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=60)
    return killed, out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    print(f"FAULT_SEED={SEED}")
    db = tmp_path_factory.mktemp("faults") / "advisor.duckdb"
    t0 = time.perf_counter()
    run(db, "--stages", "ingest")
    BUILD_S.append(time.perf_counter() - t0)  # a clean run's length: where random kills may land
    return db, counts(db)


def fresh_copy(built, tmp_path) -> Path:
    db = tmp_path / "advisor.duckdb"
    shutil.copyfile(built[0], db)
    return db


def assert_old_or_new(db: Path, before_digest: str, clean: dict, runs_before: int) -> str:
    """The live file is the old one byte for byte, or a complete new one."""
    assert db.exists()
    now = counts(db)
    base = {k: v for k, v in now.items() if k != "runs"}
    assert base == {k: v for k, v in clean.items() if k != "runs"}, (now, clean)
    if digest(db) == before_digest:
        assert now["runs"] == runs_before
        return "old"
    assert now["runs"] == runs_before + 1
    return "new"


# ------------------------------------------------------------------------------ ingest and publish

def test_sigkill_at_random_points_of_an_ingest_rebuild(built, tmp_path):
    db = fresh_copy(built, tmp_path)
    clean = built[1]
    outcomes = []
    for _i in range(3):
        before, runs_before = digest(db), counts(db)["runs"]
        delay = RNG.uniform(0.0, BUILD_S[0])  # from interpreter start-up through ingest to publish
        killed, _ = kill_when([PY, "-m", "pipeline.run", "--db", str(db), "--stages", "ingest"],
                              lambda: True, delay)
        outcomes.append((round(delay, 2), killed, assert_old_or_new(db, before, clean, runs_before)))
    print(f"kills (delay s, killed, database after), clean run {BUILD_S[0]:.1f} s:", outcomes)
    assert any(killed for _, killed, _ in outcomes), "no run was killed"
    runs_before = counts(db)["runs"]
    run(db, "--stages", "ingest")
    after = counts(db)
    assert after["runs"] == runs_before + 1 and {k: v for k, v in after.items() if k != "runs"} == \
        {k: v for k, v in clean.items() if k != "runs"}
    assert not leftovers(db)


def test_sigkill_while_ingesting_keeps_the_old_file(built, tmp_path):
    db = fresh_copy(built, tmp_path)
    before = digest(db)
    building = lambda: any(tmp_path.glob(".advisor.duckdb.building-*"))  # noqa: E731
    # the build file appears when the ingest stage starts; ingest itself lasts ~1 s (bulk inserts), so
    # the kill lands 0-0.4 s into it; a run that finished first is retried with half the delay
    delay = RNG.uniform(0.0, 0.4)
    for _ in range(4):
        killed, out = kill_when([PY, "-m", "pipeline.run", "--db", str(db), "--stages", "ingest"], building,
                                delay)
        if killed:
            break
        db.write_bytes(built[0].read_bytes())
        delay /= 2
    assert killed, out
    assert digest(db) == before and counts(db) == built[1]
    run(db, "--stages", "ingest")  # the next run removes the dead run's file and publishes
    assert counts(db)["runs"] == built[1]["runs"] + 1 and not leftovers(db) and digest(db) != before


KILL_AT = """
import os, signal, sys
from pipeline import publish
calls = []
real = publish._fsync
def fsync(path):
    calls.append(path)
    if len(calls) == int(os.environ["KILL_AT_FSYNC"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path)
publish._fsync = fsync
from pipeline.run import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("at, expect", [(1, "old"), (2, "new")])
def test_sigkill_at_the_publish_steps(built, tmp_path, at, expect):
    """Kill exactly between CHECKPOINT and the rename (fsync of the build file: 1) and between the
    rename and the directory fsync (2): the database is the old, resp. the complete new one."""
    db = fresh_copy(built, tmp_path)
    before = digest(db)
    proc = subprocess.run([PY, "-c", KILL_AT, "--db", str(db), "--stages", "ingest"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "KILL_AT_FSYNC": str(at)})
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    assert assert_old_or_new(db, before, built[1], built[1]["runs"]) == expect
    assert bool(leftovers(db)) == (expect == "old")  # the dead run's build file, cleaned by the next run
    run(db, "--stages", "ingest")
    assert not leftovers(db) and counts(db)["runs"] == built[1]["runs"] + (2 if expect == "new" else 1)


# ------------------------------------------------------------------------------ a training trial

def test_sigkill_during_a_training_trial(built, tmp_path):
    """One tiny model, one method, two learning rates (the smoke config's train section): kill during
    the second trial, rerun; the first trial is not redone, the database gains each row once."""
    smoke = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    train = dict(smoke["train"])
    train["models"] = train["models"][:1]
    method = "bradley_terry" if "bradley_terry" in train.get("methods", []) else train["methods"][0]
    train["methods"] = [method]
    lrs = train[method]["learning_rates"][:2]
    assert len(lrs) == 2
    db = fresh_copy(built, tmp_path)
    cfg = tmp_path / "train.yaml"
    before = digest(db)
    done = lambda: sorted(work.glob(f"train/*/{method}/*/done.json"))  # noqa: E731
    ckpts = lambda: sorted(work.glob(f"train/*/{method}/lr_*/checkpoints/checkpoint-*"))  # noqa: E731
    # Kill once the state the assertions below need exists, never after a guessed time or at a folder: the
    # second trial (no done.json) has a complete checkpoint, i.e. a readable trainer_state.json, which the
    # Trainer writes last (under load a checkpoint folder exists well before it is complete, and a trial
    # killed then rightly starts over). Both trials done already: kill too (nothing to resume then).
    def complete(c: Path) -> bool:
        try:
            json.loads((c / "trainer_state.json").read_text())
        except (OSError, ValueError):
            return False
        return True

    def resumable_or_done() -> bool:
        finished = done()
        return len(finished) == 2 or len(finished) == 1 and any(
            c.parent.parent != finished[0].parent and complete(c) for c in ckpts())

    # the kill lands 0-0.1 s after that; a run that got as far as publishing first is retried from scratch
    delay = RNG.uniform(0.0, 0.1)
    for attempt in range(3):
        work = tmp_path / f"work{attempt}"
        cfg.write_text(yaml.safe_dump({"db": str(db), "data_dir": str(ROOT / "data"), "work_dir": str(work),
                                       "stages": ["train"], "train": train}))
        killed, out = kill_when([PY, "-m", "pipeline.run", "--config", str(cfg), "--stages", "train"],
                                resumable_or_done, delay, timeout=600)
        if killed and "published" not in out:
            break
        shutil.copyfile(built[0], db)
        delay = 0.0
    assert killed, "the run finished before it could be killed:\n" + out[-3000:]
    assert digest(db) == before, "a killed training run changed the live database"
    finished = {p: p.stat().st_mtime_ns for p in done()}
    assert 1 <= len(finished) <= 2, finished
    # A kill in the middle of a checkpoint save leaves a folder without trainer_state.json (the Trainer
    # writes it last); leave one behind, as such a kill would, so the rerun must skip it.
    open_trials = [c.parent.parent for c in ckpts() if not (c.parent.parent / "done.json").exists()]
    if open_trials:
        cdir = open_trials[0] / "checkpoints"
        last = max(int(c.name.split("-")[1]) for c in cdir.glob("checkpoint-*"))
        partial = cdir / f"checkpoint-{last + 1}"
        partial.mkdir()
        (partial / "model.safetensors").write_bytes(b"\x00" * 100)
    proc = run(db, "--stages", "train", config=cfg)
    for p, t in finished.items():
        assert p.stat().st_mtime_ns == t, f"the finished trial {p.parent.name} was trained again"
    log = "\n".join(ln for ln in proc.stdout.splitlines() if " lr=" in ln)
    assert log.count("done before, skipped") == len(finished), log
    assert len(done()) == 2
    con = duckdb.connect(str(db), read_only=True)
    try:
        trials = con.execute("SELECT count(*), count(DISTINCT learning_rate), count(*) FILTER (resumed) "
                             "FROM training_trials").fetchone()
        assert trials[:2] == (2, 2)
        assert trials[2] == (1 if len(finished) == 1 else 0), "the killed trial did not resume from its checkpoint"
        rm = con.execute("SELECT hf_id, method, count(*) FROM rm_results WHERE source = 'pipeline' "
                         "GROUP BY ALL").fetchall()
        assert len(rm) == 1 and rm[0][1] == method and rm[0][2] == 1
        assert con.execute("SELECT count(*) FROM rm_results WHERE source='paper'").fetchone()[0] == 80
    finally:
        con.close()
    assert not leftovers(db)


# ------------------------------------------------------------------------------ presence shards

def test_sigkill_during_presence_shards(built, tmp_path):
    db = fresh_copy(built, tmp_path)
    work = tmp_path / "work"
    cfg = tmp_path / "presence.yaml"
    docs, per_shard = 80, 2  # 5 subsets x 80 documents in 200 shards: a tiny model scores ~50 shards/s
    total = 5 * docs // per_shard
    sec = dict(models=["tiny:llama"], corpus=dict(source="fixture", docs_per_subset=docs, shard_docs=per_shard),
               scoring=dict(max_tokens=64), sequential=dict(bins=10))
    cfg.write_text(yaml.safe_dump({"db": str(db), "data_dir": str(ROOT / "data"), "work_dir": str(work),
                                   "stages": ["presence"], "presence": sec}))
    shards = lambda: sorted(work.glob("presence/scores/*/*/shard-*.parquet"))  # noqa: E731
    before = digest(db)
    killed, out = kill_when([PY, "-m", "pipeline.run", "--config", str(cfg), "--stages", "presence"],
                            lambda: len(shards()) >= 2, RNG.uniform(0.0, 0.2), timeout=600)
    if len(shards()) == total:
        pytest.skip("every shard was scored before the kill landed (machine faster than planned)")
    assert killed, "the run finished before it could be killed:\n" + out[-3000:]
    assert digest(db) == before
    finished = {p: p.stat().st_mtime_ns for p in shards()}
    assert 2 <= len(finished) < total
    run(db, "--stages", "presence", config=cfg)
    for p, t in finished.items():
        assert p.stat().st_mtime_ns == t, f"{p.name} was scored again"
    con = duckdb.connect(str(db), read_only=True)
    try:
        n, ids = con.execute("SELECT count(*), count(DISTINCT doc_id) FROM presence_scores").fetchone()
        assert n == ids == 5 * docs  # every document exactly once
        assert counts(db)["models"] == 40
    finally:
        con.close()
    assert len(shards()) == total and not leftovers(db)


# ------------------------------------------------------------------------------ the app while publishing

def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - the test's own localhost server
        return r.status, r.read().decode("utf-8", errors="replace")


def test_the_app_keeps_serving_while_the_pipeline_publishes_20_times(built, tmp_path, monkeypatch, serve_app):
    from streamlit.testing.v1 import AppTest  # imported here, not in the thread (import races)

    from advisor.db import store

    db = fresh_copy(built, tmp_path)
    monkeypatch.setenv("RM_ADVISOR_DB", str(db))
    first = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not first.exception, [e.message for e in first.exception]
    with serve_app(db, tmp_path / "server.log") as (base, app):
        writer = subprocess.Popen(
            [PY, "-c", "import sys; from pipeline.run import main\n"
             "for i in range(20):\n    assert main(['--db', sys.argv[1], '--stages', 'ingest']) == 0, i",
             str(db)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        stats = {"health": 0, "page": 0, "reads": 0, "apptest": 0}
        seen_runs: set[int] = set()  # the runs count of each read: the versions the reads landed on
        errors: list[str] = []
        stop = threading.Event()

        def render_pages():  # the app's own code path against the database being swapped
            while not stop.is_set() and stats["apptest"] < 4:
                try:
                    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
                    if at.exception:
                        errors.append(f"AppTest: {[e.message for e in at.exception]}")
                except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                    errors.append(f"AppTest raised {exc!r}")
                stats["apptest"] += 1

        t = threading.Thread(target=render_pages, daemon=True)
        t.start()
        while writer.poll() is None:
            status, body = http_get(base + "/_stcore/health")
            assert (status, body) == (200, "ok")
            stats["health"] += 1
            status, body = http_get(base + "/")
            assert status == 200 and "<!doctype html>" in body.lower()
            stats["page"] += 1
            con = store.connect(db)
            try:
                assert con.execute("SELECT count(*) FROM models").fetchone()[0] == 40
                assert con.execute("SELECT count(*) FROM leaderboard_v2").fetchone()[0] == 4576
                seen_runs.add(con.execute("SELECT count(*) FROM runs").fetchone()[0])
            finally:
                con.close()
            stats["reads"] += 1
            time.sleep(0.1)
        stop.set()
        t.join(timeout=600)  # an AppTest run ends within its own 120 s timeout
        assert writer.returncode == 0, writer.stderr.read()[-3000:]
        print("while publishing 20 times:", stats, "runs counts read:", sorted(seen_runs))
        assert not errors, errors
        assert counts(db)["runs"] == built[1]["runs"] + 20
        # How many checks fit into the 20 publishes depends on the machine's speed, so no count of them is
        # asserted (">= 20" failed on a fast machine); what must hold: every check passed, the reads landed
        # on several published versions (they ran while the database was being swapped), and the app
        # rendered at least once meanwhile.
        assert min(stats.values()) >= 1 and len(seen_runs) >= 2, (stats, seen_runs)
        assert http_get(base + "/_stcore/health")[1] == "ok" and app.poll() is None
