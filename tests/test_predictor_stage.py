"""The predictor stage end to end on the shipped data: ingest, then predictor, on a temporary DB.

A small grid keeps it fast; the numbers it checks do not depend on the grid (gains, Table 1) or only
on the report's structure (predictor keys).
"""

from __future__ import annotations

import json
import uuid

import duckdb
import pytest
import yaml

from pipeline import run as pipeline_run


@pytest.fixture(scope="module")
def built(tmp_path_factory, root):
    tmp = tmp_path_factory.mktemp("predictor_stage")
    bundle = f"data/predictor/_test_{uuid.uuid4().hex}.joblib"
    cfg = {"db": str(tmp / "advisor.duckdb"), "data_dir": "data", "work_dir": str(tmp / "work"),
           "stages": ["ingest", "predictor"],
           "predictor": {"degrees": [1], "alphas": [0.1, 0.01], "l1_ratios": [0.0, 0.5], "cv": 5,
                         "outer_cv": 5, "methods": ["regression", "bradley_terry"],
                         "bundle_path": bundle, "reports_dir": str(tmp / "reports")}}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert pipeline_run.main(["--config", str(path)]) == 0
    yield tmp, root / bundle
    (root / bundle).unlink(missing_ok=True)


def test_tables_and_bundle(built):
    tmp, bundle = built
    assert bundle.is_file()
    con = duckdb.connect(str(tmp / "advisor.duckdb"), read_only=True)
    try:
        info = con.execute("SELECT bundle_path, n_models, nested_cv_mae, lofo_mae FROM predictor_info").fetchall()
        assert len(info) == 1 and info[0][1] == 40 and info[0][2] > 0 and info[0][3] > 0
        assert con.execute("SELECT count(*) FROM predictor_fits").fetchone()[0] == 10
        n = con.execute("SELECT count(*) FROM predictions_known WHERE method = 'regression' AND "
                        "target = 'score' AND oof_prediction IS NOT NULL").fetchone()[0]
        assert n == 40
        g = con.execute("SELECT min(gain_points), max(gain_points) FROM gains").fetchone()
        assert (round(g[0], 1), round(g[1], 1)) == (3.1, 14.3)
        c = con.execute("SELECT n, t_critical FROM correlations WHERE feature = 'leaderboard_ifeval' AND "
                        "target = 'score' AND rm_method = 'regression' AND corr_method = 'pearson'").fetchone()
        assert c[0] == 40 and c[1] == pytest.approx(2.024, abs=1e-3)
        assert con.execute("SELECT count(DISTINCT k) FROM coverage_curves").fetchone()[0] == 26
        ratio = con.execute("SELECT sum(value) FROM pca WHERE kind = 'explained_ratio'").fetchone()[0]
        assert ratio == pytest.approx(1.0)
    finally:
        con.close()


def test_report_keys_and_paper_numbers(built):
    tmp, _ = built
    r = json.loads((tmp / "reports" / "reproduction.json").read_text())
    assert r["gains_range"] == [3.1, 14.3]
    assert set(r["gains_points"]) == {"regression", "bradley_terry"}
    assert r["table1_matches_paper"] is True
    assert r["table1_delta_pct"]["Hermes-3-Llama-3.1-8B"]["reasoning"] == -6.4
    p = r["predictor"]
    for key in ("method", "features", "cv_mae", "nested_cv_mae", "lofo_mae", "coverage_top5",
                "coverage_top10", "best_single_coverage_top5", "best_single_coverage_top10",
                "interval_level", "interval_empirical_coverage"):
        assert key in p and p[key] is not None, key
    assert 0 <= p["coverage_top5"] <= 1 and p["interval_level"] == 0.9
    assert 0 < r["pca_top5_variance"] <= 1 and r["fit_seconds"] > 0
    md = (tmp / "reports" / "reproduction.md").read_text()
    assert "3.1 .. 14.3" in md and "nested-CV MAE" in md
