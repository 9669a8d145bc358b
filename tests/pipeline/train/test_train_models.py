"""Bradley-Terry and regression training on tiny models: the loss goes down on a learnable toy task;
batched scoring equals one-at-a-time scoring (padding and last-token pooling are right)."""

import numpy as np
import pytest

from pipeline.models import ModelSpec
from pipeline.train import bradley_terry, regression
from pipeline.train import rewardbench as rbs
from pipeline.train.config import TrainConfig
from pipeline.train.data import load_table, preference_pairs
from pipeline.train.fixtures import write_fixtures

HP = dict(epochs=1, global_batch_size=8, per_device_batch_size=4, warmup_steps=1, eval_steps=4, max_length=96)


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return write_fixtures(tmp_path_factory.mktemp("fx"))


def _scorer(path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    return AutoModelForSequenceClassification.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def test_bradley_terry_learns_the_toy_preference(fx, tiny_models, tmp_path):
    pref = str(fx["helpsteer2_preference"])
    train = preference_pairs(load_table(pref, "helpsteer2_preference", "train"))
    val = preference_pairs(load_table(pref, "helpsteer2_preference", "val"))
    cfg = TrainConfig(bf16=False, bradley_terry={**HP, "learning_rates": [3e-3]})
    mcfg = cfg.bradley_terry
    info = bradley_terry.train(str(tiny_models["llama"]), train, val, 3e-3, tmp_path, mcfg, cfg, ModelSpec(id="t"))
    eval_loss = [h["eval_loss"] for h in info["eval_history"]]
    assert len(eval_loss) >= 3 and info["steps"] == -(-info["train_pairs"]["kept"] // 8)  # last step evaluated too
    assert min(eval_loss) < np.log(2) - 0.15  # an untrained RM sits at -log sigmoid(0) = log 2
    model, tok = _scorer(info["final"])
    s, _ = rbs.score(model, tok, list(val["prompt"]) * 2, list(val["chosen"]) + list(val["rejected"]), 8, 96)
    n = len(val)
    assert rbs.pair_accuracy(s[:n, 0], s[n:, 0]) >= 0.7  # 15% of fixture labels are flipped on purpose
    assert info["train_pairs"]["kept"] + info["train_pairs"]["too_long_dropped"] == len(train)


def test_regression_loss_decreases(fx, tiny_models, tmp_path):
    hs2 = str(fx["helpsteer2"])
    cfg = TrainConfig(bf16=False, regression={**HP, "epochs": 2, "learning_rates": [3e-3]})
    mcfg = cfg.regression
    info = regression.train(str(tiny_models["qwen2"]), load_table(hs2, "helpsteer2", "train"),
                            load_table(hs2, "helpsteer2", "validation"), 3e-3, tmp_path, mcfg, cfg, ModelSpec(id="t"))
    mse = [h["eval_loss"] for h in info["eval_history"]]
    assert info["steps"] == 2 * -(-info["train_examples"]["kept"] // 8) and mse[-1] < mse[0] / 2
    assert info["best_eval_mse"] == pytest.approx(min(mse))
    model, _ = _scorer(info["final"])
    assert model.config.num_labels == 5 and model.config.problem_type == "regression"


def test_batched_scoring_equals_single(tiny_models):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = tiny_models["qwen2"]
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    tok = AutoTokenizer.from_pretrained(path)
    prompts = ["short", "a much longer prompt about numpy arrays and the sea", "mid length one"]
    responses = ["ok", "a long long response about photosynthesis in chloroplasts", "4"]
    batched, _ = rbs.score(model, tok, prompts, responses, batch_size=3)
    single = np.concatenate([rbs.score(model, tok, [p], [r], batch_size=1)[0] for p, r in zip(prompts, responses)])
    assert np.allclose(batched, single, atol=1e-5)
    assert len(set(np.round(batched[:, 0], 6))) == 3
