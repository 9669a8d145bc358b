"""The ``benchmarks:`` config section (read by ``pipeline.benchmarks.stage``).

Example::

    benchmarks:
      models:                      # hub ids, or mappings with the keys of ModelSpec
        - meta-llama/Llama-3.2-1B-Instruct
        - {hf_id: local/tiny-llama, path: work/smoke/tiny-llama, fixture: llama, dtype: float32}
      task_sets: [oll_v2, paper_table2]   # configs/tasks/<name>.yaml, or a path to a task-set YAML
      limit: null                  # examples per task (tests/smoke only: not comparable numbers)
      batch_size: auto
      device: null                 # null: cuda when available, else cpu
      evalplus: true               # run EvalPlus where the package and a GPU are available
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from pipeline.errors import InputError


@dataclass
class ModelSpec:
    hf_id: str  # the id the scores are stored under
    path: str | None = None  # what to load: a local directory or a hub id (default: hf_id)
    dtype: str = "bfloat16"
    revision: str | None = None
    trust_remote_code: bool = False  # only where this model needs it
    fixture: str | None = None  # build a tiny local model of this arch at `path` first (smoke/tests)

    @property
    def load_path(self) -> str:
        return self.path or self.hf_id


@dataclass
class BenchmarksConfig:
    models: list = field(default_factory=list)
    task_sets: list = field(default_factory=lambda: ["oll_v2"])
    limit: int | float | None = None
    batch_size: int | str = "auto"
    device: str | None = None
    max_length: int | None = None
    bootstrap_iters: int = 1000
    seed: int = 1234
    evalplus: bool = True

    def model_specs(self, file: str = "config") -> list[ModelSpec]:
        if not isinstance(self.models, list):
            raise InputError(file, "'models' must be a list", "write models: [org/name, ...]",
                             field="benchmarks.models")
        valid = {f.name for f in dataclasses.fields(ModelSpec)}
        out = []
        for i, m in enumerate(self.models, 1):
            if isinstance(m, str) and m.strip():
                out.append(ModelSpec(hf_id=m.strip()))
            elif isinstance(m, dict) and m.get("hf_id"):
                unknown = sorted(set(m) - valid)
                if unknown:
                    raise InputError(file, f"unknown key(s) {unknown} in models entry {i}",
                                     f"use only: {', '.join(sorted(valid))}", field="benchmarks.models")
                out.append(ModelSpec(**m))
            else:
                raise InputError(file, f"models entry {i} is {m!r}", "give a hub id or a mapping with "
                                 "at least hf_id", field="benchmarks.models")
        return out
