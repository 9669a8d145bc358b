"""Bradley-Terry reward model (paper 3.1) with TRL's RewardTrainer on HelpSteer2-Preference.

Loss -log sigmoid(r(x_c) - r(x_r)); one epoch, global batch 64 (gradient accumulation), AdamW,
constant LR after 20 warm-up steps, evaluation and a checkpoint every 20 steps; the checkpoint with
the best validation accuracy is loaded at the end and saved to ``<trial>/final``.

Pairs are tokenized here (not by TRL) so that the chat template, pad token and max length are explicit
and the pairs dropped for length are counted: TRL drops any pair whose chosen or rejected side is
longer than max_length; we drop the same pairs before handing the tokenized ids to the trainer.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.train import hf
from pipeline.train.data import Encoder, PairStats


def tokenize_pairs(enc: Encoder, pairs: pd.DataFrame, stats: PairStats):
    from datasets import Dataset

    chosen = enc.ids(pairs["prompt"], pairs["chosen"])
    rejected = enc.ids(pairs["prompt"], pairs["rejected"])
    keep = [i for i in range(len(pairs)) if max(len(chosen[i]), len(rejected[i])) <= enc.max_length]
    stats.too_long_dropped += len(pairs) - len(keep)
    stats.kept += len(keep)
    return Dataset.from_dict({"chosen_ids": [chosen[i] for i in keep], "rejected_ids": [rejected[i] for i in keep]})


def train(model_path: str, train_pairs: pd.DataFrame, val_pairs: pd.DataFrame, lr: float, out_dir: Path,
          mcfg, cfg, spec, callbacks=()) -> dict:
    """Train one (model, LR) trial; resumes from the newest checkpoint under out_dir if there is one."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed
    from trl import RewardConfig, RewardTrainer

    max_length = spec.max_length or mcfg.max_length
    per_device = spec.per_device_batch_size or mcfg.per_device_batch_size
    tok = AutoTokenizer.from_pretrained(model_path, revision=spec.revision, trust_remote_code=spec.trust_remote_code)
    enc = Encoder(tok, max_length)
    train_stats, val_stats = PairStats(), PairStats()
    train_ds = tokenize_pairs(enc, train_pairs, train_stats)
    val_ds = tokenize_pairs(enc, val_pairs, val_stats)

    set_seed(cfg.seed)  # before loading: the score head is initialised randomly
    model = AutoModelForSequenceClassification.from_pretrained(
        model_path, num_labels=1, dtype=hf.model_dtype(cfg.bf16), revision=spec.revision,
        trust_remote_code=spec.trust_remote_code)
    model.config.pad_token_id = tok.pad_token_id
    params = hf.train_last_blocks(model, mcfg.trainable_blocks)
    args = RewardConfig(**hf.common_args(out_dir, lr, mcfg, cfg, per_device), max_length=max_length,
                        metric_for_best_model="eval_accuracy", greater_is_better=True,
                        disable_dropout=True)
    trainer = RewardTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds,
                            processing_class=tok, callbacks=[hf.EvalAtEnd(), *callbacks])
    info = hf.train_and_save(trainer, tok, out_dir, "eval_accuracy")
    return {**info, "best_eval_accuracy": trainer.state.best_metric, "parameters": params,
            "train_pairs": vars(train_stats), "val_pairs": vars(val_stats)}
