"""Candidate tables a user uploads (CSV) or types, turned into one clean wide frame plus messages.

Every problem becomes a message that names the file, the row or cell and the fix; a bad cell is left
empty (the predictor imputes it; a size is looked up by model id instead, never imputed) so the rest of
the table still predicts. Nothing here raises on user input except :func:`parse_upload` for files that
cannot be read at all, and even that is reported as a message by the caller. These are the candidate
table's checks, run once: ``advisor.predict.candidates`` completes the table from the database and
prediction does not check it again.

Columns are matched to the benchmark registry case- and punctuation-insensitively
(``advisor.core.registry.resolve``: "MATH Lvl 5", "MMLU-PRO", "Params (B)" all work). The scale of the
benchmark values is either chosen by the user or detected from their magnitude, with a visible note;
a column can carry its own ("MMLU-PRO (percent)") and a row its own (optional ``scale`` column). A
cell is judged by its row and its column together (``_ambiguous_cells``): a value valid on the scale
the rest of its row is on is never discarded, and a cell its row and column leave open is kept and
flagged ``ambiguous``, never imputed. Percent values (raw x 100, as model cards print them) are
converted exactly to raw, and a row with a mix is put on one scale by the exact rules of
``advisor.core.scales``; every conversion is recorded in the row's ``converted`` label and every cell's
origin in its ``prov_<benchmark>`` label (``given`` or ``converted``; picked leaderboard rows:
``leaderboard``). The settings the numbers came from (``settings``: leaderboard | other) are asked per
table and can be given per row; "other" rows are flagged less certain.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from advisor.core import registry, scales
from advisor.core.names import hub_key

# the shipped example (model-card numbers of 20 recent models; provenance in data/SOURCES.md): the app's
# "load the example" button and the README's tour
EXAMPLE_FILE = Path(__file__).resolve().parents[2] / "data" / "examples" / "recent_bases.csv"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # a 4,576-model leaderboard CSV is ~0.5 MB
MAX_ROWS = 20_000
SCALE_CHOICES = ("auto", "raw", "percent", "normalized")
SCALE_RANGES = registry.SCALE_RANGES
SCALE_HELP = {
    "raw": "0-1 fractions, as lm-evaluation-harness writes them",
    "percent": "0-100, the raw fraction times 100",
    "normalized": "0-100 Open LLM Leaderboard v2 scores with the chance level removed",
}
# Labels (after registry.normalize_label) that name the model column.
MODEL_LABELS = ("hfid", "model", "modelid", "modelname", "name", "fullname", "id", "repo", "repoid",
                "huggingfaceid", "hfmodel", "basemodel", "candidate")
SCALE_LABELS = ("scale", "inputscale", "valuescale")  # optional per-row scale column
SETTINGS_LABELS = ("settings", "setting", "evalsettings", "evaluationsettings")  # leaderboard | other
# Columns kept for the reader (provenance of model-card numbers), not used: no "unknown column" warning.
INFO_LABELS = ("source", "sourceurl", "url", "cardurl", "card", "reference", "notes", "note", "comment",
               "settingsdetail", "settingsstated", "shots", "cot", "chattemplate", "date", "retrieved",
               "released", "family")
# A scale written after a benchmark name in a header: "MMLU-PRO (percent)", "BBH [raw]", "GPQA %".
HEADER_SCALE = re.compile(r"^(?P<name>.*?)[\s_]*(?:[(\[]\s*(?P<word>raw|percent|%|normali[sz]ed)\s*[)\]]|"
                          r"(?P<pct>%))\s*$", re.IGNORECASE)
LABEL_COLUMNS = ["scale", "settings", "partial", "missing", "input_scale", "converted", "ambiguous", "note"]
PROV = "prov_"  # prov_<benchmark>: where the cell came from (advisor.core.scales.PROVENANCE)


@dataclass
class Candidates:
    """A clean candidate table and what went wrong reading it.

    ``frame``: one row per model, column ``hf_id`` then registry benchmark names (floats, NaN where
    missing or rejected). ``scale``: the scale of the non-count benchmark columns.
    """

    frame: pd.DataFrame
    scale: str
    source: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labels: pd.DataFrame | None = None  # per row of frame: LABEL_COLUMNS (see ``label_rows``)

    @property
    def features(self) -> list[str]:
        return [c for c in self.frame.columns if c != "hf_id"]


def leaderboard_candidates(leaderboard: pd.DataFrame, ids) -> Candidates:
    """Models picked from the Open LLM Leaderboard v2 table (``queries.leaderboard``): its normalized
    scores and size, as the app's pick tab and ``python -m advisor rank --pick`` add them, every cell
    with provenance 'leaderboard'. A size of 0 or less is the table's "unknown": left empty."""
    rows = leaderboard[leaderboard["hf_id"].isin(list(ids))][["hf_id", "params_b", *registry.OLL_V2_TASKS]]
    rows = rows.reset_index(drop=True)
    rows["params_b"] = rows["params_b"].where(rows["params_b"] > 0)
    out = Candidates(rows, "normalized", "leaderboard")
    out.labels = labels_of(out).replace({scales.GIVEN: scales.LEADERBOARD})
    return out


def match_leaderboard_ids(leaderboard: pd.DataFrame, ids) -> tuple[list[str], list[str]]:
    """(the ids found in the leaderboard table, in the table's spelling, first occurrence kept; the ids
    not in it): hub ids compare case-insensitively (``hub_key``), as ``rank --pick`` and the app's links
    read them."""
    known = {hub_key(h): h for h in leaderboard["hf_id"]}
    found = list(dict.fromkeys(known[hub_key(i)] for i in ids if hub_key(i) in known))
    return found, [i for i in ids if hub_key(i) not in known]


def empty(source: str, scale: str = "normalized") -> Candidates:
    return Candidates(pd.DataFrame({"hf_id": pd.Series(dtype=str)}), scale, source)


def _fixed_scale(benchmark: str) -> bool:
    """True for benchmarks on one scale whatever the table's: training metrics (counts), the OLL v1 and
    EvalPlus columns (percentages)."""
    return registry.get(benchmark).native_scale in ("count", "percent")


def value_scale(benchmark: str, table_scale: str) -> str:
    """The scale a value in ``benchmark``'s column is on: its own where fixed (``_fixed_scale``), else
    the table's."""
    return registry.get(benchmark).native_scale if _fixed_scale(benchmark) else table_scale


def detect_scale(values: pd.DataFrame) -> tuple[str, str]:
    """('raw' | 'normalized', note) from the magnitude of the numeric benchmark values."""
    cols = [c for c in values.columns if not _fixed_scale(c)]
    nums = pd.to_numeric(values[cols].stack(), errors="coerce") if cols else pd.Series([], dtype=float)
    nums = nums[np.isfinite(nums.astype(float))]  # "values go up to inf" says nothing about the scale
    if nums.empty:
        return "normalized", ("No benchmark values to detect the scale from; assumed 'normalized' "
                              "(Open LLM Leaderboard v2, 0-100).")
    top = float(nums.abs().max())
    if top <= 1.0:
        return "raw", (f"Scale detected as 'raw' (0-1): every benchmark value is at most 1 "
                       f"(largest {top:g}). If these are percentages, choose the scale explicitly.")
    return "normalized", (f"Scale detected as 'normalized' (Open LLM Leaderboard v2, 0-100, chance "
                          f"removed): values go up to {top:g}. If they are plain percentages (the raw "
                          f"score x 100), choose 'percent' explicitly.")


def _model_column(columns: list[str]) -> str | None:
    for c in columns:
        if registry.normalize_label(c) in MODEL_LABELS:
            return c
    return None


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or \
        (isinstance(v, str) and not v.strip())


def drop_blank_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows with at least one filled cell (the editor keeps rows a user added but left empty)."""
    if table.empty:
        return table
    keep = [not all(_blank(v) for v in row) for row in table.itertuples(index=False)]
    return table[keep]


def _header_scale(col: str) -> tuple[str, str | None]:
    """('MMLU-PRO', 'percent') from 'MMLU-PRO (percent)'; (col, None) without a scale suffix."""
    m = HEADER_SCALE.match(col)
    if not m or not m.group("name").strip():
        return col, None
    word = (m.group("word") or m.group("pct") or "").lower()
    return m.group("name").strip(), ("percent" if word == "%" else word.replace("normalised", "normalized"))


def clean_table(raw: pd.DataFrame, source: str, scale: str = "auto", first_row: int = 2,
                settings: str = "leaderboard") -> Candidates:
    """Validate a table of strings/numbers as typed or read from a file.

    ``first_row`` is the number users see for the first data row (2 in a CSV with a header line, 1 in
    the editable table) so messages point at the right place. ``scale`` is the table's scale (a column
    suffix or a row's ``scale`` cell wins over it); ``settings`` ('leaderboard' | 'other') the table's
    evaluation settings (a row's ``settings`` cell wins). Percent values become raw and mixed rows are
    put on one scale (``advisor.core.scales.harmonize``); ``labels`` records how, row by row.
    """
    if settings not in scales.SETTINGS:
        raise ValueError(f"unknown settings {settings!r}; choose one of {', '.join(scales.SETTINGS)}")
    raw = raw.copy()
    raw.columns = [str(c).strip() for c in raw.columns]
    # row numbers users see: the table's own integer index (kept when blank rows were dropped)
    numbers = ([int(ix) + first_row for ix in raw.index] if pd.api.types.is_integer_dtype(raw.index)
               else [i + first_row for i in range(len(raw))])
    out = Candidates(pd.DataFrame(), "normalized", source)
    cols = _read_columns(raw, source, out)
    ids = _model_ids(raw, cols.model, numbers, source, out)
    if not cols.mapping:
        out.errors.append(f"{source}: no benchmark column recognised. Fix: name columns after "
                          f"benchmarks, e.g. IFEval, BBH, MATH Lvl 5, GPQA, MUSR, MMLU-PRO, Params (B).")
    if cols.info:
        out.notes.append(f"{source}: column(s) {', '.join(repr(c) for c in cols.info)} kept for reference only "
                         f"(not used for prediction).")
    if scale != "auto" and scale not in SCALE_RANGES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALE_CHOICES)}")
    row_scale = _row_choices(raw, cols.scale, numbers, source, out, _row_scale, "scale",
                             "raw, percent or normalized (or leave it empty for the table's scale)")
    row_settings = _row_choices(raw, cols.settings, numbers, source, out, scales.parse_settings, "settings",
                                "'leaderboard' (Open LLM Leaderboard settings) or 'other' (other / unknown)")
    scale = _table_scale(raw, cols, row_scale, source, out) if scale == "auto" else scale
    out.scale = scale
    frame, cell_scale = _read_values(raw, cols, ids, numbers, row_scale, scale, source, out)
    ambiguous = _ambiguous_cells(frame, cols, row_scale, scale, numbers, source, out)
    labels = label_rows(frame, cell_scale, scale, [rs or settings for rs in row_settings], out, ambiguous)
    frame, labels = _drop_duplicate_models(frame, labels, numbers, source, out)
    out.frame = frame
    out.labels = labels
    row_scales = set(labels["scale"])
    out.scale = row_scales.pop() if len(row_scales) == 1 else "mixed"
    _summarise_labels(labels, source, out)
    return out


@dataclass
class _Columns:
    """What the columns of a candidate table are (``_read_columns``)."""

    model: str | None  # the model id column
    scale: str | None  # the optional per-row scale column
    settings: str | None  # the optional per-row settings column
    mapping: dict[str, str] = field(default_factory=dict)  # column -> registry benchmark name
    col_scale: dict[str, str] = field(default_factory=dict)  # columns whose header names their scale
    info: list[str] = field(default_factory=list)  # kept for the reader, not used


def _read_columns(raw: pd.DataFrame, source: str, out: Candidates) -> _Columns:
    """Match every column to its role or benchmark; warn (in ``out``) about duplicate and unknown ones."""
    cols = _Columns(model=_model_column(list(raw.columns)),
                    scale=next((c for c in raw.columns if registry.normalize_label(c) in SCALE_LABELS), None),
                    settings=next((c for c in raw.columns if registry.normalize_label(c) in SETTINGS_LABELS), None))
    unknown: list[str] = []
    for col in raw.columns:
        if col in (cols.model, cols.scale, cols.settings):
            continue
        bare, suffix = _header_scale(col)
        name = registry.resolve(bare) if suffix else registry.resolve(col)
        if name is None:
            if registry.normalize_label(col) in INFO_LABELS:
                cols.info.append(col)
            elif col and not col.lower().startswith("unnamed"):
                unknown.append(col)
            continue
        if suffix and not _fixed_scale(name):
            cols.col_scale[col] = suffix
        if name in cols.mapping.values():
            first = next(k for k, v in cols.mapping.items() if v == name)
            out.warnings.append(f"{source}: columns {first!r} and {col!r} both mean "
                                f"{registry.get(name).display_name}; used {first!r}, ignored {col!r}. "
                                f"Fix: remove one of them.")
            continue
        cols.mapping[col] = name
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        out.warnings.append(
            f"{source}: ignored {len(unknown)} unknown column(s): {shown}. Fix: rename them to a "
            f"benchmark name or alias, e.g. IFEval, BBH, MATH Lvl 5, GPQA, MUSR, MMLU-PRO, Params (B) "
            f"(the Data page lists every benchmark).")
    return cols


def _model_ids(raw: pd.DataFrame, model_col: str | None, numbers: list[int], source: str,
               out: Candidates) -> list[str]:
    """Each row's model id; 'row N' (with an error in ``out``) where the column or the id is missing."""
    if model_col is None:
        out.errors.append(f"{source}: no model column. Fix: add a column named 'model' or 'hf_id' "
                          f"holding the Hugging Face ids; rows are called 'row N' meanwhile.")
        return [f"row {n}" for n in numbers]
    ids = []
    for n, v in zip(numbers, raw[model_col].tolist()):
        text = "" if _blank(v) else str(v).strip()
        if not text:
            out.errors.append(f"{source}, row {n}, column {model_col!r}: the model id "
                              f"is empty. Fix: enter the Hugging Face id (e.g. org/name); "
                              f"called 'row {n}' meanwhile.")
            text = f"row {n}"
        ids.append(text)
    return ids


def _table_scale(raw: pd.DataFrame, cols: _Columns, row_scale: list[str | None], source: str,
                 out: Candidates) -> str:
    """The scale detected from the values that parse as numbers (cells without a scale of their own),
    with a note in ``out`` saying so."""
    renamed = raw[[c for c in cols.mapping if c not in cols.col_scale]].rename(columns=cols.mapping)
    renamed = renamed.loc[[rs is None for rs in row_scale]]
    scale, note = detect_scale(renamed)
    if not (len(cols.mapping) and (renamed.empty or not len(renamed.columns))):  # cells without own scale
        out.notes.append(f"{source}: {note}")
        if scale == "normalized":
            _check_fraction_columns(renamed, source, out)
    return scale


def _read_values(raw: pd.DataFrame, cols: _Columns, ids: list[str], numbers: list[int],
                 row_scale: list[str | None], scale: str, source: str,
                 out: Candidates) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """(frame: hf_id and one float column per benchmark, the scale of every cell per benchmark); a bad
    cell is NaN with an error in ``out``."""
    frame = pd.DataFrame({"hf_id": ids})
    cell_scale: dict[str, list[str]] = {}
    for col, name in cols.mapping.items():
        scales_here = [value_scale(name, cols.col_scale.get(col) or rs or scale) for rs in row_scale]
        cell_scale[name] = scales_here
        values = [_cell_value(v, vscale, f"{source}, row {n}, column {col!r}", col, name, out)
                  for n, v, vscale in zip(numbers, raw[col].tolist(), scales_here)]
        frame[name] = pd.Series(values, dtype=float)
    return frame, cell_scale


def _ambiguous_cells(frame: pd.DataFrame, cols: _Columns, row_scale: list[str | None], scale: str,
                     numbers: list[int], source: str, out: Candidates) -> list[list[str]]:
    """Per row, the benchmarks whose scale its row and column leave open; a warning per such row.

    Only cells on the table's 0-100 scale count (no scale in their header or row). A row with a value
    above 1 is plainly on that scale: its small values (a weak model's MATH Lvl 5 of 0.3, a GPQA of 0)
    are valid there and kept as given. A row whose values are all at most 1 says nothing itself; a cell
    of it is ambiguous when its column has no value above 1 to compare with, or when its value x 100
    lies among them (within a factor of 2), i.e. it reads as well as a raw 0-1 fraction. An ambiguous
    cell is kept on the table's scale and flagged, never emptied or imputed."""
    flagged: list[list[str]] = [[] for _ in range(len(frame))]
    if scale not in ("percent", "normalized"):
        return flagged
    own = {n for c, n in cols.mapping.items() if c not in cols.col_scale and not _fixed_scale(n)}
    if not own:
        return flagged
    on_table = pd.Series([rs is None for rs in row_scale], index=frame.index)
    values = frame[[n for n in frame.columns if n in own]].where(on_table, axis=0)
    plain = (values > 1.0).any(axis=1)
    for i in frame.index[on_table & ~plain & values.notna().any(axis=1)]:
        for name in values.columns:
            v, big = values.at[i, name], values.loc[values[name] > 1.0, name]
            if 0.0 < v <= 1.0 and (big.empty or big.min() / 2 <= 100 * v <= min(100.0, 2 * big.max())):
                flagged[i].append(name)
        if flagged[i]:
            cells = ", ".join(f"column {_column_of(cols, n)!r} {values.at[i, n]:g}" for n in flagged[i])
            out.warnings.append(
                f"{source}, row {numbers[i]}: every value of this row is at most 1 ({cells}) while the table "
                f"reads on the 0-100 {scale!r} scale, so they could be raw 0-1 fractions: kept as given on "
                f"the {scale!r} scale and flagged 'ambiguous'. Fix: if they are raw fractions, put 'raw' in "
                f"the row's 'scale' column (or write them x 100); if the model really scores this low, "
                f"nothing to do.")
    return flagged


def _column_of(cols: _Columns, name: str) -> str:
    return next(c for c, n in cols.mapping.items() if n == name)


def _then(name: str, ignored: bool = False) -> str:
    """What happens to an empty (``ignored``: a rejected) cell of benchmark ``name``: a size is never
    imputed (``advisor.predict.candidates``)."""
    if name == "params_b":
        return (f"{'; ' if ignored else '(then '}the size is looked up by model id, else the row is not "
                f"ranked{'' if ignored else ')'}")
    return " and imputed" if ignored else "(it is then imputed)"


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?%?|[+-]?(inf|infinity|nan)", re.IGNORECASE)


def number(v) -> float:
    """A cell as a float: a plain decimal number (a trailing % is dropped), 'inf' or 'nan'; ValueError
    for anything else, including what Python's float() alone would take (``1_0`` is not 10)."""
    if not isinstance(v, str):
        return float(v)
    text = v.strip()
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"not a number: {text[:40]!r}")
    return float(text.rstrip("%"))


def _cell_value(v, vscale: str, where: str, col: str, name: str, out: Candidates) -> float:
    """One cell as a number on ``vscale``; NaN for an empty cell, and NaN with an error in ``out`` (naming
    ``where`` and the fix) for one that is not a number, infinite or outside the scale's range."""
    if _blank(v):
        return math.nan
    try:
        x = number(v)
    except (TypeError, ValueError):
        x = math.nan
    if math.isnan(x):  # text, and a written "nan" too: never silently blank (issue 27, finding 12)
        out.errors.append(f"{where}: {str(v)[:40]!r} is not a number. Fix: enter a number on "
                          f"the {vscale!r} scale or leave the cell empty {_then(name)}.")
        return math.nan
    if math.isinf(x):
        out.errors.append(f"{where}: {str(v)[:40]!r} is infinite; the cell is ignored{_then(name, True)}. "
                          f"Fix: enter a finite number on the {vscale!r} scale or leave the cell empty.")
        return math.nan
    lo, hi = SCALE_RANGES.get(vscale, (0.0, math.inf))
    if not (lo <= x <= hi):
        rng = f"{lo:g} to {hi:g}" if hi != math.inf else f"at least {lo:g}"
        fix = (_range_fix(vscale, x, _header_scale(col)[0]) if vscale in SCALE_RANGES
               else "enter the size in billions, e.g. 7.6")
        out.errors.append(f"{where}: {x:g} is outside the {vscale!r} scale ({rng}); the cell "
                          f"is ignored{_then(name, True)}. Fix: {fix}.")
        return math.nan
    return x


def _drop_duplicate_models(frame: pd.DataFrame, labels: pd.DataFrame, numbers: list[int], source: str,
                           out: Candidates) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Duplicate models (hub ids compare case-insensitively): keep the first row, say which were dropped."""
    keys = frame["hf_id"].map(hub_key)
    dup = keys.duplicated(keep="first")
    if not dup.any():
        return frame, labels
    for key in keys[dup].unique():
        rows = [str(numbers[i]) for i in frame.index[keys == key]]
        spellings = list(dict.fromkeys(frame.loc[keys == key, "hf_id"]))
        model = " / ".join(map(repr, spellings)) + (" (hub ids ignore case)" if len(spellings) > 1 else "")
        out.warnings.append(f"{source}: model {model} appears in rows {', '.join(rows)}; kept "
                            f"row {rows[0]}. Fix: keep one row per model.")
    return frame.loc[~dup].reset_index(drop=True), labels.loc[~dup.to_numpy()].reset_index(drop=True)


def _row_scale(text) -> str | None:
    key = registry.normalize_label(text)
    key = {"": None, "pct": "percent", "normalised": "normalized", "norm": "normalized"}.get(key, key)
    return key if key in SCALE_RANGES else None


def _row_choices(raw: pd.DataFrame, col: str | None, numbers: list[int], source: str, out: Candidates,
                 parse, what: str, allowed: str) -> list[str | None]:
    """Per-row value of an optional choice column (None where empty, absent or unrecognised)."""
    if col is None:
        return [None] * len(raw)
    got = []
    for n, v in zip(numbers, raw[col].tolist()):
        if _blank(v):
            got.append(None)
            continue
        choice = parse(str(v).strip())
        if choice is None:
            out.errors.append(f"{source}, row {n}, column {col!r}: {str(v)[:40]!r} is not a {what}; the "
                              f"table's {what} is used for this row. Fix: write {allowed}.")
        got.append(choice)
    return got


def _range_fix(vscale: str, x: float, col: str) -> str:
    if vscale == "raw":
        return (f"choose the scale that matches your numbers above the table; a raw value is a 0-1 "
                f"fraction: if {x:g} is a percentage (e.g. from a model card) choose 'percent', name the "
                f"column '{col} (percent)' or put 'percent' in the row's 'scale' column")
    if vscale == "percent":
        return (f"choose the scale that matches your numbers above the table; a percent value is the "
                f"raw score x 100, at most 100: check {x:g} against its source")
    return "choose the scale that matches your numbers above the table"


def _check_fraction_columns(values: pd.DataFrame, source: str, out: Candidates) -> None:
    """Detected 0-100 table with a column of 0-1 values only: most likely a raw column; say so."""
    for name in [c for c in values.columns if not _fixed_scale(c)]:
        nums = pd.to_numeric(values[name], errors="coerce").dropna()
        if len(nums) and float(nums.max()) <= 1.0 and float(nums.max()) > 0.0:
            out.warnings.append(f"{source}, column {registry.get(name).display_name!r}: every value is at "
                                f"most 1 while other columns go up to 100, so it is read on the 0-100 "
                                f"'normalized' scale. Fix: if it holds raw 0-1 fractions, name the "
                                f"column '{registry.get(name).display_name} (raw)'.")


def label_rows(frame: pd.DataFrame, cell_scale: dict[str, list[str]], default_scale: str,
               row_settings: list[str], out: Candidates | None = None,
               ambiguous: list[list[str]] | None = None) -> pd.DataFrame:
    """Put every row of ``frame`` on one scale in place (``scales.harmonize``: percent -> raw, exact
    raw <-> normalized where a row mixes them) and return its labels: LABEL_COLUMNS (scale, settings,
    partial (some but not all six leaderboard tasks), missing (their names), input_scale (the scales
    the values came in, '+'-joined), converted (what was converted, exactly how), ambiguous (cells
    whose scale the row and column leave open, ``_ambiguous_cells``), note), then ``prov_<benchmark>``
    for every benchmark column: 'given' on the row's own scale, 'converted', or '' where empty."""
    rows = []
    bench = [b for b in cell_scale if not _fixed_scale(b)]
    for i in range(len(frame)):
        cells = {b: (frame.at[i, b], cell_scale[b][i]) for b in bench}
        h = scales.harmonize(cells, default="normalized" if default_scale == "normalized" else "raw")
        for b in bench:
            frame.at[i, b] = h.values.get(b, math.nan)
        partial, missing, partial_note = task_labels(frame.iloc[i])
        flagged = [f"{registry.get(b).display_name} {frame.at[i, b]:g}" for b in (ambiguous[i] if ambiguous else [])]
        notes = ["other / unknown settings: less certain"] if row_settings[i] == "other" else []
        notes += [partial_note] if partial_note else []
        notes += [f"ambiguous scale: {', '.join(flagged)} (could be raw fractions)"] if flagged else []
        if h.dropped:
            notes.append("left out: " + "; ".join(h.dropped))
            if out is not None:
                for d in h.dropped:
                    out.warnings.append(f"{out.source}, model {frame.at[i, 'hf_id']!r}: {d}; the value is "
                                        f"left out and imputed. Fix: give this task on the "
                                        f"{h.scale!r} scale like the row's other values.")
        prov = {PROV + b: ("" if math.isnan(frame.at[i, b]) else scales.GIVEN
                           if _fixed_scale(b) or cell_scale[b][i] == h.scale else scales.CONVERTED)
                for b in cell_scale}
        rows.append({"scale": h.scale, "settings": row_settings[i], "partial": partial, "missing": missing,
                     "input_scale": "+".join(h.input_scales) or h.scale,
                     "converted": "; ".join(h.converted), "ambiguous": ", ".join(flagged),
                     "note": "; ".join(notes), **prov})
    return pd.DataFrame(rows, columns=[*LABEL_COLUMNS, *(PROV + b for b in cell_scale)])


def task_labels(row) -> tuple[bool, str, str]:
    """(partial, missing, the note's partial fragment) of one candidate row: partial when it has some
    but not all six leaderboard tasks; missing names them; the fragment is '' for a row that is not."""
    present = scales.tasks_present(row)
    if not 0 < len(present) < len(scales.TASKS):
        return False, "", ""
    missing = ", ".join(registry.get(t).display_name for t in scales.TASKS if t not in present)
    return True, missing, f"partial: {len(present)} of {len(scales.TASKS)} leaderboard tasks"


def _summarise_labels(labels: pd.DataFrame, source: str, out: Candidates) -> None:
    """One note per kind of label, so conversions and flags are never silent."""
    conv = labels["converted"] != ""
    if conv.any():
        out.notes.append(f"{source}: {int(conv.sum())} row(s) converted exactly (percent = raw x 100 "
                         f"becomes raw; a row mixing scales is put on one): see the 'converted' column.")
    other = labels["settings"] == "other"
    if other.any():
        out.notes.append(f"{source}: {int(other.sum())} row(s) from other / unknown evaluation settings "
                         f"(not the Open LLM Leaderboard's): flagged less certain in the 'settings' column.")
    part = labels["partial"].astype(bool)
    if part.any():
        out.notes.append(f"{source}: {int(part.sum())} row(s) with only some of the six leaderboard tasks "
                         f"are labelled 'partial' (their missing tasks are listed in 'missing').")


def parse_csv(data: bytes, filename: str, scale: str = "auto",
              max_bytes: int = MAX_UPLOAD_BYTES, settings: str = "leaderboard") -> Candidates:
    """An uploaded CSV (or TSV) of candidates: one row per model (``clean_table`` for ``scale`` and
    ``settings``)."""
    problem = _size_problem(data, filename, max_bytes)
    if problem:
        out = empty(filename)
        out.errors.append(problem)
        return out
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        out = empty(filename)
        out.errors.append(f"{filename}: not UTF-8 text (byte {exc.start}). Fix: save the file as "
                          f"CSV UTF-8.")
        return out
    sep = "\t" if text.split("\n", 1)[0].count("\t") > text.split("\n", 1)[0].count(",") else ","
    problem = _longer_than_header(text, sep, filename)
    if problem:
        out = empty(filename)
        out.errors.append(problem)
        return out
    try:
        with warnings.catch_warnings():  # only empty trailing fields are dropped: _longer_than_header
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            raw = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                              skip_blank_lines=True, index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        out = empty(filename)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        out.errors.append(f"{filename}: not a readable CSV ({first}). Fix: one header line, then one "
                          f"row per model, comma-separated.")
        return out
    if raw.empty:
        out = empty(filename)
        out.errors.append(f"{filename}: the header is there but no rows. Fix: add one row per model.")
        return out
    if len(raw) > MAX_ROWS:
        out = empty(filename)
        out.errors.append(f"{filename}: {len(raw):,} rows; the limit is {MAX_ROWS:,}. Fix: split the "
                          f"file or pick models from the leaderboard table instead.")
        return out
    return clean_table(raw, filename, scale=scale, first_row=2, settings=settings)


def _longer_than_header(text: str, sep: str, filename: str) -> str | None:
    """The error for the first row with a non-empty field beyond the header's columns, None when there is
    none. A trailing separator on every data row (spreadsheet exports) leaves an empty field there: it is
    dropped, never read as a shift of every value one column (pandas would take the first column as the
    index). A file the csv module cannot read is left to pandas' own error."""
    rows = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        width = len(next(rows))
        for row in rows:
            extra = [c for c in row[width:] if c.strip()]
            if extra:
                return (f"{filename}: line {rows.line_num} has {len(row)} fields but the header has {width} "
                        f"(first extra value {extra[0][:40]!r}). Fix: give every value a column in the header, "
                        f"or remove the extra values.")
    except (csv.Error, StopIteration):
        return None
    return None


def parse_lmeval(data: bytes, filename: str, model_id: str | None = None,
                 max_bytes: int = MAX_UPLOAD_BYTES, params_b: float | None = None) -> Candidates:
    """An lm-evaluation-harness ``results_*.json`` (or EvalPlus results file): one candidate with
    the benchmarks it ran, parsed by ``advisor.formats.results``. ``params_b``: its size in billions
    of parameters, given beside the file (results files do not state it; without it the size is
    looked up by model id, ``advisor.predict.candidates``).

    When the file yields both scales (raw, and the leaderboard's normalized values where it holds
    every input) the scale covering more benchmarks is used, 'normalized' on a tie.
    """
    from advisor.formats import results

    problem = _size_problem(data, filename, max_bytes)
    if problem:
        out = empty(filename, "raw")
        out.errors.append(problem)
        return out
    try:
        parsed = results.parse(bytes(data), name=filename, model=model_id or None)
    except ValueError as exc:
        out = empty(filename, "raw")
        out.errors.append(str(exc))
        return out
    by_scale: dict[str, dict[str, float]] = {}
    fixed: dict[str, float] = {}  # percent / count benchmarks, whatever the table's scale
    for s in parsed.scores:
        if _fixed_scale(s.benchmark) and s.scale != "raw":
            fixed.setdefault(s.benchmark, float(s.value))
        else:
            by_scale.setdefault(s.scale, {}).setdefault(s.benchmark, float(s.value))
    scale = max(by_scale, key=lambda k: (len(by_scale[k]), k == "normalized")) if by_scale else "raw"
    values = {**by_scale.get(scale, {}), **fixed}
    hf_id = (model_id or parsed.model or "").strip() or filename.rsplit("/", 1)[-1].removesuffix(".json")
    size = {"params_b": float(params_b)} if params_b is not None and params_b > 0 else {}
    out = Candidates(pd.DataFrame([{"hf_id": hf_id, **values, **size}]), scale, filename)
    if not values:
        out.errors.append(f"{filename}: none of its tasks is a benchmark the advisor knows. Fix: run "
                          f"the Open LLM Leaderboard v2 tasks (lm_eval --tasks leaderboard).")
    if parsed.unmapped:
        more = " ..." if len(parsed.unmapped) > 8 else ""
        out.warnings.append(f"{filename}: ignored {len(parsed.unmapped)} task(s) the advisor does not "
                            f"use: {', '.join(parsed.unmapped[:8])}{more}.")
    out.notes.append(f"{filename}: {parsed.kind} results for {hf_id!r}: {len(values)} benchmark(s) on "
                     f"the {scale!r} scale.")
    out.notes.extend(f"{filename}: {n}" for n in parsed.notes)
    return out


def parse_upload(data: bytes, filename: str, scale: str = "auto", model_id: str | None = None,
                 max_bytes: int = MAX_UPLOAD_BYTES, settings: str = "leaderboard",
                 params_b: float | None = None) -> Candidates:
    """Dispatch on the file name: ``.json`` -> lm-eval results, anything else -> CSV. ``settings``
    applies to CSVs (rows may carry their own); an lm-eval file's leaderboard tasks are run with the
    leaderboard's settings by definition. ``model_id`` and ``params_b`` apply to JSON files."""
    if filename.lower().endswith(".json"):
        return parse_lmeval(data, filename, model_id=model_id, max_bytes=max_bytes, params_b=params_b)
    return parse_csv(data, filename, scale=scale, max_bytes=max_bytes, settings=settings)


def _size_problem(data: bytes, filename: str, max_bytes: int) -> str | None:
    if not data or not data.strip():
        return f"{filename}: the file is empty. Fix: upload a file with a header line and one row per model."
    if len(data) > max_bytes:
        return (f"{filename}: {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB. "
                f"Fix: upload only the candidate rows (a few thousand models fit in well under 1 MB).")
    return None


def labels_of(part: Candidates, settings: str = "leaderboard") -> pd.DataFrame:
    """A part's per-row labels: its own, or (a table built elsewhere, e.g. picked leaderboard rows,
    all on ``part.scale``) derived with ``label_rows``."""
    if part.labels is not None and len(part.labels) == len(part.frame):
        return part.labels.reset_index(drop=True)
    frame = part.frame.reset_index(drop=True).copy()
    cells = {c: [value_scale(c, part.scale)] * len(frame) for c in frame.columns
             if c != "hf_id" and registry.resolve(c) == c}
    return label_rows(frame, cells, part.scale, [settings] * len(frame))


def combine(parts: list[Candidates]) -> tuple[pd.DataFrame, list[str]]:
    """Stack candidate tables of possibly different scales: (frame with 'source' and the row labels
    (LABEL_COLUMNS) before the benchmark columns and their ``prov_<benchmark>`` columns after them,
    warnings about models given twice; the first occurrence wins)."""
    frames, warnings = [], []
    seen: dict[str, str] = {}
    for p in parts:
        if p.frame.empty:
            continue
        f = p.frame.reset_index(drop=True).copy()
        labels = labels_of(p)
        keep = []
        for hf_id in f["hf_id"]:
            key = hub_key(hf_id)  # hub ids ignore case
            if key in seen:
                warnings.append(f"{hf_id!r} is both in {seen[key]} and {p.source}; used {seen[key]}.")
                keep.append(False)
            else:
                seen[key] = p.source
                keep.append(True)
        f.insert(1, "source", p.source)
        for j, c in enumerate(LABEL_COLUMNS):
            f.insert(2 + j, c, labels[c].to_numpy())
        for c in labels.columns.drop(LABEL_COLUMNS):
            f[c] = labels[c].to_numpy()
        frames.append(f.loc[keep])
    if not frames:
        return pd.DataFrame(columns=["hf_id", "source", *LABEL_COLUMNS]), warnings
    return pd.concat(frames, ignore_index=True), warnings
