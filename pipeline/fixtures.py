"""Tiny local stand-ins for hub models and datasets, built by the project itself (no hub access).

* ``build_tokenizer(dir)``: a byte-level BPE tokenizer trained with ``tokenizers`` on a built-in
  corpus, wrapped as a ``PreTrainedTokenizerFast`` with a pad token and a chat template.
* ``build_model(dir, arch)``: a randomly initialised 2-layer ``llama`` or ``qwen2`` causal LM saved with
  ``save_pretrained`` beside that tokenizer, loadable with ``AutoModel*.from_pretrained(dir)``.

Used by ``configs/smoke.yaml`` and the tests; deterministic for a given seed.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|eos|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "def add(a, b):\n    return a + b\n",
    "A reward model scores a response to a prompt; higher is better.",
    "Question: what is 2 + 2? Answer: 4. Question: what is 3 * 3? Answer: 9.",
    "import numpy as np\nx = np.arange(10)\nprint(x.sum())\n",
    "The mitochondria is the powerhouse of the cell. Photosynthesis happens in chloroplasts.",
    "Please write a short poem about the sea. The sea is wide and blue and deep.",
    "I cannot help with that request because it could cause harm.",
    "Theorem: every finite group of prime order is cyclic. Proof: by Lagrange's theorem.",
    "SELECT name FROM models WHERE params_b < 3 ORDER BY score DESC;",
    "Wikipedia is a free online encyclopedia written collaboratively by volunteers.",
    "How do I reverse a list in Python? Use reversed(x) or x[::-1].",
] * 20


def build_tokenizer(out_dir: str | Path, vocab_size: int = 384):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|pad|>", bos_token="<|bos|>",
                                   eos_token="<|eos|>", model_max_length=512)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out_dir)
    return fast


def build_model(out_dir: str | Path, arch: str = "llama", seed: int = 0, hidden_size: int = 32,
                num_layers: int = 2):
    """A tiny causal LM (``arch`` in {'llama', 'qwen2'}) with its tokenizer, saved to ``out_dir``."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    out_dir = Path(out_dir)
    if (out_dir / "config.json").exists() and (out_dir / "tokenizer.json").exists():
        return out_dir
    tok = build_tokenizer(out_dir)
    common = dict(vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
                  num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=512, pad_token_id=tok.pad_token_id,
                  bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, tie_word_embeddings=False)
    configs = {"llama": LlamaConfig, "qwen2": Qwen2Config}
    if arch not in configs:
        raise KeyError(f"unknown tiny architecture {arch!r}; valid: {', '.join(configs)}")
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(configs[arch](**common))
    model.save_pretrained(out_dir)
    return out_dir
