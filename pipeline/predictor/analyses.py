"""The paper's analyses that the reproduction report quotes, computed in memory for the report only.

The app's pages compute their own figures from the database with the same ``advisor`` functions
(``pages/benchmarks.py``: ``correlation.correlation_table``, ``coverage.coverage_curves``;
``pages/capabilities.py``: ``pca.pca_summary``; ``pages/rm_results.py``: ``gains.gains_per_size_group``,
``posttraining.table1_deltas``), on inputs from the same two functions (``advisor.db.store.analysis_matrix``:
models x every feature with values; ``advisor.db.store.rm_targets``), so each analysis has one home, in
``advisor/``; nothing here is stored as a table. The settings differ where the report states a fixed
one: the report's main scale, its ``rm_sources`` and ``pca_features``, the served predictor's
out-of-fold predictions beside the benchmarks' coverage.

``paper_analyses`` returns the frames; each analysis runs behind ``guarded``: one that fails (gains
without a Llama baseline, a Table 1 without its base row, anything else) is skipped with its reason, and
the rest still run and publish.
``precomputed_patterns`` lists the missing-input patterns the build evaluates and stores (every pattern a
rankable row can have, and the report's representative ones); ``partial_rows`` is the report's table of
the representative ones (reduced spec vs imputation, ``advisor.predict.partial``).
"""

from __future__ import annotations

import pandas as pd

from advisor.analyses import correlation, coverage, gains, pca, posttraining
from advisor.core import registry
from advisor.db import store
from advisor.predict import specs


def _targets(con, cfg, rm) -> dict[str, pd.DataFrame]:
    """{RM method: its targets (``store.rm_targets``)} for the methods ``rm`` has, by name."""
    return {method: store.rm_targets(con, method, cfg.rm_sources) for method in sorted(rm.method.unique())}


def correlations(con, cfg, rm) -> pd.DataFrame:
    """Fig. 3: every feature against every RewardBench target, per RM method and correlation kind."""
    out = []
    for method, targets in _targets(con, cfg, rm).items():
        F = store.analysis_matrix(con, targets.index, cfg.scales[0])
        for cm in correlation.METHODS:
            t = correlation.correlation_table(F, targets, method=cm)
            t.insert(0, "rm_method", method)
            out.append(t.rename(columns={"method": "corr_method"}))
    cols = ["rm_method", "corr_method", "feature", "target", "r", "n", "t_stat", "t_critical",
            "p_value", "significant"]
    return pd.concat(out, ignore_index=True)[cols]


def coverage_curves(con, cfg, rm, known) -> pd.DataFrame:
    """Fig. 4/6: top-k coverage of every feature and of the served predictor (``known``: the table
    ``predictions_known``), k from ``coverage_ks``."""
    ks = range(cfg.coverage_ks[0], cfg.coverage_ks[1] + 1)
    out = []
    for method, targets in _targets(con, cfg, rm).items():
        truth = targets[cfg.target]
        F = store.analysis_matrix(con, truth.index, cfg.scales[0])
        k = known[(known.method == method) & (known.target == cfg.target)].set_index("hf_id")
        F["predictor (nested CV)"] = k.oof_prediction.reindex(F.index)
        F["predictor (lineage-out)"] = k.lofo_prediction.reindex(F.index)
        F["predictor (in-sample)"] = k.fitted.reindex(F.index)
        F = F.drop(columns=[c for c in F.columns if c.startswith("predictor") and F[c].isna().all()])
        curves = coverage.coverage_curves(F, truth.reindex(F.index), ks)
        keep = set(coverage.passing(curves, cfg.coverage_min_k5, cfg.coverage_min_k10))
        curves["passes_filter"] = curves.feature.isin(keep)
        curves.insert(0, "target", cfg.target)
        curves.insert(0, "rm_method", method)
        out.append(curves)
    return pd.concat(out, ignore_index=True)


def pca_ratio(con, cfg) -> pd.Series:
    """App. F: explained variance ratio of the paper models on ``pca_features`` (attrs: n_models)."""
    M = store.analysis_matrix(con, store.paper_models(con), cfg.scales[0]).reindex(
        columns=list(cfg.pca_features)).dropna()
    ratio, _ = pca.pca_summary(M)
    ratio.attrs["n_models"] = len(M)
    return ratio


def guarded(name: str, compute, skipped: list, empty=None):
    """``compute()``, or ``empty`` when it fails: the one guard every analysis of the build runs behind
    (these, the transfer stage's, the presence regression's). The failure goes to ``skipped`` as
    {"analysis": name, "reason": ...} (the table ``skipped_analyses``, the report's "Skipped analyses",
    the Evidence page), and the build publishes the rest. A failing disk or database still stops the
    run (``pipeline.run`` reports it and publishes nothing)."""
    from pipeline import publish

    try:
        return compute()
    except (OSError, *publish.DISK_ERRORS):
        raise
    except Exception as exc:  # noqa: BLE001 - an analysis never stops the publish; its reason is kept
        reason = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        skipped.append({"analysis": name, "reason": reason})
        return empty


def paper_analyses(con, cfg, known: pd.DataFrame) -> dict:
    """{"correlations", "coverage_curves", "pca_ratio", "gains", "table1_deltas": frames,
    "skipped": [{"analysis", "reason"}]}: each analysis behind ``guarded`` (a failed one is empty)."""
    rm = store.rm_table(con, sources=tuple(cfg.rm_sources), one_per_model=True)
    skipped: list[dict] = []
    post = store.frame(con, "SELECT * FROM post_training")
    return {
        "correlations": guarded("correlations", lambda: correlations(con, cfg, rm), skipped, pd.DataFrame()),
        "coverage_curves": guarded("coverage", lambda: coverage_curves(con, cfg, rm, known), skipped,
                                   pd.DataFrame()),
        "pca_ratio": guarded("pca", lambda: pca_ratio(con, cfg), skipped, pd.Series(dtype=float)),
        "gains": guarded("gains", lambda: gains.gains_per_size_group(rm), skipped,
                         pd.DataFrame(columns=["method", "size_group", "gain_points"])),
        "table1_deltas": guarded("post_training_deltas",
                                 lambda: posttraining.table1_deltas(post) if len(post) else pd.DataFrame(),
                                 skipped, pd.DataFrame()),
        "skipped": skipped}


_TASK_LABELS = {t: registry.get(t).display_name for t in registry.OLL_V2_TASKS}
# representative missingness patterns for the report: each task left out, the usual model-card
# pattern (IFEval, GPQA, MMLU-Pro and the size), and the six tasks without any size (an lm-eval run)
REPORT_PATTERNS = {
    **{f"without {_TASK_LABELS[t]}": [f for f in specs.BASE_FEATURES if f != t]
       for t in registry.OLL_V2_TASKS},
    "model card: IFEval + GPQA + MMLU-PRO + params": ["leaderboard_ifeval", "leaderboard_gpqa",
                                                      "leaderboard_mmlu_pro", "params_b"],
    "six tasks, no size or tokens": list(registry.OLL_V2_TASKS),
}


def precomputed_patterns(count: int = 127) -> list[list[str]]:
    """The patterns the build evaluates for partial inputs and stores in the bundle: the first ``count``
    (``predictor.partial_patterns``) of the patterns a rankable row can have
    (``advisor.predict.partial.rankable_patterns``: params_b with any subset of the other base features,
    127, most inputs first) and REPORT_PATTERNS, the complete one left out. No candidate file is read:
    the example a user tries is served like any other file."""
    from advisor.predict.partial import pattern_key, rankable_patterns

    unique = {pattern_key(p): [f for f in specs.BASE_FEATURES if f in set(p)]
              for p in [*rankable_patterns()[:count], *REPORT_PATTERNS.values()]}
    return [p for p in unique.values() if p and len(p) < len(specs.BASE_FEATURES)]


def partial_rows(scale, stored: dict) -> list[dict]:
    """The report's rows of the reduced-spec vs imputation evidence (``advisor.predict.partial``):
    REPORT_PATTERNS, overall score, from the stored evidence ({method: {pattern: {target: entry JSON}}})."""
    from advisor.predict.partial import entry_from_json, pattern_key

    rows = []
    for name, have in REPORT_PATTERNS.items():
        for method, by_pattern in stored.items():
            e = entry_from_json(by_pattern[pattern_key(have)]["score"])
            rows.append({"scale": scale, "method": method, "target": "score",
                         "pattern": name, "missing": e["missing"], "choice": e["label"],
                         "mae": e["mae"], "imputation_mae": e["imputation_mae"],
                         "reduced_mae": e["reduced_mae"], "mean_mae": e["mean_mae"],
                         "skill": e["skill"], "reduced_halfwidth": e["halfwidth"]})
    return rows
