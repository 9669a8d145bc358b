"""What to measure next: for each candidate of the tied top group, the one input whose measurement would
narrow its interval the most, and what running it costs.

The options of a predicted row: each missing Open LLM Leaderboard v2 task (run with lm-eval's
``leaderboard`` task group: the task name comes from the benchmark registry), its pre-training tokens when
missing (from the model card, no GPU), re-running its tasks in the leaderboard's settings when its numbers
come from other settings, and all of it at once (the six tasks in leaderboard settings). Each option is
answered by the predictor itself, with no rule of its own: the row with the option applied (a missing cell
set to the value the prediction reads for it now: imputed, clamped to the known models' range; or
``settings`` 'leaderboard') is predicted again by
``advisor.predict.shortlist.predict_candidates``, so its interval comes from the measured error of its new
input pattern (the reduced spec or imputation that pattern is served by, ``advisor.predict.partial``: the
bundle's precomputed evidence, else evaluated once per pattern and cached) and the same widening rules.
The answer is the single input (a task, or the pre-training tokens) that narrows the interval the most (as
shown: clipped to 0-100; ties within 0.05 points: the cheaper); when none narrows it, re-running in
leaderboard settings or the whole suite, if that does; the line also says what the whole suite would give.
An option that narrows nothing is never proposed.

Evaluating a new input pattern takes about a second or two on 2 cores (``partial``); ``pending`` counts
those the answer still needs, so a caller can say what it will cost before asking (the app asks with a
button when any is pending; ``rank --next`` always asks).

GPU-hours: ``eval_cost.yaml`` beside this module (documents, forward passes and token estimates per task,
which of them measured and which estimated) over the measured H100 scoring throughput at the candidate's
size (``data/presence/throughput.csv``, ``advisor.core.throughput``): an estimate of compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from advisor.core import registry, throughput
from advisor.predict import partial
from advisor.predict.shortlist import filled_inputs, predict_candidates
from advisor.predict.specs import BASE_FEATURES

COST_FILE = Path(__file__).with_name("eval_cost.yaml")
ROOT = Path(__file__).resolve().parents[2]
TASKS = tuple(registry.OLL_V2_TASKS)
TOKENS = "pretrain_tokens_t"
SETTINGS, ALL = "settings", "all"  # the two options that are not one input


@lru_cache(maxsize=1)
def costs() -> dict:
    """``eval_cost.yaml`` with the throughput table it names: {'tasks': {task: fields}, 'decode_factor',
    'gpu', 'sizes', 'rates'}; errors name the file and the field."""
    raw = yaml.safe_load(COST_FILE.read_text())
    missing = [t for t in TASKS if t not in raw.get("tasks", {})]
    if missing:
        raise ValueError(f"{COST_FILE}: tasks {missing} have no cost. Fix: add them under 'tasks'")
    table = pd.read_csv(ROOT / raw["throughput_file"])
    rows = table[table["compile"] == raw["throughput_mode"]]
    if rows.empty:
        raise ValueError(f"{raw['throughput_file']}: no row with compile {raw['throughput_mode']!r} "
                         f"(throughput_mode of {COST_FILE.name}). Fix: use one of {sorted(set(table['compile']))}")
    return {"tasks": raw["tasks"], "decode_factor": float(raw["decode_factor"]), "gpu": raw["gpu"],
            "sizes": rows["params_b"].to_numpy(float), "rates": rows["tokens_per_s"].to_numpy(float)}


def gpu_hours(task: str, params_b: float) -> float:
    """Estimated GPU-hours of running ``task`` (a registry OLL v2 task) on a ``params_b``-B model."""
    c = costs()
    t = c["tasks"][task]
    tokens = t["documents"] * (t["forwards"] * t["prompt_tokens"] + t["generated_tokens"] * c["decode_factor"])
    return tokens / throughput.tokens_per_second(params_b, c["sizes"], c["rates"]) / 3600


@dataclass(frozen=True)
class Option:
    """One thing to measure for a row: ``key`` a task, TOKENS, SETTINGS or ALL."""

    key: str
    label: str
    lm_eval_tasks: tuple[str, ...]  # what to run (registry task names); () for no GPU work
    fills: tuple[str, ...]  # the base features it supplies
    leaderboard_settings: bool  # the row's numbers then come from the leaderboard's settings


def options(row) -> list[Option]:
    """What could be measured for a shortlist row (module docstring), in a fixed order."""
    have = [t for t in TASKS if pd.notna(row.get(t))]
    lacking = [t for t in TASKS if t not in have]
    other = str(row.get("settings", "")) == "other"
    out = [Option(t, registry.label(t), (registry.get(t).task,), (t,), False) for t in lacking]
    if pd.isna(row.get(TOKENS)):
        out.append(Option(TOKENS, "its pre-training tokens (from the model card)", (), (TOKENS,), False))
    if other and have:
        out.append(Option(SETTINGS, "its tasks again in leaderboard settings",
                          tuple(registry.get(t).task for t in have), (), True))
    if lacking and (other or len(lacking) > 1):
        out.append(Option(ALL, "all six tasks in leaderboard settings",
                          tuple(registry.get(t).task for t in TASKS), tuple(lacking), True))
    return out


def _applied(rows: pd.DataFrame, bundle) -> list[tuple[pd.DataFrame, list[Option]]]:
    """Every option of every row applied, as candidate frames whose ids stay the rows' own (the k-th
    option of each row in the k-th frame, so an id appears once per frame), each with its options."""
    batches: dict[int, tuple[list, list]] = {}
    for scale, g in rows.groupby("scale", sort=False):
        X = g.set_index("hf_id")[list(BASE_FEATURES)].apply(pd.to_numeric, errors="coerce").astype(float)
        known = bundle.X_train(scale)[list(BASE_FEATURES)]
        filled = filled_inputs(X, known).clip(lower=known.min(), upper=known.max(), axis=1)  # what the fit reads
        for _, row in g.iterrows():
            for k, opt in enumerate(options(row)):
                new = row.copy()
                for f in opt.fills:
                    new[f] = filled.at[row["hf_id"], f]
                if opt.leaderboard_settings:
                    new["settings"] = "leaderboard"
                batch = batches.setdefault(k, ([], []))
                batch[0].append(new)
                batch[1].append(opt)
    return [(pd.DataFrame(fr).reset_index(drop=True), opts) for fr, opts in batches.values()]


def _inputs(table: pd.DataFrame, top_group) -> pd.DataFrame:
    """The candidate-table columns (what ``predict_candidates`` reads) of the predicted rows of the top group."""
    rows = table[table["hf_id"].isin(list(top_group)) & (table["ranked_by"] == "prediction")]
    keep = ["hf_id", "scale", "settings", *BASE_FEATURES]
    return rows[[c for c in keep if c in rows.columns]].reset_index(drop=True)


def _patterns(frames) -> dict:
    """{(scale, pattern key): (scale, available features)} of the rows of ``frames``."""
    out = {}
    for frame in frames:
        for _, r in frame.iterrows():
            have = [f for f in BASE_FEATURES if pd.notna(r.get(f))]
            out[(r["scale"], partial.pattern_key(have))] = (r["scale"], have)
    return out


def pending(table: pd.DataFrame, bundle, method: str, top_group) -> int:
    """How many input patterns ``what_to_measure_next`` would still have to evaluate (about a second or two
    each on 2 cores): 0 when the bundle precomputed them or this process already evaluated them."""
    inputs = _inputs(table, top_group)
    if inputs.empty:
        return 0
    pats = _patterns([fr for fr, _ in _applied(inputs, bundle)]).values()
    return sum(not partial.ready(bundle, s, method, have) for s, have in pats)


def _warm(bundle, method: str, frames: list[pd.DataFrame]) -> None:
    """Evaluate the new input patterns the applied options need, one ``partial.for_bundle`` call per scale
    (the patterns of a call share the served procedure's fits); it caches them for the process."""
    todo: dict[str, list] = {}
    for s, have in _patterns(frames).values():
        if not partial.ready(bundle, s, method, have):
            todo.setdefault(s, []).append(have)
    for s, pats in todo.items():
        partial.for_bundle(bundle, s, method, pats)


def what_to_measure_next(table: pd.DataFrame, bundle, method: str, top_group) -> list[dict]:
    """One entry per candidate of ``top_group`` (hf_ids, e.g. ``Verdict.top_group``) of a shortlist
    ``table`` (``ranking.build``'s), in the table's order: hf_id, ``measure`` (the chosen option's key or
    None), ``label``, ``lm_eval_tasks``, ``gpu_hours``, ``interval_now`` / ``interval_after`` ([lower,
    upper] of the overall score, as shown), ``mae_after`` (the new pattern's lineage-out MAE, None when it
    is complete), ``options`` (every option with those numbers) and ``line``, the sentence the app and the
    CLI show. Cached for the process per (bundle, method, the rows' inputs and the top group)."""
    inputs = _inputs(table, top_group)
    shown = table[table["hf_id"].isin(list(top_group))][["hf_id", "ranked_by", "lower", "upper"]]
    key = (bundle.cache_key, method, tuple(top_group), tuple(pd.util.hash_pandas_object(inputs, index=False)),
           tuple(pd.util.hash_pandas_object(shown.astype(str), index=False)))
    if key not in _DONE:
        _DONE[key] = _measure(table, inputs, bundle, method, top_group)
        while len(_DONE) > 32:
            _DONE.pop(next(iter(_DONE)))
    return _DONE[key]


_DONE: dict = {}


def _measure(table: pd.DataFrame, inputs: pd.DataFrame, bundle, method: str, top_group) -> list[dict]:
    """``what_to_measure_next`` itself (uncached)."""
    per_row: dict[str, list[dict]] = {h: [] for h in inputs["hf_id"]}
    if len(inputs):
        batches = _applied(inputs, bundle)
        _warm(bundle, method, [fr for fr, _ in batches])
        for frame, opts in batches:
            after = predict_candidates(bundle, frame, method=method).set_index("hf_id")
            size = frame.set_index("hf_id")["params_b"]
            for h, opt in zip(frame["hf_id"], opts):
                per_row[h].append(_option(opt, after.loc[h], float(size[h])))
    rows = table[table["hf_id"].isin(list(top_group))]
    return [_entry(row, per_row.get(row["hf_id"], [])) for _, row in rows.iterrows()]


def _option(opt: Option, r: pd.Series, params_b: float) -> dict:
    hours = sum(gpu_hours(t, params_b) for t in TASKS if registry.get(t).task in opt.lm_eval_tasks)
    mae = r.get("partial_mae")
    return {"measure": opt.key, "label": opt.label, "lm_eval_tasks": list(opt.lm_eval_tasks),
            "gpu_hours": hours, "interval_after": [float(r["lower"]), float(r["upper"])],
            "mae_after": None if mae is None or pd.isna(mae) else float(mae)}


def _width(iv) -> float:
    return iv[1] - iv[0]


def _best(opts: list[dict], now: list[float]) -> dict | None:
    """The option chosen (module docstring): among the single inputs, the one that narrows the interval
    most (ties within 0.05 points: the cheaper); else the settings re-run or the whole suite, if either
    narrows it; None when nothing narrows it by at least 0.05 points."""
    useful = [o for o in opts if _width(o["interval_after"]) < _width(now) - 0.05]
    for pool in ([o for o in useful if o["measure"] not in (SETTINGS, ALL)], useful):
        if pool:
            narrowest = min(_width(o["interval_after"]) for o in pool)
            return min((o for o in pool if _width(o["interval_after"]) <= narrowest + 0.05),
                       key=lambda o: o["gpu_hours"])
    return None


def _entry(row, opts: list[dict]) -> dict:
    now = [float(row["lower"]), float(row["upper"])] if row["ranked_by"] == "prediction" else None
    best = _best(opts, now) if now else None
    pick = best or {}
    return {"hf_id": row["hf_id"], "measure": pick.get("measure"), "label": pick.get("label"),
            "lm_eval_tasks": pick.get("lm_eval_tasks", []), "gpu_hours": pick.get("gpu_hours", 0.0),
            "interval_now": now, "interval_after": pick.get("interval_after"), "mae_after": pick.get("mae_after"),
            "options": opts, "line": _line(row, best, opts, now)}


def _hours(h: float) -> str:
    return f"about {h:.2g}" if h < 10 else f"about {h:.0f}"


def _iv(iv) -> str:
    return f"{iv[0]:.1f}-{iv[1]:.1f}"


def _cost(o: dict, params_b: float) -> str:
    tasks = o["lm_eval_tasks"]
    if not tasks:
        return "no GPU"
    names = ", ".join(tasks) if len(tasks) < len(TASKS) else "the leaderboard group's six"
    return (f"lm-eval {'task' if len(tasks) == 1 else 'tasks'} {names}, {_hours(o['gpu_hours'])} "
            f"{costs()['gpu']} GPU-hours at {params_b:g}B")


def _line(row, best: dict | None, opts: list[dict], now) -> str:
    """The sentence of one candidate (plain text; callers escape it where Markdown renders)."""
    h = row["hf_id"]
    if now is None:
        return f"{h}: measured ({row['measured_source']}); nothing to add."
    if best is None:
        return (f"{h}: nothing left to measure narrows its interval ({_iv(now)}): it is the predictor's own "
                "error for these inputs, which only training the reward model removes.")
    size = float(row["params_b"])
    mae = f"; lineage-out MAE of that input pattern {best['mae_after']:.1f}" if best["mae_after"] else ""
    line = (f"{h}: measure {best['label']} next ({_cost(best, size)}): interval {_iv(now)} -> "
            f"{_iv(best['interval_after'])}{mae}")
    suite = next((o for o in opts if o["measure"] == ALL and o is not best), None)
    if suite is not None and _width(suite["interval_after"]) < _width(best["interval_after"]) - 0.05:
        line += (f"; all six tasks in leaderboard settings: {_iv(suite['interval_after'])} "
                 f"({_hours(suite['gpu_hours'])} GPU-hours)")
    return line + "."
