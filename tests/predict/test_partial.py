"""Partial inputs (issue 20): per missingness pattern, a reduced spec or imputation, whichever has the
lower lineage-out MAE, with the skill gate; checked on synthetic data whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from advisor.core import registry
from advisor.predict import partial, specs

TASKS = list(registry.OLL_V2_TASKS)
N = 45


def _data(seed, params=None, task_noise=0.0):
    rng = np.random.default_rng(seed)
    ids = [f"m{i}" for i in range(N)]
    lineage = pd.Series([f"L{i % 9}" for i in range(N)], index=ids)
    z = rng.normal(size=N)
    X = pd.DataFrame({t: 0.4 + 0.1 * z + task_noise * rng.normal(size=N) for t in TASKS}, index=ids)
    X["params_b"] = np.exp(rng.normal(1, 1, size=N)) if params is None else params(z)
    X["pretrain_tokens_t"] = np.exp(rng.normal(1, 0.5, size=N))
    return X, z, lineage, rng


def test_reduced_candidates_restrict_the_served_specs_to_the_inputs_a_pattern_has():
    have = ["leaderboard_ifeval", "leaderboard_gpqa", "leaderboard_mmlu_pro", "params_b"]
    red = {s.inputs: s for s in partial.reduced_candidates(have)}
    mean3 = specs.MEAN_OF + "leaderboard_ifeval+leaderboard_gpqa+leaderboard_mmlu_pro"
    assert set(red) == {("log_params_b",), (mean3, "log_params_b"),
                        ("leaderboard_ifeval", "leaderboard_gpqa", "leaderboard_mmlu_pro", "log_params_b")}
    assert red[(mean3, "log_params_b")].name == ("ridge_oll_mean_log_params on mean(ifeval+gpqa+mmlu_pro), "
                                                 "log_params_b")
    # the derived mean is the mean of those three columns, and a fit reads only them
    X = pd.DataFrame({"leaderboard_ifeval": [0.2], "leaderboard_gpqa": [0.4], "leaderboard_mmlu_pro": [0.9]})
    assert specs.input_frame(X, [mean3]).iloc[0, 0] == pytest.approx(0.5)
    assert specs.base_columns([mean3]) == ["leaderboard_ifeval", "leaderboard_gpqa", "leaderboard_mmlu_pro"]
    assert partial.reduced_candidates(["pretrain_tokens_t"], ["ridge_oll_mean_log_params"]) == []


def test_a_missing_task_without_signal_is_served_by_the_reduced_spec():
    """IFEval is pure noise; the target is the mean of the other five. The served spec (the six-task
    mean) dilutes the signal with IFEval; the reduced spec (mean of the five it has) does not."""
    X, _z, lineage, rng = _data(0)
    X["leaderboard_ifeval"] = 0.5 + 0.3 * rng.normal(size=N)
    Y = pd.DataFrame({"regression/score": 60 + 80 * X[TASKS[1:]].mean(axis=1) + rng.normal(0, 1, N)})
    have = [f for f in specs.BASE_FEATURES if f != "leaderboard_ifeval"]
    e = partial.evaluate_pattern(X, Y, lineage, have, candidates=["ridge_oll_mean_log_params"],
                                 n_boot=500)["regression/score"]
    assert e["method"] == "reduced" and e["reduced_mae"] < 0.8 * e["imputation_mae"]
    assert e["label"] == f"reduced spec {e['spec']}" and "mean(bbh+math_hard+gpqa+musr+mmlu_pro)" in e["spec"]
    assert e["mae"] == e["reduced_mae"] and e["skill"] == "skill" and e["skill_diff_hi"] < 0
    assert e["fit"].inputs[0].startswith(specs.MEAN_OF) and e["halfwidth"] > 0
    assert e["missing"] == ["leaderboard_ifeval"]


def test_missing_tasks_with_strong_correlated_signal_are_served_by_imputation():
    """The score follows a factor every task carries (strongly correlated tasks) and size (linear in
    params_b). With only the size, imputing the tasks from it recovers the factor; the reduced spec
    (ridge on log params) cannot."""
    X, z, lineage, rng = _data(1, params=lambda z: 3 * (z - z.min()) + 0.5, task_noise=0.01)
    Y = pd.DataFrame({"regression/score": 60 + 10 * z + rng.normal(0, 0.5, N)})
    e = partial.evaluate_pattern(X, Y, lineage, ["params_b", "pretrain_tokens_t"],
                                 n_boot=500)["regression/score"]
    assert e["method"] == "imputation" and e["label"] == "imputation"
    assert e["imputation_mae"] < 0.5 * e["reduced_mae"] and e["mae"] == e["imputation_mae"]


def test_no_signal_at_all_fails_the_skill_gate():
    X, _z, lineage, rng = _data(2)
    Y = pd.DataFrame({"regression/score": 60 + rng.normal(0, 5, N)})
    e = partial.evaluate_pattern(X, Y, lineage, TASKS[:3] + ["params_b"], n_boot=500)["regression/score"]
    assert e["skill"] == "no_skill" and e["skill_diff_hi"] >= 0


def test_other_settings_widen_the_interval_by_the_measured_shift_and_say_why(app_db, monkeypatch):
    from advisor.predict import bundle as bundle_mod
    from advisor.predict import shortlist
    from advisor.predict.bundle import load_bundle

    b = load_bundle(app_db)
    full = b.X_train("raw").iloc[4].to_dict()
    ids = list(b.X_train("raw").index[4:6])  # known lineages: the known-lineage interval, nothing else
    rows = pd.DataFrame([{"hf_id": ids[0], **full, "scale": "raw", "settings": "leaderboard"},
                         {"hf_id": ids[1], **full, "scale": "raw", "settings": "other"}])
    r = shortlist.predict_candidates(b, rows).set_index("hf_id")
    lb, other = r.loc[ids[0]], r.loc[ids[1]]
    assert other["prediction"] == pytest.approx(lb["prediction"])  # never shifted, only less certain
    assert other["upper"] - other["lower"] > lb["upper"] - lb["lower"] + 0.5
    assert other["widened"] and "other / unknown settings (+" in other["widened_why"]
    assert not lb["widened"] and lb["widened_why"] == ""
    # the widening follows the measured sd: a fit that reads no task is not widened, a doubled sd widens more
    # (computed here: a bundle without the spreads the build precomputed)
    b = bundle_mod.ServedBundle({k: v for k, v in b.data.items() if k != "precomputed"})
    fit = b.fit("raw", "regression", "score")
    size_only = specs.LinearFit.from_json({**fit.to_json(), "inputs": ["log_params_b"], "mean1": [0.0],
                                           "std1": [1.0], "mean2": [0.0], "std2": [1.0], "coef": [1.0]})
    assert shortlist.settings_spread(b, "raw", size_only, tuple(TASKS)) == 0.0
    base = shortlist.settings_spread(b, "raw", fit, tuple(TASKS))
    sd = shortlist.settings_sd("raw")
    assert set(sd) == set(TASKS) and all(v > 0 for v in sd.values())
    shortlist._SETTINGS_CACHE.clear()
    monkeypatch.setitem(shortlist._SETTINGS_CACHE, "raw", {t: 2 * v for t, v in sd.items()})
    assert shortlist.settings_spread(b, "raw", fit, tuple(TASKS)) == pytest.approx(2 * base, rel=0.25)
    shortlist._SETTINGS_CACHE.clear()


def test_a_2000_row_random_blank_file_ranks_within_a_bound_of_the_complete_rows(app_db):
    """Issue 27 finding 5: the rows of one pattern are computed together, so 2,000 rows with random
    blanks (nearly every rankable pattern) cost a small multiple of the same rows complete (CPU, same
    test, warm: the patterns' evidence is the build's). Before, each row was computed on its own (2,000
    rows held a server core for 127 s)."""
    import time

    from advisor.predict.bundle import load_bundle
    from advisor.predict.shortlist import predict_candidates
    from bench.bench_partial import random_blank_rows

    b = load_bundle(app_db)
    for rows in random_blank_rows(b, 200, seed=1):  # warm: imports, the bundle's patterns parsed
        predict_candidates(b, rows)
    part, full = random_blank_rows(b, 2_000)
    assert part.drop(columns=["hf_id", "scale"]).isna().drop_duplicates().shape[0] > 100  # the patterns occur
    t = time.process_time()
    complete = predict_candidates(b, full)
    t_full = time.process_time() - t
    t = time.process_time()
    ranked = predict_candidates(b, part)
    t_part = time.process_time() - t
    assert complete["rank"].notna().all() and len(ranked) == 2_000 and ranked["prediction"].notna().all()
    assert t_part <= 5.0 * t_full, (t_part, t_full)  # measured 2.6x: docs/performance.md (partial rows at scale)
