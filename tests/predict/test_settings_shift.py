"""advisor/predict/settings_shift.py: the shift between lm-eval default settings (19-task table) and the
Open LLM Leaderboard's raw values, for the models both cover and only like-for-like task pairs."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import pytest

from advisor.predict import settings_shift

PUBLIC = Path(__file__).resolve().parents[2] / "data" / "public"
# The 12 full-precision runs of database models in the 19-task table, read off the file by hand
# (the quantised "Qwen_Qwen3-14B (8bit)"-style runs and models not among the 40 are not here).
RUNS = {"Qwen_Qwen2.5-7B-Instruct": "Qwen/Qwen2.5-7B-Instruct",
        "meta-llama_Llama-3.1-8B-Instruct": "meta-llama/Llama-3.1-8B-Instruct",
        "01-ai_Yi-1.5-9B-Chat": "01-ai/Yi-1.5-9B-Chat",
        "meta-llama_Meta-Llama-3-8B-Instruct": "meta-llama/Meta-Llama-3-8B-Instruct",
        "mistralai_Mistral-7B-Instruct-v0.3": "mistralai/Mistral-7B-Instruct-v0.3",
        "01-ai_Yi-1.5-6B-Chat": "01-ai/Yi-1.5-6B-Chat", "Qwen_Qwen2-7B-Instruct": "Qwen/Qwen2-7B-Instruct",
        "meta-llama_Llama-3.2-3B-Instruct": "meta-llama/Llama-3.2-3B-Instruct",
        "Qwen_Qwen2.5-3B-Instruct": "Qwen/Qwen2.5-3B-Instruct",
        "Qwen_Qwen2.5-1.5B-Instruct": "Qwen/Qwen2.5-1.5B-Instruct",
        "meta-llama_Llama-3.2-1B-Instruct": "meta-llama/Llama-3.2-1B-Instruct",
        "Qwen_Qwen2.5-0.5B-Instruct": "Qwen/Qwen2.5-0.5B-Instruct"}


def _diffs(other_col: str, lb_col: str) -> list[float]:
    with (PUBLIC / "lmeval_19tasks_41models_sirus20x6.csv").open(newline="") as fh:
        other = {r["model_name"]: float(r[other_col]) for r in csv.DictReader(fh)}
    with (PUBLIC / "open_llm_leaderboard_v2_raw_40models_eee.csv").open(newline="") as fh:
        lb = {}
        for r in csv.DictReader(fh):  # a model listed twice: its float16 submission, else the first
            if r["model"] not in lb or r["precision"] == "float16":
                lb[r["model"]] = float(r[lb_col])
    return [other[run] - lb[hf] for run, hf in RUNS.items()]


def test_pairs_are_the_models_both_tables_cover():
    pv = settings_shift.paired_values()
    assert set(pv["run_name"]) == set(RUNS)
    assert dict(zip(pv["run_name"], pv["hf_id"])) == RUNS
    assert not pv["run_name"].str.contains("bit)", regex=False).any()
    row = pv[(pv["hf_id"] == "Qwen/Qwen2.5-7B-Instruct") & (pv["benchmark"] == "leaderboard_bbh")].iloc[0]
    assert row["leaderboard"] == 0.5394 and row["other"] == pytest.approx(0.448779, abs=1e-6)


@pytest.mark.parametrize("bench, other_col, lb_col", [
    ("leaderboard_bbh", "bbh(exact_match,get-answer)", "BBH"),
    ("leaderboard_gpqa", "gpqa_main_zeroshot(acc_norm,none)", "GPQA")])
def test_shift_per_task_mean_sd_and_n(bench, other_col, lb_col):
    d = _diffs(other_col, lb_col)
    s = settings_shift.settings_shift().set_index("benchmark").loc[bench]
    assert s["n_models"] == 12
    assert s["mean_diff"] == pytest.approx(statistics.mean(d))
    assert s["sd_diff"] == pytest.approx(statistics.stdev(d))
    assert s["mean_abs_diff"] == pytest.approx(statistics.mean(abs(x) for x in d))


def test_only_like_for_like_pairs_and_the_rest_is_said():
    s = settings_shift.settings_shift()
    assert list(s["benchmark"]) == ["leaderboard_bbh", "leaderboard_gpqa"]
    assert set(settings_shift.NOT_COMPARABLE) == {"leaderboard_mmlu_pro", "leaderboard_math_hard",
                                                  "leaderboard_ifeval", "leaderboard_musr"}
    gpqa = s.set_index("benchmark").loc["leaderboard_gpqa"]
    assert gpqa["sd_diff_normalized"] == pytest.approx(gpqa["sd_diff"] * 100 / 0.75)
    assert s.set_index("benchmark").loc["leaderboard_bbh", "sd_diff_normalized"] != \
        s.set_index("benchmark").loc["leaderboard_bbh", "sd_diff_normalized"]  # NaN: no linear rule for BBH
