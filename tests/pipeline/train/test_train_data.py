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
