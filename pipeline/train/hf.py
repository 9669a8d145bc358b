"""Shared pieces of the two trainers: precision, batch arithmetic, checkpoints, the eval-at-end rule.

Kept apart so bradley_terry.py and regression.py read as the paper's recipe and nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from transformers import TrainerCallback

from pipeline import runtime


def world_size() -> int:
    """Processes in the data-parallel group (``accelerate launch`` / ``torchrun`` set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def device() -> str:
    """Where training and scoring run: the GPU when there is one (pipeline.runtime)."""
    return runtime.resolve_device("auto")


def model_dtype(bf16: bool):
    """``train.bf16``: bfloat16 on a GPU that supports it, else float32 (always float32 on CPU)."""
    return runtime.resolve_dtype("auto" if bf16 else "float32", device())


def accumulation(global_batch: int, per_device: int) -> int:
    """Gradient-accumulation steps so that per_device x steps x processes == global_batch."""
    denom = per_device * world_size()
    if global_batch % denom:
        raise ValueError(f"global batch {global_batch} is not a multiple of per-device batch {per_device} x "
                         f"{world_size()} processes. Fix: change per_device_batch_size or the number of GPUs")
    return global_batch // denom


def common_args(out_dir: Path, lr: float, mcfg, cfg, per_device: int) -> dict:
    """TrainingArguments shared by both methods: paper schedule, eval + checkpoint every eval_steps."""
    bf16 = model_dtype(cfg.bf16) == torch.bfloat16
    return dict(
        output_dir=str(out_dir / "checkpoints"), learning_rate=lr, num_train_epochs=mcfg.epochs,
        per_device_train_batch_size=per_device, per_device_eval_batch_size=per_device,
        gradient_accumulation_steps=accumulation(mcfg.global_batch_size, per_device),
        lr_scheduler_type="constant_with_warmup", warmup_steps=mcfg.warmup_steps, optim="adamw_torch",
        weight_decay=mcfg.weight_decay, eval_strategy="steps", eval_steps=mcfg.eval_steps,
        save_strategy="steps", save_steps=mcfg.eval_steps, load_best_model_at_end=True,
        save_total_limit=2, logging_steps=max(1, mcfg.eval_steps // 2), report_to="none", seed=cfg.seed,
        bf16=bf16, use_cpu=device() == "cpu", activation_checkpointing=False,
        dataloader_num_workers=cfg.dataloader_num_workers, disable_tqdm=False, save_only_model=False,
    )


def last_checkpoint(out_dir: Path) -> str | None:
    """The newest complete checkpoint. The Trainer writes trainer_state.json last, so a folder without
    a readable one is a save cut short by a kill; resuming from it would crash every rerun."""
    import json

    ckpt = out_dir / "checkpoints"
    if not ckpt.is_dir():
        return None
    found = []
    for d in ckpt.glob("checkpoint-*"):
        step = d.name.split("-", 1)[1]
        try:
            json.loads((d / "trainer_state.json").read_text())
        except (OSError, ValueError):
            continue
        if step.isdigit():
            found.append((int(step), d))
    return str(max(found)[1]) if found else None


class EvalAtEnd(TrainerCallback):
    """Also evaluate and checkpoint the last step, so the final partial interval competes too."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_evaluate = True
            control.should_save = True
        return control


def train_last_blocks(model, blocks: int | None) -> dict:
    """Leave trainable only the last ``blocks`` transformer blocks, what follows them in the base model (the
    final norm) and the head beside it (the score head); None: everything (full fine-tuning). Returns
    {'trainable': n, 'total': n} parameters. The blocks are the base model's longest ModuleList."""
    import torch.nn as nn

    total = sum(p.numel() for p in model.parameters())
    if blocks is None:
        return {"trainable": sum(p.numel() for p in model.parameters() if p.requires_grad), "total": total}
    base = model.base_model
    lists = [m for m in base.children() if isinstance(m, nn.ModuleList)]
    if not lists:
        raise ValueError(f"{type(base).__name__} has no list of blocks to train the last {blocks} of. Fix: set "
                         "trainable_blocks: null (full fine-tuning) for this model")
    layers = max(lists, key=len)
    if blocks > len(layers):
        raise ValueError(f"trainable_blocks {blocks} is more than the model's {len(layers)} blocks. Fix: use at "
                         f"most {len(layers)}, or null for full fine-tuning")
    model.requires_grad_(False)
    embeddings = model.get_input_embeddings()
    keep = [*layers[len(layers) - blocks:],
            *(m for m in base.children() if m is not layers and m is not embeddings),
            *(m for m in model.children() if m is not base)]
    for m in keep:
        m.requires_grad_(True)
    return {"trainable": sum(p.numel() for p in model.parameters() if p.requires_grad), "total": total}


def count_params(model) -> float:
    """Parameters in billions (the base model; the score head is negligible)."""
    return sum(p.numel() for p in model.parameters()) / 1e9


def train_and_save(trainer, tok, out_dir: Path, eval_key: str) -> dict:
    """Train (resuming from the last complete checkpoint), save the best model to ``out_dir/final`` and
    return what both trainers report: steps, losses, the best checkpoint and the ``eval_key`` history."""
    resume = last_checkpoint(out_dir)
    result = trainer.train(resume_from_checkpoint=resume)
    final = out_dir / "final"
    trainer.save_model(str(final))
    tok.save_pretrained(str(final))
    log = trainer.state.log_history
    return {"final": str(final), "resumed_from": resume, "steps": trainer.state.global_step,
            "train_history": [h["loss"] for h in log if "loss" in h],
            "train_loss": result.training_loss, "train_seconds": result.metrics.get("train_runtime"),
            "best_checkpoint": trainer.state.best_model_checkpoint,
            "eval_history": [h for h in log if eval_key in h], "params_b": count_params(trainer.model)}
