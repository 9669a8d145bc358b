"""Benchmark: the predictor's grid search vs scikit-learn's default GridSearchCV, in one run.

    .venv/bin/python bench/bench_predictor.py [--db data/advisor.duckdb] [--n-jobs 2] [--repeat 3]

Both search the paper's grid (60 configurations x 10 folds) for the same model (scaling, polynomial
terms, scaling, Elastic Net) on the shipped data (40 models x 8 features, regression RM score) with
the same folds. The fast side is ``bench/fast_search.py`` (the product's per-(fold, degree) search task,
``advisor.predict.search.fold_task``, on threads, plus the refit). Prints both times, the ratio, each
selected configuration and CV MAE, and how many fits hit the iteration cap. Target (issue 3): fast
search < 1.5 s on 2 cores with the same selected configuration or a CV MAE within 1% of GridSearchCV's.
Needs the database (python -m pipeline.run).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PYTHONWARNINGS", "ignore")  # GridSearchCV workers' ConvergenceWarnings: counted below
warnings.simplefilter("ignore")

import numpy as np  # noqa: E402

from advisor.core import registry  # noqa: E402
from advisor.db import store  # noqa: E402
from advisor.predict import specs  # noqa: E402
from bench.fast_search import fast_fit, grid_search  # noqa: E402
from bench.sklearn_reference import reference_grid_search  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--db", default=None)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="fast-search repetitions (best is kept)")
    args = ap.parse_args(argv)
    con = store.connect(args.db)
    rm = store.rm_table(con, method="regression", sources=("paper",)).set_index("hf_id")
    X = store.feature_matrix(con, specs.BASE_FEATURES, "normalized",
                             models=sorted(rm.index)).dropna()
    y = rm.score.loc[X.index]
    con.close()
    print(f"data: {X.shape[0]} models x {X.shape[1]} features, paper grid 60 configs x 10 folds, "
          f"n_jobs={args.n_jobs}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn passes the filters on to its workers
        t0 = time.perf_counter()
        ref = reference_grid_search(X, y, n_jobs=args.n_jobs)
        t_ref = time.perf_counter() - t0
    # convergence warnings raised in worker processes are not caught here: count by refitting
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold
    capped_ref = 0
    folds = list(KFold(10, shuffle=True, random_state=0).split(X))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        for params in ref.cv_results_["params"]:
            for tr, _ in folds:
                before = len(caught)
                clone(ref.estimator).set_params(**params).fit(X.to_numpy()[tr], y.to_numpy()[tr])
                capped_ref += int(any(issubclass(w.category, ConvergenceWarning)
                                      for w in caught[before:]))
    ref_best = {"degree": ref.best_params_["polynomialfeatures__degree"],
                "alpha": ref.best_params_["elasticnet__alpha"],
                "l1_ratio": ref.best_params_["elasticnet__l1_ratio"]}
    ref_mae = -ref.best_score_

    times = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        est = fast_fit(X, y, n_jobs=args.n_jobs)
        times.append(time.perf_counter() - t0)
    t_fast = min(times)
    same = est["best_params"] == ref_best
    within = abs(est["cv_mae"] - ref_mae) / ref_mae
    print(f"GridSearchCV (sklearn defaults, max_iter=1000): {t_ref:.2f} s, best {ref_best}, "
          f"CV MAE {ref_mae:.4f}, {capped_ref} of {len(folds) * 60} fits unconverged")
    print(f"fast search + refit (max_iter={est['max_iter']}): {t_fast:.2f} s (best of "
          f"{len(times)}: {', '.join(f'{t:.2f}' for t in times)}), best {est['best_params']}, "
          f"CV MAE {est['cv_mae']:.4f}, {est['n_capped']} of {est['n_fits']} fits hit the cap")
    print(f"ratio GridSearchCV / fast = {t_ref / t_fast:.1f}x; same configuration: {same}; "
          f"CV MAE difference {100 * within:.3f}% (target: same configuration or < 1%); "
          f"fast < 1.5 s: {t_fast < 1.5}")

    # the pipeline's bundle: the five RewardBench targets share one search (designs, Gram, SVD)
    rm5 = rm.loc[X.index, list(registry.RM_TARGETS)].dropna()
    A = X.loc[rm5.index].to_numpy()
    splits = list(KFold(10, shuffle=True, random_state=0).split(A))
    c0, t0 = time.process_time(), time.perf_counter()
    shared = grid_search(A, rm5.to_numpy(), splits, n_jobs=args.n_jobs)
    t_shared, c_shared = time.perf_counter() - t0, time.process_time() - c0
    c0, t0 = time.process_time(), time.perf_counter()
    alone = [grid_search(A, rm5[t].to_numpy(), splits, n_jobs=args.n_jobs)
             for t in registry.RM_TARGETS]
    t_alone, c_alone = time.perf_counter() - t0, time.process_time() - c0
    agree = all(s.best_index == a.best_index and np.allclose(s.mean_mae, a.mean_mae)
                for s, a in zip(shared, alone))
    print(f"5 targets, one shared search: {t_shared:.2f} s wall / {c_shared:.2f} s CPU vs five "
          f"searches {t_alone:.2f} s / {c_alone:.2f} s; identical results: {agree}; "
          f"{sum(s.n_capped for s in shared)} fits capped (ConvergenceWarnings captured: "
          f"{shared[0].n_warnings})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
