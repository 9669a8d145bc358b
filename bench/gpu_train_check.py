"""GPU path check for reward-model training: bf16, global batch 64 by gradient accumulation, throughput.

    .venv/bin/python bench/gpu_train_check.py            # on one GPU: ~0.2B-parameter Llama, < 3 min on an H100
    .venv/bin/python bench/gpu_train_check.py --tiny     # anywhere (CPU): 2-layer model, seconds

No hub access is needed: a Llama architecture is built from a config with random weights beside the
project's own tokenizer (pipeline.fixtures), and the preference pairs are synthetic (~--seq-len tokens
each side). It runs the real code path of the train stage: pipeline.train.bradley_terry.train (TRL
RewardTrainer, bf16 on GPU, global batch 64 = per-device batch x gradient accumulation, constant LR
after warm-up, eval + checkpoint every 20 steps), pipeline.train.regression.train (5-attribute MSE),
batched RewardBench-style scoring and the exhaustive merge-vector search on the GPU.

Prints, per part: device, dtype, parameters, optimizer steps, wall time, pairs (or examples) per second,
tokens per second, peak GPU memory. Exit code 0 when every part ran and the BT validation accuracy is
above chance.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build(out: Path, tiny: bool) -> Path:
    from transformers import AutoModelForCausalLM, LlamaConfig

    from pipeline.fixtures import build_tokenizer

    tok = build_tokenizer(out)
    size = (dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2)
            if tiny else dict(hidden_size=1024, intermediate_size=2816, num_hidden_layers=16, num_attention_heads=16,
                              num_key_value_heads=4))
    cfg = LlamaConfig(vocab_size=len(tok), max_position_embeddings=4096, pad_token_id=tok.pad_token_id,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, **size)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(out)
    return out


def synthetic(n: int, words: int, seed: int = 0):
    from pipeline.fixtures import CORPUS

    rng = np.random.default_rng(seed)
    text = " ".join(CORPUS[:12]).split()

    def para(good: bool) -> str:
        body = " ".join(rng.choice(text, size=words))
        return ("The correct helpful answer. " if good else "This is wrong. ") + body

    prompts = [f"Question {i}: " + " ".join(rng.choice(text, size=16)) for i in range(n)]
    return pd.DataFrame({"prompt": prompts, "chosen": [para(True) for _ in range(n)],
                         "rejected": [para(False) for _ in range(n)], "strength": 2})


def main() -> int:
    import torch

    from pipeline.models import ModelSpec
    from pipeline.train import bradley_terry, merge_search, regression
    from pipeline.train import rewardbench as rbs
    from pipeline.train.config import TrainConfig

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tiny", action="store_true", help="2-layer model, few pairs (CPU)")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps of BT (default 20 GPU / 2 tiny)")
    p.add_argument("--seq-len", type=int, default=None, help="approx. tokens per response (default 448 / 32)")
    p.add_argument("--per-device", type=int, default=None, help="per-device batch (default 16 GPU / 8 tiny)")
    a = p.parse_args()
    cuda = torch.cuda.is_available()
    steps = a.steps or (2 if a.tiny or not cuda else 20)
    words = (a.seq_len or (32 if a.tiny or not cuda else 448)) // 2  # ~2 tokens per word with this tokenizer
    per_device = a.per_device or (8 if a.tiny or not cuda else 16)
    n_train = 64 * steps
    print(f"device: {torch.cuda.get_device_name() if cuda else 'cpu'}; torch {torch.__version__}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = build(tmp / "base", a.tiny or not cuda)
        pairs = synthetic(n_train + 128, words)
        train, val = pairs.iloc[:n_train].reset_index(drop=True), pairs.iloc[n_train:].reset_index(drop=True)
        hp = dict(epochs=1, global_batch_size=64, per_device_batch_size=per_device, warmup_steps=2, eval_steps=20,
                  max_length=4096, learning_rates=[1e-5])
        cfg = TrainConfig(bf16=True, bradley_terry=hp, regression=hp)
        spec = ModelSpec(id="gpu-check")

        def report(name, t, n, tokens, info):
            mem = f", peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if cuda else ""
            print(f"{name}: {info.get('steps', '-')} steps of global batch 64 "
                  f"(per-device {per_device} x accumulation {64 // per_device}), {t:.1f} s, {n / t:.1f} examples/s, "
                  f"{tokens / t:,.0f} tokens/s{mem}", flush=True)

        from transformers import AutoTokenizer

        from pipeline.train.data import Encoder
        enc = Encoder(AutoTokenizer.from_pretrained(model_dir), 4096)
        tokens = sum(map(len, enc.ids(train["prompt"], train["chosen"]))) * 2
        mcfg = cfg.bradley_terry
        dtype = "bf16" if cuda else "float32"
        t = time.perf_counter()
        info = bradley_terry.train(str(model_dir), train, val, 1e-5, tmp / "bt", mcfg, cfg, spec)
        report(f"bradley-terry ({dtype}, {info['params_b'] * 1e3:.2f}M params)", time.perf_counter() - t,
               2 * len(train), tokens, info)
        print(f"  best eval accuracy {info['best_eval_accuracy']:.3f}, train loss {info['train_loss']:.4f}")
        ok &= info["best_eval_accuracy"] is not None and info["best_eval_accuracy"] > 0.5

        hs2 = pd.DataFrame({"prompt": list(train["prompt"]) * 2,
                            "response": list(train["chosen"]) + list(train["rejected"]),
                            "helpfulness": [4] * n_train + [1] * n_train, "correctness": [4] * n_train + [1] * n_train,
                            "coherence": 3, "complexity": 2, "verbosity": 2}).iloc[:n_train]
        rcfg = cfg.regression
        rcfg.epochs = 1
        t = time.perf_counter()
        rinfo = regression.train(str(model_dir), hs2, hs2.iloc[:64], 1e-5, tmp / "reg", rcfg, cfg, spec)
        report("regression (5 attributes)", time.perf_counter() - t, len(hs2), tokens / 2, rinfo)

        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained(
            rinfo["final"], dtype=torch.bfloat16 if cuda else torch.float32).to("cuda" if cuda else "cpu")
        tok = AutoTokenizer.from_pretrained(rinfo["final"])
        t = time.perf_counter()
        s, _ = rbs.score(model, tok, list(val["prompt"]) * 2, list(val["chosen"]) + list(val["rejected"]), 32, 4096)
        dt = time.perf_counter() - t
        print(f"scoring: {2 * len(val)} sequences in {dt:.1f} s ({2 * len(val) / dt:.1f} seq/s)")
        rng = np.random.default_rng(0)
        c, r = rng.normal(2, 1, (1000, 5)), rng.normal(2, 1, (1000, 5))
        for dev in (["cuda"] if cuda else []) + ["cpu"]:
            t = time.perf_counter()
            m = merge_search.search(c, r, device=dev)
            print(f"merge search, 1000 pairs x 4,084,101 vectors on {dev}: {time.perf_counter() - t:.2f} s, k={m.k}")
    print("GPU CHECK", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
