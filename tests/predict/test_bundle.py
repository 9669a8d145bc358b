"""advisor/predict/bundle.py: the served record (``ServedEntry``) and targets addressed by (method, target)
pairs, through the bundle's JSON (format 2, whose labels stay ``"method/target"``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from advisor.core import registry
from advisor.predict import bundle as bundle_mod
from advisor.predict import partial, specs

TASKS = list(registry.OLL_V2_TASKS)
METHODS = ["regression", "bradley_terry"]
TARGETS = ["score", "chat"]


def _data(n=36, seed=3):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(5, 60, size=(n, 6)), columns=TASKS, index=[f"org{i % 6}/m{i}" for i in range(n)])
    X["params_b"] = np.exp(rng.uniform(np.log(0.5), np.log(12), n))
    X["pretrain_tokens_t"] = rng.uniform(2, 18, n)
    lineage = pd.Series([f"L{i % 6}" for i in range(n)], index=X.index)
    # four different targets: regression's follow the size, bradley_terry's the mean of the tasks
    Y = pd.DataFrame({("regression", "score"): 50 + 4 * np.log(X.params_b),
                      ("regression", "chat"): 60 + 2 * np.log(X.params_b),
                      ("bradley_terry", "score"): 20 + 0.8 * X[TASKS].mean(axis=1),
                      ("bradley_terry", "chat"): 30 + 0.5 * X[TASKS].mean(axis=1)}) + rng.normal(0, 0.3, (n, 4))
    Y.columns = pd.MultiIndex.from_tuples(Y.columns, names=["method", "target"])
    return X, Y, lineage


def _entry(X, y, **evidence) -> bundle_mod.ServedEntry:
    fit = specs.fit_spec("ridge_log_params", X, y.to_numpy(), cv=5)[0]
    return bundle_mod.ServedEntry(fit=fit, spec=fit.name, skill="skill", halfwidth=1.5, **evidence)


def _bundle(X, Y, lineage, served) -> bundle_mod.ServedBundle:
    return bundle_mod.build({"normalized": {"X_train": X, "served": served, "Y_train": Y, "lineage": lineage}},
                            METHODS, TARGETS, 0.9, "t+1", "h", {}, "now",
                            procedure={"candidates": ["ridge_log_params"], "cv": 5, "random_state": 0})


def test_a_served_entry_round_trips_through_the_bundle_json_with_every_field():
    X, Y, lineage = _data()
    evidence = dict(halfwidth_lineage_out=2.5, nested_mae_mean=2.5, nested_mae_sd=0.1, lineage_out_mae=2.9,
                    spearman=0.8, coverage_top5=0.6, coverage_top10=0.7, interval_protocol="nested",
                    interval_coverage=0.9, interval_coverage_lo=0.8, interval_coverage_hi=0.95, mean_baseline_mae=6.0,
                    size_baseline_mae=4.0, skill_diff=-3.0, skill_diff_lo=-4.0, skill_diff_hi=-2.0, n_models=36,
                    n_lineages=6, selection="outer", inner_seeds=20, lineage_out_mae_sd=0.1,
                    lineage_out_mae_seed_mean=3.0, lineage_out_spearman_sd=0.02, lineage_out_spearman_seed_mean=0.79,
                    vs_size={"diff": -0.9, "lo": -1.5, "hi": -0.3}, lineage_out_interval_coverage=0.875,
                    lineage_out_interval_coverage_lo=0.78, lineage_out_interval_coverage_hi=0.97,
                    baselines={"mean": 6.0, "size": 4.0}, picks={"ridge_log_params": 10})
    served = {key: _entry(X, Y[key], **evidence) for key in Y.columns}
    served[("regression", "score")].vs_paper_reference = {"diff": -0.5, "lo": -1.0, "hi": 0.1}
    b = bundle_mod.ServedBundle.from_json(_bundle(X, Y, lineage, served).to_json())
    raw = json.loads(b.to_json())["by_scale"]["normalized"]["served"]
    assert list(raw) == METHODS and list(raw["regression"]) == TARGETS  # nested method -> target, in order
    assert list(raw["regression"]["chat"]) == ["fit", "spec", "skill", "halfwidth", *evidence]
    assert raw["regression"]["score"]["vs_paper_reference"] == {"diff": -0.5, "lo": -1.0, "hi": 0.1}
    e = b.entry("normalized", "regression", "score")
    assert isinstance(e, bundle_mod.ServedEntry)
    assert {k: getattr(e, k) for k in evidence} == evidence
    assert (e.spec, e.skill, e.halfwidth) == ("ridge_log_params", "skill", 1.5)
    assert e.lineage_out_spearman == e.spearman == 0.8  # the served procedure's lineage-out Spearman
    assert b.entry("normalized", "bradley_terry", "chat").vs_paper_reference is None
    assert b.fit("normalized", "regression", "score") is e.fit
    assert np.allclose(e.fit.predict(X), served[("regression", "score")].fit.predict(X), rtol=0, atol=1e-12)
    with pytest.raises(KeyError, match="no served predictor .* target 'safety'"):
        b.entry("normalized", "regression", "safety")


def test_targets_are_method_target_pairs_in_memory_and_format_2_labels_in_the_json():
    X, Y, lineage = _data()
    b = _bundle(X, Y, lineage, {key: _entry(X, Y[key]) for key in Y.columns})
    stored = json.loads(b.to_json())["by_scale"]["normalized"]["Y_train"]["columns"]
    assert stored == ["regression/score", "regression/chat", "bradley_terry/score", "bradley_terry/chat"]
    again = bundle_mod.ServedBundle.from_json(b.to_json()).Y_train("normalized")
    assert list(again.columns) == list(Y.columns) and list(again.columns.names) == ["method", "target"]
    assert np.allclose(again.to_numpy(), Y.to_numpy())
    # the training data's hash (the bundle version) is the one of the labelled columns, as before pairs
    flat = Y.set_axis(stored, axis=1)
    assert bundle_mod.data_hash(X, Y) == bundle_mod.data_hash(X, flat)
    damaged = json.loads(b.to_json())
    damaged["by_scale"]["normalized"]["Y_train"]["columns"][0] = "regression/helpfulness"
    with pytest.raises(bundle_mod.BundleError, match="damaged.*regression/helpfulness"):
        bundle_mod.ServedBundle.from_json(json.dumps(damaged))


def test_partial_inputs_of_a_method_use_that_methods_targets_only():
    X, Y, lineage = _data()
    b = _bundle(X, Y, lineage, {key: _entry(X, Y[key]) for key in Y.columns})
    have = [*TASKS[:3], "params_b"]
    (got,) = partial.for_bundle(b, "normalized", "bradley_terry", [have])
    assert list(got) == TARGETS
    by_hand = pd.DataFrame({"score": Y[("bradley_terry", "score")], "chat": Y[("bradley_terry", "chat")]})
    want = partial.evaluate_pattern(X, by_hand, lineage, have, candidates=["ridge_log_params"], cv=5)
    for t in TARGETS:
        assert got[t]["imputation_mae"] == pytest.approx(want[t]["imputation_mae"])
        assert got[t]["mean_mae"] == pytest.approx(want[t]["mean_mae"])
