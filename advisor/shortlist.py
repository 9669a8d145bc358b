"""Rank candidate base models by predicted reward-model performance (what the app shows).

``predict_candidates`` takes candidate models with whatever benchmark results they have, checks the
scale of those results against the predictor's, fills missing features (low-rank imputation from
the known models, ``advisor.impute``) or fits a fallback predictor on the available features, and
returns point predictions, conformal intervals, per-category predictions, ranks and nearest known
models. Every row says how it was obtained (``imputed``, ``fallback``).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

from advisor import registry
from advisor.impute import impute_rows
from advisor.predictor import TARGETS, PredictorBundle, RMPredictor

SCALE_RANGES = {"raw": (0.0, 1.0), "percent": (0.0, 100.0), "normalized": (0.0, 100.0)}
OUTPUT_COLUMNS = ["hf_id", "prediction", "lower", "upper", *[f"pred_{t}" for t in TARGETS[1:]],
                  "rank", "rank_upper", "nearest_known", "imputed", "fallback"]


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
    for _, row in df.iterrows():
        for f in bench:
            v = row[f]
            if pd.isna(v):
                continue
            if row.get("scale") != expected:
                raise ValueError(f"candidate {row.hf_id!r}, feature {f!r}: scale "
                                 f"{row.get('scale')!r} but the predictor expects {expected!r}. "
                                 f"Fix: supply {f} on the {expected!r} scale (no silent conversion)")
            if not lo <= float(v) <= hi:
                raise ValueError(f"candidate {row.hf_id!r}, feature {f!r}: value {v} is outside "
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
    ref = bundle.X_train_ if reference is None else reference
    cache: dict = {}
    rows = []
    for _, row in df.iterrows():
        x = row[features].astype(float).to_frame().T
        x.index = [row.hf_id]
        absent = [f for f in features if pd.isna(x.iloc[0][f])]
        if len(absent) == len(features):
            raise ValueError(f"candidate {row.hf_id!r} has none of the features {features}")
        out = {"hf_id": row.hf_id, "imputed": [], "fallback": False}
        preds = {}
        if absent and missing == "fallback":
            available = tuple(f for f in features if f not in absent)
            for t in TARGETS:
                est = _fallback(bundle, method, t, available, cache)
                preds[t] = est.predict_interval(x[list(available)]).iloc[0]
            out["fallback"] = True
            filled = impute_rows(x, ref[features], rank=rank)  # only to find neighbours
        else:
            filled = impute_rows(x, ref[features], rank=rank) if absent else x
            out["imputed"] = absent
            for t in TARGETS:
                preds[t] = bundle.get(method, t).predict_interval(filled).iloc[0]
        out.update(prediction=preds["score"].prediction, lower=preds["score"].lower,
                   upper=preds["score"].upper)
        for t in TARGETS[1:]:
            out[f"pred_{t}"] = preds[t].prediction
        out["nearest_known"] = _nearest(filled.iloc[0], bundle.X_train_, row.hf_id, n_nearest)
        rows.append(out)
    res = pd.DataFrame(rows)
    res = res.sort_values(["prediction", "hf_id"], ascending=[False, True]).reset_index(drop=True)
    res["rank"] = np.arange(1, len(res) + 1)
    lower, upper = res.lower.to_numpy(), res.upper.to_numpy()
    res["rank_upper"] = [1 + int(np.sum(lower > u)) for u in upper]
    return res[OUTPUT_COLUMNS]


def _nearest(x: pd.Series, known: pd.DataFrame, hf_id: str, n: int) -> list[str]:
    """The n known models closest in standardized feature space (the candidate itself excluded)."""
    mean, std = known.mean(), known.std(ddof=0).replace(0, 1.0)
    d = (((known - mean) / std - (x[known.columns] - mean) / std) ** 2).sum(axis=1) ** 0.5
    d = d.drop(index=hf_id, errors="ignore")
    return sorted(d.index, key=lambda i: (d[i], i))[:n]


def export_shortlist(df: pd.DataFrame, fmt: str, predictor_version: str) -> str:
    """The shortlist as csv, json or markdown text, stamped with the predictor version."""
    if fmt not in ("csv", "json", "markdown"):
        raise ValueError(f"fmt {fmt!r}: use 'csv', 'json' or 'markdown'")
    flat = df.copy()
    for c in ("nearest_known", "imputed"):
        if c in flat.columns:
            flat[c] = flat[c].map(lambda v: "; ".join(v) if isinstance(v, (list, tuple)) else v)
    if fmt == "json":
        records = json.loads(df.to_json(orient="records", double_precision=6))
        return json.dumps({"predictor_version": predictor_version, "rows": records}, indent=2)
    flat.insert(0, "predictor_version", predictor_version)
    if fmt == "csv":
        buf = io.StringIO()
        flat.to_csv(buf, index=False, float_format="%.4g")
        return buf.getvalue()
    cols = [c for c in flat.columns if c != "predictor_version"]
    lines = [f"Predictor version: `{predictor_version}`", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in flat.iterrows():
        cells = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in r[cols]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
