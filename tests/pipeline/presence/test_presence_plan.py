"""``python -m pipeline.run --stages presence --plan``: expected documents, tokens and GPU-hours from the
measured throughput table, full corpus against the sequential rule; nothing scored or published."""

import shutil
from pathlib import Path

import pytest
import yaml

from pipeline import run
from pipeline.errors import InputError
from pipeline.presence import plan as plan_mod
from pipeline.presence.config import PresenceConfig

ROOT = Path(__file__).resolve().parents[3]
BENCH = ("shapes,docs_per_subset,models,noise,seeds,tol_jsd,tol_mean,tol_hist,mean_docs_at_stop,median_docs_at_stop,"
         "p90_docs_at_stop,max_docs_at_stop,mean_rounds,agreement\n"
         "fig7,200000,3,0.12,100,0.01,0.02,0.01,80000,70000,110000,120000,3.0,99\n"
         "fig7,200000,20,0.12,5,0.01,0.02,0.01,150000,70000,110000,120000,4.0,5\n"
         "fig7-noisy,200000,3,0.25,10,0.01,0.02,0.01,99000,70000,110000,120000,3.0,10\n")  # test values
HUB = {"source": "hub"}


def _setup(tmp_path, **presence):
    data = tmp_path / "data"
    (data / "presence").mkdir(parents=True)
    (data / "paper").mkdir()
    shutil.copy(ROOT / "data" / "presence" / "throughput.csv", data / "presence")
    shutil.copy(ROOT / "data" / "paper" / "models.csv", data / "paper")
    (data / "presence" / "sequential_bench.csv").write_text(BENCH)
    sec = dict(models=["meta-llama/Llama-3.1-8B-Instruct", {"id": "me/small", "params_b": 0.494}, "me/unknown"],
               corpus=dict(source="hub", docs_per_subset=200_000), scoring=dict(compile=True, max_tokens=2048))
    sec.update(presence)
    cfg = {"db": str(tmp_path / "db.duckdb"), "data_dir": str(data), "work_dir": str(tmp_path / "work"),
           "stages": ["presence"], "presence": sec}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, data


def test_plan_numbers_follow_the_measured_table(tmp_path):
    _, data = _setup(tmp_path)
    cfg = PresenceConfig(models=["meta-llama/Llama-3.1-8B-Instruct", {"id": "me/small", "params_b": 0.494},
                                 "me/unknown"], corpus=HUB, scoring={"compile": True}).check()
    df, info = plan_mod.plan(cfg, data)
    df = df.set_index("model")
    tok_doc = (1172 + 1150) / 2  # the two measured sizes' bench mean lengths
    big, small = df.loc["meta-llama/Llama-3.1-8B-Instruct"], df.loc["me/small"]
    assert big.params_b == 8.03 and big.docs_full == 1_000_000 and big.docs_sequential == 80_000
    assert big.gpu_h_full == pytest.approx((1e6 * tok_doc / 33805 + 145) / 3600)
    assert big.gpu_h_full_cap == pytest.approx((1e6 * 2048 / 33805 + 145) / 3600)
    assert big.gpu_h_sequential == pytest.approx((80_000 * tok_doc / 33805 + 3 * 145) / 3600)
    assert small.gpu_h_full == pytest.approx((1e6 * tok_doc / 319048 + 113) / 3600)
    # between the measured sizes: the same parameters x tokens/s, interpolated in log(size)
    rate, *_ = plan_mod.tokens_per_s(plan_mod._read(data, plan_mod.THROUGHPUT), 2.0, "all")
    assert 0.494 * 319048 < 2.0 * rate < 8.03 * 33805
    assert "size unknown" in df.loc["me/unknown", "note"]
    # a tolerance twice as tight needs four times the documents (capped by the corpus)
    tight = PresenceConfig(models=["m"], corpus=HUB, sequential={"tol_jsd": 0.005}).check()
    assert plan_mod.expected_docs_per_subset(tight, plan_mod._read(data, plan_mod.SEQUENTIAL))[0] == 64_000
    many = PresenceConfig(models=[f"m{i}" for i in range(15)], corpus=HUB).check()  # nearest: the 20-model row
    assert plan_mod.expected_docs_per_subset(many, plan_mod._read(data, plan_mod.SEQUENTIAL)) == (30_000, 4.0)
    off = PresenceConfig(models=["m"], corpus=HUB, sequential={"max_rounds": 1}).check()  # one round
    assert plan_mod.expected_docs_per_subset(off, plan_mod._read(data, plan_mod.SEQUENTIAL))[0] == 200_000


def test_plan_flag_prints_and_publishes_nothing(tmp_path, capsys):
    path, _ = _setup(tmp_path)
    assert run.main(["--config", str(path), "--stages", "presence", "--plan"]) == 0
    out = capsys.readouterr().out
    assert "nothing is scored or published" in out and "total (2 of 3 models with a size)" in out
    assert "me/unknown" in out and "an estimate" in out
    assert not (tmp_path / "db.duckdb").exists() and not (tmp_path / "work").exists()
    with pytest.raises(InputError, match="--stages presence"):
        plan_mod.print_plan(__import__("pipeline.config", fromlist=["load"]).load(path), ["ingest"])


def test_paper_config_plan_runs_on_the_shipped_tables(capsys):
    assert run.main(["--config", str(ROOT / "configs" / "paper.yaml"), "--stages", "presence", "--plan"]) == 0
    out = capsys.readouterr().out
    assert "LLM360/Crystal" in out and "total (25 of 26 models with a size)" in out
