"""Sequential presence scoring: documents scored until the stop against the full corpus, and whether the
estimates at the stop agree with the full corpus's within the tolerance.

    .venv/bin/python bench/bench_presence_sequential.py [--seeds 100] [--models 8] [--docs-per-subset 200000]
    .venv/bin/python bench/bench_presence_sequential.py --skip-synthetic --smoke-docs 300

1. Synthetic (``bench/sequential_simulation.py``): scores shaped like the paper's Figure 7 (per-subset offsets, a
   gamma(2) tail to the left, models an overall +-0.25 and a per-subset +-0.125 nats shift apart, per-document
   noise ~0.12 nats), at the paper's corpus size (5 subsets x 200,000 documents), ``--models`` models.
   For each seed: the full-corpus values (every document), then the rule in shards of 10,000 documents
   (as configs/paper.yaml) at the default tolerances. A seed agrees when every presence feature (mean per
   subset and model) is within tol_mean and every JSD cell within tol_jsd of the full-corpus value.
   ``--noise`` changes the per-document disagreement between models (a harder case for the JSD).
2. Smoke: the project's two tiny random-initialised models (tiny:llama, tiny:qwen2) score the built-in
   corpus (``--smoke-docs`` per subset) through the real stage, once with the rule (``min_docs_per_subset``
   20, shards of ``--smoke-shard-docs``, the default tolerances times ``--smoke-tol-scale``) and once everything
   (``sequential: {max_rounds: 1}``); then the rule is
   replayed on those real scores in ``--seeds`` other random stratified orders (numpy, no rescoring).
Prints documents per model at the stop against the full corpus (the ratio is the saving) and the agreement
rate; ``--csv`` prints the synthetic result as a row for data/presence/sequential_bench.csv.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench import sequential_simulation as sim  # noqa: E402
from pipeline.presence import sequential as sq  # noqa: E402


def agree(est, means, jsd, subsets, rule) -> tuple[bool, float, float]:
    got_m = est.means.pivot(index="subset", columns="model", values="mean").loc[subsets]
    got_j = est.jsd.pivot(index="model_a", columns="model_b", values="jsd").loc[jsd.index, jsd.columns]
    dm = float((got_m - means.loc[subsets]).abs().to_numpy().max())
    dj = float((got_j - jsd).abs().to_numpy().max())
    return dm <= rule.tol_mean and dj <= rule.tol_jsd, dm, dj


def synthetic(a) -> dict:
    rule = sq.RuleConfig()
    stops, rounds_n, ok, dms, djs = [], [], 0, [], []
    t0 = time.perf_counter()
    for seed in range(a.seeds):
        X, strata, subsets, models = sim.synthetic(a.docs_per_subset, a.models, seed=seed, noise=a.noise)
        means, jsd = sim.point(X, strata, subsets, models, rule)
        est, rounds = sim.simulate(X, strata, subsets, models, rule, docs_per_step=a.shard_docs)
        good, dm, dj = agree(est, means, jsd, subsets, rule)
        ok += good
        dms.append(dm)
        djs.append(dj)
        stops.append(rounds[-1][1])
        rounds_n.append(len(rounds))
        if (seed + 1) % 10 == 0:
            print(f"  {seed + 1} seeds: {ok} agree, mean documents at the stop {np.mean(stops):,.0f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
        if seed < 3 or not good:
            print(f"  seed {seed}: rounds {[(r[1], round(r[2], 2)) for r in rounds]}; max |feature diff| {dm:.4f}, "
                  f"max |JSD diff| {dj:.4f}{'' if good else '  <- outside the tolerance'}", flush=True)
    full = a.docs_per_subset * 5
    stops = np.array(stops)
    res = dict(docs_per_subset=a.docs_per_subset, models=a.models, noise=a.noise, seeds=a.seeds,
               tol_jsd=rule.tol_jsd, tol_mean=rule.tol_mean, tol_hist=rule.tol_hist,
               mean_docs_at_stop=int(stops.mean()), median_docs_at_stop=int(np.median(stops)),
               p90_docs_at_stop=int(np.quantile(stops, 0.9)), max_docs_at_stop=int(stops.max()),
               mean_rounds=round(float(np.mean(rounds_n)), 2), agreement=ok)
    print(f"synthetic Fig. 7-like, {a.models} models, 5 x {a.docs_per_subset:,} documents, noise {a.noise}, "
          f"{a.seeds} seeds ({time.perf_counter() - t0:.0f} s):")
    print(f"  documents per model at the stop: mean {stops.mean():,.0f}, median {np.median(stops):,.0f}, "
          f"90th percentile {np.quantile(stops, 0.9):,.0f}, max {stops.max():,} of {full:,} "
          f"= {full / stops.mean():.1f}x fewer on average ({full / stops.max():.1f}x at the max); "
          f"rounds {np.mean(rounds_n):.2f} on average")
    print(f"  agreement with the full corpus within tol_jsd {rule.tol_jsd} and tol_mean {rule.tol_mean}: "
          f"{ok} of {a.seeds} seeds (max |feature diff| {max(dms):.4f}, max |JSD diff| {max(djs):.4f})")
    if a.csv:
        print("  csv: " + ",".join(str(v) for v in res.values()))
    return res


def smoke(a) -> None:
    import pandas as pd
    import pyarrow.parquet as pq

    from pipeline.presence import stage
    from pipeline.presence.config import PresenceConfig

    root = Path(tempfile.mkdtemp()) / "presence"
    k = a.smoke_tol_scale
    base = dict(models=["tiny:llama", "tiny:qwen2"],
                corpus=dict(source="fixture", docs_per_subset=a.smoke_docs, shard_docs=a.smoke_shard_docs),
                scoring=dict(max_tokens=64, dtype="float32", device="cpu"))
    rule = dict(bins=100, min_docs_per_subset=20, tol_jsd=0.01 * k, tol_mean=0.02 * k, tol_hist=0.01 * k)
    t0 = time.perf_counter()
    seq = PresenceConfig(**base, sequential=rule).check()
    stage.score_job(seq, root, log=lambda m: None)
    recs = stage.Rounds(seq, root, 0).records()
    t1 = time.perf_counter()
    full_cfg = PresenceConfig(**base, sequential={**rule, "max_rounds": 1}).check()  # one round: everything
    paths, _ = stage.score_job(full_cfg, root, log=lambda m: None)  # scores only the shards not yet scored
    t2 = time.perf_counter()
    n_full = len(paths)
    X, strata, _ = stage.load_wide(full_cfg, root, range(n_full))
    subsets, models, rule = list(seq.corpus.subsets), seq.model_ids, seq.sequential
    means, jsd = sim.point(X, strata, subsets, models, rule)
    X0, s0, _ = stage.load_wide(seq, root, range(recs[-1]["n_shards"]))
    est0 = sq.estimate(X0, s0, subsets, models, rule, round_index=recs[-1]["round"])
    good0, dm0, dj0 = agree(est0, means, jsd, subsets, rule)
    print(f"smoke models (tiny:llama, tiny:qwen2, random init; fixture corpus 5 x {a.smoke_docs}, 64 tokens; "
          f"tolerances {k:g}x the defaults: JSD {rule.tol_jsd:g}, mean {rule.tol_mean:g}, bin {rule.tol_hist:g}):")
    print(f"  stage run with the rule: rounds {[(r['n_documents'], round(r['ratio'], 2)) for r in recs]}; stopped on "
          f"{recs[-1]['n_documents']} of {len(X)} documents per model ({len(X) / recs[-1]['n_documents']:.1f}x fewer; "
          f"{t1 - t0:.0f} s, then {t2 - t1:.0f} s to score the rest); max |feature diff| {dm0:.4f}, max |JSD diff| "
          f"{dj0:.4f}: {'agrees' if good0 else 'outside the tolerance'}")
    print(f"  score spread: sd within subsets {np.mean([X[strata == s].std(0).mean() for s in range(5)]):.3f} nats; "
          f"full-corpus JSD {float(jsd.iloc[0, 1]):.3f}")
    # the rule replayed on the same real scores in other seeded random stratified orders
    order_docs = pd.DataFrame({"s": strata})
    stops, ok = [], 0
    for seed in range(a.seeds):
        rng = np.random.default_rng(seed)
        pos = np.empty(len(X))
        for s in range(5):
            idx = np.flatnonzero(strata == s)
            pos[rng.permutation(idx)] = (np.arange(len(idx)) + 0.5) / len(idx)
        perm = np.lexsort((order_docs.s.to_numpy(), pos))
        est, rounds = sim.simulate(X[perm], strata[perm], subsets, models, rule, docs_per_step=a.smoke_shard_docs)
        good, _, _ = agree(est, means, jsd, subsets, rule)
        ok += good
        stops.append(rounds[-1][1])
    print(f"  replayed in {a.seeds} random orders: documents at the stop mean {np.mean(stops):.0f}, max "
          f"{max(stops)} of {len(X)} ({len(X) / np.mean(stops):.1f}x fewer on average); agreement {ok} of {a.seeds}")
    del pq


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--models", type=int, default=8)
    p.add_argument("--docs-per-subset", type=int, default=200_000)
    p.add_argument("--shard-docs", type=int, default=10_000)
    p.add_argument("--noise", type=float, default=0.12)
    p.add_argument("--smoke-docs", type=int, default=300, help="documents per subset of the smoke corpus")
    p.add_argument("--smoke-shard-docs", type=int, default=20)
    p.add_argument("--smoke-tol-scale", type=float, default=1.0,
                   help="smoke tolerances = this x the defaults (the tiny corpus cannot reach the defaults)")
    p.add_argument("--skip-synthetic", action="store_true")
    p.add_argument("--skip-smoke", action="store_true")
    p.add_argument("--csv", action="store_true")
    a = p.parse_args()
    if not a.skip_synthetic:
        synthetic(a)
    if not a.skip_smoke:
        import torch
        torch.set_num_threads(2)
        smoke(a)


if __name__ == "__main__":
    main()
