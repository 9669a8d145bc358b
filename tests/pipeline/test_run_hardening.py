"""Issue 17, the pipeline rows: one writer at a time (5), environment errors (8), config validated as a
whole (8, 9), ``runs`` history across full rebuilds (10), large ``--results`` files (13) and unique
temporary names. Concurrency runs two real ``pipeline.run`` processes; a full disk is simulated by fault
injection (no tmpfs here), a read-only directory by running as an unprivileged user."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import filelock
import pytest

from pipeline import config, publish, stages
from pipeline import run as run_mod
from pipeline.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
OLL = ROOT / "tests" / "fixtures" / "lm_eval" / "results_oll_v2_2024-09-27T15-51-00.000000.json"


def quick_config(base: Path, stages=("ingest", "predictor")) -> Path:
    """configs/quick.yaml with every output under ``base`` (absolute paths: used as given)."""
    cfg = base / "quick.yaml"
    cfg.write_text(f"db: {base / 'advisor.duckdb'}\ndata_dir: data\nwork_dir: {base / 'work'}\n"
                   f"stages: [{', '.join(stages)}]\n"
                   f"predictor:\n  repeats: 0\n  cv: 5\n  scales: [normalized]\n  candidates: [ridge_log_params]\n"
                   f"  reports_dir: {base / 'reports'}\n")
    return cfg


def pipeline(*args, timeout=300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.run", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, **kw)


def query(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def wait_for_line(proc: subprocess.Popen, needle: str) -> str:
    """Read ``proc``'s stderr until a line holds ``needle`` (returned) or the process ends ("")."""
    while True:
        line = proc.stderr.readline()
        if needle in line or not line:
            return line if needle in line else ""


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> tuple[Path, Path]:
    """(a database built by the quick config, that config); copy it before changing it."""
    base = tmp_path_factory.mktemp("hardening")
    cfg = quick_config(base)
    db = base / "advisor.duckdb"
    proc = pipeline("--config", cfg, "--db", db)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return db, cfg


# ------------------------------------------------------------------------------ row 5: one writer

def test_concurrent_ingest_and_predictor_runs_lose_no_rows(base_db, tmp_path):
    live, cfg = base_db
    db = tmp_path / "advisor.duckdb"
    shutil.copyfile(live, db)
    n_runs = query(db, "SELECT count(*) FROM runs")[0][0]
    cmd = lambda *a: [sys.executable, "-m", "pipeline.run", "--config", str(cfg), "--db", str(db), *a]  # noqa: E731
    ingest = subprocess.Popen(cmd("--stages", "ingest", "--results", str(OLL), "--model", "org/concurrent"),
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    predictor = subprocess.Popen(cmd("--stages", "predictor"), cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
    outs = [p.communicate(timeout=300) for p in (ingest, predictor)]
    assert ingest.returncode == 0 and predictor.returncode == 0, outs
    rows = query(db, "SELECT count(*) FROM benchmark_scores WHERE hf_id = 'org/concurrent'")[0][0]
    assert rows > 0  # the ingest's rows survived the predictor's publish
    stages = sorted(s for (s,) in query(db, "SELECT stages FROM runs"))
    assert query(db, "SELECT count(*) FROM runs")[0][0] == n_runs + 2
    assert "ingest" in stages and "predictor" in stages


def test_a_held_lock_makes_a_run_wait_then_exit_2(base_db, tmp_path):
    live, cfg = base_db
    db = tmp_path / "advisor.duckdb"
    shutil.copyfile(live, db)
    before = digest(db)
    lock = filelock.FileLock(publish.lock_path(db))
    with lock:  # no wall-clock bound here: the message says the run gave up after its 1 s lock timeout
        proc = pipeline("--config", cfg, "--db", db, "--stages", "ingest", "--lock-timeout", "1")
    assert proc.returncode == 2, proc.stderr
    assert "still holds its lock" in proc.stderr and "after 1 s" in proc.stderr
    assert "waiting for another pipeline run" in proc.stderr
    assert "still holds its lock" in proc.stderr and "Fix:" in proc.stderr and "Traceback" not in proc.stderr
    assert digest(db) == before


def test_a_waiting_run_proceeds_once_the_lock_is_released(base_db, tmp_path):
    live, cfg = base_db
    db = tmp_path / "advisor.duckdb"
    shutil.copyfile(live, db)
    lock = filelock.FileLock(publish.lock_path(db))
    lock.acquire()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.run", "--config", str(cfg), "--db", str(db), "--stages",
                             "ingest", "--lock-timeout", "600"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    said = wait_for_line(proc, "waiting for another pipeline run")  # the state this test needs, not a sleep
    assert proc.poll() is None and said  # still waiting
    lock.release()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "published" in out, out[-2000:] + err[-2000:]


# ------------------------------------------------------------------------------ row 8: environment

@pytest.mark.slow  # a pipeline process (and a probe) as another user
def test_db_in_a_read_only_directory_exits_2_with_the_fix(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="rm-advisor-ro-"))
    try:
        os.chmod(base, 0o755)  # noqa: S103 - user nobody must reach this temp dir
        work = base / "work"
        work.mkdir(mode=0o777)
        os.chmod(work, 0o777)  # noqa: S103 - and write its work_dir
        ro = base / "ro"
        ro.mkdir()
        os.chmod(ro, 0o555)  # noqa: S103 - the read-only dir under test
        cfg = base / "c.yaml"
        cfg.write_text(f"work_dir: {work}\nstages: [ingest]\n")
        cmd = [sys.executable, "-m", "pipeline.run", "--config", str(cfg), "--db", str(ro / "advisor.duckdb")]
        if os.geteuid() == 0:  # root writes anywhere: run as nobody to meet a real read-only directory
            if not shutil.which("setpriv"):
                pytest.skip("running as root without setpriv: cannot meet a read-only directory")
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
            probe = subprocess.run([*cmd[:4], sys.executable, "-c", "import pipeline.run"], cwd=ROOT,
                                   capture_output=True, text=True, timeout=120)
            if probe.returncode != 0:
                pytest.skip(f"user nobody cannot read this checkout or its venv: {probe.stderr[-300:]}")
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "HOME": str(work)})
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        assert str(ro) in proc.stderr and "Permission denied" in proc.stderr
        assert "Fix: choose a --db in a directory you can write" in proc.stderr
        assert list(ro.iterdir()) == []
    finally:
        os.chmod(base / "ro", 0o755)  # noqa: S103 - writable again for rmtree
        shutil.rmtree(base, ignore_errors=True)


def _enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_while_copying_the_live_database(base_db, tmp_path, monkeypatch, capsys):
    live, cfg = base_db
    db = tmp_path / "advisor.duckdb"
    shutil.copyfile(live, db)
    before = digest(db)

    def half_copy(src, dst, *a, **k):  # the disk fills up half way through the copy
        Path(dst).write_bytes(Path(src).read_bytes()[: os.path.getsize(src) // 2])
        _enospc()

    monkeypatch.setattr(publish.shutil, "copyfile", half_copy)
    rc = run_mod.main(["--config", str(cfg), "--db", str(db), "--stages", "ingest"])
    err = capsys.readouterr().err
    assert rc == 2 and "No space left on device" in err and "Fix: free disk space" in err
    assert "nothing was published" in err
    assert sorted(p.name for p in tmp_path.iterdir() if "building" in p.name) == []  # partial file gone at once
    assert digest(db) == before


def test_full_disk_at_the_publish_rename(base_db, tmp_path, monkeypatch, capsys):
    live, cfg = base_db
    db = tmp_path / "advisor.duckdb"
    shutil.copyfile(live, db)
    before = digest(db)
    monkeypatch.setattr(publish.os, "replace", _enospc)
    rc = run_mod.main(["--config", str(cfg), "--db", str(db), "--stages", "ingest"])
    err = capsys.readouterr().err
    assert rc == 2 and "No space left on device" in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []
    assert digest(db) == before


BAD_CONFIGS = [
    ("predictor:\n  cv: ten\n", "predictor.cv", "'ten' is not valid"),
    ("predictor:\n  cv: -3\n", "predictor.cv", "greater than or equal to 2"),
    ("predictor:\n  features: 5\n", "predictor.features", "unknown key 'features'"),
    ("predictor:\n  scales: 5\n", "predictor.scales", "valid list"),
    ("predictor:\n  interval_level: 5\n", "predictor.interval_level", "less than 1"),
    ("predictor:\n  n_jobs: 0\n", "predictor.n_jobs", "0 jobs"),
    ("db: 123\n", "db", "valid string"),
    ("predictor:\n  reports_dir: ../../..\n", "predictor.reports_dir", "leaves the project"),
    ("predictr:\n  cv: 3\n", "predictr", "did you mean 'predictor'?"),
    ("stagess: [ingest]\n", "stagess", "did you mean 'stages'?"),
    ("predictor:\n  interval_levl: 0.8\n", "predictor.interval_levl", "did you mean 'interval_level'?"),
    ("ingest:\n  oll_v2_duplicate_rul: max_average\n", "ingest.oll_v2_duplicate_rul", "did you mean"),
    ("lock_timeout: soon\n", "lock_timeout", "not valid"),
    ("work_dir: ../elsewhere\n", "work_dir", "leaves the project"),
]


@pytest.mark.parametrize("text,field_,problem", BAD_CONFIGS)
def test_bad_configs_exit_2_naming_file_field_and_fix(tmp_path, capsys, text, field_, problem):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    db = tmp_path / "x.duckdb"
    rc = run_mod.main(["--config", str(cfg), "--db", str(db)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith(f"error: {cfg}, field {field_!r}: ") and problem in err and "Fix:" in err, err
    assert not db.exists() and list(tmp_path.iterdir()) == [cfg]


@pytest.mark.slow  # pipeline processes
def test_a_bad_predictor_section_is_refused_at_load_before_any_stage_runs(tmp_path):
    """Issue 25: the predictor section's names (scales, spec names) are checked by config.load, so a bad one
    stops ``pipeline.run`` before ingest (exit 2, the file, the field, the valid names), not after it."""
    cfg = tmp_path / "bad.yaml"
    db, work = tmp_path / "advisor.duckdb", tmp_path / "work"
    head = f"db: {db}\ndata_dir: data\nwork_dir: {work}\nstages: [ingest, predictor]\n"
    cfg.write_text(head + "predictor: {scales: [percent], candidates: [no_such_spec]}\n")
    proc = pipeline("--config", cfg)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith(f"error: {cfg}, field 'predictor.scales.0': 'percent' is not valid "
                                  "(also to fix: predictor.candidates.0). "
                                  "Fix: predictor.scales.0 should be 'normalized' or 'raw'"), proc.stderr
    assert "nothing was published" in proc.stderr
    assert "stage 1/2 ingest" not in proc.stdout and "pipeline run" not in proc.stdout  # no stage started
    assert not db.exists() and not work.exists() and sorted(tmp_path.iterdir()) == [cfg]
    cfg.write_text(head + "predictor: {scales: [normalized], candidates: [no_such_spec]}\n")
    proc = pipeline("--config", cfg)
    assert proc.returncode == 2 and proc.stderr.startswith(
        f"error: {cfg}, field 'predictor.candidates.0': unknown predictor spec 'no_such_spec'. Fix: use names "
        "from advisor/predict/predictor_specs.yaml: ridge_log_params, ridge_oll_mean_log_params, enet_linear_log, "
        "paper_enet"), proc.stderr
    assert "stage 1/2 ingest" not in proc.stdout and sorted(tmp_path.iterdir()) == [cfg]


@pytest.mark.slow  # a pipeline process
def test_a_bad_config_on_the_command_line_is_one_message_not_a_traceback(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("predictor:\n  cv: ten\n")
    proc = pipeline("--config", cfg, "--db", tmp_path / "x.duckdb")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "predictor.cv" in proc.stderr


def test_absolute_paths_are_used_as_given_and_relative_ones_stay_inside(tmp_path):
    cfg = tmp_path / "ok.yaml"
    cfg.write_text(f"db: {tmp_path / 'a.duckdb'}\nwork_dir: work/x\npredictor:\n  reports_dir: {tmp_path}\n")
    loaded = config.load(cfg)
    assert loaded.resolve(loaded.db) == tmp_path / "a.duckdb"
    with pytest.raises(InputError, match="absolute path"):
        config.check_path("../outside", cfg, "db")


def test_a_negative_lock_timeout_flag_is_refused(tmp_path, capsys):
    assert run_mod.main(["--db", str(tmp_path / "a.duckdb"), "--lock-timeout", "-1"]) == 2
    assert "--lock-timeout: -1 seconds. Fix:" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_flags_are_typed_overrides_checked_like_config_values(tmp_path, capsys):
    """--method is ingest.method: a bad value is refused before anything runs, naming the flag and field."""
    rc = run_mod.main(["--db", str(tmp_path / "a.duckdb"), "--rm-results", str(OLL), "--method", "dpo"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: --method, field 'ingest.method': 'dpo' is not valid"), err
    assert "Fix: ingest.method should be 'regression' or 'bradley_terry'" in err
    assert list(tmp_path.iterdir()) == []
    cfg = config.load(ROOT / "configs" / "default.yaml",
                      overrides=run_mod.overrides(run_mod.parse_args(["--results", "r.json", "--model", "org/m"])))
    ingest = cfg.section("ingest")
    assert (ingest.results, ingest.model, ingest.rm_results, ingest.method) == (["r.json"], "org/m", [], None)
    assert ingest.oll_v2_duplicate_rule == "prefer_bfloat16"  # the file's values are kept


def test_a_relative_db_flag_leaving_the_project_is_refused(capsys):
    assert run_mod.main(["--db", "../outside.duckdb"]) == 2
    err = capsys.readouterr().err
    assert "--db, field 'db': path '../outside.duckdb' leaves the project" in err and "absolute path" in err
    assert not (ROOT.parent / "outside.duckdb").exists()


def test_validation_is_generic_over_the_stage_dataclasses():
    """A field another engineer adds to a stage dataclass is validated by its annotation, unknown keys
    refused, without touching pipeline/config.py."""

    @dataclass
    class NewStageConfig:
        folds: config.Folds = 5
        level: config.OpenUnit = 0.5
        names: list[str] = field(default_factory=list)
        out_dir: str = "work/new"

    assert config.section(NewStageConfig, {"new": {"folds": 3}}, "new").folds == 3
    for bad, msg in [({"folds": 1}, "greater than or equal to 2"), ({"level": 1.5}, "less than 1"),
                     ({"names": "a"}, "valid list"), ({"out_dir": "/../../x/../.."}, None),
                     ({"fold": 3}, "did you mean 'folds'?"), ({"out_dir": "../../x"}, "leaves the project")]:
        if msg is None:  # absolute: used as given
            config.section(NewStageConfig, {"new": bad}, "new")
            continue
        with pytest.raises(InputError, match=msg):
            config.section(NewStageConfig, {"new": bad}, "new", "c.yaml")


SHIPPED = sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))
TASK_SETS = sorted(p.name for p in (ROOT / "configs" / "tasks").glob("*.yaml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_validate(name):
    """Every pipeline config in configs/, each section of the stages it runs (absent sections: defaults)."""
    cfg = config.load(ROOT / "configs" / name)
    assert all(cfg.section(stage) is not None for stage in cfg.stages if stage in stages.sections())


@pytest.mark.parametrize("name", TASK_SETS)
def test_shipped_task_sets_validate(name):
    """configs/tasks/ holds task sets (the benchmarks stage's task_sets), another kind of file."""
    from pipeline.benchmarks.tasks import load_task_set, resolve_task_set

    ts = load_task_set(resolve_task_set(Path(name).stem))
    assert ts.name == Path(name).stem and ts.tasks


def test_every_shipped_config_is_checked():
    assert {"default.yaml", "paper.yaml", "quick.yaml", "report.yaml", "serve.yaml", "smoke.yaml"} <= set(SHIPPED)
    assert {"oll_v2.yaml", "paper_table2.yaml"} <= set(TASK_SETS)


# ------------------------------------------------------------------------------ row 10: runs history

@pytest.mark.slow  # three pipeline processes
def test_full_rebuilds_keep_the_runs_history(tmp_path):
    cfg = quick_config(tmp_path, stages=("ingest",))
    db = tmp_path / "advisor.duckdb"
    ids = []
    for _ in range(3):
        proc = pipeline("--config", cfg, "--db", db)  # no --stages: a full rebuild
        assert proc.returncode == 0, proc.stderr[-2000:]
        ids.append(proc.stdout.split("pipeline run ", 1)[1].split(":", 1)[0])
    assert sorted(r for (r,) in query(db, "SELECT run_id FROM runs")) == sorted(ids)


# ------------------------------------------------------------------------------ row 13: large --results

@pytest.mark.slow  # a pipeline process
def test_results_file_over_the_size_cap_is_refused_before_reading(tmp_path):
    big = tmp_path / "results_big.json"
    with big.open("wb") as fh:
        fh.truncate(65 * 2**20)  # sparse: nothing is written or read
    proc = pipeline("--config", quick_config(tmp_path, ("ingest",)), "--db", tmp_path / "a.duckdb",
                    "--stages", "ingest", "--results", big, "--model", "org/big")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "results_big.json" in proc.stderr and "65.0 MB, over the 64 MB limit" in proc.stderr


@pytest.mark.slow  # four ingest runs
def test_kept_results_files_are_parsed_once(tmp_path, monkeypatch, capsys):
    from advisor.formats import results

    cfg = quick_config(tmp_path, ("ingest",))
    db = tmp_path / "advisor.duckdb"
    calls = []
    real = results.parse
    monkeypatch.setattr(results, "parse", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    assert run_mod.main(["--config", str(cfg), "--db", str(db), "--results", str(OLL), "--model", "org/once"]) == 0
    assert len(calls) == 1  # validated once, and those rows are stored beside the kept copy
    rows = query(db, "SELECT count(*) FROM benchmark_scores WHERE hf_id = 'org/once'")[0][0]
    assert rows > 0
    kept = tmp_path / "work" / "results" / OLL.name
    assert json.loads((kept.parent / f".{OLL.name}.parsed").read_text())["key"]["model"] == "org/once"
    for _ in range(2):  # rebuilds: no parsing at all
        assert run_mod.main(["--config", str(cfg), "--db", str(db)]) == 0
    assert len(calls) == 1
    assert query(db, "SELECT count(*) FROM benchmark_scores WHERE hf_id = 'org/once'")[0][0] == rows
    os.utime(kept, ns=(time.time_ns(), time.time_ns()))  # the kept file changed: parsed again
    assert run_mod.main(["--config", str(cfg), "--db", str(db)]) == 0
    assert len(calls) == 2
    capsys.readouterr()


def test_work_dir_flag_overrides_the_configs_and_stays_inside_the_rules(tmp_path, capsys):
    """--work-dir: where the run keeps its work (here the kept --results file); a relative path that
    leaves the project is refused like the config's own work_dir, naming the flag."""
    cfg = quick_config(tmp_path, ("ingest",))
    db, elsewhere = tmp_path / "advisor.duckdb", tmp_path / "elsewhere"
    argv = ["--config", str(cfg), "--db", str(db), "--results", str(OLL), "--model", "org/w"]
    assert run_mod.main([*argv, "--work-dir", str(elsewhere)]) == 0
    assert (elsewhere / "results" / OLL.name).exists() and not (tmp_path / "work" / "results").exists()
    assert run_mod.main([*argv, "--work-dir", "../outside"]) == 2
    err = capsys.readouterr().err
    assert "--work-dir" in err and "leaves the project" in err and "nothing was published" in err


# ------------------------------------------------------------------------------ unique temp names

def test_atomic_json_writes_from_many_threads_of_one_process(tmp_path):
    target = tmp_path / "state.json"
    errors = []

    def writer(i):
        try:
            for j in range(40):
                publish.write_json_atomic(target, {"writer": i, "n": j, "pad": "x" * 2000})
        except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads(target.read_text())["n"] == 39
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left behind


# ------------------------------------------------------------------------------ issue 27, second adversarial pass

HOLD = "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('holding', flush=True); sys.stdin.read()"


@contextlib.contextmanager
def held_read_write(db: Path):
    """A second process holding ``db`` read-write for the block, as the `duckdb` shell or a notebook does."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def served(db: Path) -> tuple:
    """(bundles, served rows, runs) of a database: what the app and `rank` predict with, and the history."""
    return query(db, "SELECT (SELECT count(*) FROM predictor_bundle), (SELECT count(*) FROM predictor_served), "
                     "(SELECT count(*) FROM runs)")[0]


@pytest.mark.slow  # a holder process and two pipeline processes
def test_finding_1_a_run_refuses_while_another_process_holds_the_database_read_write(base_db, tmp_path):
    """A partial run (and a full one) that cannot read the live file must not publish without the other
    stages' tables: with --lock-timeout 0 it exits 2 naming the fix, and the file is untouched."""
    db = tmp_path / "advisor.duckdb"
    shutil.copyfile(base_db[0], db)
    before, before_digest = served(db), digest(db)
    assert before[0] == 1 and before[1] > 0
    with held_read_write(db):
        partial = pipeline("--config", base_db[1], "--db", db, "--stages", "ingest", "--lock-timeout", "0")
        full = pipeline("--config", base_db[1], "--db", db, "--stages", "ingest,predictor", "--lock-timeout", "0")
    for proc in (partial, full):
        assert proc.returncode == 2, proc.stdout[-1500:] + proc.stderr[-1500:]
        assert f"{db}: " in proc.stderr and "holds the live database read-write" in proc.stderr
        assert "Fix: close the other connection" in proc.stderr and "Traceback" not in proc.stderr
        assert "published" not in proc.stdout
    assert digest(db) == before_digest and served(db) == before


@pytest.mark.slow  # a holder process and a pipeline process
def test_finding_1_a_run_waits_for_the_other_connection_and_keeps_the_served_predictor(base_db, tmp_path):
    db = tmp_path / "advisor.duckdb"
    shutil.copyfile(base_db[0], db)
    before = served(db)
    with held_read_write(db):
        run = subprocess.Popen([sys.executable, "-m", "pipeline.run", "--config", str(base_db[1]), "--db", str(db),
                                "--stages", "ingest", "--lock-timeout", "600"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        said = wait_for_line(run, "waiting for")  # the run has found the holder: now release it
        assert "read-write connection" in said, said
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, out[-2000:] + err[-2000:]
    after = served(db)
    assert after[:2] == before[:2] and after[2] == before[2] + 1  # the predictor kept, the history grew


def test_finding_1_a_live_database_that_cannot_be_read_is_not_replaced_by_a_partial_run(base_db, tmp_path, capsys):
    """Only a missing (or empty) file means "nothing to carry over": a damaged one stops the run (exit 2)."""
    db = tmp_path / "advisor.duckdb"
    shutil.copyfile(base_db[0], db)
    with db.open("r+b") as fh:
        fh.truncate(8192)  # DuckDB's headers intact, the blocks gone
    before = digest(db)
    assert run_mod.main(["--stages", "ingest", "--db", str(db), "--work-dir", str(tmp_path / "work")]) == 2
    err = capsys.readouterr().err
    assert f"{db}: the live database cannot be read (" in err and "Fix: move it away" in err, err
    assert digest(db) == before


def test_finding_2_a_db_path_that_is_not_a_database_is_refused_and_left_alone(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    assert run_mod.main(["--stages", "ingest", "--db", str(notes)]) == 2
    err = capsys.readouterr().err
    assert f"error: --db: {notes} exists and is not a DuckDB database" in err and "Fix: pass a new path" in err
    cfg = tmp_path / "mine.yaml"
    cfg.write_text(f"db: {notes}\nstages: [ingest]\n")
    assert run_mod.main(["--config", str(cfg)]) == 2
    assert f"error: {cfg}, field 'db': {notes} exists and is not a DuckDB database" in capsys.readouterr().err
    assert run_mod.main(["--stages", "ingest", "--db", str(tmp_path)]) == 2
    assert f"--db: {tmp_path} is a folder" in capsys.readouterr().err
    assert notes.read_text() == "my notes" and sorted(p.name for p in tmp_path.iterdir()) == ["mine.yaml", "notes.txt"]


@pytest.mark.slow  # two ingest runs
def test_finding_2_a_new_path_and_an_empty_file_are_built(tmp_path, capsys):
    empty = tmp_path / "touched.duckdb"
    empty.touch()
    for db in (tmp_path / "new.duckdb", empty):
        assert run_mod.main(["--stages", "ingest", "--db", str(db), "--work-dir", str(tmp_path / "work")]) == 0
        assert query(db, "SELECT count(*) FROM models")[0][0] >= 40
    capsys.readouterr()


def alias_bomb(levels: int, width: int, where: str) -> str:
    """Nested YAML anchors, each level ``width`` aliases of the one before: ``width ** levels`` values."""
    names = "abcdefghijklmnop"
    nodes = [f"&a [{','.join(['lol'] * width)}]"]
    nodes += [f"&{names[i]} [{','.join([f'*{names[i - 1]}'] * width)}]" for i in range(1, levels)]
    return where.format(f"[{','.join(nodes)}]")


@pytest.mark.parametrize("text", [alias_bomb(7, 9, "db: {}\n"),  # 9**7 strings echoed by the validation message
                                  alias_bomb(7, 10, "predictor:\n  candidates: {}\n")])  # 10**7 names checked
def test_finding_6_a_yaml_alias_bomb_is_refused_in_a_short_message(tmp_path, capsys, text):
    assert len(text) < 320  # the bombs: 270 and 303 bytes
    cfg = tmp_path / "bomb.yaml"
    cfg.write_text(text)
    assert run_mod.main(["--config", str(cfg), "--db", str(tmp_path / "x.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {cfg}: line ") and "alias *a" in err and "Fix: write the values out" in err
    assert len(err) < 400, len(err)


def test_finding_6_validation_messages_echo_at_most_a_few_hundred_characters(tmp_path, capsys):
    cfg = tmp_path / "big.yaml"
    cfg.write_text(f"lock_timeout: [{', '.join(['12345'] * 20000)}]\n")  # a large value, no aliases
    assert run_mod.main(["--config", str(cfg), "--db", str(tmp_path / "x.duckdb")]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}, field 'lock_timeout'" in err and "(140,000 characters)" in err and len(err) < 800, err[:1000]


def test_finding_6_task_sets_refuse_aliases_too(tmp_path):
    from pipeline.benchmarks.tasks import load_task_set

    ts = tmp_path / "bomb.yaml"
    ts.write_text("name: bomb\n" + alias_bomb(3, 3, "tasks: {}\n"))
    with pytest.raises(InputError, match=r"line 2: alias \*a .*Fix: write the values out"):
        load_task_set(ts)


def test_finding_11_a_huge_integer_in_a_results_file_names_the_file_and_field(tmp_path, capsys):
    from pipeline.ingest import lmeval_json

    doc = OLL.read_text()
    for digits in (5000, 400):  # over Python's 4,300-digit limit; over any float
        bad = tmp_path / f"results_{digits}.json"
        bad.write_text(doc.replace('"acc_norm,none": 0.', f'"acc_norm,none": {"7" * digits}, "x": 0.', 1))
        with pytest.raises(InputError) as e:
            lmeval_json.parse_file(bad)
        assert e.value.field.startswith("results.") and e.value.field.endswith(".acc_norm,none"), e.value
        assert f"<a {digits:,}-digit integer>" in e.value.problem and "lm-evaluation-harness" in e.value.fix
    rc = run_mod.main(["--stages", "ingest", "--db", str(tmp_path / "a.duckdb"), "--work-dir", str(tmp_path / "w"),
                       "--results", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2 and f"{bad}, field 'results." in err and "Fix:" in err and "set_int_max_str_digits" not in err
