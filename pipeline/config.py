"""Pipeline configuration: one YAML file, one dataclass per stage section (TRL style).

Top level keys: ``db``, ``data_dir``, ``work_dir``, ``stages`` and one section per stage
(``ingest:``, ``predictor:``, ``train:``, ...). Each stage module defines its dataclass and reads its
section with ``section(StageConfig, raw, "name")``; unknown keys are refused with the valid ones listed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "configs" / "default.yaml"


@dataclass
class PipelineConfig:
    db: str = "data/advisor.duckdb"
    data_dir: str = "data"
    work_dir: str = "work"
    stages: list[str] = field(default_factory=lambda: ["ingest", "predictor"])
    path: str = ""
    raw: dict = field(default_factory=dict, repr=False)

    def resolve(self, p: str) -> Path:
        """Relative paths in a config are relative to the repository root."""
        path = Path(p)
        return path if path.is_absolute() else ROOT / path


def section(cls, raw: dict, name: str, file: str = "config"):
    """Build the dataclass ``cls`` from ``raw[name]``, refusing unknown keys by name."""
    data = raw.get(name) or {}
    if not isinstance(data, dict):
        raise InputError(file, f"section {name!r} must be a mapping, got {type(data).__name__}",
                         f"write '{name}:' followed by indented 'key: value' lines", field=name)
    valid = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - valid)
    if unknown:
        raise InputError(file, f"unknown key(s) {unknown} in section {name!r}",
                         f"use only: {', '.join(sorted(valid))}", field=name)
    return cls(**data)


def check_rm_sources(sources, file: str, name: str) -> None:
    """``sources``: a non-empty list of rm_results sources, the preferred first."""
    from advisor.registry import RM_SOURCES

    bad = [s for s in sources if s not in RM_SOURCES] if isinstance(sources, list) else [sources]
    if not sources or bad:
        raise InputError(file, f"{name} {sources!r}: " + (f"unknown {bad}" if bad else "empty"),
                         f"list one or more of {', '.join(RM_SOURCES)}, the preferred first", field=name)


def load(path: str | Path | None = None) -> PipelineConfig:
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.exists():
        raise InputError(path, "config file not found", "pass an existing YAML file to --config")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML ({exc})", "fix the YAML syntax") from None
    if not isinstance(raw, dict):
        raise InputError(path, "top level must be a mapping", "write 'key: value' lines")
    top = {k: raw[k] for k in ("db", "data_dir", "work_dir", "stages") if k in raw}
    cfg = PipelineConfig(**top, path=str(path), raw=raw)
    if not isinstance(cfg.stages, list):
        raise InputError(path, "'stages' must be a list", "write stages: [ingest, predictor]", field="stages")
    return cfg
