"""From parsed candidate tables to the ranked shortlist the app shows and exports.

One sequence, shared by the Predict page and ``python -m advisor rank`` so both give the same rows,
columns and messages: the candidate table (``gather``, from ``advisor.predict.candidates``: parsed inputs
stacked and completed once), keep those the predictor can take and that fit the size budget (the rows
outside it are listed as not ranked, with the budget as their reason, never dropped), predict and
rank them, measured first
(``advisor.predict.shortlist.predict_candidates``), give each its confidence tier
(``advisor.predict.verdict``), join the inputs back and list the rows that cannot be ranked (a
``not_ranked`` reason) after the ranked ones. Messages name the file, row or model and the fix; they
are plain text (callers escape them where Markdown renders).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from advisor.formats import upload
from advisor.predict import verdict
from advisor.predict.candidates import gather  # noqa: F401 - ranking.gather: the candidate table's entry
from advisor.predict.shortlist import OUTPUT_COLUMNS, predict_candidates, usable_candidates

# The size budget (billions of parameters) when none is given: every size. The Predict page's slider starts
# there (its right end means no upper limit) and `rank --budget` defaults to it, so the two rank the same rows.
DEFAULT_BUDGET = (0.0, math.inf)


def budget_text(budget: tuple[float, float]) -> str:
    """'7-70B', 'of at least 7B' (no upper limit)."""
    return f"{budget[0]:g}-{budget[1]:g}B" if math.isfinite(budget[1]) else f"of at least {budget[0]:g}B"


def parse_budget(text: str) -> tuple[float, float]:
    """'MIN-MAX' in billions of parameters ('7-70'; 'MIN-' or 'MIN-inf': no upper limit) as (min, max);
    ValueError naming the text and the fix otherwise."""
    lo, sep, hi = str(text).strip().partition("-")
    try:
        budget = (float(lo), math.inf if hi.strip().lower() in ("", "inf") else float(hi))
    except ValueError:
        budget = None
    if not sep or budget is None or not 0 <= budget[0] <= budget[1] or math.isnan(budget[1]):
        raise ValueError(f"size budget {text!r}: not MIN-MAX in billions of parameters with 0 <= MIN <= MAX. "
                         "Fix: e.g. 7-70, or 7- (or 7-inf) for no upper limit")
    return budget


@dataclass
class Shortlist:
    """The ranked candidates (``table``: prediction columns, then the inputs) and what happened;
    ``level``: the interval level of the bundle that ranked them (0.9: 90% intervals)."""

    table: pd.DataFrame
    version: str
    level: float = math.nan
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.table.empty

    @property
    def predicted(self) -> pd.DataFrame:
        """The rows that were predicted (those with a ``not_ranked`` reason are only listed)."""
        return self.table[self.table["not_ranked"] == ""] if not self.table.empty else self.table


def build(candidates: pd.DataFrame, bundle, method: str = "regression",
          budget: tuple[float, float] = DEFAULT_BUDGET, measured: pd.DataFrame | None = None) -> Shortlist:
    """Rank ``candidates`` (``gather``'s frame) with ``bundle``. ``measured``: the measured RewardBench
    score of ``method`` of known bases (``advisor.db.queries.measured_scores``: index hf_id,
    ``measured_score``, ``measured_source``); those rows are ranked by it (measured first). Rows with a
    ``not_ranked`` reason are never predicted: they follow the ranked rows with their reason; so do the
    rows outside the size ``budget`` (reason: 'outside the size budget ...'). Every predicted row gets its
    confidence ``tier`` (``advisor.predict.verdict.tiers``)."""
    out = Shortlist(pd.DataFrame(), bundle.version, float(bundle.interval_level))
    reasons = (candidates["not_ranked"].fillna("").astype(str) if "not_ranked" in candidates.columns
               else pd.Series("", index=candidates.index))
    usable, wrong, outside = usable_candidates(candidates[reasons == ""], bundle.scales, budget)
    held = pd.concat([candidates[reasons != ""], outside.assign(not_ranked=f"outside the size budget "
                                                                          f"{budget_text(budget)}")])
    held = held.drop(columns=["source"], errors="ignore")
    served = " or ".join(f"{s!r} ({upload.SCALE_HELP.get(s, s)})" for s in bundle.scales)
    for (source, row_scale), g in wrong.groupby(["source", "scale"], sort=False):
        out.errors.append(
            f"{source}: values on the {row_scale!r} scale, but the predictor serves {served}; its "
            f"{len(g)} model(s) are left out. Fix: give values on a served scale (e.g. the Open LLM "
            f"Leaderboard v2 numbers) or pick the models from the leaderboard table.")
    if len(outside):
        out.notes.append(f"{len(outside)} candidate(s) outside the size budget {budget_text(budget)} are not "
                         "ranked: " + ", ".join(outside["hf_id"].head(10)))
    table = pd.DataFrame()
    if not usable.empty:
        inputs = usable.drop(columns=["source"]).reset_index(drop=True)  # row labels travel along
        try:
            pred = predict_candidates(bundle, inputs.copy(), method=method, measured=measured)
        except ValueError as exc:
            out.errors.append(f"Prediction failed: {exc}")
            return out
        if measured is not None:
            known = measured["measured_score"].dropna()
            pred["nearest_measured"] = [  # what is known when the predictor has no skill
                "; ".join(f"{h}: {known[h]:.1f}" for h in near if h in known.index)
                for near in pred["nearest_known"]]
        inputs = inputs.drop(columns=[c for c in inputs.columns if c in pred.columns and c != "hf_id"])
        table = pred.merge(inputs, on="hf_id", how="left")
        table.insert(table.columns.get_loc("rank_upper") + 1, "tier", verdict.tiers(table))
    if len(held):
        held = held.assign(tier="").reset_index(drop=True)
        table = (pd.concat([table, held], ignore_index=True) if not table.empty  # listed with empty outputs
                 else held.reindex(columns=list(dict.fromkeys([*OUTPUT_COLUMNS, "tier", *held.columns]))))
    if not table.empty:
        table["not_ranked"] = (table["not_ranked"].fillna("") if "not_ranked" in table.columns else "")
    out.table = table
    return out
