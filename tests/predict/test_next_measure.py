"""Issue 26, item 5: what to measure next (advisor.predict.next_measure). Fast: the synthetic bundle of
tests/support (served fits read the OLL v2 mean and the size; partial rows are served by imputation, widened
by its measured spread) and the cost file's facts re-derived from the lm-eval fixture they cite."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from advisor.core import registry
from advisor.predict import next_measure, ranking, verdict
from tests.support import synthetic_bundle

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "lm_eval" / "results_oll_v2_2024-09-27T15-51-00.000000.json"
TASKS = list(registry.OLL_V2_TASKS)


def test_the_cost_files_measured_facts_match_the_lm_eval_run_and_the_choices_they_cite():
    """documents: the run's n-samples summed over subtasks; forwards: the mean number of answer choices
    (advisor/core/benchmark_subtasks.csv; GPQA's four from its chance level, 1/4), one for the generative
    tasks and for MMLU-PRO's one-token letters."""
    run = json.loads(FIXTURE.read_text())
    n = {t: sum(v["effective"] for k, v in run["n-samples"].items() if k.startswith(t.removesuffix("_hard")))
         for t in TASKS}  # MATH's subtasks: leaderboard_math_<topic>_hard
    tasks = next_measure.costs()["tasks"]
    assert {t: tasks[t]["documents"] for t in TASKS} == n
    assert n == {"leaderboard_ifeval": 541, "leaderboard_bbh": 5761, "leaderboard_math_hard": 1324,
                 "leaderboard_gpqa": 1192, "leaderboard_musr": 756, "leaderboard_mmlu_pro": 12032}
    choices = {(r["task"], r["subtask"]): int(r["choices"])
               for r in csv.DictReader((ROOT / "advisor/core/benchmark_subtasks.csv").open())}
    for task in ("leaderboard_bbh", "leaderboard_musr"):
        docs = {s: run["n-samples"][f"{task}_{s}"]["effective"] for (t, s) in choices if t == task}
        mean = sum(choices[(task, s)] * k for s, k in docs.items()) / sum(docs.values())
        assert tasks[task]["forwards"] == pytest.approx(mean, abs=5e-4)
    assert tasks["leaderboard_gpqa"]["forwards"] == 1 / registry.chance("leaderboard_gpqa")  # four choices
    for task in ("leaderboard_ifeval", "leaderboard_math_hard", "leaderboard_mmlu_pro"):
        assert tasks[task]["forwards"] == 1
    generative = {t for t in TASKS if any(run["configs"][k]["output_type"] == "generate_until"
                                          for k in run["configs"] if k.startswith(t.removesuffix("_hard")))}
    assert generative == {"leaderboard_ifeval", "leaderboard_math_hard"}
    assert {t for t in TASKS if tasks[t]["generated_tokens"] > 0} == generative


def test_gpu_hours_are_forward_tokens_over_the_measured_throughput():
    # at a measured size the rate is the measured one: Llama-3-8B-like, eager, 28,470 tokens/s on an H100
    gpqa_tokens = 1192 * 4 * 250
    assert next_measure.gpu_hours("leaderboard_gpqa", 8.03) == pytest.approx(gpqa_tokens / 28470 / 3600)
    ifeval_tokens = 541 * (1 * 60 + 400 * 10)  # a generated token costs decode_factor (10) scored tokens
    assert next_measure.gpu_hours("leaderboard_ifeval", 0.494) == pytest.approx(ifeval_tokens / 179196 / 3600)
    assert next_measure.gpu_hours("leaderboard_mmlu_pro", 70) > 8 * next_measure.gpu_hours("leaderboard_mmlu_pro", 8)


@pytest.fixture(scope="module")
def served():
    return synthetic_bundle.served()


def row(hf_id: str, X: pd.DataFrame, **values) -> dict:
    return {"hf_id": hf_id, "scale": "normalized", "settings": "leaderboard", **X.median().to_dict(), **values}


def shortlist(b, rows):
    short = ranking.build(pd.DataFrame(rows).assign(not_ranked="", source="test"), b)
    return short.table, verdict.verdict(short.table)


def test_the_options_of_a_row_are_its_missing_inputs_its_settings_and_the_whole_suite(served):
    _, X, _ = served
    partial = pd.Series(row("new/p", X, leaderboard_gpqa=float("nan"), leaderboard_musr=float("nan"),
                            pretrain_tokens_t=float("nan"), settings="other"))
    assert [o.key for o in next_measure.options(partial)] == [
        "leaderboard_gpqa", "leaderboard_musr", "pretrain_tokens_t", "settings", "all"]
    opts = {o.key: o for o in next_measure.options(partial)}
    assert opts["leaderboard_gpqa"].lm_eval_tasks == ("leaderboard_gpqa",)  # the registry's task name
    assert opts["settings"].lm_eval_tasks == ("leaderboard_ifeval", "leaderboard_bbh", "leaderboard_math_hard",
                                              "leaderboard_mmlu_pro") and opts["settings"].leaderboard_settings
    assert opts["all"].fills == ("leaderboard_gpqa", "leaderboard_musr") and len(opts["all"].lm_eval_tasks) == 6
    assert next_measure.options(pd.Series(row("new/full", X))) == []  # complete, leaderboard settings


def test_each_candidate_of_the_top_group_gets_the_input_that_narrows_its_interval_most(served):
    """The missing inputs are imputed and widen the interval by their measured spread; measuring them all
    in leaderboard settings leaves the served half-width (25 points for the overall score): 50 wide."""
    b, X, _ = served
    rows = [row("new/partial", X, leaderboard_gpqa=float("nan"), leaderboard_musr=float("nan"),
                leaderboard_bbh=float("nan"), settings="other"),
            row("new/full", X, leaderboard_ifeval=X["leaderboard_ifeval"].quantile(0.3))]
    table, found = shortlist(b, rows)
    assert set(found.top_group) == {"new/partial", "new/full"}
    out = {e["hf_id"]: e for e in next_measure.what_to_measure_next(table, b, "regression", found.top_group)}
    p = out["new/partial"]
    widths = {o["measure"]: o["interval_after"][1] - o["interval_after"][0] for o in p["options"]}
    now = p["interval_now"][1] - p["interval_now"][0]
    single = {k: w for k, w in widths.items() if k.startswith("leaderboard_")}
    assert p["measure"] == min(single, key=single.get) and widths[p["measure"]] < now
    assert widths["all"] == pytest.approx(50.0) and widths["all"] < min(single.values())
    assert widths["settings"] < now  # leaderboard settings drop the settings spread
    assert p["lm_eval_tasks"] == [p["measure"]] and f"lm-eval task {p['measure']}" in p["line"]
    assert p["gpu_hours"] == pytest.approx(next_measure.gpu_hours(p["measure"], X["params_b"].median()))
    assert "all six tasks in leaderboard settings" in p["line"]
    full = out["new/full"]  # complete, leaderboard settings: nothing left to measure
    assert full["measure"] is None and full["options"] == []
    assert full["line"].startswith("new/full: nothing left to measure narrows its interval")


def test_a_measured_base_has_nothing_to_add(served):
    b, X, _ = served
    rows = [row("known/m01", X.loc["known/m01"].to_frame().T)]
    measured = pd.DataFrame({"measured_score": [99.0], "measured_source": ["paper, Table 4"]},
                            index=pd.Index(["known/m01"], name="hf_id"))
    short = ranking.build(pd.DataFrame(rows).assign(not_ranked="", source="test"), b, measured=measured)
    out = next_measure.what_to_measure_next(short.table, b, "regression", ["known/m01"])
    assert out == [{"hf_id": "known/m01", "measure": None, "label": None, "lm_eval_tasks": [], "gpu_hours": 0.0,
                    "interval_now": None, "interval_after": None, "mae_after": None, "options": [],
                    "line": "known/m01: measured (paper, Table 4); nothing to add."}]


def test_pending_counts_the_patterns_still_to_evaluate(served):
    b, X, _ = served  # the synthetic bundle holds no targets: no pattern is ever evaluated, nothing pending
    table, found = shortlist(b, [row("new/p", X, leaderboard_gpqa=float("nan"))])
    assert next_measure.pending(table, b, "regression", found.top_group) == 0
