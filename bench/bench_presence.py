"""CPU bench: the project's presence scorer against the naive loop, same model, same documents.

    .venv/bin/python bench/bench_presence.py [--models tiny,smollm2-135m] [--docs 40] [--threads 2] [--pack]
    .venv/bin/python bench/bench_presence.py --max-tokens 2048 --max-phrases 700   # documents up to N = 2048

Models (random weights: throughput does not depend on them), with the project's tiny tokenizer:
* ``tiny``: a Llama with hidden 256, 4 layers and a 32,000 vocabulary (19M parameters; the LM head
  dominates, as in real small models);
* ``smollm2-135m``: SmolLM2-135M's architecture (hidden 576, 30 layers, 9 heads / 3 KV heads, vocabulary
  49,152, tied embeddings), a small model people really run locally.
Documents: the built-in SlimPajama-schema corpus, ~100-512 tokens each by default; with ``--max-tokens
2048 --max-phrases 700`` they reach the pipeline's N = 2048 (the cap Book, ArXiv and Github documents hit).
Naive: one document at a time, float32, full-vocabulary log-softmax of the whole logits. Project:
``PresenceScorer`` with its CPU defaults (length-sorted batches of 4,096 tokens, LM head on valid
positions, into a reused 32 MiB buffer) in float32; and, on a CPU with AMX bf16 units (what ``dtype: auto`` picks
there), in bfloat16, eager, with ``compile: head`` (the LM head's matmul and log-softmax as one C++ op,
``pipeline/presence/cpu_head.cpp``) and with ``compile: all`` (also each decoder layer compiled); their
seconds of compile (and the op's one-time ~20 s build, cached) happen in the warm-up, outside the timing.
``--pack`` adds packed rows (``compile: head``, the same C++ op).
Each method runs ``--repeats`` times, alternating, and keeps its best time (the machine is shared). The
scorer's process-wide malloc setting (``keep_freed_memory``) is made before any timing, so the naive
loop runs with it too (it speeds the naive loop up as well: the ratio counts only what batching buys).
Prints tokens/s, the ratio to the naive loop measured in this run, and the largest score difference.
Target: >= 5x on 2 cores.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

MODELS = {
    "tiny": dict(hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=32_000, tie_word_embeddings=False),
    "smollm2-135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                         num_key_value_heads=3, vocab_size=49_152, tie_word_embeddings=True, rope_theta=100_000),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="tiny,smollm2-135m", help=f"comma-separated, of {', '.join(MODELS)}")
    p.add_argument("--docs", type=int, default=40)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-tokens", type=int, default=512, help="N: tokens scored per document (the pipeline: 2048)")
    p.add_argument("--max-phrases", type=int, default=150, help="longest document in corpus phrases (~3.4 tokens "
                   "each; 150 gives 101-513 tokens, 700 reaches the 2048 cap)")
    p.add_argument("--pack", action="store_true", help="also time packed rows (bf16, compiled head)")
    a = p.parse_args()
    names = [m.strip() for m in a.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        p.error(f"unknown model(s) {unknown}; use {', '.join(MODELS)}")
    torch.set_num_threads(a.threads)
    for name in names:
        bench(name, a)


def bench(name: str, a) -> None:
    from transformers import AutoModelForCausalLM, LlamaConfig

    from pipeline import runtime
    from pipeline.fixtures import build_tokenizer
    from pipeline.presence import score
    from pipeline.presence.fixtures import documents

    tok = build_tokenizer(Path(tempfile.mkdtemp()) / "tok")
    torch.manual_seed(0)
    cfg = LlamaConfig(**MODELS[name], max_position_embeddings=4096, pad_token_id=tok.pad_token_id,
                      bos_token_id=tok.bos_token_id)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa").eval()
    texts = [t for _, t in documents(docs_per_subset=a.docs // 5 + 1, seed=0, min_phrases=5,
                                            max_phrases=a.max_phrases)]
    seqs = score.encode(tok, texts[:a.docs], a.max_tokens)
    tokens = sum(len(s) for s in seqs)
    amx = runtime.cpu_has_bf16_matmul()
    print(f"model: {name} (llama, hidden {cfg.hidden_size}, {cfg.num_hidden_layers} layers, vocab "
          f"{cfg.vocab_size}, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M params); {len(seqs)} docs, "
          f"{tokens} tokens (lengths {min(map(len, seqs))}-{max(map(len, seqs))}); {a.threads} threads; "
          f"AMX bf16: {amx}")

    variants = {"float32": (model, {})}
    if amx:
        bf16 = copy.deepcopy(model).to(torch.bfloat16)
        variants["bfloat16"] = (bf16, {})
        variants["bfloat16+compiled-head"] = (bf16, {"compile": "head"})
        # compile: all compiles the model's decoder layers in place on CPU, hence a copy of its own
        variants["bfloat16+compiled-all"] = (copy.deepcopy(bf16), {"compile": "all"})
        if a.pack:
            variants["bfloat16+compiled-head+packed"] = (bf16, {"compile": "head", "pack": True, "row_tokens": 1024})
    scorers = {name: score.PresenceScorer(m, pad_id=tok.pad_token_id, **kw) for name, (m, kw) in variants.items()}
    score.naive_scores(model, seqs[:2])  # warm-up
    for sc in scorers.values():
        t0 = time.perf_counter()
        sc.score(seqs[:6])
        sc.score(seqs[-6:])
        if sc.compiled != "none":
            print(f"  (compile + warm-up {time.perf_counter() - t0:.1f}s, not timed)")
    # the machine is shared: alternate the methods and keep each one's best of --repeats rounds
    times = {k: [] for k in ["naive", *scorers]}
    out = {}
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        out["naive"] = score.naive_scores(model, seqs)
        times["naive"].append(time.perf_counter() - t0)
        for name, sc in scorers.items():
            t0 = time.perf_counter()
            out[name] = sc.score(seqs)
            times[name].append(time.perf_counter() - t0)
    ref = score.finish(*out["naive"], "scored", a.max_tokens)
    naive_s = min(times["naive"])
    print(f"naive loop (1 doc at a time, fp32, full log-softmax): {tokens / naive_s:10.0f} tokens/s")
    for name in scorers:
        s = min(times[name])
        diff = np.nanmax(np.abs(score.finish(*out[name], "scored", a.max_tokens) - ref))
        print(f"project scorer, {name}: {tokens / s:10.0f} tokens/s = {naive_s / s:.1f}x naive; "
              f"max |score diff| {diff:.2e} nats/token")


if __name__ == "__main__":
    main()
