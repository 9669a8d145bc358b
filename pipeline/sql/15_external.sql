-- rows: rm_results: source = 'user'
-- Stage ingest (pipeline/stages.py). Reward models trained outside the paper's recipe (evaluation only: never training rows for the
-- served predictor) and the team's own results files (rm_results rows with source 'user', from
-- work_dir/rm_results/; see pipeline/ingest/external.py and pipeline/ingest/user_rm.py).

-- Public RMs trained with one recipe on several bases (data/external/external_rm_groups.csv), each
-- base verified against the RM's card or config (verified_source). Scores in percent, copied from the
-- RewardBench leaderboard; v1 rows fill chat..reasoning, v2 rows factuality..ties.
CREATE TABLE IF NOT EXISTS external_rm_results (
    rm_group VARCHAR, recipe_data VARCHAR, recipe_method VARCHAR, hyperparameters VARCHAR,
    rm_id VARCHAR, base_hf_id VARCHAR, verification VARCHAR, verified_source VARCHAR,
    rewardbench_version VARCHAR, score DOUBLE, chat DOUBLE, chat_hard DOUBLE, safety DOUBLE,
    reasoning DOUBLE, factuality DOUBLE, precise_if DOUBLE, math DOUBLE, focus DOUBLE, ties DOUBLE,
    seed INTEGER, run VARCHAR);
