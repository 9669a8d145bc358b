"""Issue 27, item 1: every analysis of the build runs behind one guard (``pipeline.predictor.analyses.guarded``).

One that fails is listed with its reason in ``skipped_analyses``, the report's "Skipped analyses" and the
Evidence page, and the build publishes the rest: here every paper analysis fails at once (a reduced CV
protocol keeps the build to seconds), and the served predictor is still published and predicts.
"""

from __future__ import annotations

import duckdb
import pytest
import yaml

from advisor.analyses import correlation, coverage, gains, pca, posttraining
from advisor.predict import bundle as bundle_mod
from pipeline import run as pipeline_run

REDUCED = {"repeats": 0, "folds": 5, "cv": 5, "inner_seeds": 1, "n_boot": 100, "partial_evidence": False}
ANALYSES = {"correlations": (correlation, "correlation_table"), "coverage": (coverage, "coverage_curves"),
            "pca": (pca, "pca_summary"), "gains": (gains, "gains_per_size_group"),
            "post_training_deltas": (posttraining, "table1_deltas")}


def config(tmp, data_dir, stages=("ingest", "predictor", "transfer"), **predictor):
    """A config building into ``tmp`` from ``data_dir`` with the REDUCED protocol (and ``predictor``)."""
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump({
        "db": str(tmp / "advisor.duckdb"), "data_dir": str(data_dir), "work_dir": str(tmp / "work"),
        "stages": list(stages), "predictor": {**REDUCED, "reports_dir": str(tmp / "reports"), **predictor}}))
    return path


def query(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.mark.slow
def test_every_failing_analysis_is_skipped_with_its_reason_and_the_build_publishes(tmp_path, root, monkeypatch):
    def broken(name):
        def fail(*args, **kwargs):
            raise RuntimeError(f"{name} broke on purpose")
        return fail

    for name, (module, function) in ANALYSES.items():
        monkeypatch.setattr(module, function, broken(name))
    assert pipeline_run.main(["--config", str(config(tmp_path, root / "data"))]) == 0
    db = tmp_path / "advisor.duckdb"
    skipped = query(db, "SELECT * FROM skipped_analyses").set_index("analysis").reason
    for name in ANALYSES:
        assert skipped[name] == f"RuntimeError: {name} broke on purpose"
    md = (tmp_path / "reports" / "reproduction.md").read_text()
    assert "## Skipped analyses" in md and "- pca: RuntimeError: pca broke on purpose" in md
    assert len(query(db, "SELECT * FROM predictor_served")) == 20  # the rest is published
    assert bundle_mod.load_bundle(db).scales == ["normalized", "raw"]


def test_a_failing_presence_regression_is_a_skipped_row_with_its_reason(monkeypatch):
    """The presence stage's regression experiment runs behind the same guard: its table holds the reason
    (the Pre-training data page shows it) and the stage goes on to store it."""
    from types import SimpleNamespace

    from pipeline.presence import stage

    def fail(*args):
        raise RuntimeError("no GPU scores")

    monkeypatch.setattr(stage, "_regression", fail)
    logged = []
    out = stage._guarded_regression(SimpleNamespace(log=logged.append), None, None, None)
    assert out.to_dict("records")[0] | {"mae": None, "mae_change": None} == {
        "cv": "nested", "features": "base+presence", "n_models": 0, "mae": None, "mae_change": None,
        "status": "skipped", "note": "RuntimeError: no GPU scores"}
    assert logged == ["  skipped presence regression: RuntimeError: no GPU scores"]
