"""Batched reward scoring and RewardBench evaluation (paper 3.2).

Scoring: every (prompt, response) is rendered with the model's chat template and tokenized; the
sequences are sorted by length and scored in batches (little padding), padded on the right with the
pad token (set to EOS when the tokenizer has none) and an attention mask; the model pools the last
token that is not padding (transformers' sequence-classification rule, the same as in training).
Sequences longer than max_length are left-truncated (the end is kept) and counted. Scores come back
in the input order, float32, shape (n, num_labels).

RewardBench: the ``filtered`` split (2,985 pairs, 23 subsets); a pair is correct only if
score(chosen) > score(rejected) strictly; section and overall scores by advisor.formats.rewardbench.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from advisor.formats import rewardbench as rb
from pipeline.train.data import Encoder


@torch.no_grad()
def score(model, tokenizer, prompts, responses, batch_size: int = 16, max_length: int = 4096,
          desc: str = "scoring") -> tuple[np.ndarray, int]:
    """(scores (n, num_labels), number of truncated sequences)."""
    enc = Encoder(tokenizer, max_length)
    ids = enc.ids(list(prompts), list(responses))
    fitted = [enc.fit(x) for x in ids]
    truncated = sum(t for _, t in fitted)
    ids = [x for x, _ in fitted]
    pad = tokenizer.pad_token_id
    model.config.pad_token_id = pad
    device = next(model.parameters()).device
    order = np.argsort([len(x) for x in ids], kind="stable")
    out = np.zeros((len(ids), model.config.num_labels), dtype=np.float32)
    model.eval()
    for start in tqdm(range(0, len(order), batch_size), desc=desc, leave=False, unit="batch"):
        idx = order[start:start + batch_size]
        width = max(len(ids[i]) for i in idx)
        input_ids = torch.full((len(idx), width), pad, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
            mask[row, : len(ids[i])] = 1
        logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
        out[idx] = logits.float().cpu().numpy()
    return out, truncated


def score_pairs(model, tokenizer, pairs: pd.DataFrame, batch_size: int, max_length: int,
                desc: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(chosen scores, rejected scores, truncated sequences) of prompt/chosen/rejected pairs, both score
    arrays (n, num_labels), scored in one pass."""
    n = len(pairs)
    s, truncated = score(model, tokenizer, list(pairs["prompt"]) * 2, list(pairs["chosen"]) + list(pairs["rejected"]),
                         batch_size, max_length, desc)
    return s[:n], s[n:], truncated


def evaluate(model, tokenizer, pairs: pd.DataFrame, weights=None, batch_size: int = 16,
             max_length: int = 4096) -> dict:
    """Score RewardBench pairs; ``weights`` merges a regression model's attributes (eq. 6).

    Returns {'sections': {chat, chat_hard, safety, reasoning, score} in percent, 'subsets': DataFrame,
    'truncated': int, 'pairs': int}.
    """
    chosen, rejected, truncated = score_pairs(model, tokenizer, pairs, batch_size, max_length, "RewardBench")
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        chosen, rejected = chosen @ w, rejected @ w
    else:
        chosen, rejected = chosen[:, 0], rejected[:, 0]
    per_subset, sections = rb.score_pairs(pairs["subset"], chosen, rejected)
    return {"sections": sections, "subsets": per_subset, "truncated": truncated, "pairs": len(pairs)}


def compare_heads(subsets, trained: tuple, untrained: tuple) -> pd.DataFrame:
    """Per subset, pairs scored by a trained model and by its untrained head (each a (chosen, rejected)
    pair of score vectors), correct by RewardBench's rule: subset, n, correct, accuracy,
    untrained_correct, untrained_accuracy, trained_only, untrained_only (pairs only one gets right)."""
    t, u = rb.pair_correct(*trained), rb.pair_correct(*untrained)
    df = pd.DataFrame({"subset": np.asarray(subsets, dtype=object), "t": t, "u": u,
                       "t_only": t & ~u, "u_only": u & ~t})
    out = df.groupby("subset", sort=True).agg(n=("t", "size"), correct=("t", "sum"), untrained_correct=("u", "sum"),
                                              trained_only=("t_only", "sum"), untrained_only=("u_only", "sum"))
    out["accuracy"] = out["correct"] / out["n"]
    out["untrained_accuracy"] = out["untrained_correct"] / out["n"]
    return out.reset_index()


def paired_difference_ci(trained_only: int, untrained_only: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Confidence interval of accuracy(trained) - accuracy(untrained) on the same ``n`` pairs, from the
    discordant counts (``compare_heads``): the Wald interval of a paired difference of proportions,
    (b - c) / n +- z * sqrt(b + c - (b - c)^2 / n) / n."""
    b, c = trained_only, untrained_only
    diff = (b - c) / n
    half = z * np.sqrt(max(b + c - (b - c) ** 2 / n, 0.0)) / n
    return diff - half, diff + half


def pair_accuracy(chosen_scores, rejected_scores) -> float:
    """Fraction of pairs with chosen > rejected strictly (validation accuracy)."""
    return float(np.mean(rb.pair_correct(chosen_scores, rejected_scores))) if len(chosen_scores) else float("nan")
