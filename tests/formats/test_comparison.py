"""A comparison as a link (advisor.formats.comparison): the Predict page's choices as URL query
parameters and back, and the size budget's MIN-MAX syntax."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from advisor.core.errors import InputError
from advisor.formats import comparison, upload
from advisor.formats.comparison import Comparison


@pytest.mark.parametrize("text, budget", [("1-10", (1.0, 10.0)), ("0.5-7.5", (0.5, 7.5)), ("3-inf", (3.0, math.inf)),
                                          ("3-", (3.0, math.inf)), ("-8", (0.0, 8.0)), (" 2 - 2 ", (2.0, 2.0)),
                                          ("0-inf", (0.0, math.inf))])
def test_budget_min_max(text, budget):
    assert comparison.parse_budget(text) == budget
    assert comparison.parse_budget(comparison.format_budget(budget)) == budget


@pytest.mark.parametrize("text", ["10-1", "abc", "5", "-1-3", "nan-3", "inf-inf", ""])
def test_a_bad_budget_names_the_value_and_the_fix(text):
    with pytest.raises(InputError, match=r"--budget: .* Fix: write MIN-MAX in billions of parameters, e\.g\. 1-10"):
        comparison.parse_budget(text, where="--budget")


def test_the_defaults_make_no_parameters_and_the_rest_round_trips():
    assert comparison.to_query(Comparison()) == {}
    c = Comparison(picked=["meta-llama/Llama-3.1-8B-Instruct", "google/gemma-2-9b-it"], method="bradley_terry",
                   budget=(1.0, math.inf))
    c.choices["upload_scale"] = "percent"
    query = comparison.to_query(c)
    assert query == {"pick": ["meta-llama/Llama-3.1-8B-Instruct", "google/gemma-2-9b-it"],
                     "method": "bradley_terry", "budget": "1-inf", "upload_scale": "percent"}
    back, problems = comparison.from_query({k: v if isinstance(v, list) else [v] for k, v in query.items()})
    assert back == c and problems == []


def test_picks_as_repeated_or_comma_separated_parameters_once_each():
    c, problems = comparison.from_query({"pick": ["a/b,c/d", " a/b ", ""], "utm_source": ["x"]})
    assert c.picked == ["a/b", "c/d"] and problems == []  # parameters of no meaning here are ignored


def test_values_a_link_cannot_hold_are_reported_and_the_defaults_used():
    c, problems = comparison.from_query({"method": ["dpo"], "budget": ["9-2"], "typed_settings": ["mine"],
                                         "upload_scale": ["normalized"]})
    assert (c.method, c.budget, c.choices["typed_settings"]) == ("regression", (0.0, math.inf), "leaderboard")
    assert c.choices["upload_scale"] == "normalized"  # the valid one is kept
    assert problems == [
        "The link's 'method': 'dpo' is not one of regression, bradley_terry; using regression. Fix: choose it "
        "on the page, which updates the link.",
        "The link's 'budget': '9-2' is not a range MIN-MAX with 0 <= MIN <= MAX. Fix: write MIN-MAX in billions "
        "of parameters, e.g. 1-10, or 3-inf for no upper limit. Using no budget (every size).",
        "The link's 'typed_settings': 'mine' is not one of leaderboard, other; using leaderboard. Fix: choose "
        "it on the page, which updates the link."]


def test_leaderboard_ids_match_case_insensitively_in_the_tables_spelling():
    lb = pd.DataFrame({"hf_id": ["meta-llama/Llama-3.1-8B-Instruct", "google/gemma-2-9b-it"]})
    found, missing = upload.match_leaderboard_ids(lb, ["META-LLAMA/llama-3.1-8b-instruct", "nope/x",
                                                       "google/gemma-2-9b-it", "meta-llama/Llama-3.1-8B-Instruct"])
    assert found == ["meta-llama/Llama-3.1-8B-Instruct", "google/gemma-2-9b-it"] and missing == ["nope/x"]
