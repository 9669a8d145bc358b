"""Read-only access to the published database, for the app and for analysis.

Connections are short-lived and read-only: the pipeline swaps the file atomically, so each new
connection sees a complete database (the old or the new one). ``RM_ADVISOR_DB`` overrides the path.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import duckdb
import pandas as pd

from advisor.core import registry

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = ROOT / "data" / "advisor.duckdb"
TRAINING_METRICS = frozenset(registry.TRAINING_METRICS)


def db_path(path=None) -> Path:
    return Path(path or os.environ.get("RM_ADVISOR_DB") or DEFAULT_DB)


def connect(path=None, retries: int = 20, wait_s: float = 0.05) -> duckdb.DuckDBPyConnection:
    """A read-only connection. Retries briefly on a lock or a missing file (the instant of a swap)."""
    p = db_path(path)
    last = None
    for _ in range(retries):
        try:
            return duckdb.connect(str(p), read_only=True)
        except duckdb.Error as exc:  # locked by a writer, or mid-rename
            last = exc
            time.sleep(wait_s)
    if not p.exists():
        raise FileNotFoundError(f"database {p} not found; build it with: python -m pipeline.run") from last
    raise last


DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file (its storage header, after a checksum)
NEEDED_TABLES = ("models", "rm_results")  # what the app and ``rank`` read first; every build creates them


def is_duckdb_file(path) -> bool:
    """Whether ``path`` is a DuckDB database file, from its header's magic bytes (no connection: a file
    another process holds read-write can be checked too)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(12)[8:12] == DUCKDB_MAGIC
    except OSError:
        return False


def database_problem(path=None) -> str | None:
    """Why the database at ``path`` cannot serve the app or ``rank`` (a message naming the file and the
    fix), or None: missing, empty (0 bytes), not a DuckDB file, or a DuckDB file the pipeline did not build."""
    p = db_path(path)
    build = f"build it with `python -m pipeline.run --db {p}`"
    if not p.is_file():
        return f"database {p} not found. Fix: {build}, or pass --db PATH."
    if p.stat().st_size == 0:
        return f"database {p} is an empty file (0 bytes). Fix: {build}, or pass --db PATH."
    ours = "pass --db (or RM_ADVISOR_DB) the database `python -m pipeline.run --db PATH` built"
    if not is_duckdb_file(p):
        return f"{p} is not a DuckDB database. Fix: {ours}."
    try:
        with connection(p) as con:
            missing = [t for t in NEEDED_TABLES if not has_table(con, t)]
    except duckdb.Error as exc:
        text = str(exc).splitlines()[0]
        fix = ("close the program that holds it read-write (a `duckdb` shell, a notebook), then try again"
               if "lock" in text else f"{build}, or pass --db PATH")
        return f"database {p} cannot be opened ({text}). Fix: {fix}."
    if missing:
        return f"{p} is a DuckDB database but not one rm-advisor built (no table {missing[0]}). Fix: {ours}."
    return None


def frame(con, sql: str, params=None) -> pd.DataFrame:
    return con.execute(sql, params or []).fetchdf()


def has_table(con, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                       [name]).fetchone()[0] > 0


def feature_matrix(con, features, scale="normalized", models=None) -> pd.DataFrame:
    """Models x features (index hf_id). Benchmarks are read on ``scale`` only (a scale name for all, a
    dict {feature: scale}, or None for each benchmark's registry ``native_scale``); training metrics come
    from ``models``. When a model has several values for one benchmark and scale, the newest (recorded_at,
    undated values last, then source name) wins. Missing values stay NaN."""
    features = list(features)
    for f in features:
        registry.get(f)  # unknown names raise with the valid list
    benches = [f for f in features if f not in TRAINING_METRICS]
    out = frame(con, "SELECT hf_id, params_b, pretrain_tokens_t FROM models ORDER BY hf_id").set_index("hf_id")
    if benches:
        scales = [scale.get(b, registry.get(b).native_scale) if isinstance(scale, dict)
                  else (scale or registry.get(b).native_scale) for b in benches]
        pairs = " OR ".join("(benchmark = ? AND scale = ?)" for _ in benches)
        long = frame(con, f"""
            SELECT hf_id, benchmark, value FROM (
              SELECT *, row_number() OVER (PARTITION BY hf_id, benchmark
                                           ORDER BY recorded_at DESC NULLS LAST, source DESC) AS rn
              FROM benchmark_scores WHERE {pairs}) WHERE rn = 1""",  # noqa: S608 - only the count of (?, ?) pairs varies
                     [v for pair in zip(benches, scales) for v in pair])
        wide = long.pivot(index="hf_id", columns="benchmark", values="value")
        out = out.join(wide, how="outer")
    for f in features:
        if f not in out.columns:
            out[f] = float("nan")
    out = out[features]
    if models is not None:
        out = out.reindex(list(models))
    out.index.name = "hf_id"
    return out


def features_with_values(con) -> list[str]:
    """Every registry feature the database has a value for (a benchmark in ``benchmark_scores``, on any
    scale) and the training metrics, in registry order."""
    have = {r[0] for r in con.execute("SELECT DISTINCT benchmark FROM benchmark_scores").fetchall()}
    return [b for b in registry.names() if b in have or b in TRAINING_METRICS]


def analysis_matrix(con, models, oll_v2_scale: str = "normalized") -> pd.DataFrame:
    """The input of the paper's analyses (correlation, coverage, PCA), for the app's pages and the
    reproduction report alike: ``models`` (rows, in that order) x every feature with values
    (``features_with_values``), each read on the registry's scale for it (``registry.model_scales``:
    the OLL v2 tasks on ``oll_v2_scale``). NaN where a model has no value."""
    features = features_with_values(con)
    return feature_matrix(con, features, registry.model_scales(features, oll_v2_scale), models=list(models))


def paper_models(con) -> list[str]:
    """The paper's 40 models (``models.in_paper``), by hf_id."""
    return [r[0] for r in con.execute("SELECT hf_id FROM models WHERE in_paper ORDER BY hf_id").fetchall()]


def rm_targets(con, method: str, sources=("paper",)) -> pd.DataFrame:
    """One method's RewardBench results as targets (the analyses' and the predictor's): index hf_id,
    columns ``registry.RM_TARGETS`` (the overall score first), one row per model from the first of
    ``sources`` that has it (``rm_table(one_per_model=True)``), best score first."""
    rm = rm_table(con, method=method, sources=tuple(sources), one_per_model=True)
    return rm.set_index("hf_id")[list(registry.RM_TARGETS)]


def rm_table(con, method: str | None = None, sources=registry.RM_SOURCES, one_per_model: bool = False) -> pd.DataFrame:
    """RewardBench results joined with model facts; one row per (hf_id, method, source, run_id).

    ``one_per_model``: one row per (hf_id, method) instead, from the first of ``sources`` (in the order
    given) that has a result for it; within a source the highest ``run_id`` wins, so the pick is stable."""
    sql = """SELECT r.hf_id, r.method, r.chat, r.chat_hard, r.safety, r.reasoning, r.score, r.source, r.run_id,
                    m.display_name, m.publisher, m.family, m.params_b, m.pretrain_tokens_t, m.size_group
             FROM rm_results r LEFT JOIN models m USING (hf_id)
             WHERE r.source IN (SELECT unnest(?))"""
    params = [list(sources)]
    if method is not None:
        sql += " AND r.method = ?"
        params.append(method)
    if one_per_model:
        sql += """ QUALIFY row_number() OVER (PARTITION BY r.hf_id, r.method
                                            ORDER BY list_position(?, r.source), r.run_id DESC NULLS LAST) = 1"""
        params.append(list(sources))
    return frame(con, sql + " ORDER BY r.method, r.score DESC, r.hf_id, r.source, r.run_id", params)  # ties: stable


# --- the app's plumbing: short-lived connections, cache stamps ------------------------------------

def db_file() -> Path:
    return db_path()


def db_stamp(path: Path | None = None) -> int:
    """Cache key part that changes whenever the pipeline publishes a new database."""
    p = Path(path) if path else db_file()
    try:
        return p.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


@contextlib.contextmanager
def connection(path=None):
    con = connect(path)
    try:
        yield con
    finally:
        con.close()


def has_rows(con, table: str) -> bool:
    # table: a name from code (PRESENCE_TABLES, literals), checked to exist first; never user text
    return has_table(con, table) and con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] > 0  # noqa: S608
