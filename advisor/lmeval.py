"""Read lm-evaluation-harness (0.4.x) and EvalPlus result files into registry benchmark scores.

Pure parsing (json + the registry, no torch): used by the pipeline (``pipeline/ingest/lmeval_json.py``,
``pipeline/benchmarks/stage.py``) and by the app's upload page.

lm-eval ``results_*.json`` (what ``lm_eval --output_path`` / ``EvaluationTracker`` writes) holds
``results`` (one entry per task *and* per group, metric keys ``"<metric>,<filter>"`` such as
``"acc_norm,none"``, stderr sometimes the string ``"N/A"``), ``groups``, ``group_subtasks``,
``configs``, ``versions``, ``n-shot``, ``n-samples``, ``config`` (``model_args``, ``limit``, ...),
``lm_eval_version``, ``date`` (unix seconds), and since 0.4.3 ``model_name``, ``chat_template``.

Primary metric per task (the registry's ``metric`` column, ``advisor/benchmarks.csv``)::

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
it: ``raw`` (0-1) for all but SQuAD v2, whose metrics lm-eval reports in percent.

Open LLM Leaderboard v2 normalisation (scale ``normalized``, 0-100), computed only where the file
holds every input, following the leaderboard's documented procedure
(https://huggingface.co/docs/leaderboards/open_llm_leaderboard/normalization):

* IFEval: mean of ``prompt_level_strict_acc`` and ``inst_level_strict_acc``, times 100;
* BBH, MUSR: each subtask's ``acc_norm`` rescaled from [1/choices, 1] to [0, 100] (below chance -> 0),
  then the unweighted mean over the 24 (BBH) / 3 (MUSR) subtasks; choices per subtask in
  SUBTASK_CHOICES (BBH counts are the ``doc_to_choice`` lengths of lm-eval's leaderboard task YAMLs);
* GPQA (chance 1/4, group ``acc_norm``) and MMLU-PRO (chance 1/10, ``acc``): the same rescaling on
  the task-level value;
* MATH Lvl 5: group ``exact_match`` times 100 (generative, no chance level).

The row's ``settings["normalization"]`` says "normalized as the leaderboard does" only when the run
was also complete (no ``limit``); a ``limit`` run gets "leaderboard formula on a limited sample".

EvalPlus: both the leaderboard ``results.json`` (``{model: {"link", "pass@1": {humaneval, humaneval+,
mbpp, mbpp+}}}``, percent) and ``evalplus.evaluate``'s ``*_eval_results.json`` (``{"eval": {task_id:
[{"base_status", "plus_status"}...]}}``: pass@1 = mean over problems of the passing fraction, times 100).

Anything else raises ValueError naming the file, the field and the fix.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from advisor import registry, untrusted

FILTER_PREFERENCE = ("none", "strict-match", "get-answer", "remove_whitespace", "flexible-extract")

# Number of answer choices per leaderboard subtask (chance level = 1/choices).
SUBTASK_CHOICES: dict[str, dict[str, int]] = {
    "leaderboard_bbh": {
        "boolean_expressions": 2, "causal_judgement": 2, "date_understanding": 6,
        "disambiguation_qa": 3, "formal_fallacies": 2, "geometric_shapes": 11, "hyperbaton": 2,
        "logical_deduction_five_objects": 5, "logical_deduction_seven_objects": 7,
        "logical_deduction_three_objects": 3, "movie_recommendation": 6, "navigate": 2,
        "object_counting": 19, "penguins_in_a_table": 5, "reasoning_about_colored_objects": 18,
        "ruin_names": 6, "salient_translation_error_detection": 6, "snarks": 2,
        "sports_understanding": 2, "temporal_sequences": 4, "tracking_shuffled_objects_five_objects": 5,
        "tracking_shuffled_objects_seven_objects": 7, "tracking_shuffled_objects_three_objects": 3,
        "web_of_lies": 2,
    },
    "leaderboard_musr": {"murder_mysteries": 2, "object_placements": 5, "team_allocation": 3},
}
TASK_CHANCE = {"leaderboard_gpqa": 0.25, "leaderboard_mmlu_pro": 0.1, "leaderboard_math_hard": 0.0}
EXACT = "normalized as the leaderboard does"
LIMITED = "leaderboard formula on a limited sample (run with limit), not the leaderboard's number"

EVALPLUS_KEYS = {"humaneval": "humaneval", "humaneval+": "humaneval_plus", "mbpp": "mbpp",
                 "mbpp+": "mbpp_plus"}


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


def _err(file: str, field_: str | None, problem: str, fix: str) -> ValueError:
    where = f"{file}, field {field_!r}" if field_ else file
    return ValueError(f"{where}: {problem}. Fix: {fix}")


FIX_LMEVAL = ("upload the unmodified results_*.json that lm-evaluation-harness 0.4.x writes "
              "(lm_eval --output_path DIR), or an EvalPlus results file")


MAX_RESULTS_BYTES = 64 * 2**20  # a results_*.json of the 6 leaderboard tasks is ~1 MB; samples live elsewhere


def load_json(source: str | Path | bytes, name: str | None = None,
              max_bytes: int | None = None) -> tuple[dict, str]:
    """(parsed JSON object, display name) from a path or uploaded bytes; ValueError if not JSON, larger
    than ``max_bytes`` or nested deeper than ``untrusted.MAX_JSON_DEPTH`` (checked before parsing)."""
    max_bytes = max_bytes or MAX_RESULTS_BYTES
    if isinstance(source, (bytes, bytearray)):
        name = name or "upload"
        raw = bytes(source)
    else:
        path = Path(source)
        name = name or path.name
        if not path.is_file():
            raise _err(str(path), None, "file not found", "pass an existing results file")
        size = path.stat().st_size
        if size > max_bytes:
            raise _err(name, None, f"{size / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit for "
                       "results files", "pass the results_*.json lm-evaluation-harness writes, not its "
                       "samples_*.jsonl or a file bundling many runs")
        raw = path.read_bytes()
    try:
        data = untrusted.load_json_bounded(raw, max_bytes=max_bytes)
    except untrusted.JSONLimitError as exc:
        raise _err(name, None, f"refused before parsing: {exc}", FIX_LMEVAL) from None
    except json.JSONDecodeError as exc:
        raise _err(name, None, f"not valid JSON ({exc.msg} at line {exc.lineno})", FIX_LMEVAL) from None
    if not isinstance(data, dict):
        raise _err(name, None, f"top level is a JSON {type(data).__name__}, not an object", FIX_LMEVAL)
    return data, name


def detect(data: dict, file: str = "upload") -> str:
    """'lm_eval' or 'evalplus'; ValueError for anything else."""
    if "results" in data:
        return "lm_eval"
    if isinstance(data.get("eval"), dict):
        return "evalplus"
    if data and all(isinstance(v, dict) and "pass@1" in v for v in data.values()):
        return "evalplus"
    raise _err(file, "results", "missing: this is not lm-evaluation-harness output (no 'results' "
               "object) nor an EvalPlus file (no 'eval' or 'pass@1')", FIX_LMEVAL)


def parse(source: str | Path | bytes, name: str | None = None, model: str | None = None,
          task_map: dict[str, str] | None = None) -> Parsed:
    """Parse any supported results file (path or bytes)."""
    data, name = load_json(source, name)
    return _parse_data(data, name, model, task_map)


def _parse_data(data: dict, name: str, model: str | None, task_map: dict[str, str] | None) -> Parsed:
    """An already loaded results object, by the format ``detect`` finds."""
    if detect(data, name) == "lm_eval":
        return parse_lmeval(data, name, model=model, task_map=task_map)
    return parse_evalplus(data, name, model=model)


# ---------------------------------------------------------------- lm-evaluation-harness


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


def _number(v, file: str, field_: str, allow_na: bool = False) -> float | None:
    if allow_na and (v is None or v == "N/A" or v == ""):
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise _err(file, field_, f"expected a number, got {v!r}", FIX_LMEVAL)
    return float(v)


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
        raise _err(file, "results", "must be a non-empty object of task -> metrics", FIX_LMEVAL)
    for task, entry in results.items():
        if not isinstance(entry, dict):
            raise _err(file, f"results.{task}", f"must be an object of metrics, got "
                       f"{type(entry).__name__}", FIX_LMEVAL)
        for key, v in entry.items():
            if "," not in key:
                continue
            metric = key.split(",", 1)[0]
            if metric.endswith("_stderr"):
                _number(v, file, f"results.{task}.{key}", allow_na=True)
            else:
                _number(v, file, f"results.{task}.{key}")
    for key in ("group_subtasks", "n-shot", "n-samples", "versions", "configs", "config", "groups"):
        if key in data and data[key] is not None and not isinstance(data[key], dict):
            raise _err(file, key, f"must be an object, got {type(data[key]).__name__}", FIX_LMEVAL)
    for group, subs in (data.get("group_subtasks") or {}).items():
        if subs is not None and (not isinstance(subs, list) or not all(isinstance(s, str) for s in subs)):
            raise _err(file, f"group_subtasks.{group}", "must be a list of task names", FIX_LMEVAL)
    for task, cfg in (data.get("configs") or {}).items():
        if cfg is not None and not isinstance(cfg, dict):
            raise _err(file, f"configs.{task}", f"must be an object, got {type(cfg).__name__}", FIX_LMEVAL)
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
        return datetime.fromtimestamp(float(d), tz=timezone.utc).replace(tzinfo=None)
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


def _clip_norm(value: float, chance: float) -> float:
    return max(0.0, (value - chance) / (1.0 - chance)) * 100.0


def _leaderboard_normalized(data: dict, results: dict, task: str):
    """(value 0-100, detail) of the OLL v2 normalisation of ``task``, or None if inputs are missing."""
    if task == "leaderboard_ifeval":
        p = _value(data, results, task, "prompt_level_strict_acc")
        i = _value(data, results, task, "inst_level_strict_acc")
        if p is None or i is None:
            return None
        return (p[0] + i[0]) / 2 * 100, "mean of prompt- and instruction-level strict accuracy x 100"
    if task in SUBTASK_CHOICES:
        parts = []
        for sub, choices in SUBTASK_CHOICES[task].items():
            got = _reported(results.get(f"{task}_{sub}", {}), "acc_norm")
            if got is None:
                return None
            parts.append(_clip_norm(got[0], 1.0 / choices))
        return sum(parts) / len(parts), (f"mean over {len(parts)} subtasks of acc_norm rescaled "
                                        "from chance (1/choices) to 100")
    if task in TASK_CHANCE:
        metric = registry.get(task).metric
        got = _value(data, results, task, metric)
        if got is None:
            return None
        chance = TASK_CHANCE[task]
        return _clip_norm(got[0], chance), f"{metric} rescaled from chance {chance:g} to 100"
    return None


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
            raise _err(file, f"results.{task}", f"no '{metric},<filter>' value for the primary "
                       f"metric of {bench} (keys: {sorted(results.get(task, {}))})", FIX_LMEVAL)
        value, filt, how = got
        scale = registry.get(bench).native_scale  # raw (0-1) for almost all; percent for squadv2
        lo, hi = registry.SCALE_RANGES[scale]
        if not lo <= value <= hi:
            raise _err(file, f"results.{task}.{metric},{filt}", f"value {value} outside {lo:g}-{hi:g} "
                       f"(lm-eval writes this metric on the {scale} scale; other numbers mean the file "
                       "was edited)", FIX_LMEVAL)
        settings = {**common, "task": task, "metric": metric, "filter": filt,
                    "shots": _shots(data, task), "version": (data.get("versions") or {}).get(task),
                    "aggregation": how}
        scores.append(Score(bench, value, scale, settings, hf_id))
        norm = _leaderboard_normalized(data, results, task)
        if norm is not None:
            nval, detail = norm
            scores.append(Score(bench, nval, "normalized",
                                {**settings, "normalization": LIMITED if limit else EXACT,
                                 "normalization_detail": detail}, hf_id))
    mapped_tasks = {s.settings["task"] for s in scores}
    # subtasks of an ingested group are not "unmapped", they are inside the group's value
    covered = mapped_tasks | {s for t in mapped_tasks for s in _subtasks(data, t)}
    unmapped = [t for t in unmapped if t not in covered
                and not (_subtasks(data, t) and set(_subtasks(data, t)) <= covered)]  # umbrella groups
    notes = [f"{len(unmapped)} task(s) have no registry benchmark and were not ingested: "
             f"{', '.join(unmapped[:8])}{' ...' if len(unmapped) > 8 else ''}"] if unmapped else []
    return Parsed("lm_eval", scores, model=hf_id, recorded_at=when, unmapped=unmapped, notes=notes)


# ---------------------------------------------------------------- EvalPlus


def _hf_id_from_link(link) -> str | None:
    m = re.match(r"https?://huggingface\.co/([^/\s]+/[^/\s?#]+)", str(link or ""))
    return m.group(1) if m else None


def parse_evalplus(data: dict, file: str = "upload", model: str | None = None) -> Parsed:
    """EvalPlus leaderboard results (many models) or one ``evalplus.evaluate`` output."""
    if isinstance(data.get("eval"), dict):
        return _parse_evalplus_eval(data, file, model)
    scores, unmapped = [], []
    for name, entry in data.items():
        hf_id = _hf_id_from_link(entry.get("link"))
        if hf_id is None:
            unmapped.append(name)
            continue
        p1 = entry.get("pass@1")
        if not isinstance(p1, dict):
            raise _err(file, f"{name}.pass@1", "must be an object of dataset -> percent", FIX_LMEVAL)
        for key, bench in EVALPLUS_KEYS.items():
            v = _number(p1.get(key), file, f"{name}.pass@1.{key}", allow_na=True)
            if v is None:
                continue
            if not 0.0 <= v <= 100.0:
                raise _err(file, f"{name}.pass@1.{key}", f"value {v} outside 0-100", FIX_LMEVAL)
            settings = {"harness": "evalplus", "metric": "pass@1", "file": file, "entry": name,
                        "prompted": entry.get("prompted"), "shots": 0}
            scores.append(Score(bench, v, "percent", settings, hf_id))
    notes = [f"{len(unmapped)} EvalPlus entr(ies) without a huggingface.co link were skipped"] if unmapped else []
    return Parsed("evalplus", scores, model=None, unmapped=unmapped, notes=notes)


def _parse_evalplus_eval(data: dict, file: str, model: str | None) -> Parsed:
    evals = data["eval"]
    if not evals:
        raise _err(file, "eval", "is empty", "evaluate at least one problem with evalplus.evaluate")
    prefixes = {str(tid).split("/", 1)[0].lower() for tid in evals}
    if len(prefixes) != 1 or next(iter(prefixes)) not in ("humaneval", "mbpp"):
        raise _err(file, "eval", f"task ids must all start with HumanEval/ or Mbpp/, got {sorted(prefixes)}",
                   "ingest one evalplus.evaluate output per dataset")
    dataset = next(iter(prefixes))
    base, plus = [], []
    for tid, samples in evals.items():
        if not isinstance(samples, list) or not samples:
            raise _err(file, f"eval.{tid}", "must be a non-empty list of sample results", FIX_LMEVAL)
        for s in samples:
            if not isinstance(s, dict) or "base_status" not in s:
                raise _err(file, f"eval.{tid}", "sample without 'base_status'", FIX_LMEVAL)
        base.append(sum(s["base_status"] == "pass" for s in samples) / len(samples))
        if all("plus_status" in s for s in samples):
            plus.append(sum(s["base_status"] == "pass" and s["plus_status"] == "pass"
                            for s in samples) / len(samples))
    when = None
    d = data.get("date")
    if isinstance(d, str):
        try:
            when = datetime.fromisoformat(d.replace(" ", "T"))
        except ValueError:
            when = None
    settings = {"harness": "evalplus", "metric": "pass@1", "file": file, "shots": 0,
                "problems": len(evals), "hash": data.get("hash"),
                "date": when.isoformat() if when else None}
    scores = [Score(dataset, 100.0 * sum(base) / len(base), "percent", dict(settings), model)]
    if len(plus) == len(base):
        scores.append(Score(f"{dataset}_plus", 100.0 * sum(plus) / len(plus), "percent",
                            dict(settings), model))
    return Parsed("evalplus", scores, model=model, recorded_at=when)


def parse_results(doc: dict | bytes | str | Path, source: str = "upload", model: str | None = None,
                  task_map: dict[str, str] | None = None, scales: tuple[str, ...] | None = None) -> list[dict]:
    """Rows ``{benchmark, value, scale, settings, hf_id}`` of a results file (the app's upload entry).

    ``doc`` is the parsed JSON object, its bytes or a path. An lm-eval file gives, per registry task,
    a 'raw' row and, for the six leaderboard tasks when the inputs allow, a 'normalized' row; pass
    ``scales=("normalized",)`` to keep one scale. ValueError (naming field and fix) for anything else.
    """
    if isinstance(doc, dict):
        parsed = _parse_data(doc, source, model, task_map)
    else:
        parsed = parse(doc, name=source if isinstance(doc, (bytes, bytearray)) else None,
                       model=model, task_map=task_map)
    return [{"benchmark": s.benchmark, "value": s.value, "scale": s.scale, "settings": s.settings,
             "hf_id": s.hf_id} for s in parsed.scores if scales is None or s.scale in scales]
