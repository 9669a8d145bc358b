"""Data & provenance: where every number comes from, its license, which model has which benchmark,
and when and how the database was built."""

import streamlit as st

from advisor.db import queries, store
from pages._shared import cached
from pages._tables import MISSING

st.title("Data & provenance")
db = store.db_file()
runs = cached(queries.runs)
meta = cached(queries.meta)
last = runs.iloc[0] if len(runs) else None
c1, c2, c3 = st.columns(3)
c1.metric("Database", db.name)
c2.metric("Last build", str(last["finished_at"])[:19] if last is not None else "never")
c3.metric("Schema version", meta.get("schema_version", "?"))
st.caption(f"Database file: `{db}` (read-only). Rebuild it with `python -m pipeline.run`; the app "
           f"picks the new file up on the next interaction.")

st.subheader("Sources and licenses")
st.dataframe(cached(queries.sources), hide_index=True, width="stretch", placeholder=MISSING, key="sources_table",
             column_config={"rows_ingested": "Rows", "sha256": "SHA-256 (first 12)"})

st.subheader("Coverage of the benchmark matrix")
cov = cached(queries.coverage_matrix)
st.markdown(f"{len(cov)} models x {cov.shape[1]} benchmarks with at least one value; "
            f"{int(cov.values.sum())} of {cov.size} cells filled ({cov.values.mean():.0%}).")
counts = cov.sum().rename("models with a value").reset_index().rename(columns={"index": "benchmark"})
st.dataframe(counts, hide_index=True, width="stretch", placeholder=MISSING, key="coverage_counts")
with st.expander("Model x benchmark matrix"):
    st.dataframe(cov, width="stretch", placeholder=MISSING, key="coverage_matrix")

st.subheader("Benchmarks")
st.dataframe(cached(queries.benchmark_catalog), hide_index=True, width="stretch", placeholder=MISSING,
             key="benchmarks_table")

st.subheader("Pipeline runs")
st.markdown("Every `python -m pipeline.run` that published this database, newest first.")
st.dataframe(runs, hide_index=True, width="stretch", placeholder=MISSING, key="runs_table")
if last is not None:
    with st.expander(f"Configuration of the last run ({last['run_id']})"):
        st.json(cached(queries.run_config, run_id=last["run_id"]))
st.subheader("Tables")
st.dataframe(cached(queries.table_counts), hide_index=True, width="stretch", placeholder=MISSING, key="table_counts")
