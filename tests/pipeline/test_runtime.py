"""pipeline.runtime: the one device and dtype resolver (presence, train, benchmarks, merge search).

The machine's answers (is there a GPU, does this CPU have AMX bf16) are monkeypatched, so each rule is
checked on any box, CPU-only CI included."""

import pytest
import torch

from pipeline import runtime
from pipeline.errors import InputError


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


def test_auto_device_is_cpu_without_a_gpu(no_gpu):
    assert runtime.resolve_device("auto") == "cpu" and runtime.resolve_device(None) == "cpu"
    assert runtime.resolve_device("cpu") == "cpu"


def test_auto_device_is_cuda_with_a_gpu(gpu):
    assert runtime.resolve_device("auto") == "cuda" and runtime.resolve_device("cuda:1") == "cuda:1"


def test_cuda_without_a_gpu_is_a_clear_error_naming_the_field(no_gpu):
    with pytest.raises(InputError) as err:
        runtime.resolve_device("cuda", "benchmarks.device", "smoke.yaml")
    assert str(err.value) == ("smoke.yaml, field 'benchmarks.device': benchmarks.device is 'cuda' but no CUDA GPU "
                              "is visible on this machine. Fix: set benchmarks.device: auto (cuda when available) "
                              "or benchmarks.device: cpu")
    with pytest.raises(InputError, match="field 'presence.device': unknown presence.device 'tpu'"):
        runtime.resolve_device("tpu", "presence.device")


@pytest.mark.parametrize("amx,want", [(False, torch.float32), (True, torch.bfloat16)])
def test_auto_dtype_on_cpu_is_bf16_only_with_native_bf16_matmuls_and_when_asked(monkeypatch, amx, want):
    monkeypatch.setattr(runtime, "cpu_has_bf16_matmul", lambda: amx)
    assert runtime.resolve_dtype("auto", "cpu", cpu_bf16=True) == want  # presence scoring
    assert runtime.resolve_dtype("auto", "cpu") == torch.float32  # training: float32 on any CPU


@pytest.mark.parametrize("bf16_ok,want", [(True, torch.bfloat16), (False, torch.float32)])
def test_auto_dtype_on_a_gpu_is_bf16_where_supported(gpu, monkeypatch, bf16_ok, want):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16_ok)
    assert runtime.resolve_dtype("auto", "cuda") == want
    assert runtime.resolve_dtype("auto", torch.device("cuda", 0)) == want


def test_named_dtypes_map_to_torch_and_an_unknown_one_is_refused():
    assert runtime.resolve_dtype("float32", "cuda") == torch.float32
    assert runtime.resolve_dtype("bfloat16", "cpu") == torch.bfloat16
    assert runtime.resolve_dtype("float16", "cpu") == torch.float16
    with pytest.raises(InputError, match=r"field 'presence.dtype': unknown presence.dtype 'fp8'.*auto, float32"):
        runtime.resolve_dtype("fp8", "cpu", field="presence.dtype")


def test_train_precision_follows_the_resolver(no_gpu):
    from pipeline.train import hf

    assert hf.device() == "cpu"
    assert hf.model_dtype(True) == torch.float32 and hf.model_dtype(False) == torch.float32  # bf16 ignored on CPU


def test_merge_search_device_follows_the_resolver(no_gpu):
    from pipeline.train import merge_search as ms

    res = ms.search([[3.0, 0, 0, 0, 2.0]], [[1.0, 0, 0, 0, 0.0]])
    assert res.device == "cpu"
    with pytest.raises(InputError, match="train.merge_device"):
        ms.search([[3.0, 0, 0, 0, 2.0]], [[1.0, 0, 0, 0, 0.0]], device="cuda")
