"""The hyperparameter search every predictor spec uses (paper section 4.2, Fig. 5), and conformal half-widths.

Model: standardize the features, expand them to polynomial terms of a degree, standardize the terms,
Elastic Net. Hyperparameters (degree, alpha, l1_ratio; the paper's grid is ``PAPER_GRID``: degree
{1,2,3} x alpha {0.1, 0.01, 0.001, 0.0001} x l1_ratio {0, .25, .5, .75, 1}) come from k-fold CV on mean
absolute error (``fold_mae``, run by ``advisor.predict.specs.fit_spec``; a fit keeps its ``Design``).

The search is the same model as scikit-learn's ``GridSearchCV`` over the equivalent ``Pipeline``
(``bench/sklearn_reference.py``) but much faster: the two scalings and the polynomial expansion are
computed once per (fold, degree) instead of once per configuration (``fold_task``), the alphas of an
l1_ratio are one warm-started ``enet_path`` on a precomputed Gram matrix, l1_ratio = 0 (ridge) is the
closed form from one SVD. Several targets on the same models share one search: designs, Gram matrices
and SVDs are computed once, only the solver runs per target. The solver is scikit-learn's own
coordinate descent, so the numbers are those of the plain per-target search (to ~1e-10).
``tests/predict/test_search_evaluation.py`` checks the selection against ``GridSearchCV``;
``bench/bench_predictor.py`` times the same per-(fold, degree) task on threads against it.
No torch import here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import enet_path
from sklearn.preprocessing import PolynomialFeatures

PAPER_GRID = {"degrees": (1, 2, 3), "alphas": (0.1, 0.01, 0.001, 0.0001),
              "l1_ratios": (0.0, 0.25, 0.5, 0.75, 1.0)}


def _standardize(train: np.ndarray, *others: np.ndarray):
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0  # StandardScaler's rule for constant columns
    return [(a - mean) / std for a in (train, *others)], mean, std


@dataclass
class Design:
    """Everything needed to turn raw features into the standardized polynomial terms."""
    degree: int
    mean1: np.ndarray
    std1: np.ndarray
    mean2: np.ndarray
    std2: np.ndarray

    def transform(self, X: np.ndarray) -> np.ndarray:
        Z = (X - self.mean1) / self.std1
        P = _poly(Z, self.degree)
        return (P - self.mean2) / self.std2


def _poly(Z: np.ndarray, degree: int) -> np.ndarray:
    """Polynomial terms without the bias; degree 1 is the identity (skips scikit-learn's checks)."""
    return Z if degree == 1 else PolynomialFeatures(degree, include_bias=False).fit_transform(Z)


def fit_design(Xtr: np.ndarray, degree: int) -> tuple[Design, np.ndarray]:
    """The scalings and polynomial terms fitted on ``Xtr``, and ``Xtr``'s standardized terms."""
    (Ztr,), m1, s1 = _standardize(Xtr)
    Ptr = _poly(Ztr, degree)
    (Ptr,), m2, s2 = _standardize(Ptr)
    return Design(degree, m1, s1, m2, s2), Ptr


def fit_configs(P: np.ndarray, Y: np.ndarray, alphas, l1_ratios, max_iter: int, tol: float):
    """Coefficients for every (alpha, l1_ratio) on standardized terms P, for each column of Y.

    ``Y`` is (n,) or (n, n_targets); the Gram matrix and the SVD are shared by the targets, the
    coordinate descent runs per target. Returns ``[fits, ...]`` (one per target, a plain tuple
    ``(fits, capped)`` when Y is 1-D) with fits = {(alpha, l1_ratio): (coef, intercept)} and capped =
    the number of fits that stopped at ``max_iter`` without reaching ``tol`` (exactly the fits for
    which scikit-learn raises a ConvergenceWarning; the caller silences and counts those).
    Objective (scikit-learn's ElasticNet): 1/(2n)|y - Pw - b|^2 + a*r*|w|_1 + a*(1-r)/2*|w|^2.
    """
    single = np.ndim(Y) == 1
    Y = np.asarray(Y, dtype=float).reshape(len(P), -1)
    n = P.shape[0]
    desc = sorted(alphas, reverse=True)  # the path goes from strong to weak regularisation
    ridge = any(r == 0 for r in l1_ratios)
    enet = [float(r) for r in l1_ratios if r != 0]
    if ridge:  # ridge: closed form through one thin SVD, shared by the targets
        U, s, Vt = np.linalg.svd(P, full_matrices=False)
    if enet:
        gram = np.ascontiguousarray(P.T @ P)
    results = []
    for t in range(Y.shape[1]):
        y_mean = float(Y[:, t].mean())
        yc = np.ascontiguousarray(Y[:, t] - y_mean)
        out, capped = {}, 0
        if ridge:
            Uty = U.T @ yc
            for a in desc:
                out[(a, 0.0)] = (Vt.T @ (s / (s ** 2 + n * a) * Uty), y_mean)
        if enet:
            Xy = P.T @ yc
            tol_cd = tol * float(yc @ yc)  # the solver's stopping threshold on its dual gap
            for r in enet:
                _, coefs, gaps, n_iters = enet_path(P, yc, l1_ratio=r, alphas=desc, precompute=gram,
                                                    Xy=Xy, max_iter=max_iter, tol=tol,
                                                    return_n_iter=True, check_input=False)
                capped += sum(int(it >= max_iter and g * n > tol_cd) for it, g in zip(n_iters, gaps))
                for j, a in enumerate(desc):
                    out[(a, r)] = (coefs[:, j].copy(), y_mean)
        results.append((out, capped))
    return results[0] if single else results


def grid_configs(degrees, alphas, l1_ratios) -> list[tuple[int, float, float]]:
    """Grid order used for tie-breaking: lower degree, then larger alpha, then smaller l1_ratio."""
    return [(int(d), float(a), float(r)) for d in degrees for a in sorted(alphas, reverse=True)
            for r in sorted(l1_ratios)]


def fold_task(X, Y, train, test, degree, alphas, l1_ratios, max_iter, tol):
    """All configurations of one (fold, degree) for every target column of Y: test predictions."""
    from sklearn import config_context

    with config_context(skip_parameter_validation=True):  # thread-local; inputs are ours
        design, Ptr = fit_design(X[train], degree)
        Pte = design.transform(X[test])
        per_target = fit_configs(Ptr, Y[train], alphas, l1_ratios, max_iter, tol)
    return [({(degree, a, r): Pte @ coef + b for (a, r), (coef, b) in fits.items()}, capped)
            for fits, capped in per_target]


def fold_mae(X: np.ndarray, Y: np.ndarray, splits, degrees, alphas, l1_ratios, max_iter: int = 10_000,
             tol: float = 1e-4) -> tuple[list, np.ndarray]:
    """The search every spec runs: the test MAE of every configuration on every (train, test) split, for
    each column of Y. Returns (configs in ``grid_configs`` order, array (n_targets, n_folds, n_configs)).

    One ``fold_task`` per (fold, degree), sequentially and without thread pools: these searches are tiny
    and run inside parallel outer folds (``advisor.predict.evaluation``). ConvergenceWarnings of fits that
    stop at ``max_iter`` are silenced.
    """
    from sklearn.exceptions import ConvergenceWarning

    configs = grid_configs(degrees, alphas, l1_ratios)
    index = {c: j for j, c in enumerate(configs)}
    out = np.full((Y.shape[1], len(splits), len(configs)), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k, (train, test) in enumerate(splits):
            for d in degrees:
                per_target = fold_task(X, Y, train, test, d, alphas, l1_ratios, max_iter, tol)
                for t, (preds, _) in enumerate(per_target):
                    for c, p in preds.items():
                        out[t, k, index[c]] = np.mean(np.abs(Y[test, t] - p))
    return configs, out


def conformal_halfwidth(abs_residuals: np.ndarray, level: float) -> float:
    """Split-conformal half-width: the ceil((n+1)*level)-th smallest |residual| (inf if > n)."""
    r = np.sort(np.asarray(abs_residuals, dtype=float))
    n = len(r)
    k = math.ceil((n + 1) * level)
    return float("inf") if k > n else float(r[k - 1])
