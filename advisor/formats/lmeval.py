"""Read lm-evaluation-harness (0.4.x) ``results_*.json`` files into registry benchmark scores.

Pure parsing (json + the registry, no torch), reached through ``advisor.formats.results`` by the pipeline
(``pipeline/ingest/lmeval_json.py``, ``pipeline/benchmarks/stage.py``) and the app's upload page.

lm-eval ``results_*.json`` (what ``lm_eval --output_path`` / ``EvaluationTracker`` writes) holds
``results`` (one entry per task *and* per group, metric keys ``"<metric>,<filter>"`` such as
``"acc_norm,none"``, stderr sometimes the string ``"N/A"``), ``groups``, ``group_subtasks``,
``configs``, ``versions``, ``n-shot``, ``n-samples``, ``config`` (``model_args``, ``limit``, ...),
``lm_eval_version``, ``date`` (unix seconds), and since 0.4.3 ``model_name``, ``chat_template``.

Primary metric per task (the registry's ``metric`` column, ``advisor/core/benchmarks.csv``)::

    leaderboard_ifeval     prompt_level_strict_acc      leaderboard_bbh   acc_norm
    leaderboard_gpqa       acc_norm                     leaderboard_musr  acc_norm
    leaderboard_math_hard  exact_match                  leaderboard_mmlu_pro  acc
    arc_challenge/hellaswag/openbookqa/piqa/sciq/gpqa_main_zeroshot  acc_norm
    mmlu/boolq/winogrande/anli_r*/qnli/truthfulqa_mc1/mc2  acc     drop  f1
    gsm8k/gsm8k_cot_llama/bbh/nq_open/triviaqa  exact_match
    agieval_en/commonsense_qa/social_iqa/medqa_4options/toxigen  acc
    crows_pairs_english  pct_stereotype (lower is better)    squadv2  exact (percent)
    qasper_bool  f1    qasper_freeform  f1_abstractive

The filter is ``none`` when present, else the first of FILTER_PREFERENCE found (recorded in the
row's settings). Each value is stored on the registry's scale for the benchmark, as lm-eval writes
it: ``raw`` (0-1) for all but SQuAD v2, whose metrics lm-eval reports in percent. For the six Open LLM
Leaderboard v2 tasks a second, ``normalized`` score is added where the file holds the inputs
(``advisor.core.leaderboard_norm``). The entry point for any results file is ``advisor.formats.results.parse``.

Anything else raises ValueError naming the file, the field and the fix.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from advisor.core import leaderboard_norm, registry
from advisor.formats.common import FIX_LMEVAL, Parsed, Score, file_error, number

FILTER_PREFERENCE = ("none", "strict-match", "get-answer", "remove_whitespace", "flexible-extract")


def task_benchmarks(task_map: dict[str, str] | None = None) -> dict[str, str]:
    """lm-eval task name -> registry benchmark, from the registry's ``task`` column (lm_eval harness).

    Registry rows of the 'oll_v2' and 'lm_eval' groups win over 'oll_v1' (those hold the v1
    leaderboard's percent numbers, not runs). ``task_map`` adds or overrides entries, e.g. a local
    copy of a registry task under another name.
    """
    out: dict[str, str] = {}
    for b in registry.benchmarks().values():
        if b.harness != "lm_eval" or not b.task:
            continue
        if b.task not in out or registry.get(out[b.task]).group == "oll_v1":
            out[b.task] = b.name
    for task, bench in (task_map or {}).items():
        registry.get(bench)  # KeyError listing valid names
        out[task] = bench
    return out


def _metric_keys(entry: dict, metric: str) -> dict[str, str]:
    """{filter: key} of ``metric`` in a results entry ('acc_norm,none' -> {'none': ...})."""
    out = {}
    for key in entry:
        if "," in key:
            m, filt = key.split(",", 1)
            if m == metric:
                out[filt] = key
    return out


def _pick_filter(keys: dict[str, str]) -> str | None:
    for f in FILTER_PREFERENCE:
        if f in keys:
            return f
    return sorted(keys)[0] if keys else None


def _validate(data: dict, file: str) -> dict:
    results = data.get("results")
    if not isinstance(results, dict) or not results:
        raise file_error(file, "results", "must be a non-empty object of task -> metrics", FIX_LMEVAL)
    for task, entry in results.items():
        if not isinstance(entry, dict):
            raise file_error(file, f"results.{task}", f"must be an object of metrics, got "
                       f"{type(entry).__name__}", FIX_LMEVAL)
        for key, v in entry.items():
            if "," not in key:
                continue
            metric = key.split(",", 1)[0]
            if metric.endswith("_stderr"):
                number(v, file, f"results.{task}.{key}", allow_na=True)
            else:
                number(v, file, f"results.{task}.{key}")
    for key in ("group_subtasks", "n-shot", "n-samples", "versions", "configs", "config", "groups"):
        if key in data and data[key] is not None and not isinstance(data[key], dict):
            raise file_error(file, key, f"must be an object, got {type(data[key]).__name__}", FIX_LMEVAL)
    for group, subs in (data.get("group_subtasks") or {}).items():
        if subs is not None and (not isinstance(subs, list) or not all(isinstance(s, str) for s in subs)):
            raise file_error(file, f"group_subtasks.{group}", "must be a list of task names", FIX_LMEVAL)
    for task, cfg in (data.get("configs") or {}).items():
        if cfg is not None and not isinstance(cfg, dict):
            raise file_error(file, f"configs.{task}", f"must be an object, got {type(cfg).__name__}", FIX_LMEVAL)
    return results


def _model_args(config: dict) -> dict[str, str]:
    args = config.get("model_args")
    if isinstance(args, dict):
        return {str(k): str(v) for k, v in args.items()}
    out = {}
    for part in str(args or "").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def file_model(data: dict) -> str | None:
    """The model the file names: ``model_args`` pretrained=..., else top-level ``model_name``."""
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    name = _model_args(config).get("pretrained") or data.get("model_name")
    return str(name) if name else None


def _run_date(data: dict, file: str) -> datetime | None:
    d = data.get("date")
    if isinstance(d, (int, float)) and not isinstance(d, bool) and math.isfinite(d) and d > 0:
        return datetime.fromtimestamp(float(d), tz=UTC).replace(tzinfo=None)
    m = re.search(r"(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})(\.\d+)?", file)
    if m:
        return datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}:{m.group(3)}:{m.group(4)}{m.group(5) or ''}")
    return None


def _dtype(config: dict, margs: dict) -> str | None:
    d = margs.get("dtype") or margs.get("torch_dtype") or config.get("model_dtype")
    return str(d).removeprefix("torch.") if d else None


def _subtasks(data: dict, task: str, _seen: frozenset = frozenset()) -> list[str]:
    gs = data.get("group_subtasks") or {}
    subs = gs.get(task) or []
    out = []
    for s in subs:  # nested groups (mmlu -> mmlu_humanities -> ...) flatten to leaves
        if s in _seen or s == task:
            continue  # a group listing itself (an edited file) would recurse forever
        out.extend(_subtasks(data, s, _seen | {task}) if gs.get(s) else [s])
    return out


def _sample_count(data: dict, results: dict, task: str) -> float | None:
    ns = (data.get("n-samples") or {}).get(task)
    if isinstance(ns, dict) and isinstance(ns.get("effective"), (int, float)):
        return float(ns["effective"])
    n = results.get(task, {}).get("sample_len")
    return float(n) if isinstance(n, (int, float)) else None


def _reported(entry: dict, metric: str) -> tuple[float, str] | None:
    """(value, filter) of ``metric`` in one task's results entry (the preferred filter), or None."""
    keys = _metric_keys(entry, metric)
    filt = _pick_filter(keys)
    return None if filt is None else (float(entry[keys[filt]]), filt)


def _value(data: dict, results: dict, task: str, metric: str):
    """(value, filter, how) of ``metric`` for a task or group; None if the file lacks it.

    A group without its own aggregate gets the sample-weighted mean of its leaf subtasks (what
    lm-eval's ``weight_by_size`` aggregate is), only when every subtask has the metric.
    """
    own = _reported(results.get(task, {}), metric)
    if own is not None:
        return (*own, "reported")
    subs = _subtasks(data, task)
    if not subs:
        return None
    vals, weights, filters = [], [], set()
    for s in subs:
        got = _reported(results.get(s, {}), metric)
        if got is None:
            return None
        vals.append(got[0])
        weights.append(_sample_count(data, results, s))
        filters.add(got[1])
    if all(w is not None for w in weights) and sum(weights) > 0:
        value = sum(v * w for v, w in zip(vals, weights)) / sum(weights)
        how = f"sample-weighted mean of {len(subs)} subtasks"
    else:
        value = sum(vals) / len(vals)
        how = f"unweighted mean of {len(subs)} subtasks (sample counts missing)"
    return value, ",".join(sorted(filters)), how


def _fraction(got, file: str, where: str) -> float | None:
    """The 0-1 value of a normalisation input (every one is an accuracy), or None when missing."""
    if got is None:
        return None
    if not 0.0 <= got[0] <= 1.0:
        raise file_error(file, where, f"value {got[0]} outside 0-1 (an accuracy; lm-eval writes it as a "
                         "fraction, other numbers mean the file was edited)", FIX_LMEVAL)
    return got[0]


def _normalized(data: dict, results: dict, task: str, file: str):
    """(value 0-100, detail) of the leaderboard normalisation of ``task`` from this file, or None. Its
    inputs (accuracies, 0-1) are range-checked: a bad one raises naming the field."""
    def metric(name: str) -> float | None:
        return _fraction(_value(data, results, task, name), file, f"results.{task}.{name}")

    def subtask_acc_norm(sub: str) -> float | None:
        got = _reported(results.get(f"{task}_{sub}", {}), "acc_norm")
        return _fraction(got, file, f"results.{task}_{sub}.acc_norm")

    return leaderboard_norm.normalized(task, metric, subtask_acc_norm)


def _shots(data: dict, task: str):
    nshot = data.get("n-shot") or {}
    subs = _subtasks(data, task)
    sub_shots = sorted({nshot[s] for s in subs if s in nshot and isinstance(nshot[s], int)})
    if len(sub_shots) == 1:
        return sub_shots[0]
    if len(sub_shots) > 1:
        return sub_shots
    v = nshot.get(task)
    if v is None:
        v = ((data.get("configs") or {}).get(task) or {}).get("num_fewshot")
    return v


def parse_lmeval(data: dict, file: str = "upload", model: str | None = None,
                 task_map: dict[str, str] | None = None) -> Parsed:
    """Scores of every registry task in an lm-eval results object (see the module docstring).

    ``model`` (a Hugging Face id) wins over the model the file names; the file's is kept in the
    settings as ``file_model``.
    """
    results = _validate(data, file)
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    margs = _model_args(config)
    named = file_model(data)
    hf_id = model or named
    when = _run_date(data, file)
    limit = config.get("limit")
    common = {
        "harness": "lm_eval", "harness_version": data.get("lm_eval_version"),
        "chat_template": bool(data.get("chat_template")),
        "chat_template_sha": data.get("chat_template_sha"),
        "fewshot_as_multiturn": data.get("fewshot_as_multiturn"),
        "system_instruction": bool(data.get("system_instruction")),
        "dtype": _dtype(config, margs), "model_args": config.get("model_args"),
        "file_model": named, "limit": limit, "file": file,
        "date": when.isoformat() if when else None,
        "transformers_version": data.get("transformers_version"),
    }
    mapping = task_benchmarks(task_map)
    scores, unmapped = [], []
    listed = list(results) + [g for g in (data.get("group_subtasks") or {}) if g not in results]
    for task in listed:  # groups without an aggregate entry appear only in group_subtasks
        bench = mapping.get(task)
        if bench is None:
            unmapped.append(task)
            continue
        metric = registry.get(bench).metric
        got = _value(data, results, task, metric)
        if got is None:
            raise file_error(file, f"results.{task}", f"no '{metric},<filter>' value for the primary "
                       f"metric of {bench} (keys: {sorted(results.get(task, {}))})", FIX_LMEVAL)
        value, filt, how = got
        scale = registry.get(bench).native_scale  # raw (0-1) for almost all; percent for squadv2
        lo, hi = registry.SCALE_RANGES[scale]
        if not lo <= value <= hi:
            raise file_error(file, f"results.{task}.{metric},{filt}", f"value {value} outside {lo:g}-{hi:g} "
                       f"(lm-eval writes this metric on the {scale} scale; other numbers mean the file "
                       "was edited)", FIX_LMEVAL)
        settings = {**common, "task": task, "metric": metric, "filter": filt,
                    "shots": _shots(data, task), "version": (data.get("versions") or {}).get(task),
                    "aggregation": how}
        scores.append(Score(bench, value, scale, settings, hf_id))
        norm = _normalized(data, results, task, file)
        if norm is not None:
            nval, detail = norm
            scores.append(Score(bench, nval, "normalized",
                                {**settings,
                                 "normalization": leaderboard_norm.LIMITED if limit else leaderboard_norm.EXACT,
                                 "normalization_detail": detail}, hf_id))
    mapped_tasks = {s.settings["task"] for s in scores}
    # subtasks of an ingested group are not "unmapped", they are inside the group's value
    covered = mapped_tasks | {s for t in mapped_tasks for s in _subtasks(data, t)}
    unmapped = [t for t in unmapped if t not in covered
                and not (_subtasks(data, t) and set(_subtasks(data, t)) <= covered)]  # umbrella groups
    notes = [f"{len(unmapped)} task(s) have no registry benchmark and were not ingested: "
             f"{', '.join(unmapped[:8])}{' ...' if len(unmapped) > 8 else ''}"] if unmapped else []
    return Parsed("lm_eval", scores, model=hf_id, recorded_at=when, unmapped=unmapped, notes=notes)
