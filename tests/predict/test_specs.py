"""Predictor specs, the honest evaluation, the skill gate, the intervals and the JSON bundle, on
synthetic data whose truth is known (the real data's numbers are checked in test_predictor_stage)."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from advisor.core import registry
from advisor.db.lineage import lineage_of
from advisor.predict import bundle as bundle_mod
from advisor.predict import evaluation, search, specs
from tests.support.synthetic_models import synthetic

TASKS = list(registry.OLL_V2_TASKS)


def quick_cfg(**kw):
    base = dict(repeats=2, folds=5, cv=5, n_boot=500, n_jobs=1)
    return evaluation.EvalConfig(**{**base, **kw})


def test_registry_is_data_with_errors_listing_valid_names():
    names = list(specs.load_specs())
    assert specs.paper_reference() == "paper_enet" and specs.get("paper_enet").degrees == (1, 2, 3)
    assert "paper_enet" not in specs.candidates() and len(specs.candidates()) >= 2
    with pytest.raises(KeyError) as e:
        specs.get("ridge_everything")
    assert all(n in str(e.value) for n in names)
    cx = [specs.get(n).complexity for n in names]
    assert len(set(cx)) == len(cx)  # a total order for the one-standard-error rule


def test_log_of_unknown_size_is_missing_never_log0():
    X = pd.DataFrame({"params_b": [0.0, -1.0, 7.0], "pretrain_tokens_t": [0.0, 2.0, np.nan]})
    F = specs.input_frame(X, ["log_params_b", "log_pretrain_tokens_t"])
    assert F.log_params_b.isna().tolist() == [True, True, False]
    assert F.log_params_b.iloc[2] == pytest.approx(math.log(7.0))
    assert F.log_pretrain_tokens_t.isna().tolist() == [True, False, True]


def test_where_the_truth_is_linear_in_log_size_selection_picks_the_simple_spec():
    X, lineage = synthetic(seed=1)
    rng = np.random.default_rng(2)
    y = 55 + 6 * np.log(X.params_b) + rng.normal(0, 1.0, len(X))
    fits = {s: specs.fit_spec(s, X, y.to_numpy(), cv=5)[0] for s in specs.candidates()}
    assert specs.select_one_se(fits) == "ridge_log_params"
    oof = evaluation.evaluate(X, pd.DataFrame({"regression/score": y}), lineage, quick_cfg())
    picks = oof[oof.name == evaluation.SERVED].drop_duplicates(["protocol", "repeat", "fold"]).pick
    assert (picks == "ridge_log_params").mean() >= 0.8


def test_one_standard_error_rule_prefers_the_simpler_spec_within_one_se():
    z = np.zeros(0)

    def fit(name, cv_mae, cv_se):
        return specs.LinearFit(name, [], search.Design(1, z, z, z, z), z, 0.0, cv_mae=cv_mae, cv_se=cv_se)

    fits = {"enet_linear_log": fit("enet_linear_log", 3.0, 0.5),
            "ridge_oll_mean_log_params": fit("ridge_oll_mean_log_params", 3.4, 0.1),
            "ridge_log_params": fit("ridge_log_params", 3.6, 0.1)}
    assert specs.select_one_se(fits) == "ridge_oll_mean_log_params"  # 3.4 <= 3.0 + 0.5 < 3.6
    fits["enet_linear_log"].cv_se = 0.3
    assert specs.select_one_se(fits) == "enet_linear_log"
    # specs outside the registry (partial inputs' reduced specs): complexity given, ties in the fits' order
    reduced = {"b on x": fit("b on x", 3.0, 0.5), "a on x": fit("a on x", 3.2, 0.1), "c on x": fit("c on x", 3.9, 0.1)}
    assert specs.select_one_se(reduced, {"a on x": 1, "b on x": 2, "c on x": 0}) == "a on x"
    assert specs.select_one_se(reduced, {"a on x": 1, "b on x": 1, "c on x": 0}) == "b on x"


def test_a_no_signal_target_is_flagged_no_skill_and_a_signal_target_has_skill():
    X, lineage = synthetic(n=48, seed=3)
    rng = np.random.default_rng(4)
    Y = pd.DataFrame({"m/noise": rng.normal(70, 5, len(X)),
                      "m/signal": 40 + 8 * np.log(X.params_b) + 0.3 * X[TASKS].mean(axis=1)
                      + rng.normal(0, 1.5, len(X))}, index=X.index)
    cfg = quick_cfg()
    s = evaluation.summarize(evaluation.evaluate(X, Y, lineage, cfg), cfg)["served"]
    assert s["m/noise"]["skill"] == "no_skill" and s["m/noise"]["diff_hi"] >= 0
    assert s["m/signal"]["skill"] == "skill" and s["m/signal"]["diff_hi"] < 0
    assert s["m/signal"]["lineage_out_mae"] < s["m/signal"]["mean_mae"]


def test_interval_coverage_falls_within_the_binomial_ci_of_nominal():
    X, lineage = synthetic(n=80, seed=5, n_lineages=10)
    rng = np.random.default_rng(6)
    y = 45 + 7 * np.log(X.params_b) + 0.2 * X[TASKS].mean(axis=1) + rng.normal(0, 2.0, len(X))
    cfg = quick_cfg(repeats=3, folds=10)
    cal = evaluation.summarize(evaluation.evaluate(X, pd.DataFrame({"m/t": y}), lineage, cfg),
                               cfg)["calibration"]
    lo, hi = evaluation.wilson(0.9 * 80, 80)
    for protocol in ("nested", "lineage_out"):
        emp = cal[(cal.protocol == protocol) & np.isclose(cal.nominal, 0.9)].empirical.iloc[0]
        assert lo <= emp <= hi, (protocol, emp, (lo, hi))


def test_wilson_and_paired_bootstrap():
    lo, hi = evaluation.wilson(36, 40)
    assert lo == pytest.approx(0.7694, abs=1e-3) and hi == pytest.approx(0.9604, abs=1e-3)
    a = np.array([1.0, 2.0, 3.0, 4.0])
    d, dlo, dhi = evaluation.paired_bootstrap(a, a + 1.0)
    assert (d, dlo, dhi) == (-1.0, -1.0, -1.0)  # constant difference: no spread


def test_lineage_defaults_to_the_org_part_of_the_hf_id():
    known = {"allenai/Llama-3.1-Tulu-3-8B": "Meta"}
    assert lineage_of("AllenAI/llama-3.1-tulu-3-8b", known) == "Meta"
    assert lineage_of("Qwen/Qwen3-8B", known) == "Qwen"


def test_lineages_file_covers_every_model_with_rm_results(root):
    lin = pd.read_csv(root / "data/lineages.csv")
    models = pd.read_csv(root / "data/paper/models.csv")
    assert set(models.hf_id) <= set(lin.hf_id) and lin.hf_id.is_unique
    by = lin.set_index("hf_id").lineage
    assert by["allenai/Llama-3.1-Tulu-3-8B"] == by["NousResearch/Hermes-3-Llama-3.1-8B"] == "Meta"
    assert by.loc[models.hf_id].nunique() == 9


# ---------------------------------------------------------------------------------------------
# the JSON bundle

def small_bundle():
    X, _ = synthetic(seed=7)
    y = 50 + 4 * np.log(X.params_b) + 0.2 * X[TASKS].mean(axis=1)
    served = {}
    for m in ("regression", "bradley_terry"):
        for t in ("score", "chat", "chat_hard", "safety", "reasoning"):
            fit = specs.fit_spec("enet_linear_log" if t == "score" else "ridge_log_params", X,
                                 y.to_numpy(), cv=5)[0]
            served[(m, t)] = bundle_mod.ServedEntry(fit=fit, spec=fit.name, halfwidth=2.5,
                                                    skill="skill" if m == "regression" else "no_skill")
    return bundle_mod.build({"normalized": {"X_train": X, "served": served}},
                            ["regression", "bradley_terry"],
                            ["score", "chat", "chat_hard", "safety", "reasoning"], 0.9, "test+1",
                            "h", {}, "now"), X


def test_bundle_json_round_trip_gives_identical_predictions():
    b, X = small_bundle()
    again = bundle_mod.ServedBundle.from_json(b.to_json())
    for m in b.methods:
        for t in b.targets:
            assert np.array_equal(b.predict(X, "normalized", m, t), again.predict(X, "normalized", m, t))
    assert again.version == "test+1" and again.X_train().equals(b.X_train())


def test_a_planted_pickle_never_executes_and_gives_a_message(tmp_path):
    class Trap:
        def __reduce__(self):
            return (Path(tmp_path / "pwned").touch, ())

    evil = tmp_path / "bundle.joblib"
    evil.write_bytes(pickle.dumps(Trap()))
    with pytest.raises(bundle_mod.BundleError, match="not a JSON predictor bundle"):
        bundle_mod.load_bundle_file(evil)
    text = tmp_path / "models.csv"
    text.write_text("hf_id,score\na/b,1\n")
    with pytest.raises(bundle_mod.BundleError, match="not a JSON predictor bundle"):
        bundle_mod.load_bundle_file(text)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"a": 1}))
    with pytest.raises(bundle_mod.BundleError, match="not an rm-advisor predictor bundle"):
        bundle_mod.load_bundle_file(other)
    b, _ = small_bundle()
    broken = json.loads(b.to_json())
    del broken["by_scale"]["normalized"]["served"]["regression"]["score"]["fit"]["coef"]
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(broken))
    with pytest.raises(bundle_mod.BundleError, match="damaged"):
        bundle_mod.load_bundle_file(damaged)
    assert not (tmp_path / "pwned").exists()


def test_predict_candidates_gates_ranks_and_widens(monkeypatch):
    from advisor.predict.shortlist import OUTPUT_COLUMNS, predict_candidates

    b, X = small_bundle()
    row = X.iloc[0]
    cands = pd.DataFrame([
        {"hf_id": "c/full", "scale": "normalized", **row.to_dict()},
        {"hf_id": "c/part", "scale": "normalized", **{**row.to_dict(), "leaderboard_gpqa": np.nan,
                                                      "leaderboard_musr": np.nan}},
        {"hf_id": "c/huge", "scale": "normalized", **{**row.to_dict(), "params_b": 400.0}},
    ])
    with pytest.raises(ValueError, match="'c/nosize': no params_b, and a size is never imputed"):
        predict_candidates(b, pd.concat([cands, pd.DataFrame([{"hf_id": "c/nosize", "scale": "normalized",
                                                                **{**row.to_dict(), "params_b": -1.0}}])]))
    r = predict_candidates(b, cands, method="regression").set_index("hf_id")
    assert list(r.reset_index().columns) == OUTPUT_COLUMNS
    assert r["rank"].notna().all() and set(r.skill) == {"skill"} and set(r.scale) == {"normalized"}
    assert r.loc["c/full", "prediction"] == pytest.approx(b.predict(X.iloc[[0]])[0])
    w_full = r.loc["c/full", "upper"] - r.loc["c/full", "lower"]
    assert w_full == pytest.approx(5.0)
    assert r.loc["c/part", "imputed"] == ["leaderboard_gpqa", "leaderboard_musr"]
    assert r.loc["c/part", "widened"] and r.loc["c/part", "upper"] - r.loc["c/part", "lower"] > w_full
    assert r.loc["c/huge", "extrapolated"] == ["params_b"] and not r.loc["c/huge", "in_domain"]
    assert r.loc["c/huge", "upper"] - r.loc["c/huge", "lower"] > w_full  # covers the unclamped value
    assert r.loc["c/huge", "size_rank"] == 1
    bt = predict_candidates(b, cands, method="bradley_terry")
    assert bt["rank"].isna().all() and bt["rank_upper"].isna().all() and set(bt.skill) == {"no_skill"}
    assert bt.hf_id.tolist() == sorted(bt.hf_id)  # not ordered by prediction
    with pytest.raises(ValueError, match="serves"):
        predict_candidates(b, cands.assign(scale="raw"))


def test_rank_stats_equal_scipy_and_a_brute_force_coverage():
    from scipy.stats import spearmanr

    def top(s, k):  # eq. 9's T(L, k) by its definition: value descending, ties by hf_id ascending
        return set(sorted(s.index, key=lambda i: (-s[i], i))[:k])

    rng = np.random.default_rng(11)
    idx = [f"m{i:02d}" for i in range(30)]
    y = pd.Series(np.round(rng.normal(70, 5, 30)), index=idx)  # rounded: ties
    p = pd.Series(np.round(y + rng.normal(0, 4, 30)), index=idx)
    s = evaluation._rank_stats(p, y)
    assert s["spearman"] == pytest.approx(spearmanr(p, y).statistic, abs=1e-12)
    for k in (5, 10):
        assert s[f"coverage_top{k}"] == len(top(p, k) & top(y, k)) / k
    assert s["coverage_top5"] not in (0.0, 1.0)  # the ties and the noise make the check informative
    assert np.isnan(evaluation._rank_stats(p.iloc[:8], y.iloc[:8])["coverage_top10"])


def test_a_single_lineage_has_no_lineage_out_evidence_and_so_no_skill():
    X, _ = synthetic(n=30, seed=8)
    y = 50 + 5 * np.log(X.params_b)
    one = pd.Series("only", index=X.index)
    cfg = quick_cfg(repeats=1)
    oof = evaluation.evaluate(X, pd.DataFrame({"m/t": y}), one, cfg)
    assert set(oof.protocol) == {"nested"}
    s = evaluation.summarize(oof, cfg)["served"]["m/t"]
    assert s["skill"] == "no_skill" and np.isnan(s["lineage_out_mae"])
