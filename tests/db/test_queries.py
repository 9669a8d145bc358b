"""The picker's filter over the leaderboard table (advisor.db.queries.filter_leaderboard), on a table
built by hand."""

from __future__ import annotations

import pandas as pd

from advisor.db import queries


def table() -> pd.DataFrame:
    rows = [  # hf_id, rank, params_b, org, known, official, merge, reward_model (leaderboard rank order)
        ("zelk12/MT-Merge-gemma-2-9B", 1, 10.2, "zelk12", False, False, True, False),
        ("zelk12/MT1-gemma-2-9B", 2, 10.2, "zelk12", False, False, False, False),
        ("google/gemma-2-9b-it", 3, 9.2, "google", True, True, False, False),
        ("Skywork/Skywork-Reward-Gemma-2-27B-v0.2", 4, 27.2, "Skywork", False, False, False, True),
        ("meta-llama/Llama-3.1-8B-Instruct", 5, 8.0, "meta-llama", True, True, False, False),
        ("google/gemma-2-2b", 6, 2.6, "google", False, True, False, False),
    ]
    return pd.DataFrame(rows, columns=["hf_id", "rank", "params_b", "org", "known", "official", "merge",
                                       "reward_model"])


def ids(df: pd.DataFrame) -> list[str]:
    return list(df["hf_id"])


def test_search_words_match_in_any_order_and_case():
    assert ids(queries.filter_leaderboard(table(), "8b LLAMA 3.1")) == ["meta-llama/Llama-3.1-8B-Instruct"]
    assert ids(queries.filter_leaderboard(table(), "  ")) == ids(queries.filter_leaderboard(table()))
    assert ids(queries.filter_leaderboard(table(), "gemma-2 27b")) == ["Skywork/Skywork-Reward-Gemma-2-27B-v0.2"]


def test_official_providers_first_then_leaderboard_rank():
    assert ids(queries.filter_leaderboard(table(), "gemma")) == [
        "google/gemma-2-9b-it", "google/gemma-2-2b", "zelk12/MT-Merge-gemma-2-9B", "zelk12/MT1-gemma-2-9B",
        "Skywork/Skywork-Reward-Gemma-2-27B-v0.2"]


def test_the_three_switches():
    t = table()
    assert ids(queries.filter_leaderboard(t, "gemma", official_only=True)) == ["google/gemma-2-9b-it",
                                                                               "google/gemma-2-2b"]
    assert "zelk12/MT-Merge-gemma-2-9B" not in ids(queries.filter_leaderboard(t, hide_merges=True))
    assert "zelk12/MT1-gemma-2-9B" in ids(queries.filter_leaderboard(t, hide_merges=True))  # not named a merge
    assert ids(queries.filter_leaderboard(t, "skywork", hide_reward_models=True)) == []
    both = queries.filter_leaderboard(t, hide_merges=True, hide_reward_models=True)
    assert len(both) == 4 and not both["merge"].any() and not both["reward_model"].any()


def test_size_organisation_and_status_filters_still_apply():
    t = table()
    assert ids(queries.filter_leaderboard(t, size_range=(0.0, 5.0))) == ["google/gemma-2-2b"]
    assert ids(queries.filter_leaderboard(t, orgs=["zelk12"])) == ["zelk12/MT-Merge-gemma-2-9B",
                                                                  "zelk12/MT1-gemma-2-9B"]
    assert ids(queries.filter_leaderboard(t, status="known")) == ["google/gemma-2-9b-it",
                                                                  "meta-llama/Llama-3.1-8B-Instruct"]
