"""Gains of the best base model over the default Llama-3.x choice, per size group (paper 3.3, Fig. 2).

Gain = best RewardBench score in the size group minus the score of the group's Llama-3.x model
(Llama-3.2-1B-Instruct for <3B, Llama-3.2-3B-Instruct for 3-6B, Llama-3.1-8B-Instruct for >=6B),
in RewardBench points. The paper's "3% to 14%" are these points: 3.1 to 14.3 over both methods.
"""

from __future__ import annotations

import pandas as pd

from advisor.core.registry import SIZE_GROUPS

BASELINES = {"<3B": "meta-llama/Llama-3.2-1B-Instruct", "3-6B": "meta-llama/Llama-3.2-3B-Instruct",
             ">=6B": "meta-llama/Llama-3.1-8B-Instruct"}
REQUIRED = ("hf_id", "method", "score", "size_group")


def gains_per_size_group(rm: pd.DataFrame, baselines: dict[str, str] | None = None,
                         target: str = "score") -> pd.DataFrame:
    """Columns method, size_group, best_hf_id, best_score, baseline_hf_id, baseline_score, gain_points.

    ``rm``: one row per (hf_id, method) with the target and the model's size_group. Ties for the best
    score go to the hf_id first in alphabetical order.
    """
    missing = [c for c in REQUIRED if c not in rm.columns and not (c == "score" and target in rm)]
    if missing:
        raise ValueError(f"rm lacks column(s) {missing}; join rm_results with models")
    baselines = baselines or BASELINES
    rows = []
    for (method, group), df in rm.dropna(subset=[target]).groupby(["method", "size_group"], sort=True):
        base_id = baselines.get(group)
        base = df[df.hf_id == base_id]
        if base.empty:
            raise ValueError(f"method {method!r}, size group {group!r}: no result for the baseline "
                             f"{base_id!r}")
        best = df.sort_values([target, "hf_id"], ascending=[False, True]).iloc[0]
        b = float(base[target].iloc[0])
        rows.append({"method": method, "size_group": group, "best_hf_id": best.hf_id,
                     "best_score": float(best[target]), "baseline_hf_id": base_id,
                     "baseline_score": b, "gain_points": round(float(best[target]) - b, 6)})
    out = pd.DataFrame(rows)
    order = {g: i for i, g in enumerate(SIZE_GROUPS)}
    return out.sort_values(["method", "size_group"], key=lambda s: s.map(order) if s.name ==
                           "size_group" else s).reset_index(drop=True)


def gains_range(gains: pd.DataFrame) -> tuple[float, float]:
    """(min, max) gain in points over all methods and groups, rounded to 0.1 like the paper."""
    return round(float(gains.gain_points.min()), 1), round(float(gains.gain_points.max()), 1)
