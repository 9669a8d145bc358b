"""Streamlit AppTest of the analysis pages (results, benchmarks, pre-training, capabilities, data) and
the router, against a database the real pipeline built: each page shows its tables, figures and
sentences and follows its controls. The numbers themselves (correlations, coverage, PCA, gains, Table 1)
are checked against scipy, scikit-learn and the paper in the advisor unit tests
(tests/analyses/test_analyses.py); what a page computes itself (the Fig. 11 sentence) is checked here."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAPER = ROOT / "data" / "paper"
OLL_V2 = ["leaderboard_ifeval", "leaderboard_bbh", "leaderboard_math_hard", "leaderboard_gpqa",
          "leaderboard_musr", "leaderboard_mmlu_pro"]




def dataframe_with(at: AppTest, *columns: str) -> pd.DataFrame:
    for d in at.dataframe:
        v = d.value
        if all(c in v.columns for c in columns):
            return v
    raise AssertionError(f"no table with columns {columns}")


def arr(x):
    """A plotly JSON array: a list, or the typed-array dict ({'dtype', 'bdata', 'shape'}) plotly 6+
    writes for numpy data."""
    if isinstance(x, dict) and "bdata" in x:
        import base64

        a = np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
        shape = [int(v) for v in str(x.get("shape", len(a))).split(",")]
        return a.reshape(shape)
    return np.asarray(x, dtype=object)


def chart_specs(at: AppTest) -> list[dict]:
    """Plotly figures on the page, as their JSON specs (AppTest has no plotly element type)."""
    out = []
    for el in _walk(at.main):
        proto = getattr(el, "proto", None)
        if type(el).__name__ == "UnknownElement" and hasattr(proto, "spec") and proto.spec:
            out.append(json.loads(proto.spec))
    return out


def _walk(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _walk(child)


def test_results_page_shows_both_methods_gains_and_table1(app, paper_rm):
    at = app("rm_results")
    rm = paper_rm
    assert at.title[0].value == "Reward-model results"
    assert at.metric[0].value == str(len(rm)) == "80"
    # Fig. 2's table: one row per method and size group, labelled (numbers: test_gains_reproduce_paper_range)
    gains = dataframe_with(at, "gain_points", "best_hf_id")
    assert sorted(zip(gains["method"], gains["size_group"])) == sorted(
        (m, g) for m in ("Regression", "Bradley-Terry") for g in ("<3B", "3-6B", ">=6B"))
    assert set(gains["best_hf_id"]) <= set(rm["hf_id"])
    # Fig. 11 sentence: regression minus Bradley-Terry on the overall score
    wide = rm.pivot(index="hf_id", columns="method", values="score")
    diff = wide.regression - wide.bradley_terry
    assert any(m.value == f"Regression beats Bradley-Terry on Overall for {(diff > 0).sum()} of 40 base "
                          f"models (mean difference {diff.mean():+.1f} points)." for m in at.markdown)
    # Table 1 as the paper prints it: the base row first (no Δ), then a row per post-trained model, each category
    # followed by its Δ column, labelled (the numbers: test_table1_has_the_base_row_and_a_delta_column_after_...)
    post = pd.read_csv(PAPER / "post_training.csv")
    table1 = next(d for d in at.dataframe if "chat_hard_delta_pct" in d.value.columns)
    shown = table1.value
    assert list(shown["model"]) == list(post.loc[post.stage == "base", "model"]) + list(
        post.loc[post.stage != "base", "model"])
    assert shown.iloc[0][[c for c in shown.columns if c.endswith("_delta_pct")]].isna().all()
    config = json.loads(table1.proto.columns)
    assert config["score_delta_pct"]["label"] == "Δ" and config["score_delta_pct"]["type_config"]["format"] == "%+.1f%%"
    assert table1.proto.placeholder == "—"  # the base row's Δ reads as a dash
    specs = chart_specs(at)
    assert len(specs) == 2
    fig2 = specs[0]["data"]
    hover_names = {str(x) for t in fig2 for x in t["x"]}
    assert len(hover_names) == 40 and "Qwen2.5-7B-Instruct" in hover_names  # hover shows model names
    drawn = {(t["xaxis"], str(t["x"][0])) for t in fig2 if t["name"] == "Llama-3.x baseline (0 by definition)"}
    assert {x for _, x in drawn} == {"Llama-3.2-1B-Instruct", "Llama-3.2-3B-Instruct", "Llama-3.1-8B-Instruct"}
    assert len(drawn) == 6  # the red baseline drawn in every panel (2 methods x 3 size groups)
    assert set(gains["baseline_hf_id"]) == {"meta-llama/" + x for _, x in drawn}
    fig11 = specs[1]["data"][0]
    assert len(fig11["y"]) == 40 and "gemma-2-9b-it" in fig11["y"]


def test_one_publisher_name_per_lineage_on_every_page(app, app_db):
    """The Reward-model results page lists Falcon's publisher as the Evidence page's lineage does: TII (the
    paper's 'THI'), and Yi's as 01.AI."""
    at = app("rm_results")
    publishers = at.multiselect(key="rm_publishers").options
    assert "TII" in publishers and "01.AI" in publishers
    assert "THI" not in publishers and "01.ai" not in publishers
    with duckdb.connect(str(app_db), read_only=True) as con:
        lineages = {r[0] for r in con.execute("SELECT DISTINCT lineage FROM lineage_errors").fetchall()}
    assert lineages <= set(publishers)  # every lineage the Evidence page draws is spelled as a publisher here


def test_results_page_filters_by_size_group_and_shows_pipeline_rows(app, app_db, tmp_path, monkeypatch,
                                                                    paper_rm):
    at = app("rm_results")
    at.multiselect(key="rm_groups").set_value(["<3B"]).run()
    rm = paper_rm
    assert at.metric[0].value == str(int((rm.size_group == "<3B").sum()))
    table = dataframe_with(at, "display_name", "score", "source")
    assert set(table["size_group"]) == {"<3B"}
    # a pipeline-trained row (rm_results.source = 'pipeline') is listed beside the paper's
    db = tmp_path / "with_pipeline.duckdb"
    shutil.copyfile(app_db, db)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO rm_results VALUES ('google/gemma-2-2b-it', 'regression', 90, 60, 70, 75, "
                "73.75, 'pipeline', 'run-x', '{}')")
    con.close()
    monkeypatch.setenv("RM_ADVISOR_DB", str(db))
    at = app("rm_results")
    table = dataframe_with(at, "display_name", "score", "source")
    row = table[table.source == "pipeline"]
    assert len(row) == 1 and row.iloc[0]["score"] == 73.75 and at.metric[0].value == "81"


def test_benchmarks_page_shows_correlations_and_follows_the_method(app):
    """The table pairs every benchmark with every RewardBench target over the 40 paper models; the
    method control reaches the computation (values vs scipy: test_correlation_matches_scipy_with_pairwise_n)."""
    at = app("benchmarks")
    corr = dataframe_with(at, "feature", "target", "r", "significant")
    assert {"leaderboard_ifeval", "leaderboard_bbh"} <= set(corr.feature) and "score" in set(corr.target)
    pearson = corr.set_index(["feature", "target"]).loc[("leaderboard_ifeval", "score")]
    assert pearson["n"] == 40 and -1 <= pearson["r"] <= 1
    at.segmented_control(key="bm_corr").set_value("spearman").run()
    corr = dataframe_with(at, "feature", "target", "r", "significant")
    spearman = corr.set_index(["feature", "target"]).loc[("leaderboard_ifeval", "score")]
    assert spearman["n"] == 40 and spearman["r"] != pytest.approx(pearson["r"], abs=1e-6)
    heat = [s for s in chart_specs(at) if s["data"][0]["type"] == "heatmap"][0]
    assert any(str(t).endswith("*") for row in heat["data"][0]["text"] for t in row)  # significance marks


def test_benchmarks_page_coverage_filter_follows_the_sliders(app):
    """The sliders reach the filter: looser thresholds pass at least the same benchmarks (which pass at
    given thresholds: test_coverage_filter_thresholds_are_inclusive)."""
    at = app("benchmarks")
    passed = []
    for k5, k10 in ((0.4, 0.7), (0.2, 0.3), (0.0, 0.0)):
        at.slider(key="cov_k5").set_value(k5)
        at.slider(key="cov_k10").set_value(k10).run()
        line = next(m.value for m in at.markdown if " benchmarks pass" in m.value)
        n = int(re.match(r"(\d+) of 9 benchmarks pass", line).group(1))
        passed.append(n)
    assert passed == sorted(passed) and passed[-1] == 9  # coverage >= 0 holds for every benchmark
    # the predictor's curve is drawn beside the benchmarks', with chance (k/40) and the thresholds marked
    lines = [s for s in chart_specs(at) if s["data"] and s["data"][0]["type"] == "scatter"][0]
    assert any(t["name"] == "Predictor" for t in lines["data"])
    chance = next(t for t in lines["data"] if t["name"] == "chance: a random top-k")
    assert list(arr(chance["x"])) == list(range(5, 31))
    assert arr(chance["y"]).astype(float) == pytest.approx([k / 40 for k in range(5, 31)])
    marks = next(t for t in lines["data"] if t["name"] == "the filter's minimum")
    assert list(arr(marks["x"])) == [5, 10] and list(arr(marks["y"])) == [0.0, 0.0]  # the sliders' last values
    assert sorted(sh["x0"] for sh in lines["layout"]["shapes"]) == [5, 10]
    assert "nested-CV out-of-fold predictions" in at.caption[-1].value  # the served procedure's, honest


def test_capabilities_page_pca_follows_the_chosen_benchmarks(app):
    """Values vs scikit-learn: test_pca_matches_sklearn_and_rank_one. Here: 8 inputs by default, of which
    5 components explain less than all; 3 chosen benchmarks have 3 components, which explain all."""
    at = app("capabilities")
    assert at.metric[0].label == "Variance explained by the first 5 components"
    default = at.metric[0].value
    assert re.fullmatch(r"\d{1,2}\.\d%", default) and default != "100.0%"
    at.multiselect(key="pca_features").set_value(OLL_V2[:3]).run()
    assert at.metric[0].value == "100.0%"
    assert len(chart_specs(at)) == 2
    at.multiselect(key="pca_features").set_value(OLL_V2[:1]).run()
    assert at.warning[0].value == "Choose at least two benchmarks for a PCA."


def test_pretraining_page_explains_when_the_database_has_no_presence_scores(app):
    at = app("pretraining")
    assert not chart_specs(at)
    assert "python -m pipeline.run --config configs/smoke.yaml --stages presence" in at.code[0].value
    assert "no presence scores yet" in at.info[0].value


def test_pretraining_page_draws_presence_tables(app, app_db, tmp_path, monkeypatch):
    db = tmp_path / "with_presence.duckdb"
    shutil.copyfile(app_db, db)
    con = duckdb.connect(str(db))
    rng = np.random.default_rng(0)
    rows = [(m, f"d{i}", s, 64, float(rng.normal(mu, 1)))
            for m, mu in (("LLM360/Crystal", 0.0), ("Qwen/Qwen2.5-7B", 1.0))
            for s in ("RedPajamaGithub", "RedPajamaBook") for i in range(30)]
    con.executemany("INSERT INTO presence_scores VALUES (?, ?, ?, ?, ?)", rows)
    con.execute("INSERT INTO presence_summary (model, subset, n_docs, mean) VALUES ('LLM360/Crystal', 'all', 60, 0.0)")
    con.execute("INSERT INTO presence_summary (model, subset, n_docs, mean) VALUES "
                "('LLM360/Crystal', 'RedPajamaBook', 30, 0.0)")
    con.execute("INSERT INTO presence_jsd (model_a, model_b, jsd, bins, base, lo, hi, n_documents) VALUES "
                "('LLM360/Crystal', 'Qwen/Qwen2.5-7B', 0.42, 100, 2, 0.39, 0.45, 60), "
                "('Qwen/Qwen2.5-7B', 'LLM360/Crystal', 0.42, 100, 2, 0.39, 0.45, 60)")
    con.execute("INSERT INTO presence_rounds VALUES ('LLM360/Crystal', 0, 1, 60, 0.01, 0.005, 0.008, 0.8, 0.99, "
                "true, 'tolerance met')")
    con.close()
    monkeypatch.setenv("RM_ADVISOR_DB", str(db))
    at = app("pretraining")
    assert at.metric[0].value == "120"
    specs = chart_specs(at)
    assert len(specs) == 2
    box = specs[0]
    assert {t["name"] for t in box["data"]} == {"LLM360/Crystal", "Qwen/Qwen2.5-7B"}
    heat = specs[1]["data"][0]
    assert heat["type"] == "heatmap" and arr(heat["z"])[0][1] == 0.42 and heat["x"] == ["LLM360/Crystal",
                                                                                  "Qwen/Qwen2.5-7B"]
    assert heat["y"] == heat["x"] and specs[1]["layout"]["yaxis"]["autorange"] == "reversed"  # diagonal from top-left
    # each cell's interval and the documents it rests on, on hover
    assert "[%{customdata[0]:.4f}, %{customdata[1]:.4f}]" in heat["hovertemplate"]
    assert [float(v) for v in arr(heat["customdata"])[0][1][:3]] == [0.39, 0.45, 60]
    # the distributions name the documents per subset; the rounds are listed
    ticks = specs[0]["layout"]["xaxis"]["ticktext"]
    assert "RedPajamaBook<br>n = 30" in ticks
    assert "60 documents" in " ".join(c.value for c in at.caption)
    assert any(len(d.value) == 1 and d.value.stopped.iloc[0] for d in at.dataframe if "stopped" in d.value)


def test_data_page_shows_provenance_and_coverage(app, app_db):
    at = app("data")
    con = duckdb.connect(str(app_db), read_only=True)
    n_sources = con.execute("SELECT count(*) FROM sources").fetchone()[0]
    pairs = con.execute("SELECT count(DISTINCT (hf_id, benchmark)) FROM benchmark_scores s "
                        "JOIN models USING (hf_id)").fetchone()[0]
    n_bench = con.execute("SELECT count(DISTINCT benchmark) FROM benchmark_scores").fetchone()[0]
    con.close()
    sources = dataframe_with(at, "source_id", "license")
    assert len(sources) == n_sources and "MIT" in set(sources.license)
    assert any(m.value.startswith(f"40 models x {n_bench} benchmarks with at least one value; {pairs} of "
                                  f"{40 * n_bench} cells") for m in at.markdown)
    runs = dataframe_with(at, "run_id", "stages")
    assert runs.iloc[0]["stages"] == "ingest,predictor,transfer"
    from pipeline.schema import SCHEMA_VERSION
    assert at.metric[2].value == SCHEMA_VERSION  # schema version
    assert at.json[0].value and "predictor" in at.json[0].value  # the last run's config


def test_router_builds_a_missing_database_first(tmp_path, monkeypatch):
    cfg = tmp_path / "ingest_only.yaml"
    cfg.write_text(f"db: {tmp_path / 'unused.duckdb'}\ndata_dir: data\nwork_dir: {tmp_path / 'work'}\n"
                   "stages: [ingest]\n")
    db = tmp_path / "fresh" / "advisor.duckdb"
    monkeypatch.setenv("RM_ADVISOR_DB", str(db))
    monkeypatch.setenv("RM_ADVISOR_CONFIG", str(cfg))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert db.exists()
    assert not at.exception and not at.error
    assert at.title[0].value == "Which base model should I train my reward model on?"


def test_router_reports_a_failed_build_with_the_command(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the database folder should be")
    monkeypatch.setenv("RM_ADVISOR_DB", str(blocker / "advisor.duckdb"))
    monkeypatch.delenv("RM_ADVISOR_CONFIG", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert at.error[0].value.startswith("Building the database failed (exit code")
    assert f"python -m pipeline.run --db {blocker / 'advisor.duckdb'}" in at.error[0].value


@pytest.mark.slow  # a pipeline process (the first-start build)
def test_finding_7_router_builds_over_an_empty_database_file(tmp_path, monkeypatch):
    """A 0-byte RM_ADVISOR_DB (``touch``) holds nothing: the first start builds it as if it were missing."""
    cfg = tmp_path / "ingest_only.yaml"
    cfg.write_text(f"db: {tmp_path / 'unused.duckdb'}\ndata_dir: data\nwork_dir: {tmp_path / 'work'}\n"
                   "stages: [ingest]\n")
    db = tmp_path / "touched.duckdb"
    db.touch()
    monkeypatch.setenv("RM_ADVISOR_DB", str(db))
    monkeypatch.setenv("RM_ADVISOR_CONFIG", str(cfg))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert db.stat().st_size > 0 and at.title[0].value == "Which base model should I train my reward model on?"


@pytest.mark.parametrize("kind", ["foreign", "text"])
def test_finding_7_router_shows_a_message_for_a_file_that_is_not_the_pipelines_database(tmp_path, monkeypatch,
                                                                                       kind):
    from tests.support.not_a_database import not_the_pipelines_database

    db, says = not_the_pipelines_database(kind, tmp_path / "mine.duckdb")
    monkeypatch.setenv("RM_ADVISOR_DB", str(db))
    monkeypatch.delenv("RM_ADVISOR_CONFIG", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = at.error[0].value.replace("\\", "").replace("\u200b", "")
    assert str(db) in shown and says in shown, shown
    assert not at.title  # no page ran against it


def test_app_never_imports_torch_transformers_or_the_pipeline(app_db):
    import subprocess
    import sys

    code = ("import os, sys; os.environ['RM_ADVISOR_DB'] = {!r}\n"
            "from streamlit.testing.v1 import AppTest\n"
            "at = AppTest.from_file({!r}, default_timeout=60).run()\n"
            "for p in ['pages/rm_results.py', 'pages/benchmarks.py', 'pages/pretraining.py',"
            " 'pages/capabilities.py', 'pages/data.py']:\n"
            "    at.switch_page(p).run()\n"
            "    assert not at.exception, (p, [e.value for e in at.exception])\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'trl', 'pipeline'))\n"
            "print('IMPORTED', bad)\n").format(str(app_db), str(ROOT / "app.py"))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "IMPORTED []" in out.stdout


def test_significance_level_changes_the_marks(app):
    at = app("benchmarks")
    at.selectbox(key="bm_alpha").set_value(0.001).run()
    corr = dataframe_with(at, "feature", "target", "r", "significant")
    assert (corr["significant"] == (corr["p_value"] < 0.001)).all()
    heat = [s for s in chart_specs(at) if s["data"][0]["type"] == "heatmap"][0]
    assert heat["layout"]["title"]["text"].endswith("* significant at 0.001")


def test_theme_follows_the_system_and_sidebar_icons_need_no_emoji_font():
    """Issue 26: the config forced a light theme, and the sidebar's emoji icons were empty boxes where no emoji
    font is installed. Now no theme is forced (Streamlit follows prefers-color-scheme; the browser test
    screenshots both) and every page icon is one of Streamlit's bundled Material Symbols, served by the app
    itself (its ligature, the icon's name in words, shows if the font were missing)."""
    import ast
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert "base" not in config.get("theme", {})
    assert config["client"]["toolbarMode"] == "viewer"  # the menu with the System / Light / Dark switch
    icons = [kw.value.value for node in ast.walk(ast.parse((ROOT / "app.py").read_text()))
             if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page"
             for kw in node.keywords if kw.arg == "icon"]
    assert len(icons) == 8 and all(re.fullmatch(r":material/[a-z_]+:", i) for i in icons), icons
    static = Path(__import__("streamlit").__file__).parent / "static" / "static" / "media"
    assert list(static.glob("MaterialSymbols-Rounded*.woff2"))  # the font ships with Streamlit (no CDN)
