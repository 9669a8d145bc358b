"""Files where the app and ``rank`` expect the pipeline's database but find something else (issue 27,
finding 7): shared by tests/cli/test_rank_cli.py and tests/app/test_app_pages.py."""

from __future__ import annotations

from pathlib import Path


def not_the_pipelines_database(kind: str, path: Path) -> tuple[Path, str]:
    """(a file at ``path`` that is no rm-advisor database, what the message must say): issue 27 finding 7."""
    if kind == "empty":  # `: > touched.duckdb`
        path.touch()
        return path, "is an empty file (0 bytes). Fix: build it with `python -m pipeline.run --db"
    if kind == "foreign":  # a DuckDB database of something else: models, but no rm_results
        import duckdb

        with duckdb.connect(str(path)) as con:
            con.execute("CREATE TABLE models (hf_id TEXT)")
        return path, "is a DuckDB database but not one rm-advisor built (no table rm_results). Fix:"
    path.write_text("my notes")
    return path, "is not a DuckDB database. Fix: pass --db"
