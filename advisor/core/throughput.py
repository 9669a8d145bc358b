"""Forward-pass throughput at a model size from measured sizes (the presence stage's cost plan and the
Predict page's "what to measure next" share the rule).

A model of P billion parameters is assumed to run at the same parameters x tokens/s (i.e. the same model
FLOP utilisation) as the measured models, interpolated in log(P) between them and held constant outside.
"""

from __future__ import annotations

import math

import numpy as np


def tokens_per_second(params_b: float, sizes_b, measured_tokens_per_s) -> float:
    """Tokens/s of a ``params_b``-billion-parameter model, from tokens/s measured at ``sizes_b``."""
    order = np.argsort(np.asarray(sizes_b, dtype=float))
    sizes = np.asarray(sizes_b, dtype=float)[order]
    rates = np.asarray(measured_tokens_per_s, dtype=float)[order]
    if not len(sizes) or params_b <= 0 or (sizes <= 0).any():
        raise ValueError(f"throughput at {params_b}B: need positive sizes and measurements, got {list(sizes)}")
    return float(np.interp(math.log(params_b), np.log(sizes), sizes * rates)) / params_b
