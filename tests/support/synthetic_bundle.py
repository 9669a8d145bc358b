"""A small served bundle for fast tests of the shortlist's consumers (verdict, export, what to measure next,
why it ranks here): one normalized-scale ridge on (OLL v2 mean, log params) for the five targets, a different
half-width per target, 30 known models with random inputs; no targets stored, so partial inputs are served
by imputation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from advisor.core import registry
from advisor.predict import bundle as bundle_mod
from advisor.predict import specs

TASKS = list(registry.OLL_V2_TASKS)
HALF = {"score": 25.0, "chat": 3.0, "chat_hard": 4.0, "safety": 5.0, "reasoning": 6.0}  # served half-widths
N = 30


def served(seed: int = 3):
    """(bundle, X, Y): the bundle, its known models' inputs and their five targets (columns in
    registry.RM_TARGETS order)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(10, 50, (N, 6)), columns=TASKS, index=[f"known/m{i:02d}" for i in range(N)])
    X["params_b"] = np.exp(rng.uniform(np.log(1), np.log(10), N))
    X["pretrain_tokens_t"] = rng.uniform(2, 15, N)
    mean = X[TASKS].mean(axis=1)
    Y = np.column_stack([55 + 4 * np.log(X.params_b) + 0.4 * mean + k + rng.normal(0, 0.5, N) for k in range(5)])
    fits = specs.fit_spec("ridge_oll_mean_log_params", X, Y, cv=5)
    entries = {("regression", t): bundle_mod.ServedEntry(fit=f, spec="ridge_oll_mean_log_params", skill="skill",
                                                         halfwidth=HALF[t])
               for t, f in zip(registry.RM_TARGETS, fits)}
    b = bundle_mod.build({"normalized": {"X_train": X, "served": entries}}, ["regression"],
                         list(registry.RM_TARGETS), 0.9, "verdict+1", "h", {}, "now")
    return b, X, pd.DataFrame(Y, index=X.index, columns=list(registry.RM_TARGETS))
