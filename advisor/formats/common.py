"""What the results-file parsers share: the parsed types and errors naming file and field.

``advisor.formats.results`` (the entry point), ``lmeval`` and ``evalplus`` all import these from here, so
the parsers never import their entry point back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

FIX_LMEVAL = ("upload the unmodified results_*.json that lm-evaluation-harness 0.4.x writes "
              "(lm_eval --output_path DIR), or an EvalPlus results file")


@dataclass(frozen=True)
class Score:
    """One benchmark value: registry name, value, scale and how it was measured."""

    benchmark: str
    value: float
    scale: str
    settings: dict
    hf_id: str | None = None


@dataclass
class Parsed:
    kind: str  # 'lm_eval' | 'evalplus'
    scores: list[Score]
    model: str | None = None
    recorded_at: datetime | None = None  # when the evaluation ran, if the file says
    unmapped: list[str] = field(default_factory=list)  # tasks with no registry benchmark
    notes: list[str] = field(default_factory=list)


def file_error(file: str, field_: str | None, problem: str, fix: str) -> ValueError:
    """ValueError 'FILE, field 'F': PROBLEM. Fix: FIX' (the file alone when there is no field)."""
    where = f"{file}, field {field_!r}" if field_ else file
    return ValueError(f"{where}: {problem}. Fix: {fix}")


def number(v, file: str, field_: str, allow_na: bool = False) -> float | None:
    """A finite number from a JSON value (None for a missing/'N/A' one when ``allow_na``)."""
    if allow_na and (v is None or v == "N/A" or v == ""):
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise file_error(file, field_, f"expected a number, got {v!r}", FIX_LMEVAL)
    return float(v)
