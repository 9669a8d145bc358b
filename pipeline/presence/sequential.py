"""Sequential, stratified presence scoring: bootstrap intervals, the stopping rule, the round schedule.

The corpus is stored in one fixed random order that interleaves the subsets (``corpus.py``: a prefix of
the shards holds the same fraction of every subset, in each subset's own seeded random order), and every
model scores the same prefix. Scoring goes in rounds: round r covers shards ``[0, n_r)``. After a round,
``estimate`` computes what the stage publishes on the documents every model has scored, with a
**document-level, stratified, paired bootstrap** (replicates resample documents within each subset, the
same documents for every model):

* per (model, subset) and (model, 'all'): the mean score (the presence features are these means);
* per (model, subset) and (model, 'all'): the histogram on bins shared by all models (mass per bin);
* per model pair: the Jensen-Shannon distance of the 'all' histograms.

Intervals are normal bootstrap intervals, estimate +- z * (bootstrap standard error), at the level
``1 - alpha / max_rounds``: a Bonferroni split of alpha over every look the schedule may take, so the
chance that *any* round's interval misses is at most alpha whatever round the rule stops at. The JSD is
biased upwards on small samples (plug-in entropy): its bootstrap bias estimate (mean of replicates minus
estimate) is added to its half-width in the stopping rule. ``stop_rule``: every model's quantities
satisfy half-width (+ |bias| for the JSD) <= the tolerance (``tol_jsd`` for distances, ``tol_mean``
nats for means and features, ``tol_hist`` probability mass per bin), or the corpus is exhausted (cap).

``next_round``: the next prefix is projected from the widths seen (``growth``: standard errors shrink as
1/sqrt(n), the JSD's bias as 1/n), times ``safety``, growing at least 1.25x and at most 4x, and the last
allowed round (``max_rounds``) is the whole corpus. numpy only; ``RuleConfig`` is the ``presence.sequential:``
config section (validated by pydantic, like every section).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import Field

from advisor.analyses import divergence
from pipeline.config import OpenUnit, Positive, config_dataclass

GROW_MIN, GROW_MAX = 1.25, 4.0
Tolerance = Annotated[float, Field(gt=0)]


@config_dataclass
class RuleConfig:
    """The bootstrap estimates and the stopping rule: the ``presence.sequential:`` config section itself
    (``max_rounds: 1``: one round, the whole corpus). ``bins``, ``tail`` and ``base`` are also those of
    the published histograms and JSD."""
    tol_jsd: Tolerance = 0.01  # Jensen-Shannon distance (base ``base``)
    tol_mean: Tolerance = 0.02  # nats/token: per-subset means = the presence features
    tol_hist: Tolerance = 0.01  # probability mass of one histogram bin
    alpha: OpenUnit = 0.05  # split over max_rounds looks (Bonferroni): each round's level is 1 - alpha/max_rounds
    max_rounds: Positive = 6  # the last allowed round is the whole corpus
    min_docs_per_subset: Positive = 2000  # the first round (and so the smallest sample any estimate rests on)
    n_boot: Annotated[int, Field(ge=2)] = 200  # bootstrap replicates per round
    safety: Annotated[float, Field(gt=0)] = 1.2  # the next round's projected size is multiplied by this
    bins: Positive = 100  # shared histogram bins for the JSD and the plotted distributions
    # bins span the pooled tail..1-tail quantiles (0: min..max); beyond: end bins
    tail: Annotated[float, Field(ge=0, lt=0.5)] = 0.001
    base: Annotated[float, Field(gt=1)] = 2.0  # log base of the Jensen-Shannon distance (2: bounded by 1)
    seed: int = 0  # of the bootstrap replicates

    @property
    def z(self) -> float:
        """Two-sided normal quantile at the per-round level 1 - alpha / max_rounds (Bonferroni)."""
        return NormalDist().inv_cdf(1 - self.alpha / max(1, self.max_rounds) / 2)


@dataclass
class Estimates:
    models: list
    n_docs: dict  # subset -> documents (plus 'all')
    means: pd.DataFrame  # model, subset, mean, se, lo, hi
    hists: pd.DataFrame  # model, subset, bin, bin_lo, bin_hi, density, se, lo, hi
    jsd: pd.DataFrame  # model_a, model_b, jsd, se, bias, lo, hi (both orders, zero diagonal)
    widths: pd.DataFrame = field(default=None)  # model: mean_hw, hist_hw, jsd_hw (max over its quantities)
    growth: float = 1.0  # documents needed / documents used, projected for the widest quantity


def _jsd_pairs(h: np.ndarray, pairs: np.ndarray, base: float) -> np.ndarray:
    """JS distances of histograms ``h[..., model, bin]`` (rows sum to 1) for model pairs (P, 2)."""
    p, q = h[..., pairs[:, 0], :], h[..., pairs[:, 1], :]
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * np.log(p / m), 0.0).sum(-1) + np.where(q > 0, q * np.log(q / m), 0.0).sum(-1)
    return np.sqrt(np.maximum(kl / 2, 0.0) / (np.log(base) if base else 1.0))


def estimate(X: np.ndarray, strata: np.ndarray, subsets: list, models: list, rule: RuleConfig,
             round_index: int = 0) -> Estimates:
    """Point estimates and bootstrap intervals. ``X``: (documents, models) scores, every value finite,
    the same documents for every model; ``strata``: (documents,) subset index into ``subsets``."""
    X = np.asarray(X, dtype=float)
    strata = np.asarray(strata)
    order = np.argsort(strata, kind="stable")
    X, strata = X[order], strata[order]
    n, M = X.shape
    present = [s for s in range(len(subsets)) if (strata == s).any()]
    starts = {s: int(np.searchsorted(strata, s)) for s in present}
    counts = {s: int((strata == s).sum()) for s in present}
    B, bins, z = rule.n_boot, rule.bins, rule.z
    # shared bins per subset and over all documents; values beyond the tails go to the end bins
    groups = [(subsets[s], slice(starts[s], starts[s] + counts[s])) for s in present] + [("all", slice(0, n))]
    edges = {g: divergence.shared_edges([X[sl].ravel()], bins, tail=rule.tail) for g, sl in groups}
    codes = {g: np.clip(np.searchsorted(edges[g], X[sl], side="right") - 1, 0, bins - 1) for g, sl in groups}
    G = len(groups)
    # per document its 2M flat bin indices, (group * M + model) * bins + bin: its subset's group and 'all'
    K = np.empty((n, 2 * M), dtype=np.int64)
    for k, (g, sl) in enumerate(groups[:-1]):
        K[sl, :M] = codes[g] + (k * M + np.arange(M)) * bins
    K[:, M:] = codes["all"] + ((G - 1) * M + np.arange(M)) * bins

    def stats(idx: np.ndarray):
        """Means (G, M) and histograms (G, M, bins) of the documents idx (stratum by stratum, 'all' last)."""
        means = np.stack([X[idx[a:b]].mean(0) for a, b in ((sl.start, sl.stop) for _, sl in groups)])
        h = np.bincount(K[idx].ravel(), minlength=G * M * bins).reshape(G, M, bins).astype(float)
        return means, h / h.sum(-1, keepdims=True)

    mean0, hist0 = stats(np.arange(n))
    pairs = np.array([(i, j) for i in range(M) for j in range(i + 1, M)], dtype=int).reshape(-1, 2)
    jsd0 = _jsd_pairs(hist0[-1], pairs, rule.base)
    rng = np.random.default_rng([int(rule.seed), int(round_index), n, 19])
    bm, bh = np.empty((B,) + mean0.shape), np.empty((B,) + hist0.shape)
    for b in range(B):  # stratified: each subset resampled to its own size, the same documents for every model
        idx = np.concatenate([starts[s] + rng.integers(0, counts[s], counts[s]) for s in present])
        bm[b], bh[b] = stats(idx)
    bj = _jsd_pairs(bh[:, -1], pairs, rule.base)
    mean_se, hist_se, jsd_se = bm.std(0, ddof=1), bh.std(0, ddof=1), bj.std(0, ddof=1)
    jsd_bias = bj.mean(0) - jsd0

    names = [g for g, _ in groups]
    mrows = [(models[m], names[g], mean0[g, m], mean_se[g, m]) for g in range(len(names)) for m in range(M)]
    means = pd.DataFrame(mrows, columns=["model", "subset", "mean", "se"])
    means["lo"], means["hi"] = means["mean"] - z * means.se, means["mean"] + z * means.se
    gi, mi, bi = np.meshgrid(np.arange(G), np.arange(M), np.arange(bins), indexing="ij")
    gi, mi, bi = gi.ravel(), mi.ravel(), bi.ravel()
    lo_edges = np.array([edges[g][:-1] for g in names])
    hi_edges = np.array([edges[g][1:] for g in names])
    hists = pd.DataFrame({"model": np.array(models, dtype=object)[mi], "subset": np.array(names, dtype=object)[gi],
                          "bin": bi, "bin_lo": lo_edges[gi, bi], "bin_hi": hi_edges[gi, bi],
                          "density": hist0[gi, mi, bi], "se": hist_se[gi, mi, bi]})
    hists["lo"] = (hists.density - z * hists.se).clip(lower=0)
    hists["hi"] = (hists.density + z * hists.se).clip(upper=1)
    jrows = []
    for k, (i, j) in enumerate(pairs):
        lo, hi = max(jsd0[k] - z * jsd_se[k], 0.0), min(jsd0[k] + z * jsd_se[k], 1.0)
        for a, b in ((i, j), (j, i)):
            jrows.append((models[a], models[b], jsd0[k], jsd_se[k], jsd_bias[k], lo, hi))
    for i in range(M):
        jrows.append((models[i], models[i], 0.0, 0.0, 0.0, 0.0, 0.0))
    jsd = pd.DataFrame(jrows, columns=["model_a", "model_b", "jsd", "se", "bias", "lo", "hi"])
    n_docs = {subsets[s]: counts[s] for s in present} | {"all": n}
    est = Estimates(list(models), n_docs, means, hists, jsd)
    est.widths = widths(est, rule)
    est.growth = growth(est, rule)
    return est


def widths(est: Estimates, rule: RuleConfig) -> pd.DataFrame:
    """Per model: the largest half-width of its means, histogram bins and JSD cells (JSD: + |bias|)."""
    z = rule.z
    j = est.jsd[est.jsd.model_a != est.jsd.model_b]
    out = pd.DataFrame(index=pd.Index(est.models, name="model"))
    out["mean_hw"] = (z * est.means.se).groupby(est.means.model).max()
    out["hist_hw"] = (z * est.hists.se).groupby(est.hists.model).max()
    out["jsd_hw"] = (z * j.se + j.bias.abs()).groupby(j.model_a).max() if len(j) else 0.0
    return out.fillna(0.0)


def growth(est: Estimates, rule: RuleConfig) -> float:
    """How many times the documents every quantity needs to get within its tolerance, projected with
    standard errors shrinking as 1/sqrt(n) and the JSD's bias as 1/n: a mean or bin needs (hw / tol)^2;
    a JSD cell the x = sqrt(n / n') solving |bias| x^2 + z se x = tol, i.e. 1 / x^2."""
    z = rule.z
    need = [((z * est.means.se / rule.tol_mean) ** 2).max(), ((z * est.hists.se / rule.tol_hist) ** 2).max()]
    j = est.jsd[est.jsd.model_a != est.jsd.model_b]
    if len(j):
        a, b = j.bias.abs().to_numpy(), z * j.se.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(a > 1e-12, (-b + np.sqrt(b * b + 4 * a * rule.tol_jsd)) / (2 * a), rule.tol_jsd / b)
        need.append(float(np.max(1 / np.square(x))))
    return float(np.nanmax(need))


def ratio(est: Estimates, rule: RuleConfig) -> float:
    """Largest (half-width / tolerance) over every published quantity: <= 1 means the rule is met."""
    w = est.widths
    return float(max((w.mean_hw / rule.tol_mean).max(), (w.hist_hw / rule.tol_hist).max(),
                     (w.jsd_hw / rule.tol_jsd).max()))


def first_round_shards(rule: RuleConfig, n_subsets: int, shard_docs: int, n_shards: int) -> int:
    if rule.max_rounds <= 1:
        return n_shards  # not sequential: one round, the whole corpus
    return max(1, min(n_shards, math.ceil(rule.min_docs_per_subset * n_subsets / shard_docs)))


def next_round(n_r: int, need: float, round_index: int, rule: RuleConfig, n_shards: int) -> int:
    """Shards of round ``round_index + 1`` after round ``round_index`` covered ``n_r`` shards and projected
    ``need`` times its documents (``growth``)."""
    if round_index + 2 >= rule.max_rounds:
        return n_shards  # the last look the Bonferroni split allows: the whole corpus
    grow = min(GROW_MAX, max(GROW_MIN, rule.safety * need))
    return int(min(n_shards, max(n_r + 1, math.ceil(n_r * grow))))
