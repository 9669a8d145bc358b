-- rows: rm_results: source = 'paper'
-- rows: models: source = 'paper'
-- Stage ingest (pipeline/stages.py): tables written from data/ (and user results files copied into work/results).

CREATE TABLE IF NOT EXISTS sources (
    source_id VARCHAR PRIMARY KEY, file VARCHAR, origin VARCHAR, license VARCHAR,
    description VARCHAR, sha256 VARCHAR, rows_ingested INTEGER, ingested_at TIMESTAMP);

CREATE TABLE IF NOT EXISTS benchmarks (
    name VARCHAR PRIMARY KEY, display_name VARCHAR, "group" VARCHAR, topic VARCHAR,
    harness VARCHAR, task VARCHAR, metric VARCHAR, scale VARCHAR, higher_is_better BOOLEAN,
    fewshot VARCHAR, aliases VARCHAR, in_paper_table2 BOOLEAN);

CREATE TABLE IF NOT EXISTS benchmark_scores (
    hf_id VARCHAR NOT NULL, benchmark VARCHAR NOT NULL, value DOUBLE NOT NULL, scale VARCHAR NOT NULL,
    source VARCHAR NOT NULL, settings VARCHAR, recorded_at TIMESTAMP);

-- data/lineages.csv: the publisher lineage of each model (fine-tunes follow their base); models not
-- listed are their own lineage, the org part of the hf_id (advisor.db.lineage.lineage_of).
CREATE TABLE IF NOT EXISTS model_lineages (hf_id VARCHAR, lineage VARCHAR, source VARCHAR);

CREATE TABLE IF NOT EXISTS post_training (
    model VARCHAR, hf_id VARCHAR, stage VARCHAR, chat DOUBLE, chat_hard DOUBLE, safety DOUBLE,
    reasoning DOUBLE, score DOUBLE);

CREATE TABLE IF NOT EXISTS leaderboard_v2 (
    hf_id VARCHAR, rank INTEGER, average DOUBLE, params_b DOUBLE, leaderboard_ifeval DOUBLE,
    leaderboard_bbh DOUBLE, leaderboard_math_hard DOUBLE, leaderboard_gpqa DOUBLE,
    leaderboard_musr DOUBLE, leaderboard_mmlu_pro DOUBLE, org VARCHAR, duplicate_of_rank INTEGER);

CREATE TABLE IF NOT EXISTS rewardbench_leaderboard (
    model VARCHAR, model_type VARCHAR, version VARCHAR, score DOUBLE, chat DOUBLE, chat_hard DOUBLE,
    safety DOUBLE, reasoning DOUBLE, prior_sets DOUBLE, factuality DOUBLE, precise_if DOUBLE,
    math DOUBLE, focus DOUBLE, ties DOUBLE);
