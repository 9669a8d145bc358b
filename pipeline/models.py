"""The model entry of every config section that names models (train, benchmarks, presence): one ``ModelSpec``.

In YAML a model is a hub id, or a mapping with the fields below::

    models:
      - meta-llama/Llama-3.2-1B-Instruct                         # shorthand for {id: ...}
      - {id: microsoft/Phi-3-small-8k-instruct, trust_remote_code: true}
      - {id: local/tiny-llama, tiny: llama}                      # the project's tiny random model (no hub)
      - {id: org/name, path: /models/name, revision: main, dtype: float32}
      - {id: HuggingFaceTB/SmolLM2-135M-Instruct, gguf: SmolLM2-135M-Instruct.Q4_1.gguf, sha256: b179...}

``id`` is the name results are stored under. ``resolve_path`` says where the weights are loaded from:
``path`` when given, else the hub ``id``; a ``tiny`` model is built once at ``<work_dir>/models/<safe id>``
by whichever stage needs it first, and every stage loads that same directory. A ``gguf`` model is a local
GGUF file (a name under ``<work_dir>/downloads/``, where the ``fetch`` stage writes it, or an absolute
path) whose SHA-256 must equal ``sha256``: whichever stage needs it first converts it once into the same
``<work_dir>/models/<safe id>`` (``convert_gguf``), so every stage, lm-eval included, loads a plain
transformers directory. A stage that does not use a field refuses it (``check_models``) instead of
ignoring it.
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
    gguf: Annotated[str, Field(min_length=1)] | None = None  # a GGUF file: name under <work_dir>/downloads, or absolute
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None  # of the gguf file, checked before use

    def __post_init__(self):
        sources = [name for name in ("tiny", "path", "gguf") if getattr(self, name)]
        if len(sources) > 1:
            raise InputError("", f"model {self.id!r} sets both {' and '.join(sources)}", "keep one: a tiny or gguf "
                             f"model is built at <work_dir>/{MODELS_DIR}/{safe_name(self.id)}, path names a "
                             "directory to load")
        if bool(self.gguf) != bool(self.sha256):
            raise InputError("", f"model {self.id!r} sets {'gguf' if self.gguf else 'sha256'} without "
                             f"{'sha256' if self.gguf else 'gguf'}", "give both: the GGUF file and its SHA-256 "
                             "(sha256sum FILE)")

    def resolve_path(self, work_dir: str | Path, resolve=Path) -> str:
        """What to load: the tiny model (built on first use), ``path`` (via ``resolve``) or the hub id."""
        if self.tiny:
            from pipeline.fixtures import build_model

            return str(build_model(tiny_dir(work_dir, self.id), arch=self.tiny))
        if self.gguf:
            return str(convert_gguf(self, work_dir))
        if self.path:
            return str(resolve(self.path))
        return self.id

    def set_fields(self) -> dict:
        """The fields given a value other than their default (what a stage's cache key records)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name == "id" or getattr(self, f.name) != f.default}


def tiny_dir(work_dir: str | Path, model_id: str) -> Path:
    return Path(work_dir) / MODELS_DIR / safe_name(model_id)


def gguf_path(work_dir: str | Path, name: str) -> Path:
    """A model's ``gguf`` field as a file: absolute as given, else under ``<work_dir>/downloads/``."""
    from pipeline.fetch import downloads_dir

    return Path(name) if Path(name).is_absolute() else downloads_dir(work_dir) / name


def convert_gguf(spec: ModelSpec, work_dir: str | Path, log=print) -> Path:
    """The transformers directory of a ``gguf`` model, converted on first use: the file's SHA-256 checked,
    its weights dequantised (float32) and saved with its tokenizer; ``gguf.json`` (written last) records
    the hash it came from, so a changed ``sha256`` converts again. Loading GGUF takes a minute or two on
    2 cores; the directory loads in seconds, and it can be saved and trained, which a model loaded with
    ``gguf_file=`` cannot (transformers marks it quantized: no save_pretrained, so no Trainer checkpoint)."""
    import json

    out = tiny_dir(work_dir, spec.id)
    stamp = out / "gguf.json"
    if stamp.exists() and json.loads(stamp.read_text()).get("sha256") == spec.sha256:
        return out
    src = gguf_path(work_dir, spec.gguf)
    if not src.is_file():
        raise InputError(src, f"the GGUF file of model {spec.id!r} is not there", "run the fetch stage first "
                         "(python -m pipeline.run --config CONFIG --stages fetch), or give gguf an absolute path",
                         field="gguf")
    from pipeline.fetch import sha256_of

    digest = sha256_of(src)
    if digest != spec.sha256:
        raise InputError(src, f"SHA-256 {digest} is not the {spec.sha256} model {spec.id!r} expects",
                         "fetch the file again (delete it, then run the fetch stage) or fix sha256", field="sha256")
    import importlib.util

    if importlib.util.find_spec("gguf") is None:  # transformers would only say "install torch and gguf"
        raise InputError("requirements.txt", f"the Python package gguf, which reads {src.name}, is not installed",
                         "pip install -r requirements.txt (it pins gguf)", field="gguf")
    log(f"  {spec.id}: converting {src.name} (dequantising GGUF, once) into {out}")
    _save_dequantised(src, out)
    stamp.write_text(json.dumps({"gguf": str(src), "sha256": digest}))
    return out


def _save_dequantised(src: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
    # the weights are plain float32 tensors now; only the quantizer mark stops save_pretrained
    model.hf_quantizer = None
    del model.config.quantization_config
    model.save_pretrained(out)
    tok.save_pretrained(out)


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
