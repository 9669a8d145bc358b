"""``python -m pipeline.run --stages presence --plan``: the presence stage's expected cost, before a run.

For every configured model: documents, tokens and GPU-hours for the whole corpus and for the sequential
rule, per model and in total. Nothing is scored, loaded or published. The inputs, one home each:

* ``data/presence/throughput.csv``: tokens/s measured on a GPU (bench/bench_presence_gpu.py) at two
  sizes per ``compile`` mode. A model of P billion parameters is assumed to run at the same
  parameters x tokens/s (i.e. MFU) as the measured models, interpolated in log(P) between them and held
  constant outside (``advisor.core.throughput``); its size comes from the model's ``params_b`` in the
  config or ``data/paper/models.csv``.
  Documents are assumed to hold the bench's mean tokens per document (random lengths 256-2048), and the
  bound where every document reaches ``max_tokens`` is printed too.
* ``data/presence/sequential_bench.csv``: documents per model at the stop measured by
  bench/bench_presence_sequential.py on synthetic Figure-7-like scores at the default tolerances (the row
  with the number of models nearest the config's). With
  other tolerances it is scaled by (bench tolerance / configured tolerance)^2 (widths shrink as
  1/sqrt(n)), bounded by the first round and the corpus. It is an estimate: real scores can need more.
* Every round reloads (and with ``compile``, recompiles) each model: rounds x compile seconds are added.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from advisor.core import throughput
from pipeline.errors import InputError
from pipeline.presence.config import PresenceConfig, compile_mode

THROUGHPUT = "presence/throughput.csv"
SEQUENTIAL = "presence/sequential_bench.csv"


def _read(data_dir: Path, name: str) -> pd.DataFrame:
    path = Path(data_dir) / name
    if not path.exists():
        raise InputError(path, "file not found", f"restore data/{name} from the repository")
    return pd.read_csv(path)


def tokens_per_s(table: pd.DataFrame, params_b: float, mode: str) -> tuple[float, float, float, str]:
    """(tokens/s, compile seconds, bench tokens/doc, gpu) for a model of ``params_b`` billion parameters."""
    rows = table[table["compile"] == mode].sort_values("params_b")
    if rows.empty:
        raise InputError(THROUGHPUT, f"no measured row for compile mode {mode!r}",
                         f"use one of {sorted(set(table['compile']))}")
    x = np.log(rows.params_b.to_numpy(float))
    rate = throughput.tokens_per_second(params_b, rows.params_b, rows.tokens_per_s)  # same params x tokens/s
    comp = float(np.interp(math.log(params_b), x, rows.compile_s.to_numpy(float)))
    return rate, comp, float(rows.bench_tokens_per_doc.mean()), str(rows.gpu.iloc[0])


def bench_row(bench: pd.DataFrame, n_models: int) -> pd.Series:
    """The bench measurement on the Figure-7-like shapes (``shapes == 'fig7'``) at the largest corpus, with
    the number of models nearest the config's (more models: more JSD cells, more documents)."""
    rows = bench[bench.shapes == "fig7"]
    rows = rows[rows.docs_per_subset == rows.docs_per_subset.max()]
    return rows.loc[(rows.models - n_models).abs().idxmin()]


def expected_docs_per_subset(cfg: PresenceConfig, bench: pd.DataFrame) -> tuple[float, float]:
    """(documents per subset at the stop, rounds), scaled from the bench to the configured tolerances."""
    rule, k = cfg.sequential, cfg.corpus.docs_per_subset
    if rule.max_rounds == 1 or k <= rule.min_docs_per_subset:
        return float(k), 1.0  # one round: the whole corpus
    row = bench_row(bench, len(cfg.model_ids))
    scale = max((row.tol_jsd / rule.tol_jsd) ** 2, (row.tol_mean / rule.tol_mean) ** 2,
                (row.tol_hist / rule.tol_hist) ** 2)
    per_subset = row.mean_docs_at_stop / 5 * scale
    return float(min(k, max(rule.min_docs_per_subset, per_subset))), float(row.mean_rounds)


def plan(cfg: PresenceConfig, data_dir: Path) -> tuple[pd.DataFrame, dict]:
    table, bench = _read(data_dir, THROUGHPUT), _read(data_dir, SEQUENTIAL)
    sizes = _read(data_dir, "paper/models.csv").set_index("hf_id").params_b
    mode, max_tokens = compile_mode(cfg.scoring.compile), cfg.scoring.max_tokens
    S = len(cfg.corpus.subsets)
    full_docs = cfg.corpus.docs_per_subset * S
    seq_per_subset, rounds = expected_docs_per_subset(cfg, bench)
    seq_docs = seq_per_subset * S
    rows = []
    for spec in cfg.models:
        p = spec.params_b or (sizes.get(spec.id) if spec.id in sizes.index else None)
        p = float(p) if p is not None and pd.notna(p) and float(p) > 0 else None
        row = {"model": spec.id, "params_b": p, "docs_full": full_docs, "docs_sequential": seq_docs}
        if p is None:
            rows.append(row | {"note": "size unknown: add params_b to its entry in presence.models"})
            continue
        rate, comp, tok_doc, _ = tokens_per_s(table, p, mode)
        tok_doc = min(tok_doc, max_tokens)
        for kind, docs, n_rounds in (("full", full_docs, 1.0), ("sequential", seq_docs, rounds)):
            row[f"tokens_{kind}"] = docs * tok_doc
            row[f"gpu_h_{kind}"] = (docs * tok_doc / rate + n_rounds * comp) / 3600
            row[f"gpu_h_{kind}_cap"] = (docs * max_tokens / rate + n_rounds * comp) / 3600
        rows.append(row | {"note": ""})
    out = pd.DataFrame(rows)
    info = {"gpu": str(table.gpu.iloc[0]), "compile": mode, "rounds": rounds, "seq_per_subset": seq_per_subset,
            "bench": bench_row(bench, len(cfg.model_ids)).to_dict()}
    return out, info


def print_plan(pipeline_cfg, stages: list[str]) -> int:
    """Print the presence plan of ``pipeline_cfg`` (a config.PipelineConfig); 0 on success."""
    if "presence" not in stages:
        raise InputError("--plan", "--plan estimates the presence stage only", "add --stages presence")
    cfg: PresenceConfig = pipeline_cfg.section("presence")
    df, info = plan(cfg, pipeline_cfg.resolve(pipeline_cfg.data_dir))
    b, rule = info["bench"], cfg.sequential
    print(f"presence plan for {pipeline_cfg.path}: {len(df)} model(s), corpus {cfg.corpus.docs_per_subset:,} documents "
          f"x {len(cfg.corpus.subsets)} subsets, N = {cfg.scoring.max_tokens}; {info['gpu']} throughput at compile "
          f"{info['compile']!r} (data/{THROUGHPUT}); nothing is scored or published")
    if rule.max_rounds > 1:
        print(f"sequential rule: tolerances JSD {rule.tol_jsd}, mean {rule.tol_mean} nats, bin {rule.tol_hist}: "
              f"expected {info['seq_per_subset']:,.0f} documents per subset ({info['rounds']:.1f} rounds) - an "
              f"estimate from bench/bench_presence_sequential.py on synthetic Figure-7-like scores "
              f"({b['models']} models, mean {b['mean_docs_at_stop']:,} and at most {b['max_docs_at_stop']:,} "
              f"documents at the stop over {b['seeds']} seeds at JSD {b['tol_jsd']}, mean {b['tol_mean']}); real "
              "scores may need more")
    else:
        print("sequential.max_rounds: 1: the whole corpus in one round")
    fmt = "{:<45} {:>7} {:>11} {:>11} {:>9} {:>9} {:>11} {:>11} {:>9} {:>9}"
    print(fmt.format("model", "params", "docs full", "docs seq", "GPU-h", "(at cap)", "tokens full",
                     "tokens seq", "GPU-h", "(at cap)"))
    print(fmt.format("", "B", "", "", "full", "", "", "", "seq", ""))
    for _, r in df.iterrows():
        if r.get("note"):
            print(f"{r.model:<45} {'?':>7} {r.docs_full:>11,.0f} {r.docs_sequential:>11,.0f}  {r.note}")
            continue
        print(fmt.format(r.model[:45], f"{r.params_b:g}", f"{r.docs_full:,.0f}", f"{r.docs_sequential:,.0f}",
                         f"{r.gpu_h_full:.1f}", f"{r.gpu_h_full_cap:.1f}", f"{r.tokens_full / 1e9:.2f}B",
                         f"{r.tokens_sequential / 1e9:.2f}B", f"{r.gpu_h_sequential:.2f}",
                         f"{r.gpu_h_sequential_cap:.2f}"))
    known = df.dropna(subset=["params_b"])
    if "gpu_h_full" in known:
        print(fmt.format(f"total ({len(known)} of {len(df)} models with a size)", "",
                         f"{known.docs_full.sum():,.0f}", f"{known.docs_sequential.sum():,.0f}",
                         f"{known.gpu_h_full.sum():.1f}", f"{known.gpu_h_full_cap.sum():.1f}",
                         f"{known.tokens_full.sum() / 1e9:.1f}B", f"{known.tokens_sequential.sum() / 1e9:.1f}B",
                         f"{known.gpu_h_sequential.sum():.1f}", f"{known.gpu_h_sequential_cap.sum():.1f}"))
    print("GPU-hours assume the bench's mean tokens per document (random lengths 256-2048); '(at cap)' every "
          f"document at {cfg.scoring.max_tokens} tokens; each round adds one model load + compile per model")
    return 0
