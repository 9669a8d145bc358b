"""Reward-model performance predictor (paper section 4.2, Fig. 5), fast and honest.

Model: standardize the features, expand them to polynomial terms of degree 1-3, standardize the
terms, Elastic Net. Hyperparameters come from the paper's grid (degree {1,2,3} x alpha {0.1, 0.01,
0.001, 0.0001} x l1_ratio {0, .25, .5, .75, 1}) by 10-fold CV on mean absolute error, then the best
configuration is refit on all models (what the paper does).

The search is the same model as ``reference_grid_search`` (scikit-learn's ``GridSearchCV`` over the
equivalent ``Pipeline``) but much faster: the two scalings and the polynomial expansion are computed
once per (fold, degree) instead of once per configuration, the four alphas of an l1_ratio are one
warm-started ``enet_path`` on a precomputed Gram matrix, l1_ratio = 0 (ridge) is the closed form from
one SVD, BLAS runs on one thread (the matrices are tiny) and the (fold, degree) tasks run on threads
(the coordinate-descent solver releases the GIL). Several targets on the same models (the bundle's
five RewardBench categories) share one search: designs, Gram matrices and SVDs are computed once,
only the solver runs per target. The solver is scikit-learn's own coordinate descent, so the numbers
are those of the plain per-target search (to ~1e-10). Fits that stop at ``max_iter`` are counted in
``n_iter_capped_``; their ConvergenceWarnings are captured, not printed.
``bench/bench_predictor.py`` times both and checks the selected configuration.

Honest error (beyond the paper, which selects and reports on the same folds):
``nested_cv`` re-runs the whole search inside each outer fold; ``leave_one_family_out`` holds out a
group (pass lineages) at a time. The served predictors and their evidence are in ``advisor.specs``,
``advisor.evaluation`` and ``advisor.bundle``; this module keeps the paper's model (the "paper
reference" spec) and the fast search every spec uses.

No torch import here: the app refits this interactively.
"""

from __future__ import annotations

import hashlib
import math
import platform
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import enet_path
from sklearn.model_selection import KFold, LeaveOneGroupOut
from sklearn.preprocessing import PolynomialFeatures

import advisor
from advisor import registry

DEFAULT_FEATURES = (*registry.OLL_V2_TASKS, *registry.TRAINING_METRICS)
TARGETS = registry.RM_TARGETS
METHODS = registry.METHODS
PAPER_GRID = {"degrees": (1, 2, 3), "alphas": (0.1, 0.01, 0.001, 0.0001),
              "l1_ratios": (0.0, 0.25, 0.5, 0.75, 1.0)}
ROOT = Path(advisor.__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# reference: the paper's search with scikit-learn defaults (used by bench/ and the tests)

def reference_pipeline(degree: int = 1, alpha: float = 1.0, l1_ratio: float = 0.5,
                       max_iter: int = 1000, tol: float = 1e-4):
    """The predictor as a plain scikit-learn Pipeline (identical model, default solver)."""
    from sklearn.linear_model import ElasticNet
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), PolynomialFeatures(degree, include_bias=False),
                         StandardScaler(), ElasticNet(alpha=alpha, l1_ratio=l1_ratio,
                                                      max_iter=max_iter, tol=tol))


def reference_grid_search(X, y, degrees=PAPER_GRID["degrees"], alphas=PAPER_GRID["alphas"],
                          l1_ratios=PAPER_GRID["l1_ratios"], cv: int = 10, random_state: int = 0,
                          n_jobs: int = 2, max_iter: int = 1000):
    """``GridSearchCV`` over the paper's grid (neg. MAE, KFold with shuffling), fitted."""
    from sklearn.model_selection import GridSearchCV

    grid = {"polynomialfeatures__degree": list(degrees), "elasticnet__alpha": list(alphas),
            "elasticnet__l1_ratio": list(l1_ratios)}
    search = GridSearchCV(reference_pipeline(max_iter=max_iter), grid,
                          scoring="neg_mean_absolute_error",
                          cv=KFold(cv, shuffle=True, random_state=random_state), n_jobs=n_jobs)
    return search.fit(np.asarray(X, dtype=float), np.asarray(y, dtype=float))


# ---------------------------------------------------------------------------------------------
# the fast search

def _standardize(train: np.ndarray, *others: np.ndarray):
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0  # StandardScaler's rule for constant columns
    return [(a - mean) / std for a in (train, *others)], mean, std


@dataclass
class _Design:
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


def _design(Xtr: np.ndarray, degree: int) -> tuple[_Design, np.ndarray]:
    (Ztr,), m1, s1 = _standardize(Xtr)
    Ptr = _poly(Ztr, degree)
    (Ptr,), m2, s2 = _standardize(Ptr)
    return _Design(degree, m1, s1, m2, s2), Ptr


def _fit_configs(P: np.ndarray, Y: np.ndarray, alphas, l1_ratios, max_iter: int, tol: float):
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


def _configs(degrees, alphas, l1_ratios) -> list[tuple[int, float, float]]:
    """Grid order used for tie-breaking: lower degree, then larger alpha, then smaller l1_ratio."""
    return [(int(d), float(a), float(r)) for d in degrees for a in sorted(alphas, reverse=True)
            for r in sorted(l1_ratios)]


def _fold_task(X, Y, train, test, degree, alphas, l1_ratios, max_iter, tol):
    """All configurations of one (fold, degree) for every target column of Y: test predictions."""
    from sklearn import config_context

    with config_context(skip_parameter_validation=True):  # thread-local; inputs are ours
        design, Ptr = _design(X[train], degree)
        Pte = design.transform(X[test])
        per_target = _fit_configs(Ptr, Y[train], alphas, l1_ratios, max_iter, tol)
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

    def to_json(self) -> dict:
        """JSON-ready dict (floats round-trip exactly through ``json``); see ``from_json``."""
        return {"configs": [list(c) for c in self.configs], "fold_mae": self.fold_mae.tolist(),
                "oof": self.oof.tolist(), "n_fits": self.n_fits, "n_capped": self.n_capped,
                "seconds": self.seconds, "n_warnings": self.n_warnings, "n_targets": self.n_targets}

    @classmethod
    def from_json(cls, d: dict, n_samples: int, configs: list) -> SearchResult:
        """Inverse of ``to_json``; ValueError unless it is a search of ``configs`` on n_samples rows."""
        got = [(int(c[0]), float(c[1]), float(c[2])) for c in d["configs"]]
        fold_mae = np.asarray(d["fold_mae"], dtype=float)
        oof = np.asarray(d["oof"], dtype=float)
        if (got != list(configs) or fold_mae.ndim != 2 or fold_mae.shape[1] != len(configs)
                or oof.shape != (n_samples, len(configs)) or not np.isfinite(oof).all()):
            raise ValueError("stored search result does not match this grid and these rows")
        return cls(got, fold_mae, oof, int(d["n_fits"]), int(d["n_capped"]), float(d["seconds"]),
                   int(d["n_warnings"]), int(d["n_targets"]))


@contextmanager
def _quiet():
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
    configs = _configs(degrees, alphas, l1_ratios)
    tasks = [(k, d) for k in range(len(splits)) for d in sorted(degrees, reverse=True)]
    with _quiet() as caught:
        results = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_fold_task)(X, Y, splits[k][0], splits[k][1], d, alphas, l1_ratios, max_iter,
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


def _readable(name: str, labels: dict[str, str]) -> str:
    """'x0 x3^2' -> 'IFEval x MATH Lvl 5^2' using display names."""
    parts = []
    for token in name.split(" "):
        base, _, power = token.partition("^")
        parts.append(labels[base] + (f"^{power}" if power else ""))
    return " x ".join(parts)


def data_hash(X: pd.DataFrame, y: pd.Series | pd.DataFrame) -> str:
    """SHA-256 of the training data (rows sorted by index, columns as given)."""
    frame = pd.concat([X, y], axis=1).sort_index()
    return hashlib.sha256(frame.to_csv(float_format="%.10g").encode()).hexdigest()


def library_versions() -> dict[str, str]:
    import joblib
    import scipy
    import sklearn

    return {"advisor": advisor.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__, "joblib": joblib.__version__}


# ---------------------------------------------------------------------------------------------
# the estimator

class RMPredictor(RegressorMixin, BaseEstimator):
    """Elastic Net on polynomial features predicting a RewardBench score from benchmark results.

    ``features`` are registry names (``advisor.registry``); ``scale`` is the scale of the benchmark
    features (training metrics are always ``count``). ``fit`` takes a DataFrame with those columns.
    """

    def __init__(self, features=DEFAULT_FEATURES, scale: str = "normalized",
                 degrees=PAPER_GRID["degrees"], alphas=PAPER_GRID["alphas"],
                 l1_ratios=PAPER_GRID["l1_ratios"], cv: int = 10, interval_level: float = 0.9,
                 random_state: int = 0, n_jobs: int = 2, max_iter: int = 10_000, tol: float = 1e-4):
        self.features = features
        self.scale = scale
        self.degrees = degrees
        self.alphas = alphas
        self.l1_ratios = l1_ratios
        self.cv = cv
        self.interval_level = interval_level
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.max_iter = max_iter
        self.tol = tol

    # -- input checks -------------------------------------------------------------------------
    def _label(self, feature: str) -> str:
        """A feature's display name; unknown names raise (KeyError listing the valid ones)."""
        return registry.get(feature).display_name

    def _check_params(self) -> list[str]:
        features = list(self.features)
        for f in features:
            self._label(f)
        if len(set(features)) != len(features):
            raise ValueError(f"features: duplicated names in {features}")
        if self.scale not in registry.SCALES or self.scale == "count":
            raise ValueError(f"scale {self.scale!r} is not a benchmark scale; use one of "
                             f"'raw', 'percent', 'normalized'")
        if not 0 < self.interval_level < 1:
            raise ValueError(f"interval_level must be in (0, 1), got {self.interval_level}")
        return features

    def _matrix(self, X, features: list[str]) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            A = np.asarray(X, dtype=float)
            if A.ndim != 2 or A.shape[1] != len(features):
                raise ValueError(f"X must have {len(features)} columns in the order {features}")
            X = pd.DataFrame(A, columns=features)
        missing = [f for f in features if f not in X.columns]
        if missing:
            raise ValueError(f"X lacks feature column(s) {missing}; the predictor needs {features}. "
                             "Fix: add the columns, or impute them (advisor.shortlist)")
        A = X[features].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        bad = np.argwhere(~np.isfinite(A))
        if len(bad):
            i, j = bad[0]
            raise ValueError(f"row {X.index[i]!r}, feature {features[j]!r}: missing or non-numeric "
                             f"value ({len(bad)} such cells). Fix: supply it or impute it "
                             "(advisor.impute)")
        return A

    # -- fit ------------------------------------------------------------------------------------
    def _check_fit(self, X, y) -> tuple[list[str], np.ndarray, np.ndarray]:
        features = self._check_params()
        A = self._matrix(X, features)
        yv = np.asarray(y, dtype=float)
        if yv.shape != (A.shape[0],):
            raise ValueError(f"y must be one value per row of X ({A.shape[0]}), got shape {yv.shape}")
        if not np.all(np.isfinite(yv)):
            raise ValueError("y has missing values; drop those models before fitting")
        if A.shape[0] < self.cv:
            raise ValueError(f"{A.shape[0]} models is fewer than cv={self.cv} folds")
        return features, A, yv

    def _splits(self, A: np.ndarray) -> list:
        return list(KFold(self.cv, shuffle=True, random_state=self.random_state).split(A))

    def _search(self, A: np.ndarray, Y: np.ndarray):
        """The grid search; Y 2-D searches several targets at once (shared designs)."""
        return grid_search(A, Y, self._splits(A), self.degrees, self.alphas, self.l1_ratios,
                           self.max_iter, self.tol, self.n_jobs)

    def fit(self, X, y):
        features, A, yv = self._check_fit(X, y)
        return self._finish(X, A, yv, features, self._search(A, yv))

    def _finish(self, X, A: np.ndarray, yv: np.ndarray, features: list[str],
                search: SearchResult, design_cache: dict | None = None):
        """Refit the selected configuration on all rows and set the fitted attributes.

        ``design_cache`` ({degree: (design, P)} on these rows) lets several targets share the
        refit's scaling and polynomial terms.
        """
        t0 = time.perf_counter()
        best = search.best_index
        degree, alpha, l1_ratio = search.configs[best]
        if design_cache is not None and degree in design_cache:
            design, P = design_cache[degree]
        else:
            design, P = _design(A, degree)
            if design_cache is not None:
                design_cache[degree] = (design, P)
        with _quiet() as caught:
            fits, capped = _fit_configs(P, yv, [a for a in self.alphas if a >= alpha], [l1_ratio],
                                        self.max_iter, self.tol)
        self.coef_, self.intercept_ = fits[(alpha, l1_ratio)]
        self.design_ = design
        self.fit_seconds_ = search.seconds + time.perf_counter() - t0  # share of a shared search
        self.search_shared_by_ = search.n_targets

        self.best_params_ = {"degree": degree, "alpha": alpha, "l1_ratio": l1_ratio}
        self.cv_mae_ = float(search.mean_mae[best])
        self.cv_results_ = pd.DataFrame(search.configs, columns=["degree", "alpha", "l1_ratio"])
        self.cv_results_["mean_mae"] = search.mean_mae
        self.cv_results_["std_mae"] = search.fold_mae.std(axis=0)
        self.oof_predictions_ = pd.Series(search.oof[:, best], index=self._index(X, len(yv)))
        self.residuals_ = np.abs(yv - search.oof[:, best])
        self.interval_halfwidth_ = conformal_halfwidth(self.residuals_, self.interval_level)
        self.n_fits_ = search.n_fits + 1
        self.n_iter_capped_ = search.n_capped + capped  # = ConvergenceWarnings captured, not shown
        self.n_convergence_warnings_ = search.n_warnings + caught["n"]
        self.feature_names_in_ = np.array(features, dtype=object)
        self.n_features_in_ = len(features)
        self.scale_ = self.scale
        ytrain = pd.Series(yv, index=self._index(X, len(yv)), name="y")
        self.train_hash_ = data_hash(pd.DataFrame(A, columns=features, index=ytrain.index), ytrain)
        self.versions_ = library_versions()
        self.coefficients_ = self._coefficients(features, degree)
        return self

    @staticmethod
    def _index(X, n):
        return X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(n)

    def _coefficients(self, features: list[str], degree: int) -> pd.DataFrame:
        poly = PolynomialFeatures(degree, include_bias=False).fit(np.zeros((1, len(features))))
        labels = {f"x{i}": self._label(f) for i, f in enumerate(features)}
        terms = [_readable(n, labels) for n in poly.get_feature_names_out()]
        df = pd.DataFrame({"term": terms, "coef": self.coef_})
        df = df[df.coef != 0].copy()
        df["abs"] = df.coef.abs()
        return df.sort_values("abs", ascending=False).drop(columns="abs").reset_index(drop=True)

    # -- predict --------------------------------------------------------------------------------
    def predict(self, X) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise ValueError("RMPredictor is not fitted yet; call fit(X, y) first")
        A = self._matrix(X, list(self.feature_names_in_))
        return self.design_.transform(A) @ self.coef_ + self.intercept_

    def predict_interval(self, X) -> pd.DataFrame:
        """Point prediction and the conformal ``interval_level`` interval, one row per row of X."""
        p = self.predict(X)
        h = self.interval_halfwidth_
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame({"prediction": p, "lower": p - h, "upper": p + h}, index=index)


# ---------------------------------------------------------------------------------------------
# honest error

@dataclass
class CVReport:
    """Out-of-sample predictions of a whole fit procedure (search included) and their errors."""
    predictions: pd.DataFrame  # index like X: y, prediction, lower, upper, fold
    mae: float
    interval_coverage: float
    n_iter_capped: int
    fold_params: list = field(default_factory=list)  # best_params_ of each outer fold's search


def _outer_fold(estimator, X: pd.DataFrame, y: pd.Series, train, test, k: int):
    est = clone(estimator).set_params(n_jobs=1).fit(X.iloc[train], y.iloc[train])
    part = est.predict_interval(X.iloc[test])
    part["y"] = y.iloc[test].to_numpy()
    part["fold"] = k
    return part, est.n_iter_capped_, dict(est.best_params_)


def _outer(estimator, X: pd.DataFrame, y: pd.Series, splits, desc: str) -> CVReport:
    """Outer folds run in ``estimator.n_jobs`` worker processes (each inner search on one core: the
    coordinate-descent fits are too small for threads to pay off)."""
    from tqdm.auto import tqdm

    jobs = Parallel(n_jobs=estimator.n_jobs, return_as="generator")(
        delayed(_outer_fold)(estimator, X, y, train, test, k) for k, (train, test) in enumerate(splits))
    done = list(tqdm(jobs, total=len(splits), desc=desc, leave=False, disable=None))
    rows = [part for part, _, _ in done]
    capped = sum(c for _, c, _ in done)
    params = [p for _, _, p in done]
    df = pd.concat(rows).loc[X.index]
    inside = (df.y >= df.lower) & (df.y <= df.upper)
    return CVReport(df, float((df.y - df.prediction).abs().mean()), float(inside.mean()), capped,
                    params)


def nested_cv(estimator: RMPredictor, X: pd.DataFrame, y: pd.Series, outer_cv: int = 10,
              random_state: int = 1) -> CVReport:
    """Each outer fold re-runs the complete hyperparameter search on its training part only.

    The outer split uses a different seed from the inner one so the folds do not line up.
    """
    splits = list(KFold(outer_cv, shuffle=True, random_state=random_state).split(X))
    return _outer(estimator, X, y, splits, "nested CV")


def leave_one_family_out(estimator: RMPredictor, X: pd.DataFrame, y: pd.Series,
                         groups: pd.Series) -> CVReport:
    """Hold out one model family at a time (search included): error on an unseen family."""
    g = pd.Series(groups).reindex(X.index)
    if g.isna().any():
        raise ValueError(f"groups: no family for {list(X.index[g.isna()])}")
    splits = list(LeaveOneGroupOut().split(X, y, g.to_numpy()))
    return _outer(estimator, X, y, splits, "leave one family out")


# ---------------------------------------------------------------------------------------------
# the paper's model per (method, target) (the served predictors: advisor/specs.py, advisor/bundle.py)

class PredictorBundle:
    """One fitted RMPredictor per (method, target), with its training data and provenance: the paper's
    model fitted on every target (bench/ and the tests). Not persisted: the app serves the JSON bundle of
    ``advisor.bundle``, stored in the database.

    ``fit(X, rm)``: X is the model x feature matrix (index hf_id); rm has columns hf_id, method and
    the targets. Models without a value for a target are left out of that target's fit.
    ``searches`` (optional dict, read and filled in): the grid searches as JSON-ready dicts by target
    group ("method/target,..."); a group found there is not searched again, only its selected
    configuration is refit (same numbers: the refit is deterministic). The caller persists it and must
    only pass one made on the same data, grid and code (the pipeline keys it by their hash).
    """

    def __init__(self, features=DEFAULT_FEATURES, scale: str = "normalized", methods=METHODS,
                 targets=TARGETS, **predictor_params):
        self.features = list(features)
        self.scale = scale
        self.methods = tuple(methods)
        self.targets = tuple(targets)
        self.predictor_params = predictor_params
        self.predictors: dict[tuple[str, str], RMPredictor] = {}

    def fit(self, X: pd.DataFrame, rm: pd.DataFrame, progress: bool = True,
            searches: dict | None = None) -> PredictorBundle:
        from tqdm.auto import tqdm

        missing = [f for f in self.features if f not in X.columns]
        if missing:
            raise ValueError(f"feature matrix lacks {missing}")
        self.predictors = {}
        Xf = X[self.features].dropna()
        self.X_train_ = Xf
        self.y_train_ = {}
        for method in self.methods:
            ym = rm[rm.method == method].set_index("hf_id")
            for target in self.targets:
                y = ym[target].dropna()
                common = Xf.index.intersection(y.index)
                if len(common) < 10:
                    raise ValueError(f"method {method!r}, target {target!r}: only {len(common)} "
                                     "models have both the features and the target (need >= 10)")
                self.y_train_[(method, target)] = y.loc[common]
        # targets fitted on the same models share one search (same folds, same designs)
        groups: dict[tuple, list] = {}
        for key, y in self.y_train_.items():
            groups.setdefault(tuple(y.index), []).append(key)
        bar = tqdm(total=len(self.y_train_), desc="fit predictors", disable=not progress or None)
        for index, keys in groups.items():
            rows = list(index)
            est0 = RMPredictor(features=self.features, scale=self.scale, **self.predictor_params)
            features, A, _ = est0._check_fit(Xf.loc[rows], self.y_train_[keys[0]])
            Y = np.column_stack([self.y_train_[k].loc[rows].to_numpy(dtype=float) for k in keys])
            if not np.all(np.isfinite(Y)):
                raise ValueError("targets have missing values; drop those models before fitting")
            name = ",".join(f"{m}/{t}" for m, t in keys)
            configs = _configs(est0.degrees, est0.alphas, est0.l1_ratios)
            if searches is not None and name in searches:
                found = [SearchResult.from_json(d, len(rows), configs) for d in searches[name]]
                if len(found) != len(keys):
                    raise ValueError(f"stored searches for {name}: {len(found)} results")
            else:
                found = est0._search(A, Y)
                if searches is not None:
                    searches[name] = [r.to_json() for r in found]
            designs: dict = {}
            for key, search, col in zip(keys, found, Y.T):
                est = clone(est0)
                self.predictors[key] = est._finish(Xf.loc[rows], A, col, features, search, designs)
                bar.update()
        bar.close()
        self.predictors = {k: self.predictors[k] for k in self.y_train_}  # (method, target) order
        self.train_hash = data_hash(Xf, rm.set_index(["hf_id", "method"])[list(self.targets)]
                                    .unstack("method"))
        self.versions = library_versions()
        self.created_at = time.strftime("%Y-%m-%dT%H:%M:%S")
        return self

    @property
    def version(self) -> str:
        return f"{advisor.__version__}+{self.train_hash[:12]}"

    def get(self, method: str = "regression", target: str = "score") -> RMPredictor:
        try:
            return self.predictors[(method, target)]
        except KeyError:
            raise KeyError(f"no predictor for method {method!r}, target {target!r}; available: "
                           f"{sorted(self.predictors)}") from None
