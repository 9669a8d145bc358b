"""The predictor's out-of-sample evidence, read from the database and phrased for users.

The predictor stage measures every candidate predictor spec and the simple baselines with whole
lineages held out and by repeated nested CV, in one run, and writes the tables read here
(``pipeline/sql/50_predictor.sql``): ``predictor_served`` (the served spec per scale, method and
target, its skill flag and errors), ``predictor_evidence`` (every spec and baseline), ``predictions_oof``
(out-of-sample predictions of the known models), ``interval_calibration`` and ``lineage_errors``.

Functions here never compute a statistic: they select rows and turn them into sentences, so the app
(Predict and Evidence pages) and the ``rank`` command say the same thing. Every reader returns an
empty frame when the database predates these tables.
"""

from __future__ import annotations

import math

import pandas as pd

from advisor.core.registry import METHOD_LABELS

SKILL = "skill"
NO_SKILL = "no_skill"
PROTOCOL_LABELS = {"nested": "repeated nested CV", "lineage_out": "leave one lineage out"}


def served_row(table: pd.DataFrame, method: str, target: str = "score",
               scale: str | None = None) -> dict | None:
    """The served row of (method, target) on ``scale`` (any scale when None, normalized first)."""
    if table.empty:
        return None
    rows = table[(table["method"] == method) & (table["target"] == target)]
    if scale is not None:
        rows = rows[rows["scale"] == scale]
    if rows.empty:
        return None
    rows = rows.assign(_first=rows["scale"] != "normalized").sort_values("_first")
    return rows.iloc[0].drop(labels="_first").to_dict()


def has_skill(row: dict | None) -> bool:
    return bool(row) and row.get("skill") == SKILL


def _pts(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.1f}"


def sentence(row: dict | None, method: str) -> str:
    """One plain line on how far to trust the predictions of ``method`` (overall score)."""
    name = METHOD_LABELS.get(method, method)
    if not row:
        return (f"{name}: no out-of-sample evidence in this database, so its predictions are not "
                f"ranked. Fix: run `python -m pipeline.run` (it measures the predictor).")
    if row.get("skill") != SKILL:
        return (f"{name}: no skill. For a lineage it has never seen, this predictor is off by "
                f"{_pts(row.get('lineage_out_mae'))} points on average, no better than always "
                f"predicting the mean of the known models ({_pts(row.get('mean_baseline_mae'))}). "
                f"Candidates are not ranked by it; measured reward models of the nearest known "
                f"models are shown instead.")
    nested = row.get("nested_mae_mean")
    if nested is None or (isinstance(nested, float) and math.isnan(nested)):  # a serving build
        return (f"{name}: for a lineage it has never seen, this predictor is off by "
                f"{_pts(row.get('lineage_out_mae'))} points on average; ranking by size alone would be "
                f"off by {_pts(row.get('size_baseline_mae'))}. (The repeated nested CV is not in this "
                f"build yet: the full evaluation publishes it.)")
    return (f"{name}: out of sample this predictor is off by {_pts(nested)} "
            f"points on average ({_pts(row.get('lineage_out_mae'))} for a lineage it has never "
            f"seen); ranking by size alone would be off by {_pts(row.get('size_baseline_mae'))}.")


def comparison(evidence: pd.DataFrame, scale: str, method: str, target: str) -> pd.DataFrame:
    """Specs and baselines of one (scale, method, target) for display: best lineage-out first."""
    if evidence.empty:
        return evidence
    e = evidence[(evidence["scale"] == scale) & (evidence["method"] == method)
                 & (evidence["target"] == target)].copy()
    return e.sort_values(["lineage_out_mae", "name"]).reset_index(drop=True)


def paper_vs_chosen(evidence: pd.DataFrame, scale: str, method: str, target: str) -> pd.DataFrame:
    """The paper's Elastic Net (degree 1-3, paper grid) beside the spec the advisor serves."""
    e = comparison(evidence, scale, method, target)
    if e.empty:
        return e
    keep = e[e["paper_reference"].fillna(False).astype(bool) | e["chosen"].fillna(False).astype(bool)]
    role = ["served" if c else "paper reference" for c in keep["chosen"].fillna(False).astype(bool)]
    return keep.assign(role=role)
