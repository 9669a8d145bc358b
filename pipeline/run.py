"""`python -m pipeline.run [--config FILE] [--stages a,b] [--db PATH]`: run the stages, publish the database.

Stages run in the fixed order of the stage registry (``pipeline/stages.py``). Each stage's runner
exposes ``run(ctx)``; it is imported only when it runs, so an ingest-only rebuild never imports torch.
Expensive stages keep their outputs under ``work_dir`` and skip finished work on a rerun; the database
itself is always built beside the live one and swapped in atomically (pipeline/publish.py).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from advisor.core.registry import METHODS
from pipeline import config as config_mod
from pipeline import publish, schema
from pipeline import stages as registry
from pipeline.errors import InputError


@dataclass
class Context:
    config: config_mod.PipelineConfig
    con: object
    run_id: str
    stages: list[str] = field(default_factory=list)
    report_files: tuple | None = None  # (folder, report): written after the publish (pipeline/predictor/report.py)

    @property
    def data_dir(self) -> Path:
        return self.config.resolve(self.config.data_dir)

    @property
    def work_dir(self) -> Path:
        path = self.config.resolve(self.config.work_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def db_path(self) -> Path:
        return self.config.resolve(self.config.db)

    def section(self, name: str):
        """The validated ``name:`` section (``config.PipelineConfig.section``; flags already applied)."""
        return self.config.section(name)

    def log(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def code_version() -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=config_mod.ROOT,  # noqa: S607 - git from PATH
                             capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    import advisor
    return advisor.__version__


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m pipeline.run", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="stages, in order:\n" + "\n".join(f"  {s.name}: {s.does}"
                                                                           for s in registry.STAGES))
    p.add_argument("--config", help="YAML config (default: configs/default.yaml)")
    p.add_argument("--stages", help="comma-separated subset of the config's stages to run; the other "
                   "stages' tables are carried over from the live database")
    p.add_argument("--db", help="database path (default: the config's 'db', data/advisor.duckdb)")
    p.add_argument("--work-dir", help="folder for the stages' intermediate work: caches, trained models, kept "
                   "--results files (default: the config's 'work_dir')")
    p.add_argument("--results", nargs="+", metavar="FILE", default=[],
                   help="lm-evaluation-harness results_*.json or EvalPlus files to ingest (kept in "
                   "work_dir/results so later rebuilds keep them)")
    p.add_argument("--model", help="Hugging Face id the --results files belong to, when the file "
                   "does not name it")
    p.add_argument("--rm-results", nargs="+", metavar="FILE", default=[],
                   help="your own reward models' RewardBench results: the rewardbench results JSON or a CSV "
                   "(hf_id, method, chat, chat_hard, safety, reasoning[, score]); kept in work_dir/rm_results")
    p.add_argument("--method", help=f"how the --rm-results reward model was trained: {' or '.join(METHODS)} "
                   "(required for a JSON)")
    p.add_argument("--base", help="Hugging Face id of the --rm-results base model, when the file does not "
                   "name it (a JSON naming a local path)")
    p.add_argument("--shard", help="presence stage: run slice i of n document shards, as i/n")
    p.add_argument("--plan", action="store_true", help="presence stage: print the expected documents, tokens and "
                   "GPU-hours (full corpus vs the sequential rule) and exit; scores and publishes nothing")
    p.add_argument("--lock-timeout", type=float, metavar="SECONDS", help="how long to wait for another "
                   "run on the same --db to finish (default: the config's lock_timeout, 600); 0: fail at once")
    return p.parse_args(argv)


def select_stages(cfg: config_mod.PipelineConfig, arg: str | None) -> list[str]:
    """The stages to run, in registry order: the config's ``stages``, or the ``--stages`` subset."""
    known = registry.names()
    for s in cfg.stages:
        if s not in known:
            raise InputError(cfg.path, f"unknown stage {s!r} in 'stages'",
                             f"use stages from: {', '.join(known)}", field="stages")
    if not arg:
        return [s for s in known if s in cfg.stages]
    wanted = [s.strip() for s in arg.split(",") if s.strip()]
    for s in wanted:
        if s not in known:
            raise InputError("--stages", f"unknown stage {s!r}", f"use stages from: {', '.join(known)}")
    return [s for s in known if s in wanted]


# Flags that are typed overrides of config fields: "section.field" -> flag (checked like the file's values).
FLAG_FIELDS = {"ingest.results": "--results", "ingest.model": "--model", "ingest.rm_results": "--rm-results",
               "ingest.method": "--method", "ingest.base": "--base", "presence.shard": "--shard"}


PATH_FLAGS = {"db": "--db", "work_dir": "--work-dir"}  # top-level config paths a flag replaces


def overrides(args: argparse.Namespace) -> dict:
    """{"section.field": (flag, value)} for the flags given on this command line."""
    out = {}
    for key, flag in FLAG_FIELDS.items():
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value not in (None, []):
            out[key] = (flag, value)
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = config_mod.load(args.config, overrides=overrides(args))
        for key, flag in PATH_FLAGS.items():
            value = getattr(args, key)
            if value:
                config_mod.check_path(value, flag, key)  # the config's rule: inside the project, or absolute
                setattr(cfg, key, value)
        if args.lock_timeout is not None:
            if not args.lock_timeout >= 0:  # filelock waits forever on a negative timeout
                raise InputError("--lock-timeout", f"{args.lock_timeout:g} seconds", "give 0 (fail at once) or more")
            cfg.lock_timeout = args.lock_timeout
        stages = select_stages(cfg, args.stages)
        publish.check_target(cfg.resolve(cfg.db), *(("--db", None) if args.db else (cfg.path, "db")))
        if args.plan:
            from pipeline.presence.plan import print_plan
            return print_plan(cfg, stages)
    except InputError as exc:  # the config or a flag: refused before anything ran
        print(f"error: {exc}", file=sys.stderr)
        print("nothing was published; the previous database is unchanged", file=sys.stderr)
        return 2
    # Under a multi-process launch (torchrun / accelerate launch set RANK) the processes of one run work
    # together: only rank 0, the one that publishes, takes the lock (the others would wait on it forever).
    rank = int(os.environ.get("RANK", "0") or 0)
    try:
        with publish.locked(cfg.resolve(cfg.db), cfg.lock_timeout) if rank == 0 else contextlib.nullcontext():
            return _run(cfg, stages, carry_over=bool(args.stages))
    except publish.EnvironmentProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("nothing was published; the previous database is unchanged", file=sys.stderr)
        return 2


def _run(cfg: config_mod.PipelineConfig, stages: list[str], carry_over: bool) -> int:
    """Build and publish, holding the database's lock (``main``); ``carry_over``: a subset run (--stages)
    keeps the other stages' tables from the live database."""
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    db_path = cfg.resolve(cfg.db)
    started = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    print(f"rm-advisor pipeline run {run_id}: stages {', '.join(stages)} -> {db_path}", flush=True)
    try:
        with publish.building(db_path, carry_over=carry_over, wait_s=cfg.lock_timeout) as con:
            ctx = Context(config=cfg, con=con, run_id=run_id, stages=stages)
            for i, name in enumerate(stages, 1):
                ts = time.perf_counter()
                ctx.log(f"stage {i}/{len(stages)} {name}: start")
                module = importlib.import_module(registry.get(name).runner)
                con.execute("BEGIN TRANSACTION")
                schema.clear_owned(con, name)
                module.run(ctx)
                con.execute("COMMIT")
                ctx.log(f"stage {i}/{len(stages)} {name}: done in {time.perf_counter() - ts:.1f}s")
            schema.insert(con, "runs", [{
                "run_id": run_id, "started_at": started,
                "finished_at": datetime.now(UTC).replace(tzinfo=None), "config_path": cfg.path,
                "config_json": json.dumps(cfg.raw, default=str), "stages": ",".join(stages),
                "code_version": code_version(), "python_version": platform.python_version(),
                "host": socket.gethostname(), "status": "ok"}])
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("nothing was published; the previous database is unchanged", file=sys.stderr)
        return 2
    except (OSError, *publish.DISK_ERRORS) as exc:  # read-only directory, full disk ...: the build file is gone
        print(f"error: {publish.EnvironmentProblem.of(exc, db_path)}", file=sys.stderr)
        print("nothing was published; the previous database is unchanged", file=sys.stderr)
        return 2
    print(f"published {db_path} in {time.perf_counter() - t0:.1f}s", flush=True)
    if ctx.report_files:  # reports only after the database they describe is live
        from pipeline.predictor.report import write_reports

        out, report = ctx.report_files
        write_reports(out, report)
        print(f"reports written to {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
