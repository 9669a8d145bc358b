"""The predictor as plain scikit-learn: a ``Pipeline`` and ``GridSearchCV`` over the paper's grid with
scikit-learn's defaults. The reference ``advisor.predict.search``'s fast search is checked against
(``bench/bench_predictor.py`` with ``bench/fast_search.py``, ``tests/predict/test_search_evaluation.py``);
no product code uses it.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold
from sklearn.preprocessing import PolynomialFeatures

from advisor.predict import search


def reference_pipeline(degree: int = 1, alpha: float = 1.0, l1_ratio: float = 0.5,
                       max_iter: int = 1000, tol: float = 1e-4):
    """The predictor as a plain scikit-learn Pipeline (identical model, default solver)."""
    from sklearn.linear_model import ElasticNet
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), PolynomialFeatures(degree, include_bias=False),
                         StandardScaler(), ElasticNet(alpha=alpha, l1_ratio=l1_ratio,
                                                      max_iter=max_iter, tol=tol))


def reference_grid_search(X, y, degrees=search.PAPER_GRID["degrees"], alphas=search.PAPER_GRID["alphas"],
                          l1_ratios=search.PAPER_GRID["l1_ratios"], cv: int = 10, random_state: int = 0,
                          n_jobs: int = 2, max_iter: int = 1000):
    """``GridSearchCV`` over the paper's grid (neg. MAE, KFold with shuffling), fitted."""
    from sklearn.model_selection import GridSearchCV

    grid = {"polynomialfeatures__degree": list(degrees), "elasticnet__alpha": list(alphas),
            "elasticnet__l1_ratio": list(l1_ratios)}
    gs = GridSearchCV(reference_pipeline(max_iter=max_iter), grid,
                      scoring="neg_mean_absolute_error",
                      cv=KFold(cv, shuffle=True, random_state=random_state), n_jobs=n_jobs)
    return gs.fit(np.asarray(X, dtype=float), np.asarray(y, dtype=float))
