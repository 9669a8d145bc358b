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

served = cached(queries.table, name="predictor_served")
if served.empty:
    st.warning("This database holds no out-of-sample evidence yet. Fix: run `python -m pipeline.run` "
               "and reload.")
    st.stop()

for method in registry.METHOD_LABELS:
    row = evidence.served_row(served, method)
    (st.success if evidence.has_skill(row) else st.warning)(evidence.sentence(row, method))

c1, c2, c3 = st.columns(3)
method = c1.radio("Method", [m for m in registry.METHOD_LABELS if m in set(served["method"])],
                  format_func=registry.METHOD_LABELS.get, horizontal=True, key="ev_method")
targets = [t for t in registry.RM_TARGETS if t in set(served["target"])]
target = c2.selectbox("RewardBench target", targets, format_func=registry.label, key="ev_target")
scales = sorted(set(served["scale"]), key=lambda s: (s != "normalized", s))
scale = c3.selectbox("Scale of the benchmark inputs", scales, key="ev_scale")
row = evidence.served_row(served, method, target, scale)

st.subheader("Served predictors")
st.dataframe(
    served.assign(method=served["method"].map(registry.METHOD_LABELS),
                  target=served["target"].map(registry.label)),
    hide_index=True, width="stretch", key="ev_served",
    column_config={"nested_mae_mean": st.column_config.NumberColumn("Nested-CV MAE", format="%.2f"),
                   "nested_mae_sd": st.column_config.NumberColumn("sd over repeats", format="%.2f"),
                   "lineage_out_mae": st.column_config.NumberColumn("Lineage-out MAE", format="%.2f"),
                   "mean_baseline_mae": st.column_config.NumberColumn("Mean baseline", format="%.2f"),
                   "size_baseline_mae": st.column_config.NumberColumn("Size baseline", format="%.2f"),
                   "lineage_out_mae_sd": st.column_config.NumberColumn("± over seeds", format="%.2f"),
                   "vs_size_diff": st.column_config.NumberColumn("vs size", format="%+.2f"),
                   "interval_coverage": st.column_config.NumberColumn("Interval coverage", format="%.3f")})

st.subheader("The intervals served, and how often they held")
st.markdown(
    "A candidate whose lineage (publisher, `data/lineages.csv`; else its hub org) is among the known "
    "models' gets the first interval, calibrated on the errors of models whose lineage the predictor "
    "had seen; a candidate of a lineage never seen gets the second, calibrated on the errors of whole "
    "lineages held out. Coverage: the share of known models inside their interval, each computed "
    "without the model's own fold or lineage; 95% CI from resampling whole lineages (errors of one "
    "lineage move together).")
intervals = evidence.interval_table(served, method, scale)
st.dataframe(
    intervals.assign(target=intervals["target"].map(registry.label)), hide_index=True, width="stretch",
    key="ev_intervals",
    column_config={"interval_halfwidth": st.column_config.NumberColumn("± known lineage", format="%.1f"),
                   "interval_coverage": st.column_config.NumberColumn("coverage", format="%.3f"),
                   "interval_halfwidth_lineage_out": st.column_config.NumberColumn("± new lineage", format="%.1f"),
                   "lineage_out_interval_coverage": st.column_config.NumberColumn("coverage (new)",
                                                                                  format="%.3f")})
for line in evidence.interval_misses(intervals):
    st.markdown(f"- {md_text(line)}")

st.subheader("Every spec and baseline")
ev = cached(queries.table, name="predictor_evidence")
comp = evidence.comparison(ev, scale, method, target)
if comp.empty:
    st.info("No spec or baseline was measured for this selection.")
else:
    st.dataframe(comp.drop(columns=["scale", "method", "target"]), hide_index=True, width="stretch",
                 key="ev_specs")
    st.plotly_chart(figures.skill_intervals(
        comp, f"Gain over predicting the mean, {registry.METHOD_LABELS[method]} / "
              f"{registry.label(target)} ({scale})"), key="fig_ev_skill")
    paper = evidence.paper_vs_chosen(ev, scale, method, target)
    if len(paper):
        st.markdown("**The paper's model beside the served one** (the paper's Elastic Net: degree "
                    "1-3, its hyperparameter grid, selected and scored on the same 10 folds there):")
        st.dataframe(paper[["role", "name", "nested_mae_mean", "nested_mae_sd", "lineage_out_mae",
                            "spearman", "coverage_top5", "coverage_top10"]],
                     hide_index=True, width="stretch", key="ev_paper")

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
if cal.empty:
    st.info("No interval calibration stored.")
else:
    c = cal[(cal["scale"] == scale) & (cal["method"] == method)]
    c = c.assign(label=c["target"].map(registry.label) + " (" + c["protocol"].map(
        lambda p: evidence.PROTOCOL_LABELS.get(p, p)) + ")")
    st.plotly_chart(figures.interval_calibration(
        c, f"Do the intervals cover what they claim? ({registry.METHOD_LABELS[method]}, {scale})"),
        key="fig_ev_calibration")
    st.caption("Empirical coverage of the intervals on models outside the training folds (nested) or "
               "lineages (leave one lineage out), with a 95% interval from resampling lineages; the "
               "dashed line is perfect calibration.")

skipped = cached(queries.table, name="skipped_analyses")
for r in skipped.itertuples():
    st.info(f"Skipped in the last run: {md_text(r.analysis)}. Reason: {md_text(r.reason)}")
