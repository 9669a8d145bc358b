"""advisor/analyses/transfer.py on hand-made inputs (expected values worked out here) and on the database the
pipeline built (observed scores recomputed from external_rm_results with pandas, predictions from
advisor.predict.shortlist called directly)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from advisor.analyses import transfer
from advisor.predict.bundle import load_bundle

ROOT = Path(__file__).resolve().parents[2]


def test_spearman_exact_p_counts_orderings():
    # 3 bases in the same order: 2 of the 6 orderings reach |rho| = 1 -> p = 1/3 (scipy's t-test says 0)
    rho, p = transfer.spearman_exact(np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0]))
    assert rho == 1.0 and p == pytest.approx(2 / 6)
    # 4 bases, one adjacent swap: rho = 0.8; orderings with |rho| >= 0.8 are the identity, its reverse and
    # the 3 + 3 single adjacent swaps of each -> 8 of 24
    rho, p = transfer.spearman_exact(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0]))
    assert rho == pytest.approx(0.8) and p == pytest.approx(8 / 24)


def test_pairwise_agreement_and_noise_gap():
    obs = pd.Series({"a": 70.0, "b": 68.0, "c": 60.0})
    pred = pd.Series({"a": 50.0, "b": 55.0, "c": 40.0})  # a-b swapped, a-c and b-c right
    assert transfer.pairwise(obs, pred) == (3, pytest.approx(2 / 3))
    assert transfer.pairwise(obs, pred, min_gap=5.0) == (2, 1.0)  # the swapped pair is within the noise
    tie = pd.Series({"a": 50.0, "b": 50.0, "c": 40.0})
    assert transfer.pairwise(obs, tie) == (3, pytest.approx(2.5 / 3))


def _external(rows):
    cols = ["rm_group", "rewardbench_version", "recipe_method", "recipe_data", "hyperparameters", "rm_id",
            "base_hf_id", "score"]
    return pd.DataFrame(rows, columns=cols)


def test_seed_sd_pools_repeated_configurations():
    k = ["g", "v2", "bt", "d", "lr=1"]
    ext = _external([[*k, "r1", "x/a", 60.0], [*k, "r2", "x/a", 62.0], [*k, "r3", "x/b", 50.0],
                     [*k, "r4", "x/b", 51.0], [*k, "r5", "x/b", 53.0], [*k, "r6", "x/c", 40.0]])
    var_a, var_b = np.var([60, 62], ddof=1), np.var([50, 51, 53], ddof=1)
    assert transfer.seed_sd(ext) == pytest.approx(math.sqrt((var_a * 1 + var_b * 2) / 3))
    assert math.isnan(transfer.seed_sd(ext.iloc[[0, 2, 5]]))


def test_analyse_by_hand():
    k = ["g", "v1", "bt", "d", "lr=1"]
    ext = _external([[*k, "r1", "m/base", 60.0], [*k, "r2", "m/inst", 70.0], [*k, "r3", "m/inst", 72.0],
                     [*k, "r4", "m/other", 65.0], [*k, "r5", "m/tiny", 50.0],
                     ["h", "v1", "bt", "d", "x", "s1", "m/base", 1.0],
                     ["h", "v1", "bt", "d", "x", "s2", "m/inst", 2.0]])
    preds = pd.DataFrame({"hf_id": ["m/base", "m/inst", "m/other", "m/tiny"], "advisor_method": "regression",
                          "predicted": [55.0, 66.0, 70.0, 40.0], "lower": 0.0, "upper": 100.0,
                          "in_domain": [True, True, False, True], "imputed": ["", "", "params_b", ""],
                          "in_training": [False, True, True, False]})
    res = transfer.analyse(ext, preds, {"m/base": ["m/inst", "m/other"]})
    a = res.agreement.set_index("rm_group")
    g = a.loc["g"]
    observed = {"m/base": 60.0, "m/inst": 71.0, "m/other": 65.0, "m/tiny": 50.0}
    pred = {"m/base": 55.0, "m/inst": 66.0, "m/other": 70.0, "m/tiny": 40.0}
    ids = list(observed)
    assert g.spearman == pytest.approx(stats.spearmanr([pred[i] for i in ids], [observed[i] for i in ids]).statistic)
    assert g.kendall == pytest.approx(4 / 6)  # 5 concordant, 1 discordant pair: (5 - 1) / 6
    assert g.pairs == 6 and g.pairs_agree == pytest.approx(5 / 6)
    assert (g.top_observed, g.top_predicted, bool(g.top_agrees)) == ("m/inst", "m/other", False)
    assert (g.n_out_of_domain, g.n_imputed, g.n_in_training) == (1, 1, 2)
    sd = np.std([70, 72], ddof=1)
    assert g.seed_sd == pytest.approx(sd)
    # gap = 2 * sqrt(2) * sd = 4: the pairs base-other (5) and the rest exceed it, inst-other (6) too
    assert g.pairs_beyond_noise == 6
    assert math.isnan(a.loc["h"].spearman) and "fewer than 3" in a.loc["h"].note
    lin = res.lineage[res.lineage.comparison.str.startswith("g |")].set_index("post_trained_hf_id")
    assert lin.loc["m/inst", "observed_delta_pct"] == pytest.approx(100 * (71 / 60 - 1))
    assert lin.loc["m/inst", "predicted_delta_pct"] == pytest.approx(100 * (66 / 55 - 1))
    assert bool(lin.loc["m/other", "same_sign"])
    s = res.summary["regression"]
    # group h (2 bases) has the lineage pair too
    assert s["comparisons"] == 1 and s["top_pick_agrees"] == 0 and s["lineage_pairs"] == 3
    assert res.summary["not_evaluated"][0]["bases"] == 2
    lines = transfer.markdown({"note": "n", "agreement": json.loads(res.agreement.to_json(orient="records")),
                               "summary": res.summary})
    assert any(line.startswith("| g | RewardBench v1 | bt; d; lr=1 | advisor (Regression) | 4 of 4") for line in lines)


def _agreement(spearman: dict) -> pd.DataFrame:
    """transfer_agreement rows: {advisor_method: [Spearman per comparison]}, comparisons in 2 groups."""
    rows = [{"comparison": f"c{i}", "rm_group": f"g{i % 2}", "advisor_method": m, "spearman": r, "spearman_p": 0.5,
             "pairs": 3, "pairs_agree": 0.5, "pairs_beyond_noise": 0, "pairs_agree_beyond_noise": None,
             "top_agrees": False}
            for m, values in spearman.items() for i, r in enumerate(values)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("ours, word", [([0.2, 0.4, 0.6], "worse than"), ([0.6, 0.65, 0.7], "no better than"),
                                        ([0.8, 0.9, 1.0], "better than")])
def test_recipe_caveat_compares_the_median_spearman_with_both_baselines(ours, word):
    """Medians by hand: size 0.3, leaderboard mean 0.7; "no better" is within CAVEAT_MARGIN (0.1) of 0.7."""
    agreement = _agreement({"regression": ours, "baseline_params": [0.1, 0.3, 0.5],
                            "baseline_oll_mean": [0.6, 0.7, 0.8], "bradley_terry": [0.0, 0.0, 0.0]})
    text = transfer.recipe_caveat(agreement, "regression")
    median = sorted(ours)[1]
    assert text == (f"Across recipes: for RMs trained with other published recipes (3 comparisons in 2 groups), "
                    f"this ranking agreed with the measured order {word} ranking by size or by the Open LLM "
                    f"Leaderboard mean (median Spearman {median:+.2f} vs +0.30 and +0.70; the Across recipes page "
                    f"has the details).")
    missing = transfer.recipe_caveat(agreement.iloc[0:0], "regression")
    assert missing.startswith("Whether this ranking carries over to other training recipes is not measured")


# --- on the database the pipeline built ---------------------------------------------------------------

@pytest.fixture(scope="module")
def db(app_db):
    con = duckdb.connect(str(app_db), read_only=True)
    yield con
    con.close()


def test_observed_scores_are_means_of_the_external_rows(db):
    ext = db.execute("SELECT * FROM external_rm_results").fetchdf()
    per = db.execute("SELECT * FROM transfer_predictions WHERE advisor_method = 'regression'").fetchdf()
    assert len(per) > 30
    keys = ["rm_group", "rewardbench_version", "recipe_method", "recipe_data", "hyperparameters"]
    ext["comparison"] = [transfer.comparison_id(tuple(r)) for r in ext[keys].itertuples(index=False)]
    want = ext.groupby(["comparison", "base_hf_id"]).score.mean()
    got = per.set_index(["comparison", "base_hf_id"]).observed
    assert np.allclose(got.to_numpy(), want.loc[got.index].to_numpy())
    # every group with >= 3 bases that have features got an agreement row, with Spearman recomputable
    agr = db.execute("SELECT * FROM transfer_agreement WHERE advisor_method = 'regression' AND spearman IS NOT NULL"
                     ).fetchdf()
    assert set(agr.rm_group) == {"AI2 RewardBench 2 released RMs", "AI2 RewardBench 2 sweep (open-instruct)",
                                 "Archangel (ContextualAI HALOs)", "RLHFlow Bradley-Terry RMs (weqweasdas)"}
    for r in agr.itertuples():
        p = per[per.comparison == r.comparison]
        assert r.spearman == pytest.approx(stats.spearmanr(p.predicted, p.observed).statistic)
        assert r.top_observed == p.loc[p.observed.idxmax(), "base_hf_id"]
    # InternLM2's bases (chat SFT checkpoints) are on no leaderboard table: not evaluated, and said so
    skipped = db.execute("SELECT DISTINCT comparison, n_bases FROM transfer_agreement WHERE rm_group = "
                         "'InternLM2-Reward'").fetchall()
    assert skipped and all(n == 0 for _, n in skipped)


def test_predictions_equal_predict_candidates_on_leaderboard_features(db, app_db):
    from advisor.predict.shortlist import predict_candidates

    bundle = load_bundle(app_db)
    ids = ["EleutherAI/pythia-1.4b", "EleutherAI/pythia-12b", "huggyllama/llama-13b"]
    lb = db.execute("SELECT * FROM leaderboard_v2 WHERE duplicate_of_rank IS NULL AND hf_id IN (SELECT unnest(?))",
                    [ids]).fetchdf()
    cands = lb[["hf_id", *[f for f in bundle.features if f in lb.columns]]].assign(scale="normalized")
    want = predict_candidates(bundle, cands, method="bradley_terry").set_index("hf_id").prediction
    got = db.execute("SELECT DISTINCT base_hf_id, predicted FROM transfer_predictions WHERE advisor_method = "
                     "'bradley_terry' AND base_hf_id IN (SELECT unnest(?))", [ids]).fetchdf().set_index("base_hf_id")
    assert np.allclose(got.predicted.loc[ids].to_numpy(), want.loc[ids].to_numpy())
    # the external RMs never became training rows
    assert not set(db.execute("SELECT rm_id FROM external_rm_results").fetchdf().rm_id) & set(bundle.X_train().index)
    assert db.execute("SELECT count(*) FROM rm_results WHERE hf_id IN (SELECT rm_id FROM external_rm_results)"
                      ).fetchone()[0] == 0


def test_report_has_the_transfer_table(app_db):
    rep = app_db.with_name(app_db.name + ".reports")  # reports go beside the database
    data = json.loads((rep / "reproduction.json").read_text())
    t = data["transfer"]
    assert {"agreement", "summary", "lineage", "note"} <= set(t)
    assert t["summary"]["regression"]["comparisons"] >= 8
    md = (rep / "reproduction.md").read_text()
    assert "## Transfer to other recipes" in md and "| Archangel (ContextualAI HALOs) | RewardBench v1 |" in md


def test_bases_the_predictor_was_trained_on_get_out_of_fold_predictions(db, app_db):
    bundle = load_bundle(app_db)
    base = "meta-llama/Llama-3.1-8B-Instruct"  # one of the paper's 40, and a base of the AI2 groups
    assert base in bundle.X_train().index
    for method in ("regression", "bradley_terry"):
        # the served procedure's prediction from the first nested-CV repeat that held the base out
        stored = db.execute("""SELECT prediction FROM predictions_oof WHERE scale = 'normalized'
                               AND method = ? AND target = 'score' AND name = 'served'
                               AND protocol = 'nested' AND hf_id = ? ORDER BY "repeat" LIMIT 1""",
                            [method, base]).fetchone()[0]
        oof = float(np.clip(stored, 0, 100))
        fitted = float(bundle.predict(bundle.X_train().loc[[base]], method=method)[0])
        rows = db.execute("SELECT DISTINCT predicted, prediction_kind, in_training FROM transfer_predictions "
                          "WHERE base_hf_id = ? AND advisor_method = ?", [base, method]).fetchall()
        assert rows == [(pytest.approx(oof), "out-of-fold (CV)", True)]
        assert abs(oof - fitted) > 1e-6  # the in-sample fit would have been another number


def test_paper_measured_scores_are_the_papers_table_values(db):
    t5 = pd.read_csv(ROOT / "data/paper/rewardbench_bradley_terry.csv").set_index("model")
    got = db.execute("SELECT DISTINCT predicted, prediction_kind FROM transfer_predictions WHERE advisor_method = "
                     "'paper_bradley_terry' AND base_hf_id = 'meta-llama/Llama-3.1-8B-Instruct'").fetchall()
    assert got == [(t5.loc["Llama-3.1-8B-Instruct", "score"], "measured (paper recipe)")]
    # bases outside the 40 (Pythia, LLaMA-1) have no paper measurement: never a made-up number
    assert db.execute("SELECT count(*) FROM transfer_predictions WHERE advisor_method LIKE 'paper_%' AND "
                      "base_hf_id LIKE 'EleutherAI/%'").fetchone()[0] == 0


def test_the_qwen_bases_enter_the_ai2_sweep_comparisons(db):
    """The RewardBench 2 paper's Qwen sweep runs (data/external): Qwen2.5-7B-Instruct is one of the paper's 40
    (out-of-fold prediction, paper measurement beside it); Qwen2.5-7B is not, and is predicted from its Open LLM
    Leaderboard v2 row (size from that table)."""
    comp = ("AI2 RewardBench 2 sweep (open-instruct) | RewardBench 2 | Bradley-Terry (open-instruct) | "
            "skyworkstulufull | lr=3e-06; epochs=1")
    rows = db.execute("SELECT base_hf_id, prediction_kind, in_training FROM transfer_predictions WHERE "
                      "comparison = ? AND advisor_method = 'regression'", [comp]).fetchdf().set_index("base_hf_id")
    assert len(rows) == 7 and {"Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct"} <= set(rows.index)
    assert tuple(rows.loc["Qwen/Qwen2.5-7B-Instruct", ["prediction_kind", "in_training"]]) == ("out-of-fold (CV)", True)
    assert tuple(rows.loc["Qwen/Qwen2.5-7B", ["prediction_kind", "in_training"]]) == ("predicted", False)
    size = db.execute("SELECT DISTINCT predicted FROM transfer_predictions WHERE advisor_method = 'baseline_params' "
                      "AND base_hf_id = 'Qwen/Qwen2.5-7B'").fetchall()
    lb = db.execute("SELECT params_b FROM leaderboard_v2 WHERE hf_id = 'Qwen/Qwen2.5-7B' AND duplicate_of_rank IS NULL"
                    ).fetchall()
    assert size == lb and len(size) == 1
    t4 = pd.read_csv(ROOT / "data/paper/rewardbench_regression.csv").set_index("model")
    measured = db.execute("SELECT DISTINCT predicted FROM transfer_predictions WHERE advisor_method = "
                          "'paper_regression' AND base_hf_id = 'Qwen/Qwen2.5-7B-Instruct'").fetchall()
    assert measured == [(t4.loc["Qwen2.5-7B-Instruct", "score"],)]
    # the observed score of a base is the mean of its runs in the cell: the two skyworks seeds of the Instruct model
    obs = db.execute("SELECT observed, n_runs FROM transfer_predictions WHERE advisor_method = 'regression' AND "
                     "base_hf_id = 'Qwen/Qwen2.5-7B-Instruct' AND comparison LIKE '%| skyworks | lr=1e-06; epochs=1'"
                     ).fetchone()
    assert obs == (pytest.approx((60.22 + 59.48) / 2), 2)  # leaderboard: 0.6022 (seed 1), 0.5948 (seed 2)
