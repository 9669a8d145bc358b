"""Candidate tables a user uploads (CSV) or types, turned into one clean wide frame plus messages.

Every problem becomes a message that names the file, the row or cell and the fix; a bad cell is left
empty (the predictor imputes it) so the rest of the table still predicts. Nothing here raises on user
input except :func:`parse_upload` for files that cannot be read at all, and even that is reported as a
message by the caller.

Columns are matched to the benchmark registry case- and punctuation-insensitively
(``advisor.registry.resolve``: "MATH Lvl 5", "MMLU-PRO", "Params (B)" all work). The scale of the
benchmark values is either chosen by the user or detected from their magnitude, with a visible note.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import pandas as pd

from advisor import registry
from advisor.names import hub_key

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

    @property
    def features(self) -> list[str]:
        return [c for c in self.frame.columns if c != "hf_id"]


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
    nums = pd.to_numeric(values[cols].stack(), errors="coerce").dropna() if cols else pd.Series([])
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


def clean_table(raw: pd.DataFrame, source: str, scale: str = "auto", first_row: int = 2) -> Candidates:
    """Validate a table of strings/numbers as typed or read from a file.

    ``first_row`` is the number users see for the first data row (2 in a CSV with a header line, 1 in
    the editable table) so messages point at the right place.
    """
    raw = raw.copy()
    raw.columns = [str(c).strip() for c in raw.columns]
    # row numbers users see: the table's own integer index (kept when blank rows were dropped)
    numbers = ([int(ix) + first_row for ix in raw.index] if pd.api.types.is_integer_dtype(raw.index)
               else [i + first_row for i in range(len(raw))])
    out = Candidates(pd.DataFrame(), "normalized", source)
    model_col = _model_column(list(raw.columns))
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for col in raw.columns:
        if col == model_col:
            continue
        name = registry.resolve(col)
        if name is None:
            if col and not col.lower().startswith("unnamed"):
                unknown.append(col)
            continue
        if name in mapping.values():
            first = next(k for k, v in mapping.items() if v == name)
            out.warnings.append(f"{source}: columns {first!r} and {col!r} both mean "
                                f"{registry.get(name).display_name}; used {first!r}, ignored {col!r}. "
                                f"Fix: remove one of them.")
            continue
        mapping[col] = name
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        out.warnings.append(
            f"{source}: ignored {len(unknown)} unknown column(s): {shown}. Fix: rename them to a "
            f"benchmark name or alias, e.g. IFEval, BBH, MATH Lvl 5, GPQA, MUSR, MMLU-PRO, Params (B) "
            f"(the Data page lists every benchmark).")
    if model_col is None:
        out.errors.append(f"{source}: no model column. Fix: add a column named 'model' or 'hf_id' "
                          f"holding the Hugging Face ids; rows are called 'row N' meanwhile.")
        ids = [f"row {n}" for n in numbers]
    else:
        ids = []
        for n, v in zip(numbers, raw[model_col].tolist()):
            text = "" if _blank(v) else str(v).strip()
            if not text:
                out.errors.append(f"{source}, row {n}, column {model_col!r}: the model id "
                                  f"is empty. Fix: enter the Hugging Face id (e.g. org/name); "
                                  f"called 'row {n}' meanwhile.")
                text = f"row {n}"
            ids.append(text)
    if not mapping:
        out.errors.append(f"{source}: no benchmark column recognised. Fix: name columns after "
                          f"benchmarks, e.g. IFEval, BBH, MATH Lvl 5, GPQA, MUSR, MMLU-PRO, Params (B).")
    # Scale: explicit, or detected from the values that parse as numbers.
    renamed = raw[list(mapping)].rename(columns=mapping)
    if scale == "auto":
        scale, note = detect_scale(renamed)
        out.notes.append(f"{source}: {note}")
    elif scale not in SCALE_RANGES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALE_CHOICES)}")
    out.scale = scale
    frame = pd.DataFrame({"hf_id": ids})
    for col, name in mapping.items():
        vscale = value_scale(name, scale)
        lo, hi = SCALE_RANGES.get(vscale, (0.0, math.inf))
        values = []
        for n, v in zip(numbers, raw[col].tolist()):
            where = f"{source}, row {n}, column {col!r}"
            if _blank(v):
                values.append(math.nan)
                continue
            try:
                x = float(str(v).strip().rstrip("%")) if isinstance(v, str) else float(v)
            except (TypeError, ValueError):
                out.errors.append(f"{where}: {str(v)[:40]!r} is not a number. Fix: enter a number on "
                                  f"the {vscale!r} scale or leave the cell empty (it is then imputed).")
                values.append(math.nan)
                continue
            if math.isnan(x):
                values.append(math.nan)
                continue
            if math.isinf(x):
                out.errors.append(f"{where}: {str(v)[:40]!r} is infinite; the cell is ignored and imputed. "
                                  f"Fix: enter a finite number on the {vscale!r} scale or leave the cell empty.")
                values.append(math.nan)
                continue
            if not (lo <= x <= hi):
                rng = f"{lo:g} to {hi:g}" if hi != math.inf else f"at least {lo:g}"
                fix = ("choose the scale that matches your numbers above the table"
                       if vscale in SCALE_RANGES else "enter the size in billions, e.g. 7.6")
                out.errors.append(f"{where}: {x:g} is outside the {vscale!r} scale ({rng}); the cell "
                                  f"is ignored and imputed. Fix: {fix}.")
                values.append(math.nan)
                continue
            values.append(x)
        frame[name] = pd.Series(values, dtype=float)
    # Duplicate models (hub ids compare case-insensitively): keep the first row, say which were dropped.
    keys = frame["hf_id"].map(hub_key)
    dup = keys.duplicated(keep="first")
    if dup.any():
        for key in keys[dup].unique():
            rows = [str(numbers[i]) for i in frame.index[keys == key]]
            spellings = list(dict.fromkeys(frame.loc[keys == key, "hf_id"]))
            model = " / ".join(map(repr, spellings)) + (" (hub ids ignore case)" if len(spellings) > 1 else "")
            out.warnings.append(f"{source}: model {model} appears in rows {', '.join(rows)}; kept "
                                f"row {rows[0]}. Fix: keep one row per model.")
        frame = frame.loc[~dup].reset_index(drop=True)
    out.frame = frame
    return out


def parse_csv(data: bytes, filename: str, scale: str = "auto",
              max_bytes: int = MAX_UPLOAD_BYTES) -> Candidates:
    """An uploaded CSV (or TSV) of candidates: one row per model."""
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
    try:
        raw = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                          skip_blank_lines=True)
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
    return clean_table(raw, filename, scale=scale, first_row=2)


def parse_lmeval(data: bytes, filename: str, model_id: str | None = None,
                 max_bytes: int = MAX_UPLOAD_BYTES) -> Candidates:
    """An lm-evaluation-harness ``results_*.json`` (or EvalPlus results file): one candidate with
    the benchmarks it ran, parsed by ``advisor.lmeval``.

    When the file yields both scales (raw, and the leaderboard's normalized values where it holds
    every input) the scale covering more benchmarks is used, 'normalized' on a tie.
    """
    from advisor import lmeval

    problem = _size_problem(data, filename, max_bytes)
    if problem:
        out = empty(filename, "raw")
        out.errors.append(problem)
        return out
    try:
        parsed = lmeval.parse(bytes(data), name=filename, model=model_id or None)
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
    out = Candidates(pd.DataFrame([{"hf_id": hf_id, **values}]), scale, filename)
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
                 max_bytes: int = MAX_UPLOAD_BYTES) -> Candidates:
    """Dispatch on the file name: ``.json`` -> lm-eval results, anything else -> CSV."""
    if filename.lower().endswith(".json"):
        return parse_lmeval(data, filename, model_id=model_id, max_bytes=max_bytes)
    return parse_csv(data, filename, scale=scale, max_bytes=max_bytes)


def _size_problem(data: bytes, filename: str, max_bytes: int) -> str | None:
    if not data or not data.strip():
        return f"{filename}: the file is empty. Fix: upload a file with a header line and one row per model."
    if len(data) > max_bytes:
        return (f"{filename}: {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB. "
                f"Fix: upload only the candidate rows (a few thousand models fit in well under 1 MB).")
    return None


def combine(parts: list[Candidates]) -> tuple[pd.DataFrame, list[str]]:
    """Stack candidate tables of possibly different scales: (frame with 'scale' and 'source'
    columns, warnings about models given twice; the first occurrence wins)."""
    frames, warnings = [], []
    seen: dict[str, str] = {}
    for p in parts:
        if p.frame.empty:
            continue
        f = p.frame.copy()
        keep = []
        for hf_id in f["hf_id"]:
            key = hub_key(hf_id)  # hub ids ignore case
            if key in seen:
                warnings.append(f"{hf_id!r} is both in {seen[key]} and {p.source}; used {seen[key]}.")
                keep.append(False)
            else:
                seen[key] = p.source
                keep.append(True)
        f = f.loc[keep]
        f.insert(1, "source", p.source)
        f.insert(2, "scale", p.scale)
        frames.append(f)
    if not frames:
        return pd.DataFrame(columns=["hf_id", "source", "scale"]), warnings
    return pd.concat(frames, ignore_index=True), warnings
