"""The product's search task (``advisor.predict.search.fold_task``) run on threads, for
``bench/bench_predictor.py``: the fast side of its comparison with scikit-learn's ``GridSearchCV``.

``grid_search`` evaluates every configuration on every (train, test) split, the (fold, degree) tasks on
``n_jobs`` threads (the coordinate-descent solver releases the GIL) with BLAS on one thread, counting the
fits that stop at ``max_iter`` (``n_capped``) and the ConvergenceWarnings it captures instead of printing
them. ``fast_fit`` adds the refit of the selected configuration on all rows, as the served specs do
(``advisor.predict.specs.fit_spec``, which runs the same tasks one after the other inside parallel outer
folds). No product code uses this module.
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import KFold

from advisor.predict.search import PAPER_GRID, fit_configs, fit_design, fold_task, grid_configs


@dataclass
class SearchResult:
    configs: list  # [(degree, alpha, l1_ratio)]
    fold_mae: np.ndarray  # (n_folds, n_configs)
    n_fits: int
    n_capped: int
    seconds: float = 0.0  # wall time of the search (its share when targets were searched together)
    n_warnings: int = 0  # ConvergenceWarnings captured during the search (all its targets)

    @property
    def mean_mae(self) -> np.ndarray:
        return self.fold_mae.mean(axis=0)

    @property
    def best_index(self) -> int:
        return int(np.argmin(self.mean_mae))  # first of equals, as GridSearchCV


@contextmanager
def quiet():
    """Capture and count scikit-learn's ConvergenceWarnings; BLAS on one thread (tiny matrices).

    Warning filters and BLAS limits are process-wide: enter this in the thread that starts the search
    (it covers its worker threads). Yields a dict whose "n" is the number of ConvergenceWarnings caught
    once the block ends; other warnings are passed on.
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
    """``y`` 1-D gives one SearchResult; ``y`` of shape (n, n_targets) gives a list, one per target,
    sharing the scalings, polynomial terms, Gram matrices and SVDs of every (fold, degree)."""
    t0 = time.perf_counter()
    X = np.asarray(X, dtype=float)
    single = np.ndim(y) == 1
    Y = np.asarray(y, dtype=float).reshape(len(X), -1)
    splits = list(splits)
    configs = grid_configs(degrees, alphas, l1_ratios)
    tasks = [(k, d) for k in range(len(splits)) for d in sorted(degrees, reverse=True)]
    with quiet() as caught:
        results = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(fold_task)(X, Y, splits[k][0], splits[k][1], d, alphas, l1_ratios, max_iter, tol)
            for k, d in tasks)
    index = {c: j for j, c in enumerate(configs)}
    out = []
    seconds = (time.perf_counter() - t0) / Y.shape[1]
    for t in range(Y.shape[1]):
        fold_mae = np.full((len(splits), len(configs)), np.nan)
        n_capped = 0
        for (k, _), per_target in zip(tasks, results):
            preds, capped = per_target[t]
            n_capped += capped
            test = splits[k][1]
            for c, p in preds.items():
                fold_mae[k, index[c]] = np.mean(np.abs(Y[test, t] - p))
        out.append(SearchResult(configs, fold_mae, len(splits) * len(configs), n_capped, seconds, caught["n"]))
    return out[0] if single else out


def fast_fit(X, y, n_jobs: int = 2, cv: int = 10, random_state: int = 0, max_iter: int = 10_000,
             tol: float = 1e-4) -> dict:
    """The paper's grid by ``cv``-fold CV (KFold shuffled with ``random_state``), then the selected
    configuration refitted on all rows: best_params, cv_mae, n_fits, n_capped, max_iter."""
    A, yv = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    splits = list(KFold(cv, shuffle=True, random_state=random_state).split(A))
    found = grid_search(A, yv, splits, max_iter=max_iter, tol=tol, n_jobs=n_jobs)
    degree, alpha, l1_ratio = found.configs[found.best_index]
    _, P = fit_design(A, degree)
    with quiet():
        fits, capped = fit_configs(P, yv, [a for a in PAPER_GRID["alphas"] if a >= alpha], [l1_ratio],
                                   max_iter, tol)
    assert (alpha, l1_ratio) in fits
    return {"best_params": {"degree": degree, "alpha": alpha, "l1_ratio": l1_ratio},
            "cv_mae": float(found.mean_mae[found.best_index]), "n_fits": found.n_fits + 1,
            "n_capped": found.n_capped + capped, "max_iter": max_iter}
