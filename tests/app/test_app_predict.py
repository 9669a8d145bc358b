"""Streamlit AppTest of the Predict & shortlist page: every input path (typed table, CSV upload,
lm-eval JSON upload, leaderboard picking), every kind of bad input, method switch, size budget and
export. Expected predictions come from calling advisor.predict.shortlist directly on the same bundle."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from advisor.core import registry
from advisor.core.untrusted import md_text
from advisor.db import queries
from advisor.predict.bundle import load_bundle
from advisor.predict.shortlist import predict_candidates

ROOT = Path(__file__).resolve().parents[2]
LEADERBOARD = ROOT / "data" / "public" / "open_llm_leaderboard_v2_final_20250509_modelrank.csv"
OLL_V2 = list(registry.OLL_V2_TASKS)


@pytest.fixture(scope="module")
def bundle(app_db):
    return load_bundle(app_db)


@pytest.fixture
def page(app_db, monkeypatch):
    monkeypatch.setenv("RM_ADVISOR_DB", str(app_db))
    monkeypatch.delenv("RM_ADVISOR_BUNDLE", raising=False)

    def start(typed_rows=None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
        if typed_rows:  # committed rows, as the typed table's "Use these rows" button leaves them
            at.session_state["typed_rows"] = [dict(r) for r in typed_rows]
        return at.run()

    return start


def uploader(at: AppTest):
    """The page's one file uploader (its key changes once its files are kept: pages/_state.py)."""
    assert len(at.file_uploader) == 1
    return at.file_uploader[0]


def ranking(at: AppTest) -> pd.DataFrame:
    for d in at.dataframe:
        if "rank_upper" in d.value.columns:
            return d.value
    raise AssertionError("no ranking table; errors: " + repr([e.value for e in at.error]))


def verdict_lines(at: AppTest) -> list[str]:
    """The verdict's bullets as the page shows them (Markdown-escaped text): the list under the
    'Verdict' subheader, whose last line is always the recipe caveat."""
    assert "Verdict" in [h.value for h in at.subheader]
    text = next(m.value for m in at.markdown if m.value.startswith("- ") and (
        "\n- Across recipes: " in m.value or "\n- Whether this ranking carries over" in m.value))
    return [line.removeprefix("- ") for line in text.split("\n")]


def expected(bundle, rows: pd.DataFrame, method="regression") -> pd.DataFrame:
    return predict_candidates(bundle, rows.assign(scale="normalized"), method=method).set_index("hf_id")


def used_features(bundle, method="regression") -> set:
    """Base features the served fits of ``method`` read (the only ones 'imputed' can list)."""
    from advisor.predict.specs import base_columns

    return {f for t in bundle.targets for f in base_columns(bundle.fit("normalized", method, t).inputs)}


def assert_matches(shown: pd.DataFrame, exp: pd.DataFrame):
    got = shown.set_index("hf_id")
    assert sorted(got.index) == sorted(exp.index)
    for col in ("prediction", "lower", "upper", "pred_chat", "pred_safety"):
        assert got[col].to_numpy() == pytest.approx(exp.loc[got.index, col].to_numpy(), abs=1e-9)
    assert got["rank"].astype("Int64").tolist() == exp.loc[got.index, "rank"].tolist()
    assert got["rank_upper"].astype("Int64").tolist() == exp.loc[got.index, "rank_upper"].tolist()


TWO = [{"hf_id": "org/alpha", "params_b": 7.6, "leaderboard_ifeval": 75.0, "leaderboard_bbh": 35.0,
        "leaderboard_math_hard": 30.0, "leaderboard_gpqa": 9.0, "leaderboard_musr": 10.0,
        "leaderboard_mmlu_pro": 37.0},
       {"hf_id": "org/beta", "params_b": 1.5, "leaderboard_ifeval": 40.0, "leaderboard_bbh": 10.0}]


def test_no_candidates_yet(page):
    at = page()
    assert at.title[0].value == "Which base model should I train my reward model on?"
    assert at.info[0].value.startswith("No candidates yet")
    assert not at.error
    # the landing page says what the database holds (issue 2), counted from the database itself
    summary = at.caption[0].value
    assert summary.startswith("Database: 40 models with reward-model results (80 RewardBench rows)")
    assert "4,576 Open LLM Leaderboard v2 models to pick from" in summary


def test_typed_candidates_are_ranked_with_intervals_and_imputed_inputs(page, bundle):
    at = page(TWO)
    assert not at.error and not at.exception
    shown = ranking(at)
    exp = expected(bundle, pd.DataFrame(TWO))
    assert_matches(shown, exp)
    # the verdict above the table (issue 24): its lines, then the counts; no "best candidate" metric
    top = exp[exp["rank_upper"] == 1]
    assert [m.label for m in at.metric] == ["Top group (upper-bound rank 1)", "Candidates ranked", "Not ranked"]
    assert [m.value for m in at.metric] == [str(len(top)), "2", "0"]
    shown_verdict = verdict_lines(at)
    assert shown_verdict[0].startswith(md_text("Best: ") if len(top) == 1 else md_text("Statistically tied"))
    assert all(md_text(h) in shown_verdict[0] for h in top.index)
    assert shown_verdict[-1].startswith("Across recipes: for RMs trained with other published recipes")
    beta = shown.set_index("hf_id").loc["org/beta"]
    # imputed: the missing features that the served regression fits use
    used = used_features(bundle)
    missing = {"leaderboard_math_hard", "leaderboard_gpqa", "leaderboard_musr", "leaderboard_mmlu_pro",
               "pretrain_tokens_t"}
    assert set(beta["imputed"]) == missing & used and beta["widened"]
    assert {"leaderboard_math_hard", "leaderboard_gpqa"} <= set(beta["imputed"])
    assert len(beta["nearest_known"]) == 3
    # upper-bound rank: 1 + candidates whose interval lies wholly above
    lo, up = exp["lower"], exp["upper"]
    for h in exp.index:
        assert exp.loc[h, "rank_upper"] == 1 + int((lo > up[h]).sum())
    assert [b.label for b in at.get("download_button")] == ["Download CSV", "Download JSON",
                                                            "Download Markdown"]
    preview = at.expander[-1].code[0].value  # the compact Markdown, as text (issue 26)
    assert preview.startswith("Verdict:\n\n- " + shown_verdict[0] + "\n")  # the verdict leads the export
    assert f"; predictor version `{bundle.version}`.\n" in preview and "org/alpha" in preview


def test_method_switch_uses_the_bradley_terry_predictor(page, bundle):
    at = page(TWO)
    at.radio(key="method").set_value("bradley_terry").run()
    assert_matches(ranking(at), expected(bundle, pd.DataFrame(TWO), method="bradley_terry"))
    assert "Bradley-Terry reward models" in at.caption[-1].value or any(
        "Bradley-Terry reward models" in c.value for c in at.caption)


def test_size_budget_leaves_out_larger_candidates(page, bundle):
    at = page(TWO)
    at.slider(key="budget").set_value((0.0, 5.0)).run()
    shown = ranking(at)
    assert list(shown["hf_id"]) == ["org/beta", "org/alpha"]  # listed, not hidden (issue 26)
    assert shown["rank"].isna().tolist() == [False, True]
    assert shown["not_ranked"].tolist() == ["", "outside the size budget 0-5B"]
    assert any(c.value.startswith("1 candidate(s) outside the size budget 0-5B are not ranked: org/alpha")
               for c in at.caption)


def leaderboard_csv(n: int, start: int = 200) -> tuple[bytes, pd.DataFrame]:
    lb = pd.read_csv(LEADERBOARD).iloc[start:start + n]
    rows = lb.rename(columns={"model": "hf_id", "IFEval": "leaderboard_ifeval", "BBH": "leaderboard_bbh",
                              "MATH_Lvl5": "leaderboard_math_hard", "GPQA": "leaderboard_gpqa",
                              "MUSR": "leaderboard_musr", "MMLU_PRO": "leaderboard_mmlu_pro"})
    return lb.to_csv(index=False).encode(), rows[["hf_id", "params_b", *OLL_V2]]


def test_uploaded_csv_of_25_leaderboard_rows(page, bundle):
    data, rows = leaderboard_csv(25)
    at = page()
    uploader(at).set_value(("cands.csv", data, "text/csv"))
    at.selectbox(key="upload_scale").set_value("normalized").run()
    assert not at.error
    # 'rank' is not a benchmark: a warning names it; 'average' is the OLL v2 average (ignored by the predictor)
    assert any("ignored 1 unknown column(s): 'rank'" in w.value for w in at.warning)
    shown = ranking(at)
    assert len(shown) == 25
    assert_matches(shown, expected(bundle, rows))


def test_scale_detection_note_is_visible(page):
    data, _ = leaderboard_csv(3)
    at = page()
    uploader(at).set_value(("cands.csv", data, "text/csv")).run()
    assert any(i.value.startswith("cands.csv: Scale detected as 'normalized'") for i in at.info)


def test_bad_cells_are_named_and_the_rest_still_predicts(page, bundle):
    csv = (b"Model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO,Params (B),Vibes\n"
           b"org/good,70,40,20,8,9,30,7,x\n"
           b"org/text,seventy,40,20,8,9,30,7,x\n"
           b"org/over,170,40,20,8,9,30,7,x\n"
           b"org/good,1,1,1,1,1,1,1,x\n")
    at = page()
    uploader(at).set_value(("bad.csv", csv, "text/csv"))
    at.selectbox(key="upload_scale").set_value("normalized").run()
    errors = [e.value for e in at.error]
    assert errors == [
        "bad.csv, row 3, column 'IFEval': 'seventy' is not a number. Fix: enter a number on the "
        "'normalized' scale or leave the cell empty (it is then imputed).",
        "bad.csv, row 4, column 'IFEval': 170 is outside the 'normalized' scale (0 to 100); the cell is "
        "ignored and imputed. Fix: choose the scale that matches your numbers above the table."]
    warnings = [w.value for w in at.warning]
    assert any("ignored 1 unknown column(s): 'Vibes'" in w for w in warnings)
    assert "bad.csv: model 'org/good' appears in rows 2, 5; kept row 2. Fix: keep one row per model." in warnings
    shown = ranking(at).set_index("hf_id")
    assert sorted(shown.index) == ["org/good", "org/over", "org/text"]
    assert list(shown.loc["org/text", "imputed"]) == [
        f for f in ("leaderboard_ifeval", "pretrain_tokens_t") if f in used_features(bundle)]
    assert "leaderboard_ifeval" in used_features(bundle)
    assert not at.exception


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", b"", "empty.csv: the file is empty. Fix: upload a file with a header line and one row per model."),
    ("huge.csv", b"model,IFEval\n" + b"org/x,50\n" * (50 * 2**20 // 9),
     "huge.csv: 50.0 MB; the limit is 10 MB."),
    ("notlm.json", b'{"scores": {"mmlu": 0.5}}', "notlm.json, field 'results': missing: this is not "
     "lm-evaluation-harness output"),
    # issue 27, finding 11: a number over Python's 4,300-digit limit names the file, the field and the fix
    ("digits.json", b'{"results": {"leaderboard_ifeval": {"prompt_level_strict_acc,none": ' + b"9" * 5000 + b"}}}",
     md_text("digits.json, field 'results.leaderboard_ifeval.prompt_level_strict_acc,none': expected a number, "
             "got <a 5,000-digit integer>. Fix:")),  # the page shows it escaped
])
def test_unusable_files_give_an_error_and_other_inputs_still_rank(page, bundle, name, content, message):
    at = page(TWO[:1])
    uploader(at).set_value((name, content, "application/octet-stream")).run()
    assert len(at.error) == 1 and at.error[0].value.startswith(message)
    assert list(ranking(at)["hf_id"]) == ["org/alpha"]
    assert not at.exception


def test_lmeval_results_json_is_a_candidate(page, bundle):
    doc = {"results": {
        "leaderboard_ifeval": {"prompt_level_strict_acc,none": 0.70, "inst_level_strict_acc,none": 0.80},
        "leaderboard_gpqa": {"acc_norm,none": 0.31}, "leaderboard_mmlu_pro": {"acc,none": 0.37}},
        "config": {"model_args": "pretrained=me/my-7b"}, "model_name": "me/my-7b"}
    at = page()
    uploader(at).set_value(("results_2025.json", json.dumps(doc).encode(), "application/json"))
    at.run()
    assert not at.error
    note = md_text("lm_eval results for 'me/my-7b': 3 benchmark(s) on the 'normalized' scale")  # shown as text
    assert any(note in i.value for i in at.info)
    # a results file does not state the size, and me/my-7b is in no table: not ranked, with the fix
    assert any(w.value.startswith(md_text("results_2025.json: 1 model(s) not ranked, size unknown: add Params (B)"))
               and "'Params (B)' box" in w.value for w in at.warning)
    assert not any("rank_upper" in d.value.columns for d in at.dataframe)
    at.number_input(key="json_params").set_value(7.0).run()  # the size given beside the file
    shown = ranking(at)
    assert list(shown["hf_id"]) == ["me/my-7b"]
    row = {"hf_id": "me/my-7b", "leaderboard_ifeval": 75.0, "leaderboard_gpqa": (0.31 - 0.25) / 0.75 * 100,
           "leaderboard_mmlu_pro": (0.37 - 0.1) / 0.9 * 100, "params_b": 7.0}
    assert_matches(shown, expected(bundle, pd.DataFrame([row])))
    assert shown["size_source"].tolist() == ["given"]


def test_raw_scale_file_is_ranked_by_the_raw_scale_predictor(page, bundle):
    """Issue 20: raw lm-eval numbers are predicted by the predictor fitted on the raw scale, not
    converted and not left out; each row says which scale and spec it used."""
    csv = b"model,IFEval,BBH,Params (B)\norg/raw,0.7,0.4,3\n"
    at = page(TWO[:1])
    uploader(at).set_value(("raw.csv", csv, "text/csv")).run()
    assert not at.error
    shown = ranking(at).set_index("hf_id")
    assert sorted(shown.index) == ["org/alpha", "org/raw"]
    assert shown.loc["org/raw", "scale"] == "raw" and shown.loc["org/alpha", "scale"] == "normalized"
    # a partial row (2 of 6 tasks): the served spec with imputation, or a reduced spec; it says which
    raw = shown.loc["org/raw"]
    assert raw["partial_method"] in ("imputation", f"reduced spec {raw['spec']}")
    if raw["partial_method"] == "imputation":
        assert raw["spec"] == bundle.entry("raw", "regression", "score").spec
    exp = predict_candidates(bundle, pd.DataFrame([
        {"hf_id": "org/raw", "leaderboard_ifeval": 0.7, "leaderboard_bbh": 0.4, "params_b": 3.0, "scale": "raw"},
        {**TWO[0], "scale": "normalized"}]), method="regression").set_index("hf_id")
    assert_matches(shown.reset_index(), exp)


def test_pick_from_the_leaderboard_with_search_and_filters(page, bundle, app_db):
    at = page()
    at.text_input(key="lb_search").set_value("qwen2.5-7b-instruct")
    at.radio(key="lb_status").set_value("known").run()
    assert match_caption(at).startswith("1 of 4,497 leaderboard models match")
    select_rows(at, [0])
    at.button(key="lb_add").click().run()
    assert at.session_state["picked"] == ["Qwen/Qwen2.5-7B-Instruct"]
    shown = ranking(at).set_index("hf_id")
    con = duckdb.connect(str(app_db), read_only=True)
    lb = con.execute("SELECT * FROM leaderboard_v2 WHERE hf_id = 'Qwen/Qwen2.5-7B-Instruct' ORDER BY rank "
                     "LIMIT 1").df()
    measured = con.execute("SELECT score FROM rm_results WHERE hf_id = 'Qwen/Qwen2.5-7B-Instruct' AND "
                           "method = 'regression' AND source = 'paper'").fetchone()[0]
    con.close()
    assert_matches(shown.reset_index(), expected(bundle, lb[["hf_id", "params_b", *OLL_V2]]))
    assert shown.loc["Qwen/Qwen2.5-7B-Instruct", "measured_score"] == measured == 86.5
    # a known model uses its known features: the leaderboard row has no pre-training tokens, the
    # database's models table has 18T for it (issue 24)
    qwen = shown.loc["Qwen/Qwen2.5-7B-Instruct"]
    assert qwen["known"] and qwen["pretrain_tokens_t"] == 18 and qwen["prov_pretrain_tokens_t"] == "looked up"
    assert qwen["prov_leaderboard_bbh"] == "leaderboard" and qwen["prov_params_b"] == "leaderboard"
    assert qwen["size_source"] == "leaderboard: Open LLM Leaderboard v2 table"
    # filters: size range and 'new' models; then add the first 25 matching
    at.text_input(key="lb_search").set_value("")
    at.radio(key="lb_status").set_value("new")
    at.slider(key="lb_size").set_value((1.0, 2.0)).run()
    lbf = queries.filter_leaderboard(queries.leaderboard(app_db), "", (1.0, 2.0), (), "new",
                                     hide_reward_models=True)  # the page's default switches
    assert match_caption(at).startswith(f"{len(lbf):,} of 4,497 leaderboard models match")
    at.button(key="lb_add_top").click().run()
    shown = ranking(at)
    assert len(shown) == 26 and set(lbf["hf_id"].head(25)) < set(shown["hf_id"])
    at.button(key="lb_clear").click().run()
    assert at.session_state["picked"] == []


def test_combined_inputs_and_duplicates_across_sources(page, bundle):
    at = page(TWO)
    csv = b"model,IFEval,BBH,Params (B)\norg/alpha,10,10,7\norg/gamma,60,30,3\n"
    uploader(at).set_value(("more.csv", csv, "text/csv"))
    at.selectbox(key="upload_scale").set_value("normalized").run()
    assert "'org/alpha' is both in typed table and more.csv; used typed table." in [w.value for w in at.warning]
    shown = ranking(at)
    assert sorted(shown["hf_id"]) == ["org/alpha", "org/beta", "org/gamma"]
    # org/alpha keeps the typed values
    assert shown.set_index("hf_id").loc["org/alpha", "leaderboard_ifeval"] == 75.0


def test_exports_hold_inputs_predictions_intervals_and_version(bundle):
    """The page hands the ranked table to export_shortlist; check what the downloads contain."""
    from advisor.predict.export import export_shortlist

    rows = pd.DataFrame(TWO)
    pred = expected(bundle, rows).reset_index().merge(rows, on="hf_id")
    csv = pd.read_csv(io.StringIO(export_shortlist(pred, "csv", bundle.version, bundle.interval_level)))
    assert set(csv["predictor_version"]) == {bundle.version}
    assert set(csv["interval_level"]) == {bundle.interval_level}  # the level stated in every export
    assert {"prediction", "lower", "upper", "rank_upper", "leaderboard_ifeval"} <= set(csv.columns)
    js = json.loads(export_shortlist(pred, "json", bundle.version, bundle.interval_level))
    assert js["predictor_version"] == bundle.version and len(js["rows"]) == 2


def test_without_a_fitted_predictor_the_page_says_how_to_get_one(page, monkeypatch, tmp_path):
    monkeypatch.setenv("RM_ADVISOR_BUNDLE", str(tmp_path / "missing.json"))
    at = page(TWO)
    assert any(w.value.startswith("No fitted predictor at") and
               "`python -m pipeline.run --stages predictor`" in w.value for w in at.warning)
    cands = [d.value for d in at.dataframe if "scale" in d.value.columns][0]
    assert list(cands["hf_id"]) == ["org/alpha", "org/beta"]  # the inputs are still shown
    assert not at.exception


@pytest.mark.parametrize("content", [b"\x80\x04K\x01.", b"hf_id,score\na/b,1\n", b'{"format": "x"}'])
def test_a_wrong_bundle_file_gives_a_message_not_a_traceback(page, monkeypatch, tmp_path, content):
    """RM_ADVISOR_BUNDLE naming a pickle, a CSV or foreign JSON (issue 17, row 11)."""
    wrong = tmp_path / "bundle.json"
    wrong.write_bytes(content)
    monkeypatch.setenv("RM_ADVISOR_BUNDLE", str(wrong))
    at = page(TWO)
    assert not at.exception
    assert any("cannot be used" in w.value and "bundle" in w.value for w in at.warning)


@pytest.mark.parametrize("field", ["interval_level", "version"])
def test_markdown_in_a_bundle_file_is_refused_and_never_rendered(page, bundle, monkeypatch, tmp_path, field):
    """Issue 27, finding 8: the page fetched the image and showed the link of a bundle field."""
    hostile = "![x](http://host/p.png) [click](http://evil.example)"
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({**json.loads(bundle.to_json()), field: hostile}))
    monkeypatch.setenv("RM_ADVISOR_BUNDLE", str(path))
    at = page(TWO)
    assert not at.exception
    shown = [w.value for w in at.warning if "cannot be used" in w.value]
    assert shown and md_text(f"field {field}") in shown[0]
    for text in [*shown, *(c.value for c in at.caption), *(m.value for m in at.markdown)]:
        assert "![x](http" not in text and "[click](http" not in text  # escaped: no image, no link


def test_no_skill_method_is_not_ranked(page, bundle):
    """Bradley-Terry has no skill on the shipped data: the page says so and ranks nothing."""
    assert bundle.skill("normalized", "bradley_terry") == "no_skill"
    at = page(TWO)
    at.radio(key="method").set_value("bradley_terry").run()
    shown = ranking(at)
    assert shown["rank"].isna().all() and set(shown["skill"]) == {"no_skill"}
    assert any("no skill" in w.value for w in at.warning)


def picker_table(at: AppTest):
    """The picker's table of matching leaderboard rows (its key names the query, pages/predict.py)."""
    return next(d for d in at.dataframe if (d.key or "").startswith("lb_table"))


def select_rows(at: AppTest, rows: list[int]) -> None:
    """Tick rows of the picker's table, as the boxes on their left do."""
    at.session_state[picker_table(at).key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()


def match_caption(at) -> str:
    """The picker's 'N of M leaderboard models match' caption."""
    return next(c.value for c in at.caption if "leaderboard models match" in c.value)



def test_model_card_upload_in_percent_is_labelled_raw_and_other(page, bundle):
    """Percent numbers from a card become raw (exactly, said in a note), the settings radio flags the
    rows 'other'; the raw-scale predictor ranks them, and the row says raw, other and partial."""
    csv = (b"model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO,Params (B)\n"
           b"org/card,80.1,,45.2,30,,52.3,8\n")
    at = page(TWO[:1])
    uploader(at).set_value(("card.csv", csv, "text/csv"))
    at.selectbox(key="upload_scale").set_value("percent")
    at.radio(key="upload_settings").set_value("other").run()
    infos = [i.value for i in at.info]
    assert any(i.startswith("card.csv: 1 row(s) converted exactly") for i in infos)
    assert any(i.startswith("card.csv: 1 row(s) from other / unknown evaluation settings") for i in infos)
    assert any(i.startswith("card.csv: 1 row(s) with only some of the six leaderboard tasks") for i in infos)
    assert "raw" in bundle.scales and not at.error
    table = ranking(at).set_index("hf_id")
    assert sorted(table.index) == ["org/alpha", "org/card"]
    card = table.loc["org/card"]
    assert card["scale"] == "raw" and card["settings"] == "other" and bool(card["partial"])
    assert card["lower"] < card["prediction"] < card["upper"] and bool(card["widened"])
    # its missing tasks are imputed, or left out by the reduced spec its pattern is served by
    if card["partial_method"] == "imputation":
        assert {"leaderboard_bbh", "leaderboard_musr"} <= set(card["imputed"])
    else:
        assert card["partial_method"].startswith("reduced spec") and not set(card["imputed"]) & {
            "leaderboard_bbh", "leaderboard_musr"}


def test_mixed_upload_is_put_on_one_scale_and_the_shortlist_says_how(page, bundle):
    csv = (b"model,IFEval,BBH,MATH Lvl 5 (raw),GPQA %,MUSR,MMLU-PRO,Params (B),settings\n"
           b"org/mixed,70,40,0.2,35,10,38,7,other\n"
           b"org/bad,70,40,1.7,35,10,0.31,7,\n")
    at = page()
    uploader(at).set_value(("mixed.csv", csv, "text/csv")).run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("mixed.csv, row 3, column 'MATH Lvl 5 (raw)': 1.7 is outside the 'raw' scale")
               for e in errors)
    # MMLU-PRO 0.31 in a row whose other values are 70, 40, 10: valid on its row's 0-100 scale, kept
    assert len(errors) == 1 and not any("mixed" in w.value or "ambiguous" in w.value for w in at.warning)
    shown = ranking(at).set_index("hf_id")
    assert sorted(shown.index) == ["org/bad", "org/mixed"]
    row = shown.loc["org/mixed"]
    assert row["scale"] == "normalized" and row["settings"] == "other" and not row["partial"]
    assert row["input_scale"] == "normalized+percent+raw"
    assert "MATH Lvl 5: raw 0.2 -> normalized 20 (exact)" in row["converted"]
    assert row["leaderboard_gpqa"] == pytest.approx(40 / 3)
    assert shown.loc["org/bad", "partial"] and shown.loc["org/bad", "missing"] == "MATH Lvl 5"
    assert shown.loc["org/bad", "leaderboard_mmlu_pro"] == 0.31
    exp = expected(bundle, pd.DataFrame([{"hf_id": "org/mixed", "params_b": 7.0, "leaderboard_ifeval": 70.0,
                                          "leaderboard_bbh": 40.0, "leaderboard_math_hard": 20.0,
                                          "leaderboard_gpqa": 40 / 3, "leaderboard_musr": 10.0,
                                          "leaderboard_mmlu_pro": 38.0, "settings": "other"},
                                         {"hf_id": "org/bad", "params_b": 7.0, "leaderboard_ifeval": 70.0,
                                          "leaderboard_bbh": 40.0, "leaderboard_gpqa": 40 / 3,
                                          "leaderboard_musr": 10.0, "leaderboard_mmlu_pro": 0.31}]))
    assert_matches(shown.reset_index(), exp)


def test_example_recent_bases_upload_on_the_page(page):
    """The README tour step: upload data/examples/recent_bases.csv."""
    data = (ROOT / "data" / "examples" / "recent_bases.csv").read_bytes()
    at = page()
    uploader(at).set_value(("recent_bases.csv", data, "text/csv")).run()
    infos = [i.value for i in at.info]
    # messages are shown as escaped text (advisor.core.untrusted.md_text): the '_' of the file name is escaped
    assert any(i.startswith(md_text("recent_bases.csv: 20 row(s) converted exactly")) for i in infos)
    assert any(i.startswith(md_text("recent_bases.csv: 20 row(s) from other / unknown evaluation settings"))
               for i in infos)
    assert not any(e.value.startswith(md_text("recent_bases.csv, row")) for e in at.error)  # no bad cell


def _rank_json(app_db, *args) -> dict:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "advisor", "rank", *map(str, args), "--format", "json", "--db",
                           str(app_db)], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_example_file_app_and_cli_give_the_same_verdict(page, app_db):
    """Issue 24's must-show: on the README's example the page's verdict (above the table) is the rank
    command's, line for line; the table's ranks and tiers are the command's; Scout and Maverick, identical
    once clamped, share a rank; the default size budget leaves nothing out (the 400B Maverick is ranked)."""
    example = ROOT / "data" / "examples" / "recent_bases.csv"
    at = page()
    uploader(at).set_value(("recent_bases.csv", example.read_bytes(), "text/csv")).run()
    assert not at.exception
    cli = _rank_json(app_db, example)
    assert verdict_lines(at) == [md_text(line) for line in cli["verdict"]["summary"]]
    shown = ranking(at).set_index("hf_id")
    rows = pd.DataFrame(cli["rows"]).set_index("hf_id")
    assert list(shown.index) == list(rows.index) and len(shown) == 20
    assert shown["tier"].tolist() == rows["tier"].tolist()
    assert shown["rank"].astype("Int64").tolist() == rows["rank"].astype("Int64").tolist()
    scout, maverick = "meta-llama/Llama-4-Scout-17B-16E-Instruct", "meta-llama/Llama-4-Maverick-17B-128E-Instruct"
    assert shown.loc[scout, "rank"] == shown.loc[maverick, "rank"]
    assert list(shown.columns[:5]) == ["rank", "rank_upper", "tier", "ranked_by", "ranking_score"]
    assert any(w.value.startswith(md_text(f"{int((rows['tier'] == 'low').sum())} candidate(s) have low confidence"))
               for w in at.warning)


def test_picked_known_models_are_ranked_by_their_measurement_on_the_page(page, app_db):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["picked"] = ["Qwen/Qwen2.5-7B-Instruct", "google/gemma-2-9b-it"]
    at.run()
    assert not at.exception
    shown = ranking(at)
    assert list(shown["hf_id"]) == ["google/gemma-2-9b-it", "Qwen/Qwen2.5-7B-Instruct"]
    assert set(shown["tier"]) == {"measured"} and shown["measured_score"].tolist() == [88.1, 86.5]
    assert verdict_lines(at)[0].startswith(md_text("Best: google/gemma-2-9b-it, measured 88.1 (paper, Table 4;"))
    cli = _rank_json(app_db, "--pick", "Qwen/Qwen2.5-7B-Instruct,google/gemma-2-9b-it")
    assert verdict_lines(at) == [md_text(line) for line in cli["verdict"]["summary"]]


def test_ranking_chart_draws_cut_ends_as_open_arrows_and_one_marker_per_tier():
    """The interval chart (pages/_figures.py::ranking), read from the figure object: an end cut at 100 or
    0 is an arrow of the open-end trace, never a tick; measured rows are points at their measurement."""
    from pages import _figures as figures

    t = pd.DataFrame({
        "hf_id": ["a/cut-high", "b/measured", "c/plain", "d/cut-low"], "rank": [1, 2, 3, 4],
        "rank_upper": [1, 1, 1, 2], "tier": ["low", "measured", "high", "medium"],
        "ranked_by": ["prediction", "measured", "prediction", "prediction"],
        "ranking_score": [95.0, 88.1, 80.0, 5.0], "measured_score": [np.nan, 88.1, np.nan, np.nan],
        "prediction": [95.0, 83.9, 80.0, 5.0], "lower": [80.0, 78.0, 75.0, 0.0], "upper": [100.0, 89.8, 85.0, 20.0],
        "lower_cut": [False, False, False, True], "upper_cut": [True, False, False, False]})
    fig = figures.ranking(t, "test")
    traces = {tr.name: tr for tr in fig.data}
    cut = traces[figures.CUT_NAME]
    assert list(zip(cut.x, cut.y, cut.marker.symbol)) == [(0.0, "d/cut-low", "arrow-left"),
                                                          (100.0, "a/cut-high", "arrow-right")]
    ticks = traces["interval end"]
    assert sorted(zip(ticks.y, ticks.x)) == [("a/cut-high", 80.0), ("c/plain", 75.0), ("c/plain", 85.0),
                                             ("d/cut-low", 20.0)]  # closed ends only; no interval for b
    assert traces["measured"].x == (88.1,) and traces["measured"].y == ("b/measured",)
    assert traces["low confidence"].y == ("a/cut-high",) and traces["high confidence"].y == ("c/plain",)
    assert list(fig.layout.yaxis.categoryarray) == ["d/cut-low", "c/plain", "b/measured", "a/cut-high"]
    only_measured = {tr.name: tr for tr in figures.ranking(t.iloc[[1]], "test").data}  # no interval at all
    assert len(only_measured["interval end"].x) == 0 and len(only_measured[figures.CUT_NAME].x) == 0


PYTHIA = ROOT / "tests" / "fixtures" / "lm_eval" / "pythia_partial" / "results_2024-09-27T15-51-00.000000.json"


def test_pythia_partial_run_is_ranked_raw_and_partial_in_the_app_and_by_rank_alike(page, bundle, app_db):
    """Issue 20's must-show: a real-format lm-eval leaderboard results file named pythia-2.8b with
    subtasks missing (derived fixture, see its README) is ranked, labelled raw and partial, with its
    interval and the method the partial row used (reduced spec or imputation), and `python -m advisor
    rank` gives the same row."""
    import subprocess
    import sys

    at = page(TWO[:1])
    uploader(at).set_value((PYTHIA.name, PYTHIA.read_bytes(), "application/json"))
    # named as a model in no table, with its size given: the partial raw path (EleutherAI/pythia-2.8b
    # would take its missing MATH Lvl 5 and its size from the leaderboard table: tests/cli)
    at.text_input(key="json_model").set_value("me/derived-run")
    at.number_input(key="json_params").set_value(2.8).run()
    assert not at.error
    row = ranking(at).set_index("hf_id").loc["me/derived-run"]
    assert row["scale"] == "raw" and bool(row["partial"]) and row["missing"] == "MATH Lvl 5"
    assert pd.notna(row["rank"]) and row["lower"] < row["prediction"] < row["upper"]
    # the pattern has 5 tasks and no size: the served specs need log params, so the row says which
    # procedure served it and that procedure's lineage-out MAE
    assert row["partial_method"] == "imputation" or row["partial_method"] == f"reduced spec {row['spec']}"
    assert row["partial_mae"] > 0 and row["widened_why"]
    proc = subprocess.run([sys.executable, "-m", "advisor", "rank", str(PYTHIA), "--db", str(app_db),
                           "--model", "me/derived-run", "--params-b", "2.8"],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    cli = pd.read_csv(io.StringIO(proc.stdout)).set_index("hf_id").loc["me/derived-run"]
    for col in ("scale", "spec", "partial_method", "widened_why"):
        assert cli[col] == row[col], col
    for col in ("prediction", "lower", "upper", "partial_mae"):
        assert cli[col] == pytest.approx(row[col], rel=1e-3), col  # the CSV keeps 4 significant digits


REAL_24 = ROOT / "tests" / "fixtures" / "candidates" / "leaderboard_24_real.csv"


def test_24_real_leaderboard_rows_upload_keeps_every_value(page):
    """Issue 24: 24 rows copied verbatim from the shipped leaderboard table, small models included (MATH
    Lvl 5 0.08-0.98, GPQA 0), uploaded with the scale detected: before, 12 of their real values were
    called raw fractions "mixed within one column", emptied and ranked on imputed values. Each row is
    plainly on the 0-100 scale, so every value is kept as given and nothing is imputed."""
    at = page()
    uploader(at).set_value((REAL_24.name, REAL_24.read_bytes(), "text/csv")).run()
    assert not at.error
    assert not any("mixed" in w.value or "ambiguous" in w.value for w in at.warning)
    shown = ranking(at).set_index("hf_id")
    src = pd.read_csv(REAL_24).rename(columns={"model": "hf_id", "IFEval": "leaderboard_ifeval",
                                               "BBH": "leaderboard_bbh", "MATH_Lvl5": "leaderboard_math_hard",
                                               "GPQA": "leaderboard_gpqa", "MUSR": "leaderboard_musr",
                                               "MMLU_PRO": "leaderboard_mmlu_pro"}).set_index("hf_id")
    assert sorted(shown.index) == sorted(src.index) and shown["rank"].notna().all()
    for col in [*OLL_V2, "params_b"]:
        assert shown.loc[src.index, col].tolist() == src[col].tolist(), col
        assert set(shown[f"prov_{col}"]) == {"given"}, col
    assert not any(set(OLL_V2) & set(imp) for imp in shown["imputed"])


RECENT = ROOT / "data" / "examples" / "recent_bases.csv"
CANDIDATE_COLUMNS = ["hf_id", "scale", "settings", "partial", "missing", "input_scale", "converted",
                     "ambiguous", "note", *OLL_V2, "params_b", "pretrain_tokens_t",
                     *[f"prov_{f}" for f in [*OLL_V2, "params_b", "pretrain_tokens_t"]], "size_source", "known"]


def test_the_app_and_the_cli_build_the_same_candidate_table(page, app_db):
    """One candidate table for the same input, whatever the front door (advisor.predict.candidates):
    data/examples/recent_bases.csv in the app and through `python -m advisor rank` gives the same rows,
    values, labels and provenance, and the same message for the rows it cannot rank. No silent size:
    Qwen3-4B, Qwen3-4B-Base and Qwen3-1.7B-Base (no size in the file, in no table) are not ranked
    (before, their size was imputed and Qwen3-4B ranked 5th); Llama-3.3-70B-Instruct takes its missing
    MATH Lvl 5 from its leaderboard row, converted exactly to raw."""
    import subprocess
    import sys

    at = page()
    uploader(at).set_value((RECENT.name, RECENT.read_bytes(), "text/csv")).run()
    app = ranking(at).set_index("hf_id")
    proc = subprocess.run([sys.executable, "-m", "advisor", "rank", str(RECENT), "--db", str(app_db),
                           "--format", "json"], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    cli = pd.DataFrame(json.loads(proc.stdout)["rows"]).set_index("hf_id")
    unsized = {"Qwen/Qwen3-4B", "Qwen/Qwen3-4B-Base", "Qwen/Qwen3-1.7B-Base"}
    for table in (cli, app):  # listed with their reason, never predicted or ranked (the verdict lists them)
        listed = table[table["not_ranked"] != ""]
        assert set(listed.index) == unsized and listed["rank"].isna().all() and listed["prediction"].isna().all()
        assert (listed["not_ranked"] == "size unknown: add Params (B)").all() and len(table) == 20
    # the app's default size budget has no upper limit, so it ranks the two 400B Maverick models too
    assert set(cli.index) == set(app.index)
    for col in CANDIDATE_COLUMNS[1:]:
        a, c = app[col].tolist(), cli.loc[app.index, col].tolist()
        assert [None if pd.isna(x) else x for x in a] == [None if pd.isna(x) else x for x in c], col
    warning = ("recent_bases.csv: 3 model(s) not ranked, size unknown: add Params (B): 'Qwen/Qwen3-4B-Base', "
               "'Qwen/Qwen3-1.7B-Base', 'Qwen/Qwen3-4B'.")
    assert f"warning: {warning}" in proc.stderr
    assert any(w.value.startswith(md_text(warning)) for w in at.warning)
    llama = app.loc["meta-llama/Llama-3.3-70B-Instruct"]
    assert llama["leaderboard_math_hard"] == pytest.approx(0.4834)  # the leaderboard's 48.34 / 100
    assert llama["prov_leaderboard_math_hard"] == "converted"
    assert llama["prov_leaderboard_mmlu_pro"] == "converted"  # percent 68.9 -> raw 0.689, from the file
    assert llama["missing"] == "BBH, MUSR"  # no exact rule brings the leaderboard's BBH or MUSR to raw
    assert (app.drop(index=list(unsized))["size_source"] == "given").all()
    assert (app.loc[list(unsized), "size_source"] == "").all()


# --- issue 26: state that survives, links, typing with a button, the example, the picker ----------------

def shown_state(at: AppTest) -> dict:
    """What a user would check after coming back: candidates ranked, the method, budget and input choices."""
    return {"ranked": ranking(at)["hf_id"].tolist(), "method": at.radio(key="method").value,
            "budget": at.slider(key="budget").value, "typed_settings": at.radio(key="typed_settings").value,
            "picked": list(at.session_state["picked"]),
            "kept": [m.value for m in at.markdown if m.value.startswith("- recent")]}


def test_inputs_survive_a_switch_to_another_page_and_a_kept_file_is_parsed_once(page, monkeypatch):
    """Issue 26: upload the example, follow the page's advice to the Evidence page, come back: the typed,
    uploaded and picked candidates, the method, budget and input choices are all still there, and the
    file was parsed once for all those reruns."""
    from advisor.formats import upload

    calls = []
    parse = upload.parse_upload
    monkeypatch.setattr(upload, "parse_upload", lambda data, name, **kw: calls.append(name) or parse(data, name,
                                                                                                        **kw))
    at = page(TWO[:1])
    at.button(key="load_example").click().run()
    at.text_input(key="lb_search").set_value("qwen2.5-7b-instruct").run()
    select_rows(at, [0])
    at.button(key="lb_add").click()
    at.radio(key="typed_settings").set_value("other")
    at.slider(key="budget").set_value((1.0, 150.0))
    at.radio(key="method").set_value("bradley_terry").run()
    before = shown_state(at)
    assert len(before["ranked"]) == 22 and "org/alpha" in before["ranked"]  # typed + 20 example + 1 picked
    size = RECENT.stat().st_size / 1024
    assert before["picked"] == ["Qwen/Qwen2.5-7B-Instruct"]
    assert before["kept"] == [f"- {md_text('recent_bases.csv')} ({size:,.1f} KB)"]
    at.switch_page("pages/evidence.py").run()
    assert not at.exception and at.title[0].value.startswith("Evidence")
    at.switch_page("pages/predict.py").run()
    assert not at.exception
    assert shown_state(at) == before
    assert before["method"] == "bradley_terry" and before["budget"] == (1.0, 150.0)
    assert before["typed_settings"] == "other"
    assert calls == ["recent_bases.csv"]  # parsed once: not at the method switch, the page switch or the return
    at.selectbox(key="upload_scale").set_value("percent").run()  # other options: parsed again, once
    at.radio(key="method").set_value("regression").run()
    assert calls == ["recent_bases.csv", "recent_bases.csv"]


def test_a_link_reproduces_the_comparison_in_a_fresh_session(page):
    """The picks, method, budget and input choices live in the URL's query parameters; a fresh session
    opened on them shows the same comparison."""
    at = page()
    at.text_input(key="lb_search").set_value("gemma-2 9b it").run()
    at.toggle(key="lb_official").set_value(True).run()
    select_rows(at, [0])
    at.button(key="lb_add").click().run()
    at.text_input(key="lb_search").set_value("meta-llama/Llama-3.1-8B-Instruct").run()
    select_rows(at, [0])
    at.button(key="lb_add").click()
    at.slider(key="budget").set_value((2.0, 20.0))
    at.radio(key="method").set_value("bradley_terry").run()
    link = dict(at.query_params)  # what the browser's address bar holds
    assert link == {"pick": ["google/gemma-2-9b-it", "meta-llama/Llama-3.1-8B-Instruct"],
                    "method": "bradley_terry", "budget": "2-20"}
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for k, v in link.items():
        fresh.query_params[k] = v
    fresh.run()
    assert not fresh.exception and not any("link" in w.value for w in fresh.warning)
    assert fresh.session_state["picked"] == ["google/gemma-2-9b-it", "meta-llama/Llama-3.1-8B-Instruct"]
    assert (fresh.radio(key="method").value, fresh.slider(key="budget").value) == ("bradley_terry", (2.0, 20.0))
    pd.testing.assert_frame_equal(ranking(fresh), ranking(at))


def test_a_link_with_values_it_cannot_hold_says_so_and_uses_the_defaults(page):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["pick"] = ["GOOGLE/gemma-2-9b-it", "nobody/nothing-7b"]
    at.query_params["method"] = "dpo"
    at.run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert md_text("The link's 'method': 'dpo' is not one of regression, bradley_terry; using regression.") in \
        warnings[0]
    assert warnings[1].startswith(md_text("The link's 'pick': 'nobody/nothing-7b' not in the Open LLM Leaderboard"))
    assert at.session_state["picked"] == ["google/gemma-2-9b-it"]  # found case-insensitively, the table's spelling
    assert at.radio(key="method").value == "regression" and list(ranking(at)["hf_id"]) == ["google/gemma-2-9b-it"]
    assert dict(at.query_params) == {"pick": "google/gemma-2-9b-it"}  # the page rewrites the link it understood


def test_typed_rows_are_ranked_when_committed_with_the_button_not_at_every_edit(page, bundle):
    at = page()
    at.session_state["typed"] = {"edited_rows": {}, "added_rows": TWO, "deleted_rows": []}  # two rows typed
    at.run()
    assert at.info[0].value.startswith("No candidates yet")  # typing alone ranks nothing
    at.button(key="typed_commit").click().run()
    assert_matches(ranking(at), expected(bundle, pd.DataFrame(TWO)))
    assert at.session_state["typed_rows"][1]["hf_id"] == "org/beta"
    editor = next(d for d in at.dataframe if d.key == "typed_1")  # a fresh editor over the committed rows
    assert list(editor.value["hf_id"]) == ["org/alpha", "org/beta"]
    at.button(key="typed_clear").click().run()
    assert at.info[0].value.startswith("No candidates yet") and at.session_state["typed_rows"] == []


def test_load_the_example_button_and_removing_a_kept_file(page):
    at = page()
    at.button(key="load_example").click().run()
    assert not at.exception and len(ranking(at)) == 20
    assert any(i.value.startswith(md_text("recent_bases.csv: 20 row(s) converted exactly")) for i in at.info)
    at.button(key="load_example").click().run()  # the same content twice is one file
    assert sum(m.value.startswith("- recent") for m in at.markdown) == 1
    remove = [b for b in at.button if b.key and b.key.startswith("forget_")]
    assert [b.label for b in remove] == ["Remove"]
    remove[0].click().run()
    assert at.info[0].value.startswith("No candidates yet")



def test_the_picker_finds_any_row_and_its_switches_hide_merges_reward_models_and_unofficial_ids(page):
    """Issue 26's must-shows: meta-llama/Llama-3.1-8B-Instruct (leaderboard rank 1905, beyond the old
    chooser's first 1,000) is found by typing it; "official providers only" hides zelk12's merges and
    the reward model among the gemma-2 rows; picked models are removed one at a time."""
    at = page()
    at.text_input(key="lb_search").set_value("meta-llama/Llama-3.1-8B-Instruct").run()
    table = picker_table(at).value
    assert list(table["hf_id"]) == ["meta-llama/Llama-3.1-8B-Instruct"] and table["rank"].iloc[0] > 1000
    assert '"Leaderboard rank"' in picker_table(at).proto.columns  # labelled as the leaderboard's own rank
    at.text_input(key="lb_search").set_value("gemma-2").run()
    at.toggle(key="lb_no_rms").set_value(False).run()  # on by default
    every = picker_table(at).value["hf_id"]
    assert every.str.startswith("zelk12/").sum() > 50 and "Skywork/Skywork-Reward-Gemma-2-27B-v0.2" in set(every)
    at.toggle(key="lb_official").set_value(True).run()
    official = picker_table(at).value["hf_id"]
    assert set(official.str.split("/").str[0]) == {"google", "INSAIT-Institute"}  # Gemma and a continued pre-training
    assert official.str.startswith("google/gemma-2-").sum() >= 6
    assert "more hidden by the switches" in match_caption(at)
    at.toggle(key="lb_official").set_value(False)
    at.toggle(key="lb_no_merges").set_value(True)
    at.toggle(key="lb_no_rms").set_value(True).run()
    kept = picker_table(at).value["hf_id"]
    assert not kept.str.contains("merge", case=False).any()
    assert "Skywork/Skywork-Reward-Gemma-2-27B-v0.2" not in set(kept)
    assert list(kept[:2]) == ["google/gemma-2-27b-it", "google/gemma-2-9b-it"]  # official providers first
    select_rows(at, [0, 1])
    at.button(key="lb_add").click().run()
    assert at.session_state["picked"] == ["google/gemma-2-27b-it", "google/gemma-2-9b-it"]
    assert picker_table(at).key.startswith("lb_table_1_")  # a fresh table: the added rows are no longer ticked
    at.multiselect(key="lb_picked").unselect("google/gemma-2-27b-it").run()
    assert at.session_state["picked"] == ["google/gemma-2-9b-it"]
    assert list(ranking(at)["hf_id"]) == ["google/gemma-2-9b-it"]
