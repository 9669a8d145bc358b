"""Top-k coverage of a ranking (paper eq. 9, Fig. 4, 6, 9, 10) over labelled Series.

C(beta, rho, L, k) = |T_beta(L, k) & T_rho(L, k)| / k, where T_x(L, k) are the k best models of L by x;
computed by ``advisor.predict.topk`` (the one implementation, with its tie rule: value descending, equal
values by index label, the hf_id, ascending). Only models with a value in both the prediction and the
truth count (pairwise complete); k larger than that raises.
"""

from __future__ import annotations

import pandas as pd

from advisor.predict import topk


def top_k(values: pd.Series, k: int) -> list:
    """The k best index labels: by value descending, ties by label ascending."""
    s = pd.to_numeric(values, errors="coerce").dropna()
    return list(s.index[topk.best_first(s.to_numpy(), s.index)][:k])


def _rankings(pred: pd.Series, truth: pd.Series) -> tuple[list, list]:
    """Full top-k orders of the models that have both values: T(L, k) of either is a prefix of its list."""
    pred = pd.to_numeric(pred, errors="coerce")
    truth = pd.to_numeric(truth, errors="coerce")
    common = pred.dropna().index.intersection(truth.dropna().index)
    return top_k(pred[common], len(common)), top_k(truth[common], len(common))


def coverage_at_k(pred: pd.Series, truth: pd.Series, k: int) -> float:
    """Eq. 9 for one k on the models that have both values."""
    return topk.coverage(*_rankings(pred, truth), k)


def coverage_curves(features: pd.DataFrame, truth: pd.Series, ks=range(5, 31)) -> pd.DataFrame:
    """Coverage of every feature column vs ``truth`` for each k: columns feature, k, coverage, n.

    k values above a feature's number of complete models are skipped for that feature. Each feature's
    two rankings are sorted once, for all k.
    """
    rows = []
    for f in features.columns:
        by_pred, by_truth = _rankings(features[f], truth)
        n = len(by_pred)
        rows += [{"feature": f, "k": int(k), "coverage": topk.coverage(by_pred, by_truth, k), "n": n}
                 for k in ks if k <= n]
    return pd.DataFrame(rows, columns=["feature", "k", "coverage", "n"])


def passing(curves: pd.DataFrame, min_k5: float = 0.4, min_k10: float = 0.7) -> list[str]:
    """Features kept by the paper's filter: coverage >= min_k5 at k=5 and >= min_k10 at k=10."""
    wide = curves.pivot_table(index="feature", columns="k", values="coverage")
    if 5 not in wide.columns or 10 not in wide.columns:
        return []
    keep = (wide[5] >= min_k5 - 1e-12) & (wide[10] >= min_k10 - 1e-12)
    return [f for f in curves.feature.drop_duplicates() if keep.get(f, False)]


def mean_coverage(curves: pd.DataFrame, ks=range(5, 11)) -> pd.Series:
    """Average coverage over ``ks`` per feature (the paper's "on average in the top 5-10")."""
    sub = curves[curves.k.isin(list(ks))]
    return sub.groupby("feature", sort=False).coverage.mean().sort_values(ascending=False)


def chance_coverage(ks, n: int) -> pd.DataFrame:
    """The coverage a random ranking gets on average: its top-k is a uniform random k of the n models,
    so each of the true top-k is in it with probability k/n and the expected coverage is k/n
    (hypergeometric mean k * k / n, divided by k). Columns k, coverage; k above n is skipped."""
    if n < 1:
        raise ValueError(f"chance coverage needs at least one model, got n = {n}")
    return pd.DataFrame([{"k": int(k), "coverage": k / n} for k in ks if k <= n], columns=["k", "coverage"])
