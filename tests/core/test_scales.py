"""advisor/core/scales.py: exact conversions between raw, percent and the leaderboard's normalized scale,
checked against the leaderboard's own published numbers; one scale per candidate row."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from advisor.core import scales

PUBLIC = Path(__file__).resolve().parents[2] / "data" / "public"


def _rows(name):
    with (PUBLIC / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_exact_rules_reproduce_the_leaderboards_published_normalized_values():
    """raw (4 decimals, every_eval_ever) -> normalized by the rule = the final leaderboard table's
    number (2 decimals) for GPQA, MMLU-Pro and MATH Lvl 5, for every one of the 40 models' rows."""
    final: dict[str, list[dict]] = {}
    for r in _rows("open_llm_leaderboard_v2_final_20250509_modelrank.csv"):
        final.setdefault(r["model"], []).append(r)
    pairs = {"leaderboard_gpqa": ("GPQA", "GPQA"), "leaderboard_mmlu_pro": ("MMLU-PRO", "MMLU_PRO"),
             "leaderboard_math_hard": ("MATH Level 5", "MATH_Lvl5")}
    checked = 0
    for r in _rows("open_llm_leaderboard_v2_raw_40models_eee.csv"):
        # a model with two submissions: one of its final rows matches all three tasks at once
        ok = [all(abs(scales.convert(t, float(r[raw]), "raw", "normalized") - float(f[norm])) <= 0.011
                  for t, (raw, norm) in pairs.items()) for f in final[r["model"]]]
        assert any(ok), r["model"]
        checked += 1
    assert checked == 44
    # the inverse, above chance, gives the raw value back
    assert scales.convert("leaderboard_gpqa", 12.08, "normalized", "raw") == pytest.approx(0.25 + 0.75 * 0.1208)


def test_bbh_is_not_a_rescaled_task_level_number():
    """Why BBH is not converted: raw x 100 and the one-chance rule both miss the published value."""
    raw = {r["model"]: float(r["BBH"]) for r in _rows("open_llm_leaderboard_v2_raw_40models_eee.csv")}
    final = {r["model"]: float(r["BBH"]) for r in _rows("open_llm_leaderboard_v2_final_20250509_modelrank.csv")}
    yi = "01-ai/Yi-1.5-6B-Chat"
    assert raw[yi] == 0.4571 and final[yi] == 23.68
    assert scales.convert("leaderboard_bbh", raw[yi], "raw", "normalized") is None
    for task in ("leaderboard_ifeval", "leaderboard_bbh", "leaderboard_musr"):
        assert scales.convert(task, 0.5, "raw", "normalized") is None
        assert scales.convert(task, 50.0, "normalized", "raw") is None
        assert "one number" in scales.why_not(task, "raw", "normalized") or "does not determine" in \
            scales.why_not(task, "raw", "normalized")


def test_percent_raw_and_clipped_normalized():
    assert scales.convert("leaderboard_mmlu_pro", 52.3, "percent", "raw") == 0.523
    assert scales.convert("leaderboard_ifeval", 0.801, "raw", "percent") == 80.1
    assert scales.convert("leaderboard_mmlu_pro", 52.3, "percent", "normalized") == pytest.approx(47.0)
    assert scales.convert("leaderboard_gpqa", 0.2, "raw", "normalized") == 0.0  # below chance clips to 0
    assert scales.convert("leaderboard_gpqa", 0.0, "normalized", "raw") is None  # ... so 0 has no inverse
    assert "at or below chance" in scales.why_not("leaderboard_gpqa", "normalized", "raw", 0.0)
    assert scales.convert("leaderboard_math_hard", 0.0, "normalized", "raw") == 0.0  # no chance level
    with pytest.raises(ValueError, match="unknown scale 'percentage'"):
        scales.convert("leaderboard_gpqa", 1.0, "percentage", "raw")


def test_harmonize_single_scale_rows():
    h = scales.harmonize({"leaderboard_mmlu_pro": (52.3, "percent"), "leaderboard_bbh": (60.0, "percent")})
    assert h.scale == "raw" and h.values == {"leaderboard_mmlu_pro": 0.523, "leaderboard_bbh": 0.6}
    assert h.input_scales == ("percent",) and len(h.converted) == 2 and h.dropped == []
    assert scales.harmonize({"leaderboard_bbh": (30.0, "normalized")}).scale == "normalized"
    assert scales.harmonize({"leaderboard_bbh": (math.nan, "raw")}, default="normalized").scale == "normalized"


def test_harmonize_mixed_rows_convert_exactly_or_leave_out_and_say_why():
    # every raw value convertible -> normalized
    h = scales.harmonize({"leaderboard_bbh": (30.0, "normalized"), "leaderboard_gpqa": (40.0, "percent"),
                          "leaderboard_math_hard": (0.2, "raw")})
    assert h.scale == "normalized"
    assert h.values == {"leaderboard_bbh": 30.0, "leaderboard_gpqa": 20.0, "leaderboard_math_hard": 20.0}
    assert h.dropped == [] and any("GPQA: raw 0.4 -> normalized 20 (exact)" in c for c in h.converted)
    # BBH raw cannot become normalized, but GPQA normalized 20 can become raw 0.4
    h = scales.harmonize({"leaderboard_bbh": (0.5, "raw"), "leaderboard_gpqa": (20.0, "normalized")})
    assert h.scale == "raw" and h.values == {"leaderboard_bbh": 0.5, "leaderboard_gpqa": 0.4}
    # neither way is lossless: keep the scale with more values, name what is left out
    h = scales.harmonize({"leaderboard_bbh": (0.5, "raw"), "leaderboard_ifeval": (0.7, "raw"),
                          "leaderboard_musr": (10.0, "normalized")})
    assert h.scale == "raw" and set(h.values) == {"leaderboard_bbh", "leaderboard_ifeval"}
    assert len(h.dropped) == 1 and h.dropped[0].startswith("MUSR (normalized 10): not converted to raw")


def test_candidate_profiles_give_scale_tasks_and_partial():
    frame = pd.DataFrame({"hf_id": ["a", "b", "c"], "scale": ["raw", "normalized", "raw"],
                          "settings": ["other", "leaderboard", "leaderboard"],
                          "leaderboard_ifeval": [0.7, 60, math.nan], "leaderboard_bbh": [0.5, 30, math.nan],
                          "leaderboard_math_hard": [0.1, 10, math.nan], "leaderboard_gpqa": [0.3, 5, math.nan],
                          "leaderboard_musr": [0.4, math.nan, math.nan], "leaderboard_mmlu_pro": [0.3, 20, math.nan],
                          "params_b": [7, 8, 1]})
    p = scales.candidate_profiles(frame).set_index("hf_id")
    assert list(p["scale"]) == ["raw", "normalized", "raw"]
    assert p.loc["a", "tasks"] == scales.TASKS and not p.loc["a", "partial"] and p.loc["a", "settings"] == "other"
    assert p.loc["b", "missing"] == ("leaderboard_musr",) and p.loc["b", "partial"]
    assert p.loc["c", "tasks"] == () and not p.loc["c", "partial"]  # nothing but a size: not 'partial'


@pytest.mark.parametrize("text, want", [("leaderboard", "leaderboard"), ("Open LLM Leaderboard", "leaderboard"),
                                        ("other / unknown", "other"), ("Unknown", "other"), ("model card", "other"),
                                        ("5-shot", None)])
def test_parse_settings(text, want):
    assert scales.parse_settings(text) == want
