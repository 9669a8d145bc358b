"""Fill missing benchmark results from the low-rank structure of the model x benchmark matrix.

Iterative PCA (hard-impute): standardize each column on its observed values, start missing cells at
the column mean (0), then repeat {center the completed matrix, rank-r SVD reconstruction; overwrite
only the missing cells} until
the missing cells change by less than ``tol``. Observed cells are never changed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def impute_lowrank(matrix: pd.DataFrame, rank: int = 2, max_iter: int = 1000,
                   tol: float = 1e-6) -> pd.DataFrame:
    """The matrix with its missing cells filled by iterative rank-``rank`` PCA."""
    A = matrix.apply(pd.to_numeric, errors="coerce").to_numpy(float)
    miss = ~np.isfinite(A)
    empty = [c for c, m in zip(matrix.columns, miss.all(axis=0)) if m]
    if empty:
        raise ValueError(f"column(s) {empty} have no observed value: nothing to impute from")
    if not miss.any():
        return matrix.astype(float).copy()
    mean = np.nanmean(A, axis=0)
    std = np.nanstd(A, axis=0)
    std[~np.isfinite(std) | (std == 0)] = 1.0
    Z = (A - mean) / std
    Z[miss] = 0.0
    r = max(1, min(rank, min(Z.shape) - 1 if min(Z.shape) > 1 else 1))
    for _ in range(max_iter):
        center = Z.mean(axis=0)  # re-estimated each round (iterative PCA, Josse & Husson)
        U, s, Vt = np.linalg.svd(Z - center, full_matrices=False)
        low = (U[:, :r] * s[:r]) @ Vt[:r] + center
        change = np.max(np.abs(low[miss] - Z[miss]))
        Z[miss] = low[miss]
        if change < tol:
            break
    out = Z * std + mean
    out[~miss] = A[~miss]
    return pd.DataFrame(out, index=matrix.index, columns=matrix.columns)


def impute_rows(rows: pd.DataFrame, reference: pd.DataFrame, rank: int = 2) -> pd.DataFrame:
    """Fill the missing cells of ``rows`` from the low-rank structure of ``reference`` (known models).

    The reference is completed once (``impute_lowrank`` when it has holes) and standardized; its rank-r
    principal axes V are fitted once. Each row is projected onto them using only its observed cells
    (least squares z_obs ~ V_obs a, minimum-norm when it has fewer observed cells than r) and its missing
    cells are read off z_miss = V_miss a. Rows do not influence each other, and rows sharing a pattern of
    missing cells are solved together. Only the columns of ``rows`` are used; the reference must have
    them all; observed cells are returned unchanged.
    """
    cols = list(rows.columns)
    lacking = [c for c in cols if c not in reference.columns]
    if lacking:
        raise ValueError(f"reference matrix lacks column(s) {lacking}")
    ref = reference[cols].apply(pd.to_numeric, errors="coerce")
    if ref.isna().any().any():
        ref = impute_lowrank(ref, rank=rank)
    R = ref.to_numpy(float)
    mean, std = R.mean(axis=0), R.std(axis=0)
    std[~np.isfinite(std) | (std == 0)] = 1.0
    Zr = (R - mean) / std
    r = max(1, min(rank, min(Zr.shape) - 1 if min(Zr.shape) > 1 else 1))
    V = np.linalg.svd(Zr, full_matrices=False)[2][:r].T  # (features, r); Zr is centered
    A = rows.apply(pd.to_numeric, errors="coerce").to_numpy(float)
    miss = ~np.isfinite(A)
    Z = (A - mean) / std
    out = A.copy()
    patterns, inverse = np.unique(miss, axis=0, return_inverse=True)
    for k, pattern in enumerate(patterns):
        if not pattern.any():
            continue
        if pattern.all():
            raise ValueError("a row has no observed value: nothing to impute from")
        idx = np.flatnonzero(inverse.ravel() == k)
        obs = ~pattern
        coef = np.linalg.lstsq(V[obs], Z[np.ix_(idx, np.flatnonzero(obs))].T, rcond=None)[0]  # (r, rows)
        filled = (V[pattern] @ coef).T * std[pattern] + mean[pattern]
        out[np.ix_(idx, np.flatnonzero(pattern))] = filled
    return pd.DataFrame(out, index=rows.index, columns=cols)
