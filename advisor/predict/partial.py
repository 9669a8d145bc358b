"""Candidates with only some inputs: a reduced spec fitted on what they have, or imputation, whichever
has the better honest error; and the measured evidence for that choice.

A *pattern* is the set of base features (``advisor.predict.specs.BASE_FEATURES``: the six OLL v2 tasks,
params_b, pretrain_tokens_t) a candidate has. For a pattern, ``evaluate_pattern`` measures under the
served predictors' lineage-out protocol (``advisor.predict.evaluation``: one lineage held out at a time, every
choice made in the training part) the honest error of two procedures, per target:

* ``imputation``: the served procedure (every candidate spec fitted with its own inner search, the
  one-standard-error choice among them) on all features, the held-out models' missing cells imputed
  from the training part only (``advisor.predict.impute.impute_rows``, as the app imputes from the known
  models) and every input clamped to the training part's range (as the app clamps);
* ``reduced``: the same candidate specs restricted to the inputs the pattern has (a task the pattern
  lacks is dropped; the OLL v2 mean becomes the mean of the tasks it has, ``mean_of:``), the
  one-standard-error choice among those, fitted on the training part.

The pattern is served by the one with the lower lineage-out MAE (ties: imputation, the served
procedure), and it passes the skill gate when the paired bootstrap 95% CI of (its errors - the mean
baseline's errors) over models lies below 0, the served predictors' rule. Caveat, stated wherever the
number is shown: choosing the lower of two MAEs on the same folds makes the chosen one's MAE slightly
optimistic (a choice between two procedures, not a search). A reduced spec's interval is the conformal
half-width of its own lineage-out residuals.

Every search here is the served procedure's: ``inner_seeds`` x ``cv``-fold inner CV
(``advisor.predict.specs.search_spec``), the seeds fixed by the bundle's ``procedure``.

Where the answer comes from (``for_bundle``): the bundle's ``precomputed`` patterns (the predictor stage
evaluates the report's patterns and those of the shipped candidate files at build time, ``precompute``,
and stores every entry, its reduced fit as JSON, in the bundle), else the evaluation here, run on first
use and cached per (bundle content, scale, method, pattern) for the process. The evaluation needs the
known models' targets and lineages (the bundle's ``Y_train``/``lineage``). ``bench/bench_partial.py``
times both paths.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sklearn.model_selection import LeaveOneGroupOut

from advisor.core import registry
from advisor.predict import specs
from advisor.predict.evaluation import paired_bootstrap
from advisor.predict.impute import impute_rows
from advisor.predict.search import conformal_halfwidth
from advisor.predict.specs import LinearFit

TASKS = tuple(registry.OLL_V2_TASKS)


def short(feature: str) -> str:
    return feature.removeprefix("leaderboard_")


def reduced_candidates(available, candidates=None) -> list[specs.Spec]:
    """The candidate specs restricted to the ``available`` base features (duplicates and specs left
    without inputs dropped). Names read ``<spec> on <inputs>``."""
    available = set(available)
    tasks = [t for t in TASKS if t in available]
    out, seen = [], set()
    for name in candidates or specs.candidates():
        s = specs.get(name)
        inputs = []
        for i in s.inputs:
            if i == "oll_v2_mean":
                if tasks:
                    inputs.append(i if len(tasks) == len(TASKS) else specs.MEAN_OF + "+".join(tasks))
            elif set(specs.base_columns([i])) <= available:
                inputs.append(i)
        if not inputs or tuple(inputs) in seen:
            continue
        seen.add(tuple(inputs))
        label = ", ".join("mean(" + "+".join(short(t) for t in i[len(specs.MEAN_OF):].split("+")) + ")"
                          if i.startswith(specs.MEAN_OF) else short(i) for i in inputs)
        out.append(dataclasses.replace(s, name=f"{s.name} on {label}", inputs=tuple(inputs)))
    return out


def _fit_served(X, Y, cands, cv, seed, seeds):
    """{spec: [LinearFit per target]} and the one-SE pick per target."""
    fits = {s: specs.fit_spec(s, X, Y, cv, seed, seeds=seeds) for s in cands}
    picks = [specs.select_one_se({s: fits[s][t] for s in cands}) for t in range(Y.shape[1])]
    return fits, picks


def _fit_reduced(X, Y, reduced, cv, seed, seeds, cache: dict, fold):
    """The reduced specs' fits (each cached per (fold, inputs): patterns share reduced specs, e.g. size
    alone) and the one-SE pick among them per target."""
    fits = {}
    for s in reduced:
        key = ("reduced", fold, s.inputs, s.degrees, s.alphas, s.l1_ratios)
        if key not in cache:
            cache[key] = specs.fit_spec(s, X, Y, cv, seed, seeds=seeds)
        fits[s.name] = [dataclasses.replace(f, name=s.name) for f in cache[key]]
    cx = {s.name: s.complexity for s in reduced}
    picks = [specs.select_one_se({n: fits[n][t] for n in fits}, cx) for t in range(Y.shape[1])]
    return fits, picks


def _predict_picks(fits: dict, picks: list, X: pd.DataFrame) -> np.ndarray:
    """(rows, targets): each target's pick among ``fits`` ({spec: [LinearFit per target]}) on X, the
    inputs of each spec computed once."""
    out = np.empty((len(X), len(picks)))
    for name in set(picks):
        A = specs.input_frame(X, fits[name][0].inputs).to_numpy(float)
        for t in [t for t, p in enumerate(picks) if p == name]:
            out[:, t] = fits[name][t].predict_inputs(A)
    return out


def evaluate_pattern(X: pd.DataFrame, Y: pd.DataFrame, lineage: pd.Series, available,
                     candidates=None, cv: int = 10, random_state: int = 0, level: float = 0.9,
                     n_boot: int = 2000, served_cache: dict | None = None, seeds: int = 1) -> dict:
    """{column of ``Y``: entry} for the pattern ``available`` (base features the candidate has).

    An entry: ``method`` ('reduced' | 'imputation'), ``label`` ('reduced spec <name>' | 'imputation'),
    ``mae`` (the chosen one's lineage-out MAE), ``imputation_mae``, ``reduced_mae`` (NaN when no spec
    has inputs left), ``mean_mae``, ``skill`` ('skill' | 'no_skill'), ``skill_diff``/``_lo``/``_hi``,
    ``spec`` (the reduced spec chosen on all models), ``fit`` (its LinearFit on all models, or None),
    ``halfwidth`` (the reduced spec's conformal half-width of its lineage-out residuals),
    ``n_models``. ``served_cache``: a dict reused across patterns for the fold fits (the served
    procedure's and the reduced specs'); ``seeds``: the inner CV's seeds (the served procedure's).
    """
    cands = list(candidates or specs.candidates())
    available = [f for f in specs.BASE_FEATURES if f in set(available)]
    missing = [f for f in specs.BASE_FEATURES if f not in available]
    reduced = reduced_candidates(available, cands)
    Ya = Y.to_numpy(float)
    n, T = Ya.shape
    lin = lineage.reindex(X.index).to_numpy()
    p_imp, p_red, p_mean = np.full((n, T), np.nan), np.full((n, T), np.nan), np.full((n, T), np.nan)
    cache = served_cache if served_cache is not None else {}
    for k, (tr, te) in enumerate(LeaveOneGroupOut().split(np.zeros(n), groups=lin)):
        Xtr, Xte, Ytr = X.iloc[tr], X.iloc[te], Ya[tr]
        if k not in cache:
            cache[k] = _fit_served(Xtr, Ytr, cands, cv, random_state, seeds)
        fits, picks = cache[k]
        hidden = Xte[list(specs.BASE_FEATURES)].copy()
        hidden.loc[:, missing] = np.nan
        ref = Xtr[list(specs.BASE_FEATURES)]
        filled = impute_rows(hidden, ref) if missing else hidden
        filled = filled.clip(lower=ref.min(), upper=ref.max(), axis=1)  # as the app clamps
        Xte = Xte.clip(lower=ref.min(), upper=ref.max(), axis=1)
        p_imp[te] = _predict_picks(fits, picks, filled)
        if reduced:
            rfits, rpicks = _fit_reduced(Xtr, Ytr, reduced, cv, random_state, seeds, cache, k)
            p_red[te] = _predict_picks(rfits, rpicks, Xte)
        p_mean[te] = Ytr.mean(axis=0)
    final, fpicks = (_fit_reduced(X, Ya, reduced, cv, random_state, seeds, cache, "all") if reduced
                     else ({}, [None] * T))
    out = {}
    for t, col in enumerate(Y.columns):
        e_imp, e_red, e_mean = (np.abs(Ya[:, t] - p[:, t]) for p in (p_imp, p_red, p_mean))
        m_imp, m_mean = float(e_imp.mean()), float(e_mean.mean())
        m_red = float(e_red.mean()) if reduced else float("nan")
        use_red = bool(reduced) and m_red < m_imp
        err = e_red if use_red else e_imp
        d, lo, hi = paired_bootstrap(err, e_mean, n_boot, random_state)
        out[col] = {
            "method": "reduced" if use_red else "imputation",
            "label": f"reduced spec {fpicks[t]}" if use_red else "imputation",
            "mae": m_red if use_red else m_imp, "imputation_mae": m_imp, "reduced_mae": m_red,
            "mean_mae": m_mean, "skill": "skill" if hi < 0 else "no_skill",
            "skill_diff": d, "skill_diff_lo": lo, "skill_diff_hi": hi,
            "spec": fpicks[t], "fit": final[fpicks[t]][t] if reduced else None,
            "halfwidth": conformal_halfwidth(e_red, level) if reduced else float("nan"),
            "n_models": int(n), "missing": missing,
        }
    return out


def pattern_key(available) -> str:
    """The name of a pattern: its base features in BASE_FEATURES order, joined by '+'."""
    return "+".join(f for f in specs.BASE_FEATURES if f in set(available))


def entry_to_json(e: dict) -> dict:
    """An ``evaluate_pattern`` entry as JSON (its fit as ``LinearFit.to_json``, NaN as None)."""
    out = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in e.items() if k != "fit"}
    out["fit"] = None if e["fit"] is None else e["fit"].to_json()
    return out


def entry_from_json(d: dict) -> dict:
    out = {k: (float("nan") if v is None and k != "spec" else v) for k, v in d.items() if k != "fit"}
    out["fit"] = None if d.get("fit") is None else LinearFit.from_json(d["fit"])
    return out


def _procedure(bundle) -> dict:
    proc = bundle.data.get("procedure") or {}
    return {"candidates": proc.get("candidates"), "cv": int(proc.get("cv", 10)),
            "random_state": int(proc.get("random_state", 0)), "seeds": int(proc.get("inner_seeds", 1))}


def evaluate_for_bundle(bundle, scale: str, method: str, available, served_cache: dict | None = None,
                        n_boot: int = 2000) -> dict | None:
    """``evaluate_pattern`` on the bundle's known models of ``scale`` for ``method``'s targets ({target:
    entry}) with the bundle's procedure; None when the bundle holds no targets to evaluate with."""
    Y, lineage = bundle.Y_train(scale), bundle.lineage(scale)
    if Y is None or lineage is None:
        return None
    X = bundle.X_train(scale)
    return evaluate_pattern(X, Y.loc[X.index, method], lineage, available,  # columns: the targets
                            level=bundle.interval_level, n_boot=n_boot, served_cache=served_cache,
                            **_procedure(bundle))


def precompute_patterns(X: pd.DataFrame, Y: pd.DataFrame, lineage: pd.Series, patterns, candidates=None,
                        cv: int = 10, random_state: int = 0, seeds: int = 1, level: float = 0.9,
                        n_boot: int = 2000, n_jobs: int = 2) -> dict:
    """``evaluate_pattern`` of every pattern (lists of base features) on one scale, all of Y's columns
    ((method, target) pairs) at once: {pattern_key: {(method, target): entry}}. The served procedure's
    fold fits are computed once and shared; the patterns run on ``n_jobs`` threads (numpy's linear
    algebra releases the GIL)."""
    from joblib import Parallel, delayed

    cache: dict = {}
    Ya = Y.to_numpy(float)
    lin = lineage.reindex(X.index).to_numpy()
    folds = list(LeaveOneGroupOut().split(np.zeros(len(X)), groups=lin))
    cands = list(candidates or specs.candidates())
    served = Parallel(n_jobs=n_jobs, backend="threading")(
        delayed(_fit_served)(X.iloc[tr], Ya[tr], cands, cv, random_state, seeds) for tr, _ in folds)
    cache.update(enumerate(served))
    unique = {pattern_key(p): p for p in patterns}
    results = Parallel(n_jobs=n_jobs, backend="threading")(
        delayed(evaluate_pattern)(X, Y, lineage, p, cands, cv, random_state, level, n_boot, cache, seeds)
        for p in unique.values())
    return dict(zip(unique, results))


def as_stored(results: dict) -> dict:
    """``precompute_patterns``' results as the bundle stores them: {method: {pattern: {target: JSON}}}."""
    out: dict = {}
    for key, per_target in results.items():
        for (method, target), e in per_target.items():
            out.setdefault(method, {}).setdefault(key, {})[target] = entry_to_json(e)
    return out


_CACHE: dict = {}


def for_bundle(bundle, scale: str, method: str, available) -> dict | None:
    """The partial-input evidence of a pattern ({target: entry}): the bundle's precomputed entry when
    the build evaluated this pattern, else ``evaluate_for_bundle`` (computed on first use, cached per
    (``ServedBundle.cache_key``, scale, method, pattern)); None when the bundle holds no targets to evaluate with."""
    key = (bundle.cache_key, scale, method, pattern_key(available))
    if key not in _CACHE:
        stored = bundle.precomputed("patterns", scale, method, key[3])
        if stored is not None:
            _CACHE[key] = {t: entry_from_json(e) for t, e in stored.items()}
        else:
            served_cache = _CACHE.setdefault((bundle.cache_key, scale, method, "served-folds"), {})
            _CACHE[key] = evaluate_for_bundle(bundle, scale, method, available, served_cache)
    return _CACHE[key]


def ready(bundle, scale: str, method: str, available) -> bool:
    """Whether ``for_bundle`` answers this pattern without evaluating it: the bundle precomputed it, or
    this process already evaluated it."""
    key = (bundle.cache_key, scale, method, pattern_key(available))
    return key in _CACHE or bundle.precomputed("patterns", scale, method, key[3]) is not None
