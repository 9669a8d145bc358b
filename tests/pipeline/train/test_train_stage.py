"""The train stage end to end on a tiny model (database rows, rerun skips), and resume after a killed trial."""

import json

import duckdb
import pytest
import yaml
from transformers import TrainerCallback

from pipeline import config
from pipeline import run as runner
from pipeline.errors import InputError
from pipeline.models import ModelSpec
from pipeline.train.config import TrainConfig
from pipeline.train.fixtures import write_fixtures
from pipeline.train.stage import Datasets, run_trial

HP = dict(epochs=1, global_batch_size=8, per_device_batch_size=4, warmup_steps=1, eval_steps=4, max_length=128)


@pytest.mark.slow  # trains three trials and scores RewardBench
def test_stage_writes_results_and_rerun_skips(tmp_path, capsys):
    cfg = {"db": str(tmp_path / "t.duckdb"), "work_dir": str(tmp_path / "work"), "stages": ["train"],
           "train": {"models": [{"id": "local/tiny-llama", "tiny": "llama"}], "data": {"fixtures": True},
                     "bf16": False, "bradley_terry": {**HP, "learning_rates": [3e-3]},
                     "regression": {**HP, "learning_rates": [3e-3, 1e-2]}}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert runner.main(["--config", str(path)]) == 0
    con = duckdb.connect(cfg["db"], read_only=True)
    rm = con.execute("SELECT method, chat, chat_hard, safety, reasoning, score, source, run_id, config FROM rm_results "
                     "ORDER BY method").fetchall()
    run_id = con.execute("SELECT run_id FROM runs").fetchone()[0]
    assert [r[0] for r in rm] == ["bradley_terry", "regression"]
    for r in rm:
        assert r[6] == "pipeline" and r[7] == run_id and all(0 <= x <= 100 for x in r[1:6])
        assert r[5] == pytest.approx(sum(r[1:5]) / 4)
        assert json.loads(r[8])["model"]["id"] == "local/tiny-llama"
    assert con.execute("SELECT count(*), count(DISTINCT subset) FROM rewardbench_subsets").fetchone() == (46, 23)
    trials = con.execute("SELECT method, learning_rate, selected FROM training_trials ORDER BY 1, 2").fetchall()
    assert len(trials) == 3 and sum(t[2] for t in trials) == 2
    mv = con.execute("SELECT w_helpfulness, w_verbosity, n_pairs, tie_rule FROM merge_vectors").fetchall()
    assert len(mv) == 2 and all(m[0] >= 0 and m[1] <= 0 and m[2] > 0 and "lexicographic" in m[3] for m in mv)
    model = con.execute("SELECT params_b, in_paper, source, size_group FROM models "
                        "WHERE hf_id = 'local/tiny-llama'").fetchone()
    assert model[0] > 0 and model[1] is False and model[2] == "pipeline" and model[3] == "<3B"
    first = rm
    con.close()
    capsys.readouterr()

    assert runner.main(["--config", str(path)]) == 0  # a rerun trains nothing and rescores nothing
    out = capsys.readouterr().out
    assert out.count("done before, skipped") == 3 and out.count("RewardBench from cache") == 2
    con = duckdb.connect(cfg["db"], read_only=True)
    again = con.execute("SELECT method, chat, chat_hard, safety, reasoning, score FROM rm_results "
                        "ORDER BY method").fetchall()
    assert again == [r[:6] for r in first]
    assert con.execute("SELECT count(*) FROM rm_results").fetchone()[0] == 2  # replaced, not duplicated


class Killed(RuntimeError):
    pass


class KillAfterFirstCheckpoint(TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        raise Killed(f"killed after checkpoint {state.global_step}")


def test_killed_trial_resumes_from_its_checkpoint(tmp_path, tiny_models):
    fx = {k: str(v) for k, v in write_fixtures(tmp_path / "fx").items()}
    cfg = TrainConfig(bf16=False, bradley_terry={**HP, "learning_rates": [3e-3]})
    mcfg, spec = cfg.bradley_terry, ModelSpec(id="t")
    data, tdir = Datasets(fx, cfg), tmp_path / "trial"
    with pytest.raises(Killed):
        run_trial("bradley_terry", str(tiny_models["llama"]), 3e-3, tdir, data, mcfg, cfg, spec, print,
                  callbacks=[KillAfterFirstCheckpoint()])
    assert (tdir / "checkpoints" / "checkpoint-4").is_dir() and not (tdir / "done.json").exists()
    info = run_trial("bradley_terry", str(tiny_models["llama"]), 3e-3, tdir, data, mcfg, cfg, spec, print)
    assert info["resumed_from"].endswith("checkpoint-4")
    assert info["steps"] == -(-info["train_pairs"]["kept"] // 8)
    assert json.loads((tdir / "done.json").read_text())["val_accuracy"] == info["val_accuracy"]


def _train_section(data: dict) -> TrainConfig:
    return config.section(TrainConfig, {"train": data}, "train", "c.yaml").check("c.yaml")


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(InputError, match=r"c.yaml, field 'train.models.0.tiny': 'gpt2' is not valid.*"
                                         r"Fix: train.models.0.tiny should be 'llama' or 'qwen2'"):
        _train_section({"models": [{"id": "a/b", "tiny": "gpt2"}]})
    with pytest.raises(InputError, match=r"unknown key 'lr' in section 'train.bradley_terry'.*learning_rates"):
        _train_section({"bradley_terry": {"lr": 1}})
    with pytest.raises(InputError, match="not a multiple"):
        _train_section({"regression": {"global_batch_size": 64, "per_device_batch_size": 6}})
    with pytest.raises(InputError, match=r"field 'train.models'.*train does not use 'dtype'"):
        _train_section({"models": [{"id": "a/b", "dtype": "float16"}]})
    with pytest.raises(InputError, match=r"train.models lists 'a/b' twice"):
        _train_section({"models": ["a/b", {"id": "a/b"}]})
    # defaults per method: the paper's grids and epochs, a partial section keeps the rest
    cfg = _train_section({"bradley_terry": {"epochs": 3}})
    assert cfg.bradley_terry.epochs == 3.0 and cfg.bradley_terry.learning_rates[0] == 5e-7
    assert cfg.regression.epochs == 2.0 and cfg.regression.learning_rates[0] == 1e-6


@pytest.mark.slow  # trains a trial and scores the held-out pairs twice
def test_hh_pairs_train_select_and_score_the_held_out_part_outside_rewardbench(tmp_path, capsys):
    from pipeline.train.fixtures import write_hh_fixture

    hh = write_hh_fixture(tmp_path / "hh.jsonl", n=120)
    cfg = {"db": str(tmp_path / "t.duckdb"), "work_dir": str(tmp_path / "work"), "stages": ["train"],
           "train": {"models": [{"id": "local/tiny-llama", "tiny": "llama"}], "methods": ["bradley_terry"],
                     "bf16": False, "data": {"hh_pairs": str(hh), "hh_subset": "hh-fixture", "rewardbench": None,
                                             "hh_split": {"train": 64, "validation": 16, "test": 40, "seed": 3}},
                     "bradley_terry": {**HP, "learning_rates": [3e-3], "trainable_blocks": 1}}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert runner.main(["--config", str(path)]) == 0
    con = duckdb.connect(cfg["db"], read_only=True)
    assert con.execute("SELECT count(*) FROM rm_results").fetchone()[0] == 0  # not RewardBench: never there
    row = con.execute("SELECT subset, n, correct, accuracy, untrained_correct, trained_only - untrained_only, "
                      "source FROM pair_results").fetchone()
    assert row[0] == "hh-fixture" and row[1] == 40 and row[3] == row[2] / 40 and row[6] == "pipeline"
    assert row[5] == row[2] - row[4]  # the discordant counts explain the difference
    trial = con.execute("SELECT train_kept, val_accuracy, config FROM training_trials").fetchone()
    assert trial[0] <= 64 and json.loads(trial[2])["heldout_pairs"] == 40
    assert con.execute("SELECT source FROM models WHERE hf_id = 'local/tiny-llama'").fetchone()[0] == "pipeline"
    con.close()
    scores = json.loads(next((tmp_path / "work" / "train").rglob("heldout.json")).read_text())["scores"]
    assert sum(c > r for c, r in zip(scores["chosen"], scores["rejected"])) == row[2]
    capsys.readouterr()
    assert runner.main(["--config", str(path)]) == 0
    assert "held-out pairs from cache" in capsys.readouterr().out
