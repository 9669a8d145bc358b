"""The CPU LM-head kernel (pipeline/presence/cpu_head.cpp), built here with g++ as users get it."""

import numpy as np
import pytest
import torch

from pipeline.presence import kernels, score
from tests.pipeline.presence.test_presence_score import TEXTS


@pytest.fixture(scope="module")
def cpu_head_op():
    built = kernels.cpu_head_op()
    assert built is not None, "the kernel did not build (see the warning)"
    return built


def _reference(h, w, b, t):
    logits = h @ w.t() if b is None else torch.addmm(b, h, w.t())  # rounded to the dtype, as the scorer's
    return score.token_logprobs(logits, t)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("bias", [False, True])
def test_kernel_equals_matmul_then_log_softmax(cpu_head_op, dtype, bias):
    g = torch.Generator().manual_seed(0)
    rows, hidden, vocab = 37, 48, 1000  # neither a multiple of the block nor of the vector width
    h = (torch.randn(rows, hidden, generator=g) * 2).to(dtype)
    w = torch.randn(vocab, hidden, generator=g).to(dtype)
    b = torch.randn(vocab, generator=g).to(dtype) if bias else None
    t = torch.randint(0, vocab, (rows,), generator=g)
    t[:4] = torch.tensor([0, vocab - 1, 255, 256])  # first and last ids, both sides of a block edge
    want = _reference(h, w, b, t)
    for block in (256, 64, 1, vocab, 10 * vocab):
        got = kernels.head_logprobs(h, w, b, t, block=block)
        assert got.dtype == torch.float32 and got.shape == (rows,)
        assert torch.allclose(got, want, atol=2e-5, rtol=0), (block, (got - want).abs().max())
    got = kernels.head_logprobs(h, w, b, t)  # the default block
    assert torch.allclose(got, want, atol=2e-5, rtol=0)
    # softmax is shift invariant, so a huge common offset must not overflow the exp
    if bias:
        shifted = kernels.head_logprobs(h, w, b + 1e4 if dtype == torch.float32 else b, t, block=128)
        assert torch.isfinite(shifted).all()


def test_kernel_handles_empty_input_and_rejects_bad_targets(cpu_head_op):
    h, w = torch.randn(0, 8), torch.randn(50, 8)
    assert kernels.head_logprobs(h, w, None, torch.zeros(0, dtype=torch.long)).shape == (0,)
    h = torch.randn(3, 8)
    with pytest.raises(RuntimeError, match="not a token id of this head's vocabulary of 50"):
        kernels.head_logprobs(h, w, None, torch.tensor([1, 2, 50]))
    with pytest.raises(RuntimeError, match="do not match"):
        kernels.head_logprobs(h, torch.randn(50, 9), None, torch.tensor([1, 2, 3]))


def test_compiled_cpu_scorer_uses_the_kernel_and_gives_the_eager_scores(cpu_head_op, tiny_models):
    model, tok = score.load_model(str(tiny_models["llama"]), device="cpu", dtype="float32")
    seqs = score.encode(tok, TEXTS, max_tokens=96)
    eager = score.PresenceScorer(model, pad_id=tok.pad_token_id, batch_tokens=128)
    fused = score.PresenceScorer(model, pad_id=tok.pad_token_id, batch_tokens=128, compile="head")
    assert eager._cpu_head is None and fused._cpu_head is kernels.head_logprobs
    (want, n), (got, n2) = eager.score(seqs), fused.score(seqs)
    assert (n == n2).all() and np.allclose(got, want, atol=1e-4)
    bf16 = score.load_model(str(tiny_models["llama"]), device="cpu", dtype="bfloat16")[0]
    want16, _ = score.PresenceScorer(bf16, pad_id=tok.pad_token_id).score(seqs)
    got16, _ = score.PresenceScorer(bf16, pad_id=tok.pad_token_id, compile="head").score(seqs)
    assert np.allclose(got16, want16, atol=1e-3)  # the same bf16 logits, two log-softmax implementations


def test_post_processed_logits_keep_the_generic_head(cpu_head_op, tiny_models):
    model, tok = score.load_model(str(tiny_models["llama"]), device="cpu", dtype="float32")
    model.config.final_logit_softcapping = 30.0  # as Gemma 2: the kernel does not know it
    assert score.PresenceScorer(model, pad_id=tok.pad_token_id, compile="head")._cpu_head is None


_BROKEN_BUILD = """
import sys, warnings
from pathlib import Path
import numpy as np
from pipeline.presence import kernels, score
from tests.pipeline.presence.test_presence_score import TEXTS
kernels.SOURCE = Path(sys.argv[1])
model, tok = score.load_model(sys.argv[2], device="cpu", dtype="float32")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    scorer = score.PresenceScorer(model, pad_id=tok.pad_token_id, compile="head")
print([str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)])
assert scorer._cpu_head is None and scorer.compiled == "head"  # the torch.compile'd log-softmax instead
seqs = score.encode(tok, TEXTS, max_tokens=96)
want, _ = score.PresenceScorer(model, pad_id=tok.pad_token_id).score(seqs)
assert np.allclose(scorer.score(seqs)[0], want, atol=1e-4)
"""


def test_a_kernel_that_cannot_be_built_warns_and_the_scorer_goes_on(tiny_models, tmp_path):
    """In a fresh process (one that has not loaded the kernel), as on a machine whose build fails."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    broken = tmp_path / "cpu_head.cpp"
    broken.write_text("this is not C++\n")
    env = {**os.environ, "TORCH_EXTENSIONS_DIR": str(tmp_path / "build")}
    root = Path(__file__).resolve().parents[3]
    run = subprocess.run([sys.executable, "-c", _BROKEN_BUILD, str(broken), str(tiny_models["llama"])], cwd=root,
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "could not be built (" in run.stdout and "error: expected" in run.stdout
    assert "Fix: install g++ and ninja" in run.stdout
