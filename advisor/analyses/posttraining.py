"""Post-training stages (paper 5.1, Table 1) and Bradley-Terry vs Regression (App. E, Fig. 11)."""

from __future__ import annotations

import pandas as pd

from advisor.core import registry

CATEGORIES = registry.RM_COLUMNS


def table1_deltas(post_training: pd.DataFrame, base_stage: str = "base",
                  decimals: int | None = 1) -> pd.DataFrame:
    """Percent change of each category vs the base model's row: 100 * (x - base) / base.

    Input: the post_training table (model, stage, chat, chat_hard, safety, reasoning, score), with
    exactly one row whose ``stage`` is ``base_stage``. Output: one row per non-base model with
    ``model`` and a column per category (percent, rounded to ``decimals`` like Table 1).
    """
    base = post_training[post_training.stage == base_stage]
    if len(base) != 1:
        raise ValueError(f"post_training needs exactly one row with stage {base_stage!r}, "
                         f"found {len(base)}")
    cats = [c for c in CATEGORIES if c in post_training.columns]
    b = base.iloc[0]
    rest = post_training[post_training.stage != base_stage]
    out = pd.DataFrame({"model": rest.model.to_numpy(), "stage": rest.stage.to_numpy()})
    for c in cats:
        pct = 100.0 * (rest[c].to_numpy(float) - float(b[c])) / float(b[c])
        # round half away from zero on a value first cleaned of float noise (Table 1's rounding)
        out[c] = [round(round(p, 9), decimals) if decimals is not None else p for p in pct]
    return out


def delta_column(category: str) -> str:
    """The name of a category's Δ column in ``table1``: 'chat' -> 'chat_delta_pct'."""
    return f"{category}_delta_pct"


def table1(post_training: pd.DataFrame, base_stage: str = "base") -> pd.DataFrame:
    """Table 1 as the paper prints it: the base model's row first, then each post-trained model, every
    category's score followed by its Δ column (``delta_column``: percent change vs the base row, as
    ``table1_deltas``; empty on the base row, which the others are compared with)."""
    deltas = table1_deltas(post_training, base_stage).set_index("model")
    cats = [c for c in CATEGORIES if c in post_training.columns]
    rows = pd.concat([post_training[post_training.stage == base_stage],
                      post_training[post_training.stage != base_stage]], ignore_index=True)
    out = rows[["model", "stage"]].copy()
    for c in cats:
        out[c] = rows[c].to_numpy(float)
        out[delta_column(c)] = rows["model"].map(deltas[c]).to_numpy(float)  # NaN on the base row
    return out


def bt_vs_regression(rm: pd.DataFrame) -> pd.DataFrame:
    """Long table hf_id, category, regression, bradley_terry, difference (= regression - BT)."""
    cats = [c for c in CATEGORIES if c in rm.columns]
    wide = rm.pivot_table(index="hf_id", columns="method", values=cats, aggfunc="first")
    rows = []
    for hf_id in wide.index:
        for c in cats:
            reg = wide.loc[hf_id].get((c, "regression"))
            bt = wide.loc[hf_id].get((c, "bradley_terry"))
            if pd.notna(reg) and pd.notna(bt):
                rows.append({"hf_id": hf_id, "category": c, "regression": float(reg),
                             "bradley_terry": float(bt), "difference": round(float(reg) - float(bt), 6)})
    return pd.DataFrame(rows, columns=["hf_id", "category", "regression", "bradley_terry",
                                       "difference"])
