"""The ``train:`` config section: which base models, which methods, the paper's hyper-parameters.

Defaults are the paper's (section 3.1): Bradley-Terry on HelpSteer2-Preference for 1 epoch, regression
on HelpSteer2 for 2 epochs, global batch 64, constant LR after 20 warm-up steps, AdamW, evaluation and
a checkpoint every 20 steps, LR grids {5..9}e-7 U {1..5}e-6 (BT) and {1,3,5,7,9}e-{6,7} (regression).
Validated once by ``pipeline.config.load`` (types, ranges, unknown keys; ``check`` for the rules across
fields). Models are ``pipeline.models.ModelSpec`` entries (train honours path and revision; precision
is ``bf16``, so a per-model dtype is refused).
"""

from __future__ import annotations

from dataclasses import field
from typing import Annotated, Literal

from pydantic import Field

from advisor.core.registry import METHODS
from pipeline.config import Positive, config_dataclass
from pipeline.errors import InputError
from pipeline.models import ModelEntry, check_models
from pipeline.runtime import Device

BT_LRS = [5e-7, 6e-7, 7e-7, 8e-7, 9e-7, 1e-6, 2e-6, 3e-6, 4e-6, 5e-6]
REGRESSION_LRS = [1e-6, 3e-6, 5e-6, 7e-6, 9e-6, 1e-7, 3e-7, 5e-7, 7e-7, 9e-7]
LearningRate = Annotated[float, Field(gt=0)]


@config_dataclass
class MethodConfig:
    learning_rates: list[LearningRate] = field(default_factory=list)
    epochs: Annotated[float, Field(gt=0)] = 1.0
    global_batch_size: Positive = 64  # = per_device_batch_size x gradient accumulation x processes
    per_device_batch_size: Positive = 8
    warmup_steps: Annotated[int, Field(ge=0)] = 20
    eval_steps: Positive = 20  # evaluate and checkpoint every N optimizer steps
    max_length: Positive = 4096  # tokens of prompt + response after the chat template
    max_train_examples: Positive | None = None  # cap (smoke runs); None = the whole split
    max_eval_examples: Positive | None = None
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    # train only the last N transformer blocks, the final norm and the score head (None: every weight, the
    # paper's full fine-tuning); on 2 CPU cores a full step of a 135M model takes minutes, one block seconds
    trainable_blocks: Positive | None = None


@config_dataclass
class BradleyTerryConfig(MethodConfig):
    """HelpSteer2-Preference pairs, 1 epoch, the paper's BT grid."""

    learning_rates: list[LearningRate] = field(default_factory=lambda: list(BT_LRS))
    epochs: Annotated[float, Field(gt=0)] = 1.0


@config_dataclass
class RegressionConfig(MethodConfig):
    """HelpSteer2's five attributes, MSE, 2 epochs, the paper's regression grid."""

    learning_rates: list[LearningRate] = field(default_factory=lambda: list(REGRESSION_LRS))
    epochs: Annotated[float, Field(gt=0)] = 2.0


@config_dataclass
class PairsSplit:
    """The fixed, seeded split of ``data.hh_pairs`` (pipeline.train.data.split_pairs): train, validation
    (checkpoint and learning-rate selection, as HelpSteer2-Preference's val split in the paper), test (held
    out, scored once by the selected model and by the untrained head)."""

    train: Positive | None = None  # None: every usable pair the other two parts leave
    validation: Positive = 200
    test: Positive = 512
    seed: int = 42


@config_dataclass
class DataConfig:
    # hub id or a local .jsonl/.json/.parquet file (or a directory of them) in the same schema
    helpsteer2: str = "nvidia/HelpSteer2"
    helpsteer2_preference: str = "nvidia/HelpSteer2"  # hub: data_dir 'preference'
    rewardbench: str | None = "allenai/reward-bench"  # split 'filtered'; null: no RewardBench scoring
    fixtures: bool = False  # write the project's tiny JSONL fixtures into work_dir and use them
    # a local JSONL (.gz) of HH-RLHF chosen/rejected dialogues, relative to the repository root: Bradley-Terry
    # trains and selects on its split instead of HelpSteer2-Preference, and its test part is scored as subset
    # `hh_subset` into pair_results
    hh_pairs: str | None = None
    hh_subset: Annotated[str, Field(min_length=1)] = "hh-rlhf"
    hh_split: PairsSplit = field(default_factory=PairsSplit)


@config_dataclass
class TrainConfig:
    models: list[ModelEntry] = field(default_factory=list)
    methods: list[Literal[METHODS]] = field(default_factory=lambda: list(METHODS))
    bradley_terry: BradleyTerryConfig = field(default_factory=BradleyTerryConfig)
    regression: RegressionConfig = field(default_factory=RegressionConfig)
    data: DataConfig = field(default_factory=DataConfig)
    bf16: bool = True  # bfloat16 where the GPU supports it; ignored on CPU (float32 there)
    seed: int = 42
    merge_device: Device | None = None  # auto / None = GPU when present
    rewardbench_batch_size: Positive = 16
    max_rewardbench_examples: Positive | None = None  # cap (smoke runs); None = all 2,985 pairs
    dataloader_num_workers: Annotated[int, Field(ge=0)] = 0

    def check(self, file: str = "config") -> TrainConfig:
        check_models(self.models, file, "train", unused=("dtype", "params_b"))
        for name in METHODS:
            m = self.method(name)
            if m.global_batch_size % m.per_device_batch_size:
                raise InputError(file, f"train.{name}: global_batch_size {m.global_batch_size} is not a multiple of "
                                 f"per_device_batch_size {m.per_device_batch_size}",
                                 "pick a per-device batch that divides the global batch", field=f"train.{name}")
        return self

    def method(self, name: str) -> MethodConfig:
        """The hyper-parameters of ``name`` (one of METHODS)."""
        return {"bradley_terry": self.bradley_terry, "regression": self.regression}[name]
