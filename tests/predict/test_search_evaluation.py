"""advisor.predict.search (the search every spec runs, through advisor.predict.specs.fit_spec) against
scikit-learn (bench/sklearn_reference.py), and advisor.predict.shortlist, on small synthetic data (fast grids)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from advisor.core import registry
from advisor.predict import export, search, shortlist, specs
from bench.sklearn_reference import reference_grid_search

FEATS = ["leaderboard_ifeval", "leaderboard_bbh", "params_b"]
SMALL = dict(degrees=(1, 2), alphas=(0.1, 0.01), l1_ratios=(0.0, 0.5, 1.0))


def _spec(**grid) -> specs.Spec:
    """The paper's spec on FEATS with a smaller grid."""
    return dataclasses.replace(specs.get("paper_enet"), inputs=tuple(FEATS), **grid)


def _data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"leaderboard_ifeval": rng.uniform(10, 80, n), "leaderboard_bbh": rng.uniform(5, 50, n),
                      "params_b": rng.uniform(0.5, 14, n)}, index=[f"org/m{i:02d}" for i in range(n)])
    y = 50 + 0.3 * X.leaderboard_ifeval + 0.2 * X.leaderboard_bbh + 0.8 * X.params_b + rng.normal(0, 1, n)
    return X, y.rename("score")


def test_the_search_matches_gridsearchcv():
    X, y = _data()
    fit = specs.fit_spec(_spec(**SMALL), X, y.to_numpy(), cv=5, random_state=3, max_iter=100_000)[0]
    ref = reference_grid_search(X, y, cv=5, random_state=3, n_jobs=1, max_iter=100_000, **SMALL)
    assert {"degree": fit.degree, **fit.params} == {"degree": ref.best_params_["polynomialfeatures__degree"],
                                                     "alpha": ref.best_params_["elasticnet__alpha"],
                                                     "l1_ratio": ref.best_params_["elasticnet__l1_ratio"]}
    assert fit.cv_mae == pytest.approx(-ref.best_score_, rel=1e-3)
    # every configuration, not only the best: mean fold MAE agrees with GridSearchCV
    A = X.to_numpy()
    splits = list(KFold(5, shuffle=True, random_state=3).split(A))
    configs, fold_mae = search.fold_mae(A, y.to_numpy()[:, None], splits, max_iter=100_000, **SMALL)
    ours = pd.DataFrame(configs, columns=["degree", "alpha", "l1_ratio"]).assign(mean_mae=fold_mae[0].mean(axis=0))
    res = pd.DataFrame(ref.cv_results_["params"]).rename(columns=lambda c: c.split("__")[1])
    res["mae"] = -ref.cv_results_["mean_test_score"]
    merged = ours.merge(res, on=["degree", "alpha", "l1_ratio"])
    assert len(merged) == 12
    assert np.allclose(merged.mean_mae, merged.mae, rtol=1e-3)
    # refit equals the reference pipeline refit on all data
    assert np.allclose(fit.predict(X), ref.predict(X.to_numpy()), atol=1e-3)


def test_ridge_closed_form_equals_sklearn_ridge():
    from sklearn.linear_model import Ridge
    rng = np.random.default_rng(0)
    P = rng.normal(size=(20, 6))
    P = (P - P.mean(0)) / P.std(0)
    y = rng.normal(size=20) + 3
    fits, capped = search.fit_configs(P, y, [0.1], [0.0], 1000, 1e-4)
    coef, b = fits[(0.1, 0.0)]
    ref = Ridge(alpha=0.1 * 20).fit(P, y)  # ElasticNet's alpha is per sample
    assert np.allclose(coef, ref.coef_) and b == pytest.approx(ref.intercept_) and capped == 0


def test_conformal_halfwidth():
    r = np.arange(1.0, 10.0)  # 9 residuals: ceil(10 * 0.9) = 9th smallest = 9
    assert search.conformal_halfwidth(r, 0.9) == 9.0
    assert search.conformal_halfwidth(r, 0.5) == 5.0
    assert search.conformal_halfwidth(r, 0.95) == float("inf")


def test_bad_inputs_name_the_problem():
    X, y = _data()
    spec = _spec(**SMALL)
    with pytest.raises(KeyError, match=r"lacks column\(s\) \['params_b'\].*Fix"):
        specs.fit_spec(spec, X.drop(columns="params_b"), y, cv=5)
    Xn = X.copy()
    Xn.iloc[2, 1] = np.nan
    with pytest.raises(ValueError, match="missing values in the training rows"):
        specs.fit_spec(spec, Xn, y, cv=5)
    fit = specs.fit_spec(spec, X, y, cv=5)[0]
    with pytest.raises(ValueError, match="org/m02.*leaderboard_bbh.*Fix"):
        fit.predict(Xn)
    with pytest.raises(KeyError, match="valid names"):
        specs.fit_spec("nope", X, y)


def _served(n=30, seed=0):
    """A served bundle (advisor.predict.bundle) fitted on synthetic base features, regression only."""
    from advisor.predict import bundle as bundle_mod
    from advisor.predict import specs

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(5, 60, size=(n, 6)), columns=list(registry.OLL_V2_TASKS),
                     index=[f"org/m{i:02d}" for i in range(n)])
    X["params_b"] = rng.uniform(0.5, 14, n)
    X["pretrain_tokens_t"] = rng.uniform(2, 18, n)
    y = 50 + 0.3 * X.leaderboard_ifeval + 0.2 * X.leaderboard_bbh + 3 * np.log(X.params_b) \
        + rng.normal(0, 1, n)
    served = {}
    for i, t in enumerate(registry.RM_TARGETS):
        fit = specs.fit_spec("enet_linear_log", X, (y + i).to_numpy(), cv=5)[0]
        served[("regression", t)] = bundle_mod.ServedEntry(fit=fit, spec=fit.name, halfwidth=2.0, skill="skill")
    return bundle_mod.build({"normalized": {"X_train": X, "served": served}}, ["regression"],
                            list(registry.RM_TARGETS), 0.9, "t+1", "h", {}, "now"), X


def test_shortlist_scales_imputation_ranks():
    b, X = _served()
    # the candidate table's contract (advisor.predict.candidates): registry names, checked once upstream
    cands = pd.DataFrame({"hf_id": ["new/full", "new/noifeval", "new/small"],
                          **{f: [X[f].mean()] * 3 for f in X.columns},
                          "leaderboard_ifeval": [55.0, np.nan, 20.0], "leaderboard_bbh": [40.0, 30.0, 10.0],
                          "params_b": [8.0, 7.0, 1.0], "scale": "normalized"})
    out = shortlist.predict_candidates(b, cands)
    assert list(out.columns) == shortlist.OUTPUT_COLUMNS
    row = out.set_index("hf_id")
    assert row.loc["new/noifeval", "imputed"] == ["leaderboard_ifeval"]
    assert row.loc["new/full", "imputed"] == [] and not row.fallback.any()
    assert list(out["rank"]) == [1, 2, 3] and out.prediction.is_monotonic_decreasing
    for _, r in out.iterrows():
        assert r.rank_upper == 1 + int((out.lower > r.upper).sum())
        assert len(r.nearest_known) == 3 and set(r.nearest_known) <= set(X.index)
    assert row.loc["new/noifeval", "widened"] and not row.loc["new/full", "widened"]
    with pytest.raises(ValueError, match="only 'impute'"):
        shortlist.predict_candidates(b, cands, missing="fallback")
    raw = cands.assign(scale="raw", leaderboard_ifeval=[0.7, np.nan, 0.2], leaderboard_bbh=[0.4, 0.3, 0.1])
    with pytest.raises(ValueError, match="scale 'raw' but the predictor serves \\['normalized'\\]"):
        shortlist.predict_candidates(b, raw)
    with pytest.raises(ValueError, match="outside"):
        shortlist.predict_candidates(b, cands.assign(leaderboard_ifeval=[170.0, 1, 1]))
    # a size is never imputed: a row without one (or marked not ranked) never reaches prediction
    with pytest.raises(ValueError, match="'new/small': no params_b, and a size is never imputed"):
        shortlist.predict_candidates(b, cands.assign(params_b=[8.0, 7.0, -1.0]))
    with pytest.raises(ValueError, match="'new/full': not ranked"):
        shortlist.predict_candidates(b, cands.assign(not_ranked=["size unknown: add Params (B)", "", ""]))
    csv = export.export_shortlist(out, "csv", b.version, b.interval_level)
    assert csv.splitlines()[0].startswith("predictor_version,interval_level,hf_id") and b.version in csv
    assert '"predictor_version"' in export.export_shortlist(out, "json", b.version, b.interval_level)
    md = export.export_shortlist(out, "markdown", b.version, b.interval_level)
    assert b.version in md and md.count("\n| ") == 4  # the header and the three rows


def test_multi_target_search_equals_single_target_searches():
    X, y = _data()
    Y = np.column_stack([y.to_numpy(), 2 * y.to_numpy() + np.sin(np.arange(len(y)))])
    spec = _spec(degrees=(1, 2), alphas=(0.1, 0.001), l1_ratios=(0.0, 0.5, 1.0))
    both = specs.fit_spec(spec, X, Y, cv=5)
    splits = list(KFold(5, shuffle=True, random_state=0).split(X))
    _, maes = search.fold_mae(X.to_numpy(), Y, splits, spec.degrees, spec.alphas, spec.l1_ratios)
    for t in range(2):
        one = specs.fit_spec(spec, X, Y[:, t], cv=5)[0]
        assert (both[t].degree, both[t].params) == (one.degree, one.params)
        assert both[t].cv_mae == pytest.approx(one.cv_mae, rel=1e-10)
        assert both[t].cv_se == pytest.approx(one.cv_se, rel=1e-8)
        assert np.allclose(both[t].predict(X), one.predict(X), rtol=1e-10)
        _, alone = search.fold_mae(X.to_numpy(), Y[:, [t]], splits, spec.degrees, spec.alphas, spec.l1_ratios)
        assert np.allclose(maes[t], alone[0], rtol=1e-10, atol=1e-12)
    assert both[0].params != both[1].params or both[0].degree != both[1].degree or \
        not np.allclose(both[0].coef, both[1].coef)  # two different targets, two different fits


def test_unconverged_fits_are_counted_by_the_task_and_silenced_by_the_search():
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    X, y = _data()
    A, Y = X.to_numpy(), y.to_numpy()[:, None]
    train, test = next(KFold(5, shuffle=True, random_state=0).split(A))
    grid = dict(alphas=(0.001, 0.0001), l1_ratios=(0.5, 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        (_, capped), = search.fold_task(A, Y, train, test, 2, max_iter=3, tol=1e-4, **grid)
    assert 0 < capped <= 4  # 3 sweeps: most of the 4 Elastic Net fits stop unconverged
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fit = specs.fit_spec(_spec(degrees=(2,), **grid), X, y, cv=5, max_iter=3)[0]
    assert not [w for w in seen if issubclass(w.category, ConvergenceWarning)]
    assert np.isfinite(fit.predict(X)).all() and np.isfinite(fit.cv_mae)


def test_impute_rows_projects_each_row_independently():
    rng = np.random.default_rng(5)
    u, v = rng.normal(size=(30, 2)), rng.normal(size=(2, 6))
    M = pd.DataFrame(u @ v + 5, columns=list("abcdef"))
    rows = M.iloc[:4].copy()
    truth = rows.copy()
    rows.iloc[0, 1] = np.nan
    rows.iloc[1, [0, 4]] = np.nan
    rows.iloc[2, 1] = np.nan  # same pattern as row 0: solved together
    from advisor.predict import impute
    filled = impute.impute_rows(rows, M.iloc[4:], rank=2)
    assert np.allclose(filled.to_numpy(), truth.to_numpy(), atol=1e-8)  # exact on a rank-2 matrix
    alone = impute.impute_rows(rows.iloc[[1]], M.iloc[4:], rank=2)
    assert np.allclose(alone.to_numpy(), filled.iloc[[1]].to_numpy())  # rows do not influence each other
    assert filled.iloc[3].equals(truth.iloc[3])  # complete rows untouched


def test_shortlist_clamps_extrapolation_and_flags_the_domain():
    b, X = _served()
    lo, hi = X.min(), X.max()
    inside = {f: (lo[f] + hi[f]) / 2 for f in X.columns}
    huge = {**inside, "params_b": hi["params_b"] * 12}  # like a 123B model against a 10B training set
    at_edge = {**inside, "params_b": hi["params_b"]}
    cands = pd.DataFrame([{"hf_id": "new/inside", **inside}, {"hf_id": "new/huge", **huge},
                          {"hf_id": "new/edge", **at_edge}]).assign(scale="normalized")
    out = shortlist.predict_candidates(b, cands).set_index("hf_id")
    assert out.loc["new/huge", "extrapolated"] == ["params_b"] and not out.loc["new/huge", "in_domain"]
    assert out.loc["new/inside", "extrapolated"] == [] and out.loc["new/inside", "in_domain"]
    # clamped: the 12x model is predicted exactly as the model at the edge of the training range
    assert out.loc["new/huge", "prediction"] == pytest.approx(out.loc["new/edge", "prediction"])
    # ... and its interval also covers the unclamped prediction
    assert out.loc["new/huge", "widened"] and not out.loc["new/edge", "widened"]
    assert out.loc["new/huge", "upper"] > out.loc["new/edge", "upper"]
    assert ((out[["prediction", "lower", "upper"]] >= 0) & (out[["prediction", "lower", "upper"]] <= 100)).all().all()
    # a known model is inside its own domain
    known = X.iloc[[0]].reset_index().rename(columns={"index": "hf_id"}).assign(scale="normalized")
    assert shortlist.predict_candidates(b, known).in_domain.all()


def test_usable_candidates_split_by_scale_and_size_budget_keeping_unknown_sizes():
    c = pd.DataFrame({"hf_id": ["a", "b", "c", "d"], "scale": ["normalized", "raw", "normalized", "normalized"],
                      "params_b": [7.0, 7.0, 70.0, float("nan")], "source": ["t", "u", "t", "t"]})
    usable, wrong, outside = shortlist.usable_candidates(c, "normalized", (0.5, 10))
    assert usable.hf_id.tolist() == ["a", "d"] and wrong.hf_id.tolist() == ["b"] and outside.hf_id.tolist() == ["c"]
    usable, _, outside = shortlist.usable_candidates(c.drop(columns="params_b"), "normalized", (0.5, 10))
    assert usable.hf_id.tolist() == ["a", "c", "d"] and outside.empty


def test_the_batched_elastic_net_is_exact_and_its_warm_start_only_saves_steps():
    """advisor.predict.enet against scikit-learn's coordinate descent run to a tight tolerance, on
    correlated inputs where supports change along the alpha path (the case an unsafeguarded
    primal-dual active-set method cycles on)."""
    from sklearn.linear_model import enet_path

    from advisor.predict import enet

    rng = np.random.default_rng(7)
    n, p = 36, 8
    Z = rng.normal(size=(n, 2)) @ rng.normal(size=(2, p)) + 0.3 * rng.normal(size=(n, p))  # correlated
    P = (Z - Z.mean(0)) / Z.std(0)
    P[:, 5] = 0.0  # a constant input: its coefficient stays 0
    Y = (P[:, :3] @ [2.0, -1.0, 0.5])[:, None] + rng.normal(0, 1, (n, 4))
    Yc = Y - Y.mean(0)
    G, g = P.T @ P / n, (P.T @ Yc / n).T
    for r in (0.5, 1.0):
        for a in (1.0, 0.3, 0.1, 0.01):
            H = np.repeat((G + a * (1 - r) * np.eye(p))[None], 4, axis=0)
            cold = enet.solve(H, g, np.full(4, a * r))
            warm = enet.solve(H, g, np.full(4, a * r), w0=np.sign(rng.normal(size=(4, p))))  # any signs
            assert np.allclose(cold.w, warm.w, atol=1e-10) and cold.slow == warm.slow == 0
            for t in range(4):
                _, ref, _ = enet_path(P, Yc[:, t], l1_ratio=r, alphas=[a], max_iter=1_000_000, tol=1e-14)
                assert np.allclose(cold.w[t], ref[:, 0], atol=1e-8)
            assert (cold.w[:, 5] == 0).all()


def test_repeated_inner_cv_equals_the_per_split_search_of_each_seed():
    """The batched degree-1 search over 3 seeds x 5 folds gives every split's MAE of the per-split
    (scikit-learn) search, and SpecSearch averages and splits them by seed."""
    X, y = _data()
    spec = dataclasses.replace(specs.get("enet_linear_log"), inputs=("leaderboard_ifeval", "leaderboard_bbh",
                                                                     "log_params_b"))
    s = specs.search_spec(spec, X, y.to_numpy(), cv=5, random_state=2, seeds=3)
    A = specs.input_frame(X, spec.inputs).to_numpy()
    for r in range(3):
        splits = list(KFold(5, shuffle=True, random_state=2 + r).split(A))
        ref = search._fold_mae_per_split(A, y.to_numpy()[:, None], splits, 1, spec.alphas, spec.l1_ratios,
                                         1_000_000, 1e-12)
        assert np.allclose(s.fold_mae[0, r], ref[0], atol=1e-6)
        one = specs.fit_spec(spec, X, y.to_numpy(), cv=5, random_state=2 + r)[0]
        assert one.params == s.fit(0, seed=r).params and one.cv_mae == pytest.approx(s.fit(0, seed=r).cv_mae)
    assert s.stats(0, s.choice(0))[0] == pytest.approx(s.fold_mae[0, :, :, s.choice(0)].mean())


def test_the_subset_search_equals_one_linear_search_per_subset():
    """search.linear_search_subsets (the reduced specs of every partial-input pattern at once) against
    search.linear_search on each column subset alone: the same fold MAEs and fits on all rows, to
    rounding, also with two exactly collinear columns (a singular face without an L2 term)."""
    rng = np.random.default_rng(7)
    n = 40
    z = rng.normal(size=n)
    A = np.column_stack([z + 0.3 * rng.normal(size=n) for _ in range(4)] + [2 * z + 1, rng.uniform(0, 3, n)])
    A[:, 3] = 0.5 * A[:, 0] - 2  # collinear with column 0
    Y = np.column_stack([3 * z + rng.normal(size=n), A[:, 5] + 0.2 * rng.normal(size=n)])
    splits = [s for seed in range(3) for s in KFold(5, shuffle=True, random_state=seed).split(A)]
    grid = dict(alphas=(1.0, 0.1, 0.01), l1_ratios=(0.0, 0.5, 1.0))
    subsets = [(5,), (0, 5), (3, 0, 5), (1, 2, 4, 5), (0, 1, 2, 3, 4, 5), (4, 1)]
    got = search.linear_search_subsets(A, Y, splits, subsets=subsets, **grid)
    for cols, (full, mae) in zip(subsets, got):
        want_full, want_mae = search.linear_search(A[:, list(cols)], Y, splits, **grid)
        if 0 in cols and 3 in cols:  # not unique without L2: the fold errors agree, not the coefficients
            np.testing.assert_allclose(mae, want_mae, rtol=1e-6, atol=1e-6)
            continue
        np.testing.assert_allclose(mae, want_mae, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(full.coef, want_full.coef, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(full.mean, want_full.mean)
        np.testing.assert_allclose(full.scale, want_full.scale)
