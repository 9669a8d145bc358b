"""Rank candidate base models by predicted reward-model performance (what the app shows).

``predict_candidates`` takes candidate models with whatever benchmark results they have, checks the
scale of those results against the predictor's, fills missing features (low-rank imputation from
the known models, ``advisor.impute``) or fits a fallback predictor on the available features, and
returns point predictions, conformal intervals, per-category predictions, ranks and nearest known
models. Every row says how it was obtained (``imputed``, ``fallback``) and how far to trust it:
``extrapolated`` names the features outside the range of the known models (clamped to that range,
since a polynomial model explodes outside it), ``in_domain`` is False when a feature was clamped or the candidate is farther
from every known model than any known model is from its nearest neighbour. Predictions and bounds are
clipped to RewardBench's 0-100.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from advisor import registry, untrusted
from advisor.impute import impute_rows
from advisor.predictor import TARGETS, PredictorBundle, RMPredictor

SCALE_RANGES = registry.SCALE_RANGES
OUTPUT_COLUMNS = ["hf_id", "prediction", "lower", "upper", *[f"pred_{t}" for t in TARGETS[1:]],
                  "rank", "rank_upper", "nearest_known", "imputed", "fallback", "extrapolated",
                  "in_domain"]


def _feature_columns(candidates: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """Candidate columns renamed to registry names (labels like 'IFEval' are resolved)."""
    renamed = {}
    for c in candidates.columns:
        if c in ("hf_id", "scale"):
            continue
        name = c if c in features else registry.resolve(c)
        if name in features:
            renamed[c] = name
    out = candidates.rename(columns=renamed)
    for f in features:
        if f not in out.columns:
            out[f] = np.nan
    out = out.loc[:, ~out.columns.duplicated()]
    return out


def _check_scales(df: pd.DataFrame, features: list[str], expected: str) -> None:
    bench = [f for f in features if registry.get(f).native_scale != "count"]
    if "scale" not in df.columns and df[bench].notna().any().any():
        raise ValueError(f"candidates need a 'scale' column saying the scale of their benchmark "
                         f"results; the predictor expects {expected!r} for {bench}")
    lo, hi = SCALE_RANGES.get(expected, (-np.inf, np.inf))
    scale = df["scale"] if "scale" in df.columns else pd.Series(None, index=df.index)
    for f in bench:
        v = pd.to_numeric(df[f], errors="coerce")
        wrong = v.notna() & (scale != expected)
        if wrong.any():
            i = wrong.idxmax()
            raise ValueError(f"candidate {df.hf_id[i]!r}, feature {f!r}: scale "
                             f"{scale[i]!r} but the predictor expects {expected!r}. "
                             f"Fix: supply {f} on the {expected!r} scale (no silent conversion)")
        out = v.notna() & ((v < lo) | (v > hi))
        if out.any():
            i = out.idxmax()
            raise ValueError(f"candidate {df.hf_id[i]!r}, feature {f!r}: value {v[i]} is outside "
                             f"the {expected!r} range [{lo:g}, {hi:g}]. Fix: check the scale")
    for f in [f for f in features if f not in bench]:
        bad = df[f].notna() & (pd.to_numeric(df[f], errors="coerce") < 0)
        if bad.any():
            raise ValueError(f"candidate {df.hf_id[bad].iloc[0]!r}, feature {f!r}: negative count")


def _fallback(bundle: PredictorBundle, method: str, target: str, available: tuple[str, ...],
              cache: dict) -> RMPredictor:
    key = (method, target, available)
    if key not in cache:
        base = bundle.get(method, target)
        y = bundle.y_train_[(method, target)]
        est = RMPredictor(**{**base.get_params(), "features": list(available)})
        cache[key] = est.fit(bundle.X_train_.loc[y.index, list(available)], y)
    return cache[key]


def usable_candidates(candidates: pd.DataFrame, scale: str,
                      budget: tuple[float, float]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(rankable, on another scale, outside the size budget in billions of parameters) of combined
    candidates (columns ``scale`` and, optionally, ``params_b``). A candidate of unknown size is kept."""
    wrong = candidates[candidates["scale"] != scale]
    usable = candidates[candidates["scale"] == scale]
    params = usable["params_b"] if "params_b" in usable else pd.Series(float("nan"), index=usable.index)
    outside = params.notna() & ~params.between(*budget)
    return usable[~outside], wrong, usable[outside]


def predict_candidates(bundle: PredictorBundle, candidates: pd.DataFrame, method: str = "regression",
                       reference: pd.DataFrame | None = None, missing: str = "impute",
                       rank: int = 2, n_nearest: int = 3) -> pd.DataFrame:
    """One row per candidate: see OUTPUT_COLUMNS; sorted by rank.

    missing = "impute": missing features are filled from ``reference`` (a model x feature matrix of
    known models; default the bundle's training matrix). missing = "fallback": a predictor is fit on
    the features the candidate has (same search, same training models).
    """
    if missing not in ("impute", "fallback"):
        raise ValueError(f"missing={missing!r}: use 'impute' or 'fallback'")
    if "hf_id" not in candidates.columns:
        raise ValueError("candidates need an 'hf_id' column")
    if candidates.hf_id.duplicated().any():
        raise ValueError(f"duplicated candidate hf_id(s): "
                         f"{candidates.hf_id[candidates.hf_id.duplicated()].tolist()}")
    features = list(bundle.features)
    df = _feature_columns(candidates.reset_index(drop=True), features)
    for f in features:
        df[f] = pd.to_numeric(df[f], errors="coerce")
    _check_scales(df, features, bundle.scale)
    ref = (bundle.X_train_ if reference is None else reference)[features]
    X = df[features].astype(float)
    X.index = df.hf_id
    absent = X.isna().to_numpy()
    if absent.all(axis=1).any():
        raise ValueError(f"candidate {X.index[absent.all(axis=1)][0]!r} has none of the features {features}")
    filled = impute_rows(X, ref, rank=rank) if absent.any() else X  # imputed values also place fallback rows
    preds = {t: pd.DataFrame(index=X.index, columns=["prediction", "lower", "upper"], dtype=float)
             for t in TARGETS}
    # A polynomial model explodes outside the data it was fit on (a 123B model is 12x the largest of
    # the 40): inputs are clamped to the training range and the row names the clamped features.
    lo, hi = bundle.X_train_[features].min(), bundle.X_train_[features].max()
    outside = (filled < lo) | (filled > hi)
    extrapolated = [[f for f, o in zip(features, row) if o] for row in outside.to_numpy()]
    nearest, near_enough = _nearest(filled, bundle.X_train_[features], n_nearest)
    filled = filled.clip(lower=lo, upper=hi, axis=1)
    use_fallback = absent.any(axis=1) & (missing == "fallback")
    if (~use_fallback).any():
        rows = filled[~use_fallback]
        for t in TARGETS:
            preds[t].loc[rows.index] = bundle.get(method, t).predict_interval(rows).to_numpy()
    cache: dict = {}
    for pattern in {tuple(r) for r in absent[use_fallback]}:
        available = tuple(f for f, a in zip(features, pattern) if not a)
        rows = filled[use_fallback & (absent == np.array(pattern)).all(axis=1)][list(available)]
        for t in TARGETS:
            preds[t].loc[rows.index] = _fallback(bundle, method, t, available, cache).predict_interval(rows).to_numpy()
    res = pd.DataFrame({"hf_id": X.index, "prediction": preds["score"].prediction.to_numpy(),
                        "lower": preds["score"].lower.to_numpy(), "upper": preds["score"].upper.to_numpy()})
    for t in TARGETS[1:]:
        res[f"pred_{t}"] = preds[t].prediction.to_numpy()
    res["imputed"] = [[] if fb else [f for f, a in zip(features, row) if a] for row, fb in zip(absent, use_fallback)]
    res["fallback"] = use_fallback
    res["extrapolated"] = extrapolated
    res["nearest_known"] = nearest
    res["in_domain"] = [ok and not ex for ok, ex in zip(near_enough, extrapolated)]
    for c in ("prediction", "lower", "upper", *[f"pred_{t}" for t in TARGETS[1:]]):
        res[c] = res[c].clip(0.0, 100.0)  # RewardBench accuracies are percentages
    res = res.sort_values(["prediction", "hf_id"], ascending=[False, True]).reset_index(drop=True)
    res["rank"] = np.arange(1, len(res) + 1)
    lower, upper = res.lower.to_numpy(), res.upper.to_numpy()
    res["rank_upper"] = 1 + (lower[None, :] > upper[:, None]).sum(axis=1)
    return res[OUTPUT_COLUMNS]


def _nearest(X: pd.DataFrame, known: pd.DataFrame, n: int) -> tuple[list[list[str]], list[bool]]:
    """For each row of X, the n known models closest in standardized feature space (itself excluded;
    ties broken by id), and whether it lies in the predictor's applicability domain: its distance to
    the closest known model is at most the largest such distance among the known models themselves."""
    mean, std = known.mean().to_numpy(), known.std(ddof=0).replace(0, 1.0).to_numpy()
    K = (known.to_numpy(float) - mean) / std
    C = (X[known.columns].to_numpy(float) - mean) / std
    d = np.sqrt(((C[:, None, :] - K[None, :, :]) ** 2).sum(axis=2))
    ids = np.asarray(known.index)
    dk = np.sqrt(((K[:, None, :] - K[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(dk, np.inf)
    radius = dk.min(axis=1).max()
    in_domain = []
    out = []
    for i, hf_id in enumerate(X.index):
        order = sorted((j for j in range(len(ids)) if ids[j] != hf_id), key=lambda j: (d[i, j], ids[j]))
        out.append([ids[j] for j in order[:n]])
        in_domain.append(bool(d[i, order[0]] <= radius + 1e-9))
    return out, in_domain


def export_shortlist(df: pd.DataFrame, fmt: str, predictor_version: str) -> str:
    """The shortlist as csv, json or markdown text, stamped with the predictor version. User text is
    data: CSV cells are neutralised against formula injection and Markdown cells escaped
    (``advisor.untrusted``)."""
    if fmt not in ("csv", "json", "markdown"):
        raise ValueError(f"fmt {fmt!r}: use 'csv', 'json' or 'markdown'")
    flat = df.copy()
    for c in ("nearest_known", "imputed", "extrapolated"):
        if c in flat.columns:
            flat[c] = flat[c].map(lambda v: "; ".join(v) if isinstance(v, (list, tuple)) else v)
    if fmt == "json":
        records = json.loads(df.to_json(orient="records", double_precision=6))
        return json.dumps({"predictor_version": predictor_version, "rows": records}, indent=2)
    flat.insert(0, "predictor_version", predictor_version)
    if fmt == "csv":
        return untrusted.to_csv(flat, index=False, float_format="%.4g")
    cols = [c for c in flat.columns if c != "predictor_version"]
    lines = [f"Predictor version: `{predictor_version}`", "",
             "| " + " | ".join(untrusted.md_text(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for _, r in flat.iterrows():
        cells = [f"{v:.1f}" if isinstance(v, float) else untrusted.md_text(v) for v in r[cols]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
