"""Sequential presence scoring: bootstrap intervals, the stopping rule and its validation on synthetic
Figure-7-like scores (numpy only, no models; the stage's rounds are tested in test_presence_stage.py)."""

import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import norm

from advisor.analyses import divergence
from bench import sequential_simulation as sim
from pipeline.presence import sequential as sq


def test_level_is_bonferroni_over_the_rounds():
    assert sq.RuleConfig(alpha=0.05, max_rounds=6).z == pytest.approx(norm.ppf(1 - 0.05 / 12))
    assert sq.RuleConfig(alpha=0.05, max_rounds=1).z == pytest.approx(1.959964, abs=1e-5)


def test_point_estimates_equal_independent_computations():
    X, strata, subsets, models = sim.synthetic(3000, 3, seed=1)
    rule = sq.RuleConfig(n_boot=50, bins=40, tail=0.01)
    est = sq.estimate(X, strata, subsets, models, rule)
    for s, name in enumerate(subsets):
        for m, model in enumerate(models):
            got = est.means.set_index(["model", "subset"]).loc[(model, name), "mean"]
            assert got == pytest.approx(X[strata == s, m].mean())
    # the JSD over all documents: scipy on numpy histograms over the pooled 1%..99% quantile range
    lo, hi = np.quantile(X.ravel(), [0.01, 0.99])
    h = [np.histogram(np.clip(X[:, m], lo, hi), bins=40, range=(lo, hi))[0] for m in range(3)]
    j = est.jsd.set_index(["model_a", "model_b"]).jsd
    assert j[("m0", "m2")] == pytest.approx(jensenshannon(h[0], h[2], base=2), abs=1e-9)
    assert j[("m2", "m0")] == j[("m0", "m2")] and j[("m1", "m1")] == 0
    assert j[("m0", "m1")] == pytest.approx(divergence.jsd_matrix({"a": X[:, 0], "b": X[:, 1]}, 40, base=2,
                                                                  value_range=(lo, hi)).loc["a", "b"])
    hist = est.hists[(est.hists.model == "m1") & (est.hists.subset == "all")]
    assert hist.density.sum() == pytest.approx(1) and len(hist) == 40


def test_bootstrap_standard_error_matches_the_textbook_one():
    rng = np.random.default_rng(0)
    n = 4000
    X = rng.normal(0, 1.0, (n, 2))
    strata = np.zeros(n, dtype=int)
    est = sq.estimate(X, strata, ["only"], ["a", "b"], sq.RuleConfig(n_boot=400, bins=20))
    se = est.means.set_index(["model", "subset"]).se
    # sd / sqrt(n) for the mean, sqrt(p (1 - p) / n) for a bin: within the bootstrap's own noise
    assert se[("a", "only")] == pytest.approx(X[:, 0].std() / math.sqrt(n), rel=0.15)
    h = est.hists[(est.hists.model == "a") & (est.hists.subset == "only")]
    big = h.loc[h.density.idxmax()]
    assert big.se == pytest.approx(math.sqrt(big.density * (1 - big.density) / n), rel=0.15)
    z = sq.RuleConfig().z
    row = est.means.iloc[0]
    assert row.hi - row["mean"] == pytest.approx(z * row.se)


def test_paired_documents_make_distances_between_close_models_precise():
    """Models scored on the same documents: the JSD interval is far narrower than with independent samples."""
    rng = np.random.default_rng(3)
    base = rng.gamma(2.0, 0.3, 6000)
    X = np.stack([base, base + 0.05 + rng.normal(0, 0.02, 6000)], axis=1)
    rule = sq.RuleConfig(n_boot=100, bins=50)
    paired = sq.estimate(X, np.zeros(6000, int), ["s"], ["a", "b"], rule).jsd
    X2 = np.stack([base, rng.permutation(base) + 0.05], axis=1)  # same marginals, unpaired documents
    unpaired = sq.estimate(X2, np.zeros(6000, int), ["s"], ["a", "b"], rule).jsd
    assert paired.se.max() < 0.8 * unpaired.se.max()


def test_schedule_first_round_growth_and_cap():
    rule = sq.RuleConfig(min_docs_per_subset=2000, max_rounds=5)
    assert sq.first_round_shards(rule, 5, 10_000, 100) == 1  # 10,000 documents
    assert sq.first_round_shards(rule, 5, 3_000, 100) == 4
    assert sq.first_round_shards(sq.RuleConfig(max_rounds=1), 5, 10, 100) == 100  # not sequential: everything
    assert sq.next_round(10, 9.0, 0, rule, 100) == 40  # 9x needed * 1.2 -> capped at 4x
    assert sq.next_round(10, 1.04, 0, rule, 100) == 13  # at least 1.25x
    assert sq.next_round(10, 2.25, 0, rule, 100) == 27  # projected: 2.25 * 1.2 = 2.7x
    assert sq.next_round(10, 2.25, 3, rule, 100) == 100  # round 4 is the last look: the whole corpus
    assert sq.next_round(90, 9.0, 0, rule, 100) == 100


def test_growth_projects_standard_errors_as_root_n_and_the_jsd_bias_as_n():
    X, strata, subsets, models = sim.synthetic(2000, 2, seed=4)
    rule = sq.RuleConfig(n_boot=60, tol_jsd=1.0, tol_hist=1.0, tol_mean=0.001)
    est = sq.estimate(X, strata, subsets, models, rule)
    hw = (rule.z * est.means.se).max()
    assert est.growth == pytest.approx((hw / 0.001) ** 2)  # a mean: (half-width / tolerance)^2
    rule = sq.RuleConfig(n_boot=60, tol_jsd=0.001, tol_hist=1.0, tol_mean=1.0)
    est = sq.estimate(X, strata, subsets, models, rule)
    cell = est.jsd[(est.jsd.model_a == "m0") & (est.jsd.model_b == "m1")].iloc[0]
    a, b = abs(cell.bias), rule.z * cell.se
    x = 1 / math.sqrt(est.growth)  # at n * growth documents: bias / growth + z se / sqrt(growth) = tol
    assert a * x * x + b * x == pytest.approx(0.001)


def test_rule_stops_when_the_widths_are_within_tolerance_and_at_the_cap():
    X, strata, subsets, models = sim.synthetic(4000, 3, seed=0)
    loose = sq.RuleConfig(tol_jsd=0.5, tol_mean=0.5, tol_hist=0.5, min_docs_per_subset=200, n_boot=50)
    est, rounds = sim.simulate(X, strata, subsets, models, loose, docs_per_step=500)
    assert len(rounds) == 1 and rounds[0][3] and rounds[0][2] <= 1 and est.n_docs["all"] == 1000
    strict = sq.RuleConfig(tol_jsd=1e-6, tol_mean=1e-6, tol_hist=1e-6, min_docs_per_subset=200, n_boot=50,
                           max_rounds=4)
    est, rounds = sim.simulate(X, strata, subsets, models, strict, docs_per_step=500)
    assert len(rounds) == 4 and rounds[-1][1] == 20_000 and rounds[-1][3] and rounds[-1][2] > 1
    assert [r[1] for r in rounds] == sorted({r[1] for r in rounds})  # strictly growing prefixes


@pytest.mark.slow  # 100 seeds of the rule (~30 s)
def test_stopping_rule_agrees_with_the_full_corpus_at_the_stated_rate():
    """100 seeds of synthetic Figure-7-like scores (skewed, subset offsets, models a small shift apart):
    the JSD matrix and every presence feature at the stop within the tolerance of the full-corpus values in
    >= 95 of 100 seeds, with far fewer documents. Tolerances 3x the defaults keep this test fast (~9x fewer
    documents); bench/bench_presence_sequential.py runs the defaults at the paper's corpus size."""
    rule = sq.RuleConfig(tol_jsd=0.03, tol_mean=0.06, tol_hist=0.03, min_docs_per_subset=250, n_boot=100)
    agree, used, full = 0, [], None
    for seed in range(100):
        X, strata, subsets, models = sim.synthetic(8_000, 4, seed=seed)
        full = len(X)
        means, jsd = sim.point(X, strata, subsets, models, rule)
        est, rounds = sim.simulate(X, strata, subsets, models, rule, docs_per_step=500)
        got_m = est.means.pivot(index="subset", columns="model", values="mean").loc[subsets]
        got_j = est.jsd.pivot(index="model_a", columns="model_b", values="jsd")
        ok_m = (got_m - means.loc[subsets]).abs().to_numpy().max() <= rule.tol_mean
        ok_j = (got_j - jsd).abs().to_numpy().max() <= rule.tol_jsd
        agree += bool(ok_m and ok_j)
        used.append(rounds[-1][1])
    assert agree >= 95, agree
    assert np.mean(used) <= full / 3, np.mean(used)  # the rule saves documents (bench: >= 10x at paper scale)
