"""Capabilities: how many independent directions the benchmark-model matrix has (PCA, Fig. 12-13)."""

import streamlit as st

from advisor.analyses.pca import pca_summary
from advisor.core import registry
from advisor.db import queries
from pages import _figures as figures
from pages._shared import cached, source_caption
from pages._tables import MISSING

st.title("Capabilities (PCA)")
st.markdown("Principal components of the benchmark x model matrix of the 40 paper models. Only "
            "benchmarks with a value for every model can enter; pick them below.")
full = cached(queries.paper_feature_matrix, min_models=40)
options = list(full.columns)
default = [c for c in options if c not in ("oll_v2_average",)]
chosen = st.multiselect("Benchmarks and training metrics", options, default=default,
                        format_func=registry.label, key="pca_features")
if len(chosen) < 2:
    st.warning("Choose at least two benchmarks for a PCA.")
    st.stop()
ratio, loadings = pca_summary(full[chosen])
k = min(5, len(ratio))
st.metric(f"Variance explained by the first {k} components", f"{ratio.iloc[:k].sum():.1%}")
c1, c2 = st.columns(2)
c1.plotly_chart(figures.pca_explained(ratio), key="fig13")
c2.plotly_chart(figures.pca_loadings(loadings), key="fig12")
with st.expander("Loadings table"):
    st.dataframe(loadings, width="stretch", placeholder=MISSING, key="loadings_table")
source_caption("benchmark_scores and models (training metrics) of the 40 paper models")
