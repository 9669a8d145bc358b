"""README.md is a front door whose layout table matches the tree, and the manuals' links resolve."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def layout_table() -> str:
    section = README.split("\n## Layout", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def tracked() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S607
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [p for p in out.stdout.splitlines() if (ROOT / p).exists()]


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = README.splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; manuals belong in docs/"
    block = README.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert "streamlit run app.py" in block[0] and block[1] == "bash .ci/run"


def test_every_path_the_layout_table_names_exists():
    table = layout_table()
    top = {p.split("/")[0] for p in tracked()}
    named = set(LINK.findall(table))
    named |= {t for t in re.findall(r"`([^`\s]+)`", table) if t.split("/")[0] in top and "*" not in t}
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"README's layout table names paths that do not exist: {missing}"


def test_the_layout_table_covers_every_top_level_entry_and_module():
    table = layout_table()
    files = tracked()
    top = {p.split("/")[0] for p in files} - {"README.md", ".gitignore"}
    modules = {p for p in files if re.fullmatch(r"(advisor|pipeline)/[^/]+\.py", p) and not p.endswith("__init__.py")}
    packages = {p.rsplit("/", 1)[0] + "/" for p in files if re.fullmatch(r"pipeline/[^/]+/__init__\.py", p)}
    absent = sorted(x for x in top | packages if x not in table and x + "/" not in table)
    absent += sorted(m for m in modules if Path(m).name not in table)
    assert not absent, f"README's layout table does not mention: {absent}"


@pytest.mark.parametrize("doc", ["README.md", *sorted(p.name for p in (ROOT / "docs").glob("*.md"))])
def test_relative_links_resolve(doc):
    path = ROOT / doc if doc == "README.md" else ROOT / "docs" / doc
    broken = [t for t in LINK.findall(path.read_text())
              if not t.startswith(("http://", "https://", "mailto:")) and not (path.parent / t).exists()]
    assert not broken, f"{doc}: broken links {broken}"
