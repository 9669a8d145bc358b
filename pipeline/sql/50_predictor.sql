-- Stage predictor (pipeline/stages.py). The served predictors and their honest evidence (pipeline/predictor/,
-- advisor/predict/evaluation.py).
-- Scales: 'normalized', 'raw'. Lineage-out numbers unless a column is named nested. The paper's
-- analyses (correlations, coverage, PCA, gains, Table 1) are not stored: the app's pages compute them
-- with advisor/ (one home per analysis; see pipeline/predictor/__init__.py).

-- The served predictors as one JSON document (advisor/predict/bundle.py): published with the database.
CREATE TABLE IF NOT EXISTS predictor_bundle (
    version VARCHAR, format_version INTEGER, created_at VARCHAR, bundle_json VARCHAR);

-- One row per served (scale, method, target): the spec chosen (one-standard-error rule on the inner CV
-- averaged over inner_seeds seeds), its skill flag and the honest error of the served procedure (spec
-- choice included, made inside every outer training part: selection 'outer'). lineage_out_mae_sd and
-- lineage_out_spearman_sd: spread over the seeds of the single-seed procedures. size_baseline_mae:
-- lineage-out MAE of a linear fit on log params; vs_size_*: served minus it, 95% CI from resampling
-- lineages. skill_diff: served minus mean-baseline lineage-out MAE with its paired bootstrap 95% CI;
-- 'skill' iff skill_diff_hi < 0. Intervals: interval_halfwidth (served to candidates of a known lineage;
-- coverage interval_coverage* under interval_protocol) and interval_halfwidth_lineage_out (served to a
-- lineage never seen; coverage lineage_out_interval_coverage* leaving one lineage out); coverage CIs
-- resample lineages.
CREATE TABLE IF NOT EXISTS predictor_served (
    scale VARCHAR, method VARCHAR, target VARCHAR, skill VARCHAR, spec VARCHAR,
    nested_mae_mean DOUBLE, nested_mae_sd DOUBLE, lineage_out_mae DOUBLE, spearman DOUBLE,
    coverage_top5 DOUBLE, coverage_top10 DOUBLE, interval_level DOUBLE, interval_coverage DOUBLE,
    interval_coverage_lo DOUBLE, interval_coverage_hi DOUBLE, mean_baseline_mae DOUBLE,
    size_baseline_mae DOUBLE, skill_diff DOUBLE, skill_diff_lo DOUBLE, skill_diff_hi DOUBLE,
    n_models INTEGER, n_lineages INTEGER, interval_halfwidth DOUBLE, interval_protocol VARCHAR,
    selection VARCHAR, inner_seeds INTEGER, lineage_out_mae_sd DOUBLE, lineage_out_spearman_sd DOUBLE,
    vs_size_diff DOUBLE, vs_size_lo DOUBLE, vs_size_hi DOUBLE, interval_halfwidth_lineage_out DOUBLE,
    lineage_out_interval_coverage DOUBLE, lineage_out_interval_coverage_lo DOUBLE,
    lineage_out_interval_coverage_hi DOUBLE);

-- Every spec, baseline and the served procedure (kind 'spec', 'baseline', 'served') under the same folds.
CREATE TABLE IF NOT EXISTS predictor_evidence (
    scale VARCHAR, method VARCHAR, target VARCHAR, name VARCHAR, kind VARCHAR, paper_reference BOOLEAN,
    chosen BOOLEAN, nested_mae_mean DOUBLE, nested_mae_sd DOUBLE, lineage_out_mae DOUBLE,
    spearman DOUBLE, coverage_top5 DOUBLE, coverage_top10 DOUBLE, diff_vs_mean DOUBLE, diff_lo DOUBLE,
    diff_hi DOUBLE);

-- Out-of-fold predictions of every name (protocol 'nested': repeat 0..; 'lineage_out': repeat 0) with
-- conformal intervals from the other folds' residuals; pick: the spec the served procedure chose.
CREATE TABLE IF NOT EXISTS predictions_oof (
    scale VARCHAR, method VARCHAR, target VARCHAR, name VARCHAR, protocol VARCHAR, repeat INTEGER,
    fold INTEGER, hf_id VARCHAR, lineage VARCHAR, y DOUBLE, prediction DOUBLE, lower DOUBLE,
    upper DOUBLE, pick VARCHAR);

-- Interval calibration of the served procedure: empirical coverage at each nominal level (each model's
-- interval from the other folds' or other lineages' residuals), 95% CI (lo, hi) from resampling
-- lineages; n = number of models.
CREATE TABLE IF NOT EXISTS interval_calibration (
    scale VARCHAR, method VARCHAR, target VARCHAR, protocol VARCHAR, nominal DOUBLE, empirical DOUBLE,
    lo DOUBLE, hi DOUBLE, n INTEGER);

-- Lineage-out MAE per held-out lineage, for every name.
CREATE TABLE IF NOT EXISTS lineage_errors (
    scale VARCHAR, method VARCHAR, target VARCHAR, name VARCHAR, lineage VARCHAR, n_models INTEGER,
    mae DOUBLE);

-- Analyses whose precondition failed (skipped, the rest published) and why.
CREATE TABLE IF NOT EXISTS skipped_analyses (analysis VARCHAR, reason VARCHAR);

-- The report (reproduction.json / reproduction.md) of this build; `python -m pipeline.report` exports it.
CREATE TABLE IF NOT EXISTS reports (name VARCHAR, content VARCHAR);

-- Known models (main scale): truth, the served procedure's nested out-of-fold prediction (first repeat)
-- with its interval, the lineage-out prediction (lofo_prediction) and the in-sample fit.
CREATE TABLE IF NOT EXISTS predictions_known (
    hf_id VARCHAR, method VARCHAR, target VARCHAR, y DOUBLE, oof_prediction DOUBLE, lower DOUBLE,
    upper DOUBLE, cv_prediction DOUBLE, lofo_prediction DOUBLE, fitted DOUBLE);
