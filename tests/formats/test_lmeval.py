"""advisor.formats.results / lmeval / evalplus / leaderboard_norm: lm-eval 0.4.x results and EvalPlus files ->
registry scores (pure parsing)."""

from __future__ import annotations

import copy
import csv
import functools
import json
import re
from pathlib import Path

import pytest
import yaml

from advisor.core import leaderboard_norm, registry
from advisor.formats import evalplus, lmeval, results

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "lm_eval"
OLL = FIX / "results_oll_v2_2024-09-27T15-51-00.000000.json"
TINY = FIX / "results_tiny_lmeval_0.4.13.json"


def by_key(parsed):
    return {(s.benchmark, s.scale): s for s in parsed.scores}


@pytest.fixture()
def oll_doc():
    return json.loads(OLL.read_text())


def test_oll_v2_raw_primary_metrics_and_settings():
    p = results.parse(OLL)
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
    rows = by_key(results.parse(OLL))
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
    for (_b, scale), s in rows.items():
        if scale == "normalized":
            assert s.settings["normalization"] == leaderboard_norm.EXACT


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


@pytest.mark.slow  # lm-eval indexes every task YAML it ships (~4 s)
def test_subtask_choices_match_installed_lm_eval_task_configs():
    """lm-eval's own TaskManager indexes its task YAMLs offline (includes resolved, no dataset loaded):
    each group's subtasks and BBH's ``doc_to_choice`` lengths there equal ours. MUSR's choices come per
    document from the dataset (``{{choices}}``), so only its subtask list is checkable offline."""
    index = _task_index()
    choices = registry.subtask_choices()
    for group, subs in choices.items():
        assert sorted(index[group].cfg["task"]) == sorted(f"{group}_{s}" for s in subs), group
    assert len(choices["leaderboard_bbh"]) == 24
    for sub, k in choices["leaderboard_bbh"].items():
        assert len(index[f"leaderboard_bbh_{sub}"].cfg["doc_to_choice"]) == k, sub


def test_real_0413_output_with_task_map_and_local_model():
    p = results.parse(TINY, task_map={"tiny_group": "arc_challenge"}, model="local/tiny")
    assert [(s.benchmark, s.scale, s.value) for s in p.scores] == [("arc_challenge", "raw", 0.375)]
    st = p.scores[0].settings
    assert st["task"] == "tiny_group" and st["shots"] == 1 and st["limit"] == 4
    assert st["file_model"] == "/tmp/exp/tiny" and st["dtype"] == "float32" and st["harness_version"] == "0.4.13"
    # no registry task at all without the map: nothing parsed, all three reported
    assert results.parse(TINY).scores == []


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
    assert rows["leaderboard_mmlu_pro", "normalized"].settings["normalization"] == leaderboard_norm.LIMITED


def test_filter_preference_for_generative_tasks():
    doc = {"results": {"gsm8k": {"exact_match,flexible-extract": 0.5, "exact_match,strict-match": 0.4,
                                 "exact_match_stderr,strict-match": "N/A"}},
           "config": {"model_args": "pretrained=org/m"}}
    (s,) = lmeval.parse_lmeval(doc, "g.json").scores
    assert (s.benchmark, s.value, s.settings["filter"]) == ("gsm8k", 0.4, "strict-match")


def test_uploaded_bytes_parse_like_the_file():
    """The app's upload (advisor.formats.upload) hands results.parse the file's bytes and its name."""
    p = results.parse(OLL.read_bytes(), name="up.json")
    assert [(s.benchmark, s.scale, s.value) for s in p.scores] == \
        [(s.benchmark, s.scale, s.value) for s in results.parse(OLL).scores]
    normalized = [s for s in p.scores if s.scale == "normalized"]
    assert len(p.scores) == 12 and len(normalized) == 6
    assert {s.hf_id for s in p.scores} == {"meta-llama/Llama-3.2-1B-Instruct"}


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
        lmeval.parse_lmeval(doc, "bad.json") if "results" in doc else results.parse(
            json.dumps(doc).encode(), name="bad.json")
    msg = str(exc.value)
    assert msg.startswith(f"bad.json, field {field!r}: ") and "Fix: " in msg


def test_not_json_and_not_results(tmp_path):
    with pytest.raises(ValueError, match=r"not valid JSON.*Fix: upload"):
        results.parse(b'{"results": {', name="cut.json")
    with pytest.raises(ValueError, match=r"top level is a JSON list"):
        results.parse(b"[1, 2]", name="list.json")
    with pytest.raises(ValueError, match=r"field 'results': missing"):
        results.parse(b'{"model": "x"}', name="other.json")


def test_evalplus_leaderboard_file(root):
    p = results.parse(root / "data/public/evalplus_results_20241226.json")
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
    p = results.parse(json.dumps(doc).encode(), name="he_eval_results.json", model="org/coder")
    rows = by_key(p)
    assert rows["humaneval", "percent"].value == 75.0 and rows["humaneval_plus", "percent"].value == 50.0
    assert p.recorded_at.isoformat() == "2024-12-26T10:11:00"
    doc["eval"]["Mbpp/2"] = [sample("pass", "pass")]
    with pytest.raises(ValueError, match="HumanEval/ or Mbpp/"):
        evalplus.parse_evalplus(doc, "mixed.json")


@functools.cache
def _task_index() -> dict:
    """{task or group name: Entry} of the installed lm-eval, from its own TaskManager: every task YAML
    read by lm-eval's loader (``include:`` merged, ``!function`` kept as a reference), offline; no
    task is built, so no dataset is fetched."""
    from lm_eval.tasks import TaskManager

    return TaskManager().task_index


def _declared_metrics(name: str) -> dict[str, bool | None]:
    """{metric: higher_is_better or None} that lm-eval's config of task/group ``name`` declares."""
    entry = _task_index()[name]
    cfg = entry.cfg or {}
    out = {str(m["metric"]).split(".")[-1]: m.get("higher_is_better")  # a !function metric: module.name
           for m in (cfg.get("metric_list") or []) + (cfg.get("aggregate_metric_list") or [])}
    if not out and "class" in cfg:  # a Python task (squadv2's SQuAD2): its class declares the metrics
        from lm_eval.tasks._yaml_loader import load_yaml  # lm-eval's loader, the one TaskManager uses

        cls = load_yaml(entry.yaml_path, resolve_func=True)["class"]
        out = cls.higher_is_better(cls.__new__(cls))  # without __init__, which would load the dataset
    return out


@pytest.mark.slow  # lm-eval indexes every task YAML it ships (~4 s)
def test_every_registry_metric_is_one_the_installed_lm_eval_task_reports():
    index = _task_index()
    checked = 0
    for b in registry.benchmarks().values():
        if b.harness != "lm_eval" or b.group == "oll_v1":
            continue
        assert b.task in index, f"{b.name}: lm-eval has no task or group {b.task!r}"
        declared = _declared_metrics(b.task)
        assert b.metric in declared, f"{b.name}: {b.metric!r} not among {sorted(declared)}"
        if declared[b.metric] is not None:
            assert declared[b.metric] == b.higher_is_better, b.name
        checked += 1
    assert checked >= 36
    # every lm-eval task of the paper's Table 2 task set has a registry benchmark (qasper: its two subtasks)
    table2 = yaml.safe_load((Path(__file__).resolve().parents[2] / "configs" / "tasks" / "paper_table2.yaml")
                            .read_text())
    tasks = {t["task"] for t in table2["tasks"]}
    mapped = lmeval.task_benchmarks()
    missing = [t for t in tasks if t not in mapped and t not in ("anli", "ai2_arc", "qasper")]
    assert missing == []


def _table2_results():
    """A results file as lm-eval 0.4.13 writes it for the Table 2 tasks the registry gained (values are
    illustrative, keys and structure are lm-eval's: groups, tags, filters, percent squadv2)."""
    return {
        "results": {
            "agieval_en": {"alias": "agieval_en", "acc,none": 0.41, "acc_stderr,none": 0.01},
            "agieval_aqua_rat": {"alias": " - agieval_aqua_rat", "acc,none": 0.25, "acc_stderr,none": 0.02},
            "commonsense_qa": {"alias": "commonsense_qa", "acc,none": 0.72, "acc_stderr,none": 0.01},
            "social_iqa": {"alias": "social_iqa", "acc,none": 0.47, "acc_stderr,none": 0.01},
            "medqa_4options": {"alias": "medqa_4options", "acc,none": 0.55, "acc_stderr,none": 0.01,
                               "acc_norm,none": 0.55, "acc_norm_stderr,none": 0.01},
            "gsm8k_cot_llama": {"alias": "gsm8k_cot_llama", "exact_match,strict-match": 0.78,
                                "exact_match_stderr,strict-match": 0.01, "exact_match,flexible-extract": 0.80,
                                "exact_match_stderr,flexible-extract": 0.01},
            "crows_pairs_english": {"alias": "crows_pairs_english", "likelihood_diff,none": 3.9,
                                    "likelihood_diff_stderr,none": 0.1, "pct_stereotype,none": 0.62,
                                    "pct_stereotype_stderr,none": 0.01},
            "toxigen": {"alias": "toxigen", "acc,none": 0.46, "acc_stderr,none": 0.02,
                        "acc_norm,none": 0.43, "acc_norm_stderr,none": 0.02},
            "qasper_bool": {"alias": "qasper_bool", "f1,none": 0.81, "f1_stderr,none": "N/A"},
            "qasper_freeform": {"alias": "qasper_freeform", "f1_abstractive,none": 0.05,
                                "f1_abstractive_stderr,none": 0.004},
            "squadv2": {"alias": "squadv2", "exact,none": 76.4, "f1,none": 79.2, "HasAns_exact,none": 70.1,
                        "NoAns_exact,none": 82.7, "best_exact,none": 76.5, "best_f1,none": 79.3},
        },
        "group_subtasks": {"agieval_en": ["agieval_aqua_rat"], "commonsense_qa": [], "social_iqa": [],
                           "medqa_4options": [], "gsm8k_cot_llama": [], "crows_pairs_english": [],
                           "toxigen": [], "qasper_bool": [], "qasper_freeform": [], "squadv2": []},
        "n-shot": {"commonsense_qa": 7, "squadv2": 1, "gsm8k_cot_llama": 5},
        "config": {"model_args": "pretrained=meta-llama/Llama-3.1-8B", "limit": None},
        "lm_eval_version": "0.4.13", "date": 1764000000.0,
    }


def test_paper_table2_tasks_are_ingested_with_their_scales():
    p = lmeval.parse_lmeval(_table2_results(), "t2.json")
    got = {s.benchmark: (s.value, s.scale) for s in p.scores}
    assert got == {
        "agieval_en": (0.41, "raw"), "commonsense_qa": (0.72, "raw"), "social_iqa": (0.47, "raw"),
        "medqa_4options": (0.55, "raw"), "gsm8k_cot_llama": (0.78, "raw"),  # strict-match preferred
        "crows_pairs_english": (0.62, "raw"), "toxigen": (0.46, "raw"), "qasper_bool": (0.81, "raw"),
        "qasper_freeform": (0.05, "raw"), "squadv2": (76.4, "percent"),
    }
    assert p.unmapped == []  # agieval_aqua_rat is inside the agieval_en group's value
    shots = {s.benchmark: s.settings["shots"] for s in p.scores}
    assert shots["commonsense_qa"] == 7 and shots["squadv2"] == 1


@pytest.mark.parametrize("task,key,value,scale", [("squadv2", "exact,none", 176.4, "0-100"),
                                                  ("toxigen", "acc,none", 46.0, "0-1")])
def test_values_outside_the_benchmarks_scale_are_refused(task, key, value, scale):
    doc = _table2_results()
    doc["results"][task][key] = value
    with pytest.raises(ValueError, match=rf"results\.{task}\.{key}.*outside {scale}"):
        lmeval.parse_lmeval(doc, "t2.json")


@pytest.mark.parametrize("task,key,field", [
    ("leaderboard_ifeval", "inst_level_strict_acc,none", "results.leaderboard_ifeval.inst_level_strict_acc"),
    ("leaderboard_bbh_navigate", "acc_norm,none", "results.leaderboard_bbh_navigate.acc_norm"),
])
def test_a_normalisation_input_outside_0_1_is_refused_not_normalised(oll_doc, task, key, field):
    """An input the leaderboard formula reads but that is not the primary metric (found by hypothesis:
    IFEval's instruction-level accuracy of -1 became a normalized score of -22.5) is range-checked too."""
    oll_doc["results"][task][key] = -1
    with pytest.raises(ValueError, match=rf"{re.escape(field)}'?: value -1(\.0)? outside 0-1.*Fix:"):
        lmeval.parse_lmeval(oll_doc, "oll.json")
