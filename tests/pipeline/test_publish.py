"""`python -m pipeline.run` end to end: it builds, publishes atomically and readers always see a whole
database (SIGKILL at any point: tests/pipeline/test_faults.py)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from advisor.db import store
from pipeline import publish

ROOT = Path(__file__).resolve().parents[2]


def run_pipeline(db: Path, *args, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "pipeline.run", "--db", str(db), "--stages", "ingest", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("db") / "advisor.duckdb"
    proc = run_pipeline(db)
    assert "stage 1/1 ingest: done" in proc.stdout and "published" in proc.stdout
    return db


def test_rebuild_is_complete_and_records_the_run(built):
    con = duckdb.connect(str(built), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM models").fetchone()[0] == 40
        normalized = "SELECT count(DISTINCT hf_id) FROM benchmark_scores WHERE scale='normalized'"
        assert con.execute(normalized).fetchone()[0] == 40
        run = con.execute("SELECT stages, status, code_version FROM runs").fetchall()
        assert run[-1][0] == "ingest" and run[-1][1] == "ok" and run[-1][2]
    finally:
        con.close()
    assert not list(built.parent.glob(".*building*")) and not Path(str(built) + ".wal").exists()


def test_rerun_replaces_rows_instead_of_duplicating(built, tmp_path):
    db = tmp_path / "advisor.duckdb"
    db.write_bytes(built.read_bytes())
    run_pipeline(db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM rm_results WHERE source = 'paper'").fetchone()[0] == 80
        assert con.execute("SELECT count(*) FROM models").fetchone()[0] == 40
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2  # history is carried over
    finally:
        con.close()


def test_readers_always_see_a_whole_database_while_publishing(built, tmp_path):
    db = tmp_path / "advisor.duckdb"
    db.write_bytes(built.read_bytes())
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pipeline.run import main\n"
         "for _ in range(3):\n    assert main(['--db', sys.argv[1], '--stages', 'ingest']) == 0", str(db)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    reads = 0
    while writer.poll() is None:
        con = store.connect(db)
        try:
            assert con.execute("SELECT count(*) FROM models").fetchone()[0] == 40
            assert con.execute("SELECT count(*) FROM rm_results WHERE source='paper'").fetchone()[0] == 80
        finally:
            con.close()
        reads += 1
    assert writer.returncode == 0, writer.stderr.read()
    assert reads > 5


@pytest.mark.slow  # three pipeline processes
def test_bad_config_and_stage_names_fail_cleanly(tmp_path):
    db = tmp_path / "x.duckdb"
    proc = run_pipeline(db, "--stages", "ingest,trian", check=False)
    assert proc.returncode == 2 and "unknown stage 'trian'" in proc.stderr and "Traceback" not in proc.stderr
    cfg = tmp_path / "c.yaml"
    cfg.write_text("ingest:\n  oll_v2_duplicate_rule: newest\n")
    proc = subprocess.run([sys.executable, "-m", "pipeline.run", "--config", str(cfg), "--db", str(db),
                           "--stages", "ingest"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "oll_v2_duplicate_rule" in proc.stderr and "nothing was published" in proc.stderr
    assert not db.exists()
    cfg.write_text("ingest:\n  typo_key: 1\n")
    proc = subprocess.run([sys.executable, "-m", "pipeline.run", "--config", str(cfg), "--db", str(db)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "unknown key 'typo_key' in section 'ingest'" in proc.stderr


def test_stale_build_files_of_dead_processes_are_cleaned(tmp_path):
    db = tmp_path / "advisor.duckdb"
    dead = tmp_path / ".advisor.duckdb.building-999999999"
    dead.write_text("half")
    assert publish.clean_stale(db) == [dead]


def test_ingest_rerun_keeps_rows_other_stages_own(built, tmp_path):
    db = tmp_path / "advisor.duckdb"
    db.write_bytes(built.read_bytes())
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO models (hf_id, display_name, in_paper, source) "
                "VALUES ('local/tiny-llama', 'tiny', false, 'pipeline')")
    con.execute("INSERT INTO rm_results (hf_id, method, score, source, run_id) "
                "VALUES ('local/tiny-llama', 'regression', 51.0, 'pipeline', 'r1')")
    con.close()
    run_pipeline(db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM models").fetchone()[0] == 41
        assert con.execute("SELECT score FROM rm_results WHERE source = 'pipeline'").fetchall() == [(51.0,)]
        assert con.execute("SELECT count(*) FROM rm_results WHERE source = 'paper'").fetchone()[0] == 80
    finally:
        con.close()
