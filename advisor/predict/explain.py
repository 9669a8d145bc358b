"""Why a candidate ranks where it does: its predicted overall score taken apart, input by input.

The served specs are linear (degree 1: ridge or Elastic Net on standardized inputs), so a prediction is
exactly the fit's intercept plus one term per input:

    prediction = intercept + sum_j coef_j * ((x_j - mean1_j) / std1_j - mean2_j) / std2_j

The intercept is the prediction for a model at the known models' mean of every input (the fit centres its
terms on them), i.e. the known models' mean RewardBench score; each term is that input's contribution:
how far this candidate's input moves the prediction away from that mean, in RewardBench points
("OLL v2 average +2.1, size +1.3 (clamped from 109B to 72B)"). ``x`` is what the fit reads: the row's
inputs imputed where missing and clamped to the known range (``advisor.predict.shortlist.score_fits``,
the same choice of fit and inputs the prediction makes, a partial row's reduced spec included), so the
parts add up to the prediction before its 0-100 clip. A spec of degree > 1 (the paper's Elastic Net, not
served by default) has interaction terms and is not taken apart: its rows say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from advisor.core import registry
from advisor.predict.shortlist import score_fits
from advisor.predict.specs import BASE_FEATURES, MEAN_OF, base_columns, input_frame

INPUT_LABELS = {"log_params_b": "size", "log_pretrain_tokens_t": "pre-training tokens",
                "oll_v2_mean": "OLL v2 average"}


def _label(name: str) -> str:
    if name.startswith(MEAN_OF):
        return "mean of " + ", ".join(registry.label(t) for t in name[len(MEAN_OF):].split("+"))
    return INPUT_LABELS.get(name, registry.label(name))


def _value(name: str, x: float) -> str:
    if name == "log_params_b":
        return f"{np.exp(x):.3g}B"
    if name == "log_pretrain_tokens_t":
        return f"{np.exp(x):.3g}T tokens"
    return f"{x:.3g}"


def _note(name: str, filled: pd.Series, clamped: pd.Series, imputed: set) -> str:
    """What happened to the base features an input reads: imputed (as the value the fit reads), or given
    and clamped (from what to what)."""
    parts = []
    for f in base_columns([name]):
        unit = "B" if f == "params_b" else "T" if f == "pretrain_tokens_t" else ""
        what = "" if len(base_columns([name])) == 1 else f"{registry.label(f)} "
        if f in imputed:
            parts.append(f"{registry.label(f)} imputed: {clamped[f]:.3g}{unit}")
        elif not np.isclose(filled[f], clamped[f]):
            parts.append(f"{what}clamped from {filled[f]:.3g}{unit} to {clamped[f]:.3g}{unit}")
    return "; ".join(parts)


def _signed(x: float) -> str:
    return f"{x + 0.0:+.1f}" if abs(x) >= 0.05 else "+0.0"  # never '-0.0'


def contributions(fit, filled: pd.Series, clamped: pd.Series, imputed: set) -> dict:
    """One row's parts under ``fit`` (a LinearFit): {'spec', 'baseline', 'parts': [{'input', 'label',
    'value', 'contribution', 'note'}], 'prediction'}; None for a fit of degree > 1."""
    if fit.degree != 1:
        return None
    A = input_frame(clamped.to_frame().T, fit.inputs).to_numpy(float)[0]
    d = fit.design
    terms = ((A - d.mean1) / d.std1 - d.mean2) / d.std2
    parts = [{"input": name, "label": _label(name), "value": _value(name, a), "contribution": float(c * t),
              "note": _note(name, filled, clamped, imputed)}
             for name, a, c, t in zip(fit.inputs, A, fit.coef, terms)]
    total = float(fit.intercept + sum(p["contribution"] for p in parts))
    return {"spec": fit.name, "baseline": float(fit.intercept), "parts": parts, "prediction": total}


def _line(e: dict) -> str:
    parts = sorted(e["parts"], key=lambda p: -abs(p["contribution"]))
    text = ", ".join(f"{p['label']} {_signed(p['contribution'])}" + (f" ({p['note']})" if p["note"] else "")
                     for p in parts)
    return (f"{text}; from the known models' mean {e['baseline']:.1f} to {e['prediction']:.1f}"
            + (" (shown clipped to 0-100)" if not 0 <= e["prediction"] <= 100 else ""))


def explain(table: pd.DataFrame, bundle, method: str) -> dict[str, dict]:
    """{hf_id: parts} for every predicted row of a shortlist ``table`` (``ranking.build``'s; rows not
    predicted are left out): ``contributions``' dict plus ``line``, the parts in words, largest first, or
    ``line`` alone saying why a row cannot be taken apart."""
    rows = table[table["prediction"].notna() & (table["not_ranked"].fillna("") == "")] \
        if "not_ranked" in table.columns else table[table["prediction"].notna()]
    out: dict[str, dict] = {}
    for scale, g in rows.groupby("scale", sort=False):
        X = g.set_index("hf_id")[list(BASE_FEATURES)].apply(pd.to_numeric, errors="coerce").astype(float)
        X = X.where(~((X.columns == "params_b") & (X <= 0)))
        fits, filled, clamped = score_fits(bundle, X, scale, method)
        for i, h in enumerate(X.index):
            imputed = {f for f in BASE_FEATURES if pd.isna(X.at[h, f])}
            e = contributions(fits[i], filled.loc[h], clamped.loc[h], imputed)
            out[h] = ({**e, "line": _line(e)} if e is not None else
                      {"spec": fits[i].name, "line": f"{fits[i].name} is not linear (degree {fits[i].degree}): "
                                                     "its interaction terms cannot be split per input"})
    return out
