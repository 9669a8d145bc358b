"""From parsed candidate tables to the ranked shortlist the app shows and exports.

One sequence, shared by the Predict page and ``python -m advisor rank`` so both give the same rows,
columns and messages: the candidate table (``gather``, from ``advisor.predict.candidates``: parsed inputs
stacked and completed once), keep the rows the predictor can take (not ``not_ranked``, on a served
scale) and that fit the size budget, predict (``advisor.predict.shortlist.predict_candidates``), add the measured
score of known models, and join the inputs back. Messages name the file, row or model and the fix; they
are plain text (callers escape them where Markdown renders).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from advisor.formats import upload
from advisor.predict.candidates import gather  # noqa: F401 - ranking.gather: the candidate table's entry
from advisor.predict.shortlist import predict_candidates, usable_candidates


@dataclass
class Shortlist:
    """The ranked candidates (``table``: prediction columns, then the inputs) and what happened."""

    table: pd.DataFrame
    version: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.table.empty


def build(candidates: pd.DataFrame, bundle, method: str = "regression",
          budget: tuple[float, float] = (0.0, math.inf), measured: pd.Series | None = None) -> Shortlist:
    """Rank ``candidates`` (the candidate table of ``gather``) with ``bundle``; ``measured``: the known
    models' measured RewardBench score of ``method`` (index hf_id), shown beside the prediction."""
    out = Shortlist(pd.DataFrame(), bundle.version)
    if "not_ranked" in candidates:  # listed, never predicted
        held = candidates["not_ranked"].astype(str) != ""
        for reason, g in candidates[held].groupby("not_ranked", sort=False):
            out.notes.append(f"{len(g)} candidate(s) not ranked ({reason}): " + ", ".join(g["hf_id"].head(10)))
        candidates = candidates[~held]
    usable, wrong, outside = usable_candidates(candidates, bundle.scales, budget)
    served = " or ".join(f"{s!r} ({upload.SCALE_HELP.get(s, s)})" for s in bundle.scales)
    for (source, row_scale), g in wrong.groupby(["source", "scale"], sort=False):
        out.errors.append(
            f"{source}: values on the {row_scale!r} scale, but the predictor serves {served}; its "
            f"{len(g)} model(s) are left out. Fix: give values on a served scale (e.g. the Open LLM "
            f"Leaderboard v2 numbers) or pick the models from the leaderboard table.")
    if len(outside):
        out.notes.append(f"{len(outside)} candidate(s) outside the size budget {budget[0]:g}-"
                         f"{budget[1]:g}B are not ranked: " + ", ".join(outside["hf_id"].head(10)))
    if usable.empty:
        return out
    inputs = usable.drop(columns=["source"]).reset_index(drop=True)  # row labels travel along
    try:
        pred = predict_candidates(bundle, usable.drop(columns=["source"]).reset_index(drop=True),
                                  method=method)
    except ValueError as exc:
        out.errors.append(f"Prediction failed: {exc}")
        return out
    if measured is not None:
        pred = pred.merge(measured.rename("measured_score"), left_on="hf_id", right_index=True,
                          how="left")
        known = measured.dropna()
        pred["nearest_measured"] = [  # what is known when the predictor has no skill
            "; ".join(f"{h}: {known[h]:.1f}" for h in near if h in known.index)
            for near in pred["nearest_known"]]
    inputs = inputs.drop(columns=[c for c in inputs.columns if c in pred.columns and c != "hf_id"])
    out.table = pred.sort_values(["rank", "hf_id"], na_position="last").merge(inputs, on="hf_id",
                                                                               how="left")
    return out
