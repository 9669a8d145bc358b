"""The full real-weights run of configs/real-cpu.yaml, one step at a time, with each step's wall time and peak
memory, then the report docs/real-run.md quotes.

    python bench/real_run.py                       # fetch, convert, MMLU and train both models, then publish
    python bench/real_run.py --models HuggingFaceTB/SmolLM2-135M-Instruct   # one model
    python bench/real_run.py --report-only         # the report from what an earlier run left in work_dir
    python bench/real_run.py --hh /path/to/harmless-base-test.jsonl.gz --work-dir /big/disk/real-cpu

Each step is its own process (``python -m pipeline.run`` with the config cut to that step and model), so its
peak resident memory (``os.wait4``) is the step's own: fetch; per model, the GGUF conversion, lm-eval MMLU
(benchmarks stage) and Bradley-Terry training with the held-out scoring (train stage); finally the whole
config once more, which finds every step done (cached under work_dir) and publishes the database. A step
that fails stops the run; rerunning resumes (finished work is skipped). Run with ``nice -n 19`` on a shared
machine. The report: held-out pair accuracy of each RM and of its untrained head with Wilson 95% CIs
(against 0.5) and the paired 95% CI of their difference; MMLU accuracy (both prompts) with Wilson CIs;
per step wall time and peak memory. Written as JSON to <work_dir>/real_run.json and printed as markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.predict.evaluation import wilson  # noqa: E402
from pipeline.train import rewardbench as rbs  # noqa: E402

CONFIG = ROOT / "configs" / "real-cpu.yaml"


def run_step(name: str, cmd: list[str], log: Path) -> dict:
    """Run ``cmd`` (output appended to ``log``); its wall time and peak RSS (this child's own, os.wait4)."""
    t = time.perf_counter()
    with log.open("a") as fh:
        fh.write(f"\n===== {name}: {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)  # noqa: S603 - our interpreter
        _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    row = {"step": name, "seconds": round(time.perf_counter() - t, 1), "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2),
           "exit": code}
    print(f"{name}: {row['seconds']:.0f} s, peak {row['peak_rss_gb']:.2f} GB, exit {code}", flush=True)
    if code != 0:
        sys.exit(f"step {name} failed (exit {code}); see {log}")
    return row


def cut(raw: dict, stages: list[str], models: list[str] | None) -> dict:
    """The config with only ``stages`` and, in train and benchmarks, only ``models`` (ids)."""
    out = json.loads(json.dumps(raw))
    out["stages"] = stages
    for section in ("train", "benchmarks"):
        if models is not None:
            out[section]["models"] = [m for m in out[section]["models"] if m["id"] in models]
    return out


def pipeline_step(name: str, raw: dict, stages: list[str], models, work: Path, log: Path, subset: bool) -> dict:
    path = work / "bench-configs" / f"{name.replace('/', '__').replace(' ', '-')}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cut(raw, stages, models), sort_keys=False))
    cmd = [sys.executable, "-m", "pipeline.run", "--config", str(path)]
    return run_step(name, cmd + (["--stages", ",".join(stages)] if subset else []), log)


def convert_step(model: dict, work: Path, log: Path) -> dict:
    code = ("import sys; from pipeline.config import validate; from pipeline.models import ModelSpec; "
            f"print(validate(ModelSpec, {model!r}, 'bench').resolve_path({str(work)!r}))")
    return run_step(f"convert {model['id']}", [sys.executable, "-c", code], log)


def report(raw: dict, work: Path, db: Path) -> dict:
    """Held-out accuracies (pair_results), MMLU (lm-eval results files), step timings (done.json, heldout.json)."""
    import duckdb

    out = {"heldout": [], "mmlu": [], "trials": []}
    con = duckdb.connect(str(db), read_only=True)
    for hf_id, subset, n, k, ku, b, c in con.execute(
            "SELECT hf_id, subset, n, correct, untrained_correct, trained_only, untrained_only FROM pair_results "
            "ORDER BY hf_id").fetchall():
        out["heldout"].append({"model": hf_id, "subset": subset, "n": n, "accuracy": k / n, "ci": wilson(k, n),
                               "untrained": ku / n, "untrained_ci": wilson(ku, n),
                               "difference": (k - ku) / n, "difference_ci": rbs.paired_difference_ci(b, c, n)})
    con.close()
    for f in sorted((work / "lm_eval").rglob("results_*.json")):
        doc = json.loads(f.read_text())
        model = f.relative_to(work / "lm_eval").parts[0]
        for task, res in sorted(doc["results"].items()):
            n = doc["n-samples"][task]["effective"]
            for metric in ("acc", "acc_norm"):
                if f"{metric},none" in res:
                    v = res[f"{metric},none"]
                    out["mmlu"].append({"model": model, "task": task, "metric": metric, "n": n, "value": v,
                                        "ci": wilson(round(v * n), n)})
    for f in sorted((work / "train").rglob("done.json")):
        d = json.loads(f.read_text())
        held = f.parent / "heldout.json"
        out["trials"].append({"model": d["model"], "lr": d["learning_rate"], "steps": d["steps"],
                              "train_seconds": d.get("train_seconds"), "val_accuracy": d["val_accuracy"],
                              "best_checkpoint": d["best_checkpoint"], "train_kept": d["train_pairs"]["kept"],
                              "too_long_dropped": d["train_pairs"]["too_long_dropped"],
                              "trainable": d.get("parameters"),
                              "heldout_seconds": json.loads(held.read_text())["seconds"] if held.exists() else None})
    return out


def markdown(res: dict) -> str:
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731
    ci = lambda c: f"[{pct(c[0])}, {pct(c[1])}]"  # noqa: E731
    lines = ["| model | held-out pairs | RM accuracy [95% CI] | untrained head [95% CI] | difference [paired 95% CI] |",
             "|---|---|---|---|---|"]
    lines += [f"| {h['model']} | {h['n']} | {pct(h['accuracy'])} {ci(h['ci'])} | {pct(h['untrained'])} "
              f"{ci(h['untrained_ci'])} | {100 * h['difference']:+.1f} [{100 * h['difference_ci'][0]:+.1f}, "
              f"{100 * h['difference_ci'][1]:+.1f}] |" for h in res["heldout"]]
    lines += ["", "| model | task | metric | n | accuracy [95% CI] |", "|---|---|---|---|---|"]
    lines += [f"| {m['model']} | {m['task']} | {m['metric']} | {m['n']} | {pct(m['value'])} {ci(m['ci'])} |"
              for m in res["mmlu"]]
    lines += ["", "| step | wall time | peak memory |", "|---|---|---|"]
    lines += [f"| {s['step']} | {s['seconds']:.0f} s | {s['peak_rss_gb']:.2f} GB |" for s in res.get("steps", [])]
    lines += ["", "| model | LR | steps | pairs kept (dropped > max_length) | training | val acc | held-out scoring |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {t['model']} | {t['lr']:g} | {t['steps']} | {t['train_kept']} ({t['too_long_dropped']}) | "
              f"{t['train_seconds'] or 0:.0f} s | {pct(t['val_accuracy'])} | {t['heldout_seconds'] or 0:.0f} s |"
              for t in res["trials"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=str(CONFIG))
    p.add_argument("--hh", help="the HH pairs file (default: the config's train.data.hh_pairs)")
    p.add_argument("--work-dir", help="default: the config's work_dir")
    p.add_argument("--db", help="default: <work_dir>/real.duckdb (not the app's database)")
    p.add_argument("--models", help="comma-separated model ids (default: every model of the config)")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args(argv)
    raw = yaml.safe_load(Path(args.config).read_text())
    work = Path(args.work_dir or ROOT / raw["work_dir"]).resolve()
    db = Path(args.db or work / "real.duckdb").resolve()
    raw.update(work_dir=str(work), db=str(db))
    if args.hh:
        raw["train"]["data"]["hh_pairs"] = str(Path(args.hh).resolve())
    models = args.models.split(",") if args.models else [m["id"] for m in raw["train"]["models"]]
    work.mkdir(parents=True, exist_ok=True)
    log, steps = work / "real_run.log", []
    if not args.report_only:
        steps.append(pipeline_step("fetch", raw, ["fetch"], None, work, log, subset=False))
        for m in (m for m in raw["train"]["models"] if m["id"] in models):
            steps.append(convert_step(m, work, log))
            steps.append(pipeline_step(f"MMLU {m['id']}", raw, ["benchmarks"], [m["id"]], work, log, subset=True))
            steps.append(pipeline_step(f"train {m['id']}", raw, ["train"], [m["id"]], work, log, subset=True))
        steps.append(pipeline_step("publish (every step cached)", raw, raw["stages"], models, work, log, subset=False))
    res = {**report(raw, work, db), "steps": steps, "load_average": os.getloadavg()}
    (work / "real_run.json").write_text(json.dumps(res, indent=1, default=str))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
