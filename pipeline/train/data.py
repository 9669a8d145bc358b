"""Datasets by hub id or local file (same schema), chat formatting, tokenization with counts.

* HelpSteer2 (regression): splits train / validation; columns prompt, response and five 0-4 ratings.
* HelpSteer2-Preference (Bradley-Terry, merge search): one table with ``split`` in {train, val}.
  Sign convention, checked against the dataset card (nvidia/HelpSteer2, "preference"): the
  ``preference_strength`` is -3..3, NEGATIVE means response_1 is better, POSITIVE means response_2 is
  better, 0 means no preference. Ties (0) are dropped: BT cannot model them (paper, footnote 11).
* RewardBench: split ``filtered`` (2,985 pairs, 23 subsets).
* HH-RLHF-style pairs (``hh_pairs``, Bradley-Terry on real pairs offline): JSON lines with ``chosen``
  and ``rejected``, each a whole ``\\n\\nHuman: ... \\n\\nAssistant: ...`` dialogue; the two differ in the
  last assistant turn. They become a prompt (the shared turns, as chat messages) and two responses;
  pairs whose earlier turns differ, or that do not end in an assistant turn, or whose two responses
  are the same, are dropped and counted. ``split_pairs`` makes the fixed, seeded train / validation /
  test split.

A local source is a .jsonl/.json/.parquet file (.jsonl.gz too), or for HelpSteer2 a directory with one
file per split (train.jsonl, validation.jsonl or .parquet). Prompts are turned into chat messages
(HelpSteer2's ``<extra_id_1>Assistant`` / ``<extra_id_1>User`` turn markers are split into turns; a
prompt may also be a list of messages) and rendered with the base model's own chat template. A model
without one (a pretrained base such as Gemma-3-270M) gets the turns as a plain transcript
("User: ...\\n\\nAssistant: ...") + EOS, after the BOS token when its tokenizer adds one by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.errors import InputError
from pipeline.train.merge_search import ATTRIBUTES as _ATTRIBUTES

ATTRIBUTES = list(_ATTRIBUTES)  # a list: df[ATTRIBUTES] selects columns (a tuple would be one key)
SCHEMAS = {
    "helpsteer2": ["prompt", "response", *ATTRIBUTES],
    "helpsteer2_preference": ["split", "prompt", "response_1", "response_2", "preference_strength"],
    "rewardbench": ["prompt", "chosen", "rejected", "subset"],
    "hh_pairs": ["chosen", "rejected"],
}
HUB = {  # kind -> (load_dataset kwargs, split name on the hub) for each requested split
    "helpsteer2": lambda split: ({}, {"train": "train", "validation": "validation"}[split]),
    "helpsteer2_preference": lambda split: ({"data_dir": "preference"}, "train"),
    "rewardbench": lambda split: ({}, "filtered"),
}
_TURN = re.compile(r"<extra_id_1>(User|Assistant)\n?")


def _read_local(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix in (".jsonl", ".json") or path.name.endswith(".jsonl.gz"):
        try:
            return pd.read_json(path, lines=path.suffix != ".json" or path.read_text()[:1] != "[")
        except ValueError as exc:
            raise InputError(path, f"not valid JSON lines ({exc})", "write one JSON object per line") from None
    raise InputError(path, f"unsupported file type {path.suffix!r}", "use .jsonl, .json or .parquet")


def load_table(source: str, kind: str, split: str) -> pd.DataFrame:
    """Rows of ``kind`` ('helpsteer2' | 'helpsteer2_preference' | 'rewardbench') for ``split``.

    split: 'train' / 'validation' for HelpSteer2, 'train' / 'val' for the preference data (filtered
    on its ``split`` column), 'filtered' for RewardBench.
    """
    path = Path(source)
    if path.exists():
        if path.is_dir():
            files = [p for ext in (".jsonl", ".parquet", ".json") for p in [path / f"{split}{ext}"] if p.exists()]
            if not files:
                raise InputError(path, f"no file for split {split!r}",
                                 f"put {split}.jsonl or {split}.parquet in the directory")
            path = files[0]
        df = _read_local(path)
        where = str(path)
    else:
        if "/" not in source:
            raise InputError(source, "neither an existing file nor a hub id", "give a local path or org/name")
        import datasets

        kwargs, hub_split = HUB[kind](split)
        df = datasets.load_dataset(source, split=hub_split, **kwargs).to_pandas()
        where = f"{source} ({hub_split})"
    missing = [c for c in SCHEMAS[kind] if c not in df.columns]
    if missing:
        raise InputError(where, f"missing column(s) {missing} for a {kind} table",
                         f"provide the columns {SCHEMAS[kind]} (the hub dataset's schema)")
    if kind == "helpsteer2_preference":
        df = df[df["split"] == split].reset_index(drop=True)
    return df


def messages(prompt: str | list[dict], response: str | None = None) -> list[dict]:
    """Chat messages from a prompt (a possibly multi-turn HelpSteer2 string, or a list of messages already),
    plus the response to score."""
    if isinstance(prompt, str):
        parts = _TURN.split(prompt)
        msgs = [{"role": "user", "content": parts[0].strip()}]
        for role, text in zip(parts[1::2], parts[2::2]):
            msgs.append({"role": role.lower(), "content": text.strip()})
    else:
        msgs = [dict(m) for m in prompt]
    if response is not None:
        msgs.append({"role": "assistant", "content": response})
    return msgs


@dataclass
class PairStats:
    rows: int = 0
    ties_dropped: int = 0
    too_long_dropped: int = 0
    kept: int = 0


def preference_pairs(df: pd.DataFrame, stats: PairStats | None = None) -> pd.DataFrame:
    """prompt, chosen, rejected, strength (|preference_strength|) from HelpSteer2-Preference rows."""
    stats = stats if stats is not None else PairStats()
    s = pd.to_numeric(df["preference_strength"], errors="coerce")
    bad = s.isna() | (s.abs() > 3)
    if bad.any():
        row = int(bad.idxmax())
        raise InputError("helpsteer2_preference", f"preference_strength {df['preference_strength'][row]!r} is not "
                         "an integer in -3..3", "fix the value", row=row, field="preference_strength")
    stats.rows += len(df)
    stats.ties_dropped += int((s == 0).sum())
    keep = s != 0
    second_better = s[keep] > 0  # positive: response_2 is better (dataset card)
    d = df[keep]
    return pd.DataFrame({
        "prompt": d["prompt"].values,
        "chosen": d["response_2"].where(second_better, d["response_1"]).values,
        "rejected": d["response_1"].where(second_better, d["response_2"]).values,
        "strength": s[keep].abs().astype(int).values,
    })


HH_TURN = re.compile(r"\n\n(Human|Assistant): ")
HH_ROLES = {"Human": "user", "Assistant": "assistant"}


def hh_turns(dialogue: str) -> list[dict] | None:
    """``\\n\\nHuman: ...\\n\\nAssistant: ...`` as chat messages; None when it does not start with a turn."""
    parts = HH_TURN.split(dialogue)
    if parts[0].strip() or len(parts) < 3:
        return None
    return [{"role": HH_ROLES[role], "content": text.strip()} for role, text in zip(parts[1::2], parts[2::2])]


@dataclass
class HHStats:
    rows: int = 0
    kept: int = 0
    prefix_differs: int = 0  # the two dialogues differ before their last turn (the HH data has a few)
    not_assistant_last: int = 0  # a dialogue that does not end in an assistant turn, or has no turn
    same_response: int = 0  # chosen == rejected: no preference to learn


def hh_pairs(df: pd.DataFrame, subset: str, stats: HHStats | None = None) -> pd.DataFrame:
    """prompt (the shared turns, a list of messages), chosen, rejected, subset from HH-RLHF ``chosen`` /
    ``rejected`` dialogues; pairs that are not one prompt with two different last responses are dropped and
    counted in ``stats``."""
    stats = stats if stats is not None else HHStats()
    rows = []
    for chosen, rejected in zip(df["chosen"], df["rejected"]):
        stats.rows += 1
        c, r = hh_turns(str(chosen)), hh_turns(str(rejected))
        if c is None or r is None or c[-1]["role"] != "assistant" or r[-1]["role"] != "assistant":
            stats.not_assistant_last += 1
        elif c[:-1] != r[:-1]:
            stats.prefix_differs += 1
        elif c[-1]["content"] == r[-1]["content"]:
            stats.same_response += 1
        else:
            rows.append({"prompt": c[:-1], "chosen": c[-1]["content"], "rejected": r[-1]["content"],
                         "subset": subset})
    stats.kept += len(rows)
    return pd.DataFrame(rows, columns=["prompt", "chosen", "rejected", "subset"])


def split_pairs(pairs: pd.DataFrame, sizes: dict[str, int], seed: int) -> dict[str, pd.DataFrame]:
    """A fixed, seeded split: the pairs shuffled once with ``seed``, then cut into consecutive parts of
    ``sizes`` ({name: count}, in order); InputError when there are fewer pairs than the parts ask for."""
    import numpy as np

    need = sum(sizes.values())
    if need > len(pairs):
        raise InputError("train.data.hh_split", f"the parts ask for {need} pairs but {len(pairs)} are usable",
                         "make the parts smaller", field="train.data.hh_split")
    order = np.random.default_rng(seed).permutation(len(pairs))
    out, start = {}, 0
    for name, n in sizes.items():
        out[name] = pairs.iloc[order[start:start + n]].reset_index(drop=True)
        start += n
    return out


class Encoder:
    """Renders (prompt, response) with the tokenizer's chat template and tokenizes; counts overlong."""

    def __init__(self, tokenizer, max_length: int):
        if tokenizer.pad_token is None:  # sequence classification needs one to find the last token
            tokenizer.pad_token = tokenizer.eos_token
        self.tok, self.max_length = tokenizer, max_length
        # without a chat template the text is tokenized plainly; the BOS the tokenizer adds by default (Gemma,
        # Llama) must then be written out, since ids() tokenizes with add_special_tokens=False
        first = tokenizer("x")["input_ids"][:1]
        self.bos = tokenizer.bos_token if tokenizer.bos_token and first == [tokenizer.bos_token_id] else ""

    def text(self, prompt: str | list[dict], response: str) -> str:
        msgs = messages(prompt, response)
        if self.tok.chat_template:
            return self.tok.apply_chat_template(msgs, tokenize=False)
        transcript = "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in msgs)
        return f"{self.bos}{transcript}{self.tok.eos_token or ''}"

    def ids(self, prompts, responses) -> list[list[int]]:
        texts = [self.text(p, r) for p, r in zip(prompts, responses)]
        return self.tok(texts, add_special_tokens=False)["input_ids"]

    def fit(self, ids: list[int]) -> tuple[list[int], bool]:
        """Left-truncate to max_length (the end, read by last-token pooling, is kept)."""
        return (ids[-self.max_length:], True) if len(ids) > self.max_length else (ids, False)
