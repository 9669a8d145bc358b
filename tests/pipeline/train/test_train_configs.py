"""configs/paper.yaml lists the paper's 40 models with its exact hyper-parameters; smoke.yaml runs every stage."""

import pandas as pd

from pipeline import config, stages


def _train(root, name):
    cfg = config.load(root / "configs" / name)
    return cfg.raw, cfg.section("train")


def test_paper_config_is_the_papers_setup(root):
    _, cfg = _train(root, "paper.yaml")
    specs = cfg.models
    assert [s.id for s in specs] == pd.read_csv(root / "data" / "paper" / "models.csv")["hf_id"].tolist()
    assert [s.id for s in specs if s.trust_remote_code] == ["microsoft/Phi-3-small-8k-instruct"]
    bt, reg = cfg.method("bradley_terry"), cfg.method("regression")
    assert sorted(bt.learning_rates) == sorted([float(f"{k}e-7") for k in (5, 6, 7, 8, 9)]
                                               + [float(f"{k}e-6") for k in (1, 2, 3, 4, 5)])
    assert sorted(reg.learning_rates) == sorted([float(f"{k}e{e}") for k in (1, 3, 5, 7, 9) for e in (-6, -7)])
    for m, epochs in ((bt, 1), (reg, 2)):
        assert (m.epochs, m.global_batch_size, m.warmup_steps, m.eval_steps) == (epochs, 64, 20, 20)
    assert cfg.bf16 and cfg.data.fixtures is False


def test_smoke_config_runs_every_stage_on_tiny_models(root):
    raw, cfg = _train(root, "smoke.yaml")
    assert raw["stages"] == stages.names()
    assert {s.tiny for s in cfg.models} == {"llama", "qwen2"}
    assert cfg.data.fixtures and set(cfg.methods) == {"bradley_terry", "regression"}
