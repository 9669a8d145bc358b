"""Every figure and number the app shows is unchanged by a refactor (issue 18).

tests/fixtures/app_snapshot.json.gz was written by ``tests/support/app_snapshot.py`` from the app as it was
before the one-home refactor (commit ad32718), against a database built with configs/quick.yaml. This
test builds the same database with the current pipeline, walks the same pages and interactions, and
compares everything shown (text, tables, plotly specs, widgets). A change the app *should* show is
recorded by rewriting the snapshot (`UPDATE_SNAPSHOT=1 pytest tests/app/test_app_snapshot.py`) in the same
commit, with the reason in its message.

Rewritten on purpose since: schema 3 (the 8 analysis tables no page read are gone, so the Data page's table
counts and schema version changed), and the test database is built with its work dir in a temp dir (the Data
page's run config shows it); presence_hist is no longer created (read by no page); models with equal
RewardBench scores are listed by hf_id (store.rm_table's tie-break: their order was whatever DuckDB's
parallel sort returned), which swaps two tied rows of the RM results table and three tied bars of Fig. 2
(same values); transfer became a stage of its own (issue 25: the configs list ``stages: [ingest, predictor,
transfer]``), so the Data page's last run and its configuration name it; the 15 RewardBench 2 Qwen sweep
runs added to data/external (issue 24): the Across recipes page (18 comparisons instead of 15, every number,
option and chart of it) and the Data page (external_rm_groups: origin text, 104 rows, its sha256; the row
counts of external_rm_results, transfer_agreement, transfer_predictions); every other page identical; the
candidate table (issue 24, advisor.predict.candidates): the Predict page's upload tab gains the 'Params (B)'
box for JSON files; its ranked table gains the provenance columns (prov_*, size_source, not_ranked, known,
ambiguous); a picked leaderboard model of size 0 (JungZoona/T3Q-Qwen2.5-14B-Instruct-1M-e3) is not ranked (a
warning and a caption say so: 24 ranked instead of 25); the known models take their pre-training tokens from
the models table (a note; their nearest known models change and Falcon3-7B-Instruct and Qwen2.5-7B-Instruct
are now in domain, so the out-of-domain warning goes); `rank` on recent_bases.csv lists the three Qwen3 rows
of unknown size as not ranked, and Llama-3.3-70B-Instruct takes MATH Lvl 5 from its leaderboard row
(regression 87.20 -> 88.94, rank 5 -> 3); every other prediction identical. Issue 24's verdict: the Predict
page (all four scenarios and the empty page) shows the size slider's new label (its right end means no upper
limit), the verdict above the table instead of the best-candidate metrics, the tier list, the table's new
columns (tier, ranked_by, ranking_score, measured source, cut flags, category intervals, rank_note,
not_ranked) and order, the known models ranked by their measured scores (gemma-2-9b-it first) with
Falcon3-7B-Instruct and Qwen2.5-7B-Instruct now in domain, the low-tier warning, the chart with tier markers
and open ends, and the exports led by the verdict; the rank command's CSV has the same columns and its
stderr the verdict lines. Every prediction and interval is unchanged; every other page identical. Issue 24
(an honest headline): the served procedure's inner CV averages 20 seeds and candidates of a lineage never
seen get the lineage-out interval, so every prediction, interval, rank and `widened_why` on the Predict page
and in the `rank` outputs moved, and both evidence lines read the new sentence (lineage-out error ± its seed
spread, size with the lineage-bootstrap difference); the Evidence page (its intro text, the served table's
new columns and numbers, the new "intervals served" section with its misses, the calibration caption and
figure); the Benchmarks page's predictor coverage curves (its out-of-fold predictions); the Across recipes
page (Bradley-Terry's predictions of the external bases and its agreement numbers; the regression order of
the bases is unchanged); the Data page's schema version (3 -> 4). Home, RM results, Pre-training and
Capabilities identical. Issue 26 (figures and theme): the Reward-model results page (the publisher filter and
table spell Falcon's publisher TII and Yi's 01.AI, as their lineages; Fig. 2 as a panel per size group with the
baseline drawn as a red diamond; Table 1 with the base row and a Δ column after each category; labelled
columns); the Benchmarks page (the coverage plot's chance line k/40, the k = 5 / 10 marks and their caption);
the Evidence page (the chosen method's evidence line in a box and the other's as a caption below the selectors,
labelled tables, the served procedure as one row 'served (= spec)', the paper's model or why it is missing,
the calibration chart for the chosen target, a series per protocol); the Predict page (the evidence line of the
method not chosen is a caption instead of a warning box or plain text). No number shown before changed; Home,
Across recipes, Pre-training, Capabilities and Data identical.
Issue 26 (state and picking): the Predict page (the empty page and all four scenarios) gains the "Load the
example" button, the typed table's "Use these rows" button, the picker's
"Search every model id" label, its three switches (official providers only, hide merges, hide reward
models: on) and "Add N selected" in place of the "Models to add" chooser, the picker's table draws up to
1,000 rows (was 200) with official providers' models first, and the picked models are chips ("Picked (25):
remove one with its x"). So "Add the first 25 matching" now adds the 25 official providers' models of
highest leaderboard rank (Qwen, Meta, AllenAI, NVIDIA ...) instead of the first 25 by rank (mostly merges
and fine-tunes): the ranked table of the pick scenarios lists those, all 25 ranked (the size-0 row and its
warning are gone). The known-models scenario's ranking is identical; every other page identical.
Issue 26 (the decision table): on the Predict page (all four ranked scenarios) the
caption above the table (the interval level, the reading columns), the table for reading (nine labelled
columns) with the full table, unchanged cell for cell, moved into an "All columns" expander; the no-skill and
low-tier warnings name the flags instead of raw columns; the chart's axis names the 90% level; new: what to
measure next (its lines, or the button that works them out), cost against quality (the figure, its caption),
why it ranks here (a selectbox, a table), the export caption, a rows box, and the Markdown preview as a
code box holding the compact table; the `rank` CSV gains the interval_level column after predictor_version
(every other cell and its stderr identical). Every other page identical.
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


def _typed_arrays(node, path=""):
    """(path, node) of every plotly typed array of float64 in a snapshot tree."""
    if isinstance(node, dict):
        if node.get("dtype") == "f8" and isinstance(node.get("bdata"), str):
            yield path, node
        for k, v in node.items():
            yield from _typed_arrays(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _typed_arrays(v, f"{path}[{i}]")


def test_last_bits_of_floats_are_noise_and_real_changes_are_not():
    """Issue 27: the same pins on another CPU change the last bits of the PCA loadings and the Evidence
    page's error bars. The comparison decodes plotly's base64 float arrays and compares the tables' numbers
    up to floating-point noise (relative 1e-9); one part in a million, a count or a text is a difference."""
    import base64

    import numpy as np

    before = app_snapshot.load(SNAPSHOT)
    name = next(k for k, v in before.items() if list(_typed_arrays(v)))
    after = app_snapshot.load(SNAPSHOT)
    where, node = next(_typed_arrays(after[name]))
    values = np.frombuffer(base64.b64decode(node["bdata"]), dtype="f8").copy()
    noisy = np.nextafter(np.nextafter(values, np.inf), np.inf)  # two ulps up: other bytes, the same numbers
    node["bdata"] = base64.b64encode(noisy.tobytes()).decode()
    assert node["bdata"] != dict(_typed_arrays(before[name]))[where]["bdata"]
    assert app_snapshot.differences(before[name], after[name]) == []
    i = int(np.flatnonzero(np.isfinite(values) & (values != 0))[0])  # a p-value of 2.6e-07 in this snapshot
    changed = noisy.copy()
    changed[i] *= 1 + 1e-6
    node["bdata"] = base64.b64encode(changed.tobytes()).decode()
    lines = app_snapshot.differences(before[name], after[name])
    assert len(lines) == 1 and lines[0].startswith(where) and f"first difference at [{i}]" in lines[0], lines
    # table cells: rounded to 9 significant digits, so a hair's difference may land one step apart
    assert app_snapshot.differences({"v": [0.123456789, 0.0]}, {"v": [0.12345679, 3e-17]}) == []
    assert app_snapshot.differences({"v": [0.5, 40]}, {"v": [0.5000005, 41]}) == ["/v[0]: 0.5 != 0.5000005",
                                                                                 "/v[1]: 40 != 41"]
    assert app_snapshot.differences({"t": "Mean error 4.23"}, {"t": "Mean error 4.24"}) != []
