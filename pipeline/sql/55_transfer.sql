-- stage: predictor
-- Does the advisor's ordering of base models carry over to other recipes? (pipeline/transfer_stage.py,
-- advisor/analyses/transfer.py). One comparison = one external group x RewardBench version x recipe cell.

-- Per comparison and advisor method: rank agreement between predicted and observed scores.
CREATE TABLE IF NOT EXISTS transfer_agreement (
    comparison VARCHAR, rm_group VARCHAR, rewardbench_version VARCHAR, recipe_data VARCHAR,
    recipe_method VARCHAR, hyperparameters VARCHAR, advisor_method VARCHAR, n_bases INTEGER,
    n_bases_total INTEGER, spearman DOUBLE, spearman_p DOUBLE, kendall DOUBLE, kendall_p DOUBLE,
    pairs INTEGER, pairs_agree DOUBLE, seed_sd DOUBLE, pairs_beyond_noise INTEGER,
    pairs_agree_beyond_noise DOUBLE, top_observed VARCHAR, top_predicted VARCHAR, top_agrees BOOLEAN,
    n_out_of_domain INTEGER, n_imputed INTEGER, n_in_training INTEGER, note VARCHAR);

-- Per base in each comparison: observed (mean over runs) and predicted score, for the chart; a base the
-- predictor was trained on gets its out-of-fold (CV) prediction (prediction_kind).
CREATE TABLE IF NOT EXISTS transfer_predictions (
    comparison VARCHAR, advisor_method VARCHAR, base_hf_id VARCHAR, rm_ids VARCHAR, n_runs INTEGER,
    observed DOUBLE, observed_sd DOUBLE, predicted DOUBLE, lower DOUBLE, upper DOUBLE,
    observed_rank INTEGER, predicted_rank INTEGER, in_domain BOOLEAN, imputed VARCHAR,
    in_training BOOLEAN, prediction_kind VARCHAR);

-- Base vs post-trained within one lineage (as the paper's Table 1): change in percent of the base's score.
CREATE TABLE IF NOT EXISTS transfer_lineage (
    comparison VARCHAR, advisor_method VARCHAR, base_hf_id VARCHAR, post_trained_hf_id VARCHAR,
    observed_delta_pct DOUBLE, predicted_delta_pct DOUBLE, same_sign BOOLEAN);
