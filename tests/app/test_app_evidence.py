"""The Evidence page and the evidence lines of the Predict page (AppTest against a database the real
pipeline built), and the sentences of advisor.predict.evidence on hand-made rows. Expected numbers are read
from the database's tables with SQL here, not from the page's code."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from advisor.predict import evidence

ROOT = Path(__file__).resolve().parents[2]


def test_sentence_with_skill_names_the_three_errors():
    row = {"skill": "skill", "nested_mae_mean": 3.04, "lineage_out_mae": 3.16, "size_baseline_mae": 4.41,
           "mean_baseline_mae": 6.7}
    assert evidence.sentence(row, "regression") == (
        "Regression: out of sample this predictor is off by 3.0 points on average (3.2 for a lineage it "
        "has never seen); ranking by size alone would be off by 4.4.")


def test_sentence_without_skill_says_so_and_does_not_rank():
    row = {"skill": "no_skill", "nested_mae_mean": 4.6, "lineage_out_mae": 4.67, "mean_baseline_mae": 4.65,
           "size_baseline_mae": 4.9}
    s = evidence.sentence(row, "bradley_terry")
    assert s.startswith("Bradley-Terry: no skill.") and "4.7 points" in s and "(4.7)" in s
    assert "not ranked" in s


def test_sentence_without_evidence_and_of_a_serving_build():
    assert "no out-of-sample evidence" in evidence.sentence(None, "regression")
    row = {"skill": "skill", "nested_mae_mean": math.nan, "lineage_out_mae": 3.1, "size_baseline_mae": 4.0}
    assert evidence.sentence(row, "regression") == (
        "Regression: for a lineage it has never seen, this predictor is off by 3.1 points on average; "
        "ranking by size alone would be off by 4.0. (The repeated nested CV is not in this build yet: "
        "the full evaluation publishes it.)")


def test_served_row_prefers_the_normalized_scale():
    import pandas as pd

    t = pd.DataFrame([{"scale": "raw", "method": "regression", "target": "score", "skill": "skill"},
                      {"scale": "normalized", "method": "regression", "target": "score", "skill": "no_skill"}])
    assert evidence.served_row(t, "regression")["scale"] == "normalized"
    assert evidence.served_row(t, "regression", scale="raw")["skill"] == "skill"
    assert evidence.served_row(t, "bradley_terry") is None


@pytest.fixture
def served(app_db):
    con = duckdb.connect(str(app_db), read_only=True)
    try:
        return con.execute("SELECT * FROM predictor_served").fetchdf()
    finally:
        con.close()




def _texts(at) -> str:
    return "\n".join([*(m.value for m in at.markdown), *(m.value for m in at.warning),
                      *(m.value for m in at.success), *(m.value for m in at.info)])


def test_evidence_page_states_each_methods_errors_and_skill(app, served):
    at = app("evidence")
    text = _texts(at)
    for method, label in (("regression", "Regression"), ("bradley_terry", "Bradley-Terry")):
        r = served[(served.scale == "normalized") & (served.method == method) & (served.target == "score")]
        r = r.iloc[0]
        assert f"{r.lineage_out_mae:.1f}" in text
        if r.skill == "skill":
            assert f"{label}: out of sample this predictor is off by {r.nested_mae_mean:.1f} points" in text
        else:
            assert f"{label}: no skill." in text
    # every spec and baseline of the selection, and four charts (skill CIs, out-of-sample predictions,
    # per-lineage errors, calibration)
    specs = next(d.value for d in at.dataframe if "lineage_out_mae" in d.value.columns
                 and "kind" in d.value.columns)
    assert {"mean", "size", "best_single", "oll_average"} <= set(specs["name"])
    assert {"spec", "baseline"} <= set(specs["kind"])
    charts = [e for e in at.get("plotly_chart")]
    assert len(charts) == 4


def test_evidence_page_follows_the_method_and_protocol(app, app_db):
    at = app("evidence")
    at.radio(key="ev_method").set_value("bradley_terry").run()
    at.radio(key="ev_protocol").set_value("nested").run()
    assert not at.exception
    specs = next(d.value for d in at.dataframe if "kind" in d.value.columns)
    con = duckdb.connect(str(app_db), read_only=True)
    want = con.execute("""SELECT name, lineage_out_mae FROM predictor_evidence WHERE scale = 'normalized'
                          AND method = 'bradley_terry' AND target = 'score' ORDER BY name""").fetchdf()
    con.close()
    got = specs.sort_values("name")[["name", "lineage_out_mae"]].reset_index(drop=True)
    assert list(got["name"]) == list(want["name"])
    assert got["lineage_out_mae"].to_numpy() == pytest.approx(want["lineage_out_mae"].to_numpy())


def test_predict_page_shows_both_evidence_lines_above_the_ranking(app_db, monkeypatch, served):
    monkeypatch.setenv("RM_ADVISOR_DB", str(app_db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["typed"] = {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"hf_id": "org/a-7b", "params_b": 7.0, "leaderboard_ifeval": 70, "leaderboard_bbh": 35,
         "leaderboard_math_hard": 20, "leaderboard_gpqa": 8, "leaderboard_musr": 10,
         "leaderboard_mmlu_pro": 35}]}
    at.run()
    assert not at.exception
    text = _texts(at)
    assert "Regression: out of sample this predictor is off by" in text
    bt = served[(served.scale == "normalized") & (served.method == "bradley_terry") & (served.target == "score")]
    if bt.skill.iloc[0] == "no_skill":
        assert "Bradley-Terry: no skill." in text
    table = next(d.value for d in at.dataframe if "size_rank" in d.value.columns)
    assert {"skill", "spec", "size_rank", "nearest_measured"} <= set(table.columns)
