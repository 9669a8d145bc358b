"""The shortlist for reading and for machines (issue 26): one home for its columns, labels and exports.

* **For reading** (``reading_table``): at most ten labelled columns, in this order: rank, candidate,
  confidence tier, the score it is ranked by (measured, or predicted), the interval at the bundle's level,
  upper-bound rank, size, size rank and one ``Flags`` cell that says in words what the full table says in a
  dozen columns (measured and where, out of domain, clamped and imputed inputs, partial, other settings, a
  cut interval end, indistinguishable rows, the reason a row is not ranked). Missing values are blank
  (``None``/NaN) in the frame and print as ``MISSING`` ("—") wherever text is written.
* **For machines**: the full shortlist as CSV or JSON (every column, machine names, the predictor version
  and the interval level on every row / at the top of the document).
* **Compact Markdown** (``compact_markdown``): the verdict lines first, the interval level and predictor
  version, then the top ``n`` rows in at most eight of the reading columns (size rank left out), and a line
  saying how many more rows the CSV / JSON hold: what reads well in a terminal or a chat message.

The same functions serve the Predict page (table, details view, downloads) and ``python -m advisor rank``
(``--format csv|json`` the full table, ``markdown`` the compact one). User text is data: CSV cells are
neutralised against formula injection and Markdown cells escaped (``advisor.core.untrusted``).
"""

from __future__ import annotations

import json
import math

import pandas as pd

from advisor.core import registry, untrusted
from advisor.predict import verdict as verdicts

MISSING = "—"  # how a missing value prints in the reading table, the details view and the Markdown
FORMATS = ("csv", "json", "markdown")
MARKDOWN_TOP = 10  # rows of the compact Markdown unless asked otherwise (--top N, the page's number box)
LIST_COLUMNS = ("nearest_known", "imputed", "extrapolated")  # list cells, joined by "; " in text exports


def level_text(level: float) -> str:
    """The interval level as people write it: 0.9 -> '90%'."""
    return f"{100 * level:.0f}%"


def reading_labels(level: float) -> dict[str, str]:
    """{reading column: label}: the reading table's columns in order (``reading_table``)."""
    return {"rank": "Rank", "candidate": "Candidate", "tier": "Confidence", "score": "RewardBench",
            "interval": f"{level_text(level)} interval", "rank_upper": "Upper-bound rank",
            "params_b": "Size (B)", "size_rank": "Size rank", "flags": "Flags"}


def column_labels(level: float) -> dict[str, str]:
    """{shortlist column: label} for the details view (every column a person might read); a column not
    named here shows its registry label (``registry.label``)."""
    lv = level_text(level)
    out = {"hf_id": "Candidate", "rank": "Rank", "rank_upper": "Upper-bound rank", "tier": "Confidence",
           "ranked_by": "Ranked by", "ranking_score": "Ranked on", "measured_score": "Measured",
           "measured_source": "Measured in", "prediction": "Predicted", "lower": f"Lower ({lv})",
           "upper": f"Upper ({lv})", "lower_cut": "Lower cut at 0", "upper_cut": "Upper cut at 100",
           "size_rank": "Size rank", "skill": "Skill", "spec": "Predictor spec", "scale": "Scale",
           "nearest_known": "Nearest known models", "nearest_measured": "Their measured RMs",
           "imputed": "Imputed inputs", "fallback": "Fallback", "extrapolated": "Clamped inputs",
           "widened": "Interval widened", "widened_why": "Why widened", "in_domain": "In domain",
           "partial_method": "Partial inputs served by", "partial_mae": "Its lineage-out MAE",
           "rank_note": "Rank note", "settings": "Settings", "partial": "Partial", "missing": "Missing tasks",
           "input_scale": "Input scale", "converted": "Converted", "ambiguous": "Ambiguous cells",
           "note": "Note", "size_source": "Size from", "not_ranked": "Not ranked because",
           "known": "Known model (the paper's)"}
    for c in registry.RM_SECTIONS:
        name = registry.CATEGORY_LABELS[c]
        out |= {f"pred_{c}": f"{name} (pred.)", f"lower_{c}": f"{name} lower", f"upper_{c}": f"{name} upper"}
    for f in (*registry.OLL_V2_TASKS, *registry.TRAINING_METRICS):
        out[f"prov_{f}"] = f"{registry.label(f)} from"
    return out


def _names(v) -> list[str]:
    """A list cell (or its '; '-joined export) as a list."""
    if isinstance(v, (list, tuple)):
        return list(v)
    return [x for x in str(v).split("; ") if x] if isinstance(v, str) else []


SHORT_NAMES = {"params_b": "size", "pretrain_tokens_t": "tokens"}  # in Flags: inputs by their short names


def _inputs_text(v) -> str:
    return ", ".join(SHORT_NAMES.get(x, registry.label(x)) for x in _names(v))


def _flags(row, f: pd.Series) -> str:
    """A row's marks in words (``Flags``), most important first."""
    if row.get("not_ranked"):
        return f"not ranked: {row['not_ranked']}"
    out = []
    if f["measured"]:
        out.append(f"measured ({row['measured_source']}); predicted {row['prediction']:.1f}")
    if f["out_of_domain"]:
        out.append("out of domain")
    if f["clamped"]:
        out.append(f"clamped: {_inputs_text(row['extrapolated'])}")
    if f["imputed"]:
        out.append(f"imputed: {_inputs_text(row['imputed'])}")
    if f["partial"] and str(row.get("partial_method", "")).startswith("reduced spec"):
        out.append("partial (reduced spec)")
    if f["other_settings"]:
        out.append("other settings")
    cut = [end for end, col in (("0", "lower_cut"), ("100", "upper_cut")) if row.get(col) is True]
    if cut and not f["measured"]:
        out.append("cut at " + " and ".join(cut))
    if not f["measured"] and row.get("skill") == "no_skill":
        out.append("no skill: not ranked by this method")
    if row.get("rank_note"):
        out.append("same inputs as " + str(row["rank_note"]).removeprefix("indistinguishable from ").split(":")[0])
    return "; ".join(out)


def _column(t: pd.DataFrame, name: str, default=math.nan) -> pd.Series:
    return t[name] if name in t.columns else pd.Series(default, index=t.index)


def reading_table(table: pd.DataFrame, level: float) -> pd.DataFrame:
    """The shortlist (``advisor.predict.ranking.build``'s table, rows in rank order) for reading: the
    columns of ``reading_labels`` under their labels. Score: the measurement of a measured row, else the
    prediction (a row not ranked keeps its prediction when it has one); interval: the prediction's,
    'lo–hi' (blank for a measured row: a measurement is ranked as a point, its prediction's interval is
    in the flags and the details view). Missing numbers are NaN / NA, missing text None."""
    t = table.reset_index(drop=True)
    f = verdicts.flags(t)
    measured = f["measured"].to_numpy(bool)
    pred = pd.to_numeric(_column(t, "prediction"), errors="coerce")
    lo, hi = (pd.to_numeric(_column(t, c), errors="coerce") for c in ("lower", "upper"))
    interval = [None if m or pd.isna(a) else f"{a:.1f}–{b:.1f}" for m, a, b in zip(measured, lo, hi)]
    out = pd.DataFrame({
        "rank": pd.array(_column(t, "rank", pd.NA), dtype="Int64"),
        "candidate": t["hf_id"].astype(str),
        "tier": [x or None for x in _column(t, "tier", "").fillna("")],
        "score": pred.where(~measured, pd.to_numeric(_column(t, "measured_score"), errors="coerce")),
        "interval": interval,
        "rank_upper": pd.array(_column(t, "rank_upper", pd.NA), dtype="Int64"),
        "params_b": pd.to_numeric(_column(t, "params_b"), errors="coerce"),
        "size_rank": pd.array(_column(t, "size_rank", pd.NA), dtype="Int64"),
        "flags": [_flags(r, f.loc[i]) or None for i, r in t.iterrows()],
    })
    return out.rename(columns=reading_labels(level))


def _text(v, digits: int = 1) -> str:
    """A cell as text: numbers with ``digits`` decimals (sizes as given), missing as MISSING."""
    if v is None or (not isinstance(v, (list, tuple, str)) and pd.isna(v)):
        return MISSING
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def compact_markdown(table: pd.DataFrame, predictor_version: str, level: float, verdict: dict | None = None,
                     top: int | None = MARKDOWN_TOP) -> str:
    """The verdict lines, the interval level and predictor version, then the first ``top`` rows (all when
    None) in eight reading columns (``reading_table`` without the size rank), missing values as MISSING,
    every cell escaped; a last line counts the rows left out."""
    read = reading_table(table, level).drop(columns=[reading_labels(level)["size_rank"]])
    shown = read if top is None else read.head(top)
    lines = (["Verdict:", "", *[f"- {untrusted.md_text(x)}" for x in verdict["summary"]], ""]
             if verdict is not None else [])
    lines += [f"Intervals: {level_text(level)} (the predictor's conformal intervals); predictor version "
              f"`{predictor_version}`.", "",
              "| " + " | ".join(untrusted.md_text(c) for c in shown.columns) + " |", "|" + "---|" * len(shown.columns)]
    labels = reading_labels(level)
    user_text = {labels["candidate"], labels["flags"]}  # ids, file names: escaped; the rest is ours
    for _, r in shown.iterrows():
        cells = [untrusted.md_text(_text(v)) if c in user_text else
                 (MISSING if pd.isna(v) else f"{v:g}") if c == labels["params_b"] else _text(v)
                 for c, v in r.items()]
        lines.append("| " + " | ".join(cells) + " |")
    if len(read) > len(shown):
        lines += ["", f"{len(read) - len(shown)} more row(s) in the full table (CSV or JSON)."]
    return "\n".join(lines) + "\n"


def _flat_lists(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its list cells (``LIST_COLUMNS``) joined by "; ", as the CSV writes them."""
    flat = df.copy()
    for c in LIST_COLUMNS:
        if c in flat.columns:
            flat[c] = flat[c].map(lambda v: "; ".join(v) if isinstance(v, (list, tuple)) else v)
    return flat


def export_shortlist(df: pd.DataFrame, fmt: str, predictor_version: str, level: float, verdict: dict | None = None,
                     top: int | None = None, extra: dict | None = None) -> str:
    """The shortlist as ``csv`` or ``json`` (the full table, the first ``top`` rows when given) or
    ``markdown`` (``compact_markdown``, top ``MARKDOWN_TOP`` rows unless ``top`` says otherwise), stamped
    with the predictor version and the interval ``level``. ``verdict`` (``Verdict.to_json``) comes first:
    the JSON's first field, the Markdown's first lines (CSV, a plain table, leaves it out). ``extra``: more
    top-level fields of the JSON (e.g. ``what_to_measure_next``), after the rows' metadata."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "markdown":
        return compact_markdown(df, predictor_version, level, verdict, MARKDOWN_TOP if top is None else top)
    rows = df if top is None else df.head(top)
    if fmt == "json":
        records = json.loads(rows.to_json(orient="records", double_precision=6))
        head = {"verdict": verdict} if verdict is not None else {}
        return json.dumps({**head, "predictor_version": predictor_version, "interval_level": level,
                           **(extra or {}), "rows": records}, indent=2)
    flat = _flat_lists(rows)
    flat.insert(0, "interval_level", level)
    flat.insert(0, "predictor_version", predictor_version)
    return untrusted.to_csv(flat, index=False, float_format="%.4g")
