"""Issue 24, items 2, 4 and 5: measured first, a verdict instead of a crown, confidence tiers from the
registry, and extrapolation made visible (clamped and cut marks, indistinguishable rows, category
intervals). Fast: a synthetic served bundle (one ridge spec, five targets) and hand-made shortlist
tables; every expected value is written out or computed here from the inputs, never by the code under
test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advisor.core import registry
from advisor.predict import ranking, verdict
from advisor.predict.shortlist import predict_candidates
from tests.support import synthetic_bundle

TASKS = list(registry.OLL_V2_TASKS)
HALF = synthetic_bundle.HALF  # served half-widths per target


@pytest.fixture(scope="module")
def served():
    """A bundle of one normalized-scale ridge on (OLL v2 mean, log params) for the five targets, with a
    different half-width per target, and its known models (tests/support/synthetic_bundle.py)."""
    b, X, _ = synthetic_bundle.served()
    return b, X


def row(hf_id, X, **values) -> dict:
    base = X.median().to_dict() if isinstance(X, pd.DataFrame) else dict(X)
    return {"hf_id": hf_id, "scale": "normalized", **base, **values}


# --- measured first -------------------------------------------------------------------------------------

def test_a_measured_base_is_ranked_by_its_measurement_with_the_prediction_beside_it(served):
    b, X = served
    cands = pd.DataFrame([row("known/m01", X.loc["known/m01"]), row("known/m02", X.loc["known/m02"]),
                          row("new/plain", X)])
    plain = predict_candidates(b, cands).set_index("hf_id")
    top = float(plain["prediction"].max())
    measured = pd.DataFrame({"measured_score": [top + 1.0, 10.0],
                             "measured_source": ["paper, Table 4", "your results: mine.csv"]},
                            index=pd.Index(["known/m02", "known/m01"], name="hf_id"))
    got = predict_candidates(b, cands, measured=measured)
    assert list(got["hf_id"]) == ["known/m02", "new/plain", "known/m01"]  # by measured, then predicted
    g = got.set_index("hf_id")
    assert list(g["ranked_by"]) == ["measured", "prediction", "measured"]
    assert g.loc["known/m02", "ranking_score"] == top + 1.0 and g.loc["known/m01", "ranking_score"] == 10.0
    assert g.loc["known/m01", "measured_source"] == "your results: mine.csv"
    assert g.loc["new/plain", "ranking_score"] == g.loc["new/plain", "prediction"]
    for h in g.index:  # the prediction stays, unchanged by the measurement
        assert g.loc[h, "prediction"] == pytest.approx(plain.loc[h, "prediction"], abs=1e-12)
    assert list(g["rank"]) == [1, 2, 3]
    # upper-bound rank: a measurement is a point [m, m]
    lo = {"known/m02": top + 1.0, "known/m01": 10.0, "new/plain": g.loc["new/plain", "lower"]}
    hi = {"known/m02": top + 1.0, "known/m01": 10.0, "new/plain": g.loc["new/plain", "upper"]}
    for h in g.index:
        assert g.loc[h, "rank_upper"] == 1 + sum(lo[o] > hi[h] for o in g.index)


def test_a_known_model_counts_as_in_domain_even_far_from_its_own_known_row(served):
    b, X = served
    corner = row("x", {**{t: X[t].max() for t in TASKS}, "params_b": X["params_b"].min(),
                      "pretrain_tokens_t": X["pretrain_tokens_t"].max()})
    stranger = predict_candidates(b, pd.DataFrame([corner | {"hf_id": "new/corner"}])).iloc[0]
    assert not stranger["in_domain"] and not stranger["extrapolated"]  # far from all, nothing clamped
    itself = predict_candidates(b, pd.DataFrame([corner | {"hf_id": "known/m07"}])).iloc[0]
    assert itself["in_domain"] and "known/m07" not in itself["nearest_known"]


# --- extrapolation made visible ---------------------------------------------------------------------

def test_rows_differing_only_in_clamped_inputs_share_a_rank_and_say_why(served):
    b, X = served
    big = X["params_b"].max()
    cands = pd.DataFrame([row("org/scout-109b", X, params_b=109.0), row("org/maverick-400b", X, params_b=400.0),
                          row("org/small", X, params_b=X["params_b"].min())])
    got = predict_candidates(b, cands).set_index("hf_id")
    assert got.loc["org/scout-109b", "prediction"] == got.loc["org/maverick-400b", "prediction"]
    assert got.loc["org/scout-109b", "rank"] == got.loc["org/maverick-400b", "rank"] == 1
    assert got.loc["org/small", "rank"] == 3
    assert got.loc["org/scout-109b", "extrapolated"] == ["params_b"] and big < 109
    note = got.loc["org/scout-109b", "rank_note"]
    assert note.startswith("indistinguishable from org/maverick-400b") and "#Params (B)" in note
    assert got.loc["org/maverick-400b", "rank_note"].startswith("indistinguishable from org/scout-109b")
    assert got.loc["org/small", "rank_note"] == ""


def test_cut_intervals_are_flagged_and_categories_get_their_own_intervals(served):
    b, X = served
    cands = pd.DataFrame([row("org/top", X.loc[X["params_b"].idxmax()]), row("org/mid", X)])
    got = predict_candidates(b, cands).set_index("hf_id")
    for h, r in got.iterrows():
        assert r["upper_cut"] == (r["prediction"] + HALF["score"] > 100)  # complete, in range: no widening
        assert r["lower_cut"] == (r["prediction"] - HALF["score"] < 0)
        assert r["upper"] == min(100.0, r["prediction"] + HALF["score"])
        for t in registry.RM_SECTIONS:
            assert r[f"lower_{t}"] == pytest.approx(max(0.0, r[f"pred_{t}"] - HALF[t]), abs=1e-9), (h, t)
            assert r[f"upper_{t}"] == pytest.approx(min(100.0, r[f"pred_{t}"] + HALF[t]), abs=1e-9), (h, t)
    assert got["upper_cut"].any()  # the case the flag is for happens here


# --- tiers ------------------------------------------------------------------------------------------------

def table(**rows) -> pd.DataFrame:
    """A shortlist table of hand-made rows: {hf_id: overrides}; defaults are a complete, in-domain,
    predicted row."""
    base = {"rank": 1, "rank_upper": 1, "ranked_by": "prediction", "ranking_score": 80.0, "measured_score": np.nan,
            "measured_source": "", "prediction": 80.0, "lower": 75.0, "upper": 85.0, "lower_cut": False,
            "upper_cut": False, "in_domain": True, "extrapolated": [], "imputed": [], "partial_method": "",
            "settings": "leaderboard", "not_ranked": "", "rank_note": ""}
    out = pd.DataFrame([{**base, "hf_id": h, **o} for h, o in rows.items()])
    out["ranking_score"] = np.where(out["ranked_by"] == "measured", out["measured_score"], out["prediction"])
    return out


def test_tiers_follow_the_registry_definitions():
    t = table(**{"a/measured": {"ranked_by": "measured", "measured_score": 88.1, "in_domain": False},
                 "a/high": {}, "a/imputed": {"imputed": ["leaderboard_bbh"]},
                 "a/partial": {"partial_method": "reduced spec ridge_log_params"},
                 "a/other": {"settings": "other"}, "a/far": {"in_domain": False},
                 "a/clamped": {"extrapolated": ["params_b"], "imputed": ["leaderboard_bbh"]},
                 "a/held": {"not_ranked": "size unknown: add Params (B)"}})
    assert dict(zip(t["hf_id"], verdict.tiers(t))) == {
        "a/measured": "measured", "a/high": "high", "a/imputed": "medium", "a/partial": "medium",
        "a/other": "medium", "a/far": "low", "a/clamped": "low", "a/held": ""}
    assert set(registry.TIER_DISPLAY_ORDER) == set(registry.TIER_DEFINITIONS) == {"measured", "high", "medium", "low"}
    assert {c for tier in registry.CONFIDENCE_TIERS for c in tier["when"]} <= set(verdict.FLAGS)


def test_tiers_are_read_from_the_registry_not_written_in_the_code(monkeypatch):
    t = table(**{"a/other": {"settings": "other"}, "a/far": {"in_domain": False}})
    moved = ({"tier": "measured", "when": ("measured",), "definition": "m"},
             {"tier": "low", "when": ("other_settings",), "definition": "l"},
             {"tier": "high", "when": (), "definition": "h"})
    monkeypatch.setattr(registry, "CONFIDENCE_TIERS", moved)
    assert list(verdict.tiers(t)) == ["low", "high"]


# --- the verdict ----------------------------------------------------------------------------------------

def test_a_tied_top_group_is_named_as_such_and_no_low_row_is_crowned():
    t = table(**{"x/clamped-a": {"rank": 1, "prediction": 89.0, "lower": 77.0, "upper": 100.0, "upper_cut": True,
                                 "in_domain": False, "extrapolated": ["params_b"]},
                 "x/clamped-b": {"rank": 1, "prediction": 89.0, "lower": 77.0, "upper": 100.0, "upper_cut": True,
                                 "in_domain": False, "extrapolated": ["params_b"]},
                 "x/fine": {"rank": 3, "prediction": 84.0, "lower": 78.0, "upper": 90.0,
                            "imputed": ["leaderboard_musr"]},
                 "x/last": {"rank": 4, "rank_upper": 2, "prediction": 60.0, "lower": 55.0, "upper": 65.0}})
    t["tier"] = verdict.tiers(t)
    v = verdict.verdict(t, "CAVEAT.")
    assert v.top_group == ["x/clamped-a", "x/clamped-b", "x/fine"] and v.best is None
    assert v.leaders == ["x/clamped-a", "x/clamped-b"] and v.leader_tier == "low"
    assert v.best_in_domain == "x/fine"
    assert v.lines[0] == ("Statistically tied for first: 3 of 4 ranked candidates have upper-bound rank 1 (no other "
                          "candidate's interval lies wholly above theirs): x/clamped-a, x/clamped-b, x/fine.")
    assert v.lines[1].startswith("Highest point estimate (shared by 2 indistinguishable candidates: x/clamped-a, "
                                 "x/clamped-b): x/clamped-a, predicted 89.0 [77.0, 100.0 (cut)], confidence low")
    assert v.lines[1].endswith("low confidence, not a pick.")
    assert v.lines[2].startswith("Best in-domain candidate: x/fine, predicted 84.0 [78.0, 90.0], confidence medium")
    assert v.lines[-1] == "CAVEAT."
    js = v.to_json()
    assert list(js)[0] == "summary" and js["tied"] and js["best"] is None and js["best_in_domain"] == "x/fine"


def test_a_single_top_row_is_the_best_unless_it_is_low():
    t = table(**{"y/measured": {"ranked_by": "measured", "measured_score": 88.1, "measured_source": "paper, Table 4"},
                 "y/second": {"rank": 2, "rank_upper": 2, "prediction": 84.4, "lower": 78.5, "upper": 87.0}})
    t["tier"] = verdict.tiers(t)
    v = verdict.verdict(t)
    assert v.best == "y/measured" and v.top_group == ["y/measured"]
    assert v.lines == ["Best: y/measured, measured 88.1 (paper, Table 4; predicted 80.0), confidence measured; the "
                       "only candidate with upper-bound rank 1."]
    t.loc[0, ["ranked_by", "in_domain"]] = ["prediction", False]
    t["tier"] = verdict.tiers(t)
    v = verdict.verdict(t)
    assert v.best is None and v.best_in_domain == "y/second" and "not a pick" in v.lines[0]


def test_not_ranked_rows_are_listed_with_their_reason_and_never_in_the_top_group():
    t = table(**{"z/ok": {}, "z/nosize": {"rank": pd.NA, "rank_upper": pd.NA, "ranked_by": "", "prediction": np.nan,
                                          "not_ranked": "size unknown: add Params (B)"}})
    t["tier"] = verdict.tiers(t)
    v = verdict.verdict(t)
    assert v.top_group == ["z/ok"] and v.not_ranked == [{"hf_id": "z/nosize", "reason": "size unknown: add Params (B)"}]
    assert "Not ranked (1): z/nosize (size unknown: add Params (B))." in v.lines
    assert "z/nosize" not in v.tiers


def test_build_carries_not_ranked_rows_unpredicted_after_the_ranked_ones(served):
    b, X = served
    cands = pd.DataFrame([row("org/ok", X), row("org/nosize", X, params_b=np.nan)]).assign(
        source="typed table", settings="leaderboard", not_ranked=["", "size unknown: add Params (B)"])
    short = ranking.build(cands, b)
    t = short.table
    assert list(t["hf_id"]) == ["org/ok", "org/nosize"]
    held = t.set_index("hf_id").loc["org/nosize"]
    assert pd.isna(held["prediction"]) and pd.isna(held["rank"]) and held["tier"] == ""
    assert held["not_ranked"] == "size unknown: add Params (B)"
    assert t.set_index("hf_id").loc["org/ok", "tier"] == "high"
    assert list(t.columns[:4]) == ["hf_id", "rank", "rank_upper", "tier"]
