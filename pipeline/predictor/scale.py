"""One scale of the predictor stage: its inputs, the honest evaluation and the served predictors.

``evaluate_scale(ctx, cfg, scale)`` returns a ``ScaleResult``:
1. the model x feature matrix (``advisor.db.store.feature_matrix``: the six OLL v2 tasks on that scale,
   params_b, pretrain_tokens_t), the RewardBench targets (``advisor.db.store.rm_targets``; columns
   ``(method, target)`` pairs) and each model's lineage (``load_inputs``);
2. the honest evaluation (``advisor.predict.evaluation``), reused from ``checkpoints`` when its key matches;
3. the served predictor of each (method, target) (``served_entries``): the candidates fitted on all models,
   the one-standard-error choice, its two conformal half-widths (known lineages: the nested residuals; a
   lineage never seen: the lineage-out residuals), its skill flag and the honest protocol's fields;
4. the partial-input evidence of the patterns the build precomputes (``analyses.precomputed_patterns``,
   ``checkpoints.patterns_cached``; off in a serving build), and the report's rows of it.

The evaluation numbers the targets by their position among ``Y``'s columns; ``_with_pairs`` turns those
numbers back into method and target columns, once, for the tables.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from advisor.core import registry
from advisor.db import store
from advisor.db.lineage import lineages_for
from advisor.predict import bundle as bundle_mod
from advisor.predict import evaluation, specs
from advisor.predict.bundle import ServedEntry
from pipeline.errors import InputError
from pipeline.predictor import analyses, checkpoints
from pipeline.predictor.config import PredictorConfig, eval_config


@dataclass
class ScaleResult:
    """Everything the stage stores and reports about one scale."""

    scale: str
    X: pd.DataFrame  # models x specs.BASE_FEATURES (index hf_id)
    Y: pd.DataFrame  # models x (method, target) pairs
    lineage: pd.Series  # hf_id -> lineage
    served: dict[tuple[str, str], ServedEntry]  # in Y's column order
    oof: pd.DataFrame  # out-of-fold predictions with intervals (scale, method, target, name, protocol, ...)
    evidence: pd.DataFrame  # every spec, baseline and the served procedure (rows of predictor_evidence)
    calibration: pd.DataFrame
    lineage_errors: pd.DataFrame
    partial: list[dict]  # analyses.partial_rows (the report's patterns, overall score)
    patterns: dict  # the precomputed partial-input evidence as the bundle stores it (checkpoints.patterns_cached)


def load_inputs(con, cfg: PredictorConfig, scale: str):
    """(X, Y, lineage) of the models with every predictor feature on ``scale`` and every target of every
    method; Y's columns are (method, target) pairs, methods outer."""
    feats = list(specs.BASE_FEATURES)
    targets = {m: store.rm_targets(con, m, cfg.rm_sources) for m in cfg.methods}
    models = sorted(set().union(*(t.index for t in targets.values())))
    X = store.feature_matrix(con, feats, registry.model_scales(feats, scale), models=models).dropna()
    Y = pd.concat({m: t.reindex(index=X.index, columns=list(cfg.targets)) for m, t in targets.items()}, axis=1)
    Y.columns = Y.columns.set_names(["method", "target"])
    Y = Y.dropna()
    X = X.loc[Y.index]
    return X, Y, lineages_for(con, X.index)


def evaluate_scale(ctx, cfg: PredictorConfig, scale: str) -> ScaleResult:
    X, Y, lineage = load_inputs(ctx.con, cfg, scale)
    if len(X) < max(cfg.folds, 10):
        raise InputError("database", f"only {len(X)} models have all predictor features "
                         f"{list(specs.BASE_FEATURES)} on scale {scale!r} and every target",
                         "run the ingest stage, or serve only scales the data covers (predictor.scales)")
    ref = specs.paper_reference() if scale in cfg.paper_reference_scales else None
    ecfg = eval_config(cfg, extra_specs=[ref] if ref else [],
                       extra_targets=[j for j, (_, t) in enumerate(Y.columns)
                                      if t in cfg.paper_reference_targets] if ref else None)
    ts = time.perf_counter()
    ctx.log(f"  {scale}: {len(X)} models, {lineage.nunique()} lineages; evaluating {len(cfg.candidates)} specs"
            f"{' + the paper reference' if ref else ''}, {len(ecfg.baselines)} baselines, "
            f"{cfg.repeats}x{cfg.folds}-fold nested CV + lineage-out")
    oof = checkpoints.evaluate_cached(ctx, scale, X, Y, lineage, ecfg)  # targets numbered by Y's columns
    oof = evaluation.add_intervals(oof, cfg.interval_level)
    summary = evaluation.summarize(oof, ecfg, reference=ref)
    ctx.log(f"  {scale}: evaluated in {time.perf_counter() - ts:.1f}s")
    served = served_entries(cfg, ecfg, X, Y, oof, summary)
    rows, stored = [], {}
    if cfg.partial_evidence:
        tp = time.perf_counter()
        patterns = analyses.precomputed_patterns(cfg.partial_patterns)
        stored = checkpoints.patterns_cached(ctx, scale, X, Y, lineage, cfg, patterns)
        rows = analyses.partial_rows(scale, stored)
        ctx.log(f"  {scale}: {len(patterns)} partial-input patterns (reduced spec vs imputation, lineage-out, "
                f"{cfg.inner_seeds} inner seeds) in {time.perf_counter() - tp:.1f}s")
    keys = list(Y.columns)
    evidence = _with_pairs(summary["evidence"], keys, scale)
    evidence["paper_reference"] = evidence.name == specs.paper_reference()
    evidence["chosen"] = evidence.name == [served[(m, t)].spec for m, t in zip(evidence.method, evidence.target)]
    return ScaleResult(scale, X, Y, lineage, served, _with_pairs(oof, keys, scale), evidence,
                       _with_pairs(summary["calibration"], keys, scale),
                       _with_pairs(summary["lineage_errors"], keys, scale), rows, stored)


def served_entries(cfg: PredictorConfig, ecfg, X, Y, oof, summary) -> dict[tuple[str, str], ServedEntry]:
    """The served predictor of each (method, target): every candidate fitted on all models (the inner CV
    over ``inner_seeds`` seeds), the same one-standard-error choice the evaluation measured, its two
    intervals (known lineages; a lineage never seen) and the evidence."""
    fits = {s: specs.fit_spec(s, X, Y.to_numpy(float), cfg.cv, cfg.random_state, cfg.max_iter,
                              seeds=cfg.inner_seeds) for s in cfg.candidates}
    iproto = evaluation.interval_protocol(oof)
    cal = summary["calibration"]
    cal = cal[(cal.protocol == iproto) & np.isclose(cal.nominal, cfg.interval_level)]
    picks = oof[oof.name == evaluation.SERVED].drop_duplicates(["target", "protocol", "repeat", "fold"])
    out = {}
    for j, key in enumerate(Y.columns):
        chosen = specs.select_one_se({s: fits[s][j] for s in cfg.candidates})
        s = summary["served"][j]
        c = cal[cal.target == j]
        cov = s.get("lineage_out_interval_coverage", (None, None, None))
        out[key] = ServedEntry(
            fit=fits[chosen][j], spec=chosen, skill=s["skill"],
            halfwidth=evaluation.served_halfwidth(oof, j, cfg.interval_level),
            halfwidth_lineage_out=evaluation.lineage_out_halfwidth(oof, j, cfg.interval_level),
            nested_mae_mean=s["nested_mae_mean"], nested_mae_sd=s["nested_mae_sd"],
            lineage_out_mae=s["lineage_out_mae"], spearman=s["spearman"],
            coverage_top5=s["coverage_top5"], coverage_top10=s["coverage_top10"], interval_protocol=iproto,
            interval_coverage=float(c.empirical.iloc[0]) if len(c) else None,
            interval_coverage_lo=float(c.lo.iloc[0]) if len(c) else None,
            interval_coverage_hi=float(c.hi.iloc[0]) if len(c) else None,
            mean_baseline_mae=s["mean_mae"], size_baseline_mae=s["size_mae"],
            skill_diff=s["diff_vs_mean"], skill_diff_lo=s["diff_lo"], skill_diff_hi=s["diff_hi"],
            n_models=s["n_models"], n_lineages=s["n_lineages"], selection=s["selection"],
            inner_seeds=s["inner_seeds"], lineage_out_mae_sd=s["lineage_out_mae_sd"],
            lineage_out_mae_seed_mean=s["lineage_out_mae_seed_mean"],
            lineage_out_spearman_sd=s["lineage_out_spearman_sd"],
            lineage_out_spearman_seed_mean=s["lineage_out_spearman_seed_mean"],
            vs_size=dict(zip(("diff", "lo", "hi"), s["vs_size"])) if "vs_size" in s else None,
            lineage_out_interval_coverage=cov[0], lineage_out_interval_coverage_lo=cov[1],
            lineage_out_interval_coverage_hi=cov[2],
            baselines={b: s[f"{b}_mae"] for b in ecfg.baselines},
            picks=picks[picks.target == j].pick.value_counts().to_dict(),
            vs_paper_reference=dict(zip(("diff", "lo", "hi"), s["vs_reference"])) if "vs_reference" in s else None)
    return out


def _with_pairs(frame: pd.DataFrame, keys: list[tuple[str, str]], scale: str) -> pd.DataFrame:
    """An evaluation frame (``target``: a position among ``keys``) with scale, method and target columns."""
    out = frame.copy()
    position = out.target.to_numpy(int)
    out.insert(0, "scale", scale)
    out["method"] = [keys[j][0] for j in position]
    out["target"] = [keys[j][1] for j in position]
    return out


def data_hash(results: list[ScaleResult]) -> str:
    """The training data of every scale, hashed (``advisor.predict.bundle.data_hash``), joined."""
    return "".join(bundle_mod.data_hash(r.X, r.Y) for r in results)
