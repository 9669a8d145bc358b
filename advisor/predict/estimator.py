"""The paper's reward-model performance predictor as a scikit-learn estimator (paper section 4.2, Fig. 5).

``RMPredictor``: standardize the features, polynomial terms of degree 1-3, standardize the terms,
Elastic Net; hyperparameters from the paper's grid by 10-fold CV on mean absolute error (the fast
search of ``advisor.predict.search``), then the best configuration refit on all models (what the paper does).
``predict_interval`` adds a split-conformal interval from the out-of-fold residuals.

Honest error of this estimator (the search inside every fold) is ``advisor.predict.evaluation.nested_cv`` /
``leave_one_family_out``; the served predictors and their evidence are ``advisor.predict.specs``,
``advisor.predict.evaluation`` and ``advisor.predict.bundle`` (what the app serves: it refits nothing).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import KFold
from sklearn.preprocessing import PolynomialFeatures

from advisor.core import registry
from advisor.predict import bundle, search
from advisor.predict.specs import BASE_FEATURES


def _readable(name: str, labels: dict[str, str]) -> str:
    """'x0 x3^2' -> 'IFEval x MATH Lvl 5^2' using display names."""
    parts = []
    for token in name.split(" "):
        base, _, power = token.partition("^")
        parts.append(labels[base] + (f"^{power}" if power else ""))
    return " x ".join(parts)


class RMPredictor(RegressorMixin, BaseEstimator):
    """Elastic Net on polynomial features predicting a RewardBench score from benchmark results.

    ``features`` are registry names (``advisor.core.registry``); ``scale`` is the scale of the benchmark
    features (training metrics are always ``count``). ``fit`` takes a DataFrame with those columns.
    """

    def __init__(self, features=BASE_FEATURES, scale: str = "normalized",
                 degrees=search.PAPER_GRID["degrees"], alphas=search.PAPER_GRID["alphas"],
                 l1_ratios=search.PAPER_GRID["l1_ratios"], cv: int = 10, interval_level: float = 0.9,
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
                             "Fix: add the columns, or impute them (advisor.predict.shortlist)")
        A = X[features].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        bad = np.argwhere(~np.isfinite(A))
        if len(bad):
            i, j = bad[0]
            raise ValueError(f"row {X.index[i]!r}, feature {features[j]!r}: missing or non-numeric "
                             f"value ({len(bad)} such cells). Fix: supply it or impute it "
                             "(advisor.predict.impute)")
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

    def fit(self, X, y):
        """Grid search by ``cv``-fold CV on MAE, then refit the selected configuration on all rows."""
        features, A, yv = self._check_fit(X, y)
        found = search.grid_search(A, yv, self._splits(A), self.degrees, self.alphas, self.l1_ratios,
                                   self.max_iter, self.tol, self.n_jobs)
        return self._finish(X, A, yv, features, found)

    def _finish(self, X, A: np.ndarray, yv: np.ndarray, features: list[str], found: search.SearchResult):
        """Refit the selected configuration on all rows and set the fitted attributes."""
        t0 = time.perf_counter()
        best = found.best_index
        degree, alpha, l1_ratio = found.configs[best]
        design, P = search.fit_design(A, degree)
        with search.quiet() as caught:
            fits, capped = search.fit_configs(P, yv, [a for a in self.alphas if a >= alpha], [l1_ratio],
                                              self.max_iter, self.tol)
        self.coef_, self.intercept_ = fits[(alpha, l1_ratio)]
        self.design_ = design
        self.fit_seconds_ = found.seconds + time.perf_counter() - t0

        self.best_params_ = {"degree": degree, "alpha": alpha, "l1_ratio": l1_ratio}
        self.cv_mae_ = float(found.mean_mae[best])
        self.cv_results_ = pd.DataFrame(found.configs, columns=["degree", "alpha", "l1_ratio"])
        self.cv_results_["mean_mae"] = found.mean_mae
        self.cv_results_["std_mae"] = found.fold_mae.std(axis=0)
        self.oof_predictions_ = pd.Series(found.oof[:, best], index=self._index(X, len(yv)))
        self.residuals_ = np.abs(yv - found.oof[:, best])
        self.interval_halfwidth_ = search.conformal_halfwidth(self.residuals_, self.interval_level)
        self.n_fits_ = found.n_fits + 1
        self.n_iter_capped_ = found.n_capped + capped  # = ConvergenceWarnings captured, not shown
        self.n_convergence_warnings_ = found.n_warnings + caught["n"]
        self.feature_names_in_ = np.array(features, dtype=object)
        self.n_features_in_ = len(features)
        self.scale_ = self.scale
        ytrain = pd.Series(yv, index=self._index(X, len(yv)), name="y")
        self.train_hash_ = bundle.data_hash(pd.DataFrame(A, columns=features, index=ytrain.index), ytrain)
        self.versions_ = bundle.library_versions()
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
