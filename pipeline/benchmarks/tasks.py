"""Task sets as data: ``configs/tasks/*.yaml`` -> TaskSet (task names, few-shot counts, chat settings).

A task-set YAML holds ``name``, ``description``, ``apply_chat_template``, ``fewshot_as_multiturn``,
optional ``system_instruction``, optional ``include_path`` (a folder of extra lm-eval task YAMLs,
relative to the task-set file), ``tasks`` (a list of ``{task, shots, benchmark?, paper_shots?,
paper_task?, topic?}``; ``benchmark`` records a local task under a registry benchmark) and optional
``evalplus`` (datasets for the EvalPlus step: humaneval, mbpp).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from advisor.core import registry
from pipeline.config import ROOT, read_yaml
from pipeline.errors import InputError

TASKS_DIR = ROOT / "configs" / "tasks"
TOP_KEYS = {"name", "description", "apply_chat_template", "fewshot_as_multiturn", "system_instruction",
            "include_path", "tasks", "evalplus"}
TASK_KEYS = {"task", "shots", "benchmark", "paper_shots", "paper_task", "topic"}
EVALPLUS_DATASETS = ("humaneval", "mbpp")


@dataclass(frozen=True)
class TaskSpec:
    task: str
    shots: int | None
    benchmark: str | None = None
    paper_shots: str | None = None
    paper_task: str | None = None
    topic: str | None = None


@dataclass
class TaskSet:
    name: str
    path: Path
    tasks: list[TaskSpec]
    description: str = ""
    apply_chat_template: bool = False
    fewshot_as_multiturn: bool = False
    system_instruction: str | None = None
    include_path: Path | None = None
    evalplus: list[str] = field(default_factory=list)

    def task_map(self) -> dict[str, str]:
        """Local task -> registry benchmark, for tasks recorded under another name."""
        return {t.task: t.benchmark for t in self.tasks if t.benchmark}

    def batches(self) -> dict[int | None, list[str]]:
        """Tasks grouped by few-shot count (lm-eval takes one num_fewshot per call)."""
        out: dict[int | None, list[str]] = {}
        for t in self.tasks:
            out.setdefault(t.shots, []).append(t.task)
        return out

    def key(self, **extra) -> str:
        """Short hash of everything that changes the numbers (tasks, shots, chat settings, extra): not the
        labels (benchmark, paper_*, topic), so editing one does not rerun a finished task set."""
        blob = json.dumps({"tasks": [[t.task, t.shots] for t in self.tasks], "chat": self.apply_chat_template,
                           "multiturn": self.fewshot_as_multiturn, "system": self.system_instruction,
                           **extra}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:8]


def resolve_task_set(ref: str, config_file: str = "config") -> Path:
    """A bare name -> configs/tasks/<name>.yaml; otherwise a path (relative to the repository root)."""
    p = Path(ref)
    if p.suffix not in (".yaml", ".yml"):
        p = TASKS_DIR / f"{ref}.yaml"
    elif not p.is_absolute():
        p = ROOT / p
    if not p.exists():
        names = ", ".join(sorted(x.stem for x in TASKS_DIR.glob("*.yaml")))
        raise InputError(config_file, f"task set {ref!r} not found ({p})",
                         f"use one of: {names}, or a path to a task-set YAML", field="benchmarks.task_sets")
    return p


def load_task_set(path: str | Path) -> TaskSet:
    path = Path(path)
    raw = read_yaml(path)  # no aliases (a YAML alias bomb), messages of bounded length
    if not isinstance(raw, dict):
        raise InputError(path, "top level must be a mapping", "write name:, tasks: ... keys")
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise InputError(path, f"unknown key(s) {unknown}", f"use only: {', '.join(sorted(TOP_KEYS))}")
    if not raw.get("name"):
        raise InputError(path, "missing 'name'", "give the task set a short name", field="name")
    items = raw.get("tasks")
    if not isinstance(items, list) or not items:
        raise InputError(path, "'tasks' must be a non-empty list", "list {task: NAME, shots: N} entries",
                         field="tasks")
    tasks = []
    for i, t in enumerate(items, 1):
        if not isinstance(t, dict) or not t.get("task"):
            raise InputError(path, f"entry {t!r} has no task name", "write {task: NAME, shots: N}",
                             row=i, field="tasks")
        bad = sorted(set(t) - TASK_KEYS)
        if bad:
            raise InputError(path, f"unknown key(s) {bad}", f"use only: {', '.join(sorted(TASK_KEYS))}",
                             row=i, field="tasks")
        shots = t.get("shots")
        if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 0):
            raise InputError(path, f"shots {shots!r} is not a count", "write a whole number >= 0 (or "
                             "null for the task's default)", row=i, field="shots")
        if t.get("benchmark") and t["benchmark"] not in registry.benchmarks():
            raise InputError(path, f"unknown benchmark {t['benchmark']!r}",
                             f"use a registry name: {', '.join(registry.names())}", row=i, field="benchmark")
        tasks.append(TaskSpec(task=str(t["task"]), shots=shots, benchmark=t.get("benchmark"),
                              paper_shots=None if t.get("paper_shots") is None else str(t["paper_shots"]),
                              paper_task=t.get("paper_task"), topic=t.get("topic")))
    names = [t.task for t in tasks]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(path, f"task(s) listed twice: {dup}", "list each task once", field="tasks")
    evalplus = raw.get("evalplus") or []
    bad_ep = [d for d in evalplus if d not in EVALPLUS_DATASETS]
    if bad_ep:
        raise InputError(path, f"unknown EvalPlus dataset(s) {bad_ep}",
                         f"use: {', '.join(EVALPLUS_DATASETS)}", field="evalplus")
    include = raw.get("include_path")
    include_path = (path.parent / include).resolve() if include else None
    if include_path is not None and not include_path.is_dir():
        raise InputError(path, f"include_path {include!r} is not a folder", "point it at a folder of "
                         "lm-eval task YAMLs, relative to this file", field="include_path")
    return TaskSet(name=str(raw["name"]), path=path, tasks=tasks, description=raw.get("description") or "",
                   apply_chat_template=bool(raw.get("apply_chat_template", False)),
                   fewshot_as_multiturn=bool(raw.get("fewshot_as_multiturn", False)),
                   system_instruction=raw.get("system_instruction"), include_path=include_path,
                   evalplus=list(evalplus))


WORK_DIR = "{work_dir}"  # in a task's data_files: the pipeline's work_dir (where the fetch stage writes data)


def prepare_include_path(src: Path, dst: Path, work_dir: Path | None = None) -> Path:
    """Copy a folder of lm-eval task YAMLs to ``dst``, with relative ``dataset_kwargs.data_files``
    made absolute (relative to ``src``), since ``datasets`` resolves them against the working
    directory, and ``{work_dir}`` replaced by ``work_dir``. Files YAML cannot read plainly (``!function``
    tags) are copied unchanged: keep their data_files in a template they include."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        if not f.is_file():
            continue
        target = dst / f.name
        if f.suffix not in (".yaml", ".yml") and not f.name.endswith("_yaml"):
            shutil.copy2(f, target)
            continue
        try:
            doc = yaml.safe_load(f.read_text())
        except yaml.YAMLError:
            shutil.copy2(f, target)
            continue
        files = ((doc or {}).get("dataset_kwargs") or {}).get("data_files") if isinstance(doc, dict) else None
        if not files:
            shutil.copy2(f, target)
            continue

        def absolute(p):
            if work_dir is not None and str(p).startswith(WORK_DIR):
                p = str(work_dir) + str(p)[len(WORK_DIR):]
            q = Path(p)
            return p if q.is_absolute() or "://" in str(p) else str((src / q).resolve())

        if isinstance(files, dict):
            doc["dataset_kwargs"]["data_files"] = {k: ([absolute(x) for x in v] if isinstance(v, list)
                                                       else absolute(v)) for k, v in files.items()}
        elif isinstance(files, list):
            doc["dataset_kwargs"]["data_files"] = [absolute(x) for x in files]
        else:
            doc["dataset_kwargs"]["data_files"] = absolute(files)
        target.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dst
