"""Tables the app shows, read from the database and shaped for display (no analysis here).

Every function takes the database path and opens a short-lived read-only connection, so the app can
cache results keyed on (path, modification time) and pick up a rebuilt database on the next rerun.
No streamlit import: these are plain functions, tested directly and through the app.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from advisor.core import model_kinds, registry
from advisor.db import store

PRESENCE_TABLES = ("presence_scores", "presence_summary", "presence_jsd")
PRESENCE_SAMPLE = 50_000
PRESENCE_COMMAND = "python -m pipeline.run --config configs/smoke.yaml --stages presence"


# --- the display queries: one table of named, fixed SQL (no identifier or value ever comes from input) --

QUERIES = {
    # one row per served (scale, method, target): spec, skill flag, errors, interval coverage
    "predictor_served": "SELECT * FROM predictor_served ORDER BY scale, method, target",
    # every candidate spec and baseline per (scale, method, target), with its errors and CIs
    "predictor_evidence": "SELECT * FROM predictor_evidence ORDER BY scale, method, target, lineage_out_mae",
    # out-of-sample predictions of the known models (per spec/baseline, protocol and repeat)
    "predictions_oof": "SELECT * FROM predictions_oof",
    # interval calibration: nominal vs empirical coverage with its binomial CI
    "interval_calibration": ("SELECT * FROM interval_calibration "
                             "ORDER BY scale, method, target, protocol, nominal"),
    "lineage_errors": "SELECT * FROM lineage_errors ORDER BY scale, method, target, name, mae DESC",
    # analyses the last run skipped because a precondition failed, with the reason
    "skipped_analyses": "SELECT * FROM skipped_analyses",
    # across recipes: the external RM groups and the transfer analysis
    "transfer_agreement": "SELECT * FROM transfer_agreement ORDER BY comparison, advisor_method",
    "transfer_predictions":
        "SELECT * FROM transfer_predictions ORDER BY comparison, advisor_method, observed_rank",
    "transfer_lineage": "SELECT * FROM transfer_lineage ORDER BY comparison, advisor_method, post_trained_hf_id",
    "external_rm_results":
        "SELECT * FROM external_rm_results ORDER BY rm_group, rewardbench_version, base_hf_id, rm_id",
}


def table(path, name: str) -> pd.DataFrame:
    """One named query of ``QUERIES`` in display order; empty when the database predates its table."""
    if name not in QUERIES:
        raise KeyError(f"unknown display table {name!r}; valid names: {', '.join(QUERIES)}")
    with store.connection(path) as con:
        if not store.has_table(con, name):
            return pd.DataFrame()
        return store.frame(con, QUERIES[name])


# --- reward-model results -------------------------------------------------------------------------

def rm_results(path=None) -> pd.DataFrame:
    """All RewardBench results (paper and pipeline-trained), with model facts."""
    with store.connection(path) as con:
        df = store.rm_table(con)
    df["display_name"] = df["display_name"].fillna(df["hf_id"])
    return df


def post_training(path=None) -> pd.DataFrame:
    with store.connection(path) as con:
        return store.frame(con, "SELECT * FROM post_training")


# --- benchmarks -----------------------------------------------------------------------------------

def benchmark_catalog(path=None) -> pd.DataFrame:
    """The benchmarks table with how many models have a value, per scale."""
    with store.connection(path) as con:
        return store.frame(con, """
            SELECT b.name, b.display_name, b."group", b.topic, b.harness, b.task, b.metric,
                   b.scale AS native_scale, b.fewshot, b.in_paper_table2,
                   coalesce(c.models, 0) AS models_with_values, c.scales
            FROM benchmarks b LEFT JOIN (
                SELECT benchmark, count(DISTINCT hf_id) AS models,
                       string_agg(DISTINCT scale, ', ' ORDER BY scale) AS scales
                FROM benchmark_scores GROUP BY benchmark) c ON c.benchmark = b.name
            ORDER BY b."group", b.name""")


def paper_feature_matrix(path=None, oll_v2_scale: str = "normalized", min_models: int = 3) -> pd.DataFrame:
    """The 40 paper models x every benchmark and training metric with at least ``min_models`` values
    (``store.analysis_matrix``: index hf_id, registry names as columns in registry order, NaN where a
    model has no value)."""
    with store.connection(path) as con:
        matrix = store.analysis_matrix(con, store.paper_models(con), oll_v2_scale)
    return with_values(matrix, min_models)


def with_values(matrix: pd.DataFrame, min_models: int) -> pd.DataFrame:
    """The columns of ``matrix`` with a value for at least ``min_models`` rows (order kept)."""
    return matrix.loc[:, matrix.notna().sum() >= min_models]


def _registry_order(columns) -> list[str]:
    order = {n: i for i, n in enumerate(registry.benchmarks())}
    return sorted(columns, key=lambda c: order.get(c, len(order)))


def rm_targets(path=None, method: str = "regression") -> pd.DataFrame:
    """Paper RewardBench results of one method (``store.rm_targets``): index hf_id, columns score + the
    four categories."""
    with store.connection(path) as con:
        return store.rm_targets(con, method, sources=("paper",))


MEASURED_SOURCES = ("paper", "user")  # the paper's tables first, then the team's own files (--rm-results)
PAPER_TABLES = {"regression": "Table 4", "bradley_terry": "Table 5"}


def measured_scores(path=None, method: str = "regression") -> pd.DataFrame:
    """The measured RewardBench overall score of every base with a reward model of ``method`` (index
    hf_id): ``measured_score`` and ``measured_source`` in words ("paper, Table 4" or "your results:
    <file>"); one row per base, the paper's where it has one. What ``advisor.predict.ranking.build``
    ranks a known base by."""
    with store.connection(path) as con:
        rm = store.rm_table(con, method=method, sources=MEASURED_SOURCES, one_per_model=True)
    where = [f"paper, {PAPER_TABLES.get(method, 'its tables')}" if s == "paper"
             else f"your results: {str(r or '').removeprefix('user:') or 'rm_results'}"
             for s, r in zip(rm["source"], rm["run_id"])]
    return pd.DataFrame({"measured_score": rm["score"].to_numpy(float), "measured_source": where},
                        index=pd.Index(rm["hf_id"], name="hf_id"))


# --- leaderboard candidates -----------------------------------------------------------------------

def leaderboard(path=None) -> pd.DataFrame:
    """The Open LLM Leaderboard v2 table, one row per model (its best-ranked row), with ``known``
    (a paper model with trained reward models), ``org`` and the picker's kinds (``advisor.core.model_kinds``):
    ``official`` (an official provider's), ``merge`` and ``reward_model`` (by its name, or listed by
    RewardBench, the database's ``rewardbench_leaderboard``, as a trained classifier). In leaderboard
    rank order."""
    with store.connection(path) as con:
        df = store.frame(con, """
            SELECT l.hf_id, l.rank, l.average, l.params_b, l.leaderboard_ifeval, l.leaderboard_bbh,
                   l.leaderboard_math_hard, l.leaderboard_gpqa, l.leaderboard_musr,
                   l.leaderboard_mmlu_pro, coalesce(l.org, split_part(l.hf_id, '/', 1)) AS org,
                   m.hf_id IS NOT NULL AS known,
                   EXISTS (SELECT 1 FROM rewardbench_leaderboard r WHERE lower(r.model) = lower(l.hf_id)
                           AND r.model_type IN (SELECT unnest(?::VARCHAR[]))) AS rewardbench_rm
            FROM leaderboard_v2 l LEFT JOIN models m USING (hf_id)
            QUALIFY row_number() OVER (PARTITION BY l.hf_id ORDER BY l.rank) = 1
            ORDER BY l.rank""", [list(model_kinds.REWARDBENCH_RM_TYPES)])
    ids = df["hf_id"]
    df["official"] = ids.map(model_kinds.is_official).astype(bool)
    df["merge"] = ids.map(model_kinds.is_merge).astype(bool)
    df["reward_model"] = df.pop("rewardbench_rm").astype(bool) | ids.map(
        lambda h: model_kinds.named_as(h, "reward_model")).astype(bool)
    return df.reset_index(drop=True)


def known_models(path=None) -> pd.DataFrame:
    """The database's ``models`` table as the candidate table's completion reads it
    (``advisor.predict.candidates.Reference``): hf_id, params_b, pretrain_tokens_t, in_paper."""
    with store.connection(path) as con:
        return store.frame(con, "SELECT hf_id, params_b, pretrain_tokens_t, in_paper FROM models ORDER BY hf_id")


def filter_leaderboard(df: pd.DataFrame, search: str = "", size_range=(0.0, 1e9), orgs=(),
                       status: str = "all", official_only: bool = False, hide_merges: bool = False,
                       hide_reward_models: bool = False) -> pd.DataFrame:
    """Rows of ``leaderboard`` (all of them are searched) whose id contains each word of ``search``
    (case-insensitive, in any order: "llama 3.1 8b"), in a parameter range (B), of the organisations,
    of status 'all' | 'known' | 'new', and without the kinds the three switches leave out
    (``advisor.core.model_kinds``); official providers' models first, each group in leaderboard rank
    order."""
    mask = pd.Series(True, index=df.index)
    for word in search.split():
        mask &= df["hf_id"].str.contains(word, case=False, regex=False)
    lo, hi = size_range
    mask &= df["params_b"].between(lo, hi) | df["params_b"].isna() & (lo <= 0)
    if orgs:
        mask &= df["org"].isin(list(orgs))
    if status == "known":
        mask &= df["known"]
    elif status == "new":
        mask &= ~df["known"]
    for column, on in (("official", official_only), ("merge", hide_merges), ("reward_model", hide_reward_models)):
        if on:
            mask &= df[column] if column == "official" else ~df[column]
    return df[mask].sort_values("official", ascending=False, kind="stable")


# --- data page ------------------------------------------------------------------------------------

def sources(path=None) -> pd.DataFrame:
    with store.connection(path) as con:
        df = store.frame(con, """SELECT source_id, origin, license, description, rows_ingested,
                                        file, sha256, ingested_at FROM sources ORDER BY source_id""")
    df["file"] = df["file"].map(lambda f: _relative(f))
    df["sha256"] = df["sha256"].str[:12]
    return df


def _relative(f: str) -> str:
    try:
        return str(Path(f).resolve().relative_to(store.ROOT))
    except (ValueError, OSError, TypeError):
        return str(f)


def runs(path=None) -> pd.DataFrame:
    with store.connection(path) as con:
        return store.frame(con, """SELECT run_id, started_at, finished_at, stages, code_version,
                                          python_version, status, config_path
                                   FROM runs ORDER BY started_at DESC""")


def run_config(path=None, run_id: str = "") -> dict:
    """The configuration a pipeline run used (the ``runs.config_json`` column), parsed."""
    with store.connection(path) as con:
        row = con.execute("SELECT config_json FROM runs WHERE run_id = ?", [run_id]).fetchone()
    try:
        return json.loads(row[0]) if row and row[0] else {}
    except json.JSONDecodeError:
        return {"config_json": row[0]}


def coverage_matrix(path=None) -> pd.DataFrame:
    """Which of the models in the database have a value for which benchmark: index hf_id, one column
    per benchmark (display names), True where any scale has a value."""
    with store.connection(path) as con:
        long = store.frame(con, """SELECT DISTINCT m.display_name, s.benchmark FROM benchmark_scores s
                                   JOIN models m USING (hf_id)""")
        names = store.frame(con, "SELECT display_name FROM models ORDER BY display_name")["display_name"]
    long["has"] = True
    wide = long.pivot(index="display_name", columns="benchmark", values="has")
    wide = wide.reindex(index=list(names), columns=_registry_order(wide.columns))
    wide.columns = [registry.label(c) for c in wide.columns]
    return wide.fillna(False).astype(bool)


def meta(path=None) -> dict[str, str]:
    with store.connection(path) as con:
        return dict(con.execute("SELECT key, value FROM meta").fetchall())


def database_summary(path=None) -> dict:
    """What the database holds, for the one-line summary on the landing page."""
    with store.connection(path) as con:
        row = con.execute("""SELECT (SELECT count(*) FROM models), (SELECT count(DISTINCT hf_id) FROM rm_results),
                                    (SELECT count(*) FROM rm_results),
                                    (SELECT count(DISTINCT benchmark) FROM benchmark_scores),
                                    (SELECT count(*) FROM benchmark_scores), (SELECT count(*) FROM leaderboard_v2),
                                    (SELECT max(finished_at) FROM runs)""").fetchone()
    return dict(zip(("models", "rm_models", "rm_rows", "benchmarks", "scores", "leaderboard", "built"), row))


def table_counts(path=None) -> pd.DataFrame:
    with store.connection(path) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()]
        return pd.DataFrame({"table": names, "rows": [
            con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]  # noqa: S608 - names from information_schema
            for n in names]})


# --- pre-training data ----------------------------------------------------------------------------

def presence(path=None) -> dict[str, pd.DataFrame] | None:
    """The presence tables, or None when the database has none (or they are empty)."""
    with store.connection(path) as con:
        if not all(store.has_table(con, t) for t in PRESENCE_TABLES) or not store.has_rows(con, "presence_scores"):
            return None
        out = {t: store.frame(con, f'SELECT * FROM "{t}"') for t in PRESENCE_TABLES[1:]}  # noqa: S608 - constants
        if store.has_table(con, "presence_regression"):
            out["presence_regression"] = store.frame(con, "SELECT * FROM presence_regression")
        if store.has_table(con, "presence_rounds"):  # databases built before sequential scoring lack it
            out["presence_rounds"] = store.frame(con, "SELECT * FROM presence_rounds ORDER BY round, model")
        # the distributions are drawn from a fixed sample: a full run holds ~1M scores per model
        out["presence_scores"] = store.frame(
            con, f"SELECT * FROM presence_scores USING SAMPLE reservoir({PRESENCE_SAMPLE} ROWS) REPEATABLE (7)")  # noqa: S608 - an int constant
        out["n_scores"] = con.execute("SELECT count(*) FROM presence_scores").fetchone()[0]
        return out


# --- predictor ------------------------------------------------------------------------------------

def predictions_known(path=None, method: str = "regression") -> pd.Series | None:
    """The predictor's (out-of-fold when the pipeline stored them) predictions for the known models,
    or None when the database has none."""
    with store.connection(path) as con:
        if not store.has_rows(con, "predictions_known"):
            return None
        df = store.frame(con, 'SELECT * FROM predictions_known')
    if "method" in df.columns:
        df = df[df["method"] == method]
    if "target" in df.columns:
        df = df[df["target"] == "score"]
    for col in ("oof_prediction", "cv_prediction", "fitted"):  # honest first
        if col in df.columns and df[col].notna().any():
            return df.set_index("hf_id")[col]
    return None


PREDICTION_KINDS = {"oof_prediction": "nested-CV out-of-fold predictions",
                    "cv_prediction": "cross-validated (paper-style) out-of-fold predictions",
                    "fitted": "in-sample fitted values (optimistic)"}


# --- across recipes: the team's own RM results ---------------------------------------------------


def user_rm_results(path=None) -> pd.DataFrame:
    """The team's own results (rm_results.source = 'user') with their file's provenance."""
    with store.connection(path) as con:
        df = store.frame(con, "SELECT hf_id, method, chat, chat_hard, safety, reasoning, score, run_id, config "
                              "FROM rm_results WHERE source = 'user' ORDER BY run_id, hf_id, method")
    prov = [json.loads(c) if c else {} for c in df.pop("config")]
    df["file"] = [p.get("file") for p in prov]
    df["format"] = [p.get("format") for p in prov]
    df["sha256"] = [(p.get("sha256") or "")[:12] for p in prov]
    return df


