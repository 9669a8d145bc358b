"""What kind of model a Hub id is, for the leaderboard picker's filters: an official provider's, a
merge, a reward model. The Open LLM Leaderboard v2 table shipped here has no such fields (its source,
an HTML export, carries rank, id, average, size and the six tasks), so each is a documented rule over
data kept beside this module, every row with its source:

- **Official provider** (``official_providers.csv``): the id's organisation (the part before ``/``,
  compared case-insensitively, as the Hub does) pre-trains its own models and publishes them under that
  organisation, from scratch or by continued pre-training of another base (SOLAR, Bielik, Swallow).
  Each row names a model of the shipped table that the organisation pre-trained and the model card that
  says so. It plays the part of the Open LLM Leaderboard's "Official Providers" filter (which tests the
  organisation against a curated list, the ``open-llm-leaderboard/official-providers`` dataset, not
  shipped here); organisations that only fine-tune or merge others' models are not listed.
- **Merge** (``model_name_rules.csv``, kind ``merge``): the name (after the organisation) says
  "merge" or names one of mergekit's merge methods as a word (slerp, ties, dare, della, model_stock
  ...). A merge named without any of them is not caught by this rule; "official providers only"
  leaves it out all the same.
- **Reward model**: the name says "reward" or has "RM" / "PRM" / "ORM" as a word
  (``model_name_rules.csv``, kind ``reward_model``), or RewardBench lists the id as a trained
  classifier (``REWARDBENCH_RM_TYPES``; ``advisor.db.queries.leaderboard`` reads the database's
  ``rewardbench_leaderboard`` table for it).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from advisor.core.names import hub_key

PROVIDERS_FILE = Path(__file__).with_name("official_providers.csv")
RULES_FILE = Path(__file__).with_name("model_name_rules.csv")
KINDS = ("merge", "reward_model")
# RewardBench's model_type of a trained reward model (a sequence classifier, or a custom head such as
# ArmoRM's); its other types (DPO, Generative) are policies scored as implicit or generative judges.
REWARDBENCH_RM_TYPES = ("Seq. Classifier", "Custom Classifier")


@dataclass(frozen=True)
class NameRule:
    kind: str
    pattern: re.Pattern
    source: str


def organisation(hf_id: str) -> str:
    """The Hub organisation of an id ('meta-llama' of 'meta-llama/Llama-3.1-8B'); an id without one
    (the legacy 'gpt2') is its own."""
    return str(hf_id).strip().split("/", 1)[0]


def _name(hf_id: str) -> str:
    return str(hf_id).strip().rsplit("/", 1)[-1]


@lru_cache(maxsize=1)
def official_providers() -> frozenset[str]:
    """The organisations of ``official_providers.csv``, as ``hub_key`` folds them."""
    with PROVIDERS_FILE.open(newline="") as fh:
        return frozenset(hub_key(row["org"]) for row in csv.DictReader(fh))


@lru_cache(maxsize=1)
def name_rules() -> tuple[NameRule, ...]:
    with RULES_FILE.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    unknown = sorted({r["kind"] for r in rows} - set(KINDS))
    if unknown:
        raise ValueError(f"{RULES_FILE}, column 'kind': {unknown} unknown. Fix: use one of {list(KINDS)}.")
    return tuple(NameRule(r["kind"], re.compile(r["pattern"], re.IGNORECASE), r["source"]) for r in rows)


def is_official(hf_id: str) -> bool:
    return hub_key(organisation(hf_id)) in official_providers()


def named_as(hf_id: str, kind: str) -> bool:
    """Whether the id's name (after the organisation) matches a ``kind`` rule of ``model_name_rules.csv``."""
    name = _name(hf_id)
    return any(r.pattern.search(name) for r in name_rules() if r.kind == kind)


def is_merge(hf_id: str) -> bool:
    return named_as(hf_id, "merge")
