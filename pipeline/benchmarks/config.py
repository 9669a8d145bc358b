"""The ``benchmarks:`` config section (read by ``pipeline.benchmarks.stage`` as ``ctx.section("benchmarks")``).

Example::

    benchmarks:
      models:                      # hub ids, or pipeline.models.ModelSpec mappings
        - meta-llama/Llama-3.2-1B-Instruct
        - {id: local/tiny-llama, tiny: llama, dtype: float32}   # built at work_dir/models/local__tiny-llama
      task_sets: [oll_v2, paper_table2]   # configs/tasks/<name>.yaml, or a path to a task-set YAML
      limit: null                  # examples per task (tests/smoke only: not comparable numbers)
      batch_size: auto
      device: auto                 # auto: cuda when available, else cpu
      evalplus: true               # run EvalPlus where the package and a GPU are available
"""

from __future__ import annotations

from dataclasses import field
from typing import Annotated

from pydantic import Field

from pipeline.config import Positive, config_dataclass
from pipeline.models import ModelEntry, ModelSpec, check_models
from pipeline.runtime import Device

DEFAULT_DTYPE = "bfloat16"  # what lm-eval loads a model in when its entry says dtype: auto (the leaderboards')


def model_dtype(m: ModelSpec) -> str:
    """The dtype name lm-eval gets for ``m`` (and that the run key records)."""
    return DEFAULT_DTYPE if m.dtype == "auto" else m.dtype


@config_dataclass
class BenchmarksConfig:
    models: list[ModelEntry] = field(default_factory=list)
    task_sets: list[str] = field(default_factory=lambda: ["oll_v2"])
    limit: Annotated[int, Field(ge=1)] | Annotated[float, Field(gt=0, lt=1)] | None = None  # count, or fraction
    batch_size: Positive | Annotated[str, Field(pattern=r"^auto(:\d+)?$")] = "auto"  # auto[:N] or a count
    device: Device | None = None  # None / auto: cuda when available, else cpu
    max_length: Positive | None = None  # a model's own max_length wins
    bootstrap_iters: Annotated[int, Field(ge=0)] = 1000
    seed: int = 1234
    evalplus: bool = True

    def check(self, file: str = "config") -> BenchmarksConfig:
        check_models(self.models, file, "benchmarks", unused=("params_b", "per_device_batch_size"))
        return self
