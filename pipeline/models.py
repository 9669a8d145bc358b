"""The model entry of every config section that names models (train, benchmarks, presence): one ``ModelSpec``.

In YAML a model is a hub id, or a mapping with the fields below::

    models:
      - meta-llama/Llama-3.2-1B-Instruct                         # shorthand for {id: ...}
      - {id: microsoft/Phi-3-small-8k-instruct, trust_remote_code: true}
      - {id: local/tiny-llama, tiny: llama}                      # the project's tiny random model (no hub)
      - {id: org/name, path: /models/name, revision: main, dtype: float32}

``id`` is the name results are stored under. ``resolve_path`` says where the weights are loaded from:
``path`` when given, else the hub ``id``; a ``tiny`` model is built once at ``<work_dir>/models/<safe id>``
by whichever stage needs it first, and every stage loads that same directory. A stage that does not use
a field refuses it (``check_models``) instead of ignoring it.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from pipeline.config import config_dataclass
from pipeline.errors import InputError
from pipeline.runtime import DType

TINY_ARCHS = ("llama", "qwen2")  # pipeline.fixtures.build_model
MODELS_DIR = "models"  # under work_dir: the tiny models every stage shares


def safe_name(model_id: str) -> str:
    """A model id as one directory name ('org/name' -> 'org__name')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "__", model_id).strip("_") or "model"


@config_dataclass
class ModelSpec:
    id: Annotated[str, Field(min_length=1)]  # hub id, or the name a local / tiny model is stored under
    path: str | None = None  # load from this local directory (or hub id) instead of `id`
    revision: str | None = None  # hub revision: branch, tag or commit
    dtype: DType = "auto"  # the stage's precision rule (pipeline.runtime), or a fixed dtype for this model
    trust_remote_code: bool = False  # only where the model's own hub code is needed (e.g. Phi-3-small)
    tiny: Literal[TINY_ARCHS] | None = None  # build the project's tiny random model of this architecture
    params_b: Annotated[float, Field(gt=0)] | None = None  # presence --plan: size when the hub cannot say
    max_length: Annotated[int, Field(ge=1)] | None = None  # train: overrides the method's max_length
    per_device_batch_size: Annotated[int, Field(ge=1)] | None = None  # train: overrides the method's value

    def __post_init__(self):
        if self.tiny and self.path:
            raise InputError("", f"model {self.id!r} sets both tiny and path", f"remove path: a tiny model is built "
                             f"at <work_dir>/{MODELS_DIR}/{safe_name(self.id)}")

    def resolve_path(self, work_dir: str | Path, resolve=Path) -> str:
        """What to load: the tiny model (built on first use), ``path`` (via ``resolve``) or the hub id."""
        if self.tiny:
            from pipeline.fixtures import build_model

            return str(build_model(tiny_dir(work_dir, self.id), arch=self.tiny))
        if self.path:
            return str(resolve(self.path))
        return self.id

    def set_fields(self) -> dict:
        """The fields given a value other than their default (what a stage's cache key records)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name == "id" or getattr(self, f.name) != f.default}


def tiny_dir(work_dir: str | Path, model_id: str) -> Path:
    return Path(work_dir) / MODELS_DIR / safe_name(model_id)


RENAMED = {"hf_id": "id", "fixture": "tiny"}  # the benchmarks section's keys before there was one ModelSpec


def _shorthand(entry):
    """'org/name' -> {id: 'org/name'}; 'tiny:llama' -> {id: 'tiny:llama', tiny: 'llama'}."""
    if isinstance(entry, str):
        entry = entry.strip()
        return {"id": entry, "tiny": entry[5:]} if entry.startswith("tiny:") else {"id": entry}
    old = [k for k in RENAMED if isinstance(entry, dict) and k in entry]
    if old:
        raise InputError("", f"model entry {entry!r} uses {', '.join(old)}",
                         "rename " + ", ".join(f"{k} to {RENAMED[k]}" for k in old) + " (one ModelSpec for every "
                         "stage, pipeline/models.py; a tiny model needs no path: it is built under work_dir/models)")
    return entry


ModelEntry = Annotated[ModelSpec, BeforeValidator(_shorthand)]  # the type of a section's `models` items


def check_models(models: list[ModelSpec], file: str, section: str, unused: tuple[str, ...] = ()) -> None:
    """Each id once; fields this section does not use (``unused``) are refused, not ignored."""
    seen = set()
    for row, m in enumerate(models, 1):
        if m.id in seen:
            raise InputError(file, f"{section}.models lists {m.id!r} twice", "keep one entry per id",
                             row=row, field=f"{section}.models")
        seen.add(m.id)
        for name in unused:
            if getattr(m, name) != next(f.default for f in fields(ModelSpec) if f.name == name):
                raise InputError(file, f"{section} does not use {name!r} (model {m.id!r})",
                                 f"remove {name} from this entry", row=row, field=f"{section}.models")
