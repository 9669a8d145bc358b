"""advisor.lmeval: lm-eval 0.4.x results and EvalPlus files -> registry scores (pure parsing)."""

from __future__ import annotations

import copy
import csv
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from advisor import lmeval

FIX = Path(__file__).parent / "fixtures" / "lm_eval"
OLL = FIX / "results_oll_v2_2024-09-27T15-51-00.000000.json"
TINY = FIX / "results_tiny_lmeval_0.4.13.json"


def by_key(parsed):
    return {(s.benchmark, s.scale): s for s in parsed.scores}


@pytest.fixture()
def oll_doc():
    return json.loads(OLL.read_text())


def test_oll_v2_raw_primary_metrics_and_settings():
    p = lmeval.parse(OLL)
    rows = by_key(p)
    assert p.model == "meta-llama/Llama-3.2-1B-Instruct"
    assert p.unmapped == []  # the umbrella 'leaderboard' group is covered by its six tasks
    assert len(p.scores) == 12
    assert rows["leaderboard_ifeval", "raw"].value == 0.55  # prompt-level strict, not inst-level 0.65
    assert rows["leaderboard_mmlu_pro", "raw"].value == 0.37
    assert rows["leaderboard_math_hard", "raw"].value == pytest.approx(
        (307 * .3094 + 123 * .1626 + 132 * .0909 + 280 * .0714 + 154 * .2078 + 193 * .3679 + 135 * .0741) / 1324)
    gp = rows["leaderboard_gpqa", "raw"]
    assert gp.value == pytest.approx((198 * .3131 + 546 * .3462 + 448 * .3460) / 1192)
    st = gp.settings
    assert st["metric"] == "acc_norm" and st["filter"] == "none" and st["shots"] == 0
    assert st["dtype"] == "bfloat16" and st["chat_template"] is True and st["harness_version"] == "0.4.5"
    assert st["model_args"].startswith("pretrained=meta-llama/Llama-3.2-1B-Instruct")
    assert st["date"] == "2024-09-27T15:51:00.541846" and st["limit"] is None
    assert rows["leaderboard_bbh", "raw"].settings["shots"] == 3
    assert rows["leaderboard_math_hard", "raw"].settings["shots"] == 4


def test_oll_v2_normalized_by_hand():
    rows = by_key(lmeval.parse(OLL))
    # IFEval: (0.55 + 0.65) / 2 * 100
    assert rows["leaderboard_ifeval", "normalized"].value == pytest.approx(60.0)
    # BBH: 23 subtasks sit 40% above chance -> 40 each; web_of_lies 0.45 < 1/2 -> clipped to 0
    assert rows["leaderboard_bbh", "normalized"].value == pytest.approx((23 * 40 + 0) / 24)
    # MUSR: 0.75 of 2 choices -> 50, 0.36 of 5 -> 20, 0.5 of 3 -> 25 (unweighted mean over subtasks)
    assert rows["leaderboard_musr", "normalized"].value == pytest.approx((50 + 20 + 25) / 3)
    gp_raw = rows["leaderboard_gpqa", "raw"].value
    assert rows["leaderboard_gpqa", "normalized"].value == pytest.approx((gp_raw - 0.25) / 0.75 * 100)
    assert rows["leaderboard_mmlu_pro", "normalized"].value == pytest.approx((0.37 - 0.1) / 0.9 * 100)
    assert rows["leaderboard_math_hard", "normalized"].value == pytest.approx(
        rows["leaderboard_math_hard", "raw"].value * 100)
    for (b, scale), s in rows.items():
        if scale == "normalized":
            assert s.settings["normalization"] == lmeval.EXACT


def test_normalization_matches_published_leaderboard(root):
    """Task-level GPQA, MMLU-PRO and MATH: the leaderboard's raw values normalized here equal its
    published normalized values (2-decimal rounding) for every model with one raw submission."""
    raw = list(csv.DictReader(open(root / "data/public/open_llm_leaderboard_v2_raw_40models_eee.csv")))
    published = {r["model"]: r for r in csv.DictReader(
        open(root / "data/public/open_llm_leaderboard_v2_final_20250509_modelrank.csv"))}
    counts = {}
    for r in raw:
        counts[r["model"]] = counts.get(r["model"], 0) + 1
    checked = 0
    for r in raw:
        if counts[r["model"]] != 1 or r["model"] not in published:
            continue
        doc = {"results": {"leaderboard_gpqa": {"acc_norm,none": float(r["GPQA"])},
                           "leaderboard_mmlu_pro": {"acc,none": float(r["MMLU-PRO"])},
                           "leaderboard_math_hard": {"exact_match,none": float(r["MATH Level 5"])}},
               "config": {"model_args": f"pretrained={r['model']}"}}
        rows = by_key(lmeval.parse_lmeval(doc, "eee"))
        pub = published[r["model"]]
        for bench, col in (("leaderboard_gpqa", "GPQA"), ("leaderboard_mmlu_pro", "MMLU_PRO"),
                           ("leaderboard_math_hard", "MATH_Lvl5")):
            assert rows[bench, "normalized"].value == pytest.approx(float(pub[col]), abs=0.011), (r["model"], bench)
        checked += 1
    assert checked >= 20


def test_bbh_choice_counts_match_installed_lm_eval_task_yamls():
    spec = importlib.util.find_spec("lm_eval")
    base = Path(spec.submodule_search_locations[0]) / "tasks" / "leaderboard" / "bbh_mc"
    for sub, k in lmeval.SUBTASK_CHOICES["leaderboard_bbh"].items():
        doc = yaml.safe_load((base / f"{sub}.yaml").read_text().replace("!function", ""))
        assert len(doc["doc_to_choice"]) == k, sub
    assert len(list(base.glob("*.yaml"))) - 1 == 24  # + the group file


def test_real_0413_output_with_task_map_and_local_model():
    p = lmeval.parse(TINY, task_map={"tiny_group": "arc_challenge"}, model="local/tiny")
    assert [(s.benchmark, s.scale, s.value) for s in p.scores] == [("arc_challenge", "raw", 0.375)]
    st = p.scores[0].settings
    assert st["task"] == "tiny_group" and st["shots"] == 1 and st["limit"] == 4
    assert st["file_model"] == "/tmp/exp/tiny" and st["dtype"] == "float32" and st["harness_version"] == "0.4.13"
    # no registry task at all without the map: nothing parsed, all three reported
    assert lmeval.parse(TINY).scores == []


def test_group_without_aggregate_is_sample_weighted_mean_of_subtasks(oll_doc):
    del oll_doc["results"]["leaderboard_gpqa"]
    del oll_doc["groups"]["leaderboard_gpqa"]
    rows = by_key(lmeval.parse_lmeval(oll_doc, "x.json"))
    gp = rows["leaderboard_gpqa", "raw"]
    assert gp.value == pytest.approx((198 * .3131 + 546 * .3462 + 448 * .3460) / 1192)
    assert gp.settings["aggregation"] == "sample-weighted mean of 3 subtasks"


def test_missing_subtask_means_no_normalized_bbh(oll_doc):
    del oll_doc["results"]["leaderboard_bbh_snarks"]
    rows = by_key(lmeval.parse_lmeval(oll_doc, "x.json"))
    assert ("leaderboard_bbh", "raw") in rows and ("leaderboard_bbh", "normalized") not in rows


def test_limit_run_is_not_called_the_leaderboard_number(oll_doc):
    oll_doc["config"]["limit"] = 10
    rows = by_key(lmeval.parse_lmeval(oll_doc, "x.json"))
    assert rows["leaderboard_mmlu_pro", "normalized"].settings["normalization"] == lmeval.LIMITED


def test_filter_preference_for_generative_tasks():
    doc = {"results": {"gsm8k": {"exact_match,flexible-extract": 0.5, "exact_match,strict-match": 0.4,
                                 "exact_match_stderr,strict-match": "N/A"}},
           "config": {"model_args": "pretrained=org/m"}}
    (s,) = lmeval.parse_lmeval(doc, "g.json").scores
    assert (s.benchmark, s.value, s.settings["filter"]) == ("gsm8k", 0.4, "strict-match")


def test_parse_results_rows_for_the_app():
    rows = lmeval.parse_results(json.loads(OLL.read_text()), source="up.json", scales=("normalized",))
    assert len(rows) == 6 and {r["scale"] for r in rows} == {"normalized"}
    assert {r["hf_id"] for r in rows} == {"meta-llama/Llama-3.2-1B-Instruct"}
    assert len(lmeval.parse_results(OLL.read_bytes(), source="up.json")) == 12


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("results"), "results"),
    (lambda d: d.__setitem__("results", {}), "results"),
    (lambda d: d["results"].__setitem__("leaderboard_mmlu_pro", [0.37]), "results.leaderboard_mmlu_pro"),
    (lambda d: d["results"]["leaderboard_mmlu_pro"].__setitem__("acc,none", "0.37"),
     "results.leaderboard_mmlu_pro.acc,none"),
    (lambda d: d["results"]["leaderboard_mmlu_pro"].__setitem__("acc,none", 37.0),
     "results.leaderboard_mmlu_pro.acc,none"),
    (lambda d: d["results"]["leaderboard_mmlu_pro"].pop("acc,none"), "results.leaderboard_mmlu_pro"),
    (lambda d: d.__setitem__("n-shot", [3]), "n-shot"),
])
def test_malformed_lmeval_names_field_and_fix(oll_doc, mutate, field):
    doc = copy.deepcopy(oll_doc)
    mutate(doc)
    with pytest.raises(ValueError) as exc:
        lmeval.parse_lmeval(doc, "bad.json") if "results" in doc else lmeval.parse_results(doc, "bad.json")
    msg = str(exc.value)
    assert msg.startswith(f"bad.json, field {field!r}: ") and "Fix: " in msg


def test_not_json_and_not_results(tmp_path):
    with pytest.raises(ValueError, match=r"not valid JSON.*Fix: upload"):
        lmeval.parse(b'{"results": {', name="cut.json")
    with pytest.raises(ValueError, match=r"top level is a JSON list"):
        lmeval.parse(b"[1, 2]", name="list.json")
    with pytest.raises(ValueError, match=r"field 'results': missing"):
        lmeval.parse(b'{"model": "x"}', name="other.json")


def test_evalplus_leaderboard_file(root):
    p = lmeval.parse(root / "data/public/evalplus_results_20241226.json")
    rows = {(s.hf_id, s.benchmark): s for s in p.scores}
    assert rows["infly/OpenCoder-8B-Instruct", "humaneval_plus"].value == 77.4
    assert rows["infly/OpenCoder-8B-Instruct", "mbpp"].scale == "percent"
    assert ("ajibawa-2023/Code-13B", "mbpp") not in rows  # null in the file
    assert p.unmapped  # entries linking to papers, not the hub


def test_evalplus_evaluate_output():
    def sample(base, plus):
        return {"base_status": base, "plus_status": plus, "solution": "..."}
    doc = {"date": "2024-12-26 10:11", "hash": "abc", "eval": {
        "HumanEval/0": [sample("pass", "pass")], "HumanEval/1": [sample("pass", "fail")],
        "HumanEval/2": [sample("pass", "pass")], "HumanEval/3": [sample("fail", "fail")]}}
    p = lmeval.parse(json.dumps(doc).encode(), name="he_eval_results.json", model="org/coder")
    rows = by_key(p)
    assert rows["humaneval", "percent"].value == 75.0 and rows["humaneval_plus", "percent"].value == 50.0
    assert p.recorded_at.isoformat() == "2024-12-26T10:11:00"
    doc["eval"]["Mbpp/2"] = [sample("pass", "pass")]
    with pytest.raises(ValueError, match="HumanEval/ or Mbpp/"):
        lmeval.parse_evalplus(doc, "mixed.json")
