"""The ``predictor:`` section of a pipeline config (``PredictorConfig``) and its checks.

The evaluation protocol's settings (candidates, repeats, folds, cv, random_state, interval_level, n_boot,
n_jobs, max_iter) have one home for their defaults: ``advisor.predict.evaluation.EvalConfig``. This dataclass
takes its defaults from there, adds the range checks of a config file, and ``eval_config`` hands the
same-named fields back to the evaluation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from advisor.core import registry
from advisor.predict import evaluation, specs
from pipeline.config import Folds, NJobs, OpenUnit, Positive, check_rm_sources
from pipeline.errors import InputError

SERVED_SCALES = ("normalized", "raw")
_EVAL = evaluation.EvalConfig()  # the protocol's defaults (one home: advisor/predict/evaluation.py)


@dataclass
class PredictorConfig:
    scales: list = field(default_factory=lambda: list(SERVED_SCALES))  # first = the report's main scale
    methods: list = field(default_factory=lambda: list(registry.METHODS))
    targets: list = field(default_factory=lambda: list(registry.RM_TARGETS))
    method: str = "regression"  # the predictor the report's main rows describe
    target: str = "score"
    rm_sources: list = field(default_factory=lambda: ["paper", "user"])  # rm_results sources, preferred first
    candidates: list = field(default_factory=lambda: list(_EVAL.candidates))  # specs the served choice picks from
    paper_reference_scales: list = field(default_factory=list)  # evaluate the paper's model on these
    paper_reference_targets: list = field(default_factory=lambda: ["score"])
    repeats: int = _EVAL.repeats  # outer repeats of the nested CV (0: serving build, lineage-out only)
    folds: Folds = _EVAL.folds  # outer folds
    cv: Folds = _EVAL.cv  # inner folds of each spec's hyperparameter search
    interval_level: OpenUnit = _EVAL.interval_level
    n_boot: Positive = _EVAL.n_boot
    random_state: int = _EVAL.random_state
    n_jobs: NJobs = _EVAL.n_jobs
    max_iter: int = _EVAL.max_iter
    coverage_min_k5: float = 0.4
    coverage_min_k10: float = 0.7
    coverage_ks: list = field(default_factory=lambda: [5, 30])  # first and last k
    pca_features: list = field(default_factory=lambda: list(registry.OLL_V2_TASKS))
    reports_dir: str | None = None  # None: beside the database, <db>.reports/


_SHARED = [f.name for f in dataclasses.fields(evaluation.EvalConfig)
           if f.name in {g.name for g in dataclasses.fields(PredictorConfig)}]


def eval_config(cfg: PredictorConfig, **extra) -> evaluation.EvalConfig:
    """The evaluation protocol of ``cfg`` (its same-named fields), plus ``extra`` (extra_specs, ...)."""
    shared = {k: getattr(cfg, k) for k in _SHARED}
    shared["candidates"] = list(cfg.candidates)
    return evaluation.EvalConfig(**shared, **extra)


def check(cfg: PredictorConfig, file: str) -> None:
    """What the types cannot say: names that must exist, and fields that must agree."""
    for f in cfg.pca_features:
        if f not in registry.benchmarks():
            raise InputError(file, f"unknown feature {f!r}",
                             f"use registry names: {', '.join(registry.names())}",
                             field="predictor.pca_features")
    for s in [*cfg.scales, *cfg.paper_reference_scales]:
        if s not in SERVED_SCALES:
            raise InputError(file, f"scale {s!r}", f"use {' or '.join(SERVED_SCALES)}",
                             field="predictor.scales")
    if not cfg.scales:
        raise InputError(file, "no scale to serve", "list at least one scale", field="predictor.scales")
    if not isinstance(cfg.repeats, int) or cfg.repeats < 0:
        raise InputError(file, f"repeats {cfg.repeats!r}", "use 0 (serving build: lineage-out only) or "
                         "a positive number of nested-CV repeats (5 for the full evaluation)",
                         field="predictor.repeats")
    valid = list(specs.load_specs())
    for s in cfg.candidates:
        if s not in valid:
            raise InputError(file, f"unknown predictor spec {s!r}", f"use names from "
                             f"advisor/predict/predictor_specs.yaml: {', '.join(valid)}",
                             field="predictor.candidates")
    if not cfg.candidates:
        raise InputError(file, "no candidate spec", "list at least one", field="predictor.candidates")
    check_rm_sources(cfg.rm_sources, file, "predictor.rm_sources")
    if cfg.method not in cfg.methods or cfg.target not in cfg.targets:
        raise InputError(file, f"method/target {cfg.method}/{cfg.target} not among the fitted ones",
                         "pick method from 'methods' and target from 'targets'",
                         field="predictor.method")
    for t in cfg.paper_reference_targets:
        if t not in cfg.targets:
            raise InputError(file, f"paper_reference_targets: {t!r} is not served",
                             f"use some of {cfg.targets}", field="predictor.paper_reference_targets")
