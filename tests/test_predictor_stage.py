"""The predictor stage end to end on the shipped data: ingest, then predictor, on a temporary DB.

A small grid keeps it fast; the numbers it checks do not depend on the grid (gains, Table 1) or only
on the report's structure (predictor keys).
"""

from __future__ import annotations

import json
import uuid

import duckdb
import pandas as pd
import pytest
import yaml

from pipeline import run as pipeline_run


BASE = {"degrees": [1], "alphas": [0.1, 0.01], "l1_ratios": [0.0, 0.5], "cv": 5, "outer_cv": 5,
        "methods": ["regression", "bradley_terry"]}


def _config(tmp, bundle, name, stages=("ingest", "predictor"), **predictor):
    cfg = {"db": str(tmp / "advisor.duckdb"), "data_dir": "data", "work_dir": str(tmp / "work"),
           "stages": list(stages),
           "predictor": {**BASE, "bundle_path": bundle, "reports_dir": str(tmp / f"reports-{name}"),
                         **predictor}}
    path = tmp / f"config-{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory, root):
    tmp = tmp_path_factory.mktemp("predictor_stage")
    bundle = f"data/predictor/_test_{uuid.uuid4().hex}.joblib"
    assert pipeline_run.main(["--config", str(_config(tmp, bundle, "first"))]) == 0
    (tmp / "reports").symlink_to(tmp / "reports-first")
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


# ---------------------------------------------------------------------------------------------
# checkpoints of the searches (work_dir/predictor/*.json)

VOLATILE = {"generated_at", "fit_seconds", "created_at"}  # timings and timestamps


def _rerun(tmp, bundle, capsys, name, **predictor) -> str:
    """Rebuild (ingest + predictor; the database is always rebuilt) with the same work_dir; its log."""
    capsys.readouterr()
    rel = str(bundle.relative_to(bundle.parents[2]))
    path = _config(tmp, rel, name, **predictor)
    assert pipeline_run.main(["--config", str(path)]) == 0
    return capsys.readouterr().out


def _report(tmp, name) -> dict:
    r = json.loads((tmp / f"reports-{name}" / "reproduction.json").read_text())
    for k in VOLATILE:
        r.pop(k, None)
    r["config"].pop("reports_dir")
    return r


def _tables(tmp) -> dict:
    con = duckdb.connect(str(tmp / "advisor.duckdb"), read_only=True)
    try:
        out = {}
        for t in ("predictions_known", "predictor_fits", "predictor_coefficients", "predictor_info"):
            df = con.execute(f"SELECT * FROM {t}").df()
            out[t] = df.drop(columns=[c for c in df.columns if c in VOLATILE])
        return out
    finally:
        con.close()


def _checkpoints(tmp) -> dict:
    return {p.name: p.stat().st_mtime_ns for p in (tmp / "work" / "predictor").glob("*.json")}


def test_rerun_reuses_checkpoints_with_identical_results(built, capsys):
    tmp, bundle = built
    first, tables = _report(tmp, "first"), _tables(tmp)
    before = _checkpoints(tmp)
    assert sorted(n.split("-")[0] for n in before) == ["honest", "search"]
    bundle_mtime = bundle.stat().st_mtime_ns
    log = _rerun(tmp, bundle, capsys, "second")
    assert "honest errors: reused" in log and "bundle grid search: reused" in log
    assert "computed" not in log
    assert _checkpoints(tmp) == before  # not rewritten
    assert bundle.stat().st_mtime_ns > bundle_mtime  # the bundle is still refit and saved
    assert _report(tmp, "second") == first
    again = _tables(tmp)
    for t, df in tables.items():
        pd.testing.assert_frame_equal(again[t], df, check_exact=True, obj=t)
    # the stored nested-CV predictions are the table's, exactly
    cp = json.loads(next((tmp / "work" / "predictor").glob("honest-*.json")).read_text())
    known = tables["predictions_known"].query("method == 'regression' and target == 'score'")
    stored = pd.Series(cp["nested_cv"]["columns"]["prediction"], index=cp["nested_cv"]["index"])
    assert stored.loc[known.hf_id].tolist() == known.oof_prediction.tolist()
    assert len(cp["nested_cv"]["fold_params"]) == 5


def test_config_change_recomputes_only_what_it_affects(built, capsys):
    tmp, bundle = built
    before = _checkpoints(tmp)
    log = _rerun(tmp, bundle, capsys, "outer4", outer_cv=4)
    assert "honest errors: computed" in log and "bundle grid search: reused" in log
    new = set(_checkpoints(tmp)) - set(before)
    assert len(new) == 1 and new.pop().startswith("honest-")
    r = _report(tmp, "outer4")
    assert r["predictor"]["nested_cv_mae"] != _report(tmp, "first")["predictor"]["nested_cv_mae"]
    log = _rerun(tmp, bundle, capsys, "alphas", alphas=[0.1, 0.001])  # the grid: both searches
    assert "honest errors: computed" in log and "bundle grid search: computed" in log


def test_key_follows_data_values_index_and_families():
    from pipeline import predictor_stage as ps

    cfg = ps.PredictorConfig()
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, 0.25, 0.125]}, index=["m1", "m2", "m3"])
    y = pd.Series([10.0, 20.0, 30.0], index=X.index, name="score")
    fam = pd.Series(["f1", "f1", "f2"], index=X.index, name="family")
    key = ps._key("honest", cfg, ps._HONEST_FIELDS, {"X": X, "y": y, "family": fam})
    assert key == ps._key("honest", cfg, ps._HONEST_FIELDS, {"X": X.copy(), "y": y, "family": fam})
    X2 = X.copy()
    X2.iloc[1, 0] = 2.0 + 1e-12
    variants = [{"X": X2, "y": y, "family": fam},
                {"X": X[["b", "a"]], "y": y, "family": fam},
                {"X": X.rename(index={"m3": "m4"}), "y": y, "family": fam},
                {"X": X, "y": y * 1.0000001, "family": fam},
                {"X": X, "y": y, "family": fam.replace("f2", "f1")}]
    keys = {ps._key("honest", cfg, ps._HONEST_FIELDS, d) for d in variants}
    assert key not in keys and len(keys) == len(variants)
    cfg2 = ps.PredictorConfig(outer_cv=5)
    assert ps._key("honest", cfg2, ps._HONEST_FIELDS, {"X": X, "y": y, "family": fam}) != key
    cfg3 = ps.PredictorConfig(n_jobs=1)  # does not affect the fit
    assert ps._key("honest", cfg3, ps._HONEST_FIELDS, {"X": X, "y": y, "family": fam}) == key


def test_corrupt_checkpoints_are_ignored_and_recomputed(built, capsys):
    tmp, bundle = built
    first = _report(tmp, "first")
    for p in (tmp / "work" / "predictor").glob("*.json"):
        if p.name.startswith("search-"):
            p.write_text(p.read_text()[:1000])  # truncated JSON
        elif "outer4" not in p.name:
            d = json.loads(p.read_text())
            d["nested_cv"]["columns"]["prediction"] = d["nested_cv"]["columns"]["prediction"][:-1]
            p.write_text(json.dumps(d))  # valid JSON, wrong content
    log = _rerun(tmp, bundle, capsys, "corrupt")
    assert log.count("ignoring") >= 2
    assert "honest errors: computed" in log and "bundle grid search: computed" in log
    assert _report(tmp, "corrupt") == first
    log = _rerun(tmp, bundle, capsys, "healed")
    assert "honest errors: reused" in log and "bundle grid search: reused" in log


def test_config_errors_name_the_field_and_the_fix():
    from pipeline.errors import InputError
    from pipeline.predictor_stage import PredictorConfig, _check

    with pytest.raises(InputError, match=r"predictor.rm_sources \['pipelines'\]: unknown.*paper, pipeline"):
        _check(PredictorConfig(rm_sources=["pipelines"]), "cfg.yaml")
    with pytest.raises(InputError, match="predictor.rm_sources"):
        _check(PredictorConfig(rm_sources="paper"), "cfg.yaml")  # a string, not a list
    with pytest.raises(InputError, match="unknown feature 'ifevl'.*leaderboard_ifeval"):
        _check(PredictorConfig(features=["ifevl"]), "cfg.yaml")
    _check(PredictorConfig(rm_sources=["pipeline", "paper"]), "cfg.yaml")
