"""Issue 27, item 2: any served spec predicts any accepted candidate. A bundle serving each spec of
predictor_specs.yaml in turn ranks a candidate with only the six leaderboard tasks and its size, through
the app's and rank's path (``advisor.predict.ranking.build``): the inputs it lacks (pre-training tokens)
are imputed. On the shipped data without Alibaba, the served Bradley-Terry spec read log(tokens) and an
imputation below zero left it without that input (``ValueError: ... 'log_pretrain_tokens_t' is missing``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advisor.core import registry
from advisor.predict import bundle as bundle_mod
from advisor.predict import ranking, specs

TASKS = list(registry.OLL_V2_TASKS)


def _data(n=30, seed=11):
    """Known models whose tokens grow with their tasks, so a weak candidate's imputed tokens fall below 0."""
    rng = np.random.default_rng(seed)
    quality = rng.uniform(0, 1, n)
    X = pd.DataFrame(10 + 50 * quality[:, None] + rng.normal(0, 2, (n, 6)), columns=TASKS,
                     index=[f"org{i % 6}/m{i}" for i in range(n)])
    X["params_b"] = np.exp(rng.uniform(np.log(1), np.log(12), n))
    X["pretrain_tokens_t"] = 1 + 15 * quality + rng.uniform(0, 0.5, n)
    keys = [(m, t) for m in registry.METHODS for t in registry.RM_TARGETS]
    Y = pd.DataFrame({k: 40 + 3 * np.log(X.params_b) + 0.3 * X[TASKS].mean(axis=1) + rng.normal(0, 1, n)
                      for k in keys})
    Y.columns = pd.MultiIndex.from_tuples(keys, names=["method", "target"])
    return X, Y, pd.Series([f"L{i % 6}" for i in range(n)], index=X.index)


def serving(spec: str) -> bundle_mod.ServedBundle:
    X, Y, lineage = _data()
    assert X.pretrain_tokens_t.min() > 0
    fit = specs.fit_spec(spec, X, Y.iloc[:, 0].to_numpy(), cv=3)[0]
    served = {k: bundle_mod.ServedEntry(fit=fit, spec=spec, skill="skill", halfwidth=2.0, halfwidth_lineage_out=3.0)
              for k in Y.columns}
    return bundle_mod.build({"normalized": {"X_train": X, "served": served}}, list(registry.METHODS),
                            list(registry.RM_TARGETS), 0.9, "0.1.0+test", "h", {}, "now")


SIX_AND_SIZE = pd.DataFrame({"hf_id": ["weak/a", "strong/b", "mid/c"], "source": "candidates.csv",
                             "scale": "normalized", **{t: [1.0, 70.0, 30.0] for t in TASKS},
                             "params_b": [0.5, 70.0, 8.0]})


@pytest.mark.parametrize("spec", sorted(specs.load_specs()))
def test_a_bundle_serving_each_spec_ranks_a_candidate_with_the_six_tasks_and_size(spec):
    bundle = serving(spec)
    for method in registry.METHODS:
        short = ranking.build(SIX_AND_SIZE, bundle, method=method)
        assert short.errors == []
        table = short.table.set_index("hf_id")
        assert sorted(table.index) == ["mid/c", "strong/b", "weak/a"]
        for c in ("prediction", "lower", "upper", *(f"pred_{t}" for t in registry.RM_TARGETS[1:])):
            assert np.isfinite(table[c].astype(float)).all(), (spec, method, c)
        if "log_pretrain_tokens_t" in bundle.fit("normalized", method, "score").inputs:
            assert all("pretrain_tokens_t" in imputed for imputed in table["imputed"])
