"""Shared fixtures. Expensive ones (the built database, tiny models) are session-scoped."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Two tiny causal LMs with their tokenizer and chat template: {'llama': dir, 'qwen2': dir}."""
    from pipeline.fixtures import build_model

    base = tmp_path_factory.mktemp("tiny_models")
    return {arch: build_model(base / arch, arch=arch) for arch in ("llama", "qwen2")}
