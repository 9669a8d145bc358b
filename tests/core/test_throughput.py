"""advisor.core.throughput: tokens/s at a size from measured sizes (same parameters x tokens/s)."""

import math

import pytest

from advisor.core import throughput

SIZES, RATES = [8.03, 0.494], [28470.0, 179196.0]  # data/presence/throughput.csv, compile 'none' (any order)


def test_measured_sizes_give_their_own_rate_and_outside_the_product_is_held():
    assert throughput.tokens_per_second(0.494, SIZES, RATES) == pytest.approx(179196.0)
    assert throughput.tokens_per_second(8.03, SIZES, RATES) == pytest.approx(28470.0)
    assert throughput.tokens_per_second(70.0, SIZES, RATES) == pytest.approx(8.03 * 28470.0 / 70.0)
    assert throughput.tokens_per_second(0.1, SIZES, RATES) == pytest.approx(0.494 * 179196.0 / 0.1)


def test_between_them_parameters_x_tokens_per_second_is_interpolated_in_log_size():
    w = (math.log(2.0) - math.log(0.494)) / (math.log(8.03) - math.log(0.494))
    expected = ((1 - w) * 0.494 * 179196.0 + w * 8.03 * 28470.0) / 2.0
    assert throughput.tokens_per_second(2.0, SIZES, RATES) == pytest.approx(expected)


def test_a_size_of_zero_is_refused():
    with pytest.raises(ValueError, match="need positive sizes"):
        throughput.tokens_per_second(0.0, SIZES, RATES)
