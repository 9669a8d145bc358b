"""Benchmarks vs RM quality: which benchmarks track reward-model quality (Fig. 3) and how well each
one's top-k finds the true top-k reward models (Fig. 4), beside the predictor's own curve (Fig. 6)."""

import streamlit as st

from advisor.analyses.correlation import correlation_table
from advisor.analyses.coverage import chance_coverage, coverage_curves, passing
from advisor.core import registry
from advisor.db import queries
from pages import _figures as figures
from pages._shared import cached, source_caption
from pages._tables import MISSING

st.title("Benchmarks vs reward-model quality")
c1, c2, c3 = st.columns(3)
method = c1.radio("Reward-model training method", list(registry.METHOD_LABELS), horizontal=True,
                  format_func=registry.METHOD_LABELS.get, key="bm_method")
corr_kind = c2.segmented_control("Correlation", ["pearson", "spearman"], default="pearson",
                                 format_func=str.title, key="bm_corr", required=True)
min_models = c3.slider("Benchmarks with values for at least this many of the 40 models", 3, 40, 8,
                       key="bm_min_models")

every = cached(queries.paper_feature_matrix, min_models=0)  # read once; the slider only selects columns
matrix = queries.with_values(every, min_models)
targets = cached(queries.rm_targets, method=method)
k1, k2 = st.columns([3, 1])
categories = k1.multiselect("RewardBench categories", list(registry.RM_TARGETS),
                            default=list(registry.RM_TARGETS), format_func=registry.CATEGORY_LABELS.get,
                            key="bm_categories")
alpha = k2.selectbox("Significance level (two-sided t-test)", [0.05, 0.01, 0.001], key="bm_alpha")
if not categories:
    st.warning("Choose at least one RewardBench category above to see the correlations.")
else:
    corr = correlation_table(matrix, targets[categories], method=corr_kind, alpha=alpha)
    st.plotly_chart(figures.correlation_heatmap(corr, alpha), key="fig3")
    top = corr[corr["target"] == categories[0]].sort_values("r", ascending=False).head(5)
    st.markdown(f"Strongest {corr_kind.title()} correlation with **{registry.CATEGORY_LABELS[categories[0]]}**: "
                + ", ".join(f"{registry.label(f)} (r = {r:.2f}, n = {n})"
                            for f, r, n in zip(top["feature"], top["r"], top["n"])) + ".")
    with st.expander("Correlation table"):
        st.dataframe(corr, hide_index=True, width="stretch", placeholder=MISSING, key="corr_table")
source_caption("benchmark_scores (Open LLM Leaderboard v1/v2, EvalPlus, lm-eval 19 tasks) and paper "
               "Tables 4/5; n is the number of paper models with both values")

st.subheader("Coverage of the top-k reward models")
st.markdown("Coverage at k: the share of the true top-k reward models (by overall RewardBench score) "
            "that are also in a benchmark's top-k. Only benchmarks with values for all 40 models take "
            "part; the paper keeps those with at least the coverage below at k = 5 and k = 10.")
c1, c2 = st.columns(2)
min_k5 = c1.slider("Minimum coverage at k = 5", 0.0, 1.0, 0.4, 0.05, key="cov_k5")
min_k10 = c2.slider("Minimum coverage at k = 10", 0.0, 1.0, 0.7, 0.05, key="cov_k10")
full = queries.with_values(every, 40)
known = cached(queries.predictions_known, method=method)
features = full.join(known.rename("predictor"), how="left") if known is not None else full
curves = coverage_curves(features, targets["score"], ks=range(5, 31))
keep = passing(curves, min_k5=min_k5, min_k10=min_k10)
if "predictor" in set(curves["feature"]) and "predictor" not in keep:
    keep = [*keep, "predictor"]
shown = curves[curves["feature"].isin(keep)]
bench_kept = [f for f in keep if f != "predictor"]
st.markdown(f"{len(bench_kept)} of {full.shape[1]} benchmarks pass: "
            + (", ".join(registry.label(f) for f in bench_kept) or "none") + ".")
if shown.empty:
    st.info("No benchmark passes these thresholds; lower them to see curves.")
else:
    chance = chance_coverage(range(5, 31), n=len(full))  # a random ranking of the same models
    st.plotly_chart(figures.coverage_curves(shown, highlight="predictor", chance=chance,
                                            thresholds={5: min_k5, 10: min_k10}), key="fig4")
    st.caption(f"Dotted: a random ranking's coverage, k/{len(full)} on average, and the filter's minimum "
               "coverage at k = 5 and k = 10.")
if known is not None:
    st.caption(f"Predictor curve: {queries.PREDICTION_KINDS[known.name]} for the known models.")
else:
    st.info("The predictor's curve appears once the database has predictions for the known models "
            "(`python -m pipeline.run --stages predictor`).")
