"""Dataset loading by local file in the hub schemas, preference sign convention, chat formatting."""

import json

import pandas as pd
import pytest

from pipeline.errors import InputError
from pipeline.train import data
from pipeline.train.fixtures import write_fixtures


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return write_fixtures(tmp_path_factory.mktemp("fx"))


def test_fixtures_load_in_the_real_schemas(fx):
    hs2 = data.load_table(str(fx["helpsteer2"]), "helpsteer2", "train")
    assert list(hs2.columns) == ["prompt", "response", *data.ATTRIBUTES] and len(hs2) == 96
    pref_val = data.load_table(str(fx["helpsteer2_preference"]), "helpsteer2_preference", "val")
    assert set(pref_val["split"]) == {"val"} and len(pref_val) == 32
    rb = data.load_table(str(fx["rewardbench"]), "rewardbench", "filtered")
    assert rb["subset"].nunique() == 23


def test_sign_convention_and_ties():
    df = pd.DataFrame({"prompt": ["p"] * 3, "response_1": ["A", "B", "C"], "response_2": ["a", "b", "c"],
                       "preference_strength": [-2, 3, 0]})
    stats = data.PairStats()
    pairs = data.preference_pairs(df, stats)
    assert pairs[["chosen", "rejected"]].values.tolist() == [["A", "a"], ["b", "B"]]  # negative: response_1 better
    assert pairs["strength"].tolist() == [2, 3] and stats.ties_dropped == 1 and stats.rows == 3


def test_bad_strength_and_missing_columns(tmp_path):
    df = pd.DataFrame({"prompt": ["p"], "response_1": ["a"], "response_2": ["b"], "preference_strength": [7]})
    with pytest.raises(InputError, match="row 0, field 'preference_strength'"):
        data.preference_pairs(df)
    f = tmp_path / "rb.jsonl"
    f.write_text(json.dumps({"prompt": "p", "chosen": "c"}) + "\n")
    with pytest.raises(InputError, match=r"missing column\(s\) \['rejected', 'subset'\]"):
        data.load_table(str(f), "rewardbench", "filtered")
    with pytest.raises(InputError, match="no file for split"):
        data.load_table(str(tmp_path), "helpsteer2", "validation")


def test_multi_turn_prompt_becomes_turns():
    msgs = data.messages("Hi\n<extra_id_1>Assistant\nHello!\n<extra_id_1>User\nHow are you?", "Fine.")
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[1]["content"] == "Hello!" and msgs[2]["content"] == "How are you?"


def test_chat_template_and_left_truncation(tiny_models):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models["llama"])
    enc = data.Encoder(tok, max_length=8)
    text = enc.text("What is 2 + 2?", "4")
    assert text.startswith("<|user|>\nWhat is 2 + 2?<|end|>\n<|assistant|>\n4<|end|>")
    ids = enc.ids(["What is 2 + 2?"], ["4"])[0]
    cut, truncated = enc.fit(ids)
    assert truncated and cut == ids[-8:]


# --- real preference pairs (HH-RLHF) and models without a chat template -----------------------------------

def hh(*turns: str) -> str:
    return "".join(f"\n\n{t}" for t in turns)


def test_hh_dialogues_become_a_prompt_and_two_responses_and_bad_pairs_are_counted():
    df = pd.DataFrame({"chosen": [hh("Human: Hi", "Assistant: Hello", "Human: Help me?", "Assistant: Sure."),
                                  hh("Human: A", "Assistant: B", "Human: C", "Assistant: D"),
                                  hh("Human: A", "Assistant: B"), hh("Human: A"), "no turns"],
                       "rejected": [hh("Human: Hi", "Assistant: Hello", "Human: Help me?", "Assistant: No."),
                                    hh("Human: A", "Assistant: X", "Human: C", "Assistant: E"),
                                    hh("Human: A", "Assistant: B"), hh("Human: A"), "no turns"]})
    stats = data.HHStats()
    pairs = data.hh_pairs(df, "hh-test", stats)
    assert len(pairs) == 1 and pairs.loc[0, "chosen"] == "Sure." and pairs.loc[0, "rejected"] == "No."
    assert pairs.loc[0, "prompt"] == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                                      {"role": "user", "content": "Help me?"}]
    assert vars(stats) == {"rows": 5, "kept": 1, "prefix_differs": 1, "not_assistant_last": 2, "same_response": 1}
    assert data.messages(pairs.loc[0, "prompt"], "Sure.")[-1] == {"role": "assistant", "content": "Sure."}


def test_the_split_is_seeded_disjoint_and_refuses_too_many():
    pairs = pd.DataFrame({"chosen": [f"c{i}" for i in range(50)], "rejected": "r", "prompt": "p", "subset": "s"})
    a = data.split_pairs(pairs, {"train": 30, "validation": 5, "test": 10}, seed=7)
    b = data.split_pairs(pairs, {"train": 30, "validation": 5, "test": 10}, seed=7)
    assert all(a[k]["chosen"].tolist() == b[k]["chosen"].tolist() for k in a)
    assert [len(a[k]) for k in ("train", "validation", "test")] == [30, 5, 10]
    assert len(set().union(*(set(v["chosen"]) for v in a.values()))) == 45
    assert a["test"]["chosen"].tolist() != data.split_pairs(pairs, {"train": 30, "validation": 5, "test": 10},
                                                            seed=8)["test"]["chosen"].tolist()
    with pytest.raises(InputError, match="ask for 51 pairs but 50 are usable") as err:
        data.split_pairs(pairs, {"train": 51}, seed=7)
    assert "train.data.hh_split" in str(err.value)  # the config field to change, not a name no config has


@pytest.mark.slow  # builds a tokenizer with transformers
def test_a_model_without_chat_template_gets_a_transcript_after_its_bos(tmp_path):
    """Gemma-3-270M (a pretrained base) has no chat template and its tokenizer adds <bos> by default: the plain
    fallback used to drop the BOS (ids are tokenized without special tokens) and to pass HelpSteer2's
    <extra_id_1> turn markers through as text."""
    from tokenizers.processors import TemplateProcessing

    from pipeline.fixtures import build_tokenizer

    tok = build_tokenizer(tmp_path)
    tok.chat_template = None
    enc = data.Encoder(tok, max_length=64)
    assert enc.text("Hi\n<extra_id_1>Assistant\nHello!\n<extra_id_1>User\nWhy?", "Because.") == \
        "User: Hi\n\nAssistant: Hello!\n\nUser: Why?\n\nAssistant: Because.<|eos|>"  # no BOS: it adds none
    bos = [("<|bos|>", tok.bos_token_id)]
    tok._tokenizer.post_processor = TemplateProcessing(single="<|bos|> $A", special_tokens=bos)
    enc = data.Encoder(tok, max_length=64)
    ids = enc.ids(["Hi"], ["Yes"])[0]
    assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1 and ids[-1] == tok.eos_token_id
