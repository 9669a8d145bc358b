"""Merge-vector search benchmark (paper eq. 6-7): exhaustive search vs a straightforward per-vector loop.

    .venv/bin/python bench/bench_merge.py [--pairs 1000] [--loop-vectors 100000] [--full]

Prints the time of the exhaustive search over all 4,084,101 vectors (numpy, 2 threads; and torch on the
GPU when one is present), the time of the straightforward loop (eq. 6-7 literally: for each vector,
psi = R @ w for chosen and rejected, count psi_c > psi_r), the speed-up, and whether the results are
identical. By default the loop runs on a random subset of --loop-vectors vectors and its time is
EXTRAPOLATED linearly to the whole grid (each vector costs the same); --full runs the loop over every
vector and compares the full count grids and the argmax (takes about a minute). The predictions are
synthetic (seeded): 0-4 ratings plus noise, with chosen responses rated higher on average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.merge_reference import brute_force_counts, grid_vectors  # noqa: E402
from pipeline.train import merge_search as ms  # noqa: E402


def synthetic(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 4, size=(n, 5))
    gap = rng.normal(0.3, 0.6, size=(n, 5)) * np.array([1, 1, 0.5, 0.3, -0.2])
    chosen = base + gap / 2 + rng.normal(0, 0.2, (n, 5))
    rejected = base - gap / 2 + rng.normal(0, 0.2, (n, 5))
    return chosen.astype(np.float32), rejected.astype(np.float32)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", type=int, default=1000)
    p.add_argument("--loop-vectors", type=int, default=100_000)
    p.add_argument("--full", action="store_true", help="run the loop over all 4,084,101 vectors")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    chosen, rejected = synthetic(args.pairs)
    qc, qr = ms.quantize(chosen), ms.quantize(rejected)
    d = qc - qr
    vectors = grid_vectors()
    print(f"{args.pairs} pairs, {len(vectors):,} vectors, {os.cpu_count()} CPUs visible, load {os.getloadavg()[0]:.2f}")

    ms.counts_grid(d[:50], device="cpu", threads=args.threads)  # warm-up
    t = time.perf_counter()
    grid = ms.counts_grid(d, device="cpu", threads=args.threads)
    t_fast = time.perf_counter() - t
    flat = grid.reshape(-1)
    best = int(np.argmax(flat))
    print(f"exhaustive search (numpy, {args.threads} threads): {t_fast:.3f} s; argmax k={vectors[best].tolist()} "
          f"correct={flat[best]}/{args.pairs}, {int((flat == flat[best]).sum())} tied maximisers")

    if args.full:
        idx = np.arange(len(vectors))
    else:
        rng = np.random.default_rng(1)
        idx = np.union1d(rng.choice(len(vectors), size=min(args.loop_vectors, len(vectors)), replace=False),
                         np.flatnonzero(flat == flat[best]))
    t = time.perf_counter()
    ref = brute_force_counts(qc, qr, vectors[idx])
    t_loop = time.perf_counter() - t
    t_loop_full = t_loop / len(idx) * len(vectors)
    how = "measured on all vectors" if args.full else f"measured on {len(idx):,} vectors, extrapolated"
    print(f"per-vector loop: {t_loop:.2f} s for {len(idx):,} vectors -> {t_loop_full:.1f} s for the grid ({how})")
    same = bool(np.array_equal(ref, flat[idx]))
    if args.full:
        same = same and int(np.argmax(ref)) == best
    print(f"identical counts{' and argmax' if args.full else ' on the looped vectors (incl. all maximisers)'}: {same}")
    print(f"speed-up: {t_loop_full / t_fast:.1f}x   (targets: < 2 s, >= 30x)")

    try:
        import torch
        if torch.cuda.is_available():
            ms.counts_grid(d[:50], device="cuda")
            torch.cuda.synchronize()
            t = time.perf_counter()
            g = ms.counts_grid(d, device="cuda")
            t_gpu = time.perf_counter() - t
            print(f"exhaustive search (torch, {torch.cuda.get_device_name()}): {t_gpu:.3f} s; identical to numpy: "
                  f"{bool(np.array_equal(g, grid))}")
    except ImportError:
        pass
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
