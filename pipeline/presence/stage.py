"""Pipeline stage ``presence``: score documents with each model, merge, analyse (paper 5.2).

``run(ctx)``:
1. sample the corpus once (``corpus.ensure_corpus``; Parquet shards under ``work_dir/presence/corpus``);
2. for every configured model and every document shard of this job, write
   ``work_dir/presence/scores/<corpus>-N<max_tokens>/<model>/shard-XXXXX.parquet`` (doc_id, subset,
   n_tokens, sum_logprob, score) atomically; a shard already there is skipped, so a killed run resumes;
3. merge every score shard present into ``presence_scores`` and derive ``presence_models``,
   ``presence_summary``, ``presence_hist``, ``presence_jsd``, ``presence_family_map`` and
   ``presence_regression`` (advisor.divergence / advisor.presence).

Scaling out: ``--shard i/n`` (0 <= i < n) scores only document shards with index % n == i (cluster job
arrays; each job merges what is on disk, a final run without --shard merges all). Under
``accelerate launch`` every process scores its own slice of those shards; the main process waits for
the others, then merges, and the other processes leave without publishing. The same scoring, without
any database, is ``python -m pipeline.presence.stage --config F [--shard i/n]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import InputError
from pipeline.presence import corpus
from pipeline.presence.config import PresenceConfig

SCORE_SCHEMA = pa.schema([("doc_id", pa.string()), ("subset", pa.string()), ("n_tokens", pa.int32()),
                          ("sum_logprob", pa.float64()), ("score", pa.float64())])


def parse_shard(arg: str | None) -> tuple[int, int]:
    if not arg:
        return 0, 1
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(arg))
    if not m or int(m.group(2)) < 1 or not int(m.group(1)) < int(m.group(2)):
        raise InputError("--shard", f"bad value {arg!r}", "use i/n with 0 <= i < n, e.g. --shard 0/8")
    return int(m.group(1)), int(m.group(2))


def select_shards(n_shards: int, job: int = 0, jobs: int = 1, rank: int = 0, world: int = 1) -> list[int]:
    """Document shard indices for job ``job`` of ``jobs`` and process ``rank`` of ``world``."""
    mine = [i for i in range(n_shards) if i % jobs == job]
    return mine[rank::world]


def resolve_model(spec: dict, root: Path, resolve=Path) -> str:
    """Where to load a model from: its path, the tiny model built on demand, or its hub id."""
    if spec.get("tiny"):
        from pipeline.fixtures import build_model
        return str(build_model(Path(root) / "tiny_models" / spec["tiny"], arch=spec["tiny"]))
    if spec.get("path"):
        return str(resolve(spec["path"]))
    return spec["id"]


def model_slug(name: str) -> str:
    if name.startswith("tiny:"):
        return "tiny--" + name[5:]
    if Path(name).exists():
        p = Path(name).resolve()
        return f"{p.name}-{hashlib.sha1(str(p).encode()).hexdigest()[:8]}"
    return name.replace("/", "--")


def scores_dir(root: Path, cfg: PresenceConfig, model: str) -> Path:
    return Path(root) / "scores" / f"{corpus.corpus_key(cfg)}-N{cfg.max_tokens}" / model_slug(model)


def _dist():
    """accelerate's PartialState under a multi-process launch, else None."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch
        from accelerate import PartialState
        return PartialState(cpu=not torch.cuda.is_available())  # gloo on CPU-only machines
    return None


def _clean_temp(out: Path) -> None:
    """Remove temp files left by killed writers (their pid is gone)."""
    for p in out.glob(".shard-*.tmp"):
        pid = p.name.split(".")[-2]
        if pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                p.unlink(missing_ok=True)
            except PermissionError:
                pass


def score_shards(cfg: PresenceConfig, root: Path, shard_paths: list[Path], todo: list[int], log=print,
                 resolve=Path, device: str | None = None) -> None:
    """Write the missing score shards ``todo`` for every model (a model is loaded only if needed)."""
    from tqdm.auto import tqdm

    for spec in cfg.specs():
        model_name = spec["id"]
        out = scores_dir(root, cfg, model_name)
        _clean_temp(out)
        missing = [i for i in todo if not (out / f"shard-{i:05d}.parquet").exists()]
        if not missing:
            log(f"presence {model_name}: {len(todo)} shard(s) already scored, skipped")
            continue
        import torch

        from pipeline.presence import score

        dtype = score.resolve_dtype(cfg.dtype, score.resolve_device(device or cfg.device))
        _same_dtype_as_before(out, model_name, dtype)
        model, tok = score.load_model(resolve_model(spec, root, resolve), device or cfg.device, cfg.dtype,
                                      cfg.attn_implementation, trust_remote_code=spec["trust_remote_code"])
        pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
        scorer = score.PresenceScorer(model, pad_id=pad, batch_tokens=cfg.batch_tokens,
                                      head_chunk_tokens=cfg.head_chunk_tokens,
                                      pass_attention_mask=cfg.pass_attention_mask, progress=True,
                                      compile=cfg.compile, pack=cfg.pack, row_tokens=cfg.row_tokens)
        out.mkdir(parents=True, exist_ok=True)
        checked = False
        for i in tqdm(missing, desc=f"presence {model_name}", unit="shard"):
            docs = pq.read_table(shard_paths[i], columns=["doc_id", "subset", "text"]).to_pydict()
            seqs = score.encode(tok, docs["text"], cfg.max_tokens)
            if not checked:
                gap = score.self_check(scorer, seqs)
                log(f"presence {model_name}: fast LM-head path matches the model's logits (max gap {gap:.2g})")
                checked = True
            t0 = time.perf_counter()
            sums, counts = scorer.score(seqs)
            if scorer.device.type == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - t0
            table = pa.table({"doc_id": docs["doc_id"], "subset": docs["subset"], "n_tokens": counts.astype(np.int32),
                              "sum_logprob": sums,
                              "score": score.finish(sums, counts, cfg.normalise, cfg.max_tokens)}, schema=SCORE_SCHEMA)
            path = out / f"shard-{i:05d}.parquet"
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            pq.write_table(table, tmp)
            meta = {"model": model_name, "tokens": int(sum(len(s) for s in seqs)), "seconds": seconds,
                    "device": str(scorer.device), "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
                    "normalise": cfg.normalise, "max_tokens": cfg.max_tokens, "compiled": scorer.compiled}
            path.with_suffix(".json").write_text(json.dumps(meta))
            os.replace(tmp, path)  # the Parquet file appears last: its presence means the shard is done
        del model, scorer
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _same_dtype_as_before(out: Path, model_name: str, dtype) -> None:
    """Refuse to add shards scored in another dtype to a model's finished ones (scores would mix)."""
    want = str(dtype).replace("torch.", "")
    for meta in sorted(out.glob("shard-*.json"))[:1]:
        had = json.loads(meta.read_text()).get("dtype")
        if had and had != want:
            raise InputError(str(meta), f"presence {model_name}: finished shards were scored in {had}, this run "
                             f"would score in {want}", f"set presence.dtype: {had} to resume, or delete {out} "
                             "to rescore every shard", field="presence.dtype")


def score_job(cfg: PresenceConfig, root: Path, shard_arg, resolve=Path, log=print):
    """Corpus + scoring for this job/process. Returns (shard paths, PartialState or None)."""
    job, jobs = parse_shard(shard_arg)
    state = _dist()
    if state is None or state.is_main_process:
        shard_paths = corpus.ensure_corpus(cfg, root, resolve=resolve, log=log)
        for spec in cfg.specs():  # tiny models are built once, before any process loads them
            if spec.get("tiny"):
                resolve_model(spec, root)
    if state is not None:
        state.wait_for_everyone()
        shard_paths = corpus.ensure_corpus(cfg, root, resolve=resolve, log=lambda m: None)
    rank, world = (state.process_index, state.num_processes) if state is not None else (0, 1)
    todo = select_shards(len(shard_paths), job, jobs, rank, world)
    log(f"presence: {len(todo)} of {len(shard_paths)} document shard(s) for job {job}/{jobs}, "
        f"process {rank}/{world}")
    # under a multi-process launch each process uses its own GPU (cuda:LOCAL_RANK)
    device = str(state.device) if state is not None and cfg.device == "auto" else None
    score_shards(cfg, root, shard_paths, todo, log=log, resolve=resolve, device=device)
    if state is not None:
        state.wait_for_everyone()
    return shard_paths, state


def run(ctx) -> None:
    cfg = ctx.section(PresenceConfig, "presence").check(ctx.config.path)
    root = ctx.work_dir / "presence"
    shard_paths, state = score_job(cfg, root, getattr(ctx.args, "shard", None), ctx.config.resolve, ctx.log)
    if state is not None and not state.is_main_process:
        ctx.log(f"presence: process {state.process_index} done; the main process merges")
        raise SystemExit(0)
    merge(ctx, cfg, root, len(shard_paths))
    analyse(ctx, cfg)


def merge(ctx, cfg: PresenceConfig, root: Path, n_shards: int) -> None:
    con = ctx.con
    for pos, model_name in enumerate(cfg.model_ids):
        out = scores_dir(root, cfg, model_name)
        files = sorted(out.glob("shard-*.parquet"))
        if not files:
            ctx.log(f"presence {model_name}: no scores yet")
            continue
        if len(files) < n_shards:
            ctx.log(f"presence {model_name}: {len(files)} of {n_shards} shard(s) scored so far (partial)")
        # the score is derived from the shards' sums here, as score.finish does, so that a change of
        # presence.normalise (not part of the shard key) rescales finished shards instead of mixing rules
        con.execute("""INSERT INTO presence_scores
                       SELECT ?, doc_id, subset, n_tokens,
                              CASE WHEN n_tokens = 0 THEN 'nan'::DOUBLE
                                   ELSE sum_logprob / CASE WHEN ? = 'scored' THEN n_tokens ELSE ? END END
                       FROM read_parquet(?)""",
                    [model_name, cfg.normalise, cfg.max_tokens, [str(f) for f in files]])
        metas = [json.loads(f.with_suffix(".json").read_text()) for f in files if f.with_suffix(".json").exists()]
        tokens = sum(m["tokens"] for m in metas)
        seconds = sum(m["seconds"] for m in metas)
        n_docs = con.execute("SELECT count(*) FROM presence_scores WHERE model = ?", [model_name]).fetchone()[0]
        # what ran compiled, per shard (a compile failure falls back to eager: see score.PresenceScorer)
        compiled = ", ".join(sorted({m.get("compiled", "unknown") for m in metas})) or None
        con.execute("INSERT INTO presence_models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [model_name, pos, pos == 0, n_docs, tokens, corpus.corpus_key(cfg), cfg.max_tokens,
                     cfg.normalise, metas[0]["device"] if metas else None, metas[0]["dtype"] if metas else None,
                     compiled, tokens / seconds if seconds > 0 else None, seconds])


def _models_facts(ctx) -> pd.DataFrame:
    cols = ["hf_id", "family", "params_b", "pretrain_tokens_t"]
    facts = ctx.con.execute(f"SELECT {', '.join(cols)} FROM models").fetchdf()
    if len(facts):
        return facts
    csv = ctx.data_dir / "paper" / "models.csv"
    return pd.read_csv(csv)[cols] if csv.exists() else pd.DataFrame(columns=cols)


def analyse(ctx, cfg: PresenceConfig) -> None:
    from advisor import divergence
    from advisor import presence as ap

    con = ctx.con
    scores = con.execute("SELECT model, subset, score FROM presence_scores WHERE isfinite(score)").fetchdf()
    order = [m for m in cfg.model_ids if m in set(scores.model)]
    fmap = ap.family_map(_models_facts(ctx), order, rule=cfg.family_rule)
    con.register("presence_fmap_df", fmap)
    con.execute("INSERT INTO presence_family_map SELECT hf_id, source_model, family, pretrain_tokens_t, reason "
                "FROM presence_fmap_df")
    con.unregister("presence_fmap_df")
    reused = fmap[fmap.reason.str.startswith("family rule")]
    ctx.log(f"presence: family rule {'on' if cfg.family_rule else 'off'}: {len(reused)} model(s) reuse a "
            f"family member's distribution")
    if not order:
        _store_regression(ctx, pd.DataFrame([{"cv": "nested", "features": "base+presence", "n_models": 0,
                                              "mae": np.nan, "mae_change": np.nan, "status": "insufficient_data",
                                              "note": "no presence scores"}]), cfg)
        return
    summary = ap.subset_summary(scores)
    summary["model"] = pd.Categorical(summary.model, order)
    summary = summary.sort_values(["model", "subset"]).assign(model=lambda d: d.model.astype(str))
    con.executemany("INSERT INTO presence_summary VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    summary[["model", "subset", "n_docs", "mean", "std", "q05", "q25", "median", "q75", "q95"]]
                    .astype(object).where(summary.notna(), None).values.tolist())
    hist_rows = []
    for subset, part in [("all", scores)] + list(scores.groupby("subset")):
        by_model = {m: s.to_numpy() for m, s in part.groupby("model").score}  # one pass, not one per model
        samples = {m: by_model[m] for m in order if m in by_model}
        edges, hists = divergence.histograms(samples, cfg.bins)
        for m, h in hists.items():
            hist_rows += [(m, subset, b, float(edges[b]), float(edges[b + 1]), float(h[b])) for b in range(len(h))]
        if subset == "all":  # Fig. 8: the distance over all documents, from these same histograms
            jsd = divergence.jsd_of_histograms(hists, base=cfg.jsd_base)
    con.executemany("INSERT INTO presence_hist VALUES (?, ?, ?, ?, ?, ?)", hist_rows)
    con.executemany("INSERT INTO presence_jsd VALUES (?, ?, ?, ?, ?)",
                    [(a, b, float(jsd.loc[a, b]), cfg.bins, cfg.jsd_base) for a in order for b in order])
    _store_regression(ctx, _regression(ctx, cfg, summary, fmap), cfg)


def _regression(ctx, cfg: PresenceConfig, summary: pd.DataFrame, fmap: pd.DataFrame) -> pd.DataFrame:
    from advisor import predictor, registry, store
    from advisor import presence as ap

    features = list(cfg.regression_features) or list(predictor.DEFAULT_FEATURES)
    X = store.feature_matrix(ctx.con, features, registry.model_scales(features, "normalized"))  # as the predictor
    rm = store.rm_table(ctx.con, method="regression", sources=tuple(cfg.regression_rm_sources), one_per_model=True)
    y = rm.set_index("hf_id").score.dropna()
    groups = fmap.set_index("hf_id").family
    result = ap.regression_experiment(X, y, ap.presence_features(summary, fmap, cfg.subsets), groups=groups,
                                      min_models=cfg.regression_min_models)
    for _, r in result.iterrows():
        ctx.log(f"presence regression [{r.cv}, {r.features}]: n={r.n_models} MAE={r.mae} ({r.status})")
    return result


def _store_regression(ctx, result: pd.DataFrame, cfg: PresenceConfig) -> None:
    rows = result.assign(target="score", method="regression")
    ctx.con.executemany("INSERT INTO presence_regression VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows[["cv", "features", "n_models", "mae", "mae_change", "status", "note", "target",
                              "method"]].astype(object).where(rows.notna(), None).values.tolist())


def main(argv=None) -> int:
    """Scoring only (no database): ``[accelerate launch] -m pipeline.presence.stage --config F``."""
    from pipeline import config as config_mod

    p = argparse.ArgumentParser(prog="python -m pipeline.presence.stage", description=main.__doc__)
    p.add_argument("--config", help="YAML config with a presence: section")
    p.add_argument("--shard", help="score slice i of n document shards, as i/n (0 <= i < n)")
    args = p.parse_args(argv)
    try:
        pc = config_mod.load(args.config)
        cfg = config_mod.section(PresenceConfig, pc.raw, "presence", pc.path).check(pc.path)
        score_job(cfg, pc.resolve(pc.work_dir) / "presence", args.shard, pc.resolve)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
