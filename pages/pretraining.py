"""Pre-training data: presence scores per SlimPajama subset (Fig. 7) and the Jensen-Shannon distance
between models (Fig. 8), read from the database when the presence stage has run."""

import streamlit as st

from advisor.analyses import presence
from advisor.db import queries
from pages import _figures as figures
from pages._shared import cached, source_caption
from pages._tables import MISSING

st.title("Pre-training data")
st.markdown("How much of each SlimPajama subset a model seems to have seen in pre-training, estimated "
            "from its per-document presence scores, and how different those distributions are "
            "between models (Jensen-Shannon distance).")
tables = cached(queries.presence)
if tables is None:
    st.info("This database has no presence scores yet: they come from the `presence` stage, which "
            "scores SlimPajama documents with each model (a GPU job at full size). Compute them with\n\n"
            f"`{queries.PRESENCE_COMMAND}`\n\n"
            "(a small smoke run), or add `presence` to the stages of your config for the full run, "
            "then reload this page.")
    st.code(queries.PRESENCE_COMMAND, language="bash")
    st.stop()

scores, jsd = tables["presence_scores"], tables["presence_jsd"]
models = sorted(scores["model"].unique())  # columns as pipeline/sql/40_presence.sql defines them
st.metric("Presence scores in the database", f"{tables['n_scores']:,}",
          help=f"Distributions below are drawn from a fixed random sample of up to "
               f"{queries.PRESENCE_SAMPLE:,} scores.")
chosen = st.multiselect("Models", models, default=models, key="presence_models")
n_docs = presence.documents(tables["presence_summary"])
st.plotly_chart(figures.presence_distributions(scores[scores["model"].isin(chosen)], "model", "subset", "score",
                                               n_docs=n_docs), key="fig7")
if n_docs:
    st.caption(f"Each model's distributions and features rest on the same {n_docs.get('all', 0):,} documents "
               "(n per subset under each box). The summary's mean_lo / mean_hi and the heatmap's intervals "
               "are bootstrap intervals over documents.")
with st.expander("Summary per model and subset"):
    st.dataframe(tables["presence_summary"], hide_index=True, width="stretch", placeholder=MISSING,
                 key="presence_summary")
if jsd.empty:
    st.info("The database has presence scores but no Jensen-Shannon distances; rerun the presence "
            f"stage (`{queries.PRESENCE_COMMAND}`).")
else:
    st.plotly_chart(figures.jsd_heatmap(jsd, "model_a", "model_b", "jsd", lo_col="lo", hi_col="hi",
                                        n_col="n_documents"), key="fig8")
rounds = presence.rounds_table(tables.get("presence_rounds"))
if len(rounds):
    with st.expander("Sequential scoring: rounds and interval widths"):
        st.markdown("Documents were scored in rounds, the same documents for every model, until every "
                    "interval was within its tolerance (or the corpus ran out). Half-widths at each round's "
                    "level (a Bonferroni share of the error rate per round); JSD widths include the "
                    "estimated bias.")
        st.dataframe(rounds, hide_index=True, width="stretch", placeholder=MISSING, key="presence_rounds")
if len(tables.get("presence_regression", [])):
    st.subheader("Do presence scores help the predictor?")
    st.markdown("Honest cross-validated error of the predictor without and with each model's mean "
                "presence score per subset as extra features (the paper reports 3.2 -> 1.7 MAE).")
    st.dataframe(tables["presence_regression"], hide_index=True, width="stretch", placeholder=MISSING,
                 key="presence_regression")
source_caption("presence_scores / presence_summary / presence_jsd / presence_rounds / presence_regression tables, "
               "written by "
               "the presence stage")
