"""Pipeline configuration: one YAML file, one dataclass per stage section (TRL style), validated once, whole.

Top level keys: ``db``, ``data_dir``, ``work_dir``, ``stages``, ``lock_timeout`` and one section per
stage (``ingest:``, ``predictor:``, ``train:``, ...; ``pipeline/stages.py`` names the dataclass of each, defined
next to the stage that runs it). ``load`` validates the file and returns a ``PipelineConfig`` holding
each section as its typed object; a stage reads it with ``ctx.section("train")`` (absent sections: the
dataclass's defaults). Command-line flags are typed overrides of section fields (``load(overrides=...)``,
e.g. ``--shard`` -> ``presence.shard``), checked by the same validators; their errors name the flag.

Validation is pydantic over the plain dataclasses (no pydantic model to keep in step with them): a field
another engineer adds to a stage dataclass is checked by its type annotation automatically.

* Unknown keys at any level the dataclasses describe are refused, naming the nearest valid key (difflib).
* Types are checked from the annotations (``cv: ten`` -> not an integer, ``features: 5`` -> not a list),
  enumerations by ``Literal`` (``device: gpu`` -> one of auto, cpu, cuda), ranges by ``Annotated``
  constraints, e.g. ``cv: Folds`` (>= 2), ``interval_level: OpenUnit`` (0 < x < 1).
* Rules across fields: a section dataclass may define ``check(file)``; ``load`` calls it once.
* Paths: a field named ``db`` or ``path`` or ending in ``_dir``, ``_path``, ``_file`` or ``files`` is a
  path (in nested entries too, e.g. ``train.models[].path``). A relative one is relative to the
  repository root and must stay inside it; an absolute one is used as given (the error says so).
Every problem is an ``InputError`` naming the file (or flag), the field and the fix; ``run.py`` turns it
into exit 2.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import pydantic.dataclasses
import yaml
from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError

from pipeline import stages
from pipeline.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "configs" / "default.yaml"

# The decorator of the section dataclasses and of ModelSpec: pydantic dataclasses that refuse unknown keys,
# so a section built in code (tests, benches: ``TrainConfig(bradley_terry={...})``) is typed and checked too.
config_dataclass = pydantic.dataclasses.dataclass(config=ConfigDict(extra="forbid"))


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
    stages: list[str] = field(default_factory=lambda: ["ingest", "predictor", "transfer"])
    lock_timeout: Seconds = 600.0  # seconds a run waits for another run on the same --db (pipeline/run.py)
    path: str = ""
    raw: dict = field(default_factory=dict, repr=False)  # the file as read (recorded in the runs table)
    sections: dict = field(default_factory=dict, repr=False)  # section name -> its validated dataclass
    overrides: dict = field(default_factory=dict, repr=False)  # "section.field" -> (flag, value)

    def resolve(self, p: str) -> Path:
        """Relative paths in a config are relative to the repository root."""
        path = Path(p)
        return path if path.is_absolute() else ROOT / path

    def section(self, name: str):
        """The validated ``name:`` section; a section the file does not have: its defaults (plus any
        command-line overrides), validated on first use."""
        if name not in self.sections:
            self.sections[name] = build_section(name, self.raw, self.path or "config", self.overrides)
        return self.sections[name]


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


INTERNAL = {"PipelineConfig": ("path", "raw", "sections", "overrides")}  # fields no file sets
ALIASES = {"Folds": "int >= 2", "OpenUnit": "float between 0 and 1", "NJobs": "int, -1 or >= 1",
           "Positive": "int >= 1", "Seconds": "float >= 0", "Tolerance": "float > 0", "Shard": "'i/n', 0 <= i < n",
           "ModelEntry": "model (hub id or mapping)", " | None": " (or null)"}


def _dataclass_of(tp):
    """The dataclass inside an annotation (``ModelSpec``, ``list[ModelEntry]``, ``X | None``), or None."""
    if dataclasses.is_dataclass(tp):
        return tp
    for arg in typing.get_args(tp):
        found = _dataclass_of(arg)
        if found is not None:
            return found
    return None


def _hints(cls) -> dict:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception:  # noqa: BLE001  (a class defined inside a function: its names are not resolvable)
        return {}


def _walk(cls, loc: list[str]):
    """(innermost dataclass along ``loc``, the name of its field there or None)."""
    name = None
    for key in loc:
        if key.isdigit():
            continue
        hints = _hints(cls)
        if key not in hints:
            return cls, None
        inner = _dataclass_of(hints[key])
        if inner is None or key == loc[-1]:
            return cls, key
        cls, name = inner, None
    return cls, name


def _class_at(cls, loc: list[str]):
    """The dataclass whose keys ``loc`` addresses (``train.bradley_terry`` -> BradleyTerryConfig)."""
    for key in loc:
        if not key.isdigit():
            cls = _dataclass_of(_hints(cls).get(key)) or cls
    return cls


def _field_loc(cls, loc: list[str]) -> list[str]:
    """``loc`` without pydantic's union-member tags ('bool', "literal['a']"): field names and list indices."""
    out, hints = [], _hints(cls)
    for key in loc:
        if key.isdigit():
            out.append(key)
        elif key in hints:
            out.append(key)
            inner = _dataclass_of(hints[key])
            hints = _hints(inner) if inner is not None else {}
    return out


def _literal(tp):
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)
    for arg in typing.get_args(tp):
        found = _literal(arg)
        if found:
            return found
    return None


def _type_name(cls, name: str | None) -> str:
    if name is None:
        keys = ", ".join(f.name for f in dataclasses.fields(cls))
        return f"a mapping with the keys of {cls.__name__} ({keys})"
    hint = _hints(cls).get(name)
    choices = _literal(hint)
    if choices:
        also = " or true/false" if bool in typing.get_args(hint) else ""
        return "one of " + ", ".join(str(c) for c in choices) + also
    for f in dataclasses.fields(cls):
        if f.name == name:
            t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
            for alias, text in ALIASES.items():
                t = t.replace(alias, text)
            return t
    return "?"


def validate(cls, data: dict, file, prefix: str = ""):
    """``cls(**data)`` checked by pydantic; InputError(file, field, fix) for the first problem."""
    try:
        obj = _adapter(cls).validate_python(data)
    except ValidationError as exc:
        # an unknown key explains a missing one (``hf_id:`` for ``id:``): report it first; of a union's
        # errors (``compile: bool | Literal[...]``) the one listing the valid names
        err = min(exc.errors(), key=lambda e: (e["type"] != "unexpected_keyword_argument",
                                               e["type"] != "literal_error"))
        loc = [str(x) for x in err["loc"]]
        unknown = err["type"] == "unexpected_keyword_argument"  # the last element is the unknown key itself
        loc = _field_loc(cls, loc[:-1]) + loc[-1:] if unknown else _field_loc(cls, loc)
        where = ".".join([prefix, *loc] if prefix else loc)
        if unknown:
            key = loc[-1]
            inner = _class_at(cls, loc[:-1])
            valid = [f.name for f in dataclasses.fields(inner) if f.name not in INTERNAL.get(inner.__name__, ())]
            near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}? " if near else ""
            section_name = ".".join([prefix, *loc[:-1]] if prefix else loc[:-1])
            raise InputError(file, f"unknown key {key!r}" + (f" in section {section_name!r}" if section_name else ""),
                             f"{hint}valid keys: {', '.join(sorted(valid))}", field=where) from None
        if err["type"] in ("missing_argument", "missing"):
            raise InputError(file, f"{loc[-1]!r} is required", f"add {loc[-1]}: VALUE", field=where) from None
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, InputError):  # a validator's own message and fix: here it gets the file and field
            raise InputError(file, cause.problem, cause.fix, field=where) from None
        msg = err["msg"].removeprefix("Value error, ")
        inner, name = _walk(cls, loc)
        raise InputError(file, f"{err.get('input')!r} is not valid ({msg[0].lower() + msg[1:]})",
                         f"give {where} a value of type {_type_name(inner, name)}", field=where) from None
    _check_paths(obj, file, prefix)
    return obj


def _check_paths(obj, file, prefix: str) -> None:
    """Every path field of ``obj`` and of the dataclasses inside it stays inside the project."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        where = f"{prefix}.{f.name}" if prefix else f.name
        items = value if isinstance(value, (list, tuple)) else [value]
        if is_path_field(f.name):
            for v in items:
                check_path(v, file, where)
        for i, v in enumerate(items):
            if dataclasses.is_dataclass(v) and not isinstance(v, type):
                _check_paths(v, file, f"{where}.{i}" if isinstance(value, (list, tuple)) else where)


def section_class(name: str):
    """The dataclass of config section ``name`` (``pipeline/stages.py``; imported only when needed)."""
    module, _, cls = stages.get(name).config.partition(":")
    return getattr(importlib.import_module(module), cls)


def section(cls, raw: dict, name: str, file: str = "config"):
    """Build the dataclass ``cls`` from ``raw[name]``: unknown keys, types, ranges and paths checked."""
    data = raw.get(name) or {}
    if not isinstance(data, dict):
        raise InputError(file, f"section {name!r} must be a mapping, got {type(data).__name__}",
                         f"write '{name}:' followed by indented 'key: value' lines", field=name)
    return validate(cls, data, file, prefix=name)


def _checked(obj, file: str):
    """Run the section's own rules across fields (``check(file)``, raising InputError), if it has any."""
    if hasattr(obj, "check"):
        obj.check(file)
    return obj


def build_section(name: str, raw: dict, file: str, overrides: dict | None = None):
    """Section ``name`` of ``raw`` with the command-line ``overrides`` ({"name.field": (flag, value)})
    applied, validated, and its ``check(file)`` rules run. An error in an overridden field names the flag."""
    cls = section_class(name)
    mine = {k.split(".", 1)[1]: v for k, v in (overrides or {}).items() if k.split(".", 1)[0] == name}
    if not mine:
        return _checked(section(cls, raw, name, file), file)
    data = raw.get(name) or {}
    if not isinstance(data, dict):
        return section(cls, raw, name, file)  # the file's error
    try:
        return _checked(section(cls, {name: {**data, **{k: v for k, (_, v) in mine.items()}}}, name, file), file)
    except InputError as exc:
        for key, (flag, _) in mine.items():
            if exc.field == f"{name}.{key}" or str(exc.field).startswith(f"{name}.{key}."):
                raise InputError(flag, exc.problem, exc.fix, row=exc.row, field=exc.field) from None
        raise


def check_rm_sources(sources, file: str, name: str) -> None:
    """``sources``: a non-empty list of rm_results sources, the preferred first."""
    from advisor.core.registry import RM_SOURCES

    bad = [s for s in sources if s not in RM_SOURCES] if isinstance(sources, list) else [sources]
    if not sources or bad:
        raise InputError(file, f"{name} {sources!r}: " + (f"unknown {bad}" if bad else "empty"),
                         f"list one or more of {', '.join(RM_SOURCES)}, the preferred first", field=name)


def load(path: str | Path | None = None, overrides: dict | None = None) -> PipelineConfig:
    """Read and validate the whole config file (top level and every section it has).

    ``overrides``: command-line values, ``{"section.field": (flag, value)}`` (pipeline/run.py); each is
    checked against its field's type first, so a bad flag is refused naming the flag, then applied."""
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
    valid = [*TOP_KEYS, *stages.sections()]
    for key in raw:
        if key not in valid:
            near = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
            raise InputError(path, f"unknown top-level key {key!r}",
                             (f"did you mean {near[0]!r}? " if near else "") + f"valid keys: {', '.join(valid)}",
                             field=str(key))
    top = validate(PipelineConfig, {k: raw[k] for k in TOP_KEYS if k in raw}, path)
    overrides = {k: v for k, v in (overrides or {}).items() if v[1] is not None}
    for key, (flag, value) in overrides.items():  # each flag against its field's type, alone
        name, _, fld = key.partition(".")
        section(section_class(name), {name: {fld: value}}, name, flag)
    cfg = dataclasses.replace(top, path=str(path), raw=raw, sections={}, overrides=overrides)
    for name in stages.sections():
        if name in raw:
            cfg.section(name)
    return cfg
