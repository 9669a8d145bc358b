"""The sequential stopping rule replayed in memory, and synthetic scores shaped like the paper's Figure 7:
what ``bench/bench_presence_sequential.py`` and ``tests/pipeline/presence/test_presence_sequential.py``
validate ``pipeline.presence.sequential`` with. No product code uses it (the stage runs the rounds on
real shards, ``pipeline/presence/stage.py``).
"""

from __future__ import annotations

import math

import numpy as np

from pipeline.presence.sequential import RuleConfig, estimate, first_round_shards, next_round, ratio


def simulate(X: np.ndarray, strata: np.ndarray, subsets: list, models: list, rule: RuleConfig,
             docs_per_step: int = 1000):
    """The rule on a corpus held in memory, in its stored order (rows already in the fixed random
    order, strata interleaved): returns (estimates at the stop, rounds [(round, n_docs, ratio, stop)]).
    A "shard" here is ``docs_per_step`` documents. For the validation test and the bench."""
    N = X.shape[0]
    n_shards = math.ceil(N / docs_per_step)
    n_r = first_round_shards(rule, len(subsets), docs_per_step, n_shards)
    rounds = []
    for k in range(rule.max_rounds):
        n = min(N, n_r * docs_per_step)
        est = estimate(X[:n], strata[:n], subsets, models, rule, round_index=k)
        r = ratio(est, rule)
        stop = r <= 1 or n_r >= n_shards
        rounds.append((k, n, r, stop))
        if stop:
            return est, rounds
        n_r = next_round(n_r, est.growth, k, rule, n_shards)
    raise AssertionError("the schedule's last round is the whole corpus")  # pragma: no cover


def point(X: np.ndarray, strata: np.ndarray, subsets: list, models: list, rule: RuleConfig):
    """Point estimates only (no bootstrap): (means (subset x model), JSD matrix). The full-corpus truth."""
    one = RuleConfig(**{**rule.__dict__, "n_boot": 2})
    est = estimate(X, strata, subsets, models, one)
    return (est.means.pivot(index="subset", columns="model", values="mean"),
            est.jsd.pivot(index="model_a", columns="model_b", values="jsd"))


# --- synthetic scores shaped like the paper's Figure 7 ----------------------------------------------

FIG7_SUBSETS = {  # subset: (offset, scale of the skewed spread) in nats/token; Github highest, Book lowest
    "RedPajamaGithub": (-0.8, 0.30), "RedPajamaBook": (-2.2, 0.25), "RedPajamaArXiv": (-1.5, 0.25),
    "RedPajamaWikipedia": (-1.7, 0.35), "RedPajamaStackExchange": (-1.4, 0.30)}


def synthetic(docs_per_subset: int, n_models: int, seed: int, noise: float = 0.12, shift: float = 0.25):
    """Scores (docs, models), strata, subsets, models in a stratified random order: each document has a
    difficulty (subset offset minus a gamma(2) tail: skewed to the left, as Fig. 7); each model adds a
    small overall shift (uniform in +-shift), a per-subset shift (+-shift/2) and per-document noise."""
    rng = np.random.default_rng(seed)
    subsets = list(FIG7_SUBSETS)
    S = len(subsets)
    off = np.array([FIG7_SUBSETS[s][0] for s in subsets])
    scale = np.array([FIG7_SUBSETS[s][1] for s in subsets])
    # stratified interleaved order: document k of every subset, then k + 1 ...
    strata = np.tile(np.arange(S), docs_per_subset)
    base = off[strata] - rng.gamma(2.0, scale[strata])
    model_shift = rng.uniform(-shift, shift, n_models)
    subset_shift = rng.uniform(-shift / 2, shift / 2, (S, n_models))
    X = (base[:, None] + model_shift[None, :] + subset_shift[strata]
         + rng.normal(0, noise, (len(strata), n_models)) * scale[strata][:, None] / 0.3)
    return X, strata, subsets, [f"m{i}" for i in range(n_models)]
