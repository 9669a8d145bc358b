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

The patterns a rankable row can have (``rankable_patterns``): a size is never imputed, so a ranked row
always has params_b, and its pattern is params_b with any subset of the other seven base features (the
six tasks and pre-training tokens): 127 besides the complete row. ``precompute_patterns`` evaluates many
patterns at once, per training part (``_part``): the candidates' searches once, shared by every pattern
(only the held-out rows' imputation differs), every distinct reduced spec searched once, the reduced
specs of one grid in one ``advisor.predict.search.linear_search_subsets`` call (ridge in closed form from
one eigendecomposition per column subset; the Elastic Net by exact certificates, smaller subsets first).
Nothing of the protocol is left out; the predictor stage runs it for every rankable pattern.

Where the answer comes from (``for_bundle``): the bundle's ``precomputed`` patterns (the predictor stage
evaluates every rankable pattern and the report's at build time and stores every entry, its reduced fit
as JSON, in the bundle), else the evaluation here (a bundle of the serving build, which stores none),
the patterns a ranking needs in one call, cached per (bundle content, scale, method, pattern) for the
process. The evaluation needs the known models' targets and lineages (the bundle's
``Y_train``/``lineage``). ``bench/bench_partial.py`` times both paths.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sklearn.model_selection import LeaveOneGroupOut

from advisor.core import registry
from advisor.predict import search, specs
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


def _key(spec: specs.Spec) -> tuple:
    """Specs with the same inputs and grid run the same search (reduced specs are shared by patterns)."""
    return (spec.inputs, spec.degrees, spec.alphas, spec.l1_ratios)


def _searches(spec_list, X: pd.DataFrame, F: pd.DataFrame, Y: np.ndarray, cv: int, random_state: int,
              seeds: int) -> dict:
    """{``_key``: ``specs.SpecSearch``}: each spec's own hyperparameter search on the rows of X, as
    ``specs.search_spec`` runs it, the degree-1 specs of one grid all at once
    (``search.linear_search_subsets``: one set of moments and an eigendecomposition per column subset).
    ``F``: every spec's inputs on the rows of X (``specs.input_frame``)."""
    splits = specs.inner_splits(len(X), cv, random_state, seeds)
    out, groups = {}, {}
    for s in spec_list:
        if _key(s) in out or _key(s) in groups.get((s.alphas, s.l1_ratios), {}):
            continue
        if s.degrees == (1,):
            groups.setdefault((s.alphas, s.l1_ratios), {})[_key(s)] = s
        else:
            out[_key(s)] = specs.search_spec(s, X, Y, cv, random_state, seeds)
    for (alphas, l1_ratios), members in groups.items():
        union = list(dict.fromkeys(i for s in members.values() for i in s.inputs))
        A = F[union].to_numpy(float)
        if not np.isfinite(A).all():
            raise ValueError(f"inputs {union} have missing values in the training rows")
        subsets = [tuple(union.index(i) for i in s.inputs) for s in members.values()]
        configs = search.grid_configs([1], alphas, l1_ratios)
        found = search.linear_search_subsets(A, Y, splits, alphas, l1_ratios, subsets)
        for (key, s), cols, (full, mae) in zip(members.items(), subsets, found):
            out[key] = specs.SpecSearch(s, A[:, list(cols)], Y, configs,
                                        mae.reshape(Y.shape[1], seeds, cv, len(configs)), full)
    return out


class _Picks:
    """The one-standard-error choices of one training part, from its searches (``_searches``), with
    each search's (cv_mae, cv_se) per target and each refit computed once."""

    def __init__(self, found: dict):
        self.found, self._stats, self._fits = found, {}, {}

    def stats(self, s: specs.Spec, t: int) -> tuple[float, float]:
        """(cv_mae, cv_se) of the search's choice for target t: what its fit carries into the rule."""
        if (_key(s), t) not in self._stats:
            f = self.found[_key(s)]
            self._stats[(_key(s), t)] = f.stats(t, f.choice(t))
        return self._stats[(_key(s), t)]

    def served(self, cands: list, t: int) -> specs.Spec:
        """The served procedure's pick among the candidates (the registry's complexity order)."""
        return specs.get(specs.one_se_pick({c: self.stats(specs.get(c), t) for c in cands}))

    def reduced(self, red: list, t: int) -> specs.Spec | None:
        """The pick among a pattern's reduced specs (their own complexity order), None without any."""
        if not red:
            return None
        name = specs.one_se_pick({s.name: self.stats(s, t) for s in red}, {s.name: s.complexity for s in red})
        return next(s for s in red if s.name == name)

    def fit(self, s: specs.Spec, t: int) -> LinearFit:
        if (_key(s), t) not in self._fits:
            self._fits[(_key(s), t)] = self.found[_key(s)].fit(t)
        return dataclasses.replace(self._fits[(_key(s), t)], name=s.name)


def _part(X: pd.DataFrame, F: pd.DataFrame, Fc: pd.DataFrame, Ya: np.ndarray, train, test, pats: list,
          reduced: list, cands: list, cv: int, random_state: int, seeds: int) -> dict:
    """One training part of the lineage-out protocol for every pattern at once: the candidates (the
    imputation arm) and every pattern's reduced specs searched on ``train``, each reduced search once
    (``F``: every spec's inputs on every row of X; ``Fc``: the same of each row clamped to the range of
    the training part that holds it out). With ``test`` rows: {"imputation", "reduced": predictions of
    the test rows (patterns, rows, T)}; the imputation arm imputes each pattern's missing cells of the
    test rows from the training part and clamps to its range, as the app does. Without (the fits on all
    models): {"picks": per pattern the reduced spec chosen per target (its name), "fits": its LinearFit
    per target (None without reduced specs)}."""
    from threadpoolctl import threadpool_limits

    Xtr, Ytr = X.iloc[train], Ya[train]
    T = Ytr.shape[1]
    with threadpool_limits(1):
        picks = _Picks(_searches([specs.get(c) for c in cands] + [s for r in reduced for s in r], Xtr,
                                 F.iloc[train], Ytr, cv, random_state, seeds))
        chosen = [[picks.reduced(r, t) for t in range(T)] for r in reduced]
        if test is None:
            return {"picks": [[s.name if s else None for s in c] for c in chosen],
                    "fits": [[picks.fit(s, t) if s else None for t, s in enumerate(c)] for c in chosen]}
        ref = Xtr[list(specs.BASE_FEATURES)]
        held = X.iloc[test][list(specs.BASE_FEATURES)]
        keep = np.array([[f in set(p) for f in specs.BASE_FEATURES] for p in pats])  # (patterns, features)
        hidden = pd.DataFrame(np.where(keep[:, None, :], held.to_numpy(float)[None], np.nan).reshape(
            -1, keep.shape[1]), columns=held.columns)
        filled = impute_rows(hidden, ref) if hidden.isna().any().any() else hidden
        filled = filled.clip(lower=ref.min(), upper=ref.max(), axis=1)  # as the app clamps
        Fi = specs.input_frame(filled, list(dict.fromkeys(i for c in cands for i in specs.get(c).inputs)))
        Fc = Fc.iloc[test]
        m = len(held)
        imputation = np.empty((len(pats), m, T))
        red = np.full((len(pats), m, T), np.nan)
        for t in range(T):
            s = picks.served(cands, t)
            imputation[:, :, t] = picks.fit(s, t).predict_inputs(Fi[list(s.inputs)].to_numpy(float)).reshape(-1, m)
            for i, c in enumerate(chosen):
                if c[t] is not None:
                    red[i, :, t] = picks.fit(c[t], t).predict_inputs(Fc[list(c[t].inputs)].to_numpy(float))
    return {"imputation": imputation, "reduced": red}


def _entries(Ya: np.ndarray, columns, p_imp, p_red, p_mean, final: dict, reduced: list, pats: list,
             level: float, n_boot: int, random_state: int) -> list[dict]:
    """Per pattern {column of Y: entry} (``evaluate_pattern``'s) from the lineage-out predictions of the
    two arms and the mean (p_imp, p_red: (patterns, n, T); p_mean (n, T)) and the fits on all models."""
    e_mean = np.abs(Ya - p_mean)
    out = []
    for i, have in enumerate(pats):
        missing = [f for f in specs.BASE_FEATURES if f not in set(have)]
        e_imp, e_red = np.abs(Ya - p_imp[i]), np.abs(Ya - p_red[i])
        m_imp, m_mean = e_imp.mean(axis=0), e_mean.mean(axis=0)
        m_red = e_red.mean(axis=0) if reduced[i] else np.full(len(columns), np.nan)
        use_red = m_red < m_imp  # False where NaN: ties and no reduced spec go to imputation
        err = np.where(use_red, e_red, e_imp)
        d, lo, hi = paired_bootstrap(err.T, e_mean.T, n_boot, random_state)
        entry = {}
        for t, col in enumerate(columns):
            pick = final["picks"][i][t]
            entry[col] = {
                "method": "reduced" if use_red[t] else "imputation",
                "label": f"reduced spec {pick}" if use_red[t] else "imputation",
                "mae": float(m_red[t] if use_red[t] else m_imp[t]), "imputation_mae": float(m_imp[t]),
                "reduced_mae": float(m_red[t]), "mean_mae": float(m_mean[t]),
                "skill": "skill" if hi[t] < 0 else "no_skill",
                "skill_diff": float(d[t]), "skill_diff_lo": float(lo[t]), "skill_diff_hi": float(hi[t]),
                "spec": pick, "fit": final["fits"][i][t],
                "halfwidth": conformal_halfwidth(e_red[:, t], level) if reduced[i] else float("nan"),
                "n_models": len(Ya), "missing": missing,
            }
        out.append(entry)
    return out


def evaluate_pattern(X: pd.DataFrame, Y: pd.DataFrame, lineage: pd.Series, available,
                     candidates=None, cv: int = 10, random_state: int = 0, level: float = 0.9,
                     n_boot: int = 2000, seeds: int = 1) -> dict:
    """{column of ``Y``: entry} for the pattern ``available`` (base features the candidate has).

    An entry: ``method`` ('reduced' | 'imputation'), ``label`` ('reduced spec <name>' | 'imputation'),
    ``mae`` (the chosen one's lineage-out MAE), ``imputation_mae``, ``reduced_mae`` (NaN when no spec
    has inputs left), ``mean_mae``, ``skill`` ('skill' | 'no_skill'), ``skill_diff``/``_lo``/``_hi``,
    ``spec`` (the reduced spec chosen on all models), ``fit`` (its LinearFit on all models, or None),
    ``halfwidth`` (the reduced spec's conformal half-width of its lineage-out residuals),
    ``n_models``, ``missing``. ``seeds``: the inner CV's seeds (the served procedure's). One pattern of
    ``precompute_patterns``.
    """
    return next(iter(precompute_patterns(X, Y, lineage, [available], candidates, cv, random_state, seeds,
                                         level, n_boot, n_jobs=1).values()))


def rankable_patterns() -> list[list[str]]:
    """Every pattern a ranked row can have but the complete one: params_b (a size is never imputed) with
    each subset of the other base features, in BASE_FEATURES order; the most inputs first (then in
    the order of ``itertools.combinations``)."""
    import itertools

    rest = [f for f in specs.BASE_FEATURES if f != "params_b"]
    out = []
    for k in range(len(rest) - 1, -1, -1):
        for have in itertools.combinations(rest, k):
            out.append([f for f in specs.BASE_FEATURES if f in {*have, "params_b"}])
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


def precompute_patterns(X: pd.DataFrame, Y: pd.DataFrame, lineage: pd.Series, patterns, candidates=None,
                        cv: int = 10, random_state: int = 0, seeds: int = 1, level: float = 0.9,
                        n_boot: int = 2000, n_jobs: int = 2) -> dict:
    """``evaluate_pattern`` of every pattern (lists of base features) on one scale, all of Y's columns
    ((method, target) pairs, or any labels) at once: {pattern_key: {column: entry}}.

    Computed per training part for all patterns together (``_part``, the parts on ``n_jobs`` threads):
    the candidates' searches (the imputation arm) once per part, shared by every pattern, only the
    held-out rows' imputation differing; each distinct reduced spec searched once per part, the reduced
    specs of one grid in one ``search.linear_search_subsets`` call (an Elastic Net on some inputs is a
    block of the one on all of them). The protocol is ``evaluate_pattern``'s: nothing is left out."""
    from joblib import Parallel, delayed

    cands = list(candidates or specs.candidates())
    unique = {pattern_key(p): [f for f in specs.BASE_FEATURES if f in set(p)] for p in patterns}
    pats = list(unique.values())
    reduced = [reduced_candidates(p, cands) for p in pats]
    Ya = Y.to_numpy(float)
    lin = lineage.reindex(X.index).to_numpy()
    folds = list(LeaveOneGroupOut().split(np.zeros(len(X)), groups=lin))
    every = [specs.get(c) for c in cands] + [s for r in reduced for s in r]
    inputs = list(dict.fromkeys(i for s in every for i in s.inputs))
    F = specs.input_frame(X, inputs)  # inputs are computed row by row: once for every part
    base = X[list(specs.BASE_FEATURES)]
    clamped = base.copy()
    for tr, te in folds:  # each row clamped to the range of the part that holds it out, as the app clamps
        clamped.iloc[te] = base.iloc[te].clip(lower=base.iloc[tr].min(), upper=base.iloc[tr].max(), axis=1)
    Fc = specs.input_frame(clamped, inputs)
    parts = Parallel(n_jobs=n_jobs, backend="threading")(
        delayed(_part)(X, F, Fc, Ya, tr, te, pats, reduced, cands, cv, random_state, seeds)
        for tr, te in [*folds, (np.arange(len(X)), None)])
    p_imp, p_red = (np.full((len(pats), *Ya.shape), np.nan) for _ in range(2))
    p_mean = np.full(Ya.shape, np.nan)
    for (tr, te), part in zip(folds, parts):
        p_imp[:, te], p_red[:, te], p_mean[te] = part["imputation"], part["reduced"], Ya[tr].mean(axis=0)
    entries = _entries(Ya, Y.columns, p_imp, p_red, p_mean, parts[-1], reduced, pats, level, n_boot,
                       random_state)
    return dict(zip(unique, entries))


def as_stored(results: dict) -> dict:
    """``precompute_patterns``' results as the bundle stores them: {method: {pattern: {target: JSON}}}."""
    out: dict = {}
    for key, per_target in results.items():
        for (method, target), e in per_target.items():
            out.setdefault(method, {}).setdefault(key, {})[target] = entry_to_json(e)
    return out


_CACHE: dict = {}


def for_bundle(bundle, scale: str, method: str, patterns) -> list[dict | None]:
    """The partial-input evidence ({target: entry}) of each pattern (lists of base features): the bundle's
    precomputed entry where the build evaluated the pattern, else evaluated here, the patterns not yet
    cached in one ``precompute_patterns`` call with the bundle's procedure, and cached per
    (``ServedBundle.cache_key``, scale, method, pattern) for the process; None for every pattern when the
    bundle holds no targets to evaluate with (``Y_train``, ``lineage``)."""
    keys = [(bundle.cache_key, scale, method, pattern_key(p)) for p in patterns]
    todo = {}
    for key, p in zip(keys, patterns):
        if key in _CACHE or key[3] in todo:
            continue
        stored = bundle.precomputed("patterns", scale, method, key[3])
        if stored is not None:
            _CACHE[key] = {t: entry_from_json(e) for t, e in stored.items()}
        else:
            todo[key[3]] = p
    if todo:
        Y, lineage = bundle.Y_train(scale), bundle.lineage(scale)
        if Y is None or lineage is None:
            return [None] * len(patterns)
        X = bundle.X_train(scale)
        found = precompute_patterns(X, Y.loc[X.index, method], lineage, list(todo.values()),  # columns: targets
                                    level=bundle.interval_level, **_procedure(bundle))
        for k, per_target in found.items():
            _CACHE[(bundle.cache_key, scale, method, k)] = per_target
    return [_CACHE[key] for key in keys]


def ready(bundle, scale: str, method: str, available) -> bool:
    """Whether ``for_bundle`` answers this pattern without evaluating it: the bundle precomputed it, this
    process already evaluated it, or the bundle holds nothing to evaluate it with (no ``Y_train`` or
    ``lineage``: the answer is None at once)."""
    key = (bundle.cache_key, scale, method, pattern_key(available))
    return (key in _CACHE or bundle.precomputed("patterns", scale, method, key[3]) is not None
            or bundle.Y_train(scale) is None or bundle.lineage(scale) is None)
