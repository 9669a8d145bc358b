"""The house rules as tests: advisor/ in rooms imported one way (import-linter, pyproject.toml), no import
cycle anywhere, nothing at advisor/'s top but the package, its __main__ and the CLI, the app never imports
the pipeline, and no product function longer than 80 lines."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"
PRODUCT = ("advisor", "pipeline", "pages")
MAX_FUNCTION_LINES = 80


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-logo", "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_the_import_contracts_hold():
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "4 kept, 0 broken" in proc.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("advisor/core/errors.py", "import pipeline.errors", "advisor imports neither half"),
    ("advisor/core/registry.py", "from advisor.predict import specs", "advisor's rooms import downwards"),
    ("pages/_figures.py", "import pipeline.run", "the app (pages/) never imports the pipeline"),
])
def test_a_deliberate_wrong_import_breaks_a_contract(tmp_path, module, line, contract):
    for name in (*PRODUCT, "pyproject.toml"):
        src = ROOT / name
        (shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
         if src.is_dir() else shutil.copy(src, tmp_path / name))
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # a deliberate wrong import\n")
    proc = _lint(tmp_path)
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert f"{contract}" in proc.stdout and "BROKEN" in proc.stdout


def _cycles(graph, modules) -> list[list[str]]:
    """Every import cycle among ``modules`` (Tarjan's strongly connected components of size > 1)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v), on.add(v)
        for w in graph.find_modules_directly_imported_by(v) & modules:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(modules):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PRODUCT, cache_dir=None)
    # a package's __init__ importing its own submodules is how a public face works, not a cycle
    modules = {m for m in graph.modules if not any(m == p for p in PRODUCT)}
    cycles = [c for c in _cycles(graph, modules)
              if not any(a != b and b.startswith(a + ".") for a in c for b in c)]
    assert not cycles, cycles


def test_a_planted_cycle_is_found():
    graph = grimp.ImportGraph()
    for a, b in (("x.a", "x.b"), ("x.b", "x.c"), ("x.c", "x.a"), ("x.c", "x.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph, set(graph.modules)) == [["x.a", "x.b", "x.c"]]


def test_advisor_top_holds_only_the_package_its_main_and_the_cli():
    top = sorted(p.name for p in (ROOT / "advisor").glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "cli.py"], top


def test_the_app_entry_never_imports_the_pipeline():
    tree = ast.parse((ROOT / "app.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in imported if m.split(".")[0] in ("pipeline", "torch", "transformers", "trl")}


def test_no_product_function_longer_than_a_screen():
    long = []
    for path in sorted(p for d in PRODUCT for p in (ROOT / d).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, long
