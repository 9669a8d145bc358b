"""Pipeline stage ``predictor``: choose, evaluate and fit the served predictors, store them in the
database with their evidence, and write the reproduction report.

- ``config.py``: ``PredictorConfig`` (the ``predictor:`` section), validated by ``config.load`` before any
  stage runs (names from the registry and the spec file, ranges, rules across keys); the evaluation
  protocol's defaults come from ``advisor.predict.evaluation.EvalConfig``;
- ``stage.py``: ``run(ctx)``, a short script: evaluate every scale, write the bundle and the tables,
  build the report into the table ``reports``;
- ``scale.py``: one scale: inputs (targets as ``(method, target)`` pairs), the honest evaluation, the
  served predictors (``advisor.predict.bundle.ServedEntry``) and the partial-input evidence, as a
  ``ScaleResult``;
- ``checkpoints.py``: the hash-keyed caches under ``work_dir/predictor/``: the evaluation (CSV) and the
  precomputed partial-input patterns (JSON), never pickle;
- ``analyses.py``: the paper's analyses the report quotes (correlations, coverage, PCA, gains,
  Table 1), the partial-input patterns the build precomputes and the report's rows of them;
- ``report.py``: ``build_report`` (JSON), ``render_markdown`` (one function per section), ``store`` (the
  table ``reports``, which the ``transfer`` stage completes), ``write_reports``; the paper's numbers
  from ``data/paper/``.

Tables (``pipeline/sql/50_predictor.sql``), each read by the app, the CLI or the report export:
``predictor_bundle`` (the served predictors as JSON: ``advisor.predict.bundle``), ``predictor_served``,
``predictor_evidence``, ``predictions_oof``, ``interval_calibration``, ``lineage_errors``,
``skipped_analyses`` (``advisor.predict.evidence``, the Evidence page), ``predictions_known`` (the
Benchmarks page's predictor curve), ``reports`` (``python -m pipeline.report``).

One home per analysis (issue 18): the paper's analyses (Fig. 2, 3, 4/6, Table 1, App. E/F) are computed
by the pages from the database with ``advisor.analyses.correlation``, ``coverage``, ``pca``, ``gains`` and
``posttraining``; the stage no longer stores copies of them (the former tables ``correlations``,
``coverage_curves``, ``pca``, ``gains``, ``post_training_deltas``, ``bt_vs_regression``,
``predictor_info`` and ``predictor_coefficients`` had no reader). The report computes the numbers it
quotes in memory with the same functions (``analyses.py``).
"""
