"""Multi-attribute regression reward model (paper 3.1, eq. 5) with the transformers Trainer.

A linear head over the last token's hidden state predicts the five HelpSteer2 ratings; MSE loss;
2 epochs, global batch 64, AdamW, constant LR after 20 warm-up steps; evaluated (validation MSE on
HelpSteer2's validation split) and checkpointed every 20 steps; the checkpoint with the lowest
validation MSE is loaded at the end and saved to ``<trial>/final``. The merge vector (eq. 6-7) is
searched afterwards on HelpSteer2-Preference validation pairs (stage.py, merge_search.py).
Examples longer than max_length tokens are dropped and counted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.train import hf
from pipeline.train.data import ATTRIBUTES, Encoder, PairStats


def tokenize(enc: Encoder, df: pd.DataFrame, stats: PairStats):
    from datasets import Dataset

    labels = df[ATTRIBUTES].astype(float)
    if labels.isna().any().any():
        row, col = next((r, c) for c in ATTRIBUTES for r in labels.index[labels[c].isna()])
        from pipeline.errors import InputError
        raise InputError("helpsteer2", "missing or non-numeric rating", "give an integer 0-4", row=int(row), field=col)
    ids = enc.ids(df["prompt"], df["response"])
    keep = [i for i in range(len(df)) if len(ids[i]) <= enc.max_length]
    stats.rows += len(df)
    stats.too_long_dropped += len(df) - len(keep)
    stats.kept += len(keep)
    return Dataset.from_dict({"input_ids": [ids[i] for i in keep],
                              "labels": [labels.iloc[i].tolist() for i in keep]})


def train(model_path: str, train_df: pd.DataFrame, val_df: pd.DataFrame, lr: float, out_dir: Path,
          mcfg, cfg, spec, callbacks=()) -> dict:
    """Train one (model, LR) trial; resumes from the newest checkpoint under out_dir if there is one."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    max_length = spec.max_length or mcfg.max_length
    per_device = spec.per_device_batch_size or mcfg.per_device_batch_size
    tok = AutoTokenizer.from_pretrained(model_path, revision=spec.revision, trust_remote_code=spec.trust_remote_code)
    enc = Encoder(tok, max_length)
    train_stats, val_stats = PairStats(), PairStats()
    train_ds, val_ds = tokenize(enc, train_df, train_stats), tokenize(enc, val_df, val_stats)

    set_seed(cfg.seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_path, num_labels=len(ATTRIBUTES), problem_type="regression", dtype=hf.model_dtype(cfg.bf16),
        revision=spec.revision, trust_remote_code=spec.trust_remote_code)
    model.config.pad_token_id = tok.pad_token_id
    params = hf.train_last_blocks(model, mcfg.trainable_blocks)
    args = TrainingArguments(**hf.common_args(out_dir, lr, mcfg, cfg, per_device),
                             metric_for_best_model="eval_loss", greater_is_better=False)
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds, processing_class=tok,
                      data_collator=DataCollatorWithPadding(tok, padding="longest"),
                      callbacks=[hf.EvalAtEnd(), *callbacks])
    info = hf.train_and_save(trainer, tok, out_dir, "eval_loss")
    return {**info, "best_eval_mse": trainer.state.best_metric, "parameters": params,
            "train_examples": vars(train_stats), "val_examples": vars(val_stats)}
