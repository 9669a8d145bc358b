"""A small local corpus in SlimPajama schema for the smoke config, the tests and the CPU bench.

``build_corpus(dir)`` writes ``slimpajama_tiny.jsonl`` (records ``{"text", "meta": {"redpajama_set_name"}}``)
with documents of varied length for the five subsets the paper samples, plus CommonCrawl documents (which
sampling must skip) and one exact duplicate (which it must not count twice). Deterministic for a seed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

PHRASES = {
    "RedPajamaGithub": ["def f(x):", "    return x + 1", "import os", "for i in range(10):", "class A:",
                        "    pass", "if __name__ == '__main__':", "print(i)"],
    "RedPajamaBook": ["It was a dark and stormy night.", "She opened the door slowly.", "Chapter one.",
                      "The old man looked at the sea.", "They walked home in silence."],
    "RedPajamaArXiv": ["We prove the following theorem.", "Let G be a finite group.", "\\begin{equation}",
                       "x^2 + y^2 = z^2", "\\end{equation}", "Our results improve the bound."],
    "RedPajamaWikipedia": ["is a city in France.", "The river flows north.", "It was founded in 1850.",
                           "The population was 12,000.", "is an encyclopedia."],
    "RedPajamaStackExchange": ["Q: How do I sort a list?", "A: Use sorted(x).", "Thanks, that worked.",
                               "See the documentation.", "Why does this fail?"],
    "RedPajamaCommonCrawl": ["Buy now and save.", "Click here.", "Best prices online."],
}


def documents(docs_per_subset: int = 12, seed: int = 0, min_phrases: int = 2, max_phrases: int = 60):
    """[(subset, text)] with lengths spread between min_phrases and max_phrases phrases."""
    rng = random.Random(seed)
    out = []
    for subset, phrases in PHRASES.items():
        n = docs_per_subset if subset != "RedPajamaCommonCrawl" else 3
        for i in range(n):
            k = rng.randint(min_phrases, max_phrases)
            out.append((subset, f"{i} " + " ".join(rng.choice(phrases) for _ in range(k))))
    out.append(out[0])  # an exact duplicate
    rng.shuffle(out)
    return out


def build_corpus(out_dir: str | Path, docs_per_subset: int = 12, seed: int = 0) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "slimpajama_tiny.jsonl"
    with path.open("w") as fh:
        for subset, text in documents(docs_per_subset, seed):
            fh.write(json.dumps({"text": text, "meta": {"redpajama_set_name": subset}}) + "\n")
    return path
