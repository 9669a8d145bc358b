"""Issue 26, item 3: a table for reading and one for machines (advisor.predict.export). Fast: hand-made
shortlist tables; every expected cell is written out here."""

from __future__ import annotations

import io
import json
import math

import pandas as pd
import pytest

from advisor.predict import export

ROWS = [  # a measured row, a clamped and cut predicted one, an imputed partial one, one not ranked
    {"hf_id": "google/gemma-2-9b-it", "rank": 1, "rank_upper": 1, "tier": "measured", "ranked_by": "measured",
     "ranking_score": 88.1, "measured_score": 88.1, "measured_source": "paper, Table 4", "prediction": 83.94,
     "lower": 78.0, "upper": 89.8, "lower_cut": False, "upper_cut": False, "size_rank": 2, "skill": "skill",
     "extrapolated": [], "imputed": [], "in_domain": True, "partial_method": "", "rank_note": "",
     "settings": "leaderboard", "params_b": 9.24, "not_ranked": ""},
    {"hf_id": "meta-llama/Llama-4-Scout-17B-16E", "rank": 2, "rank_upper": 1, "tier": "low",
     "ranked_by": "prediction", "ranking_score": 85.6, "measured_score": math.nan, "measured_source": "",
     "prediction": 85.6, "lower": 70.54, "upper": 100.0, "lower_cut": False, "upper_cut": True, "size_rank": 1,
     "skill": "skill", "extrapolated": ["leaderboard_mmlu_pro", "params_b"], "imputed": [], "in_domain": False,
     "partial_method": "reduced spec ridge_oll_mean_log_params on mean(mmlu_pro), log_params_b",
     "rank_note": "indistinguishable from org/twin: the same inputs", "settings": "other", "params_b": 109.0,
     "not_ranked": ""},
    {"hf_id": "org/[small](http://x.example)", "rank": 3, "rank_upper": 2, "tier": "medium",
     "ranked_by": "prediction", "ranking_score": 70.04, "measured_score": math.nan, "measured_source": "",
     "prediction": 70.04, "lower": 61.0, "upper": 79.06, "lower_cut": False, "upper_cut": False, "size_rank": 3,
     "skill": "skill", "extrapolated": [], "imputed": ["leaderboard_musr", "pretrain_tokens_t"], "in_domain": True,
     "partial_method": "imputation", "rank_note": "", "settings": "leaderboard", "params_b": 1.5,
     "not_ranked": ""},
    {"hf_id": "Qwen/Qwen3-4B", "rank": pd.NA, "rank_upper": pd.NA, "tier": "", "ranked_by": math.nan,
     "ranking_score": math.nan, "measured_score": math.nan, "measured_source": math.nan, "prediction": math.nan,
     "lower": math.nan, "upper": math.nan, "lower_cut": math.nan, "upper_cut": math.nan, "size_rank": pd.NA,
     "skill": math.nan, "extrapolated": math.nan, "imputed": math.nan, "in_domain": math.nan,
     "partial_method": math.nan, "rank_note": math.nan, "settings": "other", "params_b": math.nan,
     "not_ranked": "size unknown: add Params (B)"},
]


def table() -> pd.DataFrame:
    t = pd.DataFrame(ROWS)
    for c in ("rank", "rank_upper", "size_rank"):
        t[c] = t[c].astype("Int64")
    return t


def cells(col: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in col]


def test_the_reading_table_has_nine_labelled_columns_and_blank_missing_values():
    r = export.reading_table(table(), 0.9)
    assert list(r.columns) == ["Rank", "Candidate", "Confidence", "RewardBench", "90% interval",
                               "Upper-bound rank", "Size (B)", "Size rank", "Flags"]
    assert len(r.columns) <= 10
    assert r["Rank"].tolist()[:3] == [1, 2, 3] and r["Rank"].isna().tolist() == [False] * 3 + [True]
    # measured first: its score is the measurement, and a measurement has no interval (it is a point)
    assert r["RewardBench"].tolist()[:3] == [88.1, 85.6, 70.04] and math.isnan(r["RewardBench"][3])
    assert cells(r["90% interval"]) == [None, "70.5–100.0", "61.0–79.1", None]
    assert cells(r["Confidence"]) == ["measured", "low", "medium", None]
    assert r["Size (B)"].tolist()[:3] == [9.24, 109.0, 1.5] and math.isnan(r["Size (B)"][3])
    assert cells(r["Flags"]) == [
        "measured (paper, Table 4); predicted 83.9",
        "out of domain; clamped: MMLU-PRO, size; partial (reduced spec); other settings; cut at 100; "
        "same inputs as org/twin",
        "imputed: MUSR, tokens",
        "not ranked: size unknown: add Params (B)"]
    assert export.reading_table(table(), 0.8).columns[4] == "80% interval"


def test_the_compact_markdown_has_the_verdict_first_eight_columns_and_no_raw_missing_values():
    verdict = {"summary": ["Best: google/gemma-2-9b-it, measured 88.1.", "Not ranked (1): Qwen/Qwen3-4B."]}
    md = export.export_shortlist(table(), "markdown", "1.0+abc", 0.9, verdict)
    lines = md.splitlines()
    assert lines[:4] == ["Verdict:", "", "- Best: google/gemma-2-9b-it, measured 88.1.",
                         "- Not ranked (1): Qwen/Qwen3-4B."]
    assert lines[5] == "Intervals: 90% (the predictor's conformal intervals); predictor version `1.0+abc`."
    header = lines[7]
    assert header == ("| Rank | Candidate | Confidence | RewardBench | 90% interval | Upper-bound rank | "
                      "Size (B) | Flags |") and header.count("|") - 1 == 8
    rows = [ln for ln in lines if ln.startswith("| ") and ln != header]
    assert rows[0] == ("| 1 | google/gemma-2-9b-it | measured | 88.1 | — | 1 | 9.24 | measured (paper, Table 4); "
                       "predicted 83.9 |")
    assert rows[3] == "| — | Qwen/Qwen3-4B | — | — | — | — | — | not ranked: size unknown: add Params (B) |"
    assert all(line.count("|") == 9 for line in rows)  # no cell broke the table
    assert "org/\\[small\\](http" in rows[2] and "](http" not in md.replace("\\](", "")  # an id is escaped
    for raw in ("nan", "None", "<NA>", "&lt;NA&gt;"):
        assert raw not in md


def test_top_n_limits_the_markdown_and_says_how_many_rows_are_left_out():
    md = export.export_shortlist(table(), "markdown", "v", 0.9, top=2)
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and not ln.startswith("| Rank")]
    assert len(rows) == 2 and md.rstrip().endswith("2 more row(s) in the full table (CSV or JSON).")
    assert export.export_shortlist(table(), "markdown", "v", 0.9).count("more row(s)") == 0  # 4 rows < 10


def test_csv_and_json_are_the_full_table_with_the_version_and_the_interval_level():
    csv = pd.read_csv(io.StringIO(export.export_shortlist(table(), "csv", "v1", 0.9)))
    assert list(csv.columns) == ["predictor_version", "interval_level", *table().columns]
    assert set(csv["interval_level"]) == {0.9} and set(csv["predictor_version"]) == {"v1"}
    assert csv["imputed"].tolist()[2] == "leaderboard_musr; pretrain_tokens_t"  # lists joined
    doc = json.loads(export.export_shortlist(table(), "json", "v1", 0.9, {"summary": ["x"]},
                                             extra={"what_to_measure_next": []}))
    assert list(doc) == ["verdict", "predictor_version", "interval_level", "what_to_measure_next", "rows"]
    assert doc["interval_level"] == 0.9 and len(doc["rows"]) == 4 and doc["rows"][3]["rank"] is None
    top = json.loads(export.export_shortlist(table(), "json", "v1", 0.9, top=2))
    assert [r["hf_id"] for r in top["rows"]] == ["google/gemma-2-9b-it", "meta-llama/Llama-4-Scout-17B-16E"]
    with pytest.raises(ValueError, match="use one of csv, json, markdown"):
        export.export_shortlist(table(), "xml", "v1", 0.9)


def test_every_details_column_of_the_shortlist_has_a_label():
    from advisor.predict.shortlist import OUTPUT_COLUMNS

    labels = export.column_labels(0.9)
    assert not [c for c in [*OUTPUT_COLUMNS, "tier", "nearest_measured"] if c not in labels]
    assert labels["lower"] == "Lower (90%)" and labels["prov_params_b"] == "#Params (B) from"
