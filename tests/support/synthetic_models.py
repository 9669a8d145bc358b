"""Random known models for the predictor's fast tests: the six OLL v2 tasks, a size and pre-training tokens,
ids and lineages cycling over ``n_lineages`` publishers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from advisor.core import registry

TASKS = list(registry.OLL_V2_TASKS)


def synthetic(n=40, seed=0, n_lineages=8):
    """(X, lineage) for ``n`` models: tasks uniform on 5-60, params 0.5-12B (log-uniform), tokens 2-18T."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(5, 60, size=(n, 6)), columns=TASKS)
    X["params_b"] = np.exp(rng.uniform(np.log(0.5), np.log(12), n))
    X["pretrain_tokens_t"] = rng.uniform(2, 18, n)
    X.index = [f"org{i % n_lineages}/m{i}" for i in range(n)]
    lineage = pd.Series([f"L{i % n_lineages}" for i in range(n)], index=X.index)
    return X, lineage
