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

import numpy as np
import pandas as pd

from advisor.core.registry import METHOD_LABELS, label

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


def chosen_first(method: str) -> list[str]:
    """The training methods with ``method`` first: the pages show its evidence line as the one to heed
    (a warning when it has no skill) and the others' as plain notes below it."""
    return [method, *(m for m in METHOD_LABELS if m != method)]


def _pts(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.1f}"


def _finite(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _size_part(row: dict) -> str:
    """'ranking by size alone: 4.4 (difference -1.0, 95% CI -1.6 to -0.4 over lineages)'."""
    out = f"ranking by size alone: {_pts(row.get('size_baseline_mae'))}"
    d, lo, hi = (row.get(f"vs_size_{k}") for k in ("diff", "lo", "hi"))
    if all(_finite(v) for v in (d, lo, hi)):
        out += f" (difference {d:+.1f}, 95% CI {lo:+.1f} to {hi:+.1f} over lineages)"
    return out


def sentence(row: dict | None, method: str) -> str:
    """One plain line on how far to trust the predictions of ``method`` (overall score): the lineage-out
    error with its spread over the inner-CV seeds, the size baseline and the difference with its
    lineage-bootstrap CI, then the error within the known lineages (repeated nested CV) when measured."""
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
    sd, seeds = row.get("lineage_out_mae_sd"), row.get("inner_seeds")
    spread = f" ± {float(sd):.1f}" if _finite(sd) else ""
    over = f" (± over {int(seeds)} inner-CV seeds)" if spread and _finite(seeds) else ""
    head = (f"{name}: off by {_pts(row.get('lineage_out_mae'))}{spread} points on average for a lineage "
            f"it has never seen{over}; {_size_part(row)}.")
    nested = row.get("nested_mae_mean")
    if not _finite(nested):  # a serving build
        return head + " (The repeated nested CV is not in this build yet: the full evaluation publishes it.)"
    return head + f" Within the known lineages (repeated nested CV): off by {_pts(nested)}."


def interval_table(table: pd.DataFrame, method: str, scale: str) -> pd.DataFrame:
    """The intervals actually served for (method, scale), one row per target: the half-width a candidate
    of a known lineage gets and its coverage (``interval_protocol``), and the half-width a candidate of a
    lineage never seen gets and its leave-one-lineage-out coverage, each with its 95% CI."""
    cols = ["target", "interval_level", "interval_halfwidth", "interval_protocol", "interval_coverage",
            "interval_coverage_lo", "interval_coverage_hi", "interval_halfwidth_lineage_out",
            "lineage_out_interval_coverage", "lineage_out_interval_coverage_lo", "lineage_out_interval_coverage_hi"]
    if table.empty or "interval_halfwidth_lineage_out" not in table.columns:
        return pd.DataFrame(columns=cols)
    t = table[(table["method"] == method) & (table["scale"] == scale)]
    return t[cols].reset_index(drop=True)


def interval_misses(rows: pd.DataFrame) -> list[str]:
    """In words, every served interval whose coverage CI does not contain its nominal level (rows of
    ``interval_table``); one line saying all do when none misses."""
    out = []
    for r in rows.to_dict("records"):
        for who, key, h in (("a known lineage", "interval_coverage", "interval_halfwidth"),
                            ("a lineage never seen", "lineage_out_interval_coverage",
                             "interval_halfwidth_lineage_out")):
            emp, lo, hi, nominal = r.get(key), r.get(f"{key}_lo"), r.get(f"{key}_hi"), r.get("interval_level")
            if not all(_finite(v) for v in (emp, lo, hi, nominal)) or lo <= nominal <= hi:
                continue
            how = "fewer" if hi < nominal else "more"
            out.append(f"{label(r['target'])}: the interval for {who} (±{_pts(r.get(h))}) covered {emp:.3f} of "
                       f"the errors (95% CI {lo:.2f}-{hi:.2f} over lineages), {how} than the nominal "
                       f"{nominal:.2f}.")
    if not out and len(rows):
        out.append(f"Every served interval's coverage has a 95% CI that contains its nominal level "
                   f"({rows['interval_level'].iloc[0]:.2f}), for known lineages and for a lineage never seen.")
    return out


MEASURED = ["nested_mae_mean", "nested_mae_sd", "lineage_out_mae", "spearman", "coverage_top5",
            "coverage_top10", "diff_vs_mean", "diff_lo", "diff_hi"]  # the numbers of a predictor_evidence row
SERVED_AS = "served (= {spec})"  # the served procedure's name when it repeats its spec's row


def comparison(evidence: pd.DataFrame, scale: str, method: str, target: str) -> pd.DataFrame:
    """Specs and baselines of one (scale, method, target) for display: best lineage-out first. The served
    procedure (its spec chosen inside every training part, kind ``served``) and the spec it serves
    (``chosen``) are one row when every measured number is the same (the procedure chose that spec in
    every part): named ``SERVED_AS``, e.g. 'served (= ridge_oll_mean_log_params)', and marked ``chosen``."""
    if evidence.empty:
        return evidence
    e = evidence[(evidence["scale"] == scale) & (evidence["method"] == method)
                 & (evidence["target"] == target)].copy()
    served, chosen = e[e["kind"] == "served"], e[e["chosen"].fillna(False).astype(bool)]
    if len(served) == 1 and len(chosen) == 1:
        a, b = (served[MEASURED].to_numpy(float)[0], chosen[MEASURED].to_numpy(float)[0])
        if np.allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True):
            e = e.drop(index=chosen.index)
            e.loc[served.index, ["name", "chosen"]] = [SERVED_AS.format(spec=chosen["name"].iloc[0]), True]
    return e.sort_values(["lineage_out_mae", "name"]).reset_index(drop=True)


PAPER_REFERENCE_COMMAND = "python -m pipeline.run --config configs/report.yaml"


def paper_vs_served(evidence: pd.DataFrame, scale: str, method: str,
                    target: str) -> tuple[pd.DataFrame, str | None]:
    """The paper's Elastic Net (degree 1-3, paper grid) beside the served procedure, with a column
    ``role``; or, when the build did not evaluate the paper's model for this selection, an empty frame
    and the reason in words (which selections it was evaluated for, or the command that evaluates it)."""
    e = comparison(evidence, scale, method, target)
    paper = e[e["paper_reference"].fillna(False).astype(bool)] if len(e) else e
    if len(paper):
        keep = pd.concat([e[e["kind"] == "served"], paper])
        return keep.assign(role=["served" if k == "served" else "paper's model" for k in keep["kind"]]), None
    where = evidence[evidence["paper_reference"].fillna(False).astype(bool)] if len(evidence) else evidence
    if len(where):
        done = sorted({f"{label(t)} on the {sc} scale ({METHOD_LABELS.get(m, m)})"
                       for sc, m, t in zip(where["scale"], where["method"], where["target"])})
        return e.iloc[0:0], ("This build evaluated the paper's model only for " + "; ".join(done)
                             + ": choose that method, target and scale above.")
    return e.iloc[0:0], ("This build did not evaluate the paper's model (it takes minutes): "
                         f"`{PAPER_REFERENCE_COMMAND}` evaluates it on the same folds for the overall score "
                         "(predictor.paper_reference_scales and paper_reference_targets of that config).")
