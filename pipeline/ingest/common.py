"""What every ingester shares: reading a table with validation, and recording provenance."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipeline import schema
from pipeline.errors import InputError


def read_table(path, required: list[str], numeric: list[str] = (), allow_missing: list[str] = (),
               ranges: dict[str, tuple] | None = None, range_fix: str = "") -> pd.DataFrame:
    """Read a CSV, checking that it exists, is not empty, has ``required`` columns, that ``numeric``
    columns hold numbers (empty cells allowed only in ``allow_missing``) and that the columns of
    ``ranges`` stay within their (low, high) bounds (the error's fix: ``range_fix``, or a third item
    (low, high, fix) for that column). Row numbers in
    errors are 1-based data rows as a spreadsheet shows them (header = row 1)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found", "restore it from git or point the config at the right file")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty", "restore the file; it needs a header row and data rows")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV ({exc})", "save the file as UTF-8 CSV") from None
    except pd.errors.EmptyDataError:
        raise InputError(path, "file has no header", "add a header row naming the columns") from None
    if df.empty:
        raise InputError(path, "file has a header but no data rows", "add data rows")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}", f"add them; expected columns: {', '.join(required)}",
                         field=missing[0])
    out = df.copy()
    for col in numeric:
        values = out[col].str.strip()
        parsed = pd.to_numeric(values.replace("", None), errors="coerce")
        for i, (text, num) in enumerate(zip(values, parsed)):
            if text == "" and col in allow_missing:
                continue
            if text == "" or pd.isna(num):
                raise InputError(path, f"{text!r} is not a number" if text else "empty cell",
                                 f"write a number in column {col!r}", row=i + 2, field=col)
        out[col] = parsed.astype(float)
    for col, (lo, hi, *fix) in (ranges or {}).items():
        bad = out[col].notna() & ((out[col] < lo) | (out[col] > hi))
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise InputError(path, f"{out[col].iloc[i]} is outside {lo:.15g}-{hi:.15g}", fix[0] if fix else range_fix,
                             row=i + 2, field=col)
    return out


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def add_source(con, source_id: str, path, origin: str, license: str, description: str, rows: int) -> None:
    """One row of ``sources`` per source_id (a second call replaces the first)."""
    con.execute("DELETE FROM sources WHERE source_id = ?", [source_id])
    schema.insert(con, "sources", [{"source_id": source_id, "file": str(path), "origin": origin,
                                    "license": license, "description": description,
                                    "sha256": sha256(path), "rows_ingested": rows, "ingested_at": now()}])


def insert_scores(con, rows: list[tuple], recorded_at: str | datetime | None = None) -> int:
    """rows: (hf_id, benchmark, value, scale, source, settings dict). ``recorded_at`` is when the
    evaluation was made or published, where the source states it (else NULL: an undated shipped value
    never wins over a dated result of the same model, benchmark and scale)."""
    if rows:  # one bulk insert from a frame (executemany is slow, and refuses an empty list)
        scores = pd.DataFrame([(h, b, float(v), s, src, json.dumps(st, sort_keys=True, default=str))
                               for h, b, v, s, src, st in rows],
                              columns=["hf_id", "benchmark", "value", "scale", "source", "settings"])
        scores["recorded_at"] = pd.Timestamp(recorded_at) if recorded_at else pd.NaT
        schema.insert(con, "benchmark_scores", scores)
    return len(rows)


def unknown_model(path, name, row, field="model"):
    return InputError(path, f"unknown model {name!r}",
                      "use a Hugging Face id listed in data/paper/models.csv (or add the model there first)",
                      row=row, field=field)
