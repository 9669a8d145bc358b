"""GPU bench of the presence scorer on random-initialised models with real architectures.

    python bench/bench_presence_gpu.py                 # one H100: Qwen2-0.5B-like and Llama-3-8B-like
    python bench/bench_presence_gpu.py --tiny          # CPU check of this script at tiny size (~1 min)
    python bench/bench_presence_gpu.py --compile       # adds a torch.compile'd run per model (+1-2 min each)
    python bench/bench_presence_gpu.py --compile-head --pack   # adds the fused LM head; packed rows (flex)
    python bench/bench_presence_gpu.py --models qwen2-0.5b --variants eager,pack-all   # just these paths

Throughput does not depend on the weights, so each model is built from its architecture config with
random weights directly on the GPU in bfloat16 (no download). Documents: random token ids, lengths
uniform in [256, 2048] (``--min-len``/``--max-len``), scored by ``PresenceScorer`` exactly as the
pipeline does (length-sorted padded batches of ``--batch-tokens``, no attention mask so SDPA can use its
flash kernel, LM head only on valid positions in chunks, float32 cross-entropy per chunk).

``--compile-head`` adds ``compile: head`` (one fused kernel for the LM-head log-probabilities instead of
a float32 copy plus a log-softmax of every chunk). ``--pack`` adds packed rows of ``--row-tokens``
(documents share rows, position_ids restart, no padding) under ``flex_attention``, whose block mask skips
the blocks between documents (SDPA would have to run a dense block-diagonal mask), with the fused head.

Prints per model: tokens/s over the timed pass (after a warm-up), model FLOP utilisation
MFU = 2 x matmul params x tokens/s / measured bf16 matmul peak (matmul params = every Linear incl. the
LM head, not the input embedding lookup; the ratio with all parameters is printed too), peak GPU memory,
and what scoring one million documents would cost at this speed (at the bench's mean length and at the
2048-token cap). Expected runtime on one H100: about 2-3 minutes in total (model builds included).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

ARCHS = {
    # Qwen/Qwen2-0.5B config.json (tied embeddings)
    "qwen2-0.5b": ("qwen2", dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                                 num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                                 rope_theta=1_000_000.0, tie_word_embeddings=True), 3000),
    # meta-llama/Meta-Llama-3-8B config.json
    "llama3-8b": ("llama", dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                                num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192,
                                rope_theta=500_000.0, tie_word_embeddings=False), 700),
}
TINY = {"tiny-qwen2": ("qwen2", dict(vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True), 24),
        "tiny-llama": ("llama", dict(vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False), 24)}


def matmul_peak(device, dtype, n: int, reps: int) -> float:
    """Best measured dense matmul FLOP/s for square n x n matrices."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(3):
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        _sync(device)
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0))
    return best


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def build(arch: str, kw: dict, device, dtype):
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    cfg = {"llama": LlamaConfig, "qwen2": Qwen2Config}[arch](**kw)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype, attn_implementation="sdpa")
    return model.eval()


def matmul_params(model) -> int:
    head = model.get_output_embeddings()
    n = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear) and m is not head)
    return n + head.weight.numel()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tiny", action="store_true", help="tiny models on CPU in float32 (checks the script)")
    p.add_argument("--models", default=None, help="comma-separated subset of: " + ", ".join([*ARCHS, *TINY]))
    p.add_argument("--docs", type=int, default=None, help="documents per model (default: per model)")
    p.add_argument("--min-len", type=int, default=256)
    p.add_argument("--max-len", type=int, default=2048)
    p.add_argument("--batch-tokens", type=int, default=65_536)
    p.add_argument("--head-chunk-tokens", type=int, default=16_384)
    p.add_argument("--mask", action="store_true", help="also time with the attention mask passed (no flash)")
    p.add_argument("--compile", action="store_true", help="also time with torch.compile'd backbone (compile "
                   "time excluded: it happens in the warm-up; ~1-2 min per model on first use)")
    p.add_argument("--compile-head", action="store_true", help="also time with the compiled LM-head kernel")
    p.add_argument("--pack", action="store_true", help="also time packed rows under flex_attention")
    p.add_argument("--row-tokens", type=int, default=8192)
    p.add_argument("--variants", default=None, help="comma-separated paths to time, in order, instead of the "
                   "flags above: eager, mask, head, all, pack-head, pack-all (the first is the score reference)")
    a = p.parse_args()

    device = torch.device("cpu" if a.tiny or not torch.cuda.is_available() else "cuda")
    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    table = TINY if a.tiny else ARCHS
    names = a.models.split(",") if a.models else list(table)
    if a.tiny:
        a.min_len, a.max_len, a.batch_tokens = min(a.min_len, 16), min(a.max_len, 128), min(a.batch_tokens, 2048)
    gpu = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    peak = matmul_peak(device, dtype, 8192 if device.type == "cuda" else 512, 20 if device.type == "cuda" else 3)
    print(f"device {gpu}, {str(dtype).replace('torch.', '')}, measured matmul peak {peak / 1e12:.3g} TFLOP/s; "
          f"torch {torch.__version__}; lengths {a.min_len}-{a.max_len}, batch_tokens {a.batch_tokens}", flush=True)
    rng = np.random.default_rng(0)
    for name in names:
        arch, kw, n_docs = {**ARCHS, **TINY}[name]
        n_docs = a.docs or n_docs
        t0 = time.perf_counter()
        model = build(arch, kw, device, dtype)
        n_mm, n_all = matmul_params(model), sum(p.numel() for p in model.parameters())
        vocab = kw["vocab_size"]
        docs = [rng.integers(0, vocab, int(n)).tolist() for n in rng.integers(a.min_len, a.max_len + 1, n_docs)]
        tokens = sum(len(d) for d in docs)
        print(f"\n{name}: {n_all / 1e9:.3f}B params ({n_mm / 1e9:.3f}B in matmuls), built in "
              f"{time.perf_counter() - t0:.0f}s; {n_docs} docs, {tokens} tokens", flush=True)
        picked = pick_variants(a, device)
        ref = None
        for label, attn, opts in picked:
            try:  # one failing variant (a kernel that does not build here) must not cost the others
                ref = run_variant(model, label, attn, opts, docs, a, device, peak, n_mm, n_all, ref)
            except Exception as e:  # noqa: BLE001 - reported, then the next variant runs
                print(f"  {label}: FAILED: {type(e).__name__}: {str(e).splitlines()[0][:300]}", flush=True)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()


def pick_variants(a, device) -> list[tuple[str, str, dict]]:
    """(label, attention implementation, scorer options) of each path to time, in ``--variants`` order."""
    # flex_attention's CPU (C++) template fails to build for some head sizes in torch 2.13: on CPU the
    # packed rows run under SDPA with a dense block-diagonal mask, which only checks the scores
    pack_attn = "flex_attention" if device.type == "cuda" else "sdpa"
    packed = {"pack": True, "row_tokens": a.row_tokens}
    table = {
        "eager": ("fast path (no mask, valid-position LM head)", "sdpa", {}),
        "mask": ("with attention mask", "sdpa", {"pass_attention_mask": True}),
        "head": ("fast path + compiled LM head", "sdpa", {"compile": "head"}),
        "all": ("fast path + torch.compile", "sdpa", {"compile": "all"}),
        "pack-head": (f"packed rows of {a.row_tokens} ({pack_attn}) + compiled LM head", pack_attn,
                      {"compile": "head", **packed}),
        "pack-all": (f"packed rows of {a.row_tokens} ({pack_attn}) + torch.compile", pack_attn,
                     {"compile": "all", **packed}),
    }
    if a.variants:
        names = a.variants.split(",")
    else:  # the flags, as before: the eager path first, as the reference of the score check
        names = ["eager"] + ["mask"] * a.mask + ["head"] * a.compile_head + ["all"] * a.compile
        names += ["pack-head"] * a.pack + ["pack-all"] * (a.pack and a.compile)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise SystemExit(f"--variants: unknown {', '.join(unknown)}. Fix: use any of {', '.join(table)}")
    return [table[n] for n in names]


def run_variant(model, label, attn, opts, docs, a, device, peak, n_mm, n_all, ref):
    """Warm up, time one pass over ``docs``, print the figures; returns the reference sums."""
    from pipeline.presence import score

    tokens, n_docs = sum(len(d) for d in docs), len(docs)
    model.set_attn_implementation(attn)
    scorer = score.PresenceScorer(model, pad_id=0, batch_tokens=a.batch_tokens,
                                  head_chunk_tokens=a.head_chunk_tokens, **opts)
    tw = time.perf_counter()
    scorer.score(docs[:max(4, n_docs // 20)])  # warm-up (kernels, allocator, compilation)
    if opts.get("compile") or attn != "sdpa":
        print(f"  (compile + warm-up {time.perf_counter() - tw:.0f}s)", flush=True)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    _sync(device)
    t1 = time.perf_counter()
    sums, counts = scorer.score(docs)
    _sync(device)
    s = time.perf_counter() - t1
    tps = tokens / s
    mem = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    mean_len = tokens / n_docs
    gap = "" if ref is None else f"; max |score diff| vs the first path {np.max(np.abs(sums - ref) / counts):.1e}"
    print(f"  {label}: {tps:,.0f} tokens/s in {s:.1f}s; MFU {2 * n_mm * tps / peak:.1%} "
          f"(all params: {2 * n_all * tps / peak:.1%}); peak memory {mem:.1f} GiB; "
          f"finite scores {np.isfinite(sums).mean():.0%}{gap}", flush=True)
    print(f"  1M documents: {1e6 * mean_len / tps / 3600:.1f} GPU-hours at {mean_len:.0f} tokens/doc, "
          f"{1e6 * 2049 / tps / 3600:.1f} GPU-hours at the 2048-token cap", flush=True)
    return sums if ref is None else ref


if __name__ == "__main__":
    main()
