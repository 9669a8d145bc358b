"""Prediction: predictor specs as data, the hyperparameter search, evaluation (nested CV and
leave-one-lineage-out, intervals, top-k coverage), the served bundle, imputation and partial inputs, the settings
shift, and candidates in, ranked shortlist and its verdict out.

Public face: ``candidates.gather`` (also ``ranking.gather``: inputs -> the candidate table, completed
from database tables the caller passes in) / ``ranking.build`` (candidate table -> shortlist),
``shortlist.predict_candidates``,
``bundle.load`` / ``bundle.source``, ``specs.get`` / ``specs.fit_spec``, ``evaluation.evaluate``,
``evidence.sentence`` (the evidence line), ``verdict.verdict`` / ``verdict.tiers`` (the verdict above the shortlist).
"""
