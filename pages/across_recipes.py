"""Across recipes: does the advisor's order of base models hold for reward models trained with other
recipes? Public groups that trained one recipe on several bases, observed vs predicted order."""

import streamlit as st

from advisor.analyses import transfer
from advisor.core import registry
from advisor.core.untrusted import md_text
from advisor.db import queries
from pages import _figures as figures
from pages import _tables as tables
from pages._shared import cached, source_caption
from pages._tables import MISSING

st.title("Across recipes")
st.markdown(
    "The advisor predicts RewardBench for the paper's recipes (HelpSteer2 regression and "
    "HelpSteer2-Preference Bradley-Terry). Several groups trained **one recipe on several bases** and "
    "published the RewardBench scores; here the advisor's predicted **order** of those bases is set "
    "against the observed order. These reward models are evaluation data only: the advisor never trains "
    "on them.")
st.info(
    "**Read with care.** The groups differ from the paper in training data, method (some are implicit "
    "DPO/KTO rewards), hyperparameters and, for RewardBench 2 rows, the benchmark itself: only the order "
    "of bases is compared, never the score level. Each comparison has 3 to 7 bases, so one swapped pair "
    "moves Spearman a lot, and no single comparison is significant on its own; comparisons of one group "
    "share bases and runs, so they are not independent. Bases the advisor was trained on get their "
    "out-of-fold prediction (from the cross-validation fold that held them out), not the in-sample fit; 70B "
    "bases lie outside its range, and missing features are imputed.", icon="⚠️")

agreement = cached(queries.table, name="transfer_agreement")
per_base = cached(queries.table, name="transfer_predictions")
lineage = cached(queries.table, name="transfer_lineage")
if agreement.empty:
    st.warning("No transfer analysis in this database yet. Fix: run `python -m pipeline.run` "
               "(stages ingest and predictor) and reload.")
    st.stop()

st.subheader("Summary across comparisons")
done = agreement[agreement["spearman"].notna()]
st.dataframe(transfer.summary_table(agreement, lineage), hide_index=True, width="stretch", placeholder=MISSING,
             key="transfer_summary",
             column_config={"median Spearman": st.column_config.NumberColumn(format="%+.2f"),
                            "pairs ordered alike": st.column_config.NumberColumn(format="%.2f"),
                            "alike beyond noise": st.column_config.NumberColumn(format="%.2f")})
st.caption("Baselines: *bigger is better* ranks by parameter count (undefined when all bases are the same "
           "size); *OLL v2 mean* ranks by the mean of the six Open LLM Leaderboard v2 tasks. A pair is "
           "*beyond seed noise* when its observed gap exceeds 2 x the spread of a difference between two "
           "runs of the same configuration with other seeds (groups with repeated seeds only).")

st.subheader("One comparison")
comparisons = list(dict.fromkeys(done["comparison"]))
c1, c2 = st.columns([3, 1])
comp = c1.selectbox("Group | benchmark | method | data | hyperparameters", comparisons, key="transfer_comparison")
methods = [m for m in transfer.METHOD_LABELS if m in set(done.loc[done["comparison"] == comp, "advisor_method"])]
method = c2.radio("Predictor", methods, format_func=transfer.METHOD_LABELS.get, key="transfer_method")
row = done[(done["comparison"] == comp) & (done["advisor_method"] == method)].iloc[0]
pb = per_base[(per_base["comparison"] == comp) & (per_base["advisor_method"] == method)]
st.plotly_chart(figures.transfer_slope(pb, f"Observed vs predicted order ({transfer.METHOD_LABELS[method]})"),
                key="transfer_slope")
m1, m2, m3, m4 = st.columns(4)
m1.metric("Spearman", f"{row['spearman']:+.2f}", help=f"exact permutation p = {row['spearman_p']:.2f}")
m2.metric("Kendall", f"{row['kendall']:+.2f}", help=f"p = {row['kendall_p']:.2f}")
m3.metric("Pairs ordered alike", f"{row['pairs_agree']:.0%} of {int(row['pairs'])}")
m4.metric("Top pick", "agrees" if row["top_agrees"] else "differs")
noise = transfer.noise_text(row)
st.markdown(
    f"**Recipe:** {md_text(row['recipe_method'])}; data {md_text(row['recipe_data'])}; "
    f"{md_text(row['hyperparameters'])}. **Benchmark:** "
    f"{transfer.VERSION_LABELS.get(row['rewardbench_version'], row['rewardbench_version'])}. "
    f"**Bases:** {int(row['n_bases'])} with features of {int(row['n_bases_total'])}; "
    f"{int(row['n_in_training'])} in the advisor's training data, {int(row['n_out_of_domain'])} out of its "
    f"domain, {int(row['n_imputed'])} with imputed features. **Noise:** {noise}. Observed top: "
    f"{md_text(row['top_observed'])}; predicted top: {md_text(row['top_predicted'])}.")
tables.show(pb[["base_hf_id", "observed", "observed_sd", "n_runs", "observed_rank", "predicted", "lower", "upper",
                 "predicted_rank", "prediction_kind", "in_training", "in_domain", "imputed", "rm_ids"]],
            "transfer_bases", {
                "base_hf_id": ("Base model", None, "large"), "observed": ("Observed", "%.1f"),
                "observed_sd": ("sd over runs", "%.1f"), "n_runs": ("Runs", "%d"),
                "observed_rank": ("Observed rank", "%d"), "predicted": ("Predicted", "%.1f"),
                "lower": ("Lower", "%.1f"), "upper": ("Upper", "%.1f"),
                "predicted_rank": ("Predicted rank", "%d"), "prediction_kind": ("Prediction", None),
                "in_training": ("In the advisor's training data", None), "in_domain": ("In domain", None),
                "imputed": ("Imputed inputs", None), "rm_ids": ("Reward model(s)", None)})

lin = lineage[(lineage["comparison"] == comp) & (lineage["advisor_method"] == method)] if len(lineage) else lineage
if len(lin):
    st.markdown("**Base vs post-trained (as the paper's Table 1):** change of the score in percent of the base "
                "model's, observed and predicted.")
    tables.show(lin[["base_hf_id", "post_trained_hf_id", "observed_delta_pct", "predicted_delta_pct", "same_sign"]],
                "transfer_lineage", {"base_hf_id": ("Base model", None), "post_trained_hf_id": ("Post-trained", None),
                                     "observed_delta_pct": ("Observed Δ", "%+.1f%%"),
                                     "predicted_delta_pct": ("Predicted Δ", "%+.1f%%"),
                                     "same_sign": ("Same sign", None)})

with st.expander("Every comparison and predictor"):
    st.dataframe(agreement, hide_index=True, width="stretch", placeholder=MISSING, key="transfer_all")
skipped = agreement[agreement["spearman"].isna() & agreement["advisor_method"].isin(registry.METHODS)]
if len(skipped):
    with st.expander(f"Not evaluated ({skipped['comparison'].nunique()} comparisons)"):
        st.dataframe(skipped.drop_duplicates("comparison")[["comparison", "n_bases", "n_bases_total", "note"]],
                     hide_index=True, width="stretch", key="transfer_skipped")
with st.expander("The external reward models (verified bases)"):
    st.dataframe(cached(queries.table, name="external_rm_results"), hide_index=True, width="stretch",
                 placeholder=MISSING, key="external_rms")
source_caption("data/external/external_rm_groups.csv (bases verified against model cards and configs; scores "
               "from the RewardBench leaderboard, evaleval/every_eval_ever @ d9be34d6) and the predictor stage's "
               "transfer_* tables")
