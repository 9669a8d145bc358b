"""Pipeline stage ``presence``: score documents with each model, merge, analyse (paper 5.2).

``run(ctx)``:
1. sample the corpus once (``corpus.ensure_corpus``; Parquet shards under ``work_dir/presence/corpus``);
2. for every configured model and every document shard of this job, write
   ``work_dir/presence/scores/<corpus>-N<max_tokens>/<model>/shard-XXXXX.parquet`` (doc_id, subset,
   n_tokens, sum_logprob, score) atomically; a shard already there is skipped, so a killed run resumes;
   round by round (``sequential.py``): round k scores the corpus shards ``[0, n_k)`` of the stored stratified
   random order with every model, then computes bootstrap intervals of what is published and stops when
   they are within the tolerances (or at the cap); each round's decision is a ``Rounds`` record on disk;
3. merge the score shards of the last recorded round into ``presence_scores`` and derive ``presence_models``,
   ``presence_summary``, ``presence_jsd`` (with intervals), ``presence_rounds``, ``presence_family_map``
   and ``presence_regression`` (advisor.analyses.divergence / advisor.analyses.presence). Models
   (``pipeline.models.ModelSpec``) load from their path or hub id; a ``tiny`` one from ``work_dir/models``
   (built there on first use).

Scaling out: ``--shard i/n`` (0 <= i < n; presence.shard) scores only document shards with index % n == i
of each round (cluster job arrays; a job that finds other jobs' shards of a round missing waits
``round_wait_s`` and then leaves; any job or run that finds a round complete records its decision and goes
on; a final run without --shard completes and merges all). Under
``accelerate launch`` every process scores its own slice of those shards; the main process waits for
the others, then merges, and the other processes leave without publishing. The same scoring, without
any database, is ``python -m pipeline.presence.stage --config F [--shard i/n]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import runtime, schema
from pipeline.errors import InputError
from pipeline.presence import corpus
from pipeline.presence.config import PresenceConfig, parse_shard

SCORE_SCHEMA = pa.schema([("doc_id", pa.string()), ("subset", pa.string()), ("n_tokens", pa.int32()),
                          ("sum_logprob", pa.float64()), ("score", pa.float64())])


def select_shards(n_shards: int, job: int = 0, jobs: int = 1, rank: int = 0, world: int = 1) -> list[int]:
    """Document shard indices for job ``job`` of ``jobs`` and process ``rank`` of ``world``."""
    mine = [i for i in range(n_shards) if i % jobs == job]
    return mine[rank::world]


def model_slug(name: str) -> str:
    if name.startswith("tiny:"):
        return "tiny--" + name[5:]
    if Path(name).exists():
        p = Path(name).resolve()
        return f"{p.name}-{hashlib.sha1(str(p).encode(), usedforsecurity=False).hexdigest()[:8]}"
    return name.replace("/", "--")


def scores_root(root: Path, cfg: PresenceConfig) -> Path:
    """``root/scores/<corpus>-N<max_tokens>``: the score shards and round records of this corpus and N."""
    return Path(root) / "scores" / f"{corpus.corpus_key(cfg.corpus, cfg.scoring.max_tokens)}-N{cfg.scoring.max_tokens}"


def scores_dir(root: Path, cfg: PresenceConfig, model: str) -> Path:
    return scores_root(root, cfg) / model_slug(model)


def _dist():
    """accelerate's PartialState under a multi-process launch, else None."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from accelerate import PartialState
        return PartialState(cpu=not runtime.cuda_available())  # gloo on CPU-only machines
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
                 resolve=Path, device: str | None = None, work_dir: Path | None = None) -> None:
    """Write the missing score shards ``todo`` for every model (a model is loaded only if needed).
    ``work_dir``: where tiny models live (``<work_dir>/models``; default: the parent of ``root``)."""
    from tqdm.auto import tqdm

    work_dir = Path(work_dir) if work_dir is not None else Path(root).parent
    sc = cfg.scoring
    for spec in cfg.models:
        model_name = spec.id
        out = scores_dir(root, cfg, model_name)
        _clean_temp(out)
        missing = [i for i in todo if not (out / f"shard-{i:05d}.parquet").exists()]
        if not missing:
            log(f"presence {model_name}: {len(todo)} shard(s) already scored, skipped")
            continue
        import torch

        from pipeline.presence import score

        dev, dtype_name = device or sc.device, spec.dtype if spec.dtype != "auto" else sc.dtype
        dtype = runtime.resolve_dtype(dtype_name, runtime.resolve_device(dev, "presence.scoring.device"),
                                      cpu_bf16=True, field="presence.scoring.dtype")
        _same_dtype_as_before(out, model_name, dtype)
        model, tok = score.load_model(spec.resolve_path(work_dir, resolve), dev, dtype_name, sc.attn_implementation,
                                      trust_remote_code=spec.trust_remote_code, revision=spec.revision)
        pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
        scorer = score.PresenceScorer(model, pad_id=pad, batch_tokens=sc.batch_tokens,
                                      head_chunk_tokens=sc.head_chunk_tokens,
                                      pass_attention_mask=sc.pass_attention_mask, progress=True,
                                      compile=sc.compile, pack=sc.pack, row_tokens=sc.row_tokens)
        out.mkdir(parents=True, exist_ok=True)
        checked = False
        for i in tqdm(missing, desc=f"presence {model_name}", unit="shard"):
            docs = pq.read_table(shard_paths[i], columns=["doc_id", "subset", "text"]).to_pydict()
            seqs = score.encode(tok, docs["text"], sc.max_tokens)
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
                              "score": score.finish(sums, counts, sc.normalise, sc.max_tokens)}, schema=SCORE_SCHEMA)
            path = out / f"shard-{i:05d}.parquet"
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            pq.write_table(table, tmp)
            meta = {"model": model_name, "tokens": int(sum(len(s) for s in seqs)), "seconds": seconds,
                    "device": str(scorer.device), "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
                    "normalise": sc.normalise, "max_tokens": sc.max_tokens, "compiled": scorer.compiled}
            path.with_suffix(".json").write_text(json.dumps(meta))
            os.replace(tmp, path)  # the Parquet file appears last: its presence means the shard is done
        del model, scorer
        if runtime.cuda_available():
            torch.cuda.empty_cache()


def _same_dtype_as_before(out: Path, model_name: str, dtype) -> None:
    """Refuse to add shards scored in another dtype to a model's finished ones (scores would mix)."""
    want = str(dtype).replace("torch.", "")
    for meta in sorted(out.glob("shard-*.json"))[:1]:
        had = json.loads(meta.read_text()).get("dtype")
        if had and had != want:
            raise InputError(str(meta), f"presence {model_name}: finished shards were scored in {had}, this run "
                             f"would score in {want}", f"set presence.scoring.dtype: {had} to resume, or delete {out} "
                             "to rescore every shard", field="presence.scoring.dtype")


# --- sequential rounds ----------------------------------------------------------------------------

class Rounds:
    """The round records of one (corpus, models, rule) under ``scores/<corpus>-N<max>/rounds/<key>/``.

    ``round-XX.json`` is written (atomically) once every model has scored the round's shards
    ``[0, n_shards)``; it holds the decision (stop, or the next round's shards) and every model's widest
    interval. The decision is a deterministic function of the scores (seeded bootstrap), so every job and
    process that reads a record continues alike, and a rerun resumes at the first round without one.
    """

    def __init__(self, cfg: PresenceConfig, root: Path, n_shards: int):
        self.cfg, self.root, self.n_shards = cfg, Path(root), n_shards
        self.rule = cfg.sequential
        key = {"models": cfg.model_ids, "rule": {k: v for k, v in self.rule.__dict__.items()},
               "normalise": cfg.scoring.normalise, "subsets": list(cfg.corpus.subsets)}
        digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode(), usedforsecurity=False).hexdigest()[:10]
        self.dir = scores_root(root, cfg) / "rounds" / digest

    def first(self) -> int:
        from pipeline.presence import sequential

        return sequential.first_round_shards(self.rule, len(self.cfg.corpus.subsets), self.cfg.corpus.shard_docs,
                                             self.n_shards)

    def path(self, k: int) -> Path:
        return self.dir / f"round-{k:02d}.json"

    def read(self, k: int) -> dict | None:
        p = self.path(k)
        return json.loads(p.read_text()) if p.exists() else None

    def records(self) -> list[dict]:
        out, k = [], 0
        while (rec := self.read(k)) is not None:
            out.append(rec)
            k += 1
        return out

    def missing(self, n: int) -> int:
        """Score shards of ``[0, n)`` not yet on disk, over all models."""
        return sum(not (scores_dir(self.root, self.cfg, m) / f"shard-{i:05d}.parquet").exists()
                   for m in self.cfg.model_ids for i in range(n))

    def decide(self, k: int, n: int, log=print, wait_s: float = 0.0, evaluate: bool = True) -> dict | None:
        """Round k's record: read it, or compute and write it when every model has scored ``[0, n)``."""
        deadline = time.monotonic() + wait_s
        while (rec := self.read(k)) is None and self.missing(n):
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(10.0, max(0.1, wait_s / 20)))
        if rec is not None or not evaluate:
            return rec
        from pipeline.presence import sequential

        X, strata, _ = load_wide(self.cfg, self.root, range(n))
        est = sequential.estimate(X, strata, list(self.cfg.corpus.subsets), self.cfg.model_ids, self.rule,
                                  round_index=k)
        r = sequential.ratio(est, self.rule)
        cap = n >= self.n_shards
        stop = r <= 1 or cap
        rec = {"round": k, "n_shards": n, "n_documents": int(est.n_docs["all"]), "n_docs": est.n_docs,
               "ratio": r, "stop": stop, "level": 1 - self.rule.alpha / self.rule.max_rounds,
               "reason": "tolerance met" if r <= 1 else ("cap: whole corpus scored" if cap else "continue"),
               "growth": est.growth,
               "next_shards": None if stop else sequential.next_round(n, est.growth, k, self.rule, self.n_shards),
               "widths": est.widths.reset_index().to_dict(orient="records")}
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path(k).with_name(f".round-{k:02d}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rec, indent=1))
        os.replace(tmp, self.path(k))
        w = est.widths.max()
        log(f"presence round {k}: {rec['n_documents']} documents per model; widest intervals: mean +-"
            f"{w.mean_hw:.4f} (tol {self.rule.tol_mean}), bin +-{w.hist_hw:.4f} (tol {self.rule.tol_hist}), "
            f"JSD +-{w.jsd_hw:.4f} (tol {self.rule.tol_jsd}); " + (f"stop ({rec['reason']})" if stop else
                                                                  f"next round: {rec['next_shards']} shard(s)"))
        return rec

    def published(self) -> tuple[int | None, int]:
        """(shards the estimates rest on, round index): the stop round, else the last recorded one,
        else (None, 0) = whatever is on disk (partial)."""
        recs = self.records()
        return (recs[-1]["n_shards"], recs[-1]["round"]) if recs else (None, 0)


def load_wide(cfg: PresenceConfig, root: Path, shards) -> tuple[np.ndarray, np.ndarray, list]:
    """(scores (documents, models), subset index per document, doc ids) for the documents of ``shards``
    that every model scored with a finite score, in one document order."""
    from pipeline.presence import score

    cols = []
    for m in cfg.model_ids:
        out = scores_dir(root, cfg, m)
        t = pd.concat([pq.read_table(out / f"shard-{i:05d}.parquet").to_pandas() for i in shards])
        t[m] = score.finish(t.sum_logprob.to_numpy(), t.n_tokens.to_numpy(), cfg.scoring.normalise,
                            cfg.scoring.max_tokens)
        cols.append(t.set_index("doc_id")[["subset", m]] if not cols else t.set_index("doc_id")[[m]])
    wide = pd.concat(cols, axis=1, join="inner").dropna()
    code = {s: i for i, s in enumerate(cfg.corpus.subsets)}
    return wide[cfg.model_ids].to_numpy(), wide.subset.map(code).to_numpy(), list(wide.index)


def score_job(cfg: PresenceConfig, root: Path, resolve=Path, log=print, work_dir: Path | None = None):
    """Corpus + scoring for this job (``cfg.shard``) and process, round by round. Returns (shard paths,
    PartialState or None). ``work_dir``: where tiny models live (default: the parent of ``root``)."""
    job, jobs = parse_shard(cfg.shard)
    work_dir = Path(work_dir) if work_dir is not None else Path(root).parent
    state = _dist()
    if state is None or state.is_main_process:
        shard_paths = corpus.ensure_corpus(cfg.corpus, cfg.scoring.max_tokens, root, resolve=resolve, log=log)
        for spec in cfg.models:  # tiny models are built once, before any process loads them
            if spec.tiny:
                spec.resolve_path(work_dir)
    if state is not None:
        state.wait_for_everyone()
        shard_paths = corpus.ensure_corpus(cfg.corpus, cfg.scoring.max_tokens, root, resolve=resolve,
                                           log=lambda m: None)
    rank, world = (state.process_index, state.num_processes) if state is not None else (0, 1)
    # under a multi-process launch each process uses its own GPU (cuda:LOCAL_RANK)
    device = str(state.device) if state is not None and cfg.scoring.device == "auto" else None
    rounds = Rounds(cfg, root, len(shard_paths))
    main = state is None or state.is_main_process
    k, n = 0, rounds.first()
    while True:
        # round k: shards [0, n); shard i always belongs to job i % jobs, so rounds extend each job's slice
        todo = select_shards(n, job, jobs, rank, world)
        log(f"presence round {k}: {len(todo)} of {n} document shard(s) (corpus: {len(shard_paths)}) for job "
            f"{job}/{jobs}, process {rank}/{world}")
        score_shards(cfg, root, shard_paths, todo, log=log, resolve=resolve, device=device, work_dir=work_dir)
        if state is not None:
            state.wait_for_everyone()
        rec = rounds.decide(k, n, log=log if main else (lambda m: None), wait_s=cfg.round_wait_s, evaluate=main)
        if state is not None:
            state.wait_for_everyone()
            rec = rec or rounds.read(k)
        if rec is None:
            log(f"presence round {k}: {rounds.missing(n)} score shard(s) of other jobs missing; this job stops "
                "here (rerun it, or set presence.round_wait_s, to go on once they are written)")
            break
        if rec["stop"]:
            log(f"presence: stopped after round {k} on {rec['n_documents']} documents per model "
                f"({rec['reason']}; corpus {len(shard_paths)} shard(s))")
            break
        k, n = k + 1, rec["next_shards"]
    return shard_paths, state


def run(ctx) -> None:
    cfg: PresenceConfig = ctx.section("presence")  # validated by config.load (--shard: presence.shard)
    root = ctx.work_dir / "presence"
    shard_paths, state = score_job(cfg, root, ctx.config.resolve, ctx.log, work_dir=ctx.work_dir)
    if state is not None and not state.is_main_process:
        ctx.log(f"presence: process {state.process_index} done; the main process merges")
        raise SystemExit(0)
    rounds = Rounds(cfg, root, len(shard_paths))
    n_pub, k = rounds.published()
    merge(ctx, cfg, root, len(shard_paths), n_pub)
    analyse(ctx, cfg, round_index=k)
    _store_rounds(ctx, cfg, rounds.records())


def merge(ctx, cfg: PresenceConfig, root: Path, n_shards: int, n_pub: int | None = None) -> None:
    """Load score shards into ``presence_scores``: those of ``[0, n_pub)`` (the documents the last recorded
    round rests on), or every shard on disk when no round is recorded yet (a partial run)."""
    con = ctx.con
    for pos, model_name in enumerate(cfg.model_ids):
        out = scores_dir(root, cfg, model_name)
        files = sorted(out.glob("shard-*.parquet"))
        if n_pub is not None:
            files = [f for f in files if int(f.stem.split("-")[1]) < n_pub]
        if not files:
            ctx.log(f"presence {model_name}: no scores yet")
            continue
        if n_pub is None and len(files) < n_shards:
            ctx.log(f"presence {model_name}: {len(files)} of {n_shards} shard(s) scored so far (partial)")
        # the score is derived from the shards' sums here, as score.finish does, so that a change of
        # presence.scoring.normalise (not part of the shard key) rescales finished shards instead of mixing rules.
        # Set-based in DuckDB (millions of rows never pass through Python), columns by name like schema.insert.
        con.execute("""INSERT INTO presence_scores BY NAME
                       SELECT ? AS model, doc_id, subset, n_tokens,
                              CASE WHEN n_tokens = 0 THEN 'nan'::DOUBLE
                                   ELSE sum_logprob / CASE WHEN ? = 'scored' THEN n_tokens ELSE ? END END AS score
                       FROM read_parquet(?)""",
                    [model_name, cfg.scoring.normalise, cfg.scoring.max_tokens, [str(f) for f in files]])
        metas = [json.loads(f.with_suffix(".json").read_text()) for f in files if f.with_suffix(".json").exists()]
        tokens = sum(m["tokens"] for m in metas)
        seconds = sum(m["seconds"] for m in metas)
        n_docs = con.execute("SELECT count(*) FROM presence_scores WHERE model = ?", [model_name]).fetchall()[0][0]
        # what ran compiled, per shard (a compile failure falls back to eager: see score.PresenceScorer)
        compiled = ", ".join(sorted({m.get("compiled", "unknown") for m in metas})) or None
        schema.insert(con, "presence_models", [{
            "model": model_name, "position": pos, "is_reference": pos == 0, "n_docs": n_docs, "n_tokens": tokens,
            "corpus": corpus.corpus_key(cfg.corpus, cfg.scoring.max_tokens), "max_tokens": cfg.scoring.max_tokens,
            "normalise": cfg.scoring.normalise,
            "device": metas[0]["device"] if metas else None, "dtype": metas[0]["dtype"] if metas else None,
            "compiled": compiled, "tokens_per_s": tokens / seconds if seconds > 0 else None, "seconds": seconds}])


def _models_facts(ctx) -> pd.DataFrame:
    cols = ["hf_id", "family", "params_b", "pretrain_tokens_t"]
    facts = ctx.con.execute(f"SELECT {', '.join(cols)} FROM models").fetchdf()  # noqa: S608 - a literal list
    if len(facts):
        return facts
    csv = ctx.data_dir / "paper" / "models.csv"
    return pd.read_csv(csv)[cols] if csv.exists() else pd.DataFrame(columns=cols)


def analyse(ctx, cfg: PresenceConfig, round_index: int = 0) -> None:
    from advisor.analyses import presence as ap
    from pipeline.presence import sequential

    con = ctx.con
    scores = con.execute("SELECT model, doc_id, subset, score FROM presence_scores WHERE isfinite(score)").fetchdf()
    order = [m for m in cfg.model_ids if m in set(scores.model)]
    fmap = ap.family_map(_models_facts(ctx), order, rule=cfg.analysis.family_rule)
    schema.insert(con, "presence_family_map", fmap[["hf_id", "source_model", "family", "pretrain_tokens_t", "reason"]])
    reused = fmap[fmap.reason.str.startswith("family rule")]
    ctx.log(f"presence: family rule {'on' if cfg.analysis.family_rule else 'off'}: {len(reused)} model(s) reuse a "
            f"family member's distribution")
    # every estimate rests on the same documents for every model: those all of them scored (finite)
    wide = scores.pivot_table(index=["doc_id", "subset"], columns="model", values="score", aggfunc="first")
    wide = wide.reindex(columns=order).dropna() if order else wide
    if not order or wide.empty:
        _store_regression(ctx, pd.DataFrame([{"cv": "nested", "features": "base+presence", "n_models": 0,
                                              "mae": np.nan, "mae_change": np.nan, "status": "insufficient_data",
                                              "note": "no presence scores"}]), cfg)
        return
    kept = wide.index.get_level_values("doc_id")
    if len(kept) < scores.doc_id.nunique():
        ctx.log(f"presence: {scores.doc_id.nunique() - len(kept)} document(s) not scored (finite) by every model "
                "are left out of the estimates")
    scores = scores[scores.doc_id.isin(set(kept))]
    code = {s_: i for i, s_ in enumerate(cfg.corpus.subsets)}
    strata = wide.index.get_level_values("subset").map(code).to_numpy()
    est = sequential.estimate(wide.to_numpy(), strata, list(cfg.corpus.subsets), order, cfg.sequential,
                              round_index=round_index)
    summary = ap.subset_summary(scores).merge(
        est.means.rename(columns={"lo": "mean_lo", "hi": "mean_hi"})[["model", "subset", "mean_lo", "mean_hi"]],
        on=["model", "subset"], how="left")
    summary["model"] = pd.Categorical(summary.model, order)
    summary = summary.sort_values(["model", "subset"]).assign(model=lambda d: d.model.astype(str))
    cols = ["model", "subset", "n_docs", "mean", "std", "q05", "q25", "median", "q75", "q95", "mean_lo", "mean_hi"]
    schema.insert(con, "presence_summary", summary[cols])
    # Fig. 8: distances over all documents (the pages draw Fig. 7's histograms from presence_scores)
    j = est.jsd.set_index(["model_a", "model_b"])
    schema.insert(con, "presence_jsd", [
        {"model_a": a, "model_b": b, "jsd": float(j.jsd[(a, b)]), "bins": cfg.sequential.bins,
         "base": cfg.sequential.base, "lo": float(j.lo[(a, b)]), "hi": float(j.hi[(a, b)]),
         "n_documents": int(est.n_docs["all"])}
        for a in order for b in order])
    _store_regression(ctx, _guarded_regression(ctx, cfg, summary, fmap), cfg)


def _store_rounds(ctx, cfg: PresenceConfig, records: list[dict]) -> None:
    """``presence_rounds``: one row per (model, round) with the model's widest intervals and the decision."""
    schema.insert(ctx.con, "presence_rounds", [
        {"model": w["model"], "round": rec["round"], "n_shards": rec["n_shards"], "n_documents": rec["n_documents"],
         "mean_hw": w["mean_hw"], "hist_hw": w["hist_hw"], "jsd_hw": w["jsd_hw"], "ratio": rec["ratio"],
         "level": rec["level"], "stopped": rec["stop"], "reason": rec["reason"]}
        for rec in records for w in rec["widths"]])


def _regression(ctx, cfg: PresenceConfig, summary: pd.DataFrame, fmap: pd.DataFrame) -> pd.DataFrame:
    from advisor.analyses import presence as ap
    from advisor.core import registry
    from advisor.db import store
    from advisor.predict import specs

    features = list(cfg.analysis.regression_features) or list(specs.BASE_FEATURES)
    X = store.feature_matrix(ctx.con, features, registry.model_scales(features, "normalized"))  # as the predictor
    rm = store.rm_table(ctx.con, method="regression", sources=tuple(cfg.analysis.regression_rm_sources),
                        one_per_model=True)
    y = rm.set_index("hf_id").score.dropna()
    groups = fmap.set_index("hf_id").family
    result = ap.regression_experiment(X, y, ap.presence_features(summary, fmap, cfg.corpus.subsets), groups=groups,
                                      min_models=cfg.analysis.regression_min_models)
    for _, r in result.iterrows():
        ctx.log(f"presence regression [{r.cv}, {r.features}]: n={r.n_models} MAE={r.mae} ({r.status})")
    return result


def _guarded_regression(ctx, cfg: PresenceConfig, summary: pd.DataFrame, fmap: pd.DataFrame) -> pd.DataFrame:
    """``_regression`` behind the build's one guard (``pipeline.predictor.analyses.guarded``): when it fails,
    the table ``presence_regression`` holds one row with status 'skipped' and the reason (the Pre-training
    data page shows it), and the scores and everything else still publish."""
    from pipeline.predictor.analyses import guarded

    skipped: list[dict] = []
    result = guarded("presence_regression", lambda: _regression(ctx, cfg, summary, fmap), skipped)
    if skipped:
        ctx.log(f"  skipped presence regression: {skipped[0]['reason']}")
        result = pd.DataFrame([{"cv": "nested", "features": "base+presence", "n_models": 0, "mae": np.nan,
                                "mae_change": np.nan, "status": "skipped", "note": skipped[0]["reason"]}])
    return result


def _store_regression(ctx, result: pd.DataFrame, cfg: PresenceConfig) -> None:
    rows = result.assign(target="score", method="regression")
    schema.insert(ctx.con, "presence_regression", rows[["cv", "features", "n_models", "mae", "mae_change", "status",
                                                        "note", "target", "method"]])


def main(argv=None) -> int:
    """Scoring only (no database): ``[accelerate launch] -m pipeline.presence.stage --config F``."""
    from pipeline import config as config_mod

    p = argparse.ArgumentParser(prog="python -m pipeline.presence.stage", description=main.__doc__)
    p.add_argument("--config", help="YAML config with a presence: section")
    p.add_argument("--shard", help="score slice i of n document shards, as i/n (0 <= i < n)")
    args = p.parse_args(argv)
    try:
        pc = config_mod.load(args.config, overrides={"presence.shard": ("--shard", args.shard)})
        work_dir = pc.resolve(pc.work_dir)
        score_job(pc.section("presence"), work_dir / "presence", pc.resolve, work_dir=work_dir)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
