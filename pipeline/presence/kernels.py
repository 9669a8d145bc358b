"""The CPU LM-head kernel (``cpu_head.cpp``): built on first use, once per machine, then loaded from cache.

``head_logprobs(hidden, weight, bias, targets)`` is log p(target) per row, the LM head's matmul and the exact
log-softmax in one op that never writes the rows' full-vocabulary logits (see the .cpp file). The scorer
uses it on CPU when ``presence.scoring.compile`` is ``head`` or ``all``; building it takes ~20 s with g++ (the
compiler Inductor needs for those modes anyway) through ``torch.utils.cpp_extension``, cached under
``TORCH_EXTENSIONS_DIR`` (default ``~/.cache/torch_extensions``). Where it cannot be built, ``cpu_head_op``
warns once with the reason and returns None, and the scorer keeps the torch.compile'd log-probability.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("cpu_head.cpp")
# compiler flags per ATen CPU capability, as Inductor passes them (the vectorised ATen headers pick their
# implementation from CPU_CAPABILITY_*); anything else builds the portable scalar fallback
ISA_FLAGS = {
    "AVX512": ["-DCPU_CAPABILITY=AVX512", "-DCPU_CAPABILITY_AVX512", "-mavx512f", "-mavx512dq", "-mavx512vl",
               "-mavx512bw", "-mfma"],
    "AVX2": ["-DCPU_CAPABILITY=AVX2", "-DCPU_CAPABILITY_AVX2", "-mavx2", "-mfma", "-mf16c"],
}
BUFFER_BYTES = 2**22  # one vocabulary block's logits for all rows: 4 MiB, about what the L2 caches hold


@functools.cache
def cpu_head_op():
    """The ``torch.ops.rm_advisor.head_logprobs`` op, built or loaded from cache; None (warned) if it cannot be."""
    try:  # loaded already in this process (a second library registering the op namespace would abort)
        return torch.ops.rm_advisor.head_logprobs
    except (AttributeError, RuntimeError):
        pass
    capability = torch.backends.cpu.get_cpu_capability()
    flags = ISA_FLAGS.get(capability.replace("_VNNI", "").replace("_BF16", ""), [])
    try:
        import ninja  # the pip package's binary, for a venv whose bin/ is not on PATH

        os.environ["PATH"] = ninja.BIN_DIR + os.pathsep + os.environ.get("PATH", "")
    except ImportError:
        pass
    try:
        from torch.utils.cpp_extension import load

        # -fopenmp: at::parallel_for is inlined here and runs on one thread without it (torch's own is OpenMP)
        load(name=f"rm_advisor_cpu_head_{capability.lower()}", sources=[str(SOURCE)], is_python_module=False,
             extra_cflags=["-O3", "-fopenmp", *flags], extra_ldflags=["-fopenmp"], verbose=False)
        return torch.ops.rm_advisor.head_logprobs
    except Exception as e:  # noqa: BLE001 - any build or load failure leaves the torch.compile path in charge
        lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
        reason = next((line for line in lines if "error" in line.lower() and line != lines[0]), lines[-1])
        warnings.warn(f"presence: the CPU LM-head kernel ({SOURCE.name}) could not be built ({reason[:300]}); "
                      "the LM head runs as a matmul then a torch.compile'd log-softmax instead, slower. Fix: "
                      "install g++ and ninja (pip install ninja), or leave it as it is",
                      RuntimeWarning, stacklevel=2)
        return None


def head_logprobs(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, targets: torch.Tensor,
                  block: int | None = None) -> torch.Tensor:
    """log p(targets[i]) under softmax(hidden[i] @ weight.T + bias), float32; the kernel must have been built."""
    op = cpu_head_op()
    if op is None:
        raise RuntimeError("the CPU LM-head kernel is not available (see the warning given when building it)")
    if block is None:  # vocabulary columns per matmul: a buffer of about BUFFER_BYTES for all rows
        block = max(256, BUFFER_BYTES // max(1, len(hidden) * hidden.element_size()) // 64 * 64)
    return op(hidden, weight, bias, targets, block)
