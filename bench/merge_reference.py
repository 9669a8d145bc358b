"""Merge-vector search by the letter of eq. 6-7: the grid's vectors and the per-vector loop that
``pipeline.train.merge_search``'s exhaustive search is checked against (``bench/bench_merge.py``,
``tests/pipeline/train/test_merge_search.py``). No product code uses it.
"""

from __future__ import annotations

import numpy as np

from pipeline.train.merge_search import K_MAX, SIGNS


def grid_vectors(k_max: int = K_MAX) -> np.ndarray:
    """All integer k vectors of the grid, (R^5, 5), in the C order of ``merge_search.counts_grid``."""
    r = np.arange(k_max + 1)
    return np.stack(np.meshgrid(r, r, r, r, r, indexing="ij"), -1).reshape(-1, 5)


def brute_force_counts(chosen_q: np.ndarray, rejected_q: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Reference: eq. 6-7 literally, one vector at a time: count psi(x_c) > psi(x_r) (quantized inputs)."""
    out = np.empty(len(vectors), dtype=np.int64)
    for j, k in enumerate(np.asarray(vectors, dtype=np.float64)):
        w = k * SIGNS
        out[j] = np.count_nonzero(chosen_q @ w > rejected_q @ w)
    return out
