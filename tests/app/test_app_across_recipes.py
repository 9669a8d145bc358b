"""AppTest of the Across recipes page and of the own-results check on the Reward-model results page,
against a database the real pipeline built; expected numbers are read from the database tables."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]




def _specs(node):
    for child in getattr(node, "children", {}).values():
        proto = getattr(child, "proto", None)
        if type(child).__name__ == "UnknownElement" and hasattr(proto, "spec") and proto.spec:
            yield json.loads(proto.spec)
        yield from _specs(child)


def test_across_recipes_shows_order_numbers_and_caveats(app, app_db):
    at = app("across_recipes")
    assert at.title[0].value == "Across recipes"
    assert "Read with care" in at.info[0].value and "RewardBench 2" in at.info[0].value
    comp = at.selectbox(key="transfer_comparison").value
    method = at.radio(key="transfer_method").value
    with duckdb.connect(str(app_db), read_only=True) as con:
        row = con.execute("SELECT spearman, kendall, top_agrees FROM transfer_agreement WHERE comparison = ? AND "
                          "advisor_method = ?", [comp, method]).fetchone()
        bases = con.execute("SELECT base_hf_id, observed_rank, predicted_rank FROM transfer_predictions WHERE "
                            "comparison = ? AND advisor_method = ?", [comp, method]).fetchall()
        n_comp = con.execute("SELECT count(DISTINCT comparison) FROM transfer_agreement WHERE spearman IS NOT NULL "
                             "AND advisor_method IN ('regression', 'bradley_terry')").fetchone()[0]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Spearman"] == f"{row[0]:+.2f}" and metrics["Kendall"] == f"{row[1]:+.2f}"
    assert metrics["Top pick"] == ("agrees" if row[2] else "differs")
    spec = next(s for s in _specs(at.main) if "Observed vs predicted" in s["layout"]["title"]["text"])
    traces = {t["name"]: t["y"] for t in spec["data"]}
    assert traces == {b: [o, p] for b, o, p in bases}  # one line per base: observed rank -> predicted rank
    assert len(at.selectbox(key="transfer_comparison").options) == n_comp
    # another comparison and the other predictor: the numbers follow
    other = at.selectbox(key="transfer_comparison").options[-1]
    at.selectbox(key="transfer_comparison").set_value(other).run()
    assert not at.exception
    md = " ".join(m.value for m in at.markdown)
    assert "**Recipe:**" in md and "**Benchmark:**" in md


def test_rm_results_page_checks_an_own_results_file(app):
    at = app("rm_results")
    assert at.subheader[-1].value == "Your own reward-model results"
    # AppTest cannot upload; the page's check is advisor.formats.user_rm.parse + command (tested in test_user_rm.py),
    # and the browser test uploads through the real widget.
    assert at.radio(key="user_rm_method").value == "regression"
