"""Issue 26, items 6 and 7: why a candidate ranks where it does (advisor.predict.explain) and the
cost-quality frontier (advisor.predict.verdict.pareto). Fast: the synthetic bundle of tests/support and
hand-made tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from advisor.core import registry
from advisor.predict import explain, ranking, verdict
from advisor.predict.shortlist import predict_candidates
from tests.support import synthetic_bundle

TASKS = list(registry.OLL_V2_TASKS)


@pytest.fixture(scope="module")
def served():
    return synthetic_bundle.served()


def test_the_parts_add_up_to_the_prediction_from_the_known_models_mean(served):
    b, X, Y = served
    big = {**X.median().to_dict(), "params_b": 109.0}
    rows = pd.DataFrame([{"hf_id": "new/median", "scale": "normalized", **X.median().to_dict()},
                         {"hf_id": "new/big", "scale": "normalized", **big},
                         {"hf_id": "new/no-musr", "scale": "normalized", **X.median().to_dict(),
                          "leaderboard_musr": np.nan}])
    pred = predict_candidates(b, rows).set_index("hf_id")  # what the parts must add up to (before the clip)
    parts = explain.explain(ranking.build(rows.assign(not_ranked="", source="t"), b).table, b, "regression")
    assert set(parts) == {"new/median", "new/big", "new/no-musr"}
    for h, e in parts.items():
        assert e["baseline"] == pytest.approx(Y["score"].mean())  # a ridge's intercept: the mean of the target
        assert e["baseline"] + sum(p["contribution"] for p in e["parts"]) == pytest.approx(pred.loc[h, "prediction"])
        assert [p["label"] for p in e["parts"]] == ["OLL v2 average", "size"]
    size = {h: next(p for p in e["parts"] if p["input"] == "log_params_b") for h, e in parts.items()}
    largest = X["params_b"].max()
    assert size["new/big"]["note"] == f"clamped from 109B to {largest:.3g}B"  # read at the known maximum
    assert size["new/big"]["contribution"] > size["new/median"]["contribution"]  # the RMs grow with log size
    assert parts["new/no-musr"]["parts"][0]["note"].startswith("MUSR imputed: ")
    assert parts["new/big"]["line"].startswith("size +") and "(clamped from 109B to" in parts["new/big"]["line"]
    assert parts["new/big"]["line"].endswith(f"from the known models' mean {Y['score'].mean():.1f} to "
                                             f"{pred.loc['new/big', 'prediction']:.1f}")


def test_the_shortlist_rows_are_explained_as_ranked_and_rows_not_predicted_are_left_out(served):
    b, X, _ = served
    rows = pd.DataFrame([{"hf_id": "new/a", "scale": "normalized", **X.median().to_dict(), "not_ranked": "",
                          "source": "t"},
                         {"hf_id": "new/unsized", "scale": "normalized", **X.median().to_dict(), "params_b": np.nan,
                          "not_ranked": "size unknown: add Params (B)", "source": "t"}])
    table = ranking.build(rows, b).table
    parts = explain.explain(table, b, "regression")
    assert list(parts) == ["new/a"]
    assert parts["new/a"]["baseline"] + sum(p["contribution"] for p in parts["new/a"]["parts"]) == pytest.approx(
        table.set_index("hf_id").loc["new/a", "prediction"])


def test_a_fit_of_higher_degree_is_not_taken_apart(served):
    b, X, _ = served
    fit = b.fit("normalized", "regression", "score")
    import dataclasses

    curved = dataclasses.replace(fit, design=dataclasses.replace(fit.design, degree=2))
    assert explain.contributions(curved, X.iloc[0], X.iloc[0], set()) is None


def test_the_frontier_is_every_row_no_other_row_beats_on_both_size_and_score():
    t = pd.DataFrame({"hf_id": list("abcdefg"), "params_b": [1, 2, 3, 4, 4, np.nan, 8],
                      "ranking_score": [60, 70, 65, 80, 80, 90, np.nan],
                      "prediction": [60, 70, 65, 80, 80, 90, 85]})
    front = verdict.pareto(t)
    # c (3B, 65) is beaten by b (2B, 70); d and e tie (neither beats the other); f has no size;
    # g has no ranking score (outside the budget) and is placed at its prediction, 85 at 8B
    assert front.tolist() == [True, True, False, True, True, False, True]
    assert not verdict.pareto(t.assign(params_b=0.0)).any() and math.isnan(t["params_b"][5])
