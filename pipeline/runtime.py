"""Devices and dtypes: the one place the pipeline turns a config's ``device`` / ``dtype`` into torch's.

* ``resolve_device(name)``: ``'auto'`` (or null) -> ``'cuda'`` when a CUDA GPU is visible, else ``'cpu'``;
  ``'cuda'`` on a machine without one is an ``InputError`` naming the config field and the fix.
* ``resolve_dtype(name, device)``: ``'auto'`` -> bfloat16 on a CUDA GPU with bf16 support (and, with
  ``cpu_bf16=True``, on a CPU with native bf16 matmuls: presence scoring, measured faster there), else
  float32; or the named dtype.

The config fields that name them are typed with ``Device`` and ``DType`` (``pipeline.config`` validates
them). torch is imported only when needed, so the merge search's numpy path and config checks run without it.
"""

from __future__ import annotations

from typing import Literal

from pipeline.errors import InputError

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "bfloat16", "float16")
Device = Literal[DEVICES]  # config fields: auto = cuda when available, else cpu
DType = Literal[DTYPES]  # config fields: auto = the stage's precision rule (resolve_dtype)


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # the numpy-only paths (merge search on CPU) need no torch
        return False
    return torch.cuda.is_available()


def resolve_device(name: str | None = "auto", field: str = "device", file: str = "config") -> str:
    """'cpu' or 'cuda' (or 'cuda:N') for a config value ('auto' / None: cuda when available)."""
    name = "auto" if name in (None, "") else str(name)
    if name == "auto":
        return "cuda" if cuda_available() else "cpu"
    if name.startswith("cuda") and not cuda_available():
        raise InputError(file, f"{field} is {name!r} but no CUDA GPU is visible on this machine",
                         f"set {field}: auto (cuda when available) or {field}: cpu", field=field)
    if name.split(":")[0] not in ("cpu", "cuda"):  # 'cpu:0' / 'cuda:1': a process's own device (accelerate)
        raise InputError(file, f"unknown {field} {name!r}", f"use one of {', '.join(DEVICES)}", field=field)
    return name


def cpu_has_bf16_matmul() -> bool:
    """True on CPUs with AMX bf16 tiles (Xeon 4th gen+) that the OS lets this process use, where bf16
    matmuls run several times faster than float32 (2-7x measured on 2 cores)."""
    import torch

    cpu = getattr(torch, "cpu", None)
    try:  # private probes: no answer means no
        caps = cpu.get_capabilities() if hasattr(cpu, "get_capabilities") else {}
        return bool(caps.get("amx_bf16") and cpu._is_amx_tile_supported() and cpu._init_amx())
    except Exception:  # noqa: BLE001
        return False


def resolve_dtype(name: str, device, cpu_bf16: bool = False, field: str = "dtype", file: str = "config"):
    """The torch dtype for a config value on ``device`` (a name or a torch.device)."""
    import torch

    named = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if name == "auto":
        kind = torch.device(device).type
        if kind == "cuda":
            # a GPU without bf16 (pre-Ampere, no emulation) trains and scores in float32
            fast = not torch.cuda.is_available() or torch.cuda.is_bf16_supported()
        else:
            fast = kind == "cpu" and cpu_bf16 and cpu_has_bf16_matmul()
        return torch.bfloat16 if fast else torch.float32
    if name not in named:
        raise InputError(file, f"unknown {field} {name!r}", f"use one of {', '.join(DTYPES)}", field=field)
    return named[name]
