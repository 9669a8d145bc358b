"""The ``predictor:`` section of a pipeline config (``PredictorConfig``), validated whole by ``config.load``.

Types say what each key takes: scales, methods, targets and rm_sources are ``Literal`` names (the registry's),
``candidates`` are spec names of ``advisor/predict/predictor_specs.yaml``, ``pca_features`` registry
benchmarks, numbers carry their ranges; ``check`` adds the rules across keys. So a bad section is refused
before any stage runs, naming the field and the valid names.

The evaluation protocol's settings (candidates, repeats, folds, cv, inner_seeds, random_state,
interval_level, n_boot, n_jobs, max_iter) have one home for their defaults:
``advisor.predict.evaluation.EvalConfig``. This dataclass takes its defaults from there, adds the range
checks of a config file, and ``eval_config`` hands the same-named fields back to the evaluation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from advisor.core import registry
from advisor.predict import evaluation, specs
from pipeline.config import Folds, Fraction, NJobs, NonEmpty, OpenUnit, Positive, RMSources, config_dataclass
from pipeline.errors import InputError

SERVED_SCALES = ("normalized", "raw")
_EVAL = evaluation.EvalConfig()  # the protocol's defaults (one home: advisor/predict/evaluation.py)


def _spec(name: str) -> str:
    valid = specs.load_specs()
    if name not in valid:
        raise InputError("", f"unknown predictor spec {name!r}",
                         f"use names from advisor/predict/predictor_specs.yaml: {', '.join(valid)}")
    return name


def _benchmark(name: str) -> str:
    if name not in registry.benchmarks():
        raise InputError("", f"unknown feature {name!r}", f"use registry names: {', '.join(registry.names())}")
    return name


Scale = Literal[SERVED_SCALES]
Method = Literal[registry.METHODS]
Target = Literal[registry.RM_TARGETS]
SpecName = Annotated[str, AfterValidator(_spec)]  # a spec of advisor/predict/predictor_specs.yaml
Benchmark = Annotated[str, AfterValidator(_benchmark)]  # a registry benchmark (advisor/core/benchmarks.csv)


@config_dataclass
class PredictorConfig:
    scales: NonEmpty[Scale] = field(default_factory=lambda: list(SERVED_SCALES))  # first = the report's main scale
    methods: NonEmpty[Method] = field(default_factory=lambda: list(registry.METHODS))
    targets: NonEmpty[Target] = field(default_factory=lambda: list(registry.RM_TARGETS))
    method: Method = "regression"  # the predictor the report's main rows describe
    target: Target = "score"
    rm_sources: RMSources = field(default_factory=lambda: ["paper", "user"])  # rm_results sources, preferred first
    # specs the served choice picks from
    candidates: NonEmpty[SpecName] = field(default_factory=lambda: list(_EVAL.candidates))
    paper_reference_scales: list[Scale] = field(default_factory=list)  # evaluate the paper's model on these
    paper_reference_targets: list[Target] = field(default_factory=lambda: ["score"])
    # outer repeats of the nested CV (0: serving build, lineage-out only)
    repeats: Annotated[int, Field(ge=0)] = _EVAL.repeats
    folds: Folds = _EVAL.folds  # outer folds
    cv: Folds = _EVAL.cv  # inner folds of each spec's hyperparameter search
    # seeds of the candidates' inner CV (shuffled KFold, seeds random_state ..): the served choice and the
    # headline average over them, and the report gives the spread of the single-seed procedures
    inner_seeds: Annotated[int, Field(ge=1)] = _EVAL.inner_seeds
    interval_level: OpenUnit = _EVAL.interval_level
    n_boot: Positive = _EVAL.n_boot
    random_state: int = _EVAL.random_state
    n_jobs: NJobs = _EVAL.n_jobs
    max_iter: Positive = _EVAL.max_iter
    coverage_min_k5: Fraction = 0.4
    coverage_min_k10: Fraction = 0.7
    coverage_ks: Annotated[list[Positive], Field(min_length=2, max_length=2)] = field(
        default_factory=lambda: [5, 30])  # first and last k
    pca_features: NonEmpty[Benchmark] = field(default_factory=lambda: list(registry.OLL_V2_TASKS))
    reports_dir: str | None = None  # None: beside the database, <db>.reports/
    # partial-input evidence (advisor.predict.partial) evaluated at build time and stored in the bundle:
    # every pattern a rankable row can have and the report's; off in the serving build, whose partial
    # rows are evaluated when first ranked until the full build publishes
    partial_evidence: bool = True
    # how many of the 127 rankable patterns (advisor.predict.partial.rankable_patterns: most inputs first,
    # an order that reads no candidate file) the build precomputes; the rest are evaluated when first ranked
    partial_patterns: Annotated[int, Field(ge=0, le=127)] = 127

    def check(self, file: str = "config") -> PredictorConfig:
        """The rules across keys (each key's own type and range is checked by its annotation)."""
        if self.method not in self.methods or self.target not in self.targets:
            raise InputError(file, f"method/target {self.method}/{self.target} not among the fitted ones",
                             f"pick method from 'methods' ({', '.join(self.methods)}) and target from "
                             f"'targets' ({', '.join(self.targets)})", field="predictor.method")
        for t in self.paper_reference_targets:
            if t not in self.targets:
                raise InputError(file, f"paper_reference_targets: {t!r} is not served",
                                 f"use some of {self.targets}", field="predictor.paper_reference_targets")
        if self.coverage_ks[0] > self.coverage_ks[1]:
            raise InputError(file, f"coverage_ks {self.coverage_ks}: the first k is above the last",
                             "write [first k, last k], e.g. [5, 30]", field="predictor.coverage_ks")
        return self


_SHARED = [f.name for f in dataclasses.fields(evaluation.EvalConfig)
           if f.name in {g.name for g in dataclasses.fields(PredictorConfig)}]


def eval_config(cfg: PredictorConfig, **extra) -> evaluation.EvalConfig:
    """The evaluation protocol of ``cfg`` (its same-named fields), plus ``extra`` (extra_specs, ...)."""
    shared = {k: getattr(cfg, k) for k in _SHARED}
    shared["candidates"] = list(cfg.candidates)
    return evaluation.EvalConfig(**shared, **extra)
