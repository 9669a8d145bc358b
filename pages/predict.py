"""Predict & shortlist: enter, upload or pick candidate base models; get their predicted RewardBench
score with an interval (or the measured one of a known base), the verdict, confidence tiers, rank (point and
upper-bound), nearest known models and the marks of imputed, clamped and cut values; export
the ranked shortlist. The inputs survive a switch to another page and the picks, method, budget and
input choices live in the link (pages/_state.py)."""

import hashlib

import pandas as pd
import streamlit as st

from advisor.core import registry, scales
from advisor.core.untrusted import md_text
from advisor.db import queries
from advisor.formats import comparison, upload
from advisor.predict.candidates import Reference, gather  # pandas only: the empty page stays light
from pages import _state as state
from pages._shared import cached, load_bundle, shortlist, warm_ranking_imports

TYPED_COLUMNS = ["hf_id", "params_b", "pretrain_tokens_t", *registry.OLL_V2_TASKS]
# fixed pixels, each column as wide as its header, so the editor fits a 1366 px window beside the sidebar
# (the browser test measures it) and the browser test can click cells by position; the two count columns
# get short headers to fit
EDITOR_WIDTHS = [180, 96, 96, 74, 62, 100, 68, 68, 98]
TYPED_HEADERS = {"hf_id": "Model id", "params_b": "Params (B)", "pretrain_tokens_t": "Tokens (T)"}
EXPORTS = {"csv": ("CSV", "text/csv"), "json": ("JSON", "application/json"),
           "markdown": ("Markdown", "text/markdown")}
EXT = {"csv": "csv", "json": "json", "markdown": "md"}
BUDGET_END = 150.0  # the size slider's right end: no upper limit (Llama 4 Maverick has 400B parameters)
PICKER_FILTERS = {"lb_official": ("Official providers only", "official_only", False),
                  "lb_no_merges": ("Hide merges", "hide_merges", False),
                  "lb_no_rms": ("Hide reward models", "hide_reward_models", True)}
KEPT_WIDGETS = ("method", "budget", *comparison.CHOICES, "json_model", "json_params", "lb_search", "lb_orgs",
                "lb_status", "lb_size", *PICKER_FILTERS)


def start_from_link(lb: pd.DataFrame) -> None:
    """On the session's first run: the comparison in the URL, its problems shown as warnings."""
    link, problems = state.read_link()
    if link is not None:
        link.picked, unknown = upload.match_leaderboard_ids(lb, link.picked)
        if unknown:
            problems.append(f"The link's 'pick': {', '.join(repr(u) for u in unknown)} not in the Open LLM "
                            "Leaderboard v2 table; left out. Fix: check the ids, or pick the models in the tab "
                            "'Pick from the Open LLM Leaderboard', which updates the link.")
        state.seed(link, {"method": link.method, "budget": state.slider_of(link.budget, BUDGET_END),
                          **link.choices})
    for msg in problems:
        st.warning(md_text(msg))


def typed_tab() -> list[upload.Candidates]:
    """The typed table: edits are committed with the form's button (no rerun per cell)."""
    t1, t2 = st.columns(2)
    state.init("typed_scale", comparison.CHOICES["typed_scale"][1])
    scale = t1.selectbox("Scale of the typed values", comparison.CHOICES["typed_scale"][0],
                         format_func=lambda s: f"{s}: {upload.SCALE_HELP[s]}", key="typed_scale")
    state.init("typed_settings", comparison.CHOICES["typed_settings"][1])
    settings = t2.radio("Settings the numbers came from", list(scales.SETTINGS), key="typed_settings",
                        format_func=scales.SETTINGS_HELP.get,
                        help="Model-card numbers usually come from other settings (shots, CoT, "
                             "chat template): those rows are flagged as less certain.")
    rows = pd.DataFrame(st.session_state.get(state.TYPED) or [], columns=TYPED_COLUMNS)
    rows = rows.astype({c: object if c == "hf_id" else float for c in TYPED_COLUMNS})
    with st.form("typed_form", border=False, enter_to_submit=False):
        edited = st.data_editor(
            rows, num_rows="dynamic", key=state.widget_key("typed", state.TYPED_GEN), hide_index=True,
            width=sum(EDITOR_WIDTHS) + 40,
            column_config={c: (st.column_config.TextColumn if c == "hf_id" else st.column_config.NumberColumn)(
                TYPED_HEADERS.get(c, registry.label(c)), width=w,
                help="Hugging Face id, org/name" if c == "hf_id" else registry.label(c))
                for c, w in zip(TYPED_COLUMNS, EDITOR_WIDTHS)})
        f1, f2 = st.columns([1, 3])
        commit = f1.form_submit_button("Use these rows", type="primary", key="typed_commit")
        f2.caption("Add rows with the + above the table, then press the button: the rows are ranked then, "
                   "not at every cell.")
    if commit:  # a fresh editor over the committed rows at once: edits typed next go into that one
        st.session_state[state.TYPED] = upload.drop_blank_rows(edited).to_dict("records")
        st.session_state[state.TYPED_GEN] = st.session_state.get(state.TYPED_GEN, 0) + 1
        st.rerun()
    typed = pd.DataFrame(st.session_state.get(state.TYPED) or [], columns=TYPED_COLUMNS)
    if typed.empty:
        return []
    st.button(f"Clear the {len(typed)} typed row(s)", key="typed_clear", on_click=_clear_typed)
    typed = typed.rename(columns={"hf_id": "Model id", **{c: registry.label(c) for c in TYPED_COLUMNS[1:]}})
    return [upload.clean_table(typed, "typed table", scale=scale, first_row=1, settings=settings)]


def _clear_typed() -> None:
    st.session_state[state.TYPED] = []
    st.session_state[state.TYPED_GEN] = st.session_state.get(state.TYPED_GEN, 0) + 1


def upload_tab() -> list[upload.Candidates]:
    """Uploaded files are kept by content for the session (pages/_state.py) and parsed once per content
    and options; the uploader itself is emptied once its files are kept."""
    files = st.file_uploader("CSV (one row per model; columns such as Model, IFEval, BBH, MATH Lvl 5, "
                             "GPQA, MUSR, MMLU-PRO, Params (B)) or lm-evaluation-harness results_*.json",
                             type=["csv", "tsv", "txt", "json"], accept_multiple_files=True,
                             key=state.widget_key("upload", state.UPLOAD_GEN))
    if state.take_uploads(files):
        st.rerun()  # draw the emptied uploader; the files are listed below as kept
    u1, u2, u3 = st.columns(3)
    state.init("upload_scale", comparison.CHOICES["upload_scale"][1])
    scale = u1.selectbox("Scale of the CSV values", list(upload.SCALE_CHOICES),
                         format_func=lambda s: "detect from the values" if s == "auto"
                         else f"{s}: {upload.SCALE_HELP[s]}", key="upload_scale",
                         help="A column can name its own, e.g. 'MMLU-PRO (percent)', and a row "
                              "its own in a 'scale' column (raw, percent or normalized).")
    state.init("upload_settings", comparison.CHOICES["upload_settings"][1])
    settings = u2.radio("Settings the CSV numbers came from", list(scales.SETTINGS),
                        key="upload_settings", format_func=scales.SETTINGS_HELP.get,
                        help="A row can give its own in a 'settings' column (leaderboard or other).")
    state.init("json_model", "")
    json_model = u3.text_input("Model id for JSON files that do not name their model", key="json_model")
    state.init("json_params", None)
    json_size = u3.number_input("Params (B) of the JSON files' model", min_value=0.0, value=None, step=0.1,
                                key="json_params", help="Results files do not state the size; without it "
                                "the size is looked up by model id, and a model of unknown size is not ranked.")
    kept = state.kept_files()
    if kept:
        st.markdown(f"**Kept for this session ({len(kept)})**: read once, used on every page visit until removed.")
    for f in kept:
        k1, k2 = st.columns([5, 1])
        k1.markdown(f"- {md_text(f.name)} ({f.size / 1024:,.1f} KB)")
        k2.button("Remove", key=f"forget_{f.sha[:16]}", on_click=state.forget_upload, args=(f.sha,))
    return [state.parsed(f, scale=scale, params_b=json_size, model_id=json_model.strip() or None,
                         settings=settings) for f in kept]


PICKER_HELP = {
    "lb_official": "Models of organisations that pre-train the models they publish (advisor/core/"
                   "official_providers.csv, each with the model card that says so), as the Open LLM "
                   "Leaderboard's 'Official Providers' filter: no fine-tunes or merges of others' models.",
    "lb_no_merges": "Hides ids whose name says 'merge' or names a mergekit merge method (slerp, ties, dare, "
                    "della, model_stock ...; advisor/core/model_name_rules.csv). The table has no merge "
                    "field: a merge named otherwise stays; 'Official providers only' leaves it out.",
    "lb_no_rms": "Hides reward models: ids named so ('reward', 'RM' as a word) or listed by RewardBench as "
                 "a trained classifier (the database's rewardbench_leaderboard). A reward model is not a base.",
}
PICKER_SHOWN = 1000  # rows the picker's table draws (every row is searched)
PICKER_COLUMNS = ["hf_id", "rank", "average", "params_b", *registry.OLL_V2_TASKS, "org", "known", "official",
                  "merge", "reward_model"]


def pick_tab(lb: pd.DataFrame) -> list[upload.Candidates]:
    """Search every row of the leaderboard table, filter, select rows and add them; remove picked models
    one at a time."""
    p1, p2, p3 = st.columns([2, 2, 1])
    state.init("lb_search", "")
    search = p1.text_input("Search every model id (words in any order)", key="lb_search",
                           placeholder="e.g. llama 3.1 8b instruct")
    state.init("lb_orgs", [])
    orgs = p2.multiselect("Organisation", sorted(lb["org"].dropna().unique()), key="lb_orgs")
    state.init("lb_status", "all")
    status = p3.radio("Models", ["all", "new", "known"], horizontal=True, key="lb_status",
                      format_func={"all": "all", "new": "new", "known": "with known RMs"}.get)
    flags = {}
    for col, (key, (label, arg, default)) in zip(st.columns(len(PICKER_FILTERS)), PICKER_FILTERS.items()):
        state.init(key, default)
        flags[arg] = col.toggle(label, key=key, help=PICKER_HELP[key])
    top = float(lb["params_b"].max())
    state.init("lb_size", (0.0, top))
    size = st.slider("Size range (B)", 0.0, top, step=0.5, key="lb_size")
    shown = queries.filter_leaderboard(lb, search, size, orgs, status, **flags)
    hidden = len(queries.filter_leaderboard(lb, search, size, orgs, status)) - len(shown)
    st.caption(f"{len(shown):,} of {len(lb):,} leaderboard models match"
               + (f" ({hidden:,} more hidden by the switches)" if hidden else "")
               + (f"; the first {PICKER_SHOWN:,} are listed" if len(shown) > PICKER_SHOWN else "")
               + ". Official providers' models first, then by leaderboard rank; normalized scores, 0-100. "
               "Select rows with the boxes on their left, then add them.")
    query = hashlib.sha256(repr((search, orgs, status, size, flags)).encode()).hexdigest()[:12]
    table_key = f"lb_table_{st.session_state.get('_lb_gen', 0)}_{query}"  # a new query: a new, unselected table
    event = st.dataframe(shown.head(PICKER_SHOWN)[PICKER_COLUMNS], hide_index=True, width="stretch", height=320,
                         key=table_key, on_select="rerun", selection_mode="multi-row", column_config=PICKER_CONFIG)
    chosen = shown["hf_id"].head(PICKER_SHOWN).iloc[list(event.selection.rows)].tolist()
    b1, b2 = st.columns(2)
    b1.button(f"Add {len(chosen)} selected", key="lb_add", on_click=_add, args=(chosen,), disabled=not chosen,
              type="primary")
    b2.button(f"Add the first {min(len(shown), 25)} matching", key="lb_add_top", on_click=_add,
              args=(list(shown["hf_id"].head(25)),), disabled=shown.empty)
    picked = st.session_state.get(state.PICKED) or []
    if not picked:
        return []
    st.session_state["lb_picked"] = list(picked)  # the chips show the picks; removing one calls _repick
    st.multiselect(f"Picked ({len(picked)}): remove one with its ×", picked, key="lb_picked", on_change=_repick)
    st.button("Clear picked models", key="lb_clear", on_click=lambda: st.session_state.update({state.PICKED: []}))
    return [upload.leaderboard_candidates(lb, picked)]


PICKER_CONFIG = {
    "hf_id": st.column_config.TextColumn("Model id", width=300),
    "rank": st.column_config.NumberColumn("Leaderboard rank", format="%d", help="The Open LLM Leaderboard v2's "
                                          "own rank by its average, not the advisor's ranking"),
    "average": st.column_config.NumberColumn("Leaderboard average", format="%.2f"),
    "params_b": st.column_config.NumberColumn("Params (B)", format="%.1f"),
    **{c: st.column_config.NumberColumn(registry.label(c), format="%.2f") for c in registry.OLL_V2_TASKS},
    "org": "Organisation",
    "known": st.column_config.CheckboxColumn("Known RMs", help="One of the paper's 40 models, with measured "
                                             "reward models"),
    "official": st.column_config.CheckboxColumn("Official provider", help=PICKER_HELP["lb_official"]),
    "merge": st.column_config.CheckboxColumn("Merge", help=PICKER_HELP["lb_no_merges"]),
    "reward_model": st.column_config.CheckboxColumn("Reward model", help=PICKER_HELP["lb_no_rms"]),
}


def _add(ids) -> None:
    st.session_state[state.PICKED] = list(dict.fromkeys([*(st.session_state.get(state.PICKED) or []), *ids]))
    st.session_state["_lb_gen"] = st.session_state.get("_lb_gen", 0) + 1  # a fresh table: no stale selection


def _repick() -> None:
    st.session_state[state.PICKED] = list(st.session_state["lb_picked"])


def _load_example() -> None:
    state.keep_upload(upload.EXAMPLE_FILE.name, upload.EXAMPLE_FILE.read_bytes())


st.title("Which base model should I train my reward model on?")
st.markdown("Add candidate base models in any of the three ways below (they combine). The advisor "
            "predicts the RewardBench score a reward model trained on each would reach, from its "
            "Open LLM Leaderboard v2 results and size, with an interval, and ranks them.")
db = cached(queries.database_summary)
st.caption(f"Database: {db['rm_models']} models with reward-model results ({db['rm_rows']} RewardBench rows), "
           f"{db['scores']:,} scores of {db['benchmarks']} benchmarks, {db['leaderboard']:,} Open LLM "
           f"Leaderboard v2 models to pick from; built {str(db['built'])[:16]} UTC. Details: the "
           f"*Data & provenance* page.")
lb = cached(queries.leaderboard)
start_from_link(lb)
c1, c2 = st.columns([1, 2])
state.init("method", comparison.DEFAULT_METHOD)
method = c1.radio("Reward-model training method", list(registry.METHOD_LABELS), horizontal=True,
                  format_func=registry.METHOD_LABELS.get, key="method",
                  help="Regression: multi-attribute scores (HelpSteer2). Bradley-Terry: binary "
                       "preferences (HelpSteer2-Preference).")
state.init("budget", (0.0, BUDGET_END))
budget = state.budget_of(c2.slider("Size budget (billions of parameters; the right end means no upper limit)",
                                   0.0, BUDGET_END, step=0.5, key="budget"), BUDGET_END)
st.button("Load the example: 20 recent models", key="load_example", on_click=_load_example,
          help=f"Adds {upload.EXAMPLE_FILE.name} as an uploaded file: the numbers the model cards of Llama 3.3 "
               "and 4, Gemma 3, OLMo 2, SmolLM3 and Qwen3 print, in percent (provenance: data/SOURCES.md).")

parts: list[upload.Candidates] = []
tab_type, tab_upload, tab_pick = st.tabs(["Type candidates", "Upload CSV / lm-eval JSON",
                                          "Pick from the Open LLM Leaderboard"])
with tab_type:
    parts += typed_tab()
with tab_upload:
    parts += upload_tab()
with tab_pick:
    parts += pick_tab(lb)
state.keep(KEPT_WIDGETS)
state.write_link(comparison.Comparison(
    picked=st.session_state.get(state.PICKED, []), method=method, budget=budget,
    choices={k: st.session_state[k] for k in comparison.CHOICES}))

# one candidate table, checked once and completed from the database (advisor.predict.candidates), as
# `python -m advisor rank` builds it
reference = Reference(lb, cached(queries.known_models))
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
for m in evidence.chosen_first(method):  # both methods' evidence above any ranking; a box only for the chosen one
    row = evidence.served_row(served, m)
    (st.caption if m != method else st.markdown if evidence.has_skill(row) else st.warning)(evidence.sentence(row, m))
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
