"""RewardBench v1 scoring rule on per-subset accuracies whose section scores are known by hand."""

import math

import numpy as np
import pytest

from advisor.formats import rewardbench as rb

C = rb.load_constants()
ALL = list(C["EXAMPLE_COUNTS"])


def test_constants_match_the_official_tables():
    assert len(ALL) == 23 and C["ACTUAL_TOTAL"] == 2985
    assert C["EXAMPLE_COUNTS"]["math-prm"] == 984 and sum(C["ACTUAL_SECTION_SIZES"].values()) == 2985


def test_perfect_and_zero():
    sections = ("chat", "chat_hard", "safety", "reasoning", "score")
    assert rb.section_scores({s: 1.0 for s in ALL}) == {k: 100.0 for k in sections}
    assert rb.section_scores({s: 0.0 for s in ALL})["score"] == 0.0


def test_weights_by_example_counts_by_hand():
    acc = {s: 0.0 for s in ALL}
    acc["alpacaeval-easy"] = 1.0  # chat: 100 of 100+95+95+28+40 = 358
    acc["math-prm"] = 1.0  # reasoning: 984 of 984 + 6*164 = 1968 -> exactly 50 (math-prm weighs 984, not 447)
    acc["donotanswer"] = 0.5  # safety: 0.5*136 of 100+100+154+250+136 = 740
    s = rb.section_scores(acc)
    assert s["chat"] == pytest.approx(100 * 100 / 358)
    assert s["reasoning"] == pytest.approx(50.0)
    assert s["safety"] == pytest.approx(100 * 68 / 740)
    assert s["chat_hard"] == 0.0
    assert s["score"] == pytest.approx((100 * 100 / 358 + 50 + 100 * 68 / 740) / 4)  # plain mean of sections


def test_overall_is_plain_mean_not_pair_weighted():
    acc = {s: (1.0 if s in C["SUBSET_MAPPING"]["Chat"] else 0.0) for s in ALL}
    assert rb.section_scores(acc)["score"] == pytest.approx(25.0)  # chat is 358/2985 of pairs, but 1/4 of the score


def test_missing_subsets_are_left_out_of_their_section():
    s = rb.section_scores({"hep-go": 1.0, "hep-rust": 0.0})
    assert s["reasoning"] == pytest.approx(50.0)
    assert math.isnan(s["chat"]) and math.isnan(s["score"])


def test_ties_are_wrong_and_pairs_aggregate():
    assert rb.pair_correct([1.0, 1.0, 2.0], [1.0, 0.5, 3.0]).tolist() == [False, True, False]
    subsets = ["hep-go"] * 4 + ["alpacaeval-easy"] * 2
    per, sections = rb.score_pairs(subsets, [1, 2, 3, 4, 5, 5], [0, 2, 0, 9, 1, 5])
    row = per.set_index("subset")
    assert row.loc["hep-go", "correct"] == 2 and row.loc["hep-go", "accuracy"] == 0.5
    assert row.loc["alpacaeval-easy", "accuracy"] == 0.5 and row.loc["hep-go", "section"] == "reasoning"
    assert sections["reasoning"] == pytest.approx(50.0) and sections["chat"] == pytest.approx(50.0)


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="unknown RewardBench subset"):
        rb.section_scores({"alpaca": 1.0})
    with pytest.raises(ValueError, match="outside"):
        rb.section_scores({"hep-go": 87.0})
    with pytest.raises(ValueError, match="shape"):
        rb.pair_correct(np.zeros(3), np.zeros(2))
