-- rows: rm_results: source = 'pipeline'
-- rows: models: source = 'pipeline'
-- Stage train (pipeline/stages.py). Reward models trained by the pipeline (pipeline/train/): one row per (model, method, LR) trial,
-- the merge vector chosen for each regression trial, per-subset RewardBench accuracies of the
-- selected model of each (model, method). Their section scores go to rm_results (source 'pipeline'). Held-out
-- preference pairs outside RewardBench (train.data.hh_pairs) go to pair_results, never to rm_results.
-- Trained models are also inserted into `models` (INSERT OR REPLACE, never over a paper model's row).

CREATE TABLE IF NOT EXISTS training_trials (
    run_id VARCHAR, hf_id VARCHAR NOT NULL, method VARCHAR NOT NULL, learning_rate DOUBLE NOT NULL,
    steps INTEGER, train_loss DOUBLE,
    val_accuracy DOUBLE,          -- HelpSteer2-Preference validation pairs (regression: after merging)
    best_eval_metric DOUBLE,      -- trainer's checkpoint criterion: eval accuracy (BT) or eval MSE (regression)
    best_checkpoint VARCHAR, selected BOOLEAN, train_kept INTEGER, ties_dropped INTEGER,
    too_long_dropped INTEGER, resumed BOOLEAN, trial_dir VARCHAR, config VARCHAR);

CREATE TABLE IF NOT EXISTS merge_vectors (
    run_id VARCHAR, hf_id VARCHAR NOT NULL, learning_rate DOUBLE NOT NULL,
    w_helpfulness DOUBLE, w_correctness DOUBLE, w_coherence DOUBLE, w_complexity DOUBLE,
    w_verbosity DOUBLE, correct INTEGER, n_pairs INTEGER, val_accuracy DOUBLE, n_maximisers INTEGER,
    tie_rule VARCHAR, device VARCHAR, seconds DOUBLE);

CREATE TABLE IF NOT EXISTS rewardbench_subsets (
    run_id VARCHAR, hf_id VARCHAR NOT NULL, method VARCHAR NOT NULL, subset VARCHAR NOT NULL,
    section VARCHAR, n INTEGER, correct INTEGER, accuracy DOUBLE);

-- One row per (model, method, subset) of held-out pairs outside RewardBench (train.data.hh_pairs: its seeded test
-- part), scored like RewardBench (correct = chosen scores strictly above rejected) by the selected model and by the
-- untrained head (the same base with the seeded score head training started from).
CREATE TABLE IF NOT EXISTS pair_results (
    run_id VARCHAR, hf_id VARCHAR NOT NULL, method VARCHAR NOT NULL, subset VARCHAR NOT NULL,
    n INTEGER, correct INTEGER, accuracy DOUBLE, untrained_correct INTEGER, untrained_accuracy DOUBLE,
    trained_only INTEGER,         -- pairs the trained model gets right and the untrained head wrong
    untrained_only INTEGER,       -- and the other way round (with trained_only: a paired test's counts)
    truncated INTEGER, source VARCHAR NOT NULL, config VARCHAR);
