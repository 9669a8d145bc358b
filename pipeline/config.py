"""Pipeline configuration: one YAML file, one dataclass per stage section (TRL style), validated whole.

Top level keys: ``db``, ``data_dir``, ``work_dir``, ``stages``, ``lock_timeout`` and one section per
stage (``ingest:``, ``predictor:``, ``train:``, ...; ``SECTIONS`` names the dataclass of each). Each
stage module defines its dataclass and reads its section with ``section(StageConfig, raw, "name")``.

``load`` validates the whole file before any stage runs, with pydantic over the plain dataclasses (no
pydantic model to keep in step with them): a field another engineer adds to a stage dataclass is checked
by its type annotation automatically.

* Unknown keys at any level the dataclasses describe are refused, naming the nearest valid key (difflib).
* Types are checked from the annotations (``cv: ten`` -> not an integer, ``features: 5`` -> not a list);
  ranges from ``Annotated`` constraints, e.g. ``cv: Folds`` (>= 2), ``interval_level: OpenUnit`` (0 < x < 1).
* Paths: a field named ``db`` or ``path`` or ending in ``_dir``, ``_path``, ``_file`` or ``files`` is a
  path. A relative one is relative to the repository root and must stay inside it; an absolute one is
  used as given (the error says so).
Every problem is an ``InputError`` naming the file, the field and the fix; ``run.py`` turns it into exit 2.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError

from pipeline.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "configs" / "default.yaml"

# Section name -> "module:Dataclass" (imported only when a config has the section).
SECTIONS = {
    "ingest": "pipeline.ingest.stage:IngestConfig",
    "benchmarks": "pipeline.benchmarks.config:BenchmarksConfig",
    "train": "pipeline.train.config:TrainConfig",
    "presence": "pipeline.presence.config:PresenceConfig",
    "predictor": "pipeline.predictor.config:PredictorConfig",
}


def _not_zero(v: int) -> int:
    if v == 0:
        raise ValueError("0 jobs cannot run anything; use -1 (all cores) or a positive count")
    return v


# Range-checked field types for the stage dataclasses (``cv: Folds = 10``).
Folds = Annotated[int, Field(ge=2)]  # cross-validation folds
OpenUnit = Annotated[float, Field(gt=0, lt=1)]  # a level or fraction strictly between 0 and 1
NJobs = Annotated[int, Field(ge=-1), AfterValidator(_not_zero)]  # joblib: -1 = all cores
Positive = Annotated[int, Field(ge=1)]
Seconds = Annotated[float, Field(ge=0)]


@dataclass
class PipelineConfig:
    db: str = "data/advisor.duckdb"
    data_dir: str = "data"
    work_dir: str = "work"
    stages: list[str] = field(default_factory=lambda: ["ingest", "predictor"])
    lock_timeout: Seconds = 600.0  # seconds a run waits for another run on the same --db (pipeline/run.py)
    path: str = ""
    raw: dict = field(default_factory=dict, repr=False)

    def resolve(self, p: str) -> Path:
        """Relative paths in a config are relative to the repository root."""
        path = Path(p)
        return path if path.is_absolute() else ROOT / path


TOP_KEYS = ("db", "data_dir", "work_dir", "stages", "lock_timeout")


def is_path_field(name: str) -> bool:
    return name in ("db", "path") or name.endswith(("_dir", "_path", "_file", "files"))


def check_path(value, file, field: str) -> None:
    """A relative path must stay inside the repository (absolute paths are used as given)."""
    if value is None or value == "":
        return
    p = Path(str(value))
    if p.is_absolute():
        return
    resolved = (ROOT / p).resolve()
    if resolved != ROOT and ROOT not in resolved.parents:
        raise InputError(file, f"path {str(value)!r} leaves the project (it resolves to {resolved})",
                         f"write a path inside {ROOT}, relative to it, or an absolute path (used as given)",
                         field=field)


@functools.cache
def _adapter(cls) -> TypeAdapter:
    if "__pydantic_config__" not in cls.__dict__:
        cls.__pydantic_config__ = ConfigDict(extra="forbid")  # unknown keys are errors
    return TypeAdapter(cls)


def _type_name(cls, name: str) -> str:
    for f in dataclasses.fields(cls):
        if f.name == name:
            t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
            return t.replace("Folds", "int >= 2").replace("OpenUnit", "float between 0 and 1") \
                .replace("NJobs", "int, -1 or >= 1").replace("Positive", "int >= 1").replace("Seconds", "float >= 0")
    return "?"


def validate(cls, data: dict, file, prefix: str = ""):
    """``cls(**data)`` checked by pydantic; InputError(file, field, fix) for the first problem."""
    try:
        obj = _adapter(cls).validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(x) for x in err["loc"]]
        where = ".".join([prefix, *loc] if prefix else loc)
        valid = [f.name for f in dataclasses.fields(cls) if f.name not in ("path", "raw")]
        if err["type"] == "unexpected_keyword_argument":
            key = loc[-1]
            near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise InputError(file, f"unknown key {key!r}" + (f" in section {prefix!r}" if prefix else ""),
                             f"{hint}valid keys: {', '.join(sorted(valid))}", field=where) from None
        if err["type"] == "missing_argument":
            raise InputError(file, f"{loc[-1]!r} is required", f"add {loc[-1]}: VALUE", field=where) from None
        msg = err["msg"].removeprefix("Value error, ")
        expected = _type_name(cls, loc[0]) if loc else "?"
        raise InputError(file, f"{err.get('input')!r} is not valid ({msg[0].lower() + msg[1:]})",
                         f"give {where} a value of type {expected}", field=where) from None
    for f in dataclasses.fields(cls):
        if is_path_field(f.name):
            value = getattr(obj, f.name)
            for v in value if isinstance(value, (list, tuple)) else [value]:
                check_path(v, file, f"{prefix}.{f.name}" if prefix else f.name)
    return obj


def section_class(name: str):
    module, _, cls = SECTIONS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def section(cls, raw: dict, name: str, file: str = "config"):
    """Build the dataclass ``cls`` from ``raw[name]``: unknown keys, types, ranges and paths checked."""
    data = raw.get(name) or {}
    if not isinstance(data, dict):
        raise InputError(file, f"section {name!r} must be a mapping, got {type(data).__name__}",
                         f"write '{name}:' followed by indented 'key: value' lines", field=name)
    return validate(cls, data, file, prefix=name)


def check_rm_sources(sources, file: str, name: str) -> None:
    """``sources``: a non-empty list of rm_results sources, the preferred first."""
    from advisor.registry import RM_SOURCES

    bad = [s for s in sources if s not in RM_SOURCES] if isinstance(sources, list) else [sources]
    if not sources or bad:
        raise InputError(file, f"{name} {sources!r}: " + (f"unknown {bad}" if bad else "empty"),
                         f"list one or more of {', '.join(RM_SOURCES)}, the preferred first", field=name)


def load(path: str | Path | None = None) -> PipelineConfig:
    """Read and validate the whole config file (top level and every section it has)."""
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.exists():
        raise InputError(path, "config file not found", "pass an existing YAML file to --config")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML ({exc})", "fix the YAML syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot be read ({exc})", "pass a readable UTF-8 YAML file") from None
    if not isinstance(raw, dict):
        raise InputError(path, "top level must be a mapping", "write 'key: value' lines")
    valid = [*TOP_KEYS, *SECTIONS]
    for key in raw:
        if key not in valid:
            near = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
            raise InputError(path, f"unknown top-level key {key!r}",
                             (f"did you mean {near[0]!r}? " if near else "") + f"valid keys: {', '.join(valid)}",
                             field=str(key))
    top = validate(PipelineConfig, {k: raw[k] for k in TOP_KEYS if k in raw}, path)
    cfg = dataclasses.replace(top, path=str(path), raw=raw)
    for name in SECTIONS:
        if name in raw:
            section(section_class(name), raw, name, str(path))
    return cfg
