"""The leaderboard picker's rules (advisor.core.model_kinds): official providers, merges and reward models,
checked against the shipped leaderboard table and hand-picked ids."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from advisor.core import model_kinds

ROOT = Path(__file__).resolve().parents[2]
LEADERBOARD = ROOT / "data" / "public" / "open_llm_leaderboard_v2_final_20250509_modelrank.csv"


@pytest.fixture(scope="module")
def shipped() -> pd.Series:
    return pd.read_csv(LEADERBOARD)["model"]


def test_every_official_provider_names_a_model_it_pretrained_in_the_shipped_table(shipped):
    with model_kinds.PROVIDERS_FILE.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len({r["org"].lower() for r in rows}) >= 40  # one row per organisation
    for r in rows:
        assert r["pretrained_example"] in set(shipped), r
        assert model_kinds.organisation(r["pretrained_example"]) == r["org"], r
        assert r["source"].startswith(f"https://huggingface.co/{r['pretrained_example']}"), r


def test_the_papers_publishers_are_official_and_fine_tuners_and_mergers_are_not(root):
    paper = pd.read_csv(root / "data" / "paper" / "models.csv")["hf_id"]
    assert all(model_kinds.is_official(h) for h in paper)  # Meta, Google, Qwen, Mistral, TII ... (40 models)
    assert model_kinds.is_official("META-LLAMA/Llama-3.1-8B-Instruct")  # Hub organisations ignore case
    for h in ("zelk12/MT-Gen2-gemma-2-9B", "Skywork/Skywork-Reward-Gemma-2-27B-v0.2",
              "NousResearch/Hermes-3-Llama-3.1-8B", "mistral-community/Mistral-7B-v0.2",
              "MaziyarPanahi/calme-3.2-instruct-78b"):
        assert not model_kinds.is_official(h), h
    assert model_kinds.organisation("gpt2") == "gpt2" and model_kinds.is_official("gpt2")


@pytest.mark.parametrize("hf_id, merge", [
    ("zelk12/MT-Merge-gemma-2-9B", True), ("zelk12/MT1-Max-Merge_02012025163610-gemma-2-9B", True),
    ("allknowingroger/Gemma2Slerp2-27B", True), ("CultriX/Qwen2.5-14B-Wernicke-SLERP", True),
    ("mergekit-community/mergekit-della-zgowfmf", True), ("Quazim0t0/Oasis-14B-ties", True),
    ("org/Qwen2.5-7B-model_stock", True), ("org/x-7b-dare-ties", True),
    ("google/gemma-2-9b", False), ("meta-llama/Llama-3.1-8B-Instruct", False),
    ("org/Tiesto-7b", False), ("org/daredevil-8b", False),  # a method's letters inside another word
    ("merge-org/Llama-3-8B", False),  # only the name after the organisation counts
])
def test_merges_are_named_by_a_merge_word_or_a_mergekit_method(hf_id, merge):
    assert model_kinds.is_merge(hf_id) is merge


@pytest.mark.parametrize("hf_id, named", [
    ("allenai/Llama-3.1-Tulu-3-8B-RM", True), ("Skywork/Skywork-Reward-Gemma-2-27B-v0.2", True),
    ("kaist-ai/janus-rm-7b", True), ("org/Qwen2.5-Math-PRM-7B", True),
    ("org/Storm-7B", False), ("princeton-nlp/Llama-3-Instruct-8B-ORPO", False), ("google/gemma-2-9b", False),
    ("RLHFlow/ArmoRM-Llama3-8B-v0.1", False),  # not by its name: RewardBench lists it (queries.leaderboard)
])
def test_reward_models_by_name(hf_id, named):
    assert model_kinds.named_as(hf_id, "reward_model") is named


def test_on_the_shipped_table_no_official_model_is_a_merge_and_every_rule_has_a_source(shipped):
    official = shipped[shipped.map(model_kinds.is_official)]
    assert len(official) > 300 and not official.map(model_kinds.is_merge).any()
    merges = shipped[shipped.map(model_kinds.is_merge)]
    assert 400 < len(merges) < 600  # about one row in ten of 4,576
    assert all(r.source.strip() for r in model_kinds.name_rules())
    assert {r.kind for r in model_kinds.name_rules()} == set(model_kinds.KINDS)


def test_an_unknown_rule_kind_names_the_file_and_the_fix(tmp_path, monkeypatch):
    bad = tmp_path / "rules.csv"
    bad.write_text("kind,pattern,source\nmerges,merge,x\n")
    monkeypatch.setattr(model_kinds, "RULES_FILE", bad)
    model_kinds.name_rules.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"rules.csv, column 'kind': \['merges'\] unknown. Fix: use one of"):
            model_kinds.name_rules()
    finally:
        model_kinds.name_rules.cache_clear()
