"""advisor.core.registry: the leaderboard facts as data equal the constants they replaced, lookups name the valid
names, and the reward-model vocabulary (categories, methods, size groups) has one definition."""

import pytest

from advisor.core import registry

# advisor/formats/lmeval.py before issue 18, written out (never computed from the data under test)
OLD_SUBTASK_CHOICES = {
    "leaderboard_bbh": {
        "boolean_expressions": 2, "causal_judgement": 2, "date_understanding": 6,
        "disambiguation_qa": 3, "formal_fallacies": 2, "geometric_shapes": 11, "hyperbaton": 2,
        "logical_deduction_five_objects": 5, "logical_deduction_seven_objects": 7,
        "logical_deduction_three_objects": 3, "movie_recommendation": 6, "navigate": 2,
        "object_counting": 19, "penguins_in_a_table": 5, "reasoning_about_colored_objects": 18,
        "ruin_names": 6, "salient_translation_error_detection": 6, "snarks": 2,
        "sports_understanding": 2, "temporal_sequences": 4, "tracking_shuffled_objects_five_objects": 5,
        "tracking_shuffled_objects_seven_objects": 7, "tracking_shuffled_objects_three_objects": 3,
        "web_of_lies": 2,
    },
    "leaderboard_musr": {"murder_mysteries": 2, "object_placements": 5, "team_allocation": 3},
}
OLD_TASK_CHANCE = {"leaderboard_gpqa": 0.25, "leaderboard_mmlu_pro": 0.1, "leaderboard_math_hard": 0.0}


def test_leaderboard_facts_equal_the_old_constants():
    assert registry.subtask_choices() == OLD_SUBTASK_CHOICES
    assert list(registry.subtask_choices()["leaderboard_bbh"]) == list(OLD_SUBTASK_CHOICES["leaderboard_bbh"])
    assert registry.task_chance() == OLD_TASK_CHANCE
    assert all(type(v) is int for d in registry.subtask_choices().values() for v in d.values())


def test_the_six_leaderboard_tasks_are_named_and_are_registry_rows():
    assert registry.OLL_V2_TASKS == ("leaderboard_ifeval", "leaderboard_bbh", "leaderboard_math_hard",
                                     "leaderboard_gpqa", "leaderboard_musr", "leaderboard_mmlu_pro")
    rows = registry.benchmarks()  # read from advisor/core/benchmarks.csv
    for task in registry.OLL_V2_TASKS:
        assert task in rows and rows[task].group == "oll_v2" and rows[task].harness == "lm_eval", task
    # the group's other row is the leaderboard's average of these six, not a task
    assert set(registry.names("oll_v2")) - set(registry.OLL_V2_TASKS) == {"oll_v2_average"}


def test_fact_lookups_list_valid_names():
    assert registry.choices("leaderboard_musr") == {"murder_mysteries": 2, "object_placements": 5,
                                                     "team_allocation": 3}
    assert registry.chance("leaderboard_gpqa") == 0.25
    with pytest.raises(KeyError, match="leaderboard_bbh, leaderboard_musr"):
        registry.choices("leaderboard_gpqa")
    with pytest.raises(KeyError, match="leaderboard_gpqa, leaderboard_mmlu_pro, leaderboard_math_hard"):
        registry.chance("leaderboard_bbh")


def test_bad_fact_files_name_file_row_and_field(tmp_path, monkeypatch):
    bad = tmp_path / "subtasks.csv"
    bad.write_text("task,subtask,choices\nleaderboard_bbh,navigate,two\n")
    monkeypatch.setattr(registry, "SUBTASKS_FILE", bad)
    registry.subtask_choices.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"subtasks.csv, row 2, field 'choices': 'two'"):
            registry.subtask_choices()
        bad.write_text("task,subtask,choices\nleaderboard_bb,navigate,2\n")
        registry.subtask_choices.cache_clear()
        with pytest.raises(KeyError, match="valid names: .*leaderboard_bbh"):
            registry.subtask_choices()
    finally:
        registry.subtask_choices.cache_clear()


def test_reward_model_vocabulary():
    assert registry.RM_SECTIONS == ("chat", "chat_hard", "safety", "reasoning")
    assert registry.RM_TARGETS == ("score", "chat", "chat_hard", "safety", "reasoning")
    assert registry.CATEGORY_LABELS == {"score": "Overall", "chat": "Chat", "chat_hard": "Chat Hard",
                                        "safety": "Safety", "reasoning": "Reasoning"}
    assert registry.METHOD_LABELS == {"regression": "Regression", "bradley_terry": "Bradley-Terry"}
    assert tuple(registry.METHOD_LABELS) == registry.METHODS


@pytest.mark.parametrize("params, group", [(0.5, "<3B"), (2.99, "<3B"), (3.0, "3-6B"), (5.9, "3-6B"),
                                           (6.0, ">=6B"), (70.0, ">=6B")])
def test_size_group_rule(params, group):
    assert registry.size_group(params) == group
    assert group in registry.SIZE_GROUPS


def test_one_scale_rule():
    s = registry.model_scales(["leaderboard_bbh", "oll_v1_arc", "humaneval", "gsm8k", "params_b"], "normalized")
    assert s == {"leaderboard_bbh": "normalized", "oll_v1_arc": "percent", "humaneval": "percent",
                 "gsm8k": "raw", "params_b": "count"}
    assert registry.model_scales(["leaderboard_bbh", "oll_v2_average"], "raw") == {
        "leaderboard_bbh": "raw", "oll_v2_average": "normalized"}
    with pytest.raises(KeyError, match="valid names"):
        registry.model_scales(["no_such_bench"], "raw")
