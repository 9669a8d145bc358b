"""Predict & shortlist: enter, upload or pick candidate base models; get their predicted RewardBench
score with an interval (or the measured one of a known base), the verdict, confidence tiers, rank (point and
upper-bound), nearest known models and the marks of imputed, clamped and cut values; export
the ranked shortlist."""

import math

import pandas as pd
import streamlit as st

from advisor.core import registry, scales
from advisor.core.untrusted import md_text
from advisor.db import queries
from advisor.formats import upload
from advisor.predict.candidates import Reference, gather  # pandas only: the empty page stays light
from pages._shared import cached, load_bundle, shortlist, warm_ranking_imports

TYPED_COLUMNS = ["hf_id", "params_b", "pretrain_tokens_t", *registry.OLL_V2_TASKS]
EDITOR_WIDTHS = [220] + [120] * (len(TYPED_COLUMNS) - 1)  # fixed pixels: the browser test clicks cells
EXPORTS = {"csv": ("CSV", "text/csv"), "json": ("JSON", "application/json"),
           "markdown": ("Markdown", "text/markdown")}
EXT = {"csv": "csv", "json": "json", "markdown": "md"}
BUDGET_END = 150.0  # the size slider's right end: no upper limit (Llama 4 Maverick has 400B parameters)

st.title("Which base model should I train my reward model on?")
st.markdown("Add candidate base models in any of the three ways below (they combine). The advisor "
            "predicts the RewardBench score a reward model trained on each would reach, from its "
            "Open LLM Leaderboard v2 results and size, with an interval, and ranks them.")
db = cached(queries.database_summary)
st.caption(f"Database: {db['rm_models']} models with reward-model results ({db['rm_rows']} RewardBench rows), "
           f"{db['scores']:,} scores of {db['benchmarks']} benchmarks, {db['leaderboard']:,} Open LLM "
           f"Leaderboard v2 models to pick from; built {str(db['built'])[:16]} UTC. Details: the "
           f"*Data & provenance* page.")
c1, c2 = st.columns([1, 2])
method = c1.radio("Reward-model training method", list(registry.METHOD_LABELS), horizontal=True,
                  format_func=registry.METHOD_LABELS.get, key="method",
                  help="Regression: multi-attribute scores (HelpSteer2). Bradley-Terry: binary "
                       "preferences (HelpSteer2-Preference).")
low, high = c2.slider("Size budget (billions of parameters; the right end means no upper limit)", 0.0, BUDGET_END,
                      (0.0, BUDGET_END), 0.5, key="budget")
budget = (low, math.inf if high >= BUDGET_END else high)  # the default ranks what `rank` ranks: every size

parts: list[upload.Candidates] = []
tab_type, tab_upload, tab_pick = st.tabs(["Type candidates", "Upload CSV / lm-eval JSON",
                                          "Pick from the Open LLM Leaderboard"])
with tab_type:
    t1, t2 = st.columns(2)
    scale_typed = t1.selectbox("Scale of the typed values", ["normalized", "raw", "percent"],
                               format_func=lambda s: f"{s}: {upload.SCALE_HELP[s]}", key="typed_scale")
    settings_typed = t2.radio("Settings the numbers came from", list(scales.SETTINGS), key="typed_settings",
                              format_func=scales.SETTINGS_HELP.get,
                              help="Model-card numbers usually come from other settings (shots, CoT, "
                                   "chat template): those rows are flagged as less certain.")
    editor = st.data_editor(
        pd.DataFrame({c: pd.Series(dtype=str if c == "hf_id" else float) for c in TYPED_COLUMNS}),
        num_rows="dynamic", key="typed", width=sum(EDITOR_WIDTHS) + 40,
        column_config={"hf_id": st.column_config.TextColumn("Model id", help="Hugging Face id, org/name",
                                                            width=EDITOR_WIDTHS[0]),
                       **{c: st.column_config.NumberColumn(registry.label(c), width=w)
                          for c, w in zip(TYPED_COLUMNS[1:], EDITOR_WIDTHS[1:])}})
    typed = upload.drop_blank_rows(editor)
    typed = typed.rename(columns={"hf_id": "Model id", **{c: registry.label(c) for c in TYPED_COLUMNS[1:]}})
    if len(typed):
        parts.append(upload.clean_table(typed, "typed table", scale=scale_typed, first_row=1,
                                        settings=settings_typed))

with tab_upload:
    files = st.file_uploader("CSV (one row per model; columns such as Model, IFEval, BBH, MATH Lvl 5, "
                             "GPQA, MUSR, MMLU-PRO, Params (B)) or lm-evaluation-harness results_*.json",
                             type=["csv", "tsv", "txt", "json"], accept_multiple_files=True, key="upload")
    u1, u2, u3 = st.columns(3)
    scale_upload = u1.selectbox("Scale of the CSV values", list(upload.SCALE_CHOICES),
                                format_func=lambda s: "detect from the values" if s == "auto"
                                else f"{s}: {upload.SCALE_HELP[s]}", key="upload_scale",
                                help="A column can name its own, e.g. 'MMLU-PRO (percent)', and a row "
                                     "its own in a 'scale' column (raw, percent or normalized).")
    settings_upload = u2.radio("Settings the CSV numbers came from", list(scales.SETTINGS),
                               key="upload_settings", format_func=scales.SETTINGS_HELP.get,
                               help="A row can give its own in a 'settings' column (leaderboard or other).")
    json_model = u3.text_input("Model id for JSON files that do not name their model", key="json_model")
    json_size = u3.number_input("Params (B) of the JSON files' model", min_value=0.0, value=None, step=0.1,
                                key="json_params", help="Results files do not state the size; without it "
                                "the size is looked up by model id, and a model of unknown size is not ranked.")
    for f in files or []:
        parts.append(upload.parse_upload(f.getvalue(), f.name, scale=scale_upload, params_b=json_size,
                                         model_id=json_model.strip() or None, settings=settings_upload))

with tab_pick:
    lb = cached(queries.leaderboard)
    p1, p2, p3 = st.columns([2, 2, 1])
    search = p1.text_input("Search model ids", key="lb_search")
    orgs = p2.multiselect("Organisation", sorted(lb["org"].dropna().unique()), key="lb_orgs")
    status = p3.radio("Models", ["all", "new", "known"], horizontal=True, key="lb_status",
                      format_func={"all": "all", "new": "new", "known": "with known RMs"}.get)
    size = st.slider("Size range (B)", 0.0, float(lb["params_b"].max()), (0.0, float(lb["params_b"].max())),
                     0.5, key="lb_size")
    shown = queries.filter_leaderboard(lb, search, size, orgs, status)
    st.caption(f"{len(shown):,} of {len(lb):,} leaderboard models match (normalized scores, 0-100).")
    st.dataframe(shown.head(200), hide_index=True, width="stretch", key="lb_table",
                 column_config={c: registry.label(c) for c in registry.OLL_V2_TASKS})
    picked = st.session_state.setdefault("picked", [])
    choice = st.multiselect("Models to add", list(shown["hf_id"].head(1000)), key="lb_choice")

    def _add(ids):
        st.session_state["picked"] = list(dict.fromkeys([*st.session_state["picked"], *ids]))
        st.session_state["lb_choice"] = []

    b1, b2, b3 = st.columns(3)
    b1.button(f"Add {len(choice)} chosen", key="lb_add", on_click=_add, args=(choice,),
              disabled=not choice)
    b2.button(f"Add the first {min(len(shown), 25)} matching", key="lb_add_top", on_click=_add,
              args=(list(shown["hf_id"].head(25)),), disabled=shown.empty)
    b3.button("Clear picked models", key="lb_clear", on_click=lambda: st.session_state.update(picked=[]),
              disabled=not picked)
    picked = st.session_state["picked"]
    if picked:
        st.markdown(f"**Picked ({len(picked)})**: " + ", ".join(md_text(p) for p in picked[:30])
                    + (" ..." if len(picked) > 30 else ""))
        parts.append(upload.leaderboard_candidates(lb, picked))

# one candidate table, checked once and completed from the database (advisor.predict.candidates), as
# `python -m advisor rank` builds it
reference = Reference(cached(queries.leaderboard), cached(queries.known_models))
candidates, errors, warnings, notes = gather(parts, reference)
for msg in errors:  # messages quote file names, ids and cells: shown as text, never as Markdown
    st.error(md_text(msg))
for msg in warnings:
    st.warning(md_text(msg))
for msg in notes:
    st.info(md_text(msg))

st.divider()
st.header("Ranked candidates")
if candidates.empty:
    st.info("No candidates yet: type some, upload a file, or pick models from the leaderboard above.")
    warm_ranking_imports()  # in the background, while the user chooses candidates
    st.stop()

# imported only now: scikit-learn and plotly take seconds to import, the empty page needs neither
from advisor.analyses import transfer  # noqa: E402
from advisor.predict import evidence, explain, export, next_measure, ranking, verdict  # noqa: E402
from pages import _figures as figures  # noqa: E402

bundle, bundle_problem = load_bundle()
if bundle is None:
    st.warning(bundle_problem)
    st.dataframe(candidates, hide_index=True, width="stretch", key="candidates_only")
    st.stop()

served = cached(queries.table, name="predictor_served")
for m in registry.METHOD_LABELS:  # the out-of-sample evidence of both methods, above any ranking
    row = evidence.served_row(served, m)
    (st.markdown if evidence.has_skill(row) else st.warning)(evidence.sentence(row, m))
st.caption("Measured on models the predictor did not see: repeated nested cross-validation and whole "
           "lineages (publishers) held out, in the same run as the baselines. Details: the *Evidence* page.")

with st.spinner("Ranking (a partial candidate's reduced spec vs imputation is measured once per pattern)..."):
    short = shortlist(candidates, method, budget)
for msg in short.errors:
    st.error(md_text(msg))
for msg in short.notes:
    st.caption(md_text(msg))
if short.predicted.empty:
    st.info("No candidate is left to rank: check the messages above and the size budget.")
    st.markdown("\n".join(f"- {md_text(h)}: not ranked ({md_text(r)})"
                          for h, r in zip(short.table.get("hf_id", []), short.table.get("not_ranked", []))))
    st.stop()
show, level = short.table, short.level
LEVEL = export.level_text(level)
found = verdict.verdict(show, transfer.recipe_caveat(cached(queries.table, name="transfer_agreement"), method),
                        method)
ranked = show[show["rank"].notna()]
st.subheader("Verdict")
st.markdown("\n".join(f"- {md_text(line)}" for line in found.lines))
m1, m2, m3 = st.columns(3)
m1.metric("Top group (upper-bound rank 1)", len(found.top_group),
          help="Statistically tied when several: no other candidate's interval lies wholly above theirs.")
m2.metric("Candidates ranked", len(ranked))
m3.metric("Not ranked", len(show) - len(ranked))
with st.expander("Confidence tiers: what each means"):
    st.markdown("\n".join(f"- `{t}`: {registry.TIER_DEFINITIONS[t]}." for t in registry.TIER_DISPLAY_ORDER))
unskilled = show[show["rank"].isna() & show["not_ranked"].eq("")]
if len(unskilled):
    st.warning(f"The {registry.METHOD_LABELS[method]} predictor has no skill out of sample on the scale of "
               f"{len(unskilled)} candidate(s), so they are not ranked by it (flag 'no skill'). What is known "
               "instead: each candidate's nearest known models and their measured reward models (the details "
               "view's 'Their measured RMs').")


def _styled(frame: pd.DataFrame):
    """A table whose missing cells read MISSING ('—'), never None or <NA> (the values stay numbers)."""
    return frame.style.format(na_rep=export.MISSING, precision=1)


st.caption(f"{registry.METHOD_LABELS[method]} reward models; predictor version {short.version}; intervals are "
           f"{LEVEL} conformal intervals. Rank: by the score in 'RewardBench' (measured first: a base with a "
           "measured reward model of this method is ranked by that measurement, a point). Upper-bound rank: 1 + "
           "the number of candidates whose whole interval lies above this one's (as Chatbot Arena ranks), so "
           "ties in uncertainty share a rank. Size rank: the order by parameter count alone, the baseline to "
           "beat. Every column, with the inputs and their provenance: *All columns* below the table.")
read = export.reading_table(show, level)
st.dataframe(_styled(read), hide_index=True, width="stretch", key="ranking_read",
             column_config={"RewardBench": st.column_config.NumberColumn(format="%.1f", width="small"),
                            "Size (B)": st.column_config.NumberColumn(format="%.3g", width="small"),
                            **{c: st.column_config.Column(width="small") for c in read.columns[[0, 2, 5, 7]]},
                            "Flags": st.column_config.TextColumn(width="large")})
with st.expander("All columns (the full table, as the CSV and JSON downloads hold it)"):
    labels = export.column_labels(level)
    st.dataframe(_styled(show), hide_index=True, width="stretch", key="ranking",
                 column_config={c: labels.get(c, registry.label(c)) for c in show.columns})
n_out = int((show["tier"] == "low").sum())
if n_out:
    st.warning(f"{n_out} candidate(s) have low confidence (column 'Confidence'): outside the predictor's domain "
               "(no known model nearby) or with inputs beyond the range of the known models (flag 'clamped', "
               "clamped to that range). Their intervals are widened; read them as rough.")
st.caption("Predictions and bounds are clipped to RewardBench's 0-100; a cut end is flagged ('cut at 100') and "
           "drawn as an arrow in the chart.")
if not ranked.empty:
    st.plotly_chart(figures.ranking(ranked.head(60), f"RewardBench ({registry.METHOD_LABELS[method]}): "
                                    "measured or predicted", level), key="fig_rank")
if len(unskilled):
    other = next((m for m in registry.METHOD_LABELS if m != method
                  and evidence.has_skill(evidence.served_row(served, m))), None)
    alt = shortlist(candidates, other, budget).table if other else None
    if alt is not None and alt["rank"].notna().any():
        st.subheader(f"Ranking by the {registry.METHOD_LABELS[other]} predictor instead")
        st.caption(f"Labelled as such: these are predicted {registry.METHOD_LABELS[other]} reward models "
                   f"(that predictor has skill), not {registry.METHOD_LABELS[method]} ones.")
        alt = alt[alt["rank"].notna()]
        st.plotly_chart(figures.ranking(alt.head(60), f"RewardBench ({registry.METHOD_LABELS[other]}, "
                                        f"not {registry.METHOD_LABELS[method]}): measured or predicted", level),
                        key="fig_rank_other")

st.subheader("What to measure next")
st.caption(f"For each candidate of the top group: the one missing input whose measurement would narrow its "
           f"{LEVEL} interval the most, from the measured error of the input pattern it would then have (the "
           "predictor is asked again with that input in place), and what running it costs: the lm-eval task "
           "of the Open LLM Leaderboard and an estimate of GPU-hours from measured H100 throughput (how: the "
           "manual, docs/app.md).")
pending = next_measure.pending(show, bundle, method, found.top_group)
if pending and not st.button(f"Work it out ({pending} new input pattern(s) to evaluate, about "
                             f"{max(1, round(2 * pending))} s on 2 cores)", key="next_go"):
    nexts = None
else:
    with st.spinner("Evaluating the input patterns each option would give ..."):
        nexts = next_measure.what_to_measure_next(show, bundle, method, found.top_group)
    if pending and not next_measure.pending(show, bundle, method, found.top_group):
        st.rerun()  # worked out and cached now: once more, so the button goes
    st.markdown("\n".join(f"- {md_text(e['line'])}" for e in nexts) or "- The top group is empty.")

st.subheader("Cost against quality")
whole = shortlist(candidates, method).table if tuple(budget) != ranking.DEFAULT_BUDGET else show
inside = whole["params_b"].between(*budget) | whole["params_b"].isna()
st.plotly_chart(figures.cost_quality(whole, verdict.pareto(whole), inside, budget, level,
                                     f"Score against size ({registry.METHOD_LABELS[method]}): the frontier"
                                     + ("" if tuple(budget) == ranking.DEFAULT_BUDGET else
                                        f" and the size budget {ranking.budget_text(budget)}")), key="fig_cost")
outside = whole[~inside]
st.caption("Each candidate at the score it is ranked by (or its prediction), with its interval; the dotted line "
           "joins the frontier (no other candidate is both smaller and better); the shaded band is the size "
           "budget. " + ("Outside the budget, not ranked above: " + "; ".join(
               f"{md_text(r.hf_id)} ({r.params_b:g}B, {'measured' if r.ranked_by == 'measured' else 'predicted'} "
               f"{r.ranking_score if pd.notna(r.ranking_score) else r.prediction:.1f})"
               for r in outside.itertuples()) + "." if len(outside) else "Every candidate is inside the budget."))

with st.expander("Why it ranks here: each input's part of a prediction"):
    parts = explain.explain(show, bundle, method)
    if parts:
        who = st.selectbox("Candidate", list(parts), key="why_pick")
        e = parts[who]
        st.markdown(md_text(f"{who} ({e['spec']}): {e['line']}."))
        if "parts" in e:
            st.dataframe(pd.DataFrame(e["parts"]).rename(columns={
                "label": "Input", "value": "Value the fit reads", "contribution": "Points", "note": "Note"})
                [["Input", "Value the fit reads", "Points", "Note"]], hide_index=True, key="why_table",
                column_config={"Points": st.column_config.NumberColumn(format="%+.1f")})
        st.caption("The served predictors are linear: a prediction is the known models' mean RewardBench score "
                   "plus one part per input, how far this candidate's input (imputed where missing, clamped to "
                   "the known models' range) moves it. A measured candidate is ranked by its measurement; this "
                   "explains its prediction.")
    else:
        st.caption("No candidate was predicted.")

st.subheader("Export the shortlist")
st.caption(f"CSV and JSON: the full table for machines (every column; the predictor version and the interval level, "
           f"{LEVEL}, on every row / at the top). Markdown: the verdict, then the first rows in eight columns, "
           "for a terminal or a chat message. The same files as `python -m advisor rank --format csv|json|markdown`.")
top = st.number_input("Rows in the Markdown", min_value=1, max_value=max(1, len(show)),
                      value=min(export.MARKDOWN_TOP, len(show)), key="md_top")
cols = st.columns(len(EXPORTS))
extra = {"what_to_measure_next": nexts} if nexts is not None else None
for col, (fmt, (label, mime)) in zip(cols, EXPORTS.items()):
    col.download_button(f"Download {label}", export.export_shortlist(
        show, fmt, short.version, level, found.to_json(), top=int(top) if fmt == "markdown" else None, extra=extra),
        file_name=f"rm-advisor-shortlist.{EXT[fmt]}", mime=mime, key=f"dl_{fmt}")
with st.expander("Preview (Markdown)"):
    st.code(export.export_shortlist(show, "markdown", short.version, level, found.to_json(), top=int(top)),
            language="markdown", wrap_lines=True)
