"""Tiny JSONL fixtures in the real schemas of HelpSteer2, HelpSteer2-Preference, RewardBench and HH-RLHF.

Used by ``configs/smoke.yaml`` (``train.data.fixtures: true``) and the tests, so training and scoring
run end to end without hub access. The content is synthetic but learnable: a good response says
"correct" and "helpful" things, a bad one says "wrong" things, so a tiny RM can learn to prefer it.

Schemas (as on the hub):
* ``nvidia/HelpSteer2`` train/validation: prompt, response, helpfulness, correctness, coherence,
  complexity, verbosity (integers 0-4). A multi-turn prompt holds earlier turns separated by
  ``<extra_id_1>Assistant`` / ``<extra_id_1>User`` markers.
* ``nvidia/HelpSteer2`` data_dir ``preference`` (one file, column ``split`` = train | val): prompt,
  response_1, response_2, preference_strength (-3..3; negative = response_1 better, positive =
  response_2 better, 0 = no preference), preference_statement, preference_elaboration,
  three_most_similar_preferences, all_preferences_unprocessed.
* ``allenai/reward-bench`` split ``filtered``: prompt, chosen, chosen_model, rejected, rejected_model,
  subset, id.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from advisor.formats.rewardbench import load_constants

TOPICS = ["numpy arrays", "the sea", "prime order groups", "reversing a list in Python", "photosynthesis",
          "the mitochondria", "SQL queries", "reward models", "Wikipedia", "adding two numbers"]
GOOD = ["The correct answer is clear and helpful.", "Here is a helpful, correct explanation.",
        "A clear answer: use reversed(x) or x[::-1].", "This is correct: the result is 4."]
BAD = ["This is wrong and not helpful.", "I do not know, wrong answer.", "wrong wrong, the answer is 9.",
       "Not helpful; the fox is lazy."]


def _prompt(rng: random.Random, multi_turn: bool) -> str:
    q = f"Question: tell me about {rng.choice(TOPICS)}."
    if not multi_turn:
        return q
    return (f"{q}\n<extra_id_1>Assistant\n{rng.choice(GOOD)}\n<extra_id_1>User\n"
            f"And what about {rng.choice(TOPICS)}?")


def _response(rng: random.Random, good: bool, long: bool = False) -> str:
    parts = [rng.choice(GOOD if good else BAD)]
    if long:
        parts.append(rng.choice(GOOD if good else BAD))
    return " ".join(parts)


def helpsteer2_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        good, long = rng.random() < 0.5, rng.random() < 0.3
        q = 3 + rng.randint(0, 1) if good else rng.randint(0, 1)
        rows.append({"prompt": _prompt(rng, i % 7 == 3), "response": _response(rng, good, long),
                     "helpfulness": q, "correctness": q if rng.random() < 0.8 else max(0, q - 1),
                     "coherence": 4 if good else 2 + rng.randint(0, 1), "complexity": rng.randint(1, 2),
                     "verbosity": 3 if long else 1})
    return rows


def preference_rows(n_train: int, n_val: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n_train + n_val):
        tie = i % 12 == 5
        good_first = rng.random() < 0.5
        strength = 0 if tie else rng.randint(1, 3) * (-1 if good_first else 1)
        if rng.random() < 0.15:  # annotator noise: the label points at the worse response
            strength = -strength
        r1 = _response(rng, good_first or tie, rng.random() < 0.3)
        r2 = _response(rng, not good_first or tie, rng.random() < 0.3)
        statement = ("@Response 1 is about the same as @Response 2." if tie else
                     f"@Response {1 if good_first else 2} is better than @Response {2 if good_first else 1}.")
        rows.append({"split": "train" if i < n_train else "val", "prompt": _prompt(rng, i % 9 == 4),
                     "response_1": r1, "response_2": r2, "preference_strength": strength,
                     "preference_statement": statement, "preference_elaboration": "It is correct and helpful.",
                     "three_most_similar_preferences": [{"statement": statement, "elaboration": "",
                                                         "strength": strength}],
                     "all_preferences_unprocessed": [strength]})
    return rows


def rewardbench_rows(per_subset: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for subset in sorted(load_constants()["EXAMPLE_COUNTS"]):
        for _ in range(per_subset):
            hard = rng.random() < 0.4  # both responses look good: a coin flip for the model
            rows.append({"prompt": _prompt(rng, False), "chosen": _response(rng, True),
                         "chosen_model": "fixture-good", "rejected": _response(rng, hard),
                         "rejected_model": "fixture-bad", "subset": subset, "id": len(rows)})
    return rows


def hh_rows(n: int, seed: int) -> list[dict]:
    """Anthropic HH-RLHF's format (``chosen`` / ``rejected``: whole ``\\n\\nHuman:`` / ``\\n\\nAssistant:``
    dialogues differing in the last assistant turn), one dialogue in three multi-turn; learnable like the
    others (a good last turn is chosen), with 15% of the labels flipped."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        turns = f"\n\nHuman: tell me about {rng.choice(TOPICS)}."
        if i % 3 == 1:
            turns += f"\n\nAssistant: {rng.choice(GOOD)}\n\nHuman: And {rng.choice(TOPICS)}?"
        good, bad = _response(rng, True), _response(rng, False)
        if rng.random() < 0.15:
            good, bad = bad, good
        rows.append({"chosen": f"{turns}\n\nAssistant: {good}", "rejected": f"{turns}\n\nAssistant: {bad}"})
    return rows


def _write(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_fixtures(out_dir: str | Path, seed: int = 0, sizes: dict | None = None) -> dict[str, Path]:
    """Write the four fixture files; returns {'helpsteer2': dir, 'helpsteer2_preference': file, 'rewardbench': file}.

    ``helpsteer2`` is a directory holding train.jsonl and validation.jsonl (one file per split, as on
    the hub); the other two are single files.
    """
    s = {"hs2_train": 96, "hs2_val": 24, "pref_train": 96, "pref_val": 32, "rb_per_subset": 2, **(sizes or {})}
    out = Path(out_dir)
    _write(out / "helpsteer2" / "train.jsonl", helpsteer2_rows(s["hs2_train"], seed))
    _write(out / "helpsteer2" / "validation.jsonl", helpsteer2_rows(s["hs2_val"], seed + 1))
    return {"helpsteer2": out / "helpsteer2",
            "helpsteer2_preference": _write(out / "helpsteer2_preference.jsonl",
                                            preference_rows(s["pref_train"], s["pref_val"], seed + 2)),
            "rewardbench": _write(out / "rewardbench_filtered.jsonl", rewardbench_rows(s["rb_per_subset"], seed + 3))}


def write_hh_fixture(path: str | Path, n: int = 120, seed: int = 0) -> Path:
    """``n`` HH-RLHF-format pairs (``hh_rows``) as JSON lines at ``path`` (for ``train.data.hh_pairs``)."""
    return _write(Path(path), hh_rows(n, seed))
