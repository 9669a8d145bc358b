"""The database schema, as SQL files in ``pipeline/sql/`` (documented for users in docs/schema.md).

Each file belongs to the stage that names it in ``pipeline/stages.py`` (``00_core.sql``: to none): the
tables it creates belong to that stage, and a run of the stage rewrites them completely.
``-- rows: TABLE: WHERE`` lines claim only some rows of a shared table (``rm_results``: ``ingest`` owns
``source = 'paper'``, ``train`` owns ``source = 'pipeline'``).
A run of some stages carries every other table over from the live database unchanged.
Bump SCHEMA_VERSION whenever a table changes, so a stale database is rebuilt instead of misread.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import stages

SCHEMA_VERSION = "4"
SQL_DIR = Path(__file__).with_name("sql")


@lru_cache(maxsize=1)
def sql_files() -> list[tuple[str, str, dict[str, str], list[str]]]:
    """[(stage, ddl, owned_rows {table: where}, tables)] in file order; the stage from ``pipeline/stages.py``."""
    out = []
    for path in sorted(SQL_DIR.glob("*.sql")):
        text = path.read_text()
        stage = stages.owner(path.name)
        rows = dict(re.findall(r"^-- rows: (\w+): (.+)$", text, re.M))
        tables = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", text)
        out.append((stage, text, rows, tables))
    return out


def create_all(con) -> None:
    for _, ddl, _, _ in sql_files():
        con.execute(ddl)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])


def owned_tables(stage: str) -> list[str]:
    """Tables ``stage`` rewrites whole (the 'core' file's tables belong to no stage)."""
    return [t for s, _, _, tables in sql_files() if s == stage and s != "core" for t in tables]


def clear_owned(con, stage: str) -> None:
    """Empty what ``stage`` owns, so a rerun of it replaces rather than duplicates."""
    # table names and WHERE claims are parsed from pipeline/sql/*.sql (repository files), never user text
    for table in owned_tables(stage):
        con.execute(f'DELETE FROM "{table}"')  # noqa: S608
    for s, _, rows, _ in sql_files():
        if s == stage:
            for table, where in rows.items():
                con.execute(f'DELETE FROM "{table}" WHERE {where}')  # noqa: S608


def insert(con, table: str, rows) -> int:
    """Append ``rows`` (a DataFrame, or a list of dicts) to ``table``, columns matched by name.

    The one way the pipeline writes rows: ``INSERT INTO t BY NAME SELECT * FROM frame`` (DuckDB), so
    a column's position in the SQL file never matters and a missing column gets its default. NaN and
    infinities become NULL. ``table`` must be one of the schema's tables (it is a name, never a value).
    """
    known = {t for *_, tables in sql_files() for t in tables}
    if table not in known:
        raise KeyError(f"insert: unknown table {table!r}; the schema's tables: {', '.join(sorted(known))}")
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if df.empty:
        return 0
    df = df.copy()
    for c in df.columns:
        if pd.api.types.is_float_dtype(df[c]):
            df[c] = df[c].where(np.isfinite(df[c])).astype("Float64")  # NaN -> <NA> -> NULL
        elif df[c].dtype == object:
            df[c] = [None if isinstance(v, float) and not np.isfinite(v) else v for v in df[c]]
    view = f"_insert_{table}"
    con.register(view, df)
    try:
        con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM "{view}"')  # noqa: S608 - table checked above
    finally:
        con.unregister(view)
    return len(df)
