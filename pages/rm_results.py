"""Reward-model results: the 40 models x both training methods (paper and pipeline-trained rows),
the gains per size group (Fig. 2), Bradley-Terry vs Regression (Fig. 11), post-training (Table 1)."""

import streamlit as st

from advisor.analyses import posttraining
from advisor.analyses.gains import gains_per_size_group
from advisor.core import registry
from advisor.core.untrusted import md_text
from advisor.db import queries
from pages import _figures as figures
from pages import _tables as tables
from pages._shared import cached, source_caption
from pages._tables import MISSING

st.title("Reward-model results")
st.markdown("RewardBench scores of reward models trained on each base model with two methods: "
            "**Regression** (multi-attribute scores, HelpSteer2) and **Bradley-Terry** (binary "
            "preferences, HelpSteer2-Preference). Rows marked *pipeline* were trained by this project's "
            "`train` stage.")

rm = cached(queries.rm_results)
rm = rm[rm["source"] != "user"]  # the team's own results have their own section below
c1, c2, c3, c4 = st.columns(4)
methods = c1.multiselect("Method", list(registry.METHOD_LABELS), default=list(registry.METHOD_LABELS),
                         format_func=registry.METHOD_LABELS.get, key="rm_methods")
groups = c2.multiselect("Size group", list(registry.SIZE_GROUPS), default=list(registry.SIZE_GROUPS),
                        key="rm_groups")
publishers = c3.multiselect("Publisher", sorted(rm["publisher"].dropna().unique()), key="rm_publishers")
families = c4.multiselect("Family", sorted(rm["family"].dropna().unique()), key="rm_families")
shown = rm[rm["method"].isin(methods) & (rm["size_group"].isin(groups) | rm["size_group"].isna())]
if publishers:
    shown = shown[shown["publisher"].isin(publishers)]
if families:
    shown = shown[shown["family"].isin(families)]
table = shown[["display_name", "method", "score", *registry.RM_SECTIONS,
               "params_b", "size_group", "family", "publisher", "source", "hf_id"]].copy()
table["method"] = table["method"].map(registry.METHOD_LABELS)
st.metric("Reward models shown", len(table))
st.dataframe(table.sort_values("score", ascending=False), hide_index=True, width="stretch", placeholder=MISSING,
             column_config={"display_name": "Model", "method": "Method", **{
                 c: st.column_config.NumberColumn(registry.CATEGORY_LABELS[c], format="%.1f")
                 for c in registry.RM_TARGETS}, "params_b": "Params (B)", "size_group": "Size group",
                 "family": "Family", "publisher": "Publisher", "source": "Source", "hf_id": "Hugging Face id"},
             key="rm_table")
source_caption("paper Tables 4 and 5 (rm_results.source = 'paper'); pipeline-trained rows "
               "(source = 'pipeline')")

paper = rm[rm["source"] == "paper"]
st.subheader("Gains per size group")
gains = gains_per_size_group(paper)
st.plotly_chart(figures.gains_by_size_group(paper, gains), key="fig2")
g = gains.copy()
g["method"] = g["method"].map(registry.METHOD_LABELS)
st.dataframe(g, hide_index=True, width="stretch", placeholder=MISSING, key="gains_table",
             column_config={"method": "Method", "size_group": "Size group", "best_hf_id": "Best model",
                            "best_score": st.column_config.NumberColumn("Its score", format="%.1f"),
                            "baseline_hf_id": "Llama-3.x baseline",
                            "baseline_score": st.column_config.NumberColumn("Baseline's score", format="%.1f"),
                            "gain_points": st.column_config.NumberColumn("Gain (points)", format="%+.1f")})

st.subheader("Bradley-Terry vs Regression")
bt = posttraining.bt_vs_regression(paper)
cat = st.segmented_control("Category", list(registry.RM_TARGETS), default="score", required=True,
                           format_func=registry.CATEGORY_LABELS.get, key="bt_category")
bt = bt[bt["category"] == cat].merge(paper[["hf_id", "display_name"]].drop_duplicates(), on="hf_id")
st.plotly_chart(figures.bt_vs_regression(bt, "difference"), key="fig11")
st.markdown(f"Regression beats Bradley-Terry on {registry.CATEGORY_LABELS[cat]} for "
            f"{int((bt['difference'] > 0).sum())} of {len(bt)} base models "
            f"(mean difference {bt['difference'].mean():+.1f} points).")

st.subheader("Post-training stages (Table 1)")
st.markdown("Regression reward models trained on Llama-3.1-8B (the base row) and its post-trained variants; "
            "each category's score is followed by its Δ column, the change relative to the base model in "
            "percent of the base model's score.")
tables.show(posttraining.table1(cached(queries.post_training)), "table1", {
    "model": ("Model", None), "stage": ("Stage", None),
    **{c: (registry.CATEGORY_LABELS[c], "%.1f") for c in posttraining.CATEGORIES},
    **{posttraining.delta_column(c): ("Δ", "%+.1f%%") for c in posttraining.CATEGORIES}})
source_caption("paper Table 1; the Δ columns are computed from its scores and equal the paper's")

st.subheader("Your own reward-model results")
st.markdown("Results a team measured itself (`rm_results.source = 'user'`), kept apart from the paper's rows "
            "above the line of evidence: they enter the predictor's refit and evaluation when the pipeline "
            "config lists `user` in `predictor.rm_sources` (default), after the paper's rows.")
mine = cached(queries.user_rm_results)
if mine.empty:
    st.caption("None ingested yet.")
else:
    st.dataframe(mine, hide_index=True, width="stretch", placeholder=MISSING, key="user_rm_table",
                 column_config={"hf_id": "Base model",
                                "score": st.column_config.NumberColumn("Overall", format="%.1f")})
with st.expander("Check a results file and get the command that adds it", expanded=mine.empty):
    st.markdown("Upload the results JSON the `rewardbench` CLI wrote, or a CSV with columns `hf_id, method, "
                "chat, chat_hard, safety, reasoning[, score]` (percent). The app only checks and previews the "
                "file; the database changes only when you run the pipeline command shown below (it keeps a copy "
                "of the file under `work/rm_results/`, so every rebuild keeps it).")
    u1, u2 = st.columns(2)
    up_method = u1.radio("Training method", list(registry.METHOD_LABELS), format_func=registry.METHOD_LABELS.get,
                         horizontal=True, key="user_rm_method")
    up_base = u2.text_input("Base model (when the JSON does not name a hub id)", key="user_rm_base").strip() or None
    up = st.file_uploader("Results file", type=["json", "csv"], key="user_rm_file")
    if up is not None:
        from advisor.formats import user_rm

        try:
            rows = user_rm.parse(up.getvalue(), up.name, method=up_method, base=up_base)
        except user_rm.RMFileError as exc:
            st.error(md_text(str(exc)))
        else:
            import pandas as pd

            st.success(f"{len(rows)} result(s) read from {md_text(up.name)}.")
            st.dataframe(pd.DataFrame([r.as_dict() for r in rows]), hide_index=True, width="stretch",
                         placeholder=MISSING, key="user_rm_preview")
            st.markdown("Save the file, then run in the project directory:")
            st.code(user_rm.command(up.name, up_method, up_base), language="bash")
