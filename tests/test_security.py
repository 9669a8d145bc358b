"""Security review as tests: static checks over the project's code (AST, not grep) plus a few
behaviour checks. Each check fails with the file, line and what to change.

1. No ``pickle``/``joblib``/``dill`` load, ``torch.load`` without ``weights_only=True``,
   ``read_pickle`` or ``np.load(allow_pickle=True)`` anywhere: the predictor bundle is JSON stored in
   the database (checked by planting a booby-trapped pickle where a bundle is read from).
2. SQL: every ``execute``/``executemany``/``sql``/``query``/``store.frame`` call whose SQL is built
   at run time (f-string, ``+``, ``%``, ``.format``) interpolates only values from code: constants,
   literal lists, loop variables over those, numbers; the few remaining sites are listed in REVIEWED
   with the reason they are safe. A new site fails until it is parameterised or reviewed.
3. ``trust_remote_code`` is never set to a literal True; it comes from a per-model config field whose
   default is False (or an allow-list whose default is empty), and YAML configs only set it per model.
4. The app binds to localhost (``.streamlit/config.toml``) and no code starts streamlit elsewhere.
5. App-side code (``app.py``, ``pages/``, the advisor modules the app uses on uploads) writes no file
   except under ``tempfile``; uploads are parsed from memory (checked by parsing one).
"""

from __future__ import annotations

import ast
import pickle
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("advisor", "pipeline", "pages", "bench", "scripts")
APP_FILES = ["app.py", "pages", "advisor/upload.py", "advisor/results.py", "advisor/lmeval.py",
             "advisor/evalplus.py", "advisor/leaderboard_norm.py", "advisor/views.py", "advisor/figures.py"]


def code_files(roots=CODE_DIRS + ("app.py",)) -> list[Path]:
    out = []
    for r in roots:
        p = ROOT / r
        out += [p] if p.is_file() else sorted(p.rglob("*.py")) if p.is_dir() else []
    return [f for f in out if "__pycache__" not in f.parts]


def rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


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


def qualname(node) -> str:
    parts = []
    while node is not None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            parts.append(node.name)
        node = getattr(node, "parent", None)
    return ".".join(reversed(parts)) or "<module>"


# ------------------------------------------------------------------------------ 1. deserialisation

UNSAFE_LOADERS = {"pickle.load", "pickle.loads", "joblib.load", "dill.load", "dill.loads",
                  "cloudpickle.load", "cloudpickle.loads", "_pickle.load", "_pickle.loads",
                  "pd.read_pickle", "pandas.read_pickle", "shelve.open", "marshal.load", "marshal.loads"}
# No reviewed loader is left: the predictor bundle is JSON stored in the database (advisor/bundle.py);
# a planted pickle is refused without being loaded (tests/test_predictor_specs.py).
ALLOWED_LOADERS: set = set()


def unsafe_loads(path: Path) -> list[tuple[int, str, str]]:
    tree = parse(path)
    aliases = {}  # local name -> module.attr for `from pickle import load as x`
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in {"pickle", "joblib", "dill", "cloudpickle",
                                                                 "_pickle", "marshal", "shelve"}:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        name = aliases.get(name, name)
        kw = {k.arg: k.value for k in node.keywords}
        bad = name in UNSAFE_LOADERS
        if name == "torch.load":
            wo = kw.get("weights_only")
            bad = not (isinstance(wo, ast.Constant) and wo.value is True)
        if name in ("np.load", "numpy.load"):
            ap = kw.get("allow_pickle")
            bad = isinstance(ap, ast.Constant) and ap.value is True
        if bad:
            out.append((node.lineno, qualname(node), name))
    return out


def test_no_unpickling_outside_the_bundle_loader():
    found = [(rel(p), line, where, name) for p in code_files() for line, where, name in unsafe_loads(p)]
    bad = [f"{f}:{line} in {where}: {name}" for f, line, where, name in found
           if (f, where, name) not in ALLOWED_LOADERS]
    assert not bad, ("unpickling outside the reviewed bundle loader (a pickle runs code when loaded; "
                     "never load one a user could supply; use JSON/CSV/safetensors):\n" + "\n".join(bad))


def test_the_scanner_catches_unpickling(tmp_path):
    f = tmp_path / "bad.py"
    f.write_text("import pickle, torch\nfrom joblib import load as jl\n"
                 "def f(p):\n    pickle.loads(p)\n    jl(p)\n    torch.load(p)\n    torch.load(p, weights_only=True)\n")
    assert [(n, w) for _, w, n in unsafe_loads(f)] == [("pickle.loads", "f"), ("joblib.load", "f"),
                                                       ("torch.load", "f")]


class _Trap:
    """Unpickling this creates a marker file: proof that the loader ran a pickle."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path(self.marker).touch, ())


def test_a_pickle_planted_under_data_or_in_the_database_never_runs(tmp_path):
    """RM_ADVISOR_BUNDLE naming a planted pickle under data/ (issue 17, rows 11 and 12), or a pickle
    written into a database's predictor_bundle row: refused with a message, never unpickled."""
    import uuid

    import duckdb

    from advisor.bundle import BundleError, load_bundle, load_bundle_file

    marker = tmp_path / "pwned"
    planted = ROOT / "data" / "predictor" / f"_planted_{uuid.uuid4().hex}.joblib"
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(pickle.dumps(_Trap(marker)))
    try:
        with pytest.raises(BundleError, match="never loaded"):
            load_bundle_file(planted)
    finally:
        planted.unlink()
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


# ------------------------------------------------------------------------------ 2. SQL

SQL_METHODS = {"execute": 0, "executemany": 0, "sql": 0, "query": 0, "from_query": 0, "frame": 1}
NUMERIC_CALLS = {"int", "float", "len", "round", "abs"}
PASS_CALLS = {"sorted", "list", "tuple", "set", "reversed", "str.join"}
# Reviewed interpolations: (file, function, expression) -> why the value cannot come from a user.
REVIEWED = {
    ("pipeline/schema.py", "clear_owned", "table"):
        "table names parsed from the CREATE TABLE lines of pipeline/sql/*.sql (repository files)",
    ("pipeline/schema.py", "clear_owned", "where"):
        "the '-- rows: TABLE: WHERE' claims written in pipeline/sql/*.sql (repository files)",
    ("advisor/views.py", "has_rows", "table"):
        "callers pass table names from code (views.PRESENCE_TABLES and literals), never user text",
    ("advisor/views.py", "table_counts", "n"):
        "table names read from information_schema.tables, i.e. the tables the schema files created",
    ("pipeline/schema.py", "create_all", "ddl"):
        "the text of pipeline/sql/*.sql (repository files)",
    ("advisor/store.py", "frame", "sql"):
        "a pass-through: every call of store.frame is itself checked by this scan",
    ("pipeline/predictor_stage.py", "_insert", "table"):
        "callers pass literal table names of pipeline/sql (predictor tables)",
    ("pipeline/predictor_stage.py", "_insert", "view"):
        "'_insert_' + the reviewed table name above (a registered DataFrame's name)",
    ("pipeline/predictor_stage.py", "_insert", "cols"):
        "quoted column names of a DataFrame the stage builds in code from fixed column lists",
}


class Trust:
    """Decides whether an expression's value can only come from the code itself."""

    def __init__(self, tree: ast.Module):
        self.module_consts = set()
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            for t in targets:
                if isinstance(t, ast.Name) and node.value is not None and self.expr(node.value, None, set()):
                    self.module_consts.add(t.id)

    def name(self, n: str, fn, seen: set) -> bool:
        if n.isupper() or n in self.module_consts:
            return True
        if fn is None or n in seen:
            return False
        seen = seen | {n}
        args = fn.args
        if n in {a.arg for a in args.args + args.kwonlyargs + args.posonlyargs}:
            return False  # a parameter: whatever the caller passes
        bindings = []
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign):
                bindings += [node.value for t in node.targets for x in ast.walk(t)
                             if isinstance(x, ast.Name) and x.id == n]
            elif isinstance(node, (ast.For, ast.comprehension)):
                if any(isinstance(x, ast.Name) and x.id == n for x in ast.walk(node.target)):
                    bindings.append(node.iter)
        return bool(bindings) and all(self.expr(b, fn, seen) for b in bindings)

    def expr(self, e, fn, seen: set) -> bool:
        if isinstance(e, ast.Constant):
            return True
        if isinstance(e, ast.Name):
            return self.name(e.id, fn, seen)
        if isinstance(e, (ast.List, ast.Tuple, ast.Set)):
            return all(self.expr(x, fn, seen) for x in e.elts)
        if isinstance(e, ast.Dict):
            return all(self.expr(x, fn, seen) for x in e.keys if x is not None) and all(
                self.expr(x, fn, seen) for x in e.values)
        if isinstance(e, ast.JoinedStr):
            return all(self.expr(v.value, fn, seen) for v in e.values if isinstance(v, ast.FormattedValue))
        if isinstance(e, ast.Subscript):
            return self.expr(e.value, fn, seen)
        if isinstance(e, ast.BinOp):
            return self.expr(e.left, fn, seen) and self.expr(e.right, fn, seen)
        if isinstance(e, ast.IfExp):
            return self.expr(e.body, fn, seen) and self.expr(e.orelse, fn, seen)
        if isinstance(e, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):  # targets: see name()
            targets = {x.id for g in e.generators for x in ast.walk(g.target) if isinstance(x, ast.Name)}
            used = {x.id for x in ast.walk(e.elt) if isinstance(x, ast.Name)}
            if not used & targets:  # e.g. ", ".join("?" for _ in cols): only the count varies
                return self.expr(e.elt, fn, seen)
            return all(self.expr(g.iter, fn, seen) for g in e.generators) and self.expr(e.elt, fn, seen)
        if isinstance(e, ast.Attribute):  # .keys/.values/.items of a trusted mapping
            return self.expr(e.value, fn, seen)
        if isinstance(e, ast.Call):
            f = dotted(e.func)
            if f in NUMERIC_CALLS:
                return True  # a number cannot inject SQL
            if f in PASS_CALLS or (isinstance(e.func, ast.Attribute) and e.func.attr in (
                    "join", "keys", "values", "items", "upper", "lower", "strip")):
                base = [e.func.value] if isinstance(e.func, ast.Attribute) and f not in PASS_CALLS else []
                return all(self.expr(x, fn, seen) for x in [*base, *e.args])
        return False


def sql_sites(path: Path):
    """(line, function, expression source, trusted) for every run-time part of SQL text."""
    src = path.read_text(encoding="utf-8")
    tree = parse(path)
    trust = Trust(tree)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, (ast.Attribute, ast.Name)):
            continue
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        if attr not in SQL_METHODS or len(node.args) <= SQL_METHODS[attr]:
            continue
        if attr == "frame" and dotted(node.func) not in ("store.frame", "frame"):
            continue
        fn = enclosing(node)
        sql = node.args[SQL_METHODS[attr]]
        candidates = [sql]
        if isinstance(sql, ast.Name) and fn is not None:  # sql = f"..."; con.execute(sql)
            candidates = [n.value for n in ast.walk(fn) if isinstance(n, ast.Assign)
                          for t in n.targets if isinstance(t, ast.Name) and t.id == sql.id] or [sql]
        for c in candidates:
            parts = []
            if isinstance(c, ast.JoinedStr):
                parts = [v.value for v in c.values if isinstance(v, ast.FormattedValue)]
            elif isinstance(c, ast.BinOp):
                parts = [x for x in (c.left, c.right) if not isinstance(x, ast.Constant)]
            elif isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr == "format":
                parts = list(c.args) + [k.value for k in c.keywords]
            elif isinstance(c, ast.Name):
                parts = [c]  # SQL passed in from elsewhere: trusted only if it is a constant
            for p in parts:
                out.append((node.lineno, qualname(node).rsplit(".", 1)[-1] if fn else "<module>",
                            ast.get_source_segment(src, p), trust.expr(p, fn, set())))
    return out


def test_sql_interpolates_only_values_from_code():
    bad = []
    for p in code_files():
        for line, fn, expr, trusted in sql_sites(p):
            if not trusted and (rel(p), fn, expr) not in REVIEWED:
                bad.append(f"{rel(p)}:{line} in {fn}(): {{{expr}}}")
    assert not bad, ("SQL text built from a value the scan cannot prove comes from code; pass values as "
                     "parameters (con.execute(sql, [value])) or, for an identifier from code, add the "
                     "site to REVIEWED with the reason:\n" + "\n".join(bad))


# Reviewed sites whose identifier is a parameter: every caller must pass a value from code.
# (defining file, function) -> position of the table-name argument
PARAM_SITES = {("advisor/views.py", "has_rows"): 1, ("pipeline/predictor_stage.py", "_insert"): 1}


def _calls_of(file: str, fn: str, p: Path, node: ast.Call) -> bool:
    name = dotted(node.func)
    module = Path(file).stem
    return (rel(p) == file and name == fn) or name.endswith(f"{module}.{fn}")


def test_reviewed_identifier_parameters_get_values_from_code():
    bad, calls = [], 0
    for p in code_files():
        tree = parse(p)
        trust = Trust(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for (file, fn), i in PARAM_SITES.items():
                if _calls_of(file, fn, p, node) and len(node.args) > i:
                    calls += 1
                    if not trust.expr(node.args[i], enclosing(node), set()):
                        bad.append(f"{rel(p)}:{node.lineno}: {ast.unparse(node)[:90]}")
    assert calls >= 3 and not bad, "a table name that does not come from code:\n" + "\n".join(bad)


def test_the_sql_scanner_flags_user_values(tmp_path):
    f = tmp_path / "q.py"
    f.write_text(
        "COLS = ['a', 'b']\n"
        "def ok(con, model):\n"
        "    cols = ['x', 'y']\n"
        "    con.execute(f\"SELECT {', '.join(cols)}, {', '.join(COLS)} FROM t WHERE m = ?\", [model])\n"
        "    for t in ('u', 'v'):\n"
        "        con.execute(f'DELETE FROM \"{t}\" LIMIT {int(model)}')\n"
        "def bad(con, model, table):\n"
        "    con.execute(f\"SELECT * FROM t WHERE m = '{model}'\")\n"
        "    con.execute('SELECT * FROM ' + table)\n"
        "    sql = 'SELECT {}'.format(model)\n"
        "    con.execute(sql)\n"
        "    name = model.strip()\n"
        "    store.frame(con, f'SELECT * FROM {name}')\n")
    sites = [(fn, expr, ok) for _, fn, expr, ok in sql_sites(f)]
    assert [s for s in sites if s[0] == "ok"] == [("ok", "', '.join(cols)", True), ("ok", "', '.join(COLS)", True),
                                                  ("ok", "t", True), ("ok", "int(model)", True)]
    assert [(e, ok) for fn, e, ok in sites if fn == "bad"] == [
        ("model", False), ("table", False), ("model", False), ("name", False)]


# ------------------------------------------------------------------------------ 3. trust_remote_code

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
        where = f"{rel(path) if path.is_relative_to(ROOT) else path.name}:{getattr(node, 'lineno', 0)}"
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
                 "@dataclass\nclass C:\n    trust_remote_code: bool = True\n    ok: list = field(default_factory=list)\n"
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


# ------------------------------------------------------------------------------ 4. localhost

def test_app_binds_to_localhost():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] in ("localhost", "127.0.0.1", "::1")
    assert cfg["server"].get("headless", True) is True
    assert cfg.get("browser", {}).get("gatherUsageStats") is False
    wide = []
    for p in code_files() + sorted(ROOT.glob("*.sh")) + sorted((ROOT / ".ci").rglob("*") if (ROOT / ".ci").is_dir() else []):
        if p.is_file():
            text = p.read_text(encoding="utf-8", errors="replace")
            if re.search(r"server[._]address[\"'= ,]+[\"']?0\.0\.0\.0", text):
                wide.append(rel(p))
    assert not wide, f"these start the app on every interface: {wide}"


def test_shipped_streamlit_config_shows_users_no_traceback_and_no_web_fonts():
    """Issue 17 rows 15-16: users get a generic message, never a traceback with server paths; page icons
    are emoji, since ":material/..." icons make every page load fetch from fonts.gstatic.com (the
    browser test checks that no request leaves localhost)."""
    from streamlit.config import ShowErrorDetailsConfigOptions

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["client"]["showErrorDetails"] == ShowErrorDetailsConfigOptions.NONE.value == "none"
    material = [f"{rel(p)}:{i}" for p in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
                for i, line in enumerate(p.read_text().splitlines(), 1) if ":material/" in line]
    assert material == []


# ------------------------------------------------------------------------------ 5. uploads stay in memory

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
        write = name in WRITE_FUNCS or (attr in WRITE_METHODS and not (
            attr.startswith("to_") and not node.args and not any(k.arg in ("path", "path_or_buf") for k in node.keywords)))
        if name in ("open", "io.open") or attr == "open":
            mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
            write = isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax+")
        if write:
            scope = enclosing(node) or tree
            if "tempfile" not in ast.dump(scope):
                out.append(f"{rel(path) if path.is_relative_to(ROOT) else path.name}:{node.lineno}: "
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
                 "def tmp(up):\n    with tempfile.TemporaryDirectory() as d:\n        (Path(d) / 'f').write_bytes(up)\n")
    got = file_writes(f)
    assert len(got) == 2 and all(":3:" in g or ":4:" in g for g in got), got


def test_parsing_an_upload_writes_nothing(tmp_path, monkeypatch):
    """Parse a CSV and a JSON upload with the working directory in an empty folder and every file
    opened for writing recorded: nothing may be written."""
    import builtins
    import io

    from advisor import upload

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
