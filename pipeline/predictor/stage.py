"""``run(ctx)`` of the pipeline stage ``predictor``: evaluate, choose and fit the served predictors,
store them and their evidence in the database, and build the reproduction report.

1. every scale in ``scales`` (normalized, raw): inputs, honest evaluation and the served predictors
   (``scale.evaluate_scale``, a ``ScaleResult`` each);
2. the bundle and the tables of ``pipeline/sql/50_predictor.sql`` (``pipeline.schema.insert``), each row
   of ``predictor_served`` made from its ``ServedEntry``;
3. the report (``analyses`` + ``report``) into the table ``reports``; ``pipeline.run`` writes the report
   files after the publish. The ``transfer`` stage, run after this one, adds its section.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd

import advisor
from advisor.db import store
from advisor.predict import bundle as bundle_mod
from advisor.predict import evaluation, shortlist
from pipeline import schema
from pipeline.predictor import analyses, report
from pipeline.predictor.config import PredictorConfig
from pipeline.predictor.scale import ScaleResult, data_hash, evaluate_scale

# ServedEntry fields that predictor_served keeps under their own names (beside scale, method, target,
# interval_level and interval_halfwidth)
SERVED_COLUMNS = ("skill", "spec", "nested_mae_mean", "nested_mae_sd", "lineage_out_mae", "spearman",
                  "coverage_top5", "coverage_top10", "interval_coverage", "interval_coverage_lo",
                  "interval_coverage_hi", "mean_baseline_mae", "size_baseline_mae", "skill_diff",
                  "skill_diff_lo", "skill_diff_hi", "n_models", "n_lineages", "interval_protocol",
                  "selection", "inner_seeds", "lineage_out_mae_sd", "lineage_out_spearman_sd",
                  "lineage_out_interval_coverage", "lineage_out_interval_coverage_lo",
                  "lineage_out_interval_coverage_hi")


def run(ctx) -> None:
    cfg: PredictorConfig = ctx.section("predictor")  # validated by config.load
    t0 = time.perf_counter()
    results = [evaluate_scale(ctx, cfg, scale) for scale in cfg.scales]
    bundle = build_bundle(cfg, results, store.frame(ctx.con, "SELECT hf_id, lineage FROM model_lineages"))
    eval_seconds = time.perf_counter() - t0
    write_tables(ctx.con, cfg, bundle, results)
    ctx.log(f"  served predictors stored in the database (table predictor_bundle, version "
            f"{bundle.version}); evaluation {eval_seconds:.1f}s")
    known = predictions_known(results[0], bundle)
    schema.insert(ctx.con, "predictions_known", known)
    # the report: the paper's analyses computed in memory (the pages compute theirs), never stored
    found = analyses.paper_analyses(ctx.con, cfg, known)
    schema.insert(ctx.con, "skipped_analyses", pd.DataFrame(found["skipped"], columns=["analysis", "reason"]))
    for s in found["skipped"]:
        ctx.log(f"  skipped {s['analysis']}: {s['reason']}")
    report.store(ctx, report.build_report(cfg, bundle, results, found, eval_seconds))
    m = results[0].served[(cfg.method, cfg.target)]
    ctx.log(f"  {cfg.scales[0]} {cfg.method}/{cfg.target}: spec {m.spec}, {m.skill}, nested MAE "
            f"{report.fmt(m.nested_mae_mean)} ± {report.fmt(m.nested_mae_sd)}, lineage-out "
            f"{report.fmt(m.lineage_out_mae)} (mean baseline {report.fmt(m.baselines['mean'])})")


def build_bundle(cfg: PredictorConfig, results: list[ScaleResult], lineages: pd.DataFrame) -> bundle_mod.ServedBundle:
    """The served bundle: every scale's entries and training data, the listed lineages, and what partial
    inputs need precomputed (the patterns' evidence, then the spreads computed with it)."""
    train_hash = hashlib.sha256(data_hash(results).encode()).hexdigest()
    scales = {r.scale: {"X_train": r.X, "served": r.served, "Y_train": r.Y, "lineage": r.lineage}
              for r in results}
    pre = {"patterns": {r.scale: r.patterns for r in results if r.patterns}}

    def build(precomputed):
        return bundle_mod.build(
            scales, cfg.methods, cfg.targets, cfg.interval_level, f"{advisor.__version__}+{train_hash[:12]}",
            train_hash, bundle_mod.library_versions(), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            procedure={"candidates": list(cfg.candidates), "cv": cfg.cv, "random_state": cfg.random_state,
                       "inner_seeds": cfg.inner_seeds},
            lineages=dict(zip(lineages.hf_id, lineages.lineage)), precomputed=precomputed)

    if not pre["patterns"]:
        return build(None)
    patterns = [key.split("+") for key in next(iter(pre["patterns"].values()))[cfg.methods[0]]]
    return build({**pre, **shortlist.precompute_spreads(build(pre), patterns)})


def write_tables(con, cfg: PredictorConfig, bundle, results: list[ScaleResult]) -> None:
    """The bundle and the evidence tables of every scale (columns as in 50_predictor.sql)."""
    schema.insert(con, "predictor_bundle", pd.DataFrame([{
        "version": bundle.version, "format_version": bundle_mod.FORMAT_VERSION,
        "created_at": bundle.data["created_at"], "bundle_json": bundle.to_json()}]))
    schema.insert(con, "predictor_served", pd.DataFrame([
        {"scale": r.scale, "method": method, "target": target, **{k: getattr(e, k) for k in SERVED_COLUMNS},
         "interval_level": cfg.interval_level, "interval_halfwidth": e.halfwidth,
         "interval_halfwidth_lineage_out": e.halfwidth_lineage_out,
         **{f"vs_size_{k}": (e.vs_size or {}).get(k) for k in ("diff", "lo", "hi")}}
        for r in results for (method, target), e in r.served.items()]))
    tables = {"predictor_evidence": ("evidence", [
                  "scale", "method", "target", "name", "kind", "paper_reference", "chosen", "nested_mae_mean",
                  "nested_mae_sd", "lineage_out_mae", "spearman", "coverage_top5", "coverage_top10",
                  "diff_vs_mean", "diff_lo", "diff_hi"]),
              "predictions_oof": ("oof", [
                  "scale", "method", "target", "name", "protocol", "repeat", "fold", "hf_id", "lineage", "y",
                  "prediction", "lower", "upper", "pick"]),
              "interval_calibration": ("calibration", [
                  "scale", "method", "target", "protocol", "nominal", "empirical", "lo", "hi", "n"]),
              "lineage_errors": ("lineage_errors", [
                  "scale", "method", "target", "name", "lineage", "n_models", "mae"])}
    for table, (attr, columns) in tables.items():
        frame = pd.concat([getattr(r, attr) for r in results], ignore_index=True)
        if "name" in frame.columns:  # the single-seed procedures only feed the served rows' seed spread
            frame = frame[~frame.name.str.startswith(evaluation.SERVED + "/seed")]
        schema.insert(con, table, frame[columns])


def predictions_known(main: ScaleResult, bundle) -> pd.DataFrame:
    """Known models of the main scale: truth, the served procedure's out-of-fold predictions (first
    nested repeat with its interval, NULL in a serving build; lineage-out) and the in-sample fit (for
    the coverage figure)."""
    oof = main.oof[main.oof.name == "served"]
    X = bundle.X_train(main.scale)
    rows = []
    for (method, target), g in oof.groupby(["method", "target"]):
        lo = g[g.protocol == "lineage_out"].set_index("hf_id")
        n = g[(g.protocol == "nested") & (g.repeat == 0)].set_index("hf_id").reindex(lo.index)
        rows.append(pd.DataFrame({
            "hf_id": lo.index, "method": method, "target": target, "y": lo.y.to_numpy(),
            "oof_prediction": n.prediction.to_numpy(), "lower": n.lower.to_numpy(), "upper": n.upper.to_numpy(),
            "cv_prediction": np.nan, "lofo_prediction": lo.prediction.to_numpy(),
            "fitted": bundle.predict(X.loc[lo.index], main.scale, method, target)}))
    return pd.concat(rows, ignore_index=True)
