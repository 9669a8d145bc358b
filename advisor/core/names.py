"""Model names: Hugging Face ids are the key everywhere; display names are matched by one rule.

``model_key`` folds a name to lowercase letters and digits after dropping an ``org/`` prefix and an
``org_`` prefix written with an underscore (as some result tables write ``Qwen_Qwen2.5-7B``), so
'Qwen/Qwen2.5-7B-Instruct', 'Qwen2.5-7B-Instruct' and 'qwen2.5 7b instruct' meet. Names that this
rule cannot reconcile (e.g. EvalPlus's 'Llama3-8B-instruct' for 'Meta-Llama-3-8B-Instruct') are
listed in ``data/model_aliases.csv``.
"""

from __future__ import annotations

import re

# One name per publisher everywhere: the paper's Table 3 (data/paper/models.csv) writes two publishers
# otherwise than their lineage (data/lineages.csv), which the Evidence page shows; ingest writes the models
# table's publisher through ``publisher`` (data/SOURCES.md, "data/lineages.csv").
PUBLISHER_SPELLING = {"THI": "TII",  # Technology Innovation Institute (org tiiuae): Falcon
                      "01.ai": "01.AI"}  # Yi


def publisher(name: str) -> str:
    """A publisher's one spelling: 'THI' -> 'TII'; any other name unchanged."""
    name = str(name).strip()
    return PUBLISHER_SPELLING.get(name, name)


def hub_key(hf_id: str) -> str:
    """Hugging Face hub ids are case-insensitive: 'ORG/Model' and 'org/model' are one repository. The
    key that compares them (ingest's ``ModelResolver`` and the app's uploads both use it)."""
    return str(hf_id).strip().lower()


def model_key(name: str) -> str:
    s = str(name).strip()
    s = re.sub(r"\s*\((?:8|4)bit\)$", "", s)
    if "/" in s:
        s = s.rsplit("/", 1)[1]
    return re.sub(r"[^a-z0-9]", "", s.lower())


def underscore_org_candidates(name: str) -> list[str]:
    """'Qwen_Qwen2.5-7B-Instruct' -> ['Qwen/Qwen2.5-7B-Instruct'] (every '_' position tried)."""
    s = re.sub(r"\s*\((?:8|4)bit\)$", "", str(name).strip())
    return [s[:i] + "/" + s[i + 1:] for i, ch in enumerate(s) if ch == "_"]


class ModelResolver:
    """Maps any spelling of a model to a known Hugging Face id (or None)."""

    def __init__(self, hf_ids, aliases: dict[str, str] | None = None):
        self.hf_ids = set(hf_ids)
        self._by_lower = {hub_key(h): h for h in self.hf_ids}
        self._by_key: dict[str, str] = {}
        for h in sorted(self.hf_ids):
            self._by_key.setdefault(model_key(h), h)
        self._aliases = {model_key(k): v for k, v in (aliases or {}).items()}

    def exact(self, name: str) -> str | None:
        """Only a case-insensitive match of the full id: for tables that already use hub ids, where a
        fine-tune under another org must not be taken for the original."""
        return self._by_lower.get(hub_key(name))

    def resolve(self, name: str) -> str | None:
        s = str(name).strip()
        if hub_key(s) in self._by_lower:
            return self._by_lower[hub_key(s)]
        for cand in underscore_org_candidates(s):
            if hub_key(cand) in self._by_lower:
                return self._by_lower[hub_key(cand)]
        key = model_key(s)
        if key in self._aliases and self._aliases[key] in self.hf_ids:
            return self._aliases[key]
        return self._by_key.get(key)
