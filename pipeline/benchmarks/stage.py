"""Benchmark stage: run lm-evaluation-harness (Python API) on each model of the config's ``benchmarks:``
section for each task set, save the standard ``results_*.json`` and ingest it into ``benchmark_scores``.

Layout: ``work_dir/lm_eval/<model>/<task set>-<key>/shots-<n>/results_<date>.json`` (+ ``.meta`` with
the hf_id and task map, so the ingest stage re-ingests it on every rebuild). ``<key>`` hashes what
changes the numbers (tasks, shots, chat settings, limit, dtype, revision, path): a finished
(model, task set, key) is skipped on rerun, a changed one runs again beside the old results (both are
kept; the newest evaluation wins where one value is needed).

EvalPlus (HumanEval+, MBPP+) runs only where the ``evalplus`` package and a CUDA GPU are available;
otherwise the stage says so and goes on. Its result files are ingested either way.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from pipeline import runtime
from pipeline.benchmarks.config import BenchmarksConfig, model_dtype
from pipeline.benchmarks.tasks import TaskSet, load_task_set, prepare_include_path, resolve_task_set
from pipeline.ingest.lmeval_json import ingest_file, write_meta
from pipeline.models import ModelSpec, safe_name


def run_key(ts: TaskSet, cfg: BenchmarksConfig, m: ModelSpec) -> str:
    # a tiny model is rebuilt identically from (id, arch), a GGUF model from its file's hash: the key names
    # those, not where it was built
    path = m.path or (f"{m.id} (tiny {m.tiny})" if m.tiny else f"{m.id} (gguf {m.sha256})" if m.gguf else m.id)
    return ts.key(limit=cfg.limit, dtype=model_dtype(m), revision=m.revision, path=path)


def batch_dir(run_dir: Path, shots: int | None) -> Path:
    return run_dir / f"shots-{'default' if shots is None else shots}"


def finished(d: Path) -> bool:
    return any(d.glob("results_*.json"))


class LazyModel:
    """The lm-eval HFLM for one model, loaded on first use (a fully finished rerun loads nothing)."""

    def __init__(self, m: ModelSpec, cfg: BenchmarksConfig, device: str, load_path: str):
        self.m, self.cfg, self.device, self.load_path, self._lm = m, cfg, device, load_path, None

    @property
    def model_args(self) -> str:
        args = [f"pretrained={self.load_path}", f"dtype={model_dtype(self.m)}"]
        if self.m.revision:
            args.append(f"revision={self.m.revision}")
        if self.m.trust_remote_code:
            args.append("trust_remote_code=True")
        return ",".join(args)

    def get(self):
        if self._lm is None:
            from lm_eval.models.huggingface import HFLM

            kwargs = dict(pretrained=self.load_path, dtype=model_dtype(self.m), device=self.device,
                          batch_size=self.cfg.batch_size, trust_remote_code=self.m.trust_remote_code)
            if self.m.revision:
                kwargs["revision"] = self.m.revision
            if self.m.max_length or self.cfg.max_length:
                kwargs["max_length"] = self.m.max_length or self.cfg.max_length
            self._lm = HFLM(**kwargs)
        return self._lm


def run_task_set(ctx, lm: LazyModel, ts: TaskSet, run_dir: Path, cfg: BenchmarksConfig, task_manager) -> list[Path]:
    """Run every unfinished shots-batch of ``ts``; return all results files of the run."""
    import lm_eval
    from lm_eval.loggers import EvaluationTracker

    files = []
    for shots, tasks in ts.batches().items():
        d = batch_dir(run_dir, shots)
        if finished(d):
            ctx.log(f"  {lm.m.id} / {ts.name} / {shots}-shot: finished earlier, skipped")
        else:
            ctx.log(f"  {lm.m.id} / {ts.name} / {shots}-shot: lm-eval on {', '.join(tasks)}"
                    + (f" (limit {cfg.limit})" if cfg.limit else ""))
            d.mkdir(parents=True, exist_ok=True)
            tracker = EvaluationTracker(output_path=str(d / "results.json"))
            res = lm_eval.simple_evaluate(
                model=lm.get(), model_args=lm.model_args, tasks=tasks, num_fewshot=shots,
                limit=cfg.limit, bootstrap_iters=cfg.bootstrap_iters, task_manager=task_manager,
                evaluation_tracker=tracker, log_samples=False,
                apply_chat_template=ts.apply_chat_template, fewshot_as_multiturn=ts.fewshot_as_multiturn,
                system_instruction=ts.system_instruction, random_seed=cfg.seed % 2**31,
                numpy_random_seed=cfg.seed, torch_random_seed=cfg.seed, fewshot_random_seed=cfg.seed)
            if res is None:  # not rank 0
                continue
            res.pop("samples", None)
            tracker.save_results_aggregated(results=res, samples=None)
        for f in sorted(d.glob("results_*.json")):
            write_meta(f, hf_id=lm.m.id, task_map=ts.task_map(), task_set=ts.name)
            files.append(f)
    return files


def evalplus_status(device: str) -> str | None:
    """None when EvalPlus can run here, else the plain reason it cannot."""
    if importlib.util.find_spec("evalplus") is None:
        return "the 'evalplus' package is not installed (pip install evalplus)"
    if not device.startswith("cuda"):
        return "no CUDA GPU (EvalPlus code generation is only run on a GPU)"
    return None


def run_evalplus(ctx, m: ModelSpec, load_path: str, datasets: list[str], out_dir: Path) -> list[Path]:
    """``python -m evalplus.evaluate`` (greedy, hf backend) per dataset; returns its result files."""
    files = []
    for ds in datasets:
        d = out_dir / ds
        done = sorted(d.rglob("*eval_results.json"))
        if done:
            ctx.log(f"  {m.id} / EvalPlus {ds}: finished earlier, skipped")
        else:
            d.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "evalplus.evaluate", "--model", load_path, "--dataset", ds,
                   "--backend", "hf", "--greedy", "--root", str(d)]
            if m.trust_remote_code:
                cmd += ["--trust_remote_code", "True"]
            ctx.log(f"  {m.id} / EvalPlus {ds}: {' '.join(cmd)}")
            proc = subprocess.run(cmd, capture_output=True, text=True)  # noqa: S603 - our interpreter; args from the config
            if proc.returncode != 0:
                ctx.log(f"  EvalPlus {ds} failed (exit {proc.returncode}); not ingested. "
                        f"Last output: {proc.stderr.strip()[-500:]}")
                continue
            done = sorted(d.rglob("*eval_results.json"))
        for f in done:
            write_meta(f, hf_id=m.id)
            files.append(f)
    return files


def run(ctx) -> None:
    cfg: BenchmarksConfig = ctx.section("benchmarks")
    file = ctx.config.path or "config"
    models = cfg.models
    if not models:
        ctx.log("  benchmarks: no models in the config's 'benchmarks: models:' list; nothing to run")
        return
    sets = [load_task_set(resolve_task_set(str(r), file)) for r in cfg.task_sets]
    device = runtime.resolve_device(cfg.device, "benchmarks.device", file)
    root = ctx.work_dir / "lm_eval"
    task_manager = None
    total = 0
    for m in models:
        load_path = m.resolve_path(ctx.work_dir, ctx.config.resolve)  # a tiny model: built on first use
        lm = LazyModel(m, cfg, device, load_path)
        model_dir = root / safe_name(m.id)
        for ts in sets:
            run_dir = model_dir / f"{ts.name}-{run_key(ts, cfg, m)}"
            if any(not finished(batch_dir(run_dir, s)) for s in ts.batches()) and task_manager is None:
                from lm_eval.tasks import TaskManager

                includes = [str(prepare_include_path(t.include_path, ctx.work_dir / "lm_eval_tasks" / t.name,
                                                     ctx.work_dir))
                            for t in sets if t.include_path]
                task_manager = TaskManager(include_path=includes or None)
            files = run_task_set(ctx, lm, ts, run_dir, cfg, task_manager)
            for f in files:
                n, parsed = ingest_file(ctx.con, f, ctx.work_dir)
                total += n
                for note in parsed.notes:
                    ctx.log(f"  {m.id} / {ts.name}: {note}")
            if ts.evalplus and cfg.evalplus:
                reason = evalplus_status(device)
                if reason:
                    ctx.log(f"  {m.id}: EvalPlus ({', '.join(ts.evalplus)}) skipped: {reason}")
                else:
                    for f in run_evalplus(ctx, m, load_path, ts.evalplus, model_dir / "evalplus"):
                        total += ingest_file(ctx.con, f, ctx.work_dir, model=m.id)[0]
    ctx.log(f"  benchmarks: {len(models)} model(s) x {len(sets)} task set(s), {total} rows ingested")
