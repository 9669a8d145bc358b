-- stage: predictor
-- The fitted predictor's provenance and every paper analysis precomputed for the app
-- (pipeline/predictor_stage.py; the fitted bundle itself is data/predictor/bundle.joblib).

-- One row: the saved bundle, its version, features and training-data hash, and the search summary.
CREATE TABLE IF NOT EXISTS predictor_info (
    bundle_path VARCHAR, version VARCHAR, features VARCHAR, scale VARCHAR, train_hash VARCHAR,
    versions VARCHAR, method VARCHAR, target VARCHAR, best_params VARCHAR, cv_mae DOUBLE,
    nested_cv_mae DOUBLE, lofo_mae DOUBLE, interval_level DOUBLE, interval_halfwidth DOUBLE,
    interval_empirical_coverage DOUBLE, n_fits INTEGER, n_iter_capped INTEGER, fit_seconds DOUBLE,
    n_models INTEGER, created_at TIMESTAMP);

-- Per (method, target): selected hyperparameters and the paper-style 10-fold CV MAE.
CREATE TABLE IF NOT EXISTS predictor_fits (
    method VARCHAR, target VARCHAR, degree INTEGER, alpha DOUBLE, l1_ratio DOUBLE, cv_mae DOUBLE,
    interval_halfwidth DOUBLE, n_models INTEGER, n_iter_capped INTEGER, fit_seconds DOUBLE);

-- Non-zero coefficients on standardized polynomial terms, readable ('IFEval x #Params (B)').
CREATE TABLE IF NOT EXISTS predictor_coefficients (
    method VARCHAR, target VARCHAR, term VARCHAR, coef DOUBLE);

-- Known models: truth, paper-style out-of-fold prediction (cv_prediction) and the honest nested-CV
-- prediction with its conformal interval (oof_prediction, lower, upper) for the overall score.
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
