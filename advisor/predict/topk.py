"""Top-k coverage of a ranking (paper eq. 9): the one implementation, used by the evaluation of the
predictor specs (``advisor.predict.evaluation``) and by the paper's coverage analysis
(``advisor.analyses.coverage``).

C(beta, rho, L, k) = |T_beta(L, k) & T_rho(L, k)| / k, where T_x(L, k) are the k best models of L by x.

Tie rule (deterministic): models are ordered by value, higher first, and models with equal values are
ordered by their key (the hf_id, compared as text) ascending; the top k of that order is T(L, k).
"""

from __future__ import annotations

import numpy as np


def best_first(values, keys) -> np.ndarray:
    """Positions of ``values`` best first: by value descending, equal values by key ascending (as text).
    T(L, k) of any k is the first k positions."""
    text = np.array([str(k) for k in keys], dtype=str)
    return np.lexsort((text, -np.asarray(values, dtype=float)))


def coverage(by_pred, by_truth, k: int) -> float:
    """Eq. 9 from the best-first orders of the same models by the prediction and by the truth."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k > len(by_pred):
        raise ValueError(f"k = {k} but only {len(by_pred)} models have both values")
    return len(set(by_pred[:k]) & set(by_truth[:k])) / k
