"""Evidence: how far to trust the predictions. Every spec and baseline measured out of sample in the
same run (repeated nested CV and leave-one-lineage-out), the coverage of the intervals actually served
(known lineages; a lineage never seen) with the misses in words, the served spec's out-of-sample
predictions, per-lineage errors, interval calibration, and the paper's model beside the one the advisor
serves."""

import streamlit as st

from advisor.core import registry
from advisor.core.untrusted import md_text
from advisor.db import queries
from advisor.predict import evidence
from pages import _figures as figures
from pages import _tables as tables
from pages._shared import cached

st.title("Evidence: how far to trust the predictions")
st.markdown(
    "Every number on the *Predict* page comes from a predictor chosen here, by its error on models "
    "it did not see. Two protocols, measured in the same run as the baselines: **repeated nested "
    "cross-validation** (10 folds, repeated; every choice of spec and hyperparameter is made inside "
    "the training folds) and **leave one lineage out** (all models of one publisher lineage are held "
    "out at once; a fine-tune counts with its base model's publisher, e.g. Tulu-3 with Meta). Every "
    "choice of spec and hyperparameter uses an inner 10-fold cross-validation averaged over 20 seeds; "
    "the ± after an error is how much it moves when one seed is used instead. A "
    "predictor whose lineage-out error does not beat always predicting the mean, with a paired "
    "bootstrap interval that excludes zero, has **no skill** and ranks nothing.")

# one precision per kind of number in every table below: points (errors, half-widths) 2 decimals, their
# differences signed, shares of the known models (interval coverage, of 40) 3 decimals
POINTS, DIFF, SHARE = "%.2f", "%+.2f", "%.3f"
COLUMNS = {  # column: (label, number format); every table of the page is labelled from here
    "scale": ("Scale", None), "method": ("Method", None), "target": ("Target", None), "skill": ("Skill", None),
    "spec": ("Spec served", None), "name": ("Spec or baseline", None, "large"), "kind": ("Kind", None),
    "role": ("Role", None), "paper_reference": ("Paper's model", None), "chosen": ("Served spec", None),
    "selection": ("Spec chosen", None), "interval_protocol": ("Interval calibrated by", None),
    "nested_mae_mean": ("Nested-CV MAE", POINTS), "nested_mae_sd": ("sd over repeats", POINTS),
    "lineage_out_mae": ("Lineage-out MAE", POINTS), "lineage_out_mae_sd": ("± over seeds", POINTS),
    "mean_baseline_mae": ("Mean baseline MAE", POINTS), "size_baseline_mae": ("Size baseline MAE", POINTS),
    "skill_diff": ("MAE minus the mean's", DIFF), "skill_diff_lo": ("MAE minus the mean's, CI low", DIFF),
    "skill_diff_hi": ("MAE minus the mean's, CI high", DIFF), "diff_vs_mean": ("MAE minus the mean's", DIFF),
    "diff_lo": ("MAE minus the mean's, CI low", DIFF), "diff_hi": ("MAE minus the mean's, CI high", DIFF),
    "vs_size_diff": ("MAE minus size's", DIFF), "vs_size_lo": ("MAE minus size's, CI low", DIFF),
    "vs_size_hi": ("MAE minus size's, CI high", DIFF),
    "spearman": ("Spearman", "%.2f"), "lineage_out_spearman_sd": ("Spearman ± over seeds", "%.2f"),
    "coverage_top5": ("Top-5 coverage", "%.2f"), "coverage_top10": ("Top-10 coverage", "%.2f"),
    "interval_level": ("Nominal level", "%.2f"), "interval_halfwidth": ("± known lineage", POINTS),
    "interval_coverage": ("Coverage", SHARE), "interval_coverage_lo": ("Coverage, CI low", SHARE),
    "interval_coverage_hi": ("Coverage, CI high", SHARE), "interval_halfwidth_lineage_out": ("± new lineage", POINTS),
    "lineage_out_interval_coverage": ("Coverage (new lineage)", SHARE),
    "lineage_out_interval_coverage_lo": ("Coverage (new lineage), CI low", SHARE),
    "lineage_out_interval_coverage_hi": ("Coverage (new lineage), CI high", SHARE),
    "n_models": ("Models", "%d"), "n_lineages": ("Lineages", "%d"), "inner_seeds": ("Inner-CV seeds", "%d")}


def table(df, key: str) -> None:
    """``df`` with the page's labels and formats (``COLUMNS``), methods and targets by their names."""
    tables.show(df.assign(**{c: df[c].map(f) for c, f in (("method", registry.METHOD_LABELS.get),
                                                           ("target", registry.label)) if c in df.columns}),
                key, COLUMNS)


served = cached(queries.table, name="predictor_served")
if served.empty:
    st.warning("This database holds no out-of-sample evidence yet. Fix: run `python -m pipeline.run` "
               "and reload.")
    st.stop()

c1, c2, c3 = st.columns(3)
method = c1.radio("Method", [m for m in registry.METHOD_LABELS if m in set(served["method"])],
                  format_func=registry.METHOD_LABELS.get, horizontal=True, key="ev_method")
targets = [t for t in registry.RM_TARGETS if t in set(served["target"])]
target = c2.selectbox("RewardBench target", targets, format_func=registry.label, key="ev_target")
scales = sorted(set(served["scale"]), key=lambda s: (s != "normalized", s))
scale = c3.selectbox("Scale of the benchmark inputs", scales, key="ev_scale")
row = evidence.served_row(served, method, target, scale)
for m in evidence.chosen_first(method):  # the chosen method's line in a box; the other's a plain note
    line = evidence.sentence(evidence.served_row(served, m), m)
    if m != method:
        st.caption(line)
    else:
        (st.success if evidence.has_skill(evidence.served_row(served, m)) else st.warning)(line)

st.subheader("Served predictors")
table(served, "ev_served")

st.subheader("The intervals served, and how often they held")
st.markdown(
    "A candidate whose lineage (publisher, `data/lineages.csv`; else its hub org) is among the known "
    "models' gets the first interval, calibrated on the errors of models whose lineage the predictor "
    "had seen; a candidate of a lineage never seen gets the second, calibrated on the errors of whole "
    "lineages held out. Coverage: the share of known models inside their interval, each computed "
    "without the model's own fold or lineage; 95% CI from resampling whole lineages (errors of one "
    "lineage move together).")
intervals = evidence.interval_table(served, method, scale)
table(intervals, "ev_intervals")
for line in evidence.interval_misses(intervals):
    st.markdown(f"- {md_text(line)}")

st.subheader("Every spec and baseline")
ev = cached(queries.table, name="predictor_evidence")
comp = evidence.comparison(ev, scale, method, target)
if comp.empty:
    st.info("No spec or baseline was measured for this selection.")
else:
    table(comp.drop(columns=["scale", "method", "target"]), "ev_specs")
    if comp["name"].str.startswith(evidence.SERVED_AS.split("{")[0]).any():
        st.caption("*served (= spec)*: the served procedure, its spec chosen inside every training part, chose "
                   "that spec every time, so the spec's own row would repeat it.")
    st.plotly_chart(figures.skill_intervals(
        comp, f"Gain over predicting the mean, {registry.METHOD_LABELS[method]} / "
              f"{registry.label(target)} ({scale})"), key="fig_ev_skill")
st.markdown("**The paper's model beside the served one** (the paper's Elastic Net: degree 1-3, its "
            "hyperparameter grid, selected and scored on the same folds):")
paper, why_not = evidence.paper_vs_served(ev, scale, method, target)
if why_not:
    st.info(why_not)
else:
    table(paper[["role", "name", "nested_mae_mean", "nested_mae_sd", "lineage_out_mae", "spearman",
                 "coverage_top5", "coverage_top10"]], "ev_paper")

st.subheader("Out-of-sample predictions of the known models")
oof = cached(queries.table, name="predictions_oof")
# the served procedure (its spec chosen inside every training part), whose errors the lines above give
chosen = "served" if row and not oof.empty and (oof["name"] == "served").any() else (row["spec"] if row else None)
label = f"served procedure (spec {row['spec']} on all models)" if chosen == "served" else chosen
protocol = st.radio("Protocol", list(evidence.PROTOCOL_LABELS), format_func=evidence.PROTOCOL_LABELS.get,
                    horizontal=True, key="ev_protocol", index=1)
if oof.empty or chosen is None:
    st.info("No out-of-sample predictions stored for this selection.")
else:
    sel = oof[(oof["scale"] == scale) & (oof["method"] == method) & (oof["target"] == target)
              & (oof["name"] == chosen) & (oof["protocol"] == protocol)]
    if len(sel) and sel["repeat"].nunique() > 1:
        st.caption(f"First of {sel['repeat'].nunique()} repeats shown; the errors above average them all.")
        sel = sel[sel["repeat"] == sel["repeat"].min()]
    if sel.empty:
        st.info("No out-of-sample predictions stored for this selection.")
    else:
        st.plotly_chart(figures.oof_scatter(sel, f"{label}: {evidence.PROTOCOL_LABELS[protocol]}"),
                        key="fig_ev_oof")

errs = cached(queries.table, name="lineage_errors")
if len(errs) and chosen is not None:
    e = errs[(errs["scale"] == scale) & (errs["method"] == method) & (errs["target"] == target)
             & (errs["name"] == chosen)]
    if len(e):
        st.plotly_chart(figures.lineage_error_bars(e, f"{label}: error per held-out lineage"),
                        key="fig_ev_lineage")

st.subheader("Interval calibration")
cal = cached(queries.table, name="interval_calibration")
c = cal[(cal["scale"] == scale) & (cal["method"] == method) & (cal["target"] == target)] if len(cal) else cal
if c.empty:
    st.info("No interval calibration stored for this selection.")
else:
    c = c.assign(label=c["protocol"].map(lambda p: evidence.PROTOCOL_LABELS.get(p, p)))
    st.plotly_chart(figures.interval_calibration(
        c, f"Do the intervals cover what they claim? ({registry.METHOD_LABELS[method]}, "
           f"{registry.label(target)}, {scale})"), key="fig_ev_calibration")
    st.caption("Empirical coverage of the intervals on models outside the training folds (nested) or "
               "lineages (leave one lineage out), with a 95% interval from resampling lineages, for the target "
               "chosen above (the two protocols side by side at each nominal level); the dashed line is "
               "perfect calibration.")

skipped = cached(queries.table, name="skipped_analyses")
for r in skipped.itertuples():
    st.info(f"Skipped in the last run: {md_text(r.analysis)}. Reason: {md_text(r.reason)}")
