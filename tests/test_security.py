"""Security review as tests: what ruff's bandit rules (``S``, run by ``.ci/run``; pyproject.toml
``[tool.ruff]``) cannot check, plus a few behaviour checks. Each check fails with the file, line and what
to change.

Ruff covers, over the whole tree: unpickling (S301 pickle/dill/shelve/``pd.read_pickle``, S302 marshal,
and the banned APIs ``joblib.load``/``cloudpickle``/``dill``, TID251), SQL text built from strings (S608:
a reviewed site carries ``# noqa: S608 - why the interpolated identifier comes from code``), ``eval``/
``exec`` (S307/S102), ``yaml.load`` (S506), subprocess (S603/S607), binding every interface (S104).
``test_ruff_flags_what_this_file_leaves_to_it`` proves that the project's config flags each of them.

Checked here:

1. Loaders whose danger is in an argument: ``torch.load`` without ``weights_only=True``,
   ``np.load(allow_pickle=True)``; and the predictor bundle never unpickles (a planted pickle is refused).
2. ``trust_remote_code`` is never set to a literal True; it comes from a per-model config field whose
   default is False (or an allow-list whose default is empty), and YAML configs only set it per model.
3. The app binds to localhost (``.streamlit/config.toml``) and no script starts streamlit elsewhere.
4. App-side code (``app.py``, ``pages/``, the advisor modules the app uses on uploads) writes no file
   except under ``tempfile``, renders no raw HTML; uploads are parsed from memory (checked by parsing one).
"""

from __future__ import annotations

import ast
import pickle
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("advisor", "pipeline", "pages", "bench", "scripts")
APP_FILES = ["app.py", "pages", "advisor/formats/upload.py", "advisor/formats/results.py",
             "advisor/formats/lmeval.py", "advisor/formats/evalplus.py", "advisor/core/leaderboard_norm.py",
             "advisor/db/queries.py", "pages/_figures.py"]


def code_files(roots=CODE_DIRS + ("app.py",)) -> list[Path]:
    out = []
    for r in roots:
        p = ROOT / r
        out += [p] if p.is_file() else sorted(p.rglob("*.py")) if p.is_dir() else []
    return [f for f in out if "__pycache__" not in f.parts]


def rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix() if p.is_relative_to(ROOT) else p.name


def parse(p: Path) -> ast.Module:
    tree = ast.parse(p.read_text(encoding="utf-8"), filename=str(p))
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child.parent = node  # type: ignore[attr-defined]
    return tree


def enclosing(node, kinds=(ast.FunctionDef, ast.AsyncFunctionDef)):
    while node is not None:
        node = getattr(node, "parent", None)
        if isinstance(node, kinds):
            return node
    return None


def dotted(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ""


# ------------------------------------------------------------------------------ 0. what ruff checks

RUFF_CASES = {  # code -> a line the project's ruff config must flag with it
    "S301": "import pickle\npickle.loads(b'')\n",
    "S302": "import marshal\nmarshal.loads(b'')\n",
    "TID251": "from joblib import load\nload('bundle.joblib')\n",
    "S608": "def q(con, model):\n    con.execute(f\"SELECT * FROM t WHERE m = '{model}'\")\n",
    "S307": "eval(input())\n",
    "S102": "exec(input())\n",
    "S506": "import yaml\nyaml.load(open('c.yaml'))\n",
    "S104": "ADDRESS = '0.0.0.0'\n",
}


def test_ruff_flags_what_this_file_leaves_to_it(tmp_path):
    """Each pattern in its own file, linted with the project's config (as `.ci/run` does): the rule
    fires. Guards the config against losing a rule this file no longer checks itself."""
    for code, src in RUFF_CASES.items():
        (tmp_path / f"case_{code}.py").write_text(src)
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"),
                           "--no-cache", "--output-format", "concise", "."],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for code in RUFF_CASES:
        assert re.search(rf"^case_{code}\.py:\d+:\d+: {code}\b", proc.stdout, re.M), (code, proc.stdout)


# ------------------------------------------------------------------------------ 1. deserialisation

def unsafe_loads(path: Path) -> list[tuple[int, str]]:
    """(line, call) of every torch.load without weights_only=True and np.load(allow_pickle=True)."""
    out = []
    for node in ast.walk(parse(path)):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        kw = {k.arg: k.value for k in node.keywords}
        if name == "torch.load":
            wo = kw.get("weights_only")
            bad = not (isinstance(wo, ast.Constant) and wo.value is True)
        elif name in ("np.load", "numpy.load"):
            ap = kw.get("allow_pickle")
            bad = not (ap is None or isinstance(ap, ast.Constant) and ap.value is False)
        else:
            bad = False
        if bad:
            out.append((node.lineno, name))
    return out


def test_no_loader_unpickles():
    bad = [f"{rel(p)}:{line}: {name}" for p in code_files() for line, name in unsafe_loads(p)]
    assert not bad, ("a loader that unpickles (a pickle runs code when loaded; never load one a user could "
                     "supply): pass torch.load(..., weights_only=True), leave np.load's allow_pickle False, "
                     "or use JSON/CSV/safetensors:\n" + "\n".join(bad))


def test_the_scanner_catches_pickling_loaders(tmp_path):
    f = tmp_path / "bad.py"
    f.write_text("import numpy as np, torch\n"
                 "def f(p, flag):\n"
                 "    torch.load(p)\n"
                 "    torch.load(p, weights_only=True)\n"
                 "    torch.load(p, weights_only=flag)\n"
                 "    np.load(p)\n"
                 "    np.load(p, allow_pickle=True)\n")
    assert unsafe_loads(f) == [(3, "torch.load"), (5, "torch.load"), (7, "np.load")]


class _Trap:
    """Unpickling this creates a marker file: proof that the loader ran a pickle."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path(self.marker).touch, ())


def test_a_planted_pickle_bundle_file_or_database_row_never_runs(tmp_path):
    """RM_ADVISOR_BUNDLE naming a planted pickle (issue 17, rows 11 and 12), or a pickle written into a
    database's predictor_bundle row: refused with a message, never unpickled."""
    import duckdb

    from advisor.predict.bundle import BundleError, load_bundle, load_bundle_file

    marker = tmp_path / "pwned"
    planted = tmp_path / "data" / "predictor" / "bundle.joblib"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(pickle.dumps(_Trap(marker)))
    with pytest.raises(BundleError, match="never loaded"):
        load_bundle_file(planted)
    db = tmp_path / "planted.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE predictor_bundle (version VARCHAR, format_version INTEGER, "
                "created_at VARCHAR, bundle_json VARCHAR)")
    con.execute("INSERT INTO predictor_bundle VALUES ('v', 2, 'now', ?)",
                [pickle.dumps(_Trap(marker), protocol=0).decode("latin-1")])
    con.close()
    with pytest.raises(BundleError, match="not a JSON predictor bundle"):
        load_bundle(db)
    assert not marker.exists()
    pickle.loads(pickle.dumps(_Trap(marker)))  # noqa: S301 - proves the trap fires when unpickled
    assert marker.exists()


# ------------------------------------------------------------------------------ 2. trust_remote_code

def _is_false_default(v) -> bool:
    if isinstance(v, ast.Constant):
        return v.value in (False, None)
    if isinstance(v, ast.Call) and dotted(v.func) in ("field", "dataclasses.field"):
        kw = {k.arg: k.value for k in v.keywords}
        df = kw.get("default_factory")
        d = kw.get("default")
        return (df is not None and dotted(df) in ("list", "set", "tuple", "dict")) or (
            d is not None and _is_false_default(d))
    return False


def _under_trc_condition(node) -> bool:
    while node is not None:
        node = getattr(node, "parent", None)
        if isinstance(node, (ast.If, ast.IfExp)) and "trust_remote_code" in ast.dump(node.test):
            return True
    return False


def trust_remote_code_problems(path: Path) -> list[str]:
    tree = parse(path)
    out = []
    for node in ast.walk(tree):
        where = f"{rel(path)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.keyword) and node.arg == "trust_remote_code":
            v = node.value
            ok = (isinstance(v, ast.Constant) and v.value is False) or (
                isinstance(v, ast.Attribute) and v.attr == "trust_remote_code") or (
                isinstance(v, ast.Name) and v.id == "trust_remote_code") or (
                isinstance(v, ast.Subscript) and isinstance(v.slice, ast.Constant)
                and v.slice.value == "trust_remote_code") or (
                isinstance(v, ast.Compare) and any("trust_remote_code" in dotted(c) for c in v.comparators))
            if not ok:
                out.append(f"{where}: trust_remote_code={ast.unparse(v)} (take it from the model's config entry)")
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                node.target.id == "trust_remote_code" and node.value is not None and not _is_false_default(node.value):
            out.append(f"{where}: config field default {ast.unparse(node.value)} (must be False / empty)")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            pos = a.args[len(a.args) - len(a.defaults):]
            for arg, d in [*zip(pos, a.defaults), *zip(a.kwonlyargs, a.kw_defaults)]:
                if arg.arg == "trust_remote_code" and d is not None and not _is_false_default(d):
                    out.append(f"{where}: parameter default trust_remote_code={ast.unparse(d)}")
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and k.value == "trust_remote_code" and \
                        isinstance(v, ast.Constant) and v.value is True:
                    out.append(f"{where}: {{'trust_remote_code': True}}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                re.search(r"trust_remote_code\s*=\s*True", node.value) or node.value == "--trust_remote_code") \
                and not _under_trc_condition(node):
            out.append(f"{where}: {node.value!r} outside an `if <model>.trust_remote_code:`")
    return out


def test_trust_remote_code_only_from_per_model_config():
    bad = [m for p in code_files() for m in trust_remote_code_problems(p)]
    assert not bad, "trust_remote_code must be off unless a config names the model:\n" + "\n".join(bad)


def test_the_trust_remote_code_scanner_flags_literals(tmp_path):
    f = tmp_path / "t.py"
    f.write_text("from dataclasses import dataclass, field\n"
                 "@dataclass\nclass C:\n    trust_remote_code: bool = True\n"
                 "    ok: list = field(default_factory=list)\n"
                 "def load(name, trust_remote_code=True):\n"
                 "    AutoModel.from_pretrained(name, trust_remote_code=True)\n"
                 "    AutoModel.from_pretrained(name, trust_remote_code=spec.trust_remote_code)\n"
                 "    args = 'pretrained=x,trust_remote_code=True'\n"
                 "    if spec.trust_remote_code:\n        args += ',trust_remote_code=True'\n")
    got = trust_remote_code_problems(f)
    assert len(got) == 4 and all("t.py" in g for g in got), got
    assert any("field default True" in g for g in got) and any("parameter default" in g for g in got)


def _yaml_trc(node, path, in_model=False):
    """(path, value) of every trust_remote_code key outside a per-model entry or not a bool/list."""
    out = []
    if isinstance(node, dict):
        model_entry = any(k in node for k in ("id", "hf_id", "model", "name"))
        for k, v in node.items():
            if k == "trust_remote_code":
                per_model = (model_entry and isinstance(v, bool)) or (
                    isinstance(v, list) and all(isinstance(x, str) for x in v))
                if not per_model and v not in (False, None):
                    out.append(f"{path}: trust_remote_code: {v!r}")
            else:
                out += _yaml_trc(v, f"{path}.{k}", model_entry)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _yaml_trc(v, f"{path}[{i}]", in_model)
    return out


def test_configs_set_trust_remote_code_only_per_model():
    bad = []
    for f in sorted((ROOT / "configs").rglob("*.yaml")):
        bad += _yaml_trc(yaml.safe_load(f.read_text()) or {}, rel(f))
    assert not bad, "set trust_remote_code on a model entry (or as a list of model ids):\n" + "\n".join(bad)
    assert _yaml_trc({"train": {"trust_remote_code": True}}, "x") == ["x.train: trust_remote_code: True"]
    assert _yaml_trc({"train": {"models": [{"id": "a/b", "trust_remote_code": True}]}}, "x") == []


# ------------------------------------------------------------------------------ 3. localhost

def test_app_binds_to_localhost():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] in ("localhost", "127.0.0.1", "::1")
    assert cfg["server"].get("headless", True) is True
    assert cfg.get("browser", {}).get("gatherUsageStats") is False
    wide = []  # Python code: ruff's S104 flags any "0.0.0.0"; here the shell scripts that start things
    for p in sorted(ROOT.glob("*.sh")) + sorted((ROOT / ".ci").rglob("*")) + sorted((ROOT / "bench").glob("*.sh")):
        if p.is_file():
            text = p.read_text(encoding="utf-8", errors="replace")
            if re.search(r"server[._]address[\"'= ,]+[\"']?0\.0\.0\.0", text):
                wide.append(rel(p))
    assert not wide, f"these start the app on every interface: {wide}"


def test_shipped_streamlit_config_shows_users_no_traceback_and_no_web_fonts():
    """Issue 17 rows 15-16: users get a generic message, never a traceback with server paths; the favicon
    (``st.set_page_config(page_icon=...)``) is an emoji, since a ":material/..." favicon is fetched from
    fonts.gstatic.com on every page load. The sidebar's ``st.Page`` icons are ":material/..." (issue 26:
    drawn from the Material Symbols font bundled with Streamlit, no emoji font needed); the browser test
    checks that no request leaves localhost."""
    from streamlit.config import ShowErrorDetailsConfigOptions

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["client"]["showErrorDetails"] == ShowErrorDetailsConfigOptions.NONE.value == "none"
    favicons = [(rel(p), kw.value) for p in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
                for node in ast.walk(parse(p)) if isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "set_page_config"
                for kw in node.keywords if kw.arg == "page_icon"]
    assert favicons and all(isinstance(v, ast.Constant) and not str(v.value).startswith(":material")
                            for _, v in favicons), favicons


# ------------------------------------------------------------------------------ 4. uploads stay in memory, no raw HTML

WRITE_METHODS = {"write_bytes", "write_text", "to_csv", "to_parquet", "to_excel", "to_json", "to_pickle",
                 "to_feather", "savefig", "write_image", "write_html", "mkdir", "touch", "symlink_to"}
WRITE_FUNCS = {"shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.move", "shutil.copytree",
               "os.rename", "os.replace", "os.makedirs", "os.mkdir"}


def file_writes(path: Path) -> list[str]:
    tree = parse(path)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        to_string = attr.startswith("to_") and not node.args and not any(
            k.arg in ("path", "path_or_buf") for k in node.keywords)  # df.to_csv() returns the text
        write = name in WRITE_FUNCS or (attr in WRITE_METHODS and not to_string)
        if name in ("open", "io.open") or attr == "open":
            mode = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "mode"), None)
            write = isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax+")
        if write:
            scope = enclosing(node) or tree
            if "tempfile" not in ast.dump(scope):
                out.append(f"{rel(path)}:{node.lineno}: "
                           f"{ast.unparse(node)[:80]}")
    return out


def test_app_side_code_writes_files_only_under_tempfile():
    bad = [w for p in code_files(APP_FILES) for w in file_writes(p)]
    assert not bad, ("the app writes files outside a temp dir (uploads must be parsed from memory or "
                     "written under tempfile.TemporaryDirectory()):\n" + "\n".join(bad))


def test_the_write_scanner_flags_writes(tmp_path):
    f = tmp_path / "w.py"
    f.write_text("import tempfile\n"
                 "def bad(up):\n    open(up.name, 'wb').write(up.getvalue())\n    df.to_csv('x.csv')\n"
                 "def ok(up, df):\n    text = df.to_csv()\n    open('x.csv').read()\n"
                 "def tmp(up):\n    with tempfile.TemporaryDirectory() as d:\n"
                 "        (Path(d) / 'f').write_bytes(up)\n")
    got = file_writes(f)
    assert len(got) == 2 and all(":3:" in g or ":4:" in g for g in got), got


def raw_html(path: Path) -> list[str]:
    """st.html / components.html calls and truthy unsafe_allow_html= keywords: raw HTML in the page."""
    out = []
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Call) and dotted(node.func).endswith(("st.html", "components.html", "v1.html")):
            out.append((node.lineno, dotted(node.func)))
        elif isinstance(node, ast.keyword) and node.arg == "unsafe_allow_html" and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            out.append((node.value.lineno, f"unsafe_allow_html={ast.unparse(node.value)}"))
    return [f"{rel(path)}:{line}: {what}" for line, what in sorted(out)]


def test_app_renders_no_raw_html():
    bad = [h for p in code_files(["app.py", "pages", "advisor"]) for h in raw_html(p)]
    assert not bad, ("raw HTML in the app (user text could inject markup): use st.markdown/st.write of "
                     "escaped text (advisor.core.untrusted):\n" + "\n".join(bad))


def test_the_html_scanner_flags_raw_html(tmp_path):
    f = tmp_path / "h.py"
    f.write_text("import streamlit as st\n"
                 "st.markdown(text, unsafe_allow_html=True)\n"
                 "st.markdown(text, unsafe_allow_html=False)\n"
                 "st.html(text)\n"
                 "st.markdown(text)\n")
    assert raw_html(f) == ["h.py:2: unsafe_allow_html=True", "h.py:4: st.html"]


def test_parsing_an_upload_writes_nothing(tmp_path, monkeypatch):
    """Parse a CSV and a JSON upload with the working directory in an empty folder and every file
    opened for writing recorded: nothing may be written."""
    import builtins
    import io

    from advisor.formats import upload

    opened = []
    real_open = builtins.open

    def spy(file, mode="r", *a, **k):
        if any(c in mode for c in "wax+"):
            opened.append(str(file))
        return real_open(file, mode, *a, **k)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    c = upload.parse_upload(b"model,IFEval,BBH\norg/a,50,40\n", "../../etc/evil.csv")
    j = upload.parse_upload(b'{"results": {"arc_challenge": {"acc_norm,none": 0.5}}, '
                            b'"config": {"model_args": "pretrained=org/b"}}', "../x.json")
    assert c.frame["leaderboard_ifeval"].tolist() == [50.0] and j.frame["hf_id"].tolist() == ["org/b"]
    assert opened == [] and list(tmp_path.iterdir()) == []
