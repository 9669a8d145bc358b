"""Merge-vector search (eq. 6-7) against brute force on small grids; exactness on ties; tie rule."""

import numpy as np
import pytest

from bench.merge_reference import brute_force_counts, grid_vectors
from pipeline.train import merge_search as ms


def _data(n, seed, integer=False):
    rng = np.random.default_rng(seed)
    if integer:  # many exact ties, zero verbosity differences, c/v exactly integral
        c, r = rng.integers(0, 5, (n, 5)).astype(float), rng.integers(0, 5, (n, 5)).astype(float)
    else:
        c, r = rng.normal(2, 1, (n, 5)), rng.normal(2, 1, (n, 5))
        r[:3] = c[:3]  # identical predictions: never correct
    return c, r


@pytest.mark.parametrize("integer", [False, True])
@pytest.mark.parametrize("k_max", [3, 6])
def test_counts_equal_brute_force_on_small_grid(integer, k_max):
    c, r = _data(80, k_max, integer)
    qc, qr = ms.quantize(c), ms.quantize(r)
    vectors = grid_vectors(k_max)
    ref = brute_force_counts(qc, qr, vectors)
    fast = ms.counts_grid(qc - qr, k_max, device="cpu", threads=2).reshape(-1)
    assert np.array_equal(fast, ref)
    assert np.array_equal(ms._counts_torch(qc - qr, k_max, "cpu").reshape(-1), ref)  # the GPU code path, on CPU


def test_full_grid_size_and_spot_check():
    c, r = _data(25, 7)
    qc, qr = ms.quantize(c), ms.quantize(r)
    grid = ms.counts_grid(qc - qr, device="cpu")
    assert grid.size == 21 ** 5 == 4_084_101
    idx = np.random.default_rng(0).choice(grid.size, 3000, replace=False)
    assert np.array_equal(grid.reshape(-1)[idx], brute_force_counts(qc, qr, grid_vectors()[idx]))


def test_search_finds_the_planted_vector_and_applies_the_tie_rule():
    # one pair, helpfulness and verbosity both higher for chosen: any k_help > k_verb is correct
    res = ms.search([[3.0, 0, 0, 0, 2.0]], [[1.0, 0, 0, 0, 0.0]], device="cpu")
    assert res.correct == 1 and res.n_pairs == 1
    # first maximiser in lexicographic order: k = (0, 0, 0, 0, 0) scores 0, so the first with
    # 2*k1 - 2*k5 > 0 is k1=1 with everything else 0
    assert res.k == [1, 0, 0, 0, 0] and res.weights == [0.05, 0.0, 0.0, 0.0, 0.0]
    assert res.n_maximisers == int((grid_vectors()[:, 0] > grid_vectors()[:, 4]).sum())


def test_negative_verbosity_weight_is_used():
    # the chosen response is only less verbose: only a verbosity weight can separate the pair
    res = ms.search([[2.0, 2, 2, 2, 1.0]], [[2.0, 2, 2, 2, 3.0]], device="cpu")
    assert res.correct == 1 and res.k == [0, 0, 0, 0, 1] and res.weights[4] == -0.05
    assert np.allclose(ms.merge([[2.0, 2, 2, 2, 1.0]], res.weights), [-0.05])


def test_bad_input():
    with pytest.raises(ValueError, match=r"\(n, 5\)"):
        ms.search(np.zeros((3, 4)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        ms.search(np.full((2, 5), np.nan), np.zeros((2, 5)))
