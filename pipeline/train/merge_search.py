"""Merge-vector search for regression reward models (paper eq. 6-7), exhaustive and exact.

A regression RM predicts five attributes r(x) = (helpfulness, correctness, coherence, complexity,
verbosity). Eq. 6 merges them into one reward psi(x) = r(x) . w; eq. 7 picks

    w_m = argmax_{w in S} sum_{(x_c, x_r) in D} 1[psi(x_c) > psi(x_r)]

over S = {0.05 k}^4 x {-0.05 k}, k = 0..20 (21^5 = 4,084,101 vectors): positive weights on the first
four attributes, a negative one on verbosity (as in Nemotron-4-340B-Reward). D is the
HelpSteer2-Preference validation split.

Exactness. Only the sign of w . d matters (d = r(x_c) - r(x_r)) and w = 0.05 k with integer k, so the
search runs on k directly. Predictions are first rounded to multiples of 2^-24 (~6e-8, finer than
float32 resolution for values >= 1) and held as integer-valued float64; every psi and every partial
sum of k . d is then an exact integer below 2^53, so the count is exact and identical in any
summation order (numpy, torch, GPU, the per-vector loop). A pair whose merged scores tie counts as
wrong (eq. 7 uses a strict >).

Tie rule. Several vectors can reach the maximal count; the one returned is the first in
lexicographic order of (k_helpfulness, k_correctness, k_coherence, k_complexity, k_verbosity),
i.e. the smallest k_helpfulness, then the smallest k_correctness, ... (``np.argmax`` over the
C-ordered grid). The number of tied maximisers is reported.

Algorithm. For each (k1, k2, k3, k4) the partial c_i = k1 d1 + .. + k4 d4 is fixed and the condition
c_i - k5 v_i > 0 (v = verbosity difference) holds for a prefix of k5 = 0..20 when v_i > 0 (k5 < c/v),
a suffix when v_i < 0 and all-or-nothing when v_i = 0. One add, one clip and one truncation per
(k1..k4, pair) give the prefix length exactly (``_prepare``); a bincount of those lengths and two
cumulative sums give the counts for all 21 values of k5 at once: 21x fewer evaluations than the
per-vector loop, each a few vectorised passes over memory that stays in cache.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from pipeline.runtime import resolve_device

ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
SIGNS = np.array([1, 1, 1, 1, -1], dtype=np.float64)
STEP = 0.05
K_MAX = 20
QUANTUM_BITS = 24
_LIMIT = 4096.0  # |d| bound under which every step below is exact in float64 (see _prepare)


@dataclass
class MergeResult:
    weights: list[float]  # w_m: 0.05 * k with the sign of each attribute
    k: list[int]  # integer grid coordinates (k1..k5), k5 multiplies -0.05
    correct: int  # validation pairs with psi(chosen) > psi(rejected)
    n_pairs: int
    n_maximisers: int  # vectors tied at the maximal count (the tie rule picks one)
    device: str

    @property
    def accuracy(self) -> float:
        return self.correct / self.n_pairs if self.n_pairs else float("nan")


def quantize(predictions) -> np.ndarray:
    """(n, 5) predictions -> integer-valued float64 round(r * 2^24), validated."""
    q = np.asarray(predictions, dtype=np.float64)
    if q.ndim != 2 or q.shape[1] != 5:
        raise ValueError(f"merge search needs (n, 5) attribute predictions, got shape {q.shape}. "
                         f"Fix: predict all five attributes {ATTRIBUTES}")
    if not np.all(np.isfinite(q)):
        raise ValueError("attribute predictions contain NaN or inf. Fix: check the regression model's outputs")
    if q.size and np.abs(q).max() >= _LIMIT / 2:
        raise ValueError(f"attribute predictions up to {np.abs(q).max():.3g} exceed {_LIMIT / 2:.0f}, the range "
                         "in which the search is exact. Fix: predictions should be on the 0-4 rating scale")
    return np.round(q * 2.0 ** QUANTUM_BITS)


def quantized_differences(chosen, rejected) -> np.ndarray:
    """(n, 5) exact differences of the quantized predictions of chosen and rejected responses."""
    c, r = quantize(chosen), quantize(rejected)
    if c.shape != r.shape:
        raise ValueError(f"chosen {c.shape} and rejected {r.shape} predictions differ in shape. "
                         "Fix: predict both responses of every pair")
    return c - r


def _prepare(d: np.ndarray, k_max: int):
    """Per-pair terms of the prefix-length formula, shared by the numpy and torch paths.

    For v > 0 the prefix length is m = ceil(c/v); for v < 0 the suffix start is s = floor(c/v) + 1;
    for v == 0 it is R or 0 by the sign of c. With delta = 0.5/|v| every one of them equals
    trunc(clip(x, 0, R + 0.5)) where x = c/v - delta + 1 (v > 0), c/v + delta + 1 (v < 0) or c (R + 1)
    (v == 0): c and v are integers, so c/v is never closer than 1/|v| to an integer it is not equal
    to, and the float64 rounding error of x (< 1e-3/|v| for |d| < 4096) cannot cross the margin
    delta leaves. x is split as a12 part + per-block part so a block costs one add.
    """
    r = k_max + 1
    v = d[:, 4]
    groups = [np.flatnonzero(v > 0), np.flatnonzero(v < 0), np.flatnonzero(v == 0)]
    d = d[np.concatenate(groups)]
    npos, nneg = len(groups[0]), len(groups[1])
    v = d[:, 4]
    bias = np.zeros_like(v)
    bias[:npos] = 1 - 0.5 / v[:npos]
    bias[npos:npos + nneg] = 1 - 0.5 / v[npos:npos + nneg]  # v < 0: + 0.5/|v|
    div = v.copy()
    div[npos + nneg:] = 1.0 / (r + 1)  # v == 0: x = c (R + 1)
    shift = np.zeros_like(v)
    shift[npos:npos + nneg] = r + 1  # suffix starts go to the second half of a histogram row
    return d, div, bias, shift


def _counts_from_hist(h, r: int):
    """h: (combos, 2(r+1)) histogram of prefix lengths (first half) and suffix starts -> (combos, r)."""
    hp, hn = h[:, : r + 1], h[:, r + 1:]
    pos = np.cumsum(hp[:, ::-1], axis=1)[:, ::-1][:, 1:]  # #{m > k5}
    neg = np.cumsum(hn, axis=1)[:, :r]  # #{s <= k5}
    return pos + neg


def _counts_numpy(d: np.ndarray, k_max: int, threads: int, k1_chunk: int = 7) -> np.ndarray:
    r = k_max + 1
    d, div, bias, shift = _prepare(d, k_max)
    ks = np.arange(r, dtype=np.float64)
    width = 2 * (r + 1)
    out = np.empty((r, r, r, r, r), dtype=np.int32)  # k1, k2, k3, k4, k5
    # work in slices of k1 (k1_chunk x 21 rows of (k1, k2)): large enough that each numpy call amortises
    # its overhead and the two threads rarely wait on the GIL (7: 0.52 s vs 1.02 s with 1 on 2 idle
    # cores, 1,000 pairs), small enough that one step's arrays stay in cache
    chunks = [list(range(i, min(i + k1_chunk, r))) for i in range(0, r, k1_chunk)]
    a12 = [((ks[c, None, None] * d[:, 0] + ks[None, :, None] * d[:, 1]).reshape(len(c) * r, -1) / div) for c in chunks]

    def block(job: tuple[int, int]) -> None:
        ci, k3 = job
        base = a12[ci]
        rows = base.shape[0]
        offsets = np.arange(rows, dtype=np.float64)[:, None] * width + shift  # histogram cell of each entry
        x = np.empty_like(base)
        codes = np.empty(base.shape, dtype=np.intp)
        hist = np.empty((r, rows, width), dtype=np.intp)
        for k4 in range(r):
            e = (ks[k3] * d[:, 2] + ks[k4] * d[:, 3]) / div + bias
            np.add(base, e, out=x)
            np.clip(x, 0, r + 0.5, out=x)
            np.add(x, offsets, out=codes, casting="unsafe")  # truncation = the floor of a positive x
            hist[k4] = np.bincount(codes.ravel(), minlength=rows * width).reshape(rows, width)
        counts = _counts_from_hist(hist.reshape(r * rows, width), r).reshape(r, len(chunks[ci]), r, r)
        out[chunks[ci], :, k3, :, :] = counts.transpose(1, 2, 0, 3)  # (k4, k1, k2, k5) -> (k1, k2, k4, k5)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(block, [(ci, k3) for ci in range(len(chunks)) for k3 in range(r)]))
    return out


def _counts_torch(d: np.ndarray, k_max: int, device: str) -> np.ndarray:
    import torch

    r = k_max + 1
    d, div, bias, shift = _prepare(d, k_max)
    f64 = dict(dtype=torch.float64, device=device)
    t, div_t, bias_t = (torch.as_tensor(a, **f64) for a in (d, div, bias))
    ks = torch.arange(r, **f64)
    base = ((ks[:, None, None] * t[:, 0] + ks[None, :, None] * t[:, 1]).reshape(r * r, -1) / div_t)[None]
    width = 2 * (r + 1)
    offsets = (torch.arange(r * r * r, **f64) * width).reshape(r, r * r, 1) + torch.as_tensor(shift, **f64)
    out = np.empty((r, r, r, r, r), dtype=np.int32)
    for k3 in range(r):
        e = (ks[k3] * t[:, 2] + ks[:, None] * t[:, 3]) / div_t + bias_t  # (k4, n)
        x = (base + e[:, None, :]).clamp_(0, r + 0.5).add_(offsets).to(torch.int64)
        h = torch.bincount(x.reshape(-1), minlength=r * r * r * width).reshape(r * r * r, width)
        counts = _counts_from_hist(h.cpu().numpy(), r).reshape(r, r, r, r)  # k4, k1, k2, k5
        out[:, :, k3, :, :] = counts.transpose(1, 2, 0, 3)
    return out


def counts_grid(d: np.ndarray, k_max: int = K_MAX, device: str | None = None, threads: int | None = None):
    """Correct-pair count for every k vector: int32 array (R,)*5 indexed [k1, k2, k3, k4, k5]."""
    device = resolve_device(device, "train.merge_device")
    if device == "cpu":
        return _counts_numpy(d, k_max, threads or min(2, os.cpu_count() or 1))
    return _counts_torch(d, k_max, device)


def search(chosen, rejected, k_max: int = K_MAX, step: float = STEP, device: str | None = None) -> MergeResult:
    """Exhaustive eq. 7 search: (n, 5) predictions for chosen and rejected responses -> MergeResult."""
    d = quantized_differences(chosen, rejected)
    device = resolve_device(device, "train.merge_device")
    grid = counts_grid(d, k_max, device)
    flat = int(np.argmax(grid))  # first maximiser in C order = the documented tie rule
    k = [int(x) for x in np.unravel_index(flat, grid.shape)]
    best = int(grid.flat[flat])
    return MergeResult(weights=[float(round(step * kk * s, 10)) + 0.0 for kk, s in zip(k, SIGNS)], k=k, correct=best,
                       n_pairs=int(d.shape[0]), n_maximisers=int(np.count_nonzero(grid == best)), device=device)


def merge(predictions, weights) -> np.ndarray:
    """Eq. 6: psi(x) = r(x) . w for (n, 5) predictions."""
    return np.asarray(predictions, dtype=np.float64) @ np.asarray(weights, dtype=np.float64)
