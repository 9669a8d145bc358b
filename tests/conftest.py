"""Shared fixtures. Expensive ones (the built database, tiny models) are session-scoped."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

# Hypothesis profiles (tests/test_fuzz.py): in CI every property is derandomized, so a failure seen in
# CI replays exactly on any machine; locally the examples vary between runs. HYPOTHESIS_PROFILE overrides.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"))

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


# --- the everyday loop: `pytest -m "not slow"` (markers declared in pyproject.toml) --------------------
# Slowness is marked where the cost is. A test that itself starts pipeline processes, trains, builds or
# loads models, compiles, or otherwise takes more than ~2 s carries @pytest.mark.slow (with the reason);
# a fixture below marks every test that uses it (directly or through another fixture): its setup is the cost.
FIXTURE_MARKS = {
    "app_db": ("slow",),  # a database built by the real pipeline (below)
    "built": ("slow",),  # the same, per module: test_predictor_stage, test_faults, test_publish
    "base_db": ("slow",),  # the same: test_run_hardening
    "tiny_models": ("slow",),  # two tiny causal LMs built and saved (below)
    "cpu_head_op": ("slow",),  # the C++ LM-head kernel built with g++ (test_presence_kernels)
    "serve_app": ("slow",),  # a Streamlit server (below)
    "browser": ("slow", "browser"),  # Chromium through Playwright (test_e2e_browser)
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for mark in sorted({m for f in FIXTURE_MARKS.keys() & set(item.fixturenames) for m in FIXTURE_MARKS[f]}):
            item.add_marker(getattr(pytest.mark, mark))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def paper_rm(root) -> pd.DataFrame:
    """The paper's RewardBench results (Tables 4/5) of both methods, with hf_id and size_group."""
    m = pd.read_csv(root / "data/paper/models.csv")
    out = []
    for method in ("regression", "bradley_terry"):
        r = pd.read_csv(root / f"data/paper/rewardbench_{method}.csv").merge(m[["model", "hf_id", "size_group"]],
                                                                              on="model")
        out.append(r.assign(method=method, display_name=r.model))
    return pd.concat(out, ignore_index=True)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Two tiny causal LMs with their tokenizer and chat template: {'llama': dir, 'qwen2': dir}."""
    from pipeline.fixtures import build_model

    base = tmp_path_factory.mktemp("tiny_models")
    return {arch: build_model(base / arch, arch=arch) for arch in ("llama", "qwen2")}


# --- the app's tests (tests/app/) --------------------------------------------------------------------
APP_TEST_CONFIG = ROOT / "configs" / "quick.yaml"  # ingest + a quick predictor fit


@pytest.fixture(scope="session")
def app_db(tmp_path_factory) -> Path:
    """A database built by the real pipeline in a temp dir: configs/quick.yaml (ingest + a quick
    predictor fit) with its database, work_dir and reports (beside the database) all under that dir,
    so a test run writes nothing into the checkout. The app reads it through RM_ADVISOR_DB."""
    import subprocess

    import yaml

    base = tmp_path_factory.mktemp("app_db")
    db = base / "advisor.duckdb"
    cfg = base / "quick.yaml"
    cfg.write_text(yaml.safe_dump({**yaml.safe_load(APP_TEST_CONFIG.read_text()), "db": str(db),
                                   "work_dir": str(base / "work")}))
    proc = subprocess.run([sys.executable, "-W", "ignore", "-m", "pipeline.run", "--config", str(cfg)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return db


@pytest.fixture
def app(app_db, monkeypatch):
    """``app(page=None)``: the app in Streamlit's AppTest against ``app_db``, switched to
    ``pages/<page>.py`` when given; fails on any exception the page raised."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("RM_ADVISOR_DB", str(app_db))
    monkeypatch.delenv("RM_ADVISOR_BUNDLE", raising=False)

    def open_page(page: str | None = None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
        if page:
            at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_page


@pytest.fixture()
def con():
    """An in-memory DuckDB holding the whole schema (pipeline/sql/*.sql)."""
    import duckdb

    from pipeline import schema

    c = duckdb.connect()
    schema.create_all(c)
    yield c
    c.close()


@contextlib.contextmanager
def streamlit_server(db: Path, log: Path):
    """``streamlit run app.py`` on a free local port against ``db`` (output to ``log``); yields
    (url, process) once it serves, and stops the server on exit. Nothing here depends on timing or on
    a port staying free: the server is ready when its own log names its URL and /_stcore/health answers
    while it runs (not another process that took the port), and a port taken between choosing and
    binding it (other test runs on this machine) is retried with another."""
    import subprocess

    env = {**os.environ, "RM_ADVISOR_DB": str(db)}
    env.pop("RM_ADVISOR_BUNDLE", None)
    for _ in range(5):
        port = _free_port()
        with log.open("w") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                     "--server.address", "localhost", "--server.headless", "true"],
                                    cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
        url = f"http://localhost:{port}"
        try:
            if _serving(proc, url, log):
                yield url, proc
                return
            if not any(words in log.read_text() for words in ("is not available", "already in use")):
                raise AssertionError("streamlit did not start:\n" + log.read_text()[-3000:])
        finally:
            _stop(proc)
    raise AssertionError("streamlit found no free port in 5 tries:\n" + log.read_text()[-3000:])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _serving(proc, url: str, log: Path, hang_s: float = 900) -> bool:
    """Whether ``proc`` came to serve ``url`` (False: it exited first). ``hang_s`` only guards a hang."""
    import time
    import urllib.request

    deadline = time.monotonic() + hang_s
    while proc.poll() is None and time.monotonic() < deadline:
        if url in log.read_text():  # printed once it listens ("Local URL: http://localhost:PORT")
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=30).read() == b"ok":  # noqa: S310 - localhost
                    return proc.poll() is None
            except OSError:
                pass
        time.sleep(0.3)
    if proc.poll() is None:
        raise AssertionError(f"streamlit still not serving after {hang_s:g} s:\n" + log.read_text()[-3000:])
    return False


def _stop(proc) -> None:
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def serve_app():
    """``streamlit_server`` as a fixture: ``with serve_app(db, log) as (url, process): ...``."""
    return streamlit_server
