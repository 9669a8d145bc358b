"""The fast grid search every predictor spec uses (paper section 4.2, Fig. 5), and conformal half-widths.

Model: standardize the features, expand them to polynomial terms of degree 1-3, standardize the
terms, Elastic Net. Hyperparameters come from the paper's grid (degree {1,2,3} x alpha {0.1, 0.01,
0.001, 0.0001} x l1_ratio {0, .25, .5, .75, 1}) by k-fold CV on mean absolute error.

The search is the same model as scikit-learn's ``GridSearchCV`` over the equivalent ``Pipeline``
(``bench/sklearn_reference.py``) but much faster: the two scalings and the polynomial expansion are
computed once per (fold, degree) instead of once per configuration, the four alphas of an l1_ratio
are one warm-started ``enet_path`` on a precomputed Gram matrix, l1_ratio = 0 (ridge) is the closed
form from one SVD, BLAS runs on one thread (the matrices are tiny) and the (fold, degree) tasks run
on threads (the coordinate-descent solver releases the GIL). Several targets on the same models
share one search: designs, Gram matrices and SVDs are computed once, only the solver runs per
target. The solver is scikit-learn's own coordinate descent, so the numbers are those of the plain
per-target search (to ~1e-10). Fits that stop at ``max_iter`` are counted in ``n_capped``; their
ConvergenceWarnings are captured, not printed. ``bench/bench_predictor.py`` times both and checks
the selected configuration.

Used by the paper's estimator (``advisor.predict.estimator``) and the served specs (``advisor.predict.specs``).
No torch import here.
"""

from __future__ import annotations

import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
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


@dataclass
class SearchResult:
    configs: list  # [(degree, alpha, l1_ratio)]
    fold_mae: np.ndarray  # (n_folds, n_configs)
    oof: np.ndarray  # (n_samples, n_configs): out-of-fold predictions
    n_fits: int
    n_capped: int
    seconds: float = 0.0  # wall time of the search (its share when targets were searched together)
    n_warnings: int = 0  # ConvergenceWarnings captured during the search (all its targets)
    n_targets: int = 1  # targets that shared this search

    @property
    def mean_mae(self) -> np.ndarray:
        return self.fold_mae.mean(axis=0)

    @property
    def best_index(self) -> int:
        return int(np.argmin(self.mean_mae))  # first of equals, as GridSearchCV


@contextmanager
def quiet():
    """Capture and count scikit-learn's ConvergenceWarnings; BLAS on one thread (tiny matrices).

    Warning filters and BLAS limits are process-wide: enter this in the thread that starts the
    search (it covers its worker threads), never inside workers. Yields a dict whose "n" is the
    number of ConvergenceWarnings caught once the block ends; other warnings are passed on.
    """
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    count = {"n": 0}
    with warnings.catch_warnings(record=True) as records, threadpool_limits(1):
        warnings.simplefilter("always", ConvergenceWarning)
        yield count
    count["n"] = sum(issubclass(w.category, ConvergenceWarning) for w in records)
    for w in records:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def grid_search(X: np.ndarray, y: np.ndarray, splits, degrees=PAPER_GRID["degrees"],
                alphas=PAPER_GRID["alphas"], l1_ratios=PAPER_GRID["l1_ratios"],
                max_iter: int = 10_000, tol: float = 1e-4, n_jobs: int = 2):
    """Evaluate every configuration on every (train, test) split; see the module docstring.

    ``y`` 1-D gives one SearchResult; ``y`` of shape (n, n_targets) gives a list, one per target,
    sharing the scalings, polynomial terms, Gram matrices and SVDs of every (fold, degree).
    """
    t0 = time.perf_counter()
    X = np.asarray(X, dtype=float)
    single = np.ndim(y) == 1
    Y = np.asarray(y, dtype=float).reshape(len(X), -1)
    splits = list(splits)
    configs = grid_configs(degrees, alphas, l1_ratios)
    tasks = [(k, d) for k in range(len(splits)) for d in sorted(degrees, reverse=True)]
    with quiet() as caught:
        results = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(fold_task)(X, Y, splits[k][0], splits[k][1], d, alphas, l1_ratios, max_iter,
                                tol) for k, d in tasks)
    index = {c: j for j, c in enumerate(configs)}
    out = []
    seconds = (time.perf_counter() - t0) / Y.shape[1]
    for t in range(Y.shape[1]):
        fold_mae = np.full((len(splits), len(configs)), np.nan)
        oof = np.full((len(X), len(configs)), np.nan)
        n_capped = 0
        for (k, _), per_target in zip(tasks, results):
            preds, capped = per_target[t]
            n_capped += capped
            test = splits[k][1]
            for c, p in preds.items():
                j = index[c]
                fold_mae[k, j] = np.mean(np.abs(Y[test, t] - p))
                oof[test, j] = p
        out.append(SearchResult(configs, fold_mae, oof, len(splits) * len(configs), n_capped,
                                seconds, caught["n"], Y.shape[1]))
    return out[0] if single else out


def conformal_halfwidth(abs_residuals: np.ndarray, level: float) -> float:
    """Split-conformal half-width: the ceil((n+1)*level)-th smallest |residual| (inf if > n)."""
    r = np.sort(np.asarray(abs_residuals, dtype=float))
    n = len(r)
    k = math.ceil((n + 1) * level)
    return float("inf") if k > n else float(r[k - 1])
