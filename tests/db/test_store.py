"""advisor.db.store: which value wins, scales, unknown names."""

from __future__ import annotations

import pytest

from advisor.db import store


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


def test_one_rm_result_per_model_follows_the_preference_order(con):
    rows = [("a/x", "regression", 70.0, "paper", None), ("a/x", "regression", 80.0, "pipeline", "run1"),
            ("a/x", "regression", 82.0, "pipeline", "run2"), ("b/y", "regression", 90.0, "pipeline", "run1"),
            ("a/x", "bt", 60.0, "paper", None)]
    con.executemany("INSERT INTO rm_results (hf_id, method, score, source, run_id) VALUES (?, ?, ?, ?, ?)", rows)
    assert len(store.rm_table(con)) == 5  # every row, by default

    def picked(sources, method="regression"):
        rm = store.rm_table(con, method=method, sources=sources, one_per_model=True)
        assert not rm.duplicated(["hf_id", "method"]).any()
        return dict(zip(rm.hf_id, rm.score))

    assert picked(("paper", "pipeline")) == {"a/x": 70.0, "b/y": 90.0}  # the paper's where it has one
    assert picked(("pipeline", "paper")) == {"a/x": 82.0, "b/y": 90.0}  # the latest pipeline run
    assert picked(("paper",)) == {"a/x": 70.0}
    both = store.rm_table(con, sources=("paper", "pipeline"), one_per_model=True)
    assert sorted(zip(both.hf_id, both.method)) == [("a/x", "bt"), ("a/x", "regression"), ("b/y", "regression")]


def test_rm_rows_with_equal_scores_come_back_in_one_order(con):
    """Ties in score are ordered by hf_id (DuckDB's parallel sort returned them in varying orders, so
    correlations over the rows differed in their last digits from call to call)."""
    ids = [f"org/m{i:02d}" for i in range(40)]
    rows = [(h, "regression", 50.0, "paper", None) for h in reversed(ids)]
    con.executemany("INSERT INTO rm_results (hf_id, method, score, source, run_id) VALUES (?, ?, ?, ?, ?)", rows)
    for _ in range(5):
        assert list(store.rm_table(con)["hf_id"]) == ids


def test_the_analyses_matrix_has_every_feature_with_values_in_registry_order(con):
    """``store.analysis_matrix``: the one input of the pages' and the report's analyses."""
    con.execute("UPDATE models SET in_paper = (hf_id = 'b/y')")
    con.executemany("INSERT INTO benchmark_scores VALUES (?, ?, ?, ?, 'x', '{}', NULL)",
                    [("a/x", "humaneval", 31.0, "percent"), ("b/y", "leaderboard_bbh", 0.5, "raw"),
                     ("b/y", "leaderboard_bbh", 44.0, "normalized")])
    assert store.features_with_values(con) == ["leaderboard_ifeval", "leaderboard_bbh", "humaneval", "params_b",
                                               "pretrain_tokens_t"]
    M = store.analysis_matrix(con, ["b/y", "a/x", "c/none"], oll_v2_scale="raw")
    assert list(M.index) == ["b/y", "a/x", "c/none"] and list(M.columns) == store.features_with_values(con)
    assert M.loc["b/y", "leaderboard_bbh"] == 0.5 and M.loc["a/x", "leaderboard_ifeval"] == 0.61  # raw OLL v2
    assert M.loc["a/x", "humaneval"] == 31.0  # every other benchmark on its native scale
    assert M.loc["c/none"].isna().all()
    assert store.analysis_matrix(con, ["b/y"]).loc["b/y", "leaderboard_bbh"] == 44.0
    assert store.paper_models(con) == ["b/y"]


def test_rm_targets_are_one_row_per_model_from_the_first_source_that_has_it(con):
    rows = [("a/x", "regression", 1.0, 2.0, 3.0, 4.0, 70.0, "paper"), ("a/x", "regression", 0, 0, 0, 0, 80.0, "user"),
            ("b/y", "regression", 5.0, 6.0, 7.0, 8.0, 90.0, "user"), ("b/y", "bt", 0, 0, 0, 0, 10.0, "paper")]
    con.executemany("INSERT INTO rm_results (hf_id, method, chat, chat_hard, safety, reasoning, score, source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    t = store.rm_targets(con, "regression", sources=("paper", "user"))
    assert list(t.columns) == ["score", "chat", "chat_hard", "safety", "reasoning"]
    assert t.to_dict("index") == {"b/y": {"score": 90.0, "chat": 5.0, "chat_hard": 6.0, "safety": 7.0,
                                          "reasoning": 8.0},
                                  "a/x": {"score": 70.0, "chat": 1.0, "chat_hard": 2.0, "safety": 3.0,
                                          "reasoning": 4.0}}
    assert list(t.index) == ["b/y", "a/x"]  # best score first
    assert list(store.rm_targets(con, "regression").index) == ["a/x"]  # the paper's by default
