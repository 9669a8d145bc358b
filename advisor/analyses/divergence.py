"""Distributions on shared bins and the Jensen-Shannon distance between them (paper Fig. 8).

Scores of different models live on different ranges, so every histogram of one comparison uses the same
bin edges (``shared_edges``: equal-width bins over the pooled range, or over a given range). The
Jensen-Shannon distance is sqrt(JS divergence), JS(P, Q) = (KL(P || M) + KL(Q || M)) / 2 with
M = (P + Q) / 2; with ``base=2`` it lies in [0, 1]. It is ``scipy.spatial.distance.jensenshannon``
(which normalises its inputs to sum 1), with the input checks of this project.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon


def shared_edges(samples, bins: int = 100, value_range=None, tail: float = 0.0) -> np.ndarray:
    """``bins + 1`` equal-width edges covering every finite value of every sample (or ``value_range``).

    ``tail`` > 0: the edges span the pooled ``tail`` and ``1 - tail`` quantiles instead of the extremes
    (values beyond fall into the end bins): the bins then do not move with the sample's most extreme
    documents, so distances on a subsample estimate the same quantity as on the whole corpus.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}. Fix: pass a positive number of bins")
    if value_range is None:
        finite = [np.asarray(s, dtype=float) for s in samples]
        finite = [s[np.isfinite(s)] for s in finite]
        finite = [s for s in finite if s.size]
        if not finite:
            raise ValueError("no finite values in any sample. Fix: pass scores, or value_range")
        if tail > 0:
            pooled = np.concatenate(finite)
            lo, hi = (float(v) for v in np.quantile(pooled, [tail, 1 - tail]))
        else:
            lo, hi = min(s.min() for s in finite), max(s.max() for s in finite)
    else:
        lo, hi = map(float, value_range)
    if hi <= lo:
        hi = lo + 1.0
    return np.linspace(lo, hi, bins + 1)


def histogram(sample, edges: np.ndarray) -> np.ndarray:
    """Probability mass per bin (sums to 1; values outside the edges are clipped into the end bins)."""
    s = np.asarray(sample, dtype=float)
    s = np.clip(s[np.isfinite(s)], edges[0], edges[-1])
    counts, _ = np.histogram(s, bins=edges)
    total = counts.sum()
    if total == 0:
        raise ValueError("empty sample: no finite values to histogram")
    return counts / total


def js_distance(p, q, base: float | None = 2.0) -> float:
    """Jensen-Shannon distance between two histograms (normalised to sum 1 first, like scipy)."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"histograms on different bins: shapes {p.shape} and {q.shape}. "
                         "Fix: build both with the same edges (shared_edges)")
    if (p < 0).any() or (q < 0).any() or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("histograms must be non-negative with a positive total")
    d = float(jensenshannon(p, q, base=base))
    return 0.0 if np.isnan(d) and np.isfinite(p).all() and np.isfinite(q).all() else d  # rounding below 0


def histograms(samples: dict, bins: int = 100, value_range=None, tail: float = 0.0) -> tuple[np.ndarray, dict]:
    """(edges, {name: probabilities}) for every sample on one set of shared edges."""
    edges = shared_edges(list(samples.values()), bins, value_range, tail)
    return edges, {name: histogram(s, edges) for name, s in samples.items()}


def jsd_matrix(samples: dict, bins: int = 100, value_range=None, base: float | None = 2.0) -> pd.DataFrame:
    """Symmetric Jensen-Shannon distance matrix (zero diagonal), rows/columns in the order given."""
    return jsd_of_histograms(histograms(samples, bins, value_range)[1], base)


def jsd_of_histograms(hists: dict, base: float | None = 2.0) -> pd.DataFrame:
    """``jsd_matrix`` of histograms already built on shared edges (``histograms``)."""
    names = list(hists)
    out = np.zeros((len(names), len(names)))
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            out[i, j] = out[j, i] = js_distance(hists[names[i]], hists[names[j]], base)
    return pd.DataFrame(out, index=names, columns=names)
