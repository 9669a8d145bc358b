"""The eq. 10 scorer on the tiny local models: hand computation, padding/batching invariance."""

import numpy as np
import pytest
import torch

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
