"""Pipeline configuration: one YAML file, one dataclass per stage section (TRL style), validated once, whole.

Top level keys: ``db``, ``data_dir``, ``work_dir``, ``stages``, ``lock_timeout`` and one section per
stage (``ingest:``, ``predictor:``, ``train:``, ...; ``pipeline/stages.py`` names the dataclass of each, defined
next to the stage that runs it). ``load`` validates the file and returns a ``PipelineConfig`` holding
each section as its typed object; a stage reads it with ``ctx.section("train")`` (absent sections: the
dataclass's defaults). Command-line flags are typed overrides of section fields (``load(overrides=...)``,
e.g. ``--shard`` -> ``presence.shard``), checked by the same validators; their errors name the flag.

Validation is pydantic over the section dataclasses (``config_dataclass``: pydantic dataclasses that refuse
unknown keys): a field another engineer adds to a stage dataclass is checked by its type annotation.

* Unknown keys at any level the dataclasses describe are refused, listing the valid keys and naming the
  nearest (difflib), or, for a key a dataclass lists in its ``RENAMED`` (old key -> where it is now,
  e.g. ``presence.tol_jsd`` -> ``sequential.tol_jsd``), its new place.
* Types are checked from the annotations (``cv: ten`` -> not an integer, ``features: 5`` -> not a list),
  names by ``Literal`` (``device: gpu`` -> 'auto', 'cpu' or 'cuda') or by a validator raising InputError
  (``candidates: [x]`` -> the spec names of predictor_specs.yaml), ranges by ``Annotated`` constraints,
  e.g. ``cv: Folds`` (>= 2), ``interval_level: OpenUnit`` (0 < x < 1), ``NonEmpty[Scale]``.
* Rules across fields: a section dataclass may define ``check(file)``; ``load`` calls it once.
* Paths: a field named ``db`` or ``path`` or ending in ``_dir``, ``_path``, ``_file`` or ``files`` is a
  path (in nested entries too, e.g. ``train.models[].path``). A relative one is relative to the
  repository root and must stay inside it; an absolute one is used as given (the error says so).
Every problem is an ``InputError`` naming the file (or flag), the field path (pydantic's ``loc``) and the
fix (from its ``msg`` and ``ctx``: ``_input_error``; the other fields with a problem are named too);
``run.py`` turns it into exit 2.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import pydantic.dataclasses
import yaml
from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError

from advisor.core.registry import RM_SOURCES
from pipeline import stages
from pipeline.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "configs" / "default.yaml"

# The decorator of the section dataclasses and of ModelSpec: pydantic dataclasses that refuse unknown keys,
# so a section built in code (tests, benches: ``TrainConfig(bradley_terry={...})``) is typed and checked too.
config_dataclass = pydantic.dataclasses.dataclass(config=ConfigDict(extra="forbid"))


def _not_zero(v: int) -> int:
    if v == 0:
        raise InputError("", "0 jobs cannot run anything", "use -1 (all cores) or a positive count")
    return v


# Range-checked field types for the stage dataclasses (``cv: Folds = 10``).
Folds = Annotated[int, Field(ge=2)]  # cross-validation folds
OpenUnit = Annotated[float, Field(gt=0, lt=1)]  # a level or fraction strictly between 0 and 1
NJobs = Annotated[int, Field(ge=-1), AfterValidator(_not_zero)]  # joblib: -1 = all cores
Positive = Annotated[int, Field(ge=1)]
Seconds = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
T = TypeVar("T")
NonEmpty = Annotated[list[T], Field(min_length=1)]  # ``NonEmpty[Scale]``: a list of at least one Scale
RMSources = NonEmpty[Literal[RM_SOURCES]]  # rm_results sources, the preferred first (advisor.core.registry)


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


def validate(cls, data: dict, file, prefix: str = ""):
    """``cls(**data)`` checked by pydantic; InputError(file, field, fix) for the first problem."""
    try:
        obj = _adapter(cls).validate_python(data)
    except ValidationError as exc:
        raise _input_error(exc.errors(), cls, data, file, prefix) from None
    _check_paths(obj, file, prefix)
    return obj


def _input_error(errors: list[dict], cls, data, file, prefix: str = "") -> InputError:
    """pydantic's errors as one InputError: the first problem's field path (``prefix`` + its ``loc``), what
    is wrong and the fix (from its ``msg`` and ``ctx``); the other fields with a problem are named too."""
    # an unknown key explains a missing one (``hf_id:`` for ``id:``): it is reported first
    err = min(errors, key=lambda e: e["type"] != "unexpected_keyword_argument")
    path = _path(err, data)
    dotted = lambda p: ".".join(map(str, [prefix, *p] if prefix else p))  # noqa: E731
    where = dotted(path)
    others = sorted({dotted(_path(e, data)) for e in errors} - {where})
    also = f" (also to fix: {', '.join(others)})" if others else ""
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, InputError):  # a validator's own message and fix: here it gets the file and field
        return InputError(file, cause.problem + also, cause.fix, field=where)
    if err["type"] == "unexpected_keyword_argument":
        key, inner = path[-1], _class_at(cls, path[:-1])
        section = where.rpartition(".")[0]
        valid = [f.name for f in dataclasses.fields(inner)]
        moved = getattr(inner, "RENAMED", {}).get(key)
        near = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
        hint = f"it is {section + '.' if section else ''}{moved} now; " if moved else \
            f"did you mean {near[0]!r}? " if near else ""
        return InputError(file, f"unknown key {key!r}" + (f" in section {section!r}" if section else "") + also,
                          f"{hint}valid keys: {', '.join(sorted(valid))}", field=where)
    if err["type"] in ("missing", "missing_argument"):
        return InputError(file, f"{path[-1]!r} is required{also}", f"add {path[-1]}: VALUE", field=where)
    if err["type"] == "dataclass_type":
        keys = ", ".join(f.name for f in dataclasses.fields(_class_at(cls, path)))
        return InputError(file, f"{_short(repr(err['input']))} is not a mapping{also}",
                          f"write {where} as indented 'key: value' lines, keys: {keys}", field=where)
    wants = " or ".join(dict.fromkeys(_should(e["msg"]) for e in errors if _path(e, data) == path))
    return InputError(file, f"{_short(repr(err['input']))} is not valid{also}", f"{where} {wants}", field=where)


def _path(err: dict, data) -> list:
    """The field path of a pydantic error: the keys and indices of its ``loc`` that address the input (so
    not a union member's tag such as 'bool' or "literal['none','all']"); a missing key comes last."""
    path, node, loc = [], data, err["loc"]
    for i, key in enumerate(loc):
        if isinstance(node, dict) and key in node or isinstance(node, (list, tuple)) and isinstance(key, int):
            path.append(key)
            node = node[key]
        elif i == len(loc) - 1 and err["type"] in ("missing", "missing_argument"):
            path.append(key)
    return path


def _class_at(cls, path: list):
    """The dataclass whose mapping ``path`` addresses (``["bradley_terry"]`` in TrainConfig ->
    BradleyTerryConfig; list indices are skipped)."""
    for key in path:
        if isinstance(key, str):
            cls = _dataclass_in(typing.get_type_hints(cls, include_extras=True)[key])
    return cls


def _dataclass_in(tp):
    """The dataclass an annotation holds (``RuleConfig``, ``list[ModelEntry]``, ``X | None``), or None."""
    if dataclasses.is_dataclass(tp):
        return tp
    return next(filter(None, map(_dataclass_in, typing.get_args(tp))), None)


def _should(msg: str) -> str:
    """pydantic's message as what the value should be: 'Input should be a valid integer, unable to parse
    string as an integer' -> 'should be a valid integer'."""
    msg = msg.split(", unable to", 1)[0].removeprefix("Value error, ").replace(" after validation", "")
    subject, sep, rest = msg.partition(" should ")
    return f"should {rest}" if sep and " " not in subject else f"is not valid: {msg}"


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


class _NoAliasLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses aliases (``*name``): nested anchors and aliases expand a few hundred
    bytes into gigabytes of values (an alias bomb) that validation would then walk and echo."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, f"alias *{event.anchor} (anchors and aliases are not read in configs)", event.start_mark)
        return super().compose_node(parent, index)


def read_yaml(path: Path):
    """A config or task-set YAML file as plain data; InputError for unreadable text, bad syntax or an alias
    (``_NoAliasLoader``). The one reader of the YAML files an operator writes."""
    try:
        return yaml.load(path.read_text(), Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.constructor.ConstructorError as exc:
        if "alias *" in str(exc.problem):
            line = exc.problem_mark.line + 1 if exc.problem_mark else None
            raise InputError(path, f"line {line}: {exc.problem}", "write the values out in full") from None
        raise InputError(path, f"not valid YAML ({_short(exc, 300)})", "fix the YAML syntax") from None
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML ({_short(exc, 300)})", "fix the YAML syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot be read ({exc})", "pass a readable UTF-8 YAML file") from None


def _short(value, limit: int = 200) -> str:
    """``value``'s text cut to ``limit`` characters: a message echoes input, never a whole large value."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def load(path: str | Path | None = None, overrides: dict | None = None) -> PipelineConfig:
    """Read and validate the whole config file (top level and every section it has).

    ``overrides``: command-line values, ``{"section.field": (flag, value)}`` (pipeline/run.py); each is
    checked against its field's type first, so a bad flag is refused naming the flag, then applied."""
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.exists():
        raise InputError(path, "config file not found", "pass an existing YAML file to --config")
    raw = read_yaml(path) or {}
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
