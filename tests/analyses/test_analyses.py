"""advisor.analyses.correlation / coverage / gains / posttraining / pca / impute on hand-checkable inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from advisor.analyses import correlation, coverage, gains, pca, posttraining
from advisor.predict import impute


# --- correlation ---------------------------------------------------------------------------------
def test_correlation_matches_scipy_with_pairwise_n():
    rng = np.random.default_rng(0)
    idx = [f"m{i}" for i in range(30)]
    F = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)}, index=idx)
    T = pd.DataFrame({"score": F.a * 2 + rng.normal(size=30)}, index=idx)
    F.loc[idx[:5], "b"] = np.nan  # b has only 25 models
    for method, ref in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr)):
        t = correlation.correlation_table(F, T, method=method).set_index("feature")
        for f in ("a", "b"):
            ok = F[f].notna()
            r, p = ref(F.loc[ok, f], T.loc[ok, "score"])
            assert t.loc[f, "r"] == pytest.approx(r, abs=1e-12)
            assert t.loc[f, "p_value"] == pytest.approx(p, rel=1e-6)
        assert t.loc["a", "n"] == 30 and t.loc["b", "n"] == 25
        assert t.loc["b", "t_critical"] == pytest.approx(stats.t.ppf(0.975, 23))
        assert t.loc["a", "significant"] == bool(t.loc["a", "p_value"] < 0.05)


def test_eq8_statistic_and_critical_r():
    x = pd.Series([1.0, 2, 3, 4, 5])
    y = pd.Series([2.0, 1, 4, 3, 5])  # r = 0.8
    res = correlation.correlation_test(x, y)
    assert res["r"] == pytest.approx(0.8)
    assert res["t_stat"] == pytest.approx(0.8 * np.sqrt(3) / 0.6)
    assert correlation.critical_r(40) == pytest.approx(0.312, abs=5e-4)
    assert correlation.critical_r(39) == pytest.approx(0.316, abs=5e-4)  # the paper's "0.316"
    # at exactly the critical r the statistic equals the critical t
    rc = correlation.critical_r(12)
    assert rc * np.sqrt(10) / np.sqrt(1 - rc ** 2) == pytest.approx(stats.t.ppf(0.975, 10))


def test_correlation_constant_column_is_nan_not_error():
    res = correlation.correlation_test([1, 1, 1, 1], [1, 2, 3, 4])
    assert np.isnan(res["r"]) and res["significant"] is False


# --- coverage ------------------------------------------------------------------------------------
def test_coverage_two_known_rankings():
    idx = list("abcdefghij")
    truth = pd.Series(range(10, 0, -1), index=idx, dtype=float)  # a best ... j worst
    pred = pd.Series([10, 9, 1, 8, 2, 7, 3, 6, 4, 5], index=idx, dtype=float)
    # top-2: {a,b} vs {a,b} -> 1; top-3: {a,b,d} vs {a,b,c} -> 2/3; top-5: {a,b,d,f,h} vs a..e -> 3/5
    assert coverage.coverage_at_k(pred, truth, 2) == 1.0
    assert coverage.coverage_at_k(pred, truth, 3) == pytest.approx(2 / 3)
    assert coverage.coverage_at_k(pred, truth, 5) == pytest.approx(3 / 5)
    assert coverage.coverage_at_k(pred, truth, 10) == 1.0


def test_coverage_ties_break_by_label_and_missing_dropped():
    truth = pd.Series({"b": 5.0, "a": 5.0, "c": 1.0, "d": np.nan})
    pred = pd.Series({"a": 1.0, "b": 2.0, "c": 3.0, "d": 9.0})
    assert coverage.top_k(truth, 1) == ["a"]  # tie a/b -> alphabetical
    assert coverage.coverage_at_k(pred, truth, 1) == 0.0  # pred top-1 c (d has no truth)
    with pytest.raises(ValueError, match="only 3 models"):
        coverage.coverage_at_k(pred, truth, 4)


def test_coverage_curves_and_filter():
    idx = [f"m{i:02d}" for i in range(12)]
    truth = pd.Series(np.arange(12, 0, -1), index=idx, dtype=float)
    F = pd.DataFrame({"perfect": truth, "reversed": -truth}, index=idx)
    curves = coverage.coverage_curves(F, truth, ks=range(5, 11))
    assert set(curves[curves.feature == "perfect"].coverage) == {1.0}
    assert curves[(curves.feature == "reversed") & (curves.k == 5)].coverage.item() == 0.0
    assert coverage.passing(curves) == ["perfect"]
    assert coverage.mean_coverage(curves).index[0] == "perfect"


def test_coverage_filter_thresholds_are_inclusive():
    """The Benchmarks page's sliders: a feature passes with coverage >= each threshold (k = 5 and 10)."""
    curves = pd.DataFrame({"feature": ["a", "a", "b", "b", "c", "c"], "k": [5, 10] * 3,
                           "coverage": [0.4, 0.7, 0.6, 0.5, 0.2, 0.9]})
    assert coverage.passing(curves) == ["a"]  # the paper's 0.4 / 0.7, met exactly
    assert coverage.passing(curves, min_k5=0.2, min_k10=0.5) == ["a", "b", "c"]
    assert coverage.passing(curves, min_k5=0.5, min_k10=0.0) == ["b"]
    assert coverage.passing(curves, min_k5=0.0, min_k10=0.8) == ["c"]
    assert coverage.passing(curves, min_k5=1.0, min_k10=1.0) == []
    assert coverage.passing(curves[curves.k == 5]) == []  # no k = 10 curve: nothing can pass


# --- gains (paper Fig. 2) --------------------------------------------------------------------------
def test_gains_reproduce_paper_range(paper_rm):
    g = gains.gains_per_size_group(paper_rm)
    assert len(g) == 6
    assert gains.gains_range(g) == (3.1, 14.3)
    row = g[(g.method == "regression") & (g.size_group == ">=6B")].iloc[0]
    assert row.baseline_hf_id == "meta-llama/Llama-3.1-8B-Instruct" and row.baseline_score == 83.2
    assert row.gain_points == pytest.approx(row.best_score - 83.2)
    # every group against a naive loop over the paper's rows: best model minus the group's Llama-3.x model
    base = {"<3B": "meta-llama/Llama-3.2-1B-Instruct", "3-6B": "meta-llama/Llama-3.2-3B-Instruct",
            ">=6B": "meta-llama/Llama-3.1-8B-Instruct"}
    for _, r in g.iterrows():
        rows = [x for x in paper_rm.itertuples() if x.method == r.method and x.size_group == r.size_group]
        best = max(rows, key=lambda x: x.score)
        baseline = next(x.score for x in rows if x.hf_id == base[r.size_group])
        assert (r.best_hf_id, r.gain_points) == (best.hf_id, pytest.approx(best.score - baseline))


def test_gains_hand_example_and_missing_baseline():
    rm = pd.DataFrame({"hf_id": ["meta-llama/Llama-3.2-1B-Instruct", "x/a", "x/b"],
                       "method": "regression", "score": [60.0, 70.5, 70.5], "size_group": "<3B"})
    g = gains.gains_per_size_group(rm)
    assert g.best_hf_id.item() == "x/a" and g.gain_points.item() == pytest.approx(10.5)
    with pytest.raises(ValueError, match="baseline"):
        gains.gains_per_size_group(rm.iloc[1:])


def test_chance_coverage_is_the_mean_over_every_random_ranking():
    """k/n, against brute force: the mean of eq. 9 over all 720 orders of 6 models (no tie-break at play)."""
    from itertools import permutations

    truth = pd.Series([6.0, 5, 4, 3, 2, 1], index=list("abcdef"))
    ks = [1, 2, 3, 5]
    brute = {k: np.mean([coverage.coverage_at_k(pd.Series(np.array(order, float), index=truth.index), truth, k)
                         for order in permutations(range(6))]) for k in ks}
    got = coverage.chance_coverage([*ks, 7], n=6).set_index("k")["coverage"]
    assert list(got.index) == ks  # k above n skipped
    assert got.to_dict() == pytest.approx(brute) and got[3] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least one model"):
        coverage.chance_coverage([1], n=0)


# --- post-training (Table 1) and BT vs regression ---------------------------------------------
PAPER_T1 = {"Llama-3.1-8B-Instruct": [1.5, 27.0, 30.8, 7.1, 14.1],
            "Hermes-3-Llama-3.1-8B": [1.7, 32.8, 29.5, -6.4, 11.2],
            "Llama-3.1-Tulu-3-8B-SFT": [1.5, 31.8, 31.2, 8.5, 15.5],
            "Llama-3.1-Tulu-3-8B-DPO": [0.9, 28.7, 27.2, 1.3, 11.9],
            "Llama-3.1-Tulu-3-8B": [-0.6, 22.2, 29.1, -0.8, 10.0]}


def test_table1_deltas_equal_paper(root):
    d = posttraining.table1_deltas(pd.read_csv(root / "data/paper/post_training.csv")).set_index("model")
    for model, vals in PAPER_T1.items():
        assert d.loc[model, list(posttraining.CATEGORIES)].tolist() == vals, model


def test_table1_has_the_base_row_and_a_delta_column_after_each_category(root):
    """As the paper prints Table 1 (its text, PAPER_T1): base first with its scores and no Δ, then the deltas."""
    t = posttraining.table1(pd.read_csv(root / "data/paper/post_training.csv"))
    assert list(t.columns) == ["model", "stage", "chat", "chat_delta_pct", "chat_hard", "chat_hard_delta_pct",
                               "safety", "safety_delta_pct", "reasoning", "reasoning_delta_pct", "score",
                               "score_delta_pct"]
    base = t.iloc[0]
    assert (base["model"], base["stage"]) == ("Llama-3.1-8B", "base")
    assert [base[c] for c in posttraining.CATEGORIES] == [93.9, 53.7, 64.7, 79.1, 72.9]
    assert base[[posttraining.delta_column(c) for c in posttraining.CATEGORIES]].isna().all()
    rest = t.iloc[1:].set_index("model")
    assert list(rest.index) == list(PAPER_T1)
    for model, vals in PAPER_T1.items():
        assert rest.loc[model, [posttraining.delta_column(c) for c in posttraining.CATEGORIES]].tolist() == vals
    assert rest.loc["Hermes-3-Llama-3.1-8B", "reasoning"] == 74.0


def test_table1_needs_one_base_and_bt_difference():
    with pytest.raises(ValueError, match="exactly one"):
        posttraining.table1_deltas(pd.DataFrame({"model": ["a"], "stage": ["sft"], "score": [1.0]}))
    rm = pd.DataFrame({"hf_id": ["m", "m"], "method": ["regression", "bradley_terry"],
                       "score": [80.0, 70.0], "chat": [90.0, 95.0]})
    d = posttraining.bt_vs_regression(rm).set_index("category")
    assert d.loc["score", "difference"] == 10.0 and d.loc["chat", "difference"] == -5.0


# --- PCA and imputation --------------------------------------------------------------------------
def test_pca_matches_sklearn_and_rank_one():
    from sklearn.decomposition import PCA
    rng = np.random.default_rng(1)
    M = pd.DataFrame(rng.normal(size=(20, 4)), columns=list("abcd"))
    ratio, load = pca.pca_summary(M)
    Z = (M - M.mean()) / M.std(ddof=0)
    ref = PCA().fit(Z)
    assert np.allclose(ratio.to_numpy(), ref.explained_variance_ratio_)
    assert np.allclose(np.abs(load.to_numpy()), np.abs(ref.components_.T))
    t = np.arange(10.0)
    r1, _ = pca.pca_summary(pd.DataFrame({"x": t, "y": 3 * t + 1, "z": -t}))
    assert r1.iloc[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="impute"):
        pca.pca_summary(pd.DataFrame({"x": [1.0, np.nan, 2], "y": [1.0, 2, 3]}))


def test_impute_recovers_low_rank_cell():
    rng = np.random.default_rng(2)
    u, v = rng.normal(size=(15, 1)), rng.normal(size=(1, 5))
    M = pd.DataFrame(u @ v + 10, columns=list("abcde"))
    truth = M.iloc[3, 2]
    holed = M.copy()
    holed.iloc[3, 2] = np.nan
    filled = impute.impute_lowrank(holed, rank=1)
    assert filled.iloc[3, 2] == pytest.approx(truth, abs=1e-3)
    assert (filled.drop(index=3) == M.drop(index=3)).all().all()  # observed cells untouched
    row = impute.impute_rows(holed.iloc[[3]], M.drop(index=3), rank=1)
    assert row.iloc[0, 2] == pytest.approx(truth, abs=1e-3)
