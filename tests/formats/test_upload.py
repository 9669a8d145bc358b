"""advisor/formats/upload.py: CSV and lm-eval uploads become a clean candidate table plus messages that name
the file, row, column and fix; bad cells are dropped (imputed later) and the rest still predicts."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from advisor.formats import upload

HEADER = "Model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO,Params (B)\n"


def test_columns_matched_case_and_punctuation_insensitively():
    data = (b"hf_id,ifeval,B.B.H,math_lvl_5,GPQA ,musr,MMLU PRO,#Params (B)\n"
            b"org/a,71.5,40.25,20,8,9,30.5,7.6\n")
    c = upload.parse_csv(data, "c.csv", scale="normalized")
    assert c.errors == [] and c.warnings == []
    row = c.frame.iloc[0]
    assert row["hf_id"] == "org/a"
    assert row["leaderboard_ifeval"] == 71.5
    assert row["leaderboard_bbh"] == 40.25
    assert row["leaderboard_math_hard"] == 20
    assert row["leaderboard_mmlu_pro"] == 30.5
    assert row["params_b"] == 7.6
    assert c.scale == "normalized" and c.notes == []  # explicit scale: no detection note


@pytest.mark.parametrize("values, scale", [("0.71,0.40,0.2,0.3,0.41,0.33", "raw"),
                                           ("71,40,20,8,9,30", "normalized")])
def test_scale_detected_with_a_visible_note(values, scale):
    c = upload.parse_csv((HEADER + f"org/a,{values},7\n").encode(), "c.csv")
    assert c.scale == scale
    assert len(c.notes) == 1 and f"detected as '{scale}'" in c.notes[0] and c.notes[0].startswith("c.csv")
    # params (a count) never decides the scale: 7 > 1 but the raw table stays raw
    assert c.frame["params_b"].iloc[0] == 7


def test_text_cell_names_row_column_and_fix_and_rest_survives():
    data = (HEADER + "org/a,71,40,20,8,9,30,7\norg/b,abc,41,21,9,10,31,3\n").encode()
    c = upload.parse_csv(data, "cands.csv", scale="normalized")
    assert c.errors == ["cands.csv, row 3, column 'IFEval': 'abc' is not a number. Fix: enter a number "
                        "on the 'normalized' scale or leave the cell empty (it is then imputed)."]
    assert list(c.frame["hf_id"]) == ["org/a", "org/b"]
    assert math.isnan(c.frame["leaderboard_ifeval"].iloc[1])
    assert c.frame["leaderboard_bbh"].iloc[1] == 41


def test_value_outside_declared_scale_is_rejected_cell_by_cell():
    data = (HEADER + "org/a,71,40,20,8,9,30,7\n").encode()
    c = upload.parse_csv(data, "r.csv", scale="raw")
    # every benchmark cell is above 1, the params cell (a count) is fine
    assert len(c.errors) == 6
    assert c.errors[0].startswith("r.csv, row 2, column 'IFEval': 71 is outside the 'raw' scale (0 to 1)")
    assert "Fix: choose the scale" in c.errors[0]
    assert c.frame["params_b"].iloc[0] == 7
    neg = upload.parse_csv((HEADER + "org/a,71,40,20,8,9,30,-2\n").encode(), "n.csv", scale="normalized")
    assert neg.errors == ["n.csv, row 2, column 'Params (B)': -2 is outside the 'count' scale (at least 0); "
                          "the cell is ignored; the size is looked up by model id, else the row is not "
                          "ranked. Fix: enter the size in billions, e.g. 7.6."]  # a size is never imputed


def test_unknown_columns_warned_and_ignored():
    c = upload.parse_csv(b"model,IFEval,Vibes,Colour\norg/a,50,1,2\n", "u.csv", scale="normalized")
    assert c.errors == []
    assert len(c.warnings) == 1
    assert "ignored 2 unknown column(s): 'Vibes', 'Colour'" in c.warnings[0]
    assert list(c.frame.columns) == ["hf_id", "leaderboard_ifeval"]


def test_duplicate_models_keep_first_row_and_say_so():
    data = (HEADER + "org/a,71,40,20,8,9,30,7\norg/b,60,30,10,5,6,20,3\norg/a,1,2,3,4,5,6,7\n").encode()
    c = upload.parse_csv(data, "d.csv", scale="normalized")
    assert c.warnings == ["d.csv: model 'org/a' appears in rows 2, 4; kept row 2. Fix: keep one row per model."]
    assert list(c.frame["hf_id"]) == ["org/a", "org/b"]
    assert c.frame.set_index("hf_id").loc["org/a", "leaderboard_ifeval"] == 71


def test_missing_model_id_and_missing_model_column():
    c = upload.parse_csv((HEADER + ",71,40,20,8,9,30,7\n").encode(), "m.csv", scale="normalized")
    assert c.errors[0].startswith("m.csv, row 2, column 'Model': the model id is empty")
    assert list(c.frame["hf_id"]) == ["row 2"]
    c = upload.parse_csv(b"IFEval,BBH\n50,40\n", "n.csv", scale="normalized")
    assert c.errors[0].startswith("n.csv: no model column. Fix: add a column named 'model'")
    assert c.frame["leaderboard_bbh"].iloc[0] == 40


def test_empty_oversized_and_unreadable_files():
    assert upload.parse_csv(b"", "e.csv").errors == [
        "e.csv: the file is empty. Fix: upload a file with a header line and one row per model."]
    assert upload.parse_csv(HEADER.encode(), "h.csv").errors == [
        "h.csv: the header is there but no rows. Fix: add one row per model."]
    big = upload.parse_csv(b"x" * (50 * 2**20), "big.csv")
    assert big.errors == ["big.csv: 50.0 MB; the limit is 10 MB. Fix: upload only the candidate rows "
                          "(a few thousand models fit in well under 1 MB)."]
    assert big.frame.empty
    bad = upload.parse_csv(b"\xff\xfe\x00garbage", "bin.csv")
    assert bad.errors[0].startswith("bin.csv: not UTF-8 text") and "Fix: save the file as CSV UTF-8" in bad.errors[0]
    none = upload.parse_csv(b"model,colour\norg/a,red\n", "x.csv")
    assert any(e.startswith("x.csv: no benchmark column recognised") for e in none.errors)


def test_tab_separated_file():
    c = upload.parse_csv(b"model\tIFEval\tBBH\norg/a\t50\t40\n", "t.tsv", scale="normalized")
    assert c.errors == [] and c.frame["leaderboard_bbh"].iloc[0] == 40


def lmeval_doc(model="org/tiny-7b"):
    """A minimal lm-eval 0.4.x results file: IFEval (both strict metrics) and GPQA (task level)."""
    return {"results": {"leaderboard_ifeval": {"alias": "leaderboard_ifeval",
                                               "prompt_level_strict_acc,none": 0.5,
                                               "inst_level_strict_acc,none": 0.6},
                        "leaderboard_gpqa": {"alias": "leaderboard_gpqa", "acc_norm,none": 0.4}},
            "config": {"model_args": f"pretrained={model},dtype=bfloat16"}, "model_name": model,
            "lm_eval_version": "0.4.13", "date": 1732600000.0}


def test_lmeval_json_becomes_one_candidate_on_the_leaderboard_scale():
    c = upload.parse_upload(json.dumps(lmeval_doc()).encode(), "results_2024.json")
    assert c.errors == []
    row = c.frame.iloc[0]
    assert row["hf_id"] == "org/tiny-7b"
    assert c.scale == "normalized"
    # leaderboard normalisation: IFEval = mean of the two strict accuracies x 100; GPQA rescaled from
    # chance 1/4: (0.4 - 0.25) / 0.75 x 100 = 20
    assert row["leaderboard_ifeval"] == pytest.approx(55.0)
    assert row["leaderboard_gpqa"] == pytest.approx(20.0)
    assert "results for 'org/tiny-7b'" in c.notes[0]
    named = upload.parse_upload(json.dumps(lmeval_doc()).encode(), "r.json", model_id="me/override")
    assert named.frame["hf_id"].iloc[0] == "me/override"


def test_json_that_is_not_lmeval_output_is_a_clear_error():
    c = upload.parse_upload(b'{"accuracy": 0.5}', "other.json")
    assert len(c.errors) == 1 and c.errors[0].startswith("other.json, field 'results': missing")
    assert "Fix: upload the unmodified results_*.json" in c.errors[0]
    assert c.frame.empty
    c = upload.parse_upload(b"{not json", "broken.json")
    assert c.errors[0].startswith("broken.json: not valid JSON")


def test_combine_keeps_first_source_of_a_model_and_records_scale():
    a = upload.parse_csv((HEADER + "org/a,71,40,20,8,9,30,7\n").encode(), "a.csv", scale="normalized")
    b = upload.parse_csv((HEADER + "org/a,0.7,0.4,0.2,0.1,0.1,0.3,7\norg/b,0.6,0.3,0.1,0.1,0.1,0.2,3\n")
                         .encode(), "b.csv", scale="raw")
    frame, warnings = upload.combine([a, b])
    assert list(frame["hf_id"]) == ["org/a", "org/b"]
    assert list(frame["scale"]) == ["normalized", "raw"]
    assert list(frame["source"]) == ["a.csv", "b.csv"]
    assert warnings == ["'org/a' is both in a.csv and b.csv; used a.csv."]
    empty, w = upload.combine([])
    assert empty.empty and w == []


def test_clean_table_from_the_editor_counts_rows_from_one():
    typed = pd.DataFrame({"hf_id": ["x/y", "x/z"], "leaderboard_ifeval": [50.0, "bad"]})
    c = upload.clean_table(typed, "typed table", scale="normalized", first_row=1)
    assert c.errors == ["typed table, row 2, column 'leaderboard_ifeval': 'bad' is not a number. Fix: "
                        "enter a number on the 'normalized' scale or leave the cell empty (it is then imputed)."]


def test_blank_editor_rows_are_dropped_whatever_the_missing_marker():
    typed = pd.DataFrame({"hf_id": [None, "a/b", "  ", pd.NA], "params_b": [float("nan"), 1.0, None, None],
                          "leaderboard_ifeval": [None, None, float("nan"), 3.0]})
    kept = upload.drop_blank_rows(typed)
    assert list(kept.index) == [1, 3]
    c = upload.clean_table(kept, "typed table", scale="normalized", first_row=1)
    assert list(c.frame["hf_id"]) == ["a/b", "row 4"]  # row numbers stay the editor's


# --- input scales, settings and partial rows (issue 20) ---------------------------------------------

CARD = ("model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO,Params (B),settings,source_url\n"
        "org/card,80.1,,45.2,30,,52.3,8,other,https://example.org/card\n"
        "org/full,70,60,20,30,40,50,7,,\n")


def test_percent_values_become_raw_exactly_and_the_row_says_so():
    c = upload.parse_csv(CARD.encode(), "card.csv", scale="percent")
    assert c.errors == [] and c.warnings == []
    card = c.frame.set_index("hf_id").loc["org/card"]
    assert card["leaderboard_mmlu_pro"] == 0.523 and card["leaderboard_ifeval"] == 0.801
    assert card["params_b"] == 8  # a count is never converted
    lab = c.labels.set_index(c.frame["hf_id"])
    assert list(lab["scale"]) == ["raw", "raw"] and c.scale == "raw"
    assert list(lab["input_scale"]) == ["percent", "percent"]
    assert "MMLU-PRO: percent 52.3 -> raw 0.523 (/100)" in lab.loc["org/card", "converted"]
    # settings: the row's own cell, else the table's; partial: the tasks it lacks are named
    assert list(lab["settings"]) == ["other", "leaderboard"]
    assert lab.loc["org/card", "partial"] and lab.loc["org/card", "missing"] == "BBH, MUSR"
    assert not lab.loc["org/full", "partial"]
    assert "other / unknown settings: less certain" in lab.loc["org/card", "note"]
    assert any("converted exactly" in n and "'converted' column" in n for n in c.notes)
    assert any("flagged less certain" in n for n in c.notes)
    assert any("'source_url' kept for reference only" in n for n in c.notes)  # not an unknown column
    # the table-level choice applies where a row gives none
    assert list(upload.parse_csv(CARD.encode(), "card.csv", scale="percent", settings="other")
                .labels["settings"]) == ["other", "other"]


def test_column_and_row_scales_and_a_mixed_row_on_one_scale():
    data = (b"model,IFEval (normalized),BBH (normalized),MATH Lvl 5 (raw),GPQA %,MUSR (normalized),MMLU-PRO\n"
            b"org/mix,70,40,0.2,35,10,38\n")
    c = upload.parse_csv(data, "mix.csv", scale="normalized")
    assert c.errors == [] and c.warnings == []
    row = c.frame.iloc[0]
    # MATH raw 0.2 -> 20; GPQA 35 % -> raw 0.35 -> (0.35 - 0.25) / 0.75 x 100
    assert row["leaderboard_math_hard"] == 20.0 and row["leaderboard_gpqa"] == pytest.approx(40 / 3)
    assert row["leaderboard_ifeval"] == 70 and row["leaderboard_mmlu_pro"] == 38
    lab = c.labels.iloc[0]
    assert lab["scale"] == "normalized" and lab["input_scale"] == "normalized+percent+raw"
    assert "MATH Lvl 5: raw 0.2 -> normalized 20 (exact)" in lab["converted"]
    rows = upload.parse_csv(b"model,GPQA,BBH,scale\norg/a,0.3,0.5,raw\norg/b,40,50,percent\norg/c,10,30,\n",
                            "rows.csv")
    assert rows.errors == [] and list(rows.labels["scale"]) == ["raw", "raw", "normalized"]
    assert rows.frame["leaderboard_gpqa"].tolist() == [0.3, 0.4, 10.0] and rows.scale == "mixed"


def test_a_mix_that_cannot_be_unified_leaves_the_value_out_and_names_it():
    # to raw, BBH and GPQA 0 (at or below chance) would be lost; to normalized only IFEval
    c = upload.parse_csv(b"model,IFEval (raw),BBH (normalized),GPQA (normalized)\norg/x,0.5,30,0\n", "m.csv")
    assert c.labels["scale"].iloc[0] == "normalized"
    assert math.isnan(c.frame["leaderboard_ifeval"].iloc[0])
    assert len(c.warnings) == 1 and c.warnings[0].startswith(
        "m.csv, model 'org/x': IFEval (raw 0.5): not converted to normalized, the leaderboard's IFEval is "
        "the mean of prompt- and instruction-level strict accuracy")
    assert "Fix: give this task on the 'normalized' scale" in c.warnings[0]


def test_percent_over_100_and_raw_over_1_name_the_cell_and_the_fix():
    c = upload.parse_csv(b"model,MMLU-PRO,BBH\norg/a,152.3,40\n", "p.csv", scale="percent")
    assert c.errors == ["p.csv, row 2, column 'MMLU-PRO': 152.3 is outside the 'percent' scale (0 to 100); "
                        "the cell is ignored and imputed. Fix: choose the scale that matches your numbers "
                        "above the table; a percent value is the raw score x 100, at most 100: check 152.3 "
                        "against its source."]
    c = upload.parse_csv(b"model,GPQA (raw)\norg/a,30.5\n", "r.csv")
    assert c.errors[0].startswith("r.csv, row 2, column 'GPQA (raw)': 30.5 is outside the 'raw' scale (0 to 1)")
    assert "if 30.5 is a percentage (e.g. from a model card) choose 'percent', name the column " \
           "'GPQA (percent)'" in c.errors[0]


def test_a_cell_is_judged_by_its_row_a_small_value_in_a_0_100_row_is_kept():
    """Issue 24: a weak model's 0.48 among 0-100 values was called "a raw 0-1 fraction ... scales mixed
    within one column", emptied and imputed. Its row (BBH 45) is plainly on the 0-100 scale, where
    0.48 is a valid value: kept as given, no error, no warning, whatever the table's scale."""
    data = b"model,MMLU-PRO,BBH\norg/a,52.3,40\norg/b,0.48,45\norg/c,45.1,50\n"
    auto = upload.parse_csv(data, "mixed.csv")
    assert auto.errors == [] and auto.warnings == [] and auto.scale == "normalized"
    assert auto.frame["leaderboard_mmlu_pro"].tolist() == [52.3, 0.48, 45.1]
    assert list(auto.labels["prov_leaderboard_mmlu_pro"]) == ["given"] * 3
    assert list(auto.labels["ambiguous"]) == ["", "", ""]
    chosen = upload.parse_csv(data, "mixed.csv", scale="percent")
    assert chosen.errors == [] and chosen.warnings == []
    assert chosen.frame["leaderboard_mmlu_pro"].iloc[1] == 0.0048  # percent 0.48 = raw 0.0048, exactly
    assert chosen.labels["prov_leaderboard_mmlu_pro"].iloc[1] == "converted"
    # a weak model's small normalized GPQA with no other value: its column (5.2, 12.1) does not read it
    # as a fraction (x 100 = 67 lies far above them), so it is not ambiguous either
    ok = upload.parse_csv(b"model,GPQA\norg/a,0.67\norg/b,5.2\norg/c,12.1\n", "gpqa.csv")
    assert ok.errors == [] and ok.warnings == [] and ok.frame["leaderboard_gpqa"].iloc[0] == 0.67


def test_an_ambiguous_cell_is_kept_and_flagged_not_imputed():
    """A row whose values are all at most 1, in a table read on 0-100: its row says nothing, and its
    column reads 0.3 as well as a raw 0.3 (= 30, among 20-50): kept as 0.3, flagged 'ambiguous' in the
    row's labels and note, with a warning naming the row, the cells and the fix. A 0 is the same on
    both scales and a row with a value above 1 is plainly on 0-100: neither is flagged."""
    data = (b"model,MATH Lvl 5,GPQA,IFEval\norg/big,50,20,70\norg/mid,20,8,60\n"
            b"org/tiny,0.3,0,\norg/small,0.3,0,25\n")
    c = upload.parse_csv(data, "amb.csv")
    assert c.errors == [] and c.scale == "normalized"
    f = c.frame.set_index("hf_id")
    assert f.loc["org/tiny", "leaderboard_math_hard"] == 0.3 and f.loc["org/tiny", "leaderboard_gpqa"] == 0.0
    assert f.loc["org/small", "leaderboard_math_hard"] == 0.3
    lab = c.labels.set_index(c.frame["hf_id"])
    assert lab.loc["org/tiny", "ambiguous"] == "MATH Lvl 5 0.3" and lab.loc["org/small", "ambiguous"] == ""
    assert "ambiguous scale: MATH Lvl 5 0.3 (could be raw fractions)" in lab.loc["org/tiny", "note"]
    assert lab.loc["org/tiny", "prov_leaderboard_math_hard"] == "given"
    assert c.warnings == [
        "amb.csv, row 4: every value of this row is at most 1 (column 'MATH Lvl 5' 0.3) while the table reads "
        "on the 0-100 'normalized' scale, so they could be raw 0-1 fractions: kept as given on the "
        "'normalized' scale and flagged 'ambiguous'. Fix: if they are raw fractions, put 'raw' in the row's "
        "'scale' column (or write them x 100); if the model really scores this low, nothing to do."]
    # a value whose x 100 lies far below the column's values above 1 (5 against 20-50) reads as a small
    # normalized one, even when a plainly 0-100 row holds a smaller value still (0.5, IFEval 30)
    far = upload.parse_csv(data + b"org/weak,0.5,3,30\norg/tiny2,0.05,,\n", "far.csv")
    assert far.labels["ambiguous"].tolist() == ["", "", "MATH Lvl 5 0.3", "", "", ""]
    # the row's own scale settles it: nothing is ambiguous
    own = upload.parse_csv(data.replace(b"IFEval\n", b"IFEval,scale\n").replace(b"0.3,0,\n", b"0.3,0,,raw\n")
                           .replace(b"70\n", b"70,\n").replace(b"60\n", b"60,\n").replace(b"25\n", b"25,\n"),
                           "own.csv")
    assert own.warnings == [] and (own.labels["ambiguous"] == "").all()
    assert list(own.labels["scale"]) == ["normalized", "normalized", "raw", "normalized"]


def test_provenance_of_every_cell_given_or_converted():
    """Every benchmark cell says where it came from: 'given' on the row's own scale, 'converted' when an
    exact rule moved it (percent -> raw, raw -> normalized in a mixed row), '' when empty."""
    data = (b"model,IFEval (normalized),MATH Lvl 5 (raw),GPQA %,MUSR,Params (B)\n"
            b"org/mix,70,0.2,35,,7\n")
    c = upload.parse_csv(data, "p.csv", scale="normalized")
    lab = c.labels.iloc[0]
    assert lab["scale"] == "normalized"
    assert (lab["prov_leaderboard_ifeval"], lab["prov_leaderboard_math_hard"], lab["prov_leaderboard_gpqa"],
            lab["prov_leaderboard_musr"], lab["prov_params_b"]) == ("given", "converted", "converted", "", "given")
    frame, _ = upload.combine([c])
    assert frame.loc[0, "prov_leaderboard_math_hard"] == "converted"  # carried by combine


def test_bad_scale_and_settings_cells_are_named():
    c = upload.parse_csv(b"model,IFEval,scale,settings\norg/a,0.7,fraction,5-shot\n", "b.csv", scale="raw")
    assert c.errors == [
        "b.csv, row 2, column 'scale': 'fraction' is not a scale; the table's scale is used for this row. "
        "Fix: write raw, percent or normalized (or leave it empty for the table's scale).",
        "b.csv, row 2, column 'settings': '5-shot' is not a settings; the table's settings is used for this "
        "row. Fix: write 'leaderboard' (Open LLM Leaderboard settings) or 'other' (other / unknown)."]
    assert c.frame["leaderboard_ifeval"].iloc[0] == 0.7 and c.labels["settings"].iloc[0] == "leaderboard"


def test_combine_carries_the_row_labels_and_partial_lmeval_runs():
    card = upload.parse_csv(CARD.encode(), "card.csv", scale="percent")
    doc = lmeval_doc()
    lm = upload.parse_upload(json.dumps(doc).encode(), "results.json")
    picked = upload.Candidates(pd.DataFrame({"hf_id": ["lb/x"], "leaderboard_ifeval": [50.0]}), "normalized",
                               "leaderboard")
    frame, _ = upload.combine([card, lm, picked])
    assert list(frame.columns[:2 + len(upload.LABEL_COLUMNS)]) == ["hf_id", "source", *upload.LABEL_COLUMNS]
    f = frame.set_index("hf_id")
    assert list(f["scale"]) == ["raw", "raw", "normalized", "normalized"]
    assert list(f["settings"]) == ["other", "leaderboard", "leaderboard", "leaderboard"]
    assert f.loc["org/tiny-7b", "partial"] and f.loc["org/tiny-7b", "missing"] == "BBH, MATH Lvl 5, MUSR, MMLU-PRO"
    assert f.loc["lb/x", "partial"] and f.loc["org/card", "input_scale"] == "percent"


def test_example_recent_bases_csv_parses_with_the_right_labels():
    """data/examples/recent_bases.csv (model-card numbers, README tour): every row is read, converted
    from percent to raw, flagged 'other' settings and 'partial', and names its source."""
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "data" / "examples" / "recent_bases.csv"
    c = upload.parse_upload(path.read_bytes(), path.name)
    assert c.errors == [] and c.warnings == []
    assert len(c.frame) == 20 and c.scale == "raw"
    assert set(c.labels["settings"]) == {"other"} and c.labels["partial"].all()
    assert set(c.labels["input_scale"]) == {"percent"} and (c.labels["converted"] != "").all()
    f = c.frame.set_index("hf_id")
    # numbers as the cards print them (percent), divided by 100
    assert f.loc["meta-llama/Llama-3.3-70B-Instruct", "leaderboard_mmlu_pro"] == 0.689
    assert f.loc["google/gemma-3-12b-pt", "leaderboard_bbh"] == 0.726
    assert f.loc["allenai/OLMo-2-1124-13B", "leaderboard_mmlu_pro"] == 0.351
    assert f.loc["Qwen/Qwen3-4B-Instruct-2507", "leaderboard_ifeval"] == 0.834
    assert math.isnan(f.loc["google/gemma-3-12b-pt", "leaderboard_math_hard"])  # full MATH is not Lvl 5
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["source_url"].startswith("https://") and r["settings_detail"] for r in rows)


# --- issue 27, findings 3 and 12 --------------------------------------------------------------------

LEADERBOARD = "Model,Params (B),IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO"


def test_a_trailing_comma_on_every_row_shifts_nothing():
    text = f"{LEADERBOARD}\na/first,7,50,30,10,8,9,30,\nb/second,3,40,20,5,4,6,20,\n"
    c = upload.parse_csv(text.encode(), "export.csv")
    assert c.errors == []
    assert list(c.frame.hf_id) == ["a/first", "b/second"]
    assert list(c.frame.params_b) == [7.0, 3.0] and list(c.frame.leaderboard_ifeval) == [50.0, 40.0]
    assert list(c.frame.leaderboard_mmlu_pro) == [30.0, 20.0]


def test_a_row_with_more_values_than_the_header_is_refused_naming_the_line():
    text = f"{LEADERBOARD}\na/first,7,50,30,10,8,9,30\nb/second,3,40,20,5,4,6,20,99\n"
    c = upload.parse_csv(text.encode(), "long.csv")
    assert c.frame.empty
    assert c.errors == ["long.csv: line 3 has 9 fields but the header has 8 (first extra value '99'). Fix: "
                        "give every value a column in the header, or remove the extra values."]


@pytest.mark.parametrize("cell", ["nan", "NaN", "-nan", "1_0", "0x1A"])
def test_a_cell_that_is_not_a_plain_number_is_named_never_silently_blank_or_reinterpreted(cell):
    c = upload.parse_csv(f"Model,Params (B),IFEval,BBH\na/x,7,{cell},30\n".encode(), "f.csv")
    assert c.errors == [f"f.csv, row 2, column 'IFEval': {cell!r} is not a number. Fix: enter a "
                        "number on the 'normalized' scale or leave the cell empty (it is then imputed)."]
    assert math.isnan(c.frame.leaderboard_ifeval[0]) and c.frame.leaderboard_bbh[0] == 30.0


@pytest.mark.parametrize("cell, value", [("50", 50.0), ("5e1", 50.0), ("+.5e2", 50.0), ("50.", 50.0),
                                         ("50%", 50.0), (" 50 ", 50.0)])
def test_plain_numbers_are_read(cell, value):
    c = upload.parse_csv(f"Model,Params (B),IFEval\na/x,7,{cell}\n".encode(), "f.csv")
    assert c.errors == [] and c.frame.leaderboard_ifeval[0] == value


def test_an_infinite_cell_does_not_set_the_detected_scale():
    c = upload.parse_csv(b"Model,Params (B),IFEval,BBH\na/x,7,inf,30\n", "f.csv")
    assert any("is infinite" in e for e in c.errors)
    assert any("values go up to 30." in n for n in c.notes) and not any("inf." in n for n in c.notes)
