"""Ranking candidates with partial inputs against ranking complete ones, CLI and in process.
`python bench/bench_partial.py --db PATH` (a database built by `python -m pipeline.run`, the full build:
it stores the partial-input patterns it evaluated, `advisor.predict.partial.precompute_patterns`)

1. CLI, CPU seconds of the child process (user + sys, median of 3 runs each, in the same run):
   `python -m advisor rank data/examples/recent_bases.csv` (20 model-card rows, 3-5 of 8 inputs each)
   against `python -m advisor rank --pick Qwen/Qwen2.5-7B-Instruct` (one complete leaderboard row), and
   the ratio. Goal (issue 24): at most 3x.
2. In process, warm (imports done, bundle loaded): `predict_candidates` on the example's rows (their
   patterns precomputed) against the same models with every input (no pattern to look up), and a
   pattern the build did not precompute (evaluated on first use, then cached): seconds per pattern (a
   full build precomputes every rankable pattern, so this path needs a serving build's database).
3. In process, warm, at scale (issue 27 finding 5): `predict_candidates` on 20 / 2,000 / 20,000 rows with
   random blanks (``random_blank_rows``: known models' rows jittered, each input but the size blank with
   probability 0.3, so nearly every rankable pattern occurs) against the same rows complete, CPU
   seconds and the ratio per size. The rows of one pattern are computed together
   (``advisor.predict.shortlist``), so the cost grows with rows like the complete path's.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLE = ROOT / "data" / "examples" / "recent_bases.csv"


def cli_cpu(db: str, args: list[str], runs: int = 3) -> float:
    """Median CPU seconds (user + sys) of `python -m advisor rank ARGS --db DB`."""
    out = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([sys.executable, "-m", "advisor", "rank", *args, "--db", db], cwd=ROOT,
                              capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            sys.exit(f"rank {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
        out.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(out)


def cpu_seconds(fn, *args) -> float:
    """The process CPU time ``fn(*args)`` takes."""
    t = time.process_time()
    fn(*args)
    return time.process_time() - t


def in_process(db: str) -> None:
    import pandas as pd

    from advisor.core import registry
    from advisor.predict import partial
    from advisor.predict.bundle import load_bundle
    from advisor.predict.shortlist import predict_candidates

    b = load_bundle(db)
    rows = pd.read_csv(EXAMPLE).rename(columns={"model": "hf_id"})
    rows = rows.rename(columns={c: registry.resolve(c) for c in rows.columns if registry.resolve(c)})
    rows = rows.dropna(subset=["params_b"])[["hf_id", *registry.OLL_V2_TASKS, "params_b"]]
    rows[list(registry.OLL_V2_TASKS)] = rows[list(registry.OLL_V2_TASKS)] / 100  # percent -> raw
    rows["scale"] = "raw"
    X = b.X_train("raw")
    full = rows.copy()
    for i, t in enumerate(registry.OLL_V2_TASKS):
        full[t] = X[t].iloc[(i + 3) % len(X)]  # every task present: no pattern to look up
    predict_candidates(b, full.head(1))  # warm the imports
    t_full = cpu_seconds(predict_candidates, b, full)
    t_part = cpu_seconds(predict_candidates, b, rows)
    odd = rows.head(1).assign(leaderboard_bbh=0.4, leaderboard_musr=0.1, leaderboard_ifeval=None,
                              leaderboard_gpqa=None, leaderboard_math_hard=0.1, leaderboard_mmlu_pro=0.3)
    stored = b.precomputed("patterns", "raw", "regression", partial.pattern_key(
        [c for c in odd.columns if c in registry.OLL_V2_TASKS + ("params_b",) and odd[c].notna().all()]))
    t_cold = cpu_seconds(predict_candidates, b, odd)
    print(f"in process, {len(rows)} example rows (raw scale, regression): partial {t_part:.2f} s CPU, the same "
          f"models complete {t_full:.2f} s ({t_part / t_full:.1f}x); a pattern not precomputed "
          f"({'precomputed after all' if stored is not None else 'evaluated on first use'}): {t_cold:.2f} s")


def random_blank_rows(bundle, n: int, seed: int = 0, blank: float = 0.3, scale: str = "raw"):
    """(partial, complete): ``n`` candidate rows on ``scale`` drawn from the bundle's known models with
    every value jittered (so the rows are new models), each base feature but params_b blank with
    probability ``blank`` in ``partial``; ``complete`` the same rows with every value."""
    import numpy as np

    from advisor.predict.specs import BASE_FEATURES

    rng = np.random.default_rng(seed)
    X = bundle.X_train(scale)[list(BASE_FEATURES)]
    full = X.iloc[rng.integers(0, len(X), n)].reset_index(drop=True)
    full = full * rng.uniform(0.9, 1.1, full.shape)
    full.insert(0, "hf_id", [f"random/m{i:05d}" for i in range(n)])
    full["scale"] = scale
    others = [f for f in BASE_FEATURES if f != "params_b"]
    partial = full.copy()
    partial[others] = partial[others].mask(rng.random((n, len(others))) < blank)
    return partial, full


def at_scale(db: str, sizes=(20, 2_000, 20_000)) -> None:
    """Section 3: random-blank rows against the same rows complete, per size."""
    from advisor.predict.bundle import load_bundle
    from advisor.predict.shortlist import predict_candidates

    b = load_bundle(db)
    warm_part, warm_full = random_blank_rows(b, 200, seed=99)
    predict_candidates(b, warm_full)  # imports and the patterns' evidence loaded once, as a warm server
    predict_candidates(b, warm_part)
    for n in sizes:
        part, full = random_blank_rows(b, n)
        t_full = cpu_seconds(predict_candidates, b, full)
        t_part = cpu_seconds(predict_candidates, b, part)
        patterns = part.drop(columns=["hf_id", "scale"]).isna().drop_duplicates().shape[0]
        print(f"{n:>6,} rows, random blanks ({patterns} patterns): {t_part:.2f} s CPU; the same rows complete "
              f"{t_full:.2f} s (baseline); ratio {t_part / t_full:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    print(f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    part = cli_cpu(args.db, [str(EXAMPLE)])
    pick = cli_cpu(args.db, ["--pick", "Qwen/Qwen2.5-7B-Instruct"])
    print(f"rank {EXAMPLE.relative_to(ROOT)}: {part:.2f} s CPU; rank --pick Qwen/Qwen2.5-7B-Instruct: "
          f"{pick:.2f} s CPU (baseline, same run); ratio {part / pick:.2f}x; goal <= 3x: "
          f"{'MET' if part <= 3 * pick else 'NOT MET'}")
    in_process(args.db)
    at_scale(args.db)
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
