"""advisor.store: which value wins, scales, unknown names."""

from __future__ import annotations

import pytest

from advisor import store


@pytest.fixture()
def con(con):
    """The schema with two models and dated / undated scores."""
    c = con
    c.execute("INSERT INTO models (hf_id, params_b, pretrain_tokens_t) VALUES ('a/x', 1.5, 2.0), ('b/y', 7.0, 15.0)")
    rows = [("a/x", "leaderboard_ifeval", 40.0, "normalized", "oll_v2_final", None),           # undated shipped value
            ("a/x", "leaderboard_ifeval", 55.0, "normalized", "lm_eval:a.json", "2025-01-01"),  # dated user run
            ("a/x", "leaderboard_ifeval", 0.61, "raw", "lm_eval:a.json", "2025-01-01"),
            ("b/y", "leaderboard_ifeval", 70.0, "normalized", "lm_eval:old.json", "2024-01-01"),
            ("b/y", "leaderboard_ifeval", 72.0, "normalized", "lm_eval:new.json", "2025-06-01")]
    c.executemany("INSERT INTO benchmark_scores VALUES (?, ?, ?, ?, ?, '{}', ?)", rows)
    return c


def test_newest_dated_value_wins_and_scales_never_mix(con):
    X = store.feature_matrix(con, ["leaderboard_ifeval", "params_b"], scale="normalized")
    assert X.loc["a/x", "leaderboard_ifeval"] == 55.0  # dated beats undated
    assert X.loc["b/y", "leaderboard_ifeval"] == 72.0  # newer beats older
    assert X.loc["b/y", "params_b"] == 7.0
    raw = store.feature_matrix(con, ["leaderboard_ifeval"], scale="raw")
    assert raw.loc["a/x", "leaderboard_ifeval"] == 0.61 and raw["leaderboard_ifeval"].isna().sum() == 1


def test_unknown_feature_lists_valid_names(con):
    with pytest.raises(KeyError, match="valid names: .*leaderboard_ifeval"):
        store.feature_matrix(con, ["ifevl"])
