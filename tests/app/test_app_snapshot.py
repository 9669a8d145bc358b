"""Every figure and number the app shows is unchanged by a refactor (issue 18).

tests/fixtures/app_snapshot.json.gz was written by ``tests/support/app_snapshot.py`` from the app as it was
before the one-home refactor (commit ad32718), against a database built with configs/quick.yaml. This
test builds the same database with the current pipeline, walks the same pages and interactions, and
compares everything shown (text, tables, plotly specs, widgets). A change the app *should* show is
recorded by rewriting the snapshot (`UPDATE_SNAPSHOT=1 pytest tests/app/test_app_snapshot.py`) in the same
commit, with the reason in its message.

Rewritten on purpose since: schema 3 (the 8 analysis tables no page read are gone, so the Data page's
table counts and schema version changed), and the test database is built with its work dir in a temp
dir (the Data page's run config shows it); presence_hist is no longer created (read by no page); models
with equal RewardBench scores are listed by hf_id (store.rm_table's tie-break: their order was whatever
DuckDB's parallel sort returned), which swaps two tied rows of the RM results table and three tied bars
of Fig. 2 (same values); transfer became a stage of its own (issue 25: the configs list
``stages: [ingest, predictor, transfer]``), so the Data page's last run and its configuration name it;
the 15 RewardBench 2 Qwen sweep runs added to data/external (issue 24): the
Across recipes page (18 comparisons instead of 15, every number, option and chart of it) and the Data
page (external_rm_groups: origin text, 104 rows, its sha256; the row counts of external_rm_results,
transfer_agreement, transfer_predictions); every other page identical. Issue 24 (an honest headline):
the served procedure's inner CV averages 20 seeds and candidates of a lineage never seen get the
lineage-out interval, so every prediction, interval, rank and `widened_why` on the Predict page and in
the `rank` outputs moved, and both evidence lines read the new sentence (lineage-out error ± its seed
spread, size with the lineage-bootstrap difference); the Evidence page (its intro text, the served
table's new columns and numbers, the new "intervals served" section with its misses, the calibration
caption and figure); the Benchmarks page's predictor coverage curves (its out-of-fold predictions); the
Across recipes page (Bradley-Terry's predictions of the external bases and its agreement numbers; the
regression order of the bases is unchanged); the Data page's schema version (3 -> 4). Home, RM results,
Pre-training and Capabilities identical.
"""

import os
from pathlib import Path

from tests.support import app_snapshot

SNAPSHOT = Path(__file__).resolve().parents[1] / "fixtures" / "app_snapshot.json.gz"


def test_every_page_shows_what_it_showed_before_the_refactor(app_db):
    after = app_snapshot.collect(app_db)
    if os.environ.get("UPDATE_SNAPSHOT"):
        app_snapshot.save(after, SNAPSHOT)
    before = app_snapshot.load(SNAPSHOT)
    assert sorted(after) == sorted(before), "the scenarios changed: rewrite the snapshot on purpose"
    problems = {name: app_snapshot.differences(before[name], after[name]) for name in before}
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, "\n".join(f"{name}:\n  " + "\n  ".join(lines) for name, lines in problems.items())


def test_the_comparison_sees_a_changed_number():
    """The snapshot comparison itself can fail: one digit changed deep in a table is reported."""
    before = app_snapshot.load(SNAPSHOT)
    name = next(k for k, v in before.items() if any(e["type"] == "dataframe" and e["value"]["data"] for e in v))
    after = app_snapshot.load(SNAPSHOT)
    frame = next(e for e in after[name] if e["type"] == "dataframe" and e["value"]["data"])
    row = frame["value"]["data"][0]
    i = next(j for j, v in enumerate(row) if isinstance(v, (int, float)) and not isinstance(v, bool))
    row[i] = row[i] + 1
    lines = app_snapshot.differences(before[name], after[name])
    assert len(lines) == 1 and "/value/data[0]" in lines[0], lines
