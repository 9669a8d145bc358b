"""Pre-training data: presence scores per SlimPajama subset (Fig. 7) and the Jensen-Shannon distance
between models (Fig. 8), read from the database when the presence stage has run."""

import streamlit as st

from advisor import figures, views
from pages._shared import cached, source_caption

st.title("Pre-training data")
st.markdown("How much of each SlimPajama subset a model seems to have seen in pre-training, estimated "
            "from its per-document presence scores, and how different those distributions are "
            "between models (Jensen-Shannon distance).")
tables = cached("presence")
if tables is None:
    st.info("This database has no presence scores yet: they come from the `presence` stage, which "
            "scores SlimPajama documents with each model (a GPU job at full size). Compute them with\n\n"
            f"`{views.PRESENCE_COMMAND}`\n\n"
            "(a small smoke run), or add `presence` to the stages of your config for the full run, "
            "then reload this page.")
    st.code(views.PRESENCE_COMMAND, language="bash")
    st.stop()
