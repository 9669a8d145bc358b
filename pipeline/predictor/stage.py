"""``run(ctx)`` of the pipeline stage ``predictor``: evaluate, choose and fit the served predictors,
store them and their evidence in the database, and build the reproduction report.

For every scale in ``scales`` (normalized, raw):
1. the model x feature matrix (``advisor.db.store.feature_matrix``: the six OLL v2 tasks on that scale,
   params_b, pretrain_tokens_t), the RewardBench results and each model's lineage (``load_inputs``);
2. the honest evaluation (``advisor.predict.evaluation``), reused from ``checkpoints`` when its key matches;
3. the served predictor of each (method, target): the candidates fitted on all models, the
   one-standard-error choice, its conformal half-width from the nested residuals, and its skill flag.
Then the tables of ``pipeline/sql/50_predictor.sql`` (``pipeline.schema.insert``), the report
(``analyses`` + ``report``) into the table ``reports``, and the transfer analysis
(``pipeline/transfer_stage.py``). ``pipeline.run`` writes the report files after the publish.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd

import advisor
from advisor.core import registry
from advisor.db import store
from advisor.db.lineage import lineages_for
from advisor.predict import bundle as bundle_mod
from advisor.predict import evaluation, specs
from pipeline import schema
from pipeline.errors import InputError
from pipeline.predictor import analyses, checkpoints
from pipeline.predictor.config import PredictorConfig, eval_config
from pipeline.predictor.report import build_report, fmt, render_markdown, served_entry


def _col(method: str, target: str) -> str:
    return f"{method}/{target}"


def load_inputs(con, cfg: PredictorConfig, scale: str):
    """(feature matrix, targets (columns method/target), lineage) of the models with every feature on
    ``scale`` and every target of every method."""
    rm = store.rm_table(con, sources=tuple(cfg.rm_sources), one_per_model=True)
    feats = list(specs.BASE_FEATURES)
    X = store.feature_matrix(con, feats, registry.model_scales(feats, scale),
                             models=sorted(rm.hf_id.unique())).dropna()
    Y = pd.DataFrame(index=X.index)
    for m in cfg.methods:
        ym = rm[rm.method == m].set_index("hf_id")
        for t in cfg.targets:
            Y[_col(m, t)] = ym[t].reindex(X.index) if t in ym else np.nan
    Y = Y.dropna()
    X = X.loc[Y.index]
    return X, Y, lineages_for(con, X.index)


def _write_predictor_tables(con, bundle, served_rows, evidence_rows, oof_rows, calib_rows, lineage_rows,
                            created) -> None:
    schema.insert(con, "predictor_bundle", pd.DataFrame([{
        "version": bundle.version, "format_version": bundle_mod.FORMAT_VERSION,
        "created_at": created, "bundle_json": bundle.to_json()}]))
    schema.insert(con, "predictor_served", pd.DataFrame(served_rows))
    ev = pd.concat(evidence_rows, ignore_index=True)
    schema.insert(con, "predictor_evidence", ev[[
        "scale", "method", "target", "name", "kind", "paper_reference", "chosen", "nested_mae_mean",
        "nested_mae_sd", "lineage_out_mae", "spearman", "coverage_top5", "coverage_top10",
        "diff_vs_mean", "diff_lo", "diff_hi"]])
    oof = pd.concat(oof_rows, ignore_index=True)
    schema.insert(con, "predictions_oof", oof[[
        "scale", "method", "target", "name", "protocol", "repeat", "fold", "hf_id", "lineage", "y",
        "prediction", "lower", "upper", "pick"]])
    schema.insert(con, "interval_calibration", pd.concat(calib_rows, ignore_index=True)[[
        "scale", "method", "target", "protocol", "nominal", "empirical", "lo", "hi", "n"]])
    schema.insert(con, "lineage_errors", pd.concat(lineage_rows, ignore_index=True)[[
        "scale", "method", "target", "name", "lineage", "n_models", "mae"]])


def _predictions_known(con, cfg) -> pd.DataFrame:
    """Known models of the main scale: truth, the served procedure's out-of-fold predictions (first
    nested repeat with its interval, NULL in a serving build; lineage-out) and the in-sample fit (for
    the coverage figure)."""
    scale = cfg.scales[0]
    oof = store.frame(con, "SELECT * FROM predictions_oof WHERE scale = ? AND name = 'served'", [scale])
    rows = []
    b = bundle_mod.ServedBundle.from_json(
        con.execute("SELECT bundle_json FROM predictor_bundle").fetchall()[0][0])
    X = b.X_train(scale)
    for (method, target), g in oof.groupby(["method", "target"]):
        lo = g[g.protocol == "lineage_out"].set_index("hf_id")
        n = g[(g.protocol == "nested") & (g.repeat == 0)].set_index("hf_id").reindex(lo.index)
        df = pd.DataFrame({"hf_id": lo.index, "method": method, "target": target, "y": lo.y.to_numpy(),
                           "oof_prediction": n.prediction.to_numpy(), "lower": n.lower.to_numpy(),
                           "upper": n.upper.to_numpy(), "cv_prediction": np.nan,
                           "lofo_prediction": lo.prediction.to_numpy(),
                           "fitted": b.predict(X.loc[lo.index], scale, method, target)})
        rows.append(df)
    return pd.concat(rows, ignore_index=True)


def run(ctx) -> None:
    cfg: PredictorConfig = ctx.section("predictor")  # validated by config.load, rules across keys included
    con = ctx.con
    t0 = time.perf_counter()
    served_rows, evidence_rows, oof_rows, calib_rows, lineage_rows = [], [], [], [], []
    bundle_scales, served_report, partial_rows = {}, {}, []
    hashes = []
    for scale in cfg.scales:
        X, Y, lineage = load_inputs(con, cfg, scale)
        if len(X) < max(cfg.folds, 10):
            raise InputError("database", f"only {len(X)} models have all predictor features "
                             f"{list(specs.BASE_FEATURES)} on scale {scale!r} and every target",
                             "run the ingest stage, or serve only scales the data covers "
                             "(predictor.scales)")
        hashes.append(bundle_mod.data_hash(X, Y))
        ref = specs.paper_reference() if scale in cfg.paper_reference_scales else None
        ecfg = eval_config(
            cfg, extra_specs=[ref] if ref else [],
            extra_targets=[i for i, c in enumerate(Y.columns)
                           if c.split("/")[1] in cfg.paper_reference_targets] if ref else None)
        ts = time.perf_counter()
        ctx.log(f"  {scale}: {len(X)} models, {lineage.nunique()} lineages; evaluating "
                f"{len(cfg.candidates)} specs{' + the paper reference' if ref else ''}, "
                f"{len(ecfg.baselines)} baselines, {cfg.repeats}x{cfg.folds}-fold nested CV + "
                "lineage-out")
        oof = checkpoints.evaluate_cached(ctx, scale, X, Y, lineage, ecfg)
        oof = evaluation.add_intervals(oof, cfg.interval_level)
        summary = evaluation.summarize(oof, ecfg, reference=ref)
        ctx.log(f"  {scale}: evaluated in {time.perf_counter() - ts:.1f}s")
        # the served predictors: the same choice, made on all models
        fits = {s: specs.fit_spec(s, X, Y.to_numpy(float), cfg.cv, cfg.random_state, cfg.max_iter,
                                  n_jobs=1) for s in cfg.candidates}
        served = {}
        for j, col in enumerate(Y.columns):
            method, target = col.split("/")
            chosen = specs.select_one_se({s: fits[s][j] for s in cfg.candidates})
            s = summary["served"][col]
            cal = summary["calibration"]
            iproto = evaluation.interval_protocol(oof)
            cal_n = cal[(cal.target == col) & (cal.protocol == iproto)
                        & np.isclose(cal.nominal, cfg.interval_level)]
            entry = {
                "fit": fits[chosen][j], "spec": chosen, "skill": s["skill"],
                "halfwidth": evaluation.served_halfwidth(oof, col, cfg.interval_level),
                "nested_mae_mean": s["nested_mae_mean"], "nested_mae_sd": s["nested_mae_sd"],
                "lineage_out_mae": s["lineage_out_mae"], "spearman": s["spearman"],
                "coverage_top5": s["coverage_top5"], "coverage_top10": s["coverage_top10"],
                "interval_protocol": iproto,
                "interval_coverage": float(cal_n.empirical.iloc[0]) if len(cal_n) else None,
                "interval_coverage_lo": float(cal_n.lo.iloc[0]) if len(cal_n) else None,
                "interval_coverage_hi": float(cal_n.hi.iloc[0]) if len(cal_n) else None,
                "mean_baseline_mae": s["mean_mae"], "size_baseline_mae": s["size_mae"],
                "skill_diff": s["diff_vs_mean"], "skill_diff_lo": s["diff_lo"],
                "skill_diff_hi": s["diff_hi"], "n_models": s["n_models"],
                "n_lineages": s["n_lineages"],
                "baselines": {b: s[f"{b}_mae"] for b in ecfg.baselines},
                "picks": oof[(oof.name == evaluation.SERVED) & (oof.target == col)]
                .drop_duplicates(["protocol", "repeat", "fold"]).pick.value_counts().to_dict(),
            }
            if "vs_reference" in s:
                entry["vs_paper_reference"] = dict(zip(("diff", "lo", "hi"), s["vs_reference"]))
            served.setdefault(method, {})[target] = entry
            served_rows.append({"scale": scale, "method": method, "target": target,
                                "skill": entry["skill"], "spec": chosen,
                                **{k: entry[k] for k in (
                                    "nested_mae_mean", "nested_mae_sd", "lineage_out_mae", "spearman",
                                    "coverage_top5", "coverage_top10")},
                                "interval_level": cfg.interval_level,
                                **{k: entry[k] for k in (
                                    "interval_coverage", "interval_coverage_lo", "interval_coverage_hi",
                                    "mean_baseline_mae", "size_baseline_mae", "skill_diff",
                                    "skill_diff_lo", "skill_diff_hi", "n_models", "n_lineages")},
                                "interval_halfwidth": entry["halfwidth"],
                                "interval_protocol": iproto})
            ev = summary["evidence"]
            ev = ev[ev.target == col].copy()
            ev.insert(0, "scale", scale)
            ev["method"], ev["target"] = method, target
            ev["paper_reference"] = ev.name == specs.paper_reference()
            ev["chosen"] = ev.name == chosen
            evidence_rows.append(ev)
        bundle_scales[scale] = {"X_train": X, "served": served, "Y_train": Y, "lineage": lineage}
        tp = time.perf_counter()
        partial_rows += analyses.partial_patterns(cfg, scale, X, Y, lineage)
        ctx.log(f"  {scale}: {len(analyses.REPORT_PATTERNS)} partial-input patterns (reduced spec vs imputation, "
                f"lineage-out) in {time.perf_counter() - tp:.1f}s")
        served_report[scale] = {m: {t: served_entry(e) for t, e in d.items()} for m, d in served.items()}
        split = oof.target.str.split("/", expand=True)
        oof["method"], oof["target"] = split[0], split[1]
        oof.insert(0, "scale", scale)
        oof_rows.append(oof)
        for key, rows in (("calibration", calib_rows), ("lineage_errors", lineage_rows)):
            d = summary[key].copy()
            split = d.target.str.split("/", expand=True)
            d["method"], d["target"] = split[0], split[1]
            d.insert(0, "scale", scale)
            rows.append(d)
    train_hash = hashlib.sha256("".join(hashes).encode()).hexdigest()
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    bundle = bundle_mod.build(bundle_scales, cfg.methods, cfg.targets, cfg.interval_level,
                              f"{advisor.__version__}+{train_hash[:12]}", train_hash,
                              bundle_mod.library_versions(), created,
                              procedure={"candidates": list(cfg.candidates), "cv": cfg.cv,
                                         "random_state": cfg.random_state})
    eval_seconds = time.perf_counter() - t0
    _write_predictor_tables(con, bundle, served_rows, evidence_rows, oof_rows, calib_rows, lineage_rows,
                            created)
    ctx.log(f"  served predictors stored in the database (table predictor_bundle, version "
            f"{bundle.version}); evaluation {eval_seconds:.1f}s")

    known = _predictions_known(con, cfg)
    schema.insert(con, "predictions_known", known)

    # the report: the paper's analyses computed in memory (the pages compute theirs), never stored
    found = analyses.paper_analyses(con, cfg, known)
    schema.insert(con, "skipped_analyses", pd.DataFrame(found["skipped"], columns=["analysis", "reason"]))
    for s in found["skipped"]:
        ctx.log(f"  skipped {s['analysis']}: {s['reason']}")

    ev = pd.concat(evidence_rows, ignore_index=True)
    evidence = ev[(ev.scale == cfg.scales[0]) & (ev.target == cfg.target)]
    report = build_report(cfg, bundle, served_report, found, eval_seconds, evidence, partial_rows)
    # --- issue 16: does the order of bases carry over to other recipes? (pipeline/transfer_stage.py) ---
    from pipeline import transfer_stage
    report["transfer"] = transfer_stage.run(ctx, bundle)
    schema.insert(con, "reports", pd.DataFrame([
        {"name": "reproduction.json", "content": json.dumps(report, indent=2, default=str) + "\n"},
        {"name": "reproduction.md", "content": render_markdown(report)}]))
    out = (ctx.config.resolve(cfg.reports_dir) if cfg.reports_dir
           else ctx.db_path.with_name(ctx.db_path.name + ".reports"))
    ctx.report_files = (out, report)  # written by pipeline.run after the publish
    m = served_report[cfg.scales[0]][cfg.method][cfg.target]
    ctx.log(f"  {cfg.scales[0]} {cfg.method}/{cfg.target}: spec {m['spec']}, {m['skill']}, nested MAE "
            f"{fmt(m['nested_mae_mean'])} ± {fmt(m['nested_mae_sd'])}, lineage-out "
            f"{fmt(m['lineage_out_mae'])} (mean baseline {fmt(m['baselines']['mean'])})")
