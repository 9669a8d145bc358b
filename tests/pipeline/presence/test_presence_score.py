"""The eq. 10 scorer on the tiny local models: hand computation, padding/batching invariance."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline import runtime
from pipeline.presence import score

TEXTS = ["The quick brown fox jumps over the lazy dog.",
         "def add(a, b):\n    return a + b\n" * 6,
         "Theorem: every finite group of prime order is cyclic. " * 12,
         "Hi", "", "SELECT name FROM models WHERE params_b < 3 ORDER BY score DESC; " * 3]


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def lm(request, tiny_models):
    torch.manual_seed(0)
    model, tok = score.load_model(str(tiny_models[request.param]), device="cpu", dtype="float32")
    return model, tok


def test_score_equals_hand_computed_mean_log_probability(lm):
    model, tok = lm
    text = "The quick brown fox jumps over the lazy dog."
    doc = tok(text, add_special_tokens=False)["input_ids"]
    ids = [tok.bos_token_id] + doc
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].double()
    by_hand = [torch.log_softmax(logits[i - 1], -1)[ids[i]].item() for i in range(1, len(ids))]
    seqs = score.encode(tok, [text], max_tokens=2048)
    assert seqs == [ids]
    sums, n = score.PresenceScorer(model, pad_id=tok.pad_token_id).score(seqs)
    assert n[0] == len(doc)  # every document token scored, the first one given BOS
    assert score.finish(sums, n, "scored", 2048)[0] == pytest.approx(np.mean(by_hand), abs=1e-5)
    assert score.finish(sums, n, "N", 2048)[0] == pytest.approx(np.sum(by_hand) / 2048, abs=1e-6)
    # truncation to the first N tokens
    short = score.encode(tok, [text], max_tokens=4)[0]
    s4, n4 = score.PresenceScorer(model, pad_id=tok.pad_token_id).score([short])
    assert n4[0] == 4 and s4[0] == pytest.approx(sum(by_hand[:4]), abs=1e-5)


def test_padding_batching_and_chunking_do_not_change_scores(lm):
    model, tok = lm
    seqs = score.encode(tok, TEXTS, max_tokens=96)
    alone = np.array([score.PresenceScorer(model, pad_id=tok.pad_token_id).score([s])[0][0] for s in seqs])
    ref, n = score.naive_scores(model, seqs)
    variants = [dict(batch_tokens=100_000), dict(batch_tokens=128, head_chunk_tokens=5),
                dict(batch_tokens=100_000, pass_attention_mask=True), dict(batch_tokens=300, pad_multiple=64)]
    for kw in variants:
        sums, counts = score.PresenceScorer(model, pad_id=tok.pad_token_id, **kw).score(seqs)
        assert (counts == n).all()
        got, want = score.finish(sums, counts, "scored", 96), score.finish(ref, n, "scored", 96)
        assert np.allclose(got, want, atol=1e-4, equal_nan=True), kw
        assert np.allclose(sums, alone, atol=1e-4), kw
    assert np.isnan(score.finish(*score.PresenceScorer(model).score([seqs[4]]), "scored", 96)[0])  # empty doc


def test_tokenizer_without_bos_uses_first_token_as_context(lm):
    _, tok = lm

    class NoBos:
        bos_token_id = None

        def __call__(self, texts, **kw):
            return tok(texts, **kw)
    seqs = score.encode(NoBos(), ["The quick brown fox"], max_tokens=3)
    assert seqs[0] == tok("The quick brown fox", add_special_tokens=False)["input_ids"][:3]


def test_make_batches_cover_every_document_within_budget():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, 200).tolist()
    batches = score.make_batches(lengths, batch_tokens=1024)
    assert sorted(i for b in batches for i in b) == list(range(200))
    for b in batches:
        width = -(-max(lengths[i] for i in b) // 8) * 8
        assert len(b) == 1 or width * len(b) <= 1024
    firsts = [lengths[b[0]] for b in batches]
    assert firsts == sorted(firsts, reverse=True)  # longest first


def test_self_check_passes_on_supported_architectures(lm):
    model, tok = lm
    scorer = score.PresenceScorer(model, pad_id=tok.pad_token_id)
    assert score.self_check(scorer, score.encode(tok, TEXTS, 64)) < 1e-4


def test_self_check_catches_unknown_logit_post_processing(tiny_models):
    model, tok = score.load_model(str(tiny_models["llama"]), device="cpu", dtype="float32")
    model.config.logit_scale = 100.0  # the fast path would apply it (Cohere), Llama's own forward does not
    scorer = score.PresenceScorer(model, pad_id=tok.pad_token_id)
    with pytest.raises(ValueError, match="_logit_transform"):
        score.self_check(scorer, score.encode(tok, TEXTS, 64))


def test_packed_rows_give_the_padded_scores(lm):
    """Documents sharing rows (position_ids restart per document) score as if each were alone."""
    model, tok = lm
    seqs = score.encode(tok, TEXTS * 3, max_tokens=96)
    ref, n = score.naive_scores(model, seqs)
    for kw in [dict(row_tokens=128, batch_tokens=512), dict(row_tokens=100, batch_tokens=100),
               dict(row_tokens=256, batch_tokens=100_000, pad_multiple=64)]:
        scorer = score.PresenceScorer(model, pad_id=tok.pad_token_id, pack=True, **kw)
        packs = score.make_packs([len(s) for s in seqs if len(s) >= 2], scorer.row_tokens, scorer.batch_tokens)
        assert any(len(row) > 1 for batch in packs for row in batch)  # rows really are shared
        sums, counts = scorer.score(seqs)
        assert (counts == n).all()
        assert np.allclose(sums, ref, atol=1e-4), kw


def test_make_packs_fill_rows_without_overflow():
    rng = np.random.default_rng(1)
    lengths = rng.integers(2, 2049, 500).tolist() + [3000]  # one longer than a row: a row of its own
    batches = score.make_packs(lengths, row_tokens=4096, batch_tokens=16_384)
    rows = [row for b in batches for row in b]
    assert sorted(i for row in rows for i in row) == list(range(501))
    for row in rows:
        assert len(row) == 1 or sum(lengths[i] for i in row) <= 4096
    for b in batches:  # the token budget holds for the padded batch, the long document's included
        width = -(-max(4096, *(sum(lengths[i] for i in row) for row in b)) // 8) * 8
        assert len(b) == 1 or width * len(b) <= 16_384
    assert {len(b) for b in batches[:-1]} == {4} or len(batches) == 1  # one shape: 4 rows x 4096
    used = sum(lengths) / (len(rows) * 4096)
    assert used > 0.97, used  # best fit leaves little empty room


def test_compile_without_a_cpp_compiler_says_so(tiny_models, monkeypatch):
    model, _ = score.load_model(str(tiny_models["llama"]), device="cpu", dtype="float32")
    monkeypatch.setenv("CXX", "no-such-compiler")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ValueError, match="needs a C\\+\\+ compiler.*presence.scoring.compile: false"):
        score.PresenceScorer(model, compile="head")
    score.PresenceScorer(model, compile=False)  # the eager path needs none


def test_compiled_head_gives_the_eager_scores(tiny_models):
    model, tok = score.load_model(str(tiny_models["llama"]), device="cpu", dtype="float32")
    seqs = score.encode(tok, TEXTS, max_tokens=96)
    eager, n = score.PresenceScorer(model, pad_id=tok.pad_token_id).score(seqs)
    scorer = score.PresenceScorer(model, pad_id=tok.pad_token_id, compile="head")
    fused, n2 = scorer.score(seqs)
    assert scorer.compiled == "head" and score.PresenceScorer(model).compiled == "none"
    assert (n == n2).all() and np.allclose(fused, eager, atol=1e-4)
    with pytest.raises(ValueError, match="presence.scoring.compile"):
        score.PresenceScorer(model, compile="backbone")
    with pytest.raises(ValueError, match="pass_attention_mask"):
        score.PresenceScorer(model, pack=True, pass_attention_mask=True)


def _failing_backend(gm, example_inputs):
    raise RuntimeError("this backend cannot compile anything")


def test_a_model_torch_compile_fails_on_is_scored_eagerly_with_a_warning(tiny_models):
    model, tok = score.load_model(str(tiny_models["qwen2"]), device="cpu", dtype="float32")
    seqs = score.encode(tok, TEXTS, max_tokens=96)
    eager, n = score.PresenceScorer(model, pad_id=tok.pad_token_id, batch_tokens=128).score(seqs)
    scorer = score.PresenceScorer(model, pad_id=tok.pad_token_id, batch_tokens=128)
    # a real compile failure: the compiled parts as torch.compile builds them, with a backend that fails
    scorer.backbone = torch.compile(model.base_model, backend=_failing_backend)
    scorer.token_logprobs = torch.compile(score.token_logprobs, backend=_failing_backend)
    failed = "failed on the backbone.*cannot compile.*presence.scoring.compile to head"
    with pytest.warns(RuntimeWarning, match=failed) as caught:
        got, n2 = scorer.score(seqs)
    assert any("failed on the token_logprobs" in str(w.message) for w in caught)
    assert len(caught) == 2  # once per part, not once per batch, though there are several batches
    assert scorer.compiled == "none"  # what the stage records per shard
    assert (n == n2).all() and np.allclose(got, eager, atol=1e-5)
    with warnings.catch_warnings():  # eager for good: the next call tries no compile, so nothing warns
        warnings.simplefilter("error")
        again, _ = scorer.score(seqs)
    assert np.array_equal(again, got)


def test_errors_of_the_model_itself_are_not_swallowed_by_the_compile_fallback(tiny_models):
    model, tok = score.load_model(str(tiny_models["llama"]), device="cpu", dtype="float32")
    bad = [[1, 2, model.config.vocab_size + 5, 3]]  # a token id outside the vocabulary
    with pytest.raises(IndexError):
        score.PresenceScorer(model, pad_id=tok.pad_token_id).score(bad)
    scorer = score.PresenceScorer(model, pad_id=tok.pad_token_id)
    scorer.backbone = torch.compile(model.base_model, backend=_failing_backend)
    with pytest.warns(RuntimeWarning, match="cannot compile anything"), pytest.raises(IndexError):
        scorer.score(bad)  # the compile failure falls back; the eager retry's own error still surfaces


def test_the_bf16_probe_says_no_on_cpus_without_amx_bf16():
    """The probe reads private torch APIs; checked against the kernel's own list of CPU flags."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo")
    flags = set(re.search(r"^flags\s*:(.*)$", cpuinfo.read_text(), re.M).group(1).split())
    if "amx_bf16" not in flags:
        assert runtime.cpu_has_bf16_matmul() is False
    else:  # the flag is necessary, not sufficient (the OS must grant the AMX tile state)
        assert isinstance(runtime.cpu_has_bf16_matmul(), bool)


def test_lm_head_bias_is_applied(tiny_models):
    """Some LM heads have a bias (Phi-2); the CPU head writes into a reused buffer and must add it."""
    model, tok = score.load_model(str(tiny_models["llama"]), device="cpu", dtype="float32")
    old = model.get_output_embeddings()
    head = torch.nn.Linear(old.in_features, old.out_features, bias=True)
    with torch.no_grad():
        head.weight.copy_(old.weight)
        head.bias.normal_(0.0, 2.0)
    model.set_output_embeddings(head)
    seqs = score.encode(tok, TEXTS, max_tokens=96)
    ref, n = score.naive_scores(model, seqs)  # the model's own forward, bias included
    scorer = score.PresenceScorer(model, pad_id=tok.pad_token_id, head_chunk_tokens=7)
    got, n2 = scorer.score(seqs)
    assert (n == n2).all() and np.allclose(got, ref, atol=1e-4)
    # the CPU head reuses one buffer for every chunk of every call: nothing of one call leaks into the next
    assert np.array_equal(scorer.score(seqs)[0], got)
    assert np.allclose(scorer.score(seqs[::-1])[0], got[::-1], atol=1e-4)


_MMAPPED = """
import ctypes, sys
from pipeline.presence import score
if sys.argv[1] == "keep":
    assert score.keep_freed_memory()
class Info(ctypes.Structure):
    _fields_ = [(f, ctypes.c_size_t)
                for f in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype, libc.malloc.restype = Info, ctypes.c_void_p
before = libc.mallinfo2().hblkhd
block = libc.malloc(20 * 2**20)  # what a batch's activation tensor asks for
print(libc.mallinfo2().hblkhd - before)
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "confstr") or "glibc" not in
                    (__import__("os").confstr("CS_GNU_LIBC_VERSION") or ""), reason="glibc's malloc only")
@pytest.mark.slow  # two fresh Python processes importing torch
def test_cpu_scoring_keeps_freed_activation_memory_in_the_heap():
    """By default glibc mmaps a fresh 20 MiB block (and unmaps it when freed: page faults on every batch);
    after keep_freed_memory it comes from the heap, where freed blocks are reused."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]

    def mmapped(mode):
        run = subprocess.run([sys.executable, "-c", _MMAPPED, mode], cwd=root, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return int(run.stdout.split()[-1])

    assert mmapped("default") >= 20 * 2**20
    assert mmapped("keep") == 0


def test_compile_all_on_cpu_compiles_the_decoder_layers_in_place_and_undoes_it_on_failure(tiny_models):
    model, tok = score.load_model(str(tiny_models["qwen2"]), device="cpu", dtype="float32")
    seqs = score.encode(tok, TEXTS, max_tokens=96)
    eager, n = score.PresenceScorer(model, pad_id=tok.pad_token_id, batch_tokens=128).score(seqs)
    scorer = score.PresenceScorer(model, pad_id=tok.pad_token_id, batch_tokens=128, compile="all")
    assert scorer.compiled == "all"
    assert scorer.pad_multiple == 8  # batches keep their width: the layers' graph is shape-generic
    got, n2 = scorer.score(seqs)
    assert (n == n2).all() and np.allclose(got, eager, atol=1e-4)
    # other batch widths and row counts reuse the graphs compiled above: under this stance torch raises
    # on any new compile (it does for a first multi-row batch after single-row ones: 1 row vs more differs)
    scorer.batch_tokens = 200
    with torch.compiler.set_stance("fail_on_recompile"):
        assert np.allclose(scorer.score(seqs)[0], eager, atol=1e-4)
    scorer.batch_tokens = 128
    for layer in model.base_model.layers:  # a compile failure from now on, as on a layer torch.compile cannot build
        layer.compile(backend=_failing_backend)
    with pytest.warns(RuntimeWarning, match="failed on the backbone.*cannot compile"):
        again, _ = scorer.score(seqs)
    assert np.allclose(again, eager, atol=1e-5) and scorer.compiled == "head"
    # the model itself is eager again: its own forward no longer reaches the failing compile
    assert np.allclose(score.naive_scores(model, seqs)[0], eager, atol=1e-4)
