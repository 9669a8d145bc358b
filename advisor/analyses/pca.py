"""Low-dimensional capabilities (paper App. F, Fig. 12-13): PCA of the model x benchmark matrix.

Columns are standardized (z-scores) first, so benchmarks on different scales weigh the same; the
matrix must be complete (impute first with ``advisor.predict.impute`` if it is not).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def pca_summary(matrix: pd.DataFrame, standardize: bool = True) -> tuple[pd.Series, pd.DataFrame]:
    """(explained variance ratio per PC, loadings: rows = benchmarks, columns = PC1..PCk)."""
    A = matrix.apply(pd.to_numeric, errors="coerce")
    if A.isna().any().any():
        bad = A.columns[A.isna().any()].tolist()
        raise ValueError(f"matrix has missing values in {bad}; impute them (advisor.predict.impute) or "
                         "drop those columns")
    if A.shape[0] < 2 or A.shape[1] < 1:
        raise ValueError(f"matrix {A.shape} is too small for PCA")
    X = A.to_numpy(float)
    X = X - X.mean(axis=0)
    if standardize:
        std = X.std(axis=0)
        std[std == 0] = 1.0
        X = X / std
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    var = s ** 2
    names = [f"PC{i + 1}" for i in range(len(s))]
    ratio = pd.Series(var / var.sum(), index=names, name="explained_ratio")
    # sign convention: the largest-magnitude loading of each PC is positive (deterministic output)
    signs = np.sign(Vt[np.arange(len(s)), np.abs(Vt).argmax(axis=1)])
    signs[signs == 0] = 1
    loadings = pd.DataFrame((Vt * signs[:, None]).T, index=A.columns, columns=names)
    return ratio, loadings
