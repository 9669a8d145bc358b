"""rm-advisor offline pipeline: ingest, train, score, measure, fit; publish into DuckDB atomically."""
