"""Correlation of benchmarks / training metrics with reward-model performance (paper 4.1, Fig. 3).

Every (feature, target) pair uses its pairwise-complete models, so n differs per benchmark when data
is missing. Significance follows the paper's eq. 8, t = r sqrt(n-2) / sqrt(1-r^2), compared with the
two-sided Student-t critical value for that pair's own n - 2 degrees of freedom. The same test is
applied to Spearman's rho (the usual large-sample approximation, as scipy's ``spearmanr`` does).

Note: the paper quotes a threshold of 0.316 "for n = 40"; the two-sided 5% critical r is 0.312 for
n = 40 and 0.316 for n = 39 (``critical_r``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

METHODS = ("pearson", "spearman")


def critical_r(n: int, alpha: float = 0.05) -> float:
    """Smallest |r| significant at ``alpha`` (two-sided) with n samples: t_c / sqrt(n - 2 + t_c^2)."""
    if n < 3:
        raise ValueError(f"n = {n}: a correlation test needs at least 3 samples")
    t_c = stats.t.ppf(1 - alpha / 2, n - 2)
    return float(t_c / np.sqrt(n - 2 + t_c ** 2))


def correlation_test(x, y, method: str = "pearson", alpha: float = 0.05) -> dict:
    """r, n, t statistic (eq. 8), critical t, two-sided p-value and significance for one pair."""
    if method not in METHODS:
        raise ValueError(f"method {method!r}: use one of {METHODS}")
    x = pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(float)
    y = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = int(ok.sum())
    nan = {"r": np.nan, "n": n, "t_stat": np.nan, "t_critical": np.nan, "p_value": np.nan,
           "significant": False}
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return nan  # undefined: too few models or a constant column
    if method == "spearman":
        x, y = stats.rankdata(x), stats.rankdata(y)
    r = float(np.corrcoef(x, y)[0, 1])
    r = max(-1.0, min(1.0, r))
    df = n - 2
    t_stat = np.inf * np.sign(r) if abs(r) == 1 else r * np.sqrt(df) / np.sqrt(1 - r * r)
    t_crit = float(stats.t.ppf(1 - alpha / 2, df))
    p = float(2 * stats.t.sf(abs(t_stat), df))
    return {"r": r, "n": n, "t_stat": float(t_stat), "t_critical": t_crit, "p_value": p,
            "significant": bool(abs(t_stat) > t_crit)}


def correlation_table(features: pd.DataFrame, targets: pd.DataFrame, method: str = "pearson",
                      alpha: float = 0.05) -> pd.DataFrame:
    """One row per (feature, target): feature, target, r, n, t_stat, t_critical, p_value, significant.

    ``features`` and ``targets`` are indexed by model (hf_id); rows are aligned on the index.
    """
    if not features.index.is_unique or not targets.index.is_unique:
        raise ValueError("features and targets must have one row per model (unique index)")
    common = features.index.intersection(targets.index)
    if len(common) == 0:
        raise ValueError("features and targets share no model (index); index both by hf_id")
    rows = []
    for f in features.columns:
        for t in targets.columns:
            res = correlation_test(features.loc[common, f], targets.loc[common, t], method, alpha)
            rows.append({"feature": f, "target": t, **res})
    out = pd.DataFrame(rows, columns=["feature", "target", "r", "n", "t_stat", "t_critical",
                                      "p_value", "significant"])
    out["method"] = method
    return out
