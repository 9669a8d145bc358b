-- Stage presence (pipeline/stages.py). Pre-training presence scores (paper 5.2, eq. 10) and the analyses built on them.

-- One row per (model, document): the eq. 10 score over the first n_tokens scored tokens.
CREATE TABLE IF NOT EXISTS presence_scores (
    model VARCHAR NOT NULL, doc_id VARCHAR NOT NULL, subset VARCHAR NOT NULL, n_tokens INTEGER,
    score DOUBLE);

-- The scored models, in display order (the reference, e.g. LLM360/Crystal, first), with their settings.
CREATE TABLE IF NOT EXISTS presence_models (
    model VARCHAR PRIMARY KEY, position INTEGER, is_reference BOOLEAN, n_docs INTEGER, n_tokens BIGINT,
    corpus VARCHAR, max_tokens INTEGER, normalise VARCHAR, device VARCHAR, dtype VARCHAR, compiled VARCHAR,
    tokens_per_s DOUBLE, seconds DOUBLE);

-- Per (model, subset) distribution summary; subset 'all' covers every document (Fig. 7). n_docs: the
-- documents it rests on (the same for every model); mean_lo/mean_hi: the mean's bootstrap interval
-- (level 1 - ci_alpha/max_rounds, see presence_rounds.level).
CREATE TABLE IF NOT EXISTS presence_summary (
    model VARCHAR, subset VARCHAR, n_docs INTEGER, mean DOUBLE, std DOUBLE, q05 DOUBLE, q25 DOUBLE,
    median DOUBLE, q75 DOUBLE, q95 DOUBLE, mean_lo DOUBLE, mean_hi DOUBLE);

-- (presence_hist, the histograms on shared bins, was written and never read: the pages draw Fig. 7 from
-- presence_scores. A database carried over from before drops it.)
DROP TABLE IF EXISTS presence_hist;

-- Jensen-Shannon distance between score distributions over all documents (Fig. 8), both orders.
-- lo/hi: bootstrap interval; n_documents: documents per model it rests on.
CREATE TABLE IF NOT EXISTS presence_jsd (
    model_a VARCHAR, model_b VARCHAR, jsd DOUBLE, bins INTEGER, base DOUBLE, lo DOUBLE, hi DOUBLE,
    n_documents INTEGER);

-- Sequential scoring: one row per (model, round): documents per model so far, the model's widest interval
-- half-widths (mean: nats/token; hist: mass of one bin; JSD: + |bootstrap bias|), the largest
-- width / tolerance ratio over all models, the per-round level, and whether the rule stopped there.
CREATE TABLE IF NOT EXISTS presence_rounds (
    model VARCHAR, round INTEGER, n_shards INTEGER, n_documents INTEGER, mean_hw DOUBLE, hist_hw DOUBLE,
    jsd_hw DOUBLE, ratio DOUBLE, level DOUBLE, stopped BOOLEAN, reason VARCHAR);

-- Columns added after the first release (a carried-over database gains them)
ALTER TABLE presence_summary ADD COLUMN IF NOT EXISTS mean_lo DOUBLE;
ALTER TABLE presence_summary ADD COLUMN IF NOT EXISTS mean_hi DOUBLE;
ALTER TABLE presence_jsd ADD COLUMN IF NOT EXISTS lo DOUBLE;
ALTER TABLE presence_jsd ADD COLUMN IF NOT EXISTS hi DOUBLE;
ALTER TABLE presence_jsd ADD COLUMN IF NOT EXISTS n_documents INTEGER;

-- Whose distribution stands for each model (family rule, Table 3 / models table).
CREATE TABLE IF NOT EXISTS presence_family_map (
    hf_id VARCHAR, source_model VARCHAR, family VARCHAR, pretrain_tokens_t DOUBLE, reason VARCHAR);

-- Regression experiment: honest-CV error of the predictor without / with the presence means.
CREATE TABLE IF NOT EXISTS presence_regression (
    cv VARCHAR, features VARCHAR, n_models INTEGER, mae DOUBLE, mae_change DOUBLE, status VARCHAR,
    note VARCHAR, target VARCHAR, method VARCHAR);
