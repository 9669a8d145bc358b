"""The reproduction report of a predictor build: its JSON (``build_report``), its Markdown
(``render_markdown``) and the files (``write_reports``).

The stage stores both in the table ``reports``; ``pipeline.run`` writes the files after the publish,
into ``predictor.reports_dir`` or beside the database (``<db>.reports/``), never into the checkout;
``python -m pipeline.report`` exports them from a database (the tracked ``reports/`` come from there).
The paper's numbers printed beside ours are data: ``data/paper/stated_numbers.csv`` (numbers stated in
the text) and ``data/paper/table1_deltas.csv`` (Table 1's Delta columns), see data/SOURCES.md.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from advisor.analyses import correlation, coverage, posttraining
from advisor.analyses.transfer import markdown as transfer_markdown
from advisor.core import registry
from advisor.predict.bundle import ServedEntry
from pipeline import schema
from pipeline.config import ROOT

PAPER_DIR = ROOT / "data" / "paper"
_STATED_KEYS = ("gains_range", "cv_mae", "coverage_gain_top5_10", "pca_top5_variance", "critical_r_n40")


def paper_numbers() -> dict:
    """What the paper states (sections 3.3, 4.1, 4.2, 5.2, App. F, Table 1), for the side-by-side
    report: {"gains_range": [lo, hi], "cv_mae", ..., "table1_delta_pct": {model: {category: pct}}}."""
    stated = pd.read_csv(PAPER_DIR / "stated_numbers.csv").set_index("key")["value"]
    values = {k: float(v) for k, v in stated.items()}
    out = {k: [values["gains_range_min"], values["gains_range_max"]] if k == "gains_range" else values[k]
           for k in _STATED_KEYS}
    deltas = pd.read_csv(PAPER_DIR / "table1_deltas.csv")
    out["table1_delta_pct"] = {r["model"]: {c: float(r[c]) for c in posttraining.CATEGORIES}
                               for r in deltas.to_dict("records")}
    return out


def served_entry(e: ServedEntry) -> dict:
    """The report's view of one served predictor (JSON-ready, rounded)."""
    keys = ("skill", "spec", "selection", "inner_seeds", "nested_mae_mean", "nested_mae_sd", "lineage_out_mae",
            "lineage_out_mae_sd", "lineage_out_mae_seed_mean", "spearman", "lineage_out_spearman",
            "lineage_out_spearman_sd", "lineage_out_spearman_seed_mean", "coverage_top5", "coverage_top10",
            "interval_protocol", "interval_coverage", "interval_coverage_lo", "interval_coverage_hi",
            "halfwidth_lineage_out", "lineage_out_interval_coverage", "lineage_out_interval_coverage_lo",
            "lineage_out_interval_coverage_hi", "skill_diff", "skill_diff_lo", "skill_diff_hi",
            "halfwidth", "n_models", "n_lineages")
    out = {k: _clean(getattr(e, k)) for k in keys}
    out["coverage_ci"] = "95% percentile CI from resampling lineages (2,000 resamples)"
    if e.vs_size is not None:
        out["vs_size"] = {**{k: round(v, 4) for k, v in e.vs_size.items()},
                          "ci": "95% percentile CI from resampling lineages (2,000 resamples)"}
    out["baselines"] = {b: _clean(v) for b, v in e.baselines.items()}
    if e.vs_paper_reference is not None:
        out["vs_paper_reference"] = {k: round(v, 4) for k, v in e.vs_paper_reference.items()}
    return out


def _served_by_scale(results) -> dict:
    """{scale: {method: {target: served_entry}}}."""
    out: dict = {}
    for r in results:
        for (method, target), e in r.served.items():
            out.setdefault(r.scale, {}).setdefault(method, {})[target] = served_entry(e)
    return out


def _best_single(curves: pd.DataFrame, method: str, n_models: int) -> tuple[str, float, float]:
    """Benchmark (not predictor) covering all models with the best mean coverage over k = 5..10."""
    c = curves[(curves.rm_method == method) & ~curves.feature.str.startswith("predictor")
               & (curves.n == n_models)]
    best = coverage.mean_coverage(c).index[0]
    at = c[c.feature == best].set_index("k").coverage
    return best, float(at[5]), float(at[10])


COVERAGE_KEYS = ("coverage_top5", "coverage_top10", "coverage_top5_lineage_out", "coverage_top10_lineage_out",
                 "coverage_top5_in_sample", "coverage_top10_in_sample", "best_single_coverage_top5",
                 "best_single_coverage_top10", "coverage_gain_avg_k5_10", "coverage_gain_avg_k5_10_in_sample")


def _coverage(cfg, curves: pd.DataFrame, main: dict) -> dict:
    """The served predictor's top-k coverage (honest, lineage-out and in-sample) against the best single
    benchmark's, for the report's ``predictor`` key."""
    if curves.empty:  # the coverage analysis was skipped (``analyses.guarded``): every number n/a
        return {k: None for k in COVERAGE_KEYS} | {"coverage_source": "skipped", "best_single_benchmark": "skipped"}
    mc = curves[curves.rm_method == cfg.method]

    def at(feature, k):
        s = mc[(mc.feature == feature) & (mc.k == k)].coverage
        return float(s.iloc[0]) if len(s) else None

    best, b5, b10 = _best_single(curves, cfg.method, main["n_models"])
    pred_name = ("predictor (nested CV)" if (mc.feature == "predictor (nested CV)").any()
                 else "predictor (lineage-out)")  # a serving build has no nested repeats
    ks = range(5, 11)
    return {"coverage_source": pred_name, "coverage_top5": at(pred_name, 5), "coverage_top10": at(pred_name, 10),
            "coverage_top5_lineage_out": main["coverage_top5"],
            "coverage_top10_lineage_out": main["coverage_top10"],
            "coverage_top5_in_sample": at("predictor (in-sample)", 5),
            "coverage_top10_in_sample": at("predictor (in-sample)", 10),
            "best_single_benchmark": best, "best_single_coverage_top5": b5, "best_single_coverage_top10": b10,
            "coverage_gain_avg_k5_10": round(float(np.mean([at(pred_name, k) - at(best, k) for k in ks])), 3),
            "coverage_gain_avg_k5_10_in_sample": round(float(np.mean(
                [at("predictor (in-sample)", k) - at(best, k) for k in ks])), 3)}


def _predictor(cfg, bundle, main: dict, curves: pd.DataFrame) -> dict:
    """The report's ``predictor`` key: the main served predictor (``cfg.method``/``cfg.target`` on the
    first scale), its evidence, coverage, interval and coefficients."""
    fit = bundle.fit(cfg.scales[0], cfg.method, cfg.target)
    return {
        "scale": cfg.scales[0], "method": cfg.method, "target": cfg.target,
        "spec": main["spec"], "skill": main["skill"], "inputs": fit.inputs,
        "params": {"degree": fit.degree, **fit.params}, "n_models": main["n_models"],
        "n_lineages": main["n_lineages"],
        "nested_mae_mean": main["nested_mae_mean"], "nested_mae_sd": main["nested_mae_sd"],
        "lineage_out_mae": main["lineage_out_mae"], "spearman": main["spearman"],
        "repeats": cfg.repeats, "folds": cfg.folds, "cv": cfg.cv, "inner_seeds": cfg.inner_seeds,
        "lineage_out_mae_sd": main["lineage_out_mae_sd"], "vs_size": main.get("vs_size"),
        **_coverage(cfg, curves, main),
        "interval_level": cfg.interval_level, "interval_halfwidth": main["halfwidth"],
        "interval_protocol": main["interval_protocol"],
        "interval_empirical_coverage": main["interval_coverage"],
        **{k: main[k] for k in ("lineage_out_interval_coverage", "lineage_out_interval_coverage_lo",
                                "lineage_out_interval_coverage_hi", "halfwidth_lineage_out")},
        "coefficients": [{"term": t, "coef": round(float(c), 4)}
                         for t, c in zip(fit.inputs if fit.degree == 1 else [], fit.coef)],
        "version": bundle.version, "train_hash": bundle.train_hash,
    }


def _strongest(corr: pd.DataFrame, n_models: int) -> dict:
    """Per RM method and correlation kind: the five features (every model has them) with the largest |r|
    against the overall score."""
    strongest: dict = {}
    if corr.empty:  # the correlations were skipped (``analyses.guarded``)
        return strongest
    full = corr[(corr.target == "score") & (corr.n >= n_models)]  # features every model has
    for (m, cm), df in full.groupby(["rm_method", "corr_method"]):
        top = df.reindex(df.r.abs().sort_values(ascending=False).index).head(5)
        strongest.setdefault(m, {})[cm] = [
            {"feature": r.feature, "r": round(r.r, 3), "n": int(r.n), "significant": bool(r.significant)}
            for r in top.itertuples()]
    return strongest


def _paper_tables(found: dict, paper: dict) -> dict:
    """Gains per size group and Table 1's Delta columns, ours beside the paper's."""
    g, deltas = found["gains"], found["table1_deltas"]
    table1 = {r.model: {c: float(getattr(r, c)) for c in posttraining.CATEGORIES}
              for r in deltas.itertuples()} if len(deltas) else {}
    return {"gains_points": {m: {r.size_group: round(r.gain_points, 1) for r in df.itertuples()}
                             for m, df in g.groupby("method")},
            "gains_range": ([round(float(g.gain_points.min()), 1), round(float(g.gain_points.max()), 1)]
                            if len(g) else None),
            "table1_delta_pct": table1,
            "table1_matches_paper": all(table1.get(m, {}).get(c) == v for m, d in paper["table1_delta_pct"].items()
                                        for c, v in d.items()) if table1 else False}


def _pca(cfg, ratio: pd.Series) -> dict:
    return {"pca_features": list(cfg.pca_features), "pca_n_models": ratio.attrs.get("n_models"),
            "pca_explained_ratio": [round(float(v), 4) for v in ratio],
            "pca_top5_variance": round(float(ratio.iloc[:5].sum()), 4) if len(ratio) else None}


def _goals(main: dict, served: dict) -> dict:
    """The report's ``targets``: the served regression predictor's goals, met or not."""
    entries = [e for s in served.values() for d in s.values() for e in d.values()]
    inter = [e["interval_coverage"] for e in entries]
    return {"served_regression_nested_mae_le_3.2": _le(main["nested_mae_mean"], 3.2),
            "served_regression_lineage_out_mae_le_3.5": _le(main["lineage_out_mae"], 3.5),
            "served_regression_spearman_ge_0.82": _le(0.82, main["spearman"]),
            "interval_coverage_0.88_0.94_every_target": bool(all(
                c is not None and 0.88 <= c <= 0.94 for c in inter)),
            "lineage_out_interval_coverage_ci_contains_0.90_every_target": bool(all(
                _le(e["lineage_out_interval_coverage_lo"], 0.9) and _le(0.9, e["lineage_out_interval_coverage_hi"])
                for e in entries))}


EVIDENCE_COLUMNS = ["method", "target", "name", "kind", "paper_reference", "chosen", "nested_mae_mean",
                    "nested_mae_sd", "lineage_out_mae", "spearman", "coverage_top5", "coverage_top10",
                    "diff_vs_mean", "diff_lo", "diff_hi"]


def build_report(cfg, bundle, results, found: dict, eval_seconds: float) -> dict:
    """The report's JSON from the stage's ``ScaleResult`` per scale (the first: the main scale) and
    ``found``, the frames of ``analyses.paper_analyses``."""
    served = _served_by_scale(results)
    main = served[cfg.scales[0]][cfg.method][cfg.target]
    evidence = results[0].evidence[results[0].evidence.target == cfg.target][EVIDENCE_COLUMNS]
    paper = paper_numbers()
    tables = _paper_tables(found, paper)
    return {
        "served": served[cfg.scales[0]],
        "served_by_scale": served,
        "evidence": [{k: _clean(v) for k, v in row.items()} for row in evidence.to_dict("records")],
        **{k: tables[k] for k in ("gains_points", "gains_range", "table1_delta_pct", "table1_matches_paper")},
        "skipped_analyses": found["skipped"],
        "predictor": _predictor(cfg, bundle, main, found["coverage_curves"]),
        "strongest_correlations": _strongest(found["correlations"], main["n_models"]),
        "critical_r_n40": round(correlation.critical_r(40), 3),
        **_pca(cfg, found["pca_ratio"]),
        "evaluation_seconds": round(eval_seconds, 1),
        "paper": paper,
        "targets": _goals(main, served),
        "config": asdict(cfg),
        "generated_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "partial_inputs": [{k: _clean(v) for k, v in row.items()} for r in results for row in r.partial],
    }


def _le(a, b) -> bool:
    """a <= b; False when either was not measured (None)."""
    return a is not None and b is not None and bool(a <= b)


def _clean(v):
    """JSON-ready: numpy scalars to Python, NaN to None, floats rounded to 4 places."""
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.floating, float)):
        return round(float(v), 4) if np.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def fmt(v, nd=2) -> str:
    """A number for Markdown: n/a when not measured."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def served_table(served: dict) -> list[str]:
    """The served predictors as Markdown rows (one per method and target)."""
    lines = ["| method | target | skill | spec | nested MAE (mean ± sd over repeats) | lineage-out MAE (± sd "
             "over seeds) | Spearman (± sd) | vs size [95% CI, lineages] | top-5 / top-10 cov. | 90% interval "
             "coverage (known lineage) | 90% interval coverage (new lineage) | mean | best single | size "
             "| OLL avg |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for method, d in served.items():
        for target, e in d.items():
            b, v = e["baselines"], e.get("vs_size") or {}
            lines.append(
                f"| {method} | {target} | {'**no skill**' if e['skill'] == 'no_skill' else 'skill'} "
                f"| {e['spec']} | {fmt(e['nested_mae_mean'])} ± {fmt(e['nested_mae_sd'])} | "
                f"{fmt(e['lineage_out_mae'])} ± {fmt(e.get('lineage_out_mae_sd'))} | {fmt(e['spearman'])} ± "
                f"{fmt(e.get('lineage_out_spearman_sd'))} | {_signed(v.get('diff'))} [{_signed(v.get('lo'))}, "
                f"{_signed(v.get('hi'))}] | {fmt(e['coverage_top5'])} / {fmt(e['coverage_top10'])} | "
                f"{fmt(e['interval_coverage'], 3)} [{fmt(e['interval_coverage_lo'])}, "
                f"{fmt(e['interval_coverage_hi'])}] ±{fmt(e['halfwidth'], 1)} | "
                f"{fmt(e.get('lineage_out_interval_coverage'), 3)} [{fmt(e.get('lineage_out_interval_coverage_lo'))}, "
                f"{fmt(e.get('lineage_out_interval_coverage_hi'))}] ±{fmt(e.get('halfwidth_lineage_out'), 1)} | "
                f"{fmt(b.get('mean'))} | {fmt(b.get('best_single'))} | {fmt(b.get('size'))} | "
                f"{fmt(b.get('oll_average'))} |")
    return lines


def _signed(v, nd: int = 2) -> str:
    return "n/a" if v is None else f"{v:+.{nd}f}"


def _served_section(r: dict) -> list[str]:
    p = r["predictor"]
    lines = [
        "# Reproduction report", "",
        "Generated by `python -m pipeline.run` (stage `predictor`) from the shipped data and exported "
        "with `python -m pipeline.report`. Paper numbers beside ours; JSON twin: "
        "`reports/reproduction.json`.", "",
        "## Served predictors", "",
        f"Honest error of what the app serves, selection included: {p['repeats']} x {p['folds']}-fold "
        "nested CV and leave-one-lineage-out "
        f"({p['n_lineages']} lineages, `data/lineages.csv`), the spec choice among the candidates and "
        "every hyperparameter made inside each outer training part (selection `outer`), by an inner "
        f"{p['cv']}-fold CV averaged over {p['inner_seeds']} seeds. `± sd over seeds`: the spread of the "
        "same procedure run on one inner seed at a time. Baselines (lineage-out MAE) in the same run; "
        "`vs size`: served minus the size baseline's lineage-out MAE, 95% CI from resampling whole "
        "lineages. `no skill`: the lineage-out MAE does not beat predicting the mean (paired bootstrap "
        "95% CI of the difference not below 0); the app does not rank by it. Intervals (half-width after "
        "±): a candidate of a known lineage gets the one calibrated on the "
        f"{p['interval_protocol']} residuals, a candidate of a lineage never seen the one calibrated on "
        "the leave-one-lineage-out residuals; coverage is empirical (each model's interval from the other "
        "folds' or the other lineages' residuals) with a 95% CI from resampling lineages."
        + (" **Serving build** (repeats: 0): lineage-out evidence only; the nested numbers come from "
           "the full evaluation (`predictor.repeats: 5`, e.g. `configs/full.yaml`)."
           if p["repeats"] == 0 else ""),
        ""]
    for scale, served in r["served_by_scale"].items():
        lines += [f"### Scale: {scale}", "", *served_table(served), ""]
    return lines


def _partial_section(r: dict) -> list[str]:
    if not r.get("partial_inputs"):
        return []
    lines = ["## Partial inputs: reduced spec or imputation (lineage-out MAE, overall score)", "",
             "For a candidate lacking some inputs, the served procedure with the missing cells "
             "imputed from the training part, against the candidate specs restricted to the inputs "
             "it has (`advisor.predict.partial`), on the same leave-one-lineage-out folds; the lower MAE "
             "serves the pattern (chosen on these folds, so the chosen MAE is slightly optimistic) "
             "and the skill gate is the served one (vs the mean).", "",
             "| scale | method | pattern | imputation MAE | reduced MAE | mean MAE | chosen | skill |",
             "|---|---|---|---|---|---|---|---|"]
    for q in r["partial_inputs"]:
        lines.append(f"| {q['scale']} | {q['method']} | {q['pattern']} | {fmt(q['imputation_mae'])} | "
                     f"{fmt(q['reduced_mae'])} | {fmt(q['mean_mae'])} | {q['choice']} | {q['skill']} |")
    return [*lines, ""]


def _evidence_section(r: dict) -> list[str]:
    lines = ["## Every spec and baseline on the same folds "
             f"({r['predictor']['scale']} scale, target {r['predictor']['target']})", "",
             "Differences are lineage-out MAE minus the mean baseline's, with the paired bootstrap "
             "95% CI. `served`: the procedure that picks a spec inside every training part. "
             "`paper_enet`: the paper's Elastic Net (degree 1-3, paper grid), the paper reference"
             + ("." if any(e["name"] == "paper_enet" for e in r["evidence"]) else
                " (not evaluated in this build: `configs/report.yaml` does)."), "",
             "| method | name | kind | nested MAE | lineage-out MAE | Spearman | top-5 / top-10 | vs mean |",
             "|---|---|---|---|---|---|---|---|"]
    for e in r["evidence"]:
        label = e["name"] + (" (paper reference)" if e["paper_reference"] else "") + \
            (" (chosen)" if e["chosen"] else "")
        lines.append(f"| {e['method']} | {label} | {e['kind']} | {fmt(e['nested_mae_mean'])} ± "
                     f"{fmt(e['nested_mae_sd'])} | {fmt(e['lineage_out_mae'])} | {fmt(e['spearman'])} | "
                     f"{fmt(e['coverage_top5'])} / {fmt(e['coverage_top10'])} | "
                     f"{fmt(e['diff_vs_mean'])} [{fmt(e['diff_lo'])}, {fmt(e['diff_hi'])}] |")
    for method, d in r["served"].items():
        v = d.get(r["predictor"]["target"], {}).get("vs_paper_reference")
        if v:
            lines.append(f"\n{method}: served minus paper reference, lineage-out MAE: {v['diff']:+.2f} "
                         f"[{v['lo']:+.2f}, {v['hi']:+.2f}] (paired bootstrap 95% CI).")
    return lines


def _paper_section(r: dict) -> list[str]:
    p, paper, t, gr = r["predictor"], r["paper"], r["targets"], r["gains_range"]
    ok = {True: "met", False: "**not met**"}
    return [
        "", "## Paper vs ours", "",
        "| quantity | paper | ours | note |", "|---|---|---|---|",
        f"| gains of best model over Llama-3.x per size group (points) | {paper['gains_range'][0]} .. "
        f"{paper['gains_range'][1]} "
        f"(\"3% to 14%\") | {f'{gr[0]} .. {gr[1]}' if gr else 'skipped'} | both methods, three groups |",
        "| Table 1 Delta columns | Table 1 | "
        f"{'identical after rounding' if r['table1_matches_paper'] else 'DIFFERENT'} | see below |",
        f"| critical r, p < 0.05, n = 40 | {paper['critical_r_n40']} | {r['critical_r_n40']} | "
        f"{paper['critical_r_n40']} is the value for n = 39 |",
        f"| predictor MAE | {paper['cv_mae']} (CV, selected and reported on the same folds) | "
        f"{fmt(p['nested_mae_mean'])} ± {fmt(p['nested_mae_sd'])} | served spec `{p['spec']}`, "
        f"repeated nested CV; target <= 3.2: {ok[t['served_regression_nested_mae_le_3.2']]} |",
        f"| predictor leave-one-lineage-out MAE | - | {fmt(p['lineage_out_mae'])} ± "
        f"{fmt(p['lineage_out_mae_sd'])} | a publisher never seen; ± sd over the {p['inner_seeds']} inner "
        f"seeds' single-seed procedures; target <= 3.5: {ok[t['served_regression_lineage_out_mae_le_3.5']]} |",
        f"| predictor minus size alone, lineage-out MAE | - | {_signed((p['vs_size'] or {}).get('diff'))} "
        f"[{_signed((p['vs_size'] or {}).get('lo'))}, {_signed((p['vs_size'] or {}).get('hi'))}] | 95% CI from "
        "resampling whole lineages |",
        f"| predictor Spearman (lineage-out) | - | {fmt(p['spearman'])} | target >= 0.82: "
        f"{ok[t['served_regression_spearman_ge_0.82']]} |",
        f"| predictor coverage top-5 / top-10 | - | {fmt(p['coverage_top5'])} / "
        f"{fmt(p['coverage_top10'])} | {p['coverage_source']}"
        f"{' (first repeat)' if 'nested' in p['coverage_source'] else ''}; lineage-out "
        f"{fmt(p['coverage_top5_lineage_out'])} / {fmt(p['coverage_top10_lineage_out'])} |",
        f"| same, in-sample (the paper's way) | - | {fmt(p['coverage_top5_in_sample'])} / "
        f"{fmt(p['coverage_top10_in_sample'])} | model refit on all {p['n_models']} and scored on them |",
        f"| best single benchmark coverage top-5 / top-10 | - | {fmt(p['best_single_coverage_top5'])}"
        f" / {fmt(p['best_single_coverage_top10'])} | {p['best_single_benchmark']} |",
        f"| predictor minus best single, mean over k = 5..10 | {paper['coverage_gain_top5_10']:+.2f} | "
        f"{_signed(p['coverage_gain_avg_k5_10'], 3)} (in-sample {_signed(p['coverage_gain_avg_k5_10_in_sample'], 3)}) "
        "| coverage fraction |",
        f"| {int(p['interval_level'] * 100)}% interval empirical coverage | - | "
        f"{fmt(p['interval_empirical_coverage'], 3)} | conformal on {p['interval_protocol']} residuals; every target "
        f"0.88-0.94: {ok[t['interval_coverage_0.88_0.94_every_target']]} |",
        f"| {int(p['interval_level'] * 100)}% interval coverage for a lineage never seen | - | "
        f"{fmt(p['lineage_out_interval_coverage'], 3)} [{fmt(p['lineage_out_interval_coverage_lo'])}, "
        f"{fmt(p['lineage_out_interval_coverage_hi'])}] | conformal on leave-one-lineage-out residuals, CI "
        f"from resampling lineages; every target's CI contains 0.90: "
        f"{ok[t['lineage_out_interval_coverage_ci_contains_0.90_every_target']]} |",
        f"| PCA: variance of first 5 PCs | {paper['pca_top5_variance']} (32 benchmarks) | "
        f"{fmt(r['pca_top5_variance'], 3)} | "
        f"{len(r['pca_features'])} benchmarks x {r['pca_n_models']} models"
        f"{' (5 of 6 PCs: near 1 by construction)' if len(r['pca_features']) <= 6 else ''} |",
        f"| evaluation time | - | {r['evaluation_seconds']} s | all scales, specs, baselines |",
        ""]


def _skipped_section(r: dict) -> list[str]:
    if not r["skipped_analyses"]:
        return []
    return ["## Skipped analyses", "", *(f"- {s['analysis']}: {s['reason']}" for s in r["skipped_analyses"]), ""]


def _gains_section(r: dict) -> list[str]:
    lines = ["## Gains per size group (points)", "", "| method | " + " | ".join(registry.SIZE_GROUPS) + " |",
             "|---" * (1 + len(registry.SIZE_GROUPS)) + "|"]
    for m, d in r["gains_points"].items():
        lines.append(f"| {m} | " + " | ".join(str(d.get(g, "")) for g in registry.SIZE_GROUPS) + " |")
    return lines


def _table1_section(r: dict) -> list[str]:
    lines = ["", "## Table 1 Delta columns (percent vs Llama-3.1-8B base): ours (paper)", "",
             "| model | " + " | ".join(registry.RM_COLUMNS) + " |", "|---" * (1 + len(registry.RM_COLUMNS)) + "|"]
    for m, d in r["table1_delta_pct"].items():
        paper = r["paper"]["table1_delta_pct"].get(m, {})
        lines.append(f"| {m} | " + " | ".join(f"{d[c]} ({paper.get(c, '-')})" for c in registry.RM_COLUMNS) + " |")
    return lines


def _correlations_section(r: dict) -> list[str]:
    lines = ["", "## Strongest correlations with the overall RewardBench score", "",
             "Among features every model has (other benchmarks cover 7-14 of the 40 models; all "
             "pairs are in the app's Benchmarks page, Correlation table, with their own n and threshold).", ""]
    for m, d in r["strongest_correlations"].items():
        for cm, items in d.items():
            lines.append(f"- {m}, {cm}: " + ", ".join(
                f"{i['feature']} {i['r']:+.2f} (n={i['n']}{'' if i['significant'] else ', n.s.'})"
                for i in items))
    return lines


def _main_predictor_section(r: dict) -> list[str]:
    p = r["predictor"]
    return ["", "## Served predictor (main)", "",
            f"`{p['spec']}` on the {p['scale']} scale, inputs {', '.join(p['inputs'])}; "
            f"hyperparameters {p['params']}. Version `{p['version']}`.", "",
            *(f"- {c['term']}: {c['coef']:+.3f} (standardized input)" for c in p["coefficients"])]


def _goals_section(r: dict) -> list[str]:
    missed = [k for k, v in r["targets"].items() if not v]
    return ["", "## Targets", "",
            ("Not reached (measured numbers above): " + ", ".join(missed) + ". Nothing was tuned "
             "on evaluation folds to close the gap.") if missed else "All targets met."]


def _transfer_section(r: dict) -> list[str]:
    return transfer_markdown(r.get("transfer"))  # the transfer stage's section, when it ran


MARKDOWN_SECTIONS = (_served_section, _partial_section, _evidence_section, _paper_section, _skipped_section,
                     _gains_section, _table1_section, _correlations_section, _main_predictor_section,
                     _goals_section, _transfer_section)


def render_markdown(r: dict) -> str:
    """reproduction.md from the report's JSON: one function per section, in MARKDOWN_SECTIONS' order."""
    return "\n".join(line for section in MARKDOWN_SECTIONS for line in section(r)) + "\n"


# --- where the report goes: the table ``reports`` of the build, then files after the publish ------------

FILES = ("reproduction.json", "reproduction.md")


def texts(report: dict) -> dict[str, str]:
    """{file name: content} of the report."""
    return {"reproduction.json": json.dumps(report, indent=2, default=str) + "\n",
            "reproduction.md": render_markdown(report)}


def store(ctx, report: dict) -> None:
    """The report into the build's table ``reports`` (replacing what a stage of this build stored
    before), and ``ctx.report_files`` for ``pipeline.run`` to write after the publish: into
    ``predictor.reports_dir``, else beside the database (``<db>.reports/``)."""
    ctx.con.execute("DELETE FROM reports WHERE name IN (?, ?)", list(FILES))
    schema.insert(ctx.con, "reports", pd.DataFrame([{"name": n, "content": c} for n, c in texts(report).items()]))
    reports_dir = ctx.section("predictor").reports_dir
    out = ctx.config.resolve(reports_dir) if reports_dir else ctx.db_path.with_name(ctx.db_path.name + ".reports")
    ctx.report_files = (out, report)


def stored(con) -> dict | None:
    """The report the build holds (``reproduction.json`` of the table ``reports``), or None."""
    row = con.execute("SELECT content FROM reports WHERE name = 'reproduction.json'").fetchone()
    return json.loads(row[0]) if row else None


def write_reports(directory: Path, report: dict) -> None:
    """reproduction.json and reproduction.md into ``directory`` (each written atomically)."""
    from pipeline.publish import write_text_atomic

    directory.mkdir(parents=True, exist_ok=True)
    for name, content in texts(report).items():
        write_text_atomic(directory / name, content)
