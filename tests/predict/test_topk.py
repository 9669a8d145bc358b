"""advisor.predict.topk: the one top-k coverage (eq. 9) and its tie rule, against the definition."""

from __future__ import annotations

import numpy as np
import pytest

from advisor.predict import topk


def test_best_first_orders_by_value_then_key_as_text():
    values = [3.0, 5.0, 5.0, 1.0, 5.0]
    keys = ["d", "c", "a", "e", "b10"]
    assert topk.best_first(values, keys).tolist() == [2, 4, 1, 0, 3]  # 5: a < b10 < c; then 3, 1
    assert topk.best_first([1.0, 1.0], [10, 9]).tolist() == [0, 1]  # keys compared as text: "10" < "9"


def test_coverage_against_the_definition_on_random_ties():
    rng = np.random.default_rng(3)
    keys = [f"org/m{i:02d}" for i in range(25)]
    for _ in range(20):
        truth = rng.integers(0, 6, 25).astype(float)  # many ties
        pred = truth + rng.integers(-2, 3, 25)

        def top(v, k):
            return {keys[i] for i in sorted(range(25), key=lambda i: (-v[i], keys[i]))[:k]}

        bp, bt = topk.best_first(pred, keys), topk.best_first(truth, keys)
        for k in (1, 5, 10, 25):
            assert topk.coverage(bp, bt, k) == len(top(pred, k) & top(truth, k)) / k


def test_coverage_refuses_k_outside_one_to_n():
    order = np.arange(3)
    with pytest.raises(ValueError, match="k must be >= 1"):
        topk.coverage(order, order, 0)
    with pytest.raises(ValueError, match="only 3 models"):
        topk.coverage(order, order, 4)
