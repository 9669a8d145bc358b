-- stage: predictor
-- The served predictors, their honest evidence, and every paper analysis precomputed for the app
-- (pipeline/predictor_stage.py, advisor/evaluation.py). Scales: 'normalized', 'raw'. Lineage-out
-- numbers unless a column is named nested.

-- The served predictors as one JSON document (advisor/bundle.py): published with the database.
CREATE TABLE IF NOT EXISTS predictor_bundle (
    version VARCHAR, format_version INTEGER, created_at VARCHAR, bundle_json VARCHAR);

-- One row per served (scale, method, target): the spec chosen (one-standard-error rule), its skill flag
-- and the honest error of the served procedure (spec choice included). size_baseline_mae: lineage-out
-- MAE of a linear fit on log params. skill_diff: served minus mean-baseline lineage-out MAE with its
-- paired bootstrap 95% CI; 'skill' iff skill_diff_hi < 0.
CREATE TABLE IF NOT EXISTS predictor_served (
    scale VARCHAR, method VARCHAR, target VARCHAR, skill VARCHAR, spec VARCHAR,
    nested_mae_mean DOUBLE, nested_mae_sd DOUBLE, lineage_out_mae DOUBLE, spearman DOUBLE,
    coverage_top5 DOUBLE, coverage_top10 DOUBLE, interval_level DOUBLE, interval_coverage DOUBLE,
    interval_coverage_lo DOUBLE, interval_coverage_hi DOUBLE, mean_baseline_mae DOUBLE,
    size_baseline_mae DOUBLE, skill_diff DOUBLE, skill_diff_lo DOUBLE, skill_diff_hi DOUBLE,
    n_models INTEGER, n_lineages INTEGER, interval_halfwidth DOUBLE, interval_protocol VARCHAR);

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

-- Interval calibration of the served procedure: empirical coverage at each nominal level, Wilson 95% CI
-- (lo, hi) on n = number of models.
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

-- One row: the main served predictor (first scale, method/target of the config) and its provenance.
CREATE TABLE IF NOT EXISTS predictor_info (
    version VARCHAR, scales VARCHAR, features VARCHAR, train_hash VARCHAR, versions VARCHAR,
    method VARCHAR, target VARCHAR, spec VARCHAR, skill VARCHAR, nested_mae_mean DOUBLE,
    lineage_out_mae DOUBLE, interval_level DOUBLE, interval_halfwidth DOUBLE,
    interval_empirical_coverage DOUBLE, n_models INTEGER, created_at TIMESTAMP);

-- Non-zero coefficients of each served fit (standardized inputs / terms).
CREATE TABLE IF NOT EXISTS predictor_coefficients (
    scale VARCHAR, method VARCHAR, target VARCHAR, spec VARCHAR, term VARCHAR, coef DOUBLE);

-- Known models (main scale): truth, the served procedure's nested out-of-fold prediction (first repeat)
-- with its interval, the lineage-out prediction (lofo_prediction) and the in-sample fit.
CREATE TABLE IF NOT EXISTS predictions_known (
    hf_id VARCHAR, method VARCHAR, target VARCHAR, y DOUBLE, oof_prediction DOUBLE, lower DOUBLE,
    upper DOUBLE, cv_prediction DOUBLE, lofo_prediction DOUBLE, fitted DOUBLE);

-- Fig. 3: correlation of every benchmark / training metric with each RewardBench category.
CREATE TABLE IF NOT EXISTS correlations (
    rm_method VARCHAR, corr_method VARCHAR, feature VARCHAR, target VARCHAR, r DOUBLE, n INTEGER,
    t_stat DOUBLE, t_critical DOUBLE, p_value DOUBLE, significant BOOLEAN);

-- Fig. 4/6: top-k coverage (eq. 9) of each feature and of the predictor, k = 5..30.
CREATE TABLE IF NOT EXISTS coverage_curves (
    rm_method VARCHAR, target VARCHAR, feature VARCHAR, k INTEGER, coverage DOUBLE, n INTEGER,
    passes_filter BOOLEAN);

-- App. F: explained variance (component = 'PC1'.., kind 'explained_ratio') and loadings.
CREATE TABLE IF NOT EXISTS pca (
    kind VARCHAR, component VARCHAR, feature VARCHAR, value DOUBLE);

-- Fig. 2: best model per size group vs the group's Llama-3.x model, in RewardBench points.
CREATE TABLE IF NOT EXISTS gains (
    method VARCHAR, size_group VARCHAR, best_hf_id VARCHAR, best_score DOUBLE, baseline_hf_id VARCHAR,
    baseline_score DOUBLE, gain_points DOUBLE);

-- Table 1 Delta columns (percent vs the base model) and App. E (regression minus Bradley-Terry).
CREATE TABLE IF NOT EXISTS post_training_deltas (
    model VARCHAR, stage VARCHAR, chat DOUBLE, chat_hard DOUBLE, safety DOUBLE, reasoning DOUBLE,
    score DOUBLE);

CREATE TABLE IF NOT EXISTS bt_vs_regression (
    hf_id VARCHAR, category VARCHAR, regression DOUBLE, bradley_terry DOUBLE, difference DOUBLE);
