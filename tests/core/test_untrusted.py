"""Issue 17, rows 1-4 and 17: untrusted text is data, never markup.

Row 1: JSON nested 100k deep (upload and ``--results``) is refused before parsing, with a message.
Row 2: CSV formula injection is neutralised the OWASP way in the shortlist export.
Row 3: Markdown / HTML in model ids, file names and cells renders as text on the page and in the .md export.
Row 4: ``inf`` in a numeric cell is an error naming the cell; the cell is imputed and flagged.
Row 17: ``ORG/Model`` and ``org/model`` in one upload are one model.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from advisor.core import untrusted
from advisor.formats import upload
from advisor.predict.export import export_shortlist

ROOT = Path(__file__).resolve().parents[2]
DEEP = b'{"results": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
HOSTILE_IDS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3",
               "\t=2+2", "\r=1+1"]
MARKUP = ["[click](http://evil.example)", "![x](http://evil.example/i.png)", "<img src=x onerror=alert(1)>",
          ":red[alarm]", "**bold** _em_ `code` ~~del~~", "$x^2$", "www.evil.example", "http://evil.example/a",
          "a | b", "# heading", "- item", "1. first", "> quote", ":material/home: :smile:", "&amp; &lt;",
          "line\nbreak", "back\\slash"]


# ------------------------------------------------------------------------------ row 1: deep JSON

def test_deep_json_upload_is_refused_before_parsing():
    got = upload.parse_upload(DEEP, "deep.json")
    assert got.frame.empty
    assert len(got.errors) == 1
    msg = got.errors[0]
    assert msg.startswith("deep.json: refused before parsing: nested 100001 levels deep") and "Fix:" in msg


def test_deep_json_reward_model_results_are_refused_before_parsing():
    from advisor.formats import user_rm

    with pytest.raises(user_rm.RMFileError, match="refused before parsing: nested 100001 levels deep"):
        user_rm.parse(DEEP, "rm.json", method="regression", base="org/base")


def test_json_depth_ignores_brackets_inside_strings():
    assert untrusted.json_depth(b'{"a": "[[[[{{{{", "b": [[1]], "c": "\\"[[", "d": "\\\\"}') == 3
    assert untrusted.json_depth(b'["\\\\", [[]]]') == 3
    assert untrusted.json_depth(b"1") == 0
    ok = b'{"results": {"t": {"acc,none": 0.5}}, "configs": {"t": {"x": [[1], [2]]}}}'
    assert untrusted.json_problem(ok) is None
    assert "over the 1 MB limit" in untrusted.json_problem(b" " * (2 * 2**20), max_bytes=2**20)


def test_deep_json_results_file_on_the_cli_exits_2_with_a_message(tmp_path):
    deep = tmp_path / "results_deep.json"
    deep.write_bytes(DEEP)
    proc = subprocess.run([sys.executable, "-m", "pipeline.run", "--stages", "ingest", "--db",
                           str(tmp_path / "a.duckdb"), "--results", str(deep), "--model", "org/deep"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr
    assert "results_deep.json" in proc.stderr and "nested 100001 levels deep" in proc.stderr
    assert "Fix:" in proc.stderr
    assert not (tmp_path / "a.duckdb").exists()


# ------------------------------------------------------------------------------ row 2: CSV formulas

def _shortlist(ids: list[str]) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame({"hf_id": ids, "prediction": [-2.5 + i for i in range(n)], "lower": [1.0] * n,
                         "upper": [3.0] * n, "rank": list(range(1, n + 1)),
                         "nearest_known": [["=evil/one", "org/b"]] * n, "imputed": [[]] * n,
                         "in_domain": [True] * n})


def test_csv_export_neutralises_formulas_and_keeps_numbers():
    text = export_shortlist(_shortlist(HOSTILE_IDS), "csv", "v1", 0.9)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["hf_id"] for r in rows] == ["'" + h for h in HOSTILE_IDS]
    for r in rows:  # a spreadsheet must never see a cell starting with a formula character
        assert not any(v.startswith(untrusted.FORMULA_START) for k, v in r.items() if k != "prediction")
        assert r["nearest_known"] == "'=evil/one; org/b"
    assert [float(r["prediction"]) for r in rows] == [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]  # numbers stay numbers
    assert rows[0]["prediction"] == "-2.5"


def test_a_leading_tab_stripped_on_upload_still_gets_neutralised():
    c = upload.clean_table(pd.DataFrame({"model": ["\t=2+2"], "IFEval": ["50"]}), "t.csv", scale="normalized")
    assert c.frame.hf_id.tolist() == ["=2+2"]
    text = export_shortlist(_shortlist(c.frame.hf_id.tolist()), "csv", "v1", 0.9)
    assert list(csv.DictReader(io.StringIO(text)))[0]["hf_id"] == "'=2+2"


def test_csv_cell_rule():
    assert [untrusted.csv_cell(v) for v in ["=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "", -3, 2.5, None]] == \
        ["'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=1", "", -3, 2.5, None]


# ------------------------------------------------------------------------------ row 3: Markdown / HTML

MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def _visible_text(html: str) -> str:
    import html as html_mod

    return html_mod.unescape(re.sub(r"<[^>]+>", "", html)).strip()


@pytest.mark.parametrize("s", MARKUP)
def test_md_text_renders_as_its_own_characters(s):
    html = MD.render(untrusted.md_text(s))
    for tag in ("<a", "<img", "<em", "<strong", "<code", "<s>", "<del", "<h1", "<ul", "<ol", "<li",
                "<blockquote", "<table", "<br"):
        assert tag not in html, (s, html)
    assert _visible_text(html).replace(untrusted.ZWSP, "") == s.replace("\n", " ")
    md = untrusted.md_text(s)
    for directive in (r":red\[", r":material/", r":smile:", r"http://", r"[wW][wW][wW]\.", r"\$x"):
        assert not re.search(r"(?<!\\)" + directive, md), (directive, md)  # Streamlit's extras, autolinks


def test_markdown_export_escapes_cells():
    md = export_shortlist(_shortlist(["<img src=x onerror=alert(1)>", "[a](http://evil.example)"]),
                          "markdown", "v1", 0.9)
    assert "<img" not in md and not re.search(r"(?<!\\)\]\(http", md)
    assert "&lt;img src=x onerror=alert(1)&gt;" in md
    html = MD.render(md)
    assert "<table>" in html and "<img" not in html and "<a " not in html
    assert html.count("<tr>") == 3  # header + 2 rows: no cell broke the table


# ------------------------------------------------------------------------------ rows 4 and 17 (upload)

@pytest.mark.parametrize("cell", ["inf", "-inf", "Infinity", "1e999"])
def test_inf_in_a_cell_is_named_and_the_cell_is_left_to_impute(cell):
    raw = pd.DataFrame({"model": ["org/a", "org/b"], "IFEval": [cell, "50"], "Params (B)": ["7", cell]})
    c = upload.clean_table(raw, "inf.csv", scale="normalized")
    assert any(e.startswith(f"inf.csv, row 2, column 'IFEval': {cell!r} is infinite") and "Fix:" in e
               for e in c.errors), c.errors
    assert any(e.startswith(f"inf.csv, row 3, column 'Params (B)': {cell!r} is infinite") for e in c.errors)
    f = c.frame.set_index("hf_id")
    assert pd.isna(f.loc["org/a", "leaderboard_ifeval"]) and pd.isna(f.loc["org/b", "params_b"])
    assert f.loc["org/b", "leaderboard_ifeval"] == 50.0


def test_hub_ids_differing_only_in_case_are_one_model():
    raw = pd.DataFrame({"model": ["ORG/Model", "org/other", "org/model"], "IFEval": ["50", "40", "30"]})
    c = upload.clean_table(raw, "case.csv", scale="normalized")
    assert c.frame.hf_id.tolist() == ["ORG/Model", "org/other"]
    assert c.frame.leaderboard_ifeval.tolist() == [50.0, 40.0]
    assert c.warnings == ["case.csv: model 'ORG/Model' / 'org/model' (hub ids ignore case) appears in rows "
                          "2, 4; kept row 2. Fix: keep one row per model."]
    other = upload.clean_table(pd.DataFrame({"model": ["Org/OTHER"], "IFEval": ["1"]}), "b.csv", scale="normalized")
    both, warnings = upload.combine([c, other])
    assert both.hf_id.tolist() == ["ORG/Model", "org/other"]
    assert warnings == ["'Org/OTHER' is both in case.csv and b.csv; used case.csv."]


def test_ingest_and_upload_share_the_hub_id_rule():
    from advisor.core.names import ModelResolver, hub_key

    r = ModelResolver(["Qwen/Qwen2.5-7B"])
    assert r.exact(" qwen/QWEN2.5-7b ") == "Qwen/Qwen2.5-7B"
    assert hub_key("ORG/Model") == hub_key("org/model ")


# ------------------------------------------------------------------------------ the page (AppTest)

@pytest.fixture
def page(app_db, monkeypatch):
    monkeypatch.setenv("RM_ADVISOR_DB", str(app_db))
    monkeypatch.delenv("RM_ADVISOR_BUNDLE", raising=False)
    return lambda: AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()


def _all_markdown(at: AppTest) -> list[str]:
    out = []
    for kind in ("error", "warning", "info", "caption", "markdown", "success"):
        out += [e.value for e in getattr(at, kind)]
    out += [m.value for m in at.metric]
    return out


def test_upload_of_deep_json_shows_an_error_and_the_rest_renders(page):
    at = page()
    at.file_uploader(key="upload").set_value(("deep.json", DEEP, "application/json")).run()
    assert not at.exception
    assert any("refused before parsing: nested 100001 levels deep" in e.value for e in at.error)
    assert [h.value for h in at.header] == ["Ranked candidates"]


def test_markup_in_file_names_ids_cells_and_the_model_box_renders_as_text(page):
    name = "[click](http://evil.example)![x](http://evil.example/i.png):red[x].csv"
    rows = ["Model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO,Params (B),<b>col</b>",
            "<img src=x onerror=alert(1)>,50,30,20,8,9,30,7,1",
            "[link](http://evil.example),55,35,25,9,10,35,8,1",
            ":red[alarm] **x**,![i](http://evil.example/p.png),30,20,8,9,30,7,1",
            "[link](http://evil.example),55,35,25,9,10,35,8,1"]
    doc = b'{"results": {"leaderboard_ifeval": {"prompt_level_strict_acc,none": 0.5}}}'
    at = page()
    at.file_uploader(key="upload").set_value([(name, "\n".join(rows).encode(), "text/csv"),
                                              ("r.json", doc, "application/json")])
    at.selectbox(key="upload_scale").set_value("normalized")
    at.text_input(key="json_model").set_value("[box](http://evil.example)")
    at.run()
    assert not at.exception
    shown = _all_markdown(at)
    assert any("click" in s for s in shown) and any("link" in s for s in shown)
    for s in shown:
        html = MD.render(s)
        assert "<a " not in html and "<img" not in html and "<strong>x</strong>" not in html, s  # the cell's **x**
        assert not re.search(r"(?<!\\):red|(?<!\\)\]\(http", s) and "<img" not in s and "<b>" not in s, s
    preview = [c.value for c in at.code if "; predictor version `" in c.value]  # the Markdown download's text
    assert preview and "&lt;img src=x onerror=alert(1)&gt;" in preview[0]
    assert "<img" not in preview[0] and not re.search(r"(?<!\\)\]\(http", preview[0])


def test_inf_cell_on_the_page_is_named_then_imputed_and_flagged(page):
    """An infinite benchmark cell is named, emptied and imputed (listed in 'imputed'); an infinite size
    is named and emptied, and since a size is never imputed that row is listed as not ranked."""
    csv_ = (b"Model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO,Params (B)\n"
            b"org/inf,inf,30,20,8,9,30,7\n"
            b"org/infsize,50,30,20,8,9,30,inf\n"
            b"org/fine,50,30,20,8,9,30,7\n")
    at = page()
    at.file_uploader(key="upload").set_value(("inf.csv", csv_, "text/csv"))
    at.selectbox(key="upload_scale").set_value("normalized")
    at.run()
    assert not at.exception
    assert any(e.value.startswith("inf.csv, row 2, column 'IFEval': 'inf' is infinite") for e in at.error)
    assert any(e.value.startswith("inf.csv, row 3, column 'Params (B)': 'inf' is infinite") for e in at.error)
    table = next(d.value for d in at.dataframe if "rank_upper" in d.value.columns).set_index("hf_id")
    assert "leaderboard_ifeval" in set(table.loc["org/inf", "imputed"])  # flagged like blanks
    assert "leaderboard_ifeval" not in set(table.loc["org/fine", "imputed"])
    assert pd.isna(table.loc["org/inf", "leaderboard_ifeval"]) and table.loc["org/fine", "leaderboard_ifeval"] == 50
    assert table.loc["org/infsize", "not_ranked"] == "size unknown: add Params (B)"  # listed, not ranked
    assert pd.isna(table.loc["org/infsize", "rank"]) and pd.isna(table.loc["org/infsize", "prediction"])
    assert any(w.value.startswith("inf.csv: 1 model(s) not ranked, size unknown: add Params (B): 'org/infsize'")
               for w in at.warning)
