"""Bradley-Terry and regression training on tiny models: the loss goes down on a learnable toy task;
batched scoring equals one-at-a-time scoring (padding and last-token pooling are right)."""

import numpy as np
import pytest
from transformers import TrainerCallback

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


class HeadAtStart(TrainerCallback):
    """Keeps the score head's weights as training starts."""

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.head = model.score.weight.detach().clone()


def test_training_the_last_block_leaves_the_others_and_starts_from_the_untrained_head(fx, tiny_models, tmp_path):
    from transformers import AutoModelForSequenceClassification

    from pipeline.train.stage import _untrained_scorer

    pref = str(fx["helpsteer2_preference"])
    train = preference_pairs(load_table(pref, "helpsteer2_preference", "train"))
    val = preference_pairs(load_table(pref, "helpsteer2_preference", "val"))
    cfg = TrainConfig(bf16=False, bradley_terry={**HP, "learning_rates": [3e-3], "trainable_blocks": 1})
    start = HeadAtStart()
    path = str(tiny_models["llama"])
    info = bradley_terry.train(path, train, val, 3e-3, tmp_path, cfg.bradley_terry, cfg, ModelSpec(id="t"),
                               callbacks=[start])
    base = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1).state_dict()
    trained = AutoModelForSequenceClassification.from_pretrained(info["final"]).state_dict()
    changed = {k for k in base if not np.allclose(base[k].numpy(), trained[k].numpy())}
    assert changed and all(k.startswith(("model.layers.1.", "model.norm.", "score.")) for k in changed), changed
    assert any(k.startswith("model.layers.1.") for k in changed) and "score.weight" in changed
    assert info["parameters"]["trainable"] < info["parameters"]["total"]
    # the baseline the held-out pairs compare against is the head training started from, exactly
    untrained, _ = _untrained_scorer(path, ModelSpec(id="t"), cfg)
    assert np.array_equal(untrained.score.weight.detach().numpy(), start.head.numpy())


def test_too_many_trainable_blocks_is_refused(tiny_models):
    from transformers import AutoModelForSequenceClassification

    from pipeline.train import hf

    model = AutoModelForSequenceClassification.from_pretrained(tiny_models["qwen2"], num_labels=1)
    with pytest.raises(ValueError, match="trainable_blocks 3 is more than the model's 2 blocks"):
        hf.train_last_blocks(model, 3)
    assert hf.train_last_blocks(model, None)["trainable"] == hf.train_last_blocks(model, None)["total"]


def test_compare_heads_counts_each_head_and_the_discordant_pairs():
    t = (np.array([2.0, 1, 0, 5]), np.array([1.0, 2, 0, 4]))  # right, wrong, tie (wrong), right
    u = (np.array([0.0, 3, 1, 1]), np.array([1.0, 2, 0, 2]))  # wrong, right, right, wrong
    row = rbs.compare_heads(["s"] * 4, t, u).iloc[0]
    assert (row.n, row.correct, row.untrained_correct, row.trained_only, row.untrained_only) == (4, 2, 2, 2, 2)
    assert row.accuracy == 0.5 and row.untrained_accuracy == 0.5


def test_paired_difference_ci_matches_a_hand_computation():
    lo, hi = rbs.paired_difference_ci(30, 10, 100)
    se = np.sqrt(40 - 400 / 100) / 100  # b + c - (b - c)^2 / n = 36
    assert (lo, hi) == pytest.approx((0.2 - 1.959964 * se, 0.2 + 1.959964 * se))
    assert rbs.paired_difference_ci(0, 0, 50) == (0.0, 0.0)  # identical heads: no difference, no spread
