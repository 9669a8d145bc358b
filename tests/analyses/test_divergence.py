"""advisor.analyses.divergence: Jensen-Shannon distance equals scipy's, matrix symmetric with zero diagonal."""

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from advisor.analyses import divergence


def test_js_distance_hand_values():
    assert divergence.js_distance([1, 0], [0, 1]) == pytest.approx(1.0)  # disjoint, base 2
    assert divergence.js_distance([0.5, 0.5], [0.5, 0.5]) == 0.0
    # p=[1,0], q=[.5,.5]: m=[.75,.25]; JS = (log(4/3) + .5 log(2/3) + .5 log 2) / 2 (nats)
    js = (np.log(4 / 3) + 0.5 * np.log(0.5 / 0.75) + 0.5 * np.log(2)) / 2
    assert divergence.js_distance([1, 0], [0.5, 0.5], base=None) == pytest.approx(np.sqrt(js))


@pytest.mark.parametrize("base", [2.0, None, 10.0])
def test_js_distance_equals_scipy(base):
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, q = rng.random(30), rng.random(30)
        p[rng.random(30) < 0.3] = 0  # empty bins on one side
        assert divergence.js_distance(p, q, base) == pytest.approx(jensenshannon(p, q, base=base), abs=1e-12)


def test_jsd_matrix_symmetric_zero_diagonal_and_scipy():
    rng = np.random.default_rng(1)
    samples = {"ref": rng.normal(-2, 1, 500), "a": rng.normal(-2.5, 1, 400), "b": rng.normal(-1, 0.5, 300)}
    m = divergence.jsd_matrix(samples, bins=25)
    assert list(m.index) == ["ref", "a", "b"] == list(m.columns)
    assert np.allclose(m.values, m.values.T) and np.all(np.diag(m.values) == 0)
    edges = np.linspace(min(s.min() for s in samples.values()), max(s.max() for s in samples.values()), 26)
    hist = {k: np.histogram(v, bins=edges)[0] for k, v in samples.items()}
    for a in samples:
        for b in samples:
            if a != b:
                assert m.loc[a, b] == pytest.approx(jensenshannon(hist[a], hist[b], base=2), abs=1e-12)
    assert 0 < m.loc["ref", "a"] < m.loc["ref", "b"] <= 1


def test_shared_edges_and_histogram():
    edges = divergence.shared_edges([[0, 1], [3, np.nan]], bins=3)
    assert np.allclose(edges, [0, 1, 2, 3])
    assert np.allclose(divergence.histogram([-5, 0.5, 2.5, 9, np.inf], edges), [0.5, 0, 0.5])  # clipped ends
    with pytest.raises(ValueError, match="same edges"):
        divergence.js_distance([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="no finite values"):
        divergence.shared_edges([[np.nan]])
