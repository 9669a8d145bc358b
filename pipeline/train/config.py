"""The ``train:`` config section: which base models, which methods, the paper's hyper-parameters.

Defaults are the paper's (section 3.1): Bradley-Terry on HelpSteer2-Preference for 1 epoch, regression
on HelpSteer2 for 2 epochs, global batch 64, constant LR after 20 warm-up steps, AdamW, evaluation and
a checkpoint every 20 steps, LR grids {5..9}e-7 U {1..5}e-6 (BT) and {1,3,5,7,9}e-{6,7} (regression).
Unknown keys are refused with the valid ones listed (``pipeline.config.section``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config import section
from pipeline.errors import InputError

BT_LRS = [5e-7, 6e-7, 7e-7, 8e-7, 9e-7, 1e-6, 2e-6, 3e-6, 4e-6, 5e-6]
REGRESSION_LRS = [1e-6, 3e-6, 5e-6, 7e-6, 9e-6, 1e-7, 3e-7, 5e-7, 7e-7, 9e-7]
METHODS = ("bradley_terry", "regression")


@dataclass
class ModelSpec:
    id: str  # hub id or local directory; for `tiny` models the name they get in the database
    tiny: str | None = None  # 'llama' | 'qwen2': build a tiny random model into work_dir (no hub)
    trust_remote_code: bool = False  # only where the model's hub code is needed (e.g. Phi-3-small)
    max_length: int | None = None  # overrides the method's max_length for this model
    per_device_batch_size: int | None = None  # overrides the method's value (memory)


@dataclass
class MethodConfig:
    learning_rates: list[float] = field(default_factory=list)
    epochs: float = 1.0
    global_batch_size: int = 64  # = per_device_batch_size x gradient accumulation x processes
    per_device_batch_size: int = 8
    warmup_steps: int = 20
    eval_steps: int = 20  # evaluate and checkpoint every N optimizer steps
    max_length: int = 4096  # tokens of prompt + response after the chat template
    max_train_examples: int | None = None  # cap (smoke runs); None = the whole split
    max_eval_examples: int | None = None
    weight_decay: float = 0.0


@dataclass
class DataConfig:
    # hub id or a local .jsonl/.json/.parquet file (or a directory of them) in the same schema
    helpsteer2: str = "nvidia/HelpSteer2"
    helpsteer2_preference: str = "nvidia/HelpSteer2"  # hub: data_dir 'preference'
    rewardbench: str = "allenai/reward-bench"  # split 'filtered'
    fixtures: bool = False  # write the project's tiny JSONL fixtures into work_dir and use them


@dataclass
class TrainConfig:
    models: list[str | dict] = field(default_factory=list)
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    bradley_terry: dict = field(default_factory=dict)
    regression: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    bf16: bool = True  # ignored on CPU (float32 there)
    seed: int = 42
    merge_device: str | None = None  # 'cpu' | 'cuda' | None = GPU when present
    rewardbench_batch_size: int = 16
    max_rewardbench_examples: int | None = None  # cap (smoke runs); None = all 2,985 pairs
    dataloader_num_workers: int = 0

    def model_specs(self, file: str) -> list[ModelSpec]:
        specs = []
        for i, m in enumerate(self.models):
            if isinstance(m, str):
                m = {"id": m}
            if not isinstance(m, dict) or "id" not in m:
                raise InputError(file, f"train.models entry {i} must be a hub id or a mapping with 'id'",
                                 "write '- id: org/name' (plus optional tiny, trust_remote_code)", field="train.models")
            spec = section(ModelSpec, {"m": m}, "m", file)
            if spec.tiny not in (None, "llama", "qwen2"):
                raise InputError(file, f"train.models entry {i}: unknown tiny architecture {spec.tiny!r}",
                                 "use tiny: llama or tiny: qwen2", field="train.models")
            specs.append(spec)
        ids = [s.id for s in specs]
        if len(set(ids)) != len(ids):
            raise InputError(file, "train.models lists a model twice", "keep one entry per id", field="train.models")
        return specs

    def method(self, name: str, file: str) -> MethodConfig:
        if name not in METHODS:
            raise InputError(file, f"unknown method {name!r} in train.methods", f"use: {', '.join(METHODS)}",
                             field="train.methods")
        defaults = {"bradley_terry": dict(learning_rates=BT_LRS, epochs=1.0),
                    "regression": dict(learning_rates=REGRESSION_LRS, epochs=2.0)}[name]
        cfg = section(MethodConfig, {name: {**defaults, **(getattr(self, name) or {})}}, name, file)
        if cfg.global_batch_size % cfg.per_device_batch_size:
            raise InputError(file, f"train.{name}: global_batch_size {cfg.global_batch_size} is not a multiple of "
                             f"per_device_batch_size {cfg.per_device_batch_size}",
                             "pick a per-device batch that divides the global batch", field=f"train.{name}")
        return cfg

    def data_config(self, file: str) -> DataConfig:
        return section(DataConfig, {"data": self.data or {}}, "data", file)
