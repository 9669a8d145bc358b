"""A comparison as a link: the Predict page's choices as URL query parameters, and back.

A link holds the models picked from the leaderboard, the training method, the size budget and the scale
and settings choices of the typed table and the uploads; what it does not hold (typed rows, uploaded
files) stays in the browser session. Only choices that differ from the defaults are written, so the
plain page has a plain URL::

    ?pick=meta-llama/Llama-3.1-8B-Instruct&pick=google/gemma-2-9b-it&method=bradley_terry&budget=1-10

``budget`` is ``MIN-MAX`` in billions of parameters, ``MAX`` ``inf`` (or empty) for no upper limit, the
syntax ``parse_budget`` reads. A value a link cannot hold (an unknown method, a reversed budget) is
reported with the parameter, the value and the fix, and the default is used instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from advisor.core import registry, scales
from advisor.core.errors import InputError
from advisor.formats import upload

DEFAULT_METHOD = next(iter(registry.METHOD_LABELS))  # regression
NO_LIMIT = (0.0, math.inf)
# the input choices a link carries: parameter -> (allowed values, default), as the page's widgets offer them
CHOICES = {"typed_scale": (("normalized", "raw", "percent"), "normalized"),
           "typed_settings": (scales.SETTINGS, "leaderboard"),
           "upload_scale": (upload.SCALE_CHOICES, "auto"),
           "upload_settings": (scales.SETTINGS, "leaderboard")}


@dataclass
class Comparison:
    picked: list[str] = field(default_factory=list)
    method: str = DEFAULT_METHOD
    budget: tuple[float, float] = NO_LIMIT
    choices: dict[str, str] = field(default_factory=lambda: {k: d for k, (_, d) in CHOICES.items()})


def parse_budget(text: str, where: str = "budget") -> tuple[float, float]:
    """'MIN-MAX' in billions of parameters -> (min, max); 'MIN-', 'MIN-inf' and '-MAX' leave an end
    open. Raises ``InputError`` naming ``where`` and the fix."""
    lo, sep, hi = str(text).strip().partition("-")
    fix = "write MIN-MAX in billions of parameters, e.g. 1-10, or 3-inf for no upper limit"
    try:
        low = float(lo) if lo.strip() else 0.0
        high = float(hi) if hi.strip() else math.inf
    except ValueError:
        raise InputError(where, f"{text!r} is not MIN-MAX", fix) from None
    if not sep or math.isnan(low) or math.isnan(high) or low < 0 or high < low or math.isinf(low):
        raise InputError(where, f"{text!r} is not a range MIN-MAX with 0 <= MIN <= MAX", fix)
    return low, high


def format_budget(budget: tuple[float, float]) -> str:
    """The inverse of ``parse_budget``: (1.0, inf) -> '1-inf', (0.5, 10.0) -> '0.5-10'."""
    return "-".join("inf" if math.isinf(b) else f"{b:g}" for b in budget)


def to_query(c: Comparison) -> dict[str, str | list[str]]:
    """The query parameters of a comparison: only what differs from the defaults."""
    out: dict[str, str | list[str]] = {}
    if c.picked:
        out["pick"] = list(c.picked)
    if c.method != DEFAULT_METHOD:
        out["method"] = c.method
    if tuple(c.budget) != NO_LIMIT:
        out["budget"] = format_budget(c.budget)
    out.update({k: v for k, v in c.choices.items() if k in CHOICES and v != CHOICES[k][1]})
    return out


def from_query(params: Mapping[str, list[str]]) -> tuple[Comparison, list[str]]:
    """(the comparison a link's query parameters describe, problems). ``params`` maps each parameter to
    all its values (Streamlit's ``st.query_params.to_dict`` keeps only the last: pass ``get_all``'s);
    parameters other than these are ignored. The picked ids are returned as written, to be checked
    against the leaderboard table by the caller (``upload.match_leaderboard_ids``)."""
    c, problems = Comparison(), []
    c.picked = list(dict.fromkeys(p.strip() for v in params.get("pick", []) for p in v.split(",") if p.strip()))
    method = _last(params, "method")
    if method is not None:
        if method in registry.METHOD_LABELS:
            c.method = method
        else:
            problems.append(_unknown("method", method, list(registry.METHOD_LABELS), DEFAULT_METHOD))
    budget = _last(params, "budget")
    if budget is not None:
        try:
            c.budget = parse_budget(budget, where="The link's 'budget'")
        except InputError as exc:
            problems.append(f"{exc}. Using no budget (every size).")
    for key, (allowed, default) in CHOICES.items():
        value = _last(params, key)
        if value is not None and value in allowed:
            c.choices[key] = value
        elif value is not None:
            problems.append(_unknown(key, value, list(allowed), default))
    return c, problems


def _last(params: Mapping[str, list[str]], key: str) -> str | None:
    values = params.get(key) or []
    return values[-1] if values else None


def _unknown(key: str, value: str, allowed: list[str], default: str) -> str:
    return (f"The link's {key!r}: {value!r} is not one of {', '.join(allowed)}; using {default}. "
            f"Fix: choose it on the page, which updates the link.")
