-- Owned by no stage (pipeline/stages.py: CORE_SQL). Never cleared: the history of pipeline runs, and the shared models and reward-model results
-- tables, whose rows belong to the stages that claim them with '-- rows:' lines.
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, config_path VARCHAR,
    config_json VARCHAR, stages VARCHAR, code_version VARCHAR, python_version VARCHAR,
    host VARCHAR, status VARCHAR);

CREATE TABLE IF NOT EXISTS rm_results (
    hf_id VARCHAR NOT NULL, method VARCHAR NOT NULL, chat DOUBLE, chat_hard DOUBLE, safety DOUBLE,
    reasoning DOUBLE, score DOUBLE, source VARCHAR NOT NULL, run_id VARCHAR, config VARCHAR);

CREATE TABLE IF NOT EXISTS models (
    hf_id VARCHAR PRIMARY KEY, display_name VARCHAR, publisher VARCHAR, family VARCHAR,
    params_b DOUBLE, pretrain_tokens_t DOUBLE, release VARCHAR, size_group VARCHAR,
    downloads_feb2025 BIGINT, likes INTEGER, in_paper BOOLEAN, source VARCHAR);
