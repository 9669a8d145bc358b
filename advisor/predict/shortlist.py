"""Rank candidate base models by predicted reward-model performance (what the app shows).

``predict_candidates`` takes the candidate table (``advisor.predict.candidates``: checked once there,
asserted here, never checked again) with whatever benchmark results the candidates have and predicts
each on the scale of its inputs (``normalized`` or ``raw``: the bundle serves a predictor per scale;
nothing is converted). Every row has its size (a size is never imputed: it is given or looked up,
else the row is not ranked and never reaches prediction). Other missing base features are filled by
low-rank imputation from the known models of that scale (``advisor.predict.impute``); inputs outside the
known models' range are clamped to it. Each row
says how it was obtained and how far to trust it: ``imputed`` (features the served fits needed and the
candidate lacked), ``extrapolated`` (clamped features), ``widened`` (its interval was widened, rule
below), ``in_domain`` (False when a feature was clamped or the candidate, not itself a known model, is
farther from every known model than any known model is from its nearest neighbour), ``skill``/``spec``/
``scale`` (the served predictor used and whether it beats predicting the mean for an unseen lineage).
Predictions and bounds are clipped to RewardBench's 0-100 (``lower_cut`` / ``upper_cut`` say where).

Interval widening (documented rule): the base interval is the conformal half-width of the served
procedure's nested out-of-fold residuals (``advisor.predict.evaluation``) for a candidate whose lineage
(``ServedBundle.known_lineages``: its row of the lineage table, else its hub org) is a known model's, and
the half-width of its leave-one-lineage-out residuals for any other candidate (a lineage never seen). A
candidate with imputed inputs gets that half-width plus the ``interval_level`` conformal quantile of how
much imputing the same missing features moves this fit's prediction on the known models (each known
model's cells hidden and imputed from the other known models). A candidate with clamped inputs gets an
interval that covers both the clamped and the unclamped prediction, each +- the half-width.

Partial inputs: a candidate lacking inputs the served fits read is served, per target, by a reduced
spec or by the imputation above, whichever has the lower lineage-out MAE for its pattern of available
inputs (``advisor.predict.partial``); a reduced spec's interval is its own conformal half-width. Rows say
``partial_method``, ``partial_mae`` and take the pattern's ``skill``. "Other / unknown" settings
(``settings`` column 'other') add the conformal quantile of how much the measured settings shift
(``advisor.predict.settings_shift``) moves the prediction on the known models (``settings_spread``).
``widened_why`` names every widening and its amount. The spreads and the patterns' evidence are read
from the bundle where the build precomputed them (``precompute_spreads``, ``advisor.predict.partial``),
else computed on first use and cached.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from advisor.core import registry
from advisor.core.registry import RM_TARGETS as TARGETS
from advisor.predict import partial
from advisor.predict.impute import impute_rows
from advisor.predict.search import conformal_halfwidth
from advisor.predict.specs import BASE_FEATURES, base_columns, input_frame

SCALE_RANGES = registry.SCALE_RANGES
CATEGORY_COLUMNS = [c for t in TARGETS[1:] for c in (f"pred_{t}", f"lower_{t}", f"upper_{t}")]
OUTPUT_COLUMNS = ["hf_id", "rank", "rank_upper", "ranked_by", "ranking_score", "measured_score",
                  "measured_source", "prediction", "lower", "upper", "lower_cut", "upper_cut",
                  *CATEGORY_COLUMNS, "size_rank", "skill", "spec", "scale", "nearest_known", "imputed",
                  "fallback", "extrapolated", "widened", "in_domain", "partial_method", "partial_mae",
                  "widened_why", "rank_note"]


def _bench(features) -> list[str]:
    return [f for f in features if registry.get(f).native_scale != "count"]


def _inputs(candidates: pd.DataFrame, served: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """(the base features as floats, NaN = missing; each row's scale) of a candidate table
    (``advisor.predict.candidates``), whose checks ran once there: this only asserts the contract and
    raises ValueError naming the row where a table did not come through it. Rows without benchmark
    values take the first served scale; an absent feature column is missing throughout."""
    features = list(BASE_FEATURES)
    df = candidates.reset_index(drop=True).copy()
    for f in features:
        df[f] = pd.to_numeric(df[f], errors="coerce").astype(float) if f in df.columns else np.nan
        df.loc[~np.isfinite(df[f]), f] = np.nan
        if f in registry.TRAINING_METRICS:  # the leaderboard writes 0 / -1 for an unknown size
            df.loc[df[f] <= 0, f] = np.nan
    bench = _bench(features)
    has = df[bench].notna().any(axis=1)
    if "scale" not in df.columns and has.any():
        raise ValueError(f"candidates need a 'scale' column saying the scale of their benchmark "
                         f"results; the predictor serves {served} for {bench}")
    scale = df["scale"] if "scale" in df.columns else pd.Series(None, index=df.index, dtype=object)
    scale = scale.where(has, served[0])
    problems = [(i, f"scale {scale[i]!r} but the predictor serves {served}")
                for i in df.index[~scale.isin(served)]]
    lo, hi = (scale.map(lambda s, j=j: SCALE_RANGES.get(s, (-np.inf, np.inf))[j]) for j in (0, 1))
    for f in bench:
        problems += [(i, f"feature {f!r}: value {df.at[i, f]} is outside the {scale[i]!r} range")
                     for i in df.index[(df[f] < lo) | (df[f] > hi)]]
    problems += [(i, "no params_b, and a size is never imputed (it is looked up, or the row is listed "
                     "as not ranked)") for i in df.index[df["params_b"].isna()]]
    if "not_ranked" in df.columns:
        problems += [(i, f"not ranked ({df.at[i, 'not_ranked']}), so never predicted")
                     for i in df.index[df["not_ranked"].fillna("").astype(str) != ""]]
    if problems:
        i, what = min(problems, key=lambda p: p[0])  # the first row, its first problem
        raise ValueError(f"candidate {df.hf_id[i]!r}: {what}. Fix: build the candidates with "
                         "advisor.predict.candidates.gather (their checks run there, once)")
    return df, scale


def usable_candidates(candidates: pd.DataFrame, scale,
                      budget: tuple[float, float]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(rankable, on a scale not served, outside the size budget in billions of parameters) of combined
    candidates (columns ``scale`` and, optionally, ``params_b``). ``scale``: one served scale or a list
    of them. A candidate of unknown size is kept."""
    scales = [scale] if isinstance(scale, str) else list(scale)
    wrong = candidates[~candidates["scale"].isin(scales)]
    usable = candidates[candidates["scale"].isin(scales)]
    params = usable["params_b"] if "params_b" in usable else pd.Series(float("nan"), index=usable.index)
    outside = params.notna() & ~params.between(*budget)
    return usable[~outside], wrong, usable[outside]


_LOO_CACHE: dict = {}


def _loo_imputed(bundle, scale: str, missing_list) -> dict[tuple, pd.DataFrame]:
    """{missing: the known models of ``scale`` with the cells ``missing`` hidden and imputed, each model
    from the other known models}, clamped to the known range as a candidate's inputs are (an imputed size
    or token count below the range would have no logarithm); every pattern of ``missing_list`` (tuples of
    base features) at once: one imputation per known model for all of them. Cached per bundle
    (``cache_key``)."""
    todo = [m for m in dict.fromkeys(missing_list) if (bundle.cache_key, scale, m) not in _LOO_CACHE]
    if todo:
        R = bundle.X_train(scale)[list(BASE_FEATURES)]
        hide = np.array([[f in m for f in BASE_FEATURES] for m in todo])  # (patterns, features)
        out = np.empty((len(todo), len(R), len(BASE_FEATURES)))
        for j in range(len(R)):
            rows = pd.DataFrame(np.where(hide, np.nan, R.to_numpy(float)[j]), columns=R.columns)
            out[:, j] = impute_rows(rows, R.drop(index=R.index[j])).to_numpy(float)
        lo, hi = R.min().to_numpy(), R.max().to_numpy()
        for m, filled in zip(todo, out):
            _LOO_CACHE[(bundle.cache_key, scale, m)] = pd.DataFrame(np.clip(filled, lo, hi), index=R.index,
                                                                     columns=R.columns)
    return {m: _LOO_CACHE[(bundle.cache_key, scale, m)] for m in missing_list}


def imputation_key(method: str, target: str, missing) -> str:
    """The key of an imputation spread among the bundle's precomputed ones."""
    return f"{method}/{target}|{'+'.join(missing)}"


def imputation_spread(bundle, scale: str, method: str, target: str, missing: tuple[str, ...]) -> float:
    """How much imputing ``missing`` moves the served prediction on the known models: the conformal
    ``interval_level`` quantile of |prediction(imputed) - prediction(observed)|, each known model's
    cells hidden and imputed from the other known models. Read from the bundle when the build
    precomputed it (``precompute_spreads``), else computed here."""
    stored = bundle.precomputed("imputation_spread", scale, imputation_key(method, target, missing))
    if stored is not None:
        return float(stored)
    fit = bundle.fit(scale, method, target)
    R = bundle.X_train(scale)[list(BASE_FEATURES)]
    deltas = np.abs(fit.predict(_loo_imputed(bundle, scale, [missing])[missing]) - fit.predict(R))
    return conformal_halfwidth(deltas, bundle.interval_level)


_SETTINGS_CACHE: dict = {}


def settings_sd(scale: str) -> dict[str, float]:
    """Per OLL v2 task, the sd of (other settings - leaderboard settings) on ``scale`` measured by
    ``advisor.predict.settings_shift`` (raw: sd_diff; normalized: sd_diff_normalized). Tasks without a
    measurement (no comparable pair, or no linear rule) get the largest measured sd of the scale."""
    if scale not in _SETTINGS_CACHE:
        from advisor.predict.settings_shift import settings_shift

        tab = settings_shift().set_index("benchmark")
        col = "sd_diff" if scale == "raw" else "sd_diff_normalized"
        sd = tab[col].dropna().to_dict()
        fallback = max(sd.values()) if sd else float("nan")
        _SETTINGS_CACHE[scale] = {t: float(sd.get(t, fallback)) for t in registry.OLL_V2_TASKS}
    return _SETTINGS_CACHE[scale]


def settings_key(fit, tasks) -> str:
    """The key of a settings spread among the bundle's precomputed ones: the fit's numbers, hashed, and
    the tasks it perturbs."""
    digest = hashlib.sha256(json.dumps(fit.to_json(), sort_keys=True).encode()).hexdigest()[:16]
    return f"{fit.name}|{digest}|{'+'.join(tasks)}"


def settings_spread(bundle, scale: str, fit, tasks: tuple[str, ...], draws: int = 50,
                    seed: int = 0) -> float:
    """How much "other" settings move ``fit``'s prediction: each known model's ``tasks`` perturbed by
    independent normal shifts with the measured per-task sd (``settings_sd``), ``draws`` times; the
    conformal ``interval_level`` quantile of |prediction(perturbed) - prediction(known)|. Read from
    the bundle when the build precomputed it, else computed here (``settings_spreads``)."""
    return settings_spreads(bundle, scale, [(fit, tasks)], draws, seed)[0]


def settings_spreads(bundle, scale: str, requests, draws: int = 50, seed: int = 0) -> list[float]:
    """``settings_spread`` of every (fit, tasks) of ``requests`` at once: the perturbed known models depend
    only on the tasks a fit reads, so each set of them is drawn, and its inputs computed, once."""
    out, todo = [], {}
    for fit, tasks in requests:
        used = tuple(t for t in tasks if t in base_columns(fit.inputs))
        key = settings_key(fit, used) if used else None
        stored = bundle.precomputed("settings_spread", scale, key) if used else None
        if not used or stored is not None:
            out.append(0.0 if not used else float(stored))
        elif (bundle.cache_key, scale, key) in _SETTINGS_CACHE:
            out.append(_SETTINGS_CACHE[(bundle.cache_key, scale, key)])
        else:
            todo.setdefault(used, []).append((len(out), fit, key))
            out.append(float("nan"))
    R = bundle.X_train(scale)[list(BASE_FEATURES)]
    for used, fits in todo.items():
        sd = settings_sd(scale)
        noise = np.random.default_rng(seed).standard_normal((draws, len(used), len(R)))
        P = pd.concat([R] * draws, ignore_index=True)
        for j, t in enumerate(used):
            P[t] = P[t].to_numpy() + (noise[:, j, :] * sd[t]).ravel()
        inputs = list(dict.fromkeys(i for _, f, _ in fits for i in f.inputs))
        FP, FR = input_frame(P, inputs), input_frame(R, inputs)
        for i, fit, key in fits:
            deltas = np.abs(fit.predict_inputs(FP[list(fit.inputs)].to_numpy(float))
                            - np.tile(fit.predict_inputs(FR[list(fit.inputs)].to_numpy(float)), draws))
            out[i] = _SETTINGS_CACHE[(bundle.cache_key, scale, key)] = conformal_halfwidth(
                deltas, bundle.interval_level)
    return out


def precompute_spreads(bundle, patterns) -> dict:
    """The spreads ``_predict_target`` widens intervals by, for every pattern (lists of base features,
    the complete one included) of every scale and method of ``bundle``: {"imputation_spread": {scale:
    {key: value}}, "settings_spread": {scale: {key: value}}}, stored in the bundle by the predictor stage
    so that ranking those patterns computes none of them. ``bundle`` must already hold the patterns'
    partial-input evidence (``advisor.predict.partial``), whose reduced fits the settings spread reads."""
    imp: dict = {}
    sett: dict = {}
    pats = [list(BASE_FEATURES), *patterns]
    absent = pd.DataFrame([[f not in set(have) for f in BASE_FEATURES] for have in pats], columns=list(BASE_FEATURES))
    for scale in bundle.scales:
        _loo_imputed(bundle, scale, [tuple(f for f in BASE_FEATURES if f not in set(p)) for p in pats])
        for method in bundle.methods:
            requests = []
            for g in _patterns(bundle, scale, method, absent):  # as ranking these rows looks them up
                missing = tuple(f for f, m in zip(BASE_FEATURES, g.absent) if m)
                tasks = tuple(f for f, m in zip(BASE_FEATURES, g.absent) if not m and f in registry.OLL_V2_TASKS)
                for t in TARGETS:
                    e = g.info[t] if g.info is not None else None
                    reduced = e is not None and e["method"] == "reduced"
                    fit = e["fit"] if reduced else bundle.fit(scale, method, t)
                    if not reduced and set(missing) & set(base_columns(fit.inputs)):
                        imp.setdefault(scale, {})[imputation_key(method, t, missing)] = imputation_spread(
                            bundle, scale, method, t, missing)
                    requests.append((fit, tasks))
            for (fit, tasks), value in zip(requests, settings_spreads(bundle, scale, requests)):
                used = [x for x in tasks if x in base_columns(fit.inputs)]
                if used:
                    sett.setdefault(scale, {})[settings_key(fit, used)] = value
    return {"imputation_spread": imp, "settings_spread": sett}


@dataclass
class _Pattern:
    """The candidate rows (positions) with one pattern of missing base features, and that pattern's
    partial-input evidence (``advisor.predict.partial.for_bundle``; None when the rows lack nothing the
    served fits read)."""
    rows: np.ndarray
    absent: np.ndarray  # per base feature: missing
    info: dict | None
    lacking: bool


@dataclass
class _Notes:
    """Per candidate row, collected over the targets: the base features its fits read (one set per
    pattern, shared by its rows), why its interval was widened and whether it was, and the overall
    score's spec and skill."""
    used: list[set]
    why: list[list[str]]
    widened: np.ndarray
    spec: np.ndarray
    skill: np.ndarray

    @classmethod
    def start(cls, bundle, scale: str, method: str, n: int, groups: list[_Pattern]) -> _Notes:
        used: list = [None] * n
        for g in groups:
            shared: set = set()
            for i in g.rows:
                used[i] = shared
        return cls(used, [[] for _ in range(n)], np.zeros(n, dtype=bool),
                   np.array([bundle.entry(scale, method, "score").spec] * n, dtype=object),
                   np.array([bundle.skill(scale, method, "score")] * n, dtype=object))


def _clamp(X: pd.DataFrame, known: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """X clamped to the known models' range of each feature, and where X lay outside it."""
    lo, hi = known.min(), known.max()
    return X.clip(lower=lo, upper=hi, axis=1), (X < lo) | (X > hi)


def _positive_counts(filled: pd.DataFrame, absent: pd.DataFrame, known: pd.DataFrame) -> pd.DataFrame:
    """``filled`` with every imputed count (params_b, pretrain_tokens_t) that came out <= 0 raised to the
    known models' smallest, for the fits' unclamped predictions: a linear imputation can extrapolate below
    zero, where a spec's log input does not exist, and every served spec must predict every accepted
    candidate (issue 27). The nearest known models and the clamping flags still see the imputed value."""
    out = filled
    for f in registry.TRAINING_METRICS:
        bad = absent[f] & (filled[f] <= 0)
        if bad.any():
            out = out.copy() if out is filled else out
            out.loc[bad, f] = float(known[f].min())
    return out


def _patterns(bundle, scale: str, method: str, absent: pd.DataFrame) -> list[_Pattern]:
    """The rows grouped by their pattern of missing base features, each with its partial-inputs evidence
    (``advisor.predict.partial.for_bundle``, every pattern of the rows in one call)."""
    served_need = set()
    for t in TARGETS:
        served_need.update(base_columns(bundle.fit(scale, method, t).inputs))
    keys, inverse = np.unique(absent.to_numpy(bool), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    lacks = [bool(any(m and f in served_need for f, m in zip(BASE_FEATURES, row))) for row in keys]
    wanted = [[f for f, m in zip(BASE_FEATURES, row) if not m] for row, lack in zip(keys, lacks) if lack]
    found = iter(partial.for_bundle(bundle, scale, method, wanted) if wanted else [])
    return [_Pattern(np.flatnonzero(inverse == k), row, next(found) if lack else None, lack)
            for k, (row, lack) in enumerate(zip(keys, lacks))]


def _predict_target(bundle, scale: str, method: str, t: str, filled: pd.DataFrame, clamped: pd.DataFrame,
                    groups: list[_Pattern], other: np.ndarray, notes: _Notes):
    """Target ``t``'s prediction (on the clamped inputs) and interval for every row, by the served fit or
    the row's reduced spec, widened by the rules of the module docstring; the score's notes go to
    ``notes``. Rows of one pattern are computed together."""
    fit = bundle.fit(scale, method, t)
    need = np.isin(BASE_FEATURES, base_columns(fit.inputs))
    entry = bundle.entry(scale, method, t)
    h = float(entry.halfwidth)
    h_new = float(entry.halfwidth_lineage_out if entry.halfwidth_lineage_out is not None else h)
    base = np.where(bundle.known_lineages(filled.index), h, h_new)  # a lineage never seen: lineage-out
    p_c, p_u = fit.predict(clamped), fit.predict(filled)
    hw, extra = base.copy(), np.zeros(len(filled))
    score = t == "score"
    if score and h_new > h:
        for i in np.flatnonzero(base > h):
            notes.why[i].append(f"lineage not among the known models' (lineage-out interval +-{h_new:.1f}, "
                                f"known lineages +-{h:.1f})")
    for g in groups:
        r = g.rows
        e = g.info[t] if g.info is not None else None
        row_fit = fit
        if e is not None and e["method"] == "reduced":
            row_fit, hw[r] = e["fit"], float(e["halfwidth"])
            p_c[r], p_u[r] = row_fit.predict(clamped.iloc[r]), row_fit.predict(filled.iloc[r])
            if score:
                notes.spec[r] = e["spec"]
                for i in r[hw[r] > base[r]]:
                    notes.why[i].append(f"reduced spec's own interval (+-{hw[i]:.1f}, served +-{base[i]:.1f})")
        elif (g.absent & need).any():  # imputed inputs this fit uses: widen by their effect
            extra[r] = imputation_spread(bundle, scale, method, t, tuple(np.asarray(BASE_FEATURES)[g.absent]))
            if score:
                for i in r:
                    notes.why[i].append(f"imputed inputs (+{extra[i]:.1f})")
        if e is not None and score:
            notes.skill[r] = e["skill"]
        notes.used[r[0]].update(base_columns(row_fit.inputs))  # the set the pattern's rows share
        o = r[other[r]]
        if len(o):  # "other" settings: widen by the measured shift, through this fit
            tasks = tuple(f for f, m in zip(BASE_FEATURES, g.absent) if not m and f in registry.OLL_V2_TASKS)
            s_extra = settings_spread(bundle, scale, row_fit, tasks)
            extra[o] += s_extra
            if score and s_extra > 0:
                for i in o:
                    notes.why[i].append(f"other / unknown settings (+{s_extra:.1f})")
    lower = np.minimum(p_c, p_u) - hw - extra
    upper = np.maximum(p_c, p_u) + hw + extra
    if score:
        for i in np.flatnonzero(p_c != p_u):
            notes.why[i].append("clamped inputs (covers the unclamped prediction)")
        notes.widened = (extra > 0) | (p_c != p_u) | (hw > h)
    return p_c, lower, upper


def _describe(res: pd.DataFrame, absent: pd.DataFrame, outside: pd.DataFrame, notes: _Notes, nearest: list,
              near_enough: list, groups: list[_Pattern], scale: str) -> pd.DataFrame:
    """The rows' notes as the output columns of ``predict_candidates`` (all but ranks and sizes)."""
    features = list(BASE_FEATURES)
    res["imputed"] = [[f for f, a in zip(features, row) if a and f in u]
                      for row, u in zip(absent.to_numpy(), notes.used)]
    res["extrapolated"] = [[f for f, o in zip(features, row) if o and f in u]
                           for row, u in zip(outside.to_numpy(), notes.used)]
    res["widened"] = notes.widened
    res["widened_why"] = ["; ".join(w) for w in notes.why]
    res["nearest_known"] = nearest
    res["in_domain"] = [ok and not ex for ok, ex in zip(near_enough, res["extrapolated"])]
    res["fallback"] = False
    res["skill"] = notes.skill
    res["spec"] = notes.spec
    res["scale"] = scale
    method, mae = np.empty(len(res), dtype=object), np.full(len(res), np.nan)
    for g in groups:
        method[g.rows] = (g.info["score"]["label"] if g.info is not None else
                          "imputation (not evaluated: the bundle holds no targets)" if g.lacking else "")
        mae[g.rows] = g.info["score"]["mae"] if g.info is not None else np.nan
    res["partial_method"], res["partial_mae"] = method, mae
    return res


def _predict_scale(bundle, X: pd.DataFrame, scale: str, method: str, reference, rank: int,
                   n_nearest: int, other: np.ndarray | None = None) -> pd.DataFrame:
    """The candidates ``X`` (index hf_id, columns BASE_FEATURES, NaN = missing) predicted on ``scale``."""
    features = list(BASE_FEATURES)
    ref = (bundle.X_train(scale) if reference is None else reference)[features]
    absent = X.isna()
    if absent.all(axis=1).any():
        raise ValueError(f"candidate {X.index[absent.all(axis=1)][0]!r} has none of the features "
                         f"{features}")
    other = np.zeros(len(X), dtype=bool) if other is None else np.asarray(other, dtype=bool)
    filled = filled_inputs(X, ref, rank)
    known = bundle.X_train(scale)[features]
    clamped, outside = _clamp(filled, known)
    nearest, near_enough = _nearest(filled, known, n_nearest)
    groups = _patterns(bundle, scale, method, absent)  # the rows of each pattern, its evidence
    notes = _Notes.start(bundle, scale, method, len(X), groups)
    res = pd.DataFrame({"hf_id": X.index}, index=X.index)
    positive = _positive_counts(filled, absent, known)  # the unclamped inputs the fits can read
    for t in TARGETS:
        p_c, lower, upper = _predict_target(bundle, scale, method, t, positive, clamped, groups, other, notes)
        name = "prediction" if t == "score" else f"pred_{t}"
        suffix = "" if t == "score" else f"_{t}"
        res[name], res[f"lower{suffix}"], res[f"upper{suffix}"] = p_c, lower, upper
    res["_same_inputs"] = _inputs_key(res["prediction"], absent, scale)
    return _describe(res, absent, outside, notes, nearest, near_enough, groups, scale)


def _inputs_key(prediction: pd.Series, absent: pd.DataFrame, scale: str) -> list[str]:
    """Per row: its scale, which inputs it lacks (so which fits serve it) and its overall prediction.
    Rows with the same pattern are served by the same fits, so equal keys mean the same inputs to the
    score's fit once imputed and clamped: indistinguishable (``_rank``)."""
    return [f"{scale}|{''.join('01'[bool(a)] for a in miss)}|{p:.9f}"
            for p, miss in zip(prediction, absent.to_numpy())]


def predict_candidates(bundle, candidates: pd.DataFrame, method: str = "regression",
                       reference: pd.DataFrame | None = None, missing: str = "impute",
                       rank: int = 2, n_nearest: int = 3, measured: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per candidate with OUTPUT_COLUMNS, predicted by the served bundle
    (``advisor.predict.bundle.ServedBundle``) for ``method``.

    Each candidate is predicted on the scale named in its ``scale`` column (rows without benchmark
    values: the bundle's first scale). ``reference``: a model x feature matrix to impute from instead
    of the known models of the scale (applies to every scale). A pretrain_tokens_t of 0 or less (the
    leaderboard's "unknown") is missing, never log(0); a row without a positive params_b, or marked
    ``not_ranked``, is refused (ValueError): the size is never imputed. ``missing`` must be "impute" (the
    per-candidate refit of earlier versions is gone: the served specs are small enough that imputation
    plus the widened interval is the honest answer).

    Measured first: ``measured`` (index hf_id; ``measured_score``, ``measured_source``, as
    ``advisor.db.queries.measured_scores`` reads them) gives the measured RewardBench score of ``method``
    for known bases; such a row is ranked by it (``ranked_by`` 'measured', ``ranking_score`` = the
    measurement), whatever the predictor's skill, and keeps its prediction beside it.

    Ranking: ``skill`` is the skill flag of ``method``'s overall-score predictor on the row's scale.
    Rows with skill (``ranked_by`` 'prediction') and measured rows are ranked together by
    ``ranking_score`` (``rank`` 1 = best; equal scores share the best rank). ``rank_upper`` = 1 + the
    number of ranked rows whose lower bound is above this row's upper bound, a measured row counting as
    the point [score, score]. Rows whose inputs, once imputed and clamped to the known range, are the
    same (``_inputs_key``) get identical predictions: they share a rank and ``rank_note`` says so.
    Rows whose predictor has no skill and no measurement are NOT ranked: ``rank``, ``rank_upper`` and
    ``ranking_score`` are NA, and they follow the ranked rows in hf_id order (not by prediction).
    ``size_rank`` ranks all candidates by params_b, largest = 1 (ties share the best rank; unknown or
    <= 0 size: NA). ``lower_cut`` / ``upper_cut``: the overall score's interval reached below 0 / above
    100 and was cut there (an open end). ``lower_<category>`` / ``upper_<category>``: each category's
    interval, from its own served half-width and the same widening rules as the overall score's.
    """
    if missing != "impute":
        raise ValueError(f"missing={missing!r}: only 'impute' is supported (the served predictors "
                         "impute missing features and widen the interval)")
    if "hf_id" not in candidates.columns:
        raise ValueError("candidates need an 'hf_id' column")
    if candidates.hf_id.duplicated().any():
        raise ValueError(f"duplicated candidate hf_id(s): "
                         f"{candidates.hf_id[candidates.hf_id.duplicated()].tolist()}")
    if method not in bundle.methods:
        raise ValueError(f"method {method!r}: the bundle serves {bundle.methods}")
    features = list(BASE_FEATURES)
    df, scale = _inputs(candidates, bundle.scales)
    parts = []
    for s in [s for s in bundle.scales if (scale == s).any()]:
        rows = df[scale == s]
        X = rows[features].astype(float)
        X.index = rows.hf_id
        other = (rows["settings"].astype(str).eq("other").to_numpy() if "settings" in rows.columns
                 else None)
        parts.append(_predict_scale(bundle, X, s, method, reference, rank, n_nearest, other))
    res = pd.concat(parts, ignore_index=True)
    res["lower_cut"], res["upper_cut"] = res["lower"] < 0.0, res["upper"] > 100.0  # before the clip
    for c in ("prediction", "lower", "upper", *CATEGORY_COLUMNS):
        res[c] = res[c].clip(0.0, 100.0)  # RewardBench accuracies are percentages
    params = pd.to_numeric(df.set_index("hf_id")["params_b"], errors="coerce").reindex(res.hf_id)
    params = params.where(params > 0)
    res["size_rank"] = pd.array(params.rank(ascending=False, method="min").to_numpy(), dtype="Int64")
    return _rank(res, measured)[OUTPUT_COLUMNS]


def _rank(res: pd.DataFrame, measured: pd.DataFrame | None) -> pd.DataFrame:
    """Measured first, then the ranks of ``predict_candidates``' docstring, ranked rows first."""
    m = (measured if measured is not None else pd.DataFrame(columns=["measured_score", "measured_source"]))
    m = m.reindex(res["hf_id"])
    res["measured_score"] = pd.to_numeric(m["measured_score"], errors="coerce").to_numpy(float)
    res["measured_source"] = m["measured_source"].fillna("").astype(str).to_numpy()
    has = res["measured_score"].notna().to_numpy()
    res["ranked_by"] = np.select([has, (res["skill"] == "skill").to_numpy()], ["measured", "prediction"], "")
    predicted = (res["ranked_by"] == "prediction").to_numpy()
    group = res["_same_inputs"].where(predicted)
    point = res["prediction"].groupby(group).transform("max").where(predicted, res["prediction"])
    res["ranking_score"] = np.where(has, res["measured_score"], np.where(predicted, point, np.nan))
    lo = np.where(has, res["measured_score"], res["lower"])  # a measurement is a point
    hi = np.where(has, res["measured_score"], res["upper"])
    ok = res["ranked_by"].ne("").to_numpy()
    rank = np.full(len(res), np.nan)
    rank[ok] = pd.Series(res["ranking_score"].to_numpy()[ok]).rank(ascending=False, method="min")
    upper_rank = np.full(len(res), np.nan)
    lo_sorted = np.sort(lo[ok])  # how many lower bounds lie above each upper bound: O(n log n), not n x n
    upper_rank[ok] = 1 + len(lo_sorted) - np.searchsorted(lo_sorted, hi[ok], side="right")
    res["rank"], res["rank_upper"] = pd.array(rank, dtype="Int64"), pd.array(upper_rank, dtype="Int64")
    res["rank_note"] = _same_notes(res, group)
    res = res.assign(_unranked=~ok).sort_values(["_unranked", "rank", "hf_id"], na_position="last")
    return res.drop(columns=["_unranked"]).reset_index(drop=True)


def _same_notes(res: pd.DataFrame, group: pd.Series) -> list[str]:
    """Per row: which candidates it is indistinguishable from (the same key of ``_inputs_key``) and why."""
    members = res["hf_id"].groupby(group).agg(list)
    notes = []
    for hf_id, g, clamped in zip(res["hf_id"], group, res["extrapolated"]):
        others = [h for h in members.get(g, []) if h != hf_id] if isinstance(g, str) else []
        if not others:
            notes.append("")
            continue
        why = ("the same inputs once clamped to the known models' range ("
               + ", ".join(registry.label(f) for f in clamped) + ")") if clamped else "the same inputs"
        notes.append(f"indistinguishable from {', '.join(others)}: {why}, so the same prediction and rank")
    return notes


def _nearest(X: pd.DataFrame, known: pd.DataFrame, n: int) -> tuple[list[list[str]], list[bool]]:
    """For each row of X, the n known models closest in standardized feature space (itself excluded;
    ties broken by id), and whether it lies in the predictor's applicability domain: it is a known model
    itself (distance 0 to itself), or its distance to the closest known model is at most the largest
    such distance among the known models themselves."""
    mean, std = known.mean().to_numpy(), known.std(ddof=0).replace(0, 1.0).to_numpy()
    K = (known.to_numpy(float) - mean) / std
    C = (X[known.columns].to_numpy(float) - mean) / std
    d = np.sqrt(((C[:, None, :] - K[None, :, :]) ** 2).sum(axis=2))
    ids = np.asarray(known.index)
    dk = np.sqrt(((K[:, None, :] - K[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(dk, np.inf)
    radius = dk.min(axis=1).max()
    itself = np.asarray(X.index)[:, None] == ids[None, :]
    d = np.where(itself, np.inf, d)  # a known model is not its own neighbour
    order = np.lexsort((np.broadcast_to(np.argsort(np.argsort(ids)), d.shape), d), axis=1)  # by (distance, id)
    out = [list(ids[o]) for o in order[:, :n]]
    in_domain = itself.any(axis=1) | (d[np.arange(len(d)), order[:, 0]] <= radius + 1e-9)
    return out, [bool(v) for v in in_domain]


def filled_inputs(X: pd.DataFrame, reference: pd.DataFrame, rank: int = 2) -> pd.DataFrame:
    """``X`` (index hf_id, columns BASE_FEATURES, NaN = missing) with its missing cells imputed as the
    prediction imputes them: low-rank imputation from ``reference`` (the known models of the scale, or the
    caller's matrix), before clamping."""
    return impute_rows(X, reference, rank=rank) if X.isna().any().any() else X


def score_fits(bundle, X: pd.DataFrame, scale: str, method: str, reference: pd.DataFrame | None = None,
               rank: int = 2) -> tuple[list, pd.DataFrame, pd.DataFrame]:
    """Per row of ``X`` (index hf_id, columns BASE_FEATURES, NaN = missing) on ``scale``: the fit that
    serves its overall score as ``predict_candidates`` chooses it (the served fit, or its input pattern's
    reduced spec), and its inputs as imputed (``filled``) and then clamped to the known range (what the fit
    reads): (fits, filled, clamped). ``advisor.predict.explain`` reads a prediction's parts from them."""
    features = list(BASE_FEATURES)
    ref = (bundle.X_train(scale) if reference is None else reference)[features]
    filled = filled_inputs(X[features], ref, rank)
    clamped, _ = _clamp(filled, bundle.X_train(scale)[features])
    served = bundle.fit(scale, method, "score")
    fits = [served] * len(X)
    for g in _patterns(bundle, scale, method, X[features].isna()):
        e = g.info["score"] if g.info is not None else None
        for i in g.rows:
            fits[i] = e["fit"] if e is not None and e["method"] == "reduced" else served
    return fits, filled, clamped
