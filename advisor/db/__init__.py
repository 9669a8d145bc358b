"""Reads of the published DuckDB database: short-lived read-only connections and the feature matrix
(``store``), the display queries the app and the CLI show (``queries``, one table of named SQL), and
lineages (``lineage``). Never writes: the pipeline owns the schema and publishes atomically.

Public face: ``store.connect`` / ``store.connection`` / ``store.feature_matrix`` / ``store.rm_table``;
``store.analysis_matrix`` and ``store.rm_targets``, the one source of the analyses' inputs (pages and report);
``queries.table(path, name)`` and the named readers in ``queries``, ``lineage.lineages_for``.
"""
