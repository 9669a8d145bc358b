"""The cost of partial-input evidence at predict time, against ranking the same candidates complete.
`python bench/bench_partial.py --db PATH` (a database built by `python -m pipeline.run`)

For every pattern with at least 3 of the 6 tasks (with the size, without the tokens: 42 patterns) one
candidate per pattern is ranked on the raw scale (cold: each pattern's reduced spec vs imputation is
evaluated, `advisor.predict.partial`), then again (warm: cached per bundle version and pattern). Baseline in the
same run: the same candidates with all six tasks (no pattern to evaluate). Prints seconds per pattern
(cold) and the ratios cold/baseline and warm/baseline, and how often each procedure is chosen.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    import pandas as pd

    from advisor.core import registry
    from advisor.predict import partial
    from advisor.predict.bundle import load_bundle
    from advisor.predict.shortlist import predict_candidates

    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    b = load_bundle(args.db)
    X = b.X_train("raw")
    tasks = list(registry.OLL_V2_TASKS)
    rows, full = [], []
    pats = [c for k in range(3, 6) for c in itertools.combinations(tasks, k)]
    for i, keep in enumerate(pats):
        base = X.iloc[i % len(X)].to_dict()
        full.append({"hf_id": f"full/{i}", **base, "pretrain_tokens_t": None, "scale": "raw"})
        rows.append({"hf_id": f"part/{i}", **{k: (v if k in keep or k == "params_b" else None)
                                             for k, v in base.items()}, "scale": "raw"})
    t = time.perf_counter()
    predict_candidates(b, pd.DataFrame(full))
    t_base = time.perf_counter() - t
    partial._CACHE.clear()
    t = time.perf_counter()
    res = predict_candidates(b, pd.DataFrame(rows))
    t_cold = time.perf_counter() - t
    t = time.perf_counter()
    predict_candidates(b, pd.DataFrame(rows))
    t_warm = time.perf_counter() - t
    print(f"{len(pats)} patterns (>= 3 of 6 tasks, with size, no tokens), raw scale, regression")
    print(f"baseline (6 tasks, no tokens: 1 pattern) {t_base:.2f}s; cold {t_cold:.2f}s "
          f"({t_cold / len(pats):.2f}s per pattern, x{t_cold / t_base:.1f}); warm {t_warm:.2f}s "
          f"(x{t_warm / t_base:.2f})")
    print(res.partial_method.str.split(" on ").str[0].value_counts().to_string())


if __name__ == "__main__":
    main()
