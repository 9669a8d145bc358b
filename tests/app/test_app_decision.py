"""Issue 26, items 3-7 on the Predict page (the output half): the reading table and the details view,
the interval level, the downloads, what to measure next, cost against quality and why it ranks here. The
figure is read from its object (fast); the page runs in Streamlit's AppTest against the pipeline-built
database (slow), and the app and `python -m advisor rank` are compared on the same input."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from advisor.core.untrusted import md_text
from advisor.predict import verdict

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "examples" / "recent_bases.csv"


def test_cost_quality_draws_the_budget_band_the_frontier_and_the_rows_outside():
    from pages import _figures as figures

    t = pd.DataFrame({
        "hf_id": ["a/measured-9b", "b/pred-3b", "c/pred-7b", "d/big-70b"], "params_b": [9.0, 3.0, 7.0, 70.0],
        "tier": ["measured", "medium", "high", "low"], "ranked_by": ["measured", "prediction", "prediction", ""],
        "ranking_score": [88.1, 80.0, 78.0, np.nan], "prediction": [84.0, 80.0, 78.0, 90.0],
        "lower": [78.0, 70.0, 71.0, 80.0], "upper": [90.0, 90.0, 85.0, 100.0]})
    inside = t["params_b"].between(0.0, 10.0)
    fig = figures.cost_quality(t, verdict.pareto(t), inside, (0.0, 10.0), 0.9, "test")
    traces = {tr.name: tr for tr in fig.data}
    band = traces[figures.BUDGET_NAME]
    assert band.fill == "toself" and max(band.x) == 10.0  # the budget's upper end, drawn
    assert fig.layout.xaxis.type == "log"
    front = traces[figures.FRONTIER_NAME]  # 3B 80 -> 9B 88.1 -> 70B 90 (its prediction): c is beaten by b
    assert list(front.x) == [3.0, 9.0, 70.0] and list(front.y) == [80.0, 88.1, 90.0]
    out = traces[figures.OUTSIDE_NAME]  # the 70B row is outside the budget: drawn, not dropped
    assert list(out.text) == ["d/big-70b"] and list(out.y) == [90.0]
    measured = traces["measured"]  # a measurement is a point: no error bar
    assert list(measured.error_y.array) == [0.0] and list(measured.error_y.arrayminus) == [0.0]
    medium = traces["medium confidence"]
    assert list(medium.error_y.array) == [10.0] and list(medium.error_y.arrayminus) == [10.0]
    assert "90% interval" in fig.layout.yaxis.title.text
    open_end = figures.cost_quality(t, verdict.pareto(t), t["params_b"] >= 5, (5.0, math.inf), 0.9, "test")
    band = {tr.name: tr for tr in open_end.data}[figures.BUDGET_NAME]
    assert min(band.x) == 5.0 and max(band.x) == pytest.approx(70.0 * 1.5)  # no upper limit: to the right edge


# --- the page (AppTest, slow) ---------------------------------------------------------------------------

@pytest.fixture
def page(app_db, monkeypatch):
    monkeypatch.setenv("RM_ADVISOR_DB", str(app_db))
    monkeypatch.delenv("RM_ADVISOR_BUNDLE", raising=False)

    def start(**state) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
        for k, v in state.items():
            at.session_state[k] = v
        return at.run()

    return start


def upload_example(at: AppTest) -> AppTest:
    at.file_uploader(key="upload").set_value((EXAMPLE.name, EXAMPLE.read_bytes(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rank_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advisor", "rank", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_the_example_reads_in_nine_columns_with_the_interval_level_and_the_app_ranks_as_the_cli(page, app_db):
    """Done-when: `rank data/examples/recent_bases.csv` and the app give the same order by default."""
    at = upload_example(page())
    read = next(d.value for d in at.dataframe if "Upper-bound rank" in d.value.columns)
    assert list(read.columns) == ["Rank", "Candidate", "Confidence", "RewardBench", "90% interval",
                                  "Upper-bound rank", "Size (B)", "Size rank", "Flags"]
    assert any("intervals are 90% conformal intervals" in c.value for c in at.caption)
    cli = json.loads(rank_cli(EXAMPLE, "--db", app_db, "--format", "json").stdout)
    assert cli["interval_level"] == 0.9
    rows = pd.DataFrame(cli["rows"])
    assert read["Candidate"].tolist() == rows["hf_id"].tolist()  # the same order, not-ranked rows last
    assert [None if pd.isna(r) else int(r) for r in read["Rank"]] == [
        None if pd.isna(r) else int(r) for r in rows["rank"]]
    assert read["Flags"].tolist()[-3:] == ["not ranked: size unknown: add Params (B)"] * 3
    details = next(d.value for d in at.dataframe if "rank_upper" in d.value.columns)
    assert len(details.columns) > 40 and details["hf_id"].tolist() == rows["hf_id"].tolist()
    code = next(c.value for c in at.code)
    assert code.splitlines()[0] == "Verdict:" and len(code.splitlines()) < 40
    header = next(line for line in code.splitlines() if line.startswith("| Rank"))
    assert header.count("|") - 1 <= 8


def test_a_size_budget_lists_the_rows_outside_it_and_draws_them(page):
    at = page(picked=["Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-14B-Instruct", "google/gemma-2-9b-it"])
    at.slider(key="budget").set_value((0.0, 10.0)).run()
    read = next(d.value for d in at.dataframe if "Upper-bound rank" in d.value.columns)
    flags = dict(zip(read["Candidate"], read["Flags"]))
    assert flags["Qwen/Qwen2.5-14B-Instruct"] == "not ranked: outside the size budget 0-10B"
    assert read["Candidate"].tolist()[-1] == "Qwen/Qwen2.5-14B-Instruct" and pd.isna(read["Rank"].tolist()[-1])
    fig = json.loads(next(c for c in at.get("plotly_chart") if "fig_cost" in c.proto.id).proto.spec)
    outside = next(tr for tr in fig["data"] if tr.get("name") == "outside the size budget")
    assert outside["text"] == ["Qwen/Qwen2.5-14B-Instruct"]
    assert any(c.value.startswith("Each candidate at the score") and md_text("Qwen/Qwen2.5-14B-Instruct (14.8B, "
               "predicted") in c.value for c in at.caption)


def test_what_to_measure_next_names_a_registry_task_for_the_top_group(page):
    """Done-when: the lines appear for the tied top group and name a registry task. One typed row with
    IFEval, BBH and its size only (the top group by itself). The full build precomputes every input pattern
    a ranked row can have (a size and any subset of the other inputs), so the lines show at once, with no
    "Work it out" button (that button is for bundles without them: tests/predict/test_next_measure.py)."""
    beta = [{"hf_id": "org/beta", "params_b": 1.5, "leaderboard_ifeval": 40.0, "leaderboard_bbh": 10.0}]
    at = page(typed_rows=beta)  # committed rows, as the typed table's "Use these rows" button leaves them
    assert not at.exception
    assert "next_go" not in [b.key for b in at.button]
    (line,) = [m.value for m in at.markdown if m.value.startswith("- " + md_text("org/beta: "))]
    assert line.startswith("- " + md_text("org/beta: measure "))
    assert any(md_text(f"lm-eval task {t}") in line for t in ("leaderboard_math_hard", "leaderboard_gpqa",
                                                              "leaderboard_musr", "leaderboard_mmlu_pro"))
    assert "GPU-hours at 1.5B" in line


def test_why_it_ranks_here_shows_each_inputs_part(page):
    at = page(picked=["Qwen/Qwen2.5-14B-Instruct", "google/gemma-2-9b-it"])
    at.selectbox(key="why_pick").set_value("Qwen/Qwen2.5-14B-Instruct").run()
    parts = next(d.value for d in at.dataframe if "Points" in d.value.columns)
    assert "size" in parts["Input"].tolist()  # every served regression spec reads log size
    size = parts.set_index("Input").loc["size"]
    assert size["Note"].startswith("clamped from 14.8B to ")  # beyond the largest known model (10.3B)
    line = next(m.value for m in at.markdown if m.value.startswith(md_text("Qwen/Qwen2.5-14B-Instruct (")))
    assert "from the known models' mean" in line


def test_cli_budget_settings_top_and_the_compact_markdown(app_db, tmp_path):
    five = ROOT / "tests" / "fixtures" / "candidates" / "five_candidates.csv"
    js = json.loads(rank_cli(five, "--db", app_db, "--format", "json", "--budget", "2-10").stdout)
    rows = {r["hf_id"]: r for r in js["rows"]}
    assert rows["up/delta-14b"]["not_ranked"] == "outside the size budget 2-10B"
    assert rows["up/delta-14b"]["rank"] is None
    assert rows["up/epsilon-0.5b"]["not_ranked"] == "outside the size budget 2-10B"
    assert "up/delta-14b (outside the size budget 2-10B)" in js["verdict"]["summary"][-2]
    bad = rank_cli(five, "--db", app_db, "--budget", "ten")
    assert bad.returncode == 2 and "Fix: e.g. 7-70" in bad.stderr and bad.stdout == ""
    lead = json.loads(rank_cli(five, "--db", app_db, "--format", "json").stdout)
    other = json.loads(rank_cli(five, "--db", app_db, "--format", "json", "--settings", "other").stdout)
    w = {r["hf_id"]: r["upper"] - r["lower"] for r in lead["rows"] if r["rank"] is not None}
    for r in other["rows"]:
        if r["rank"] is not None:
            assert r["settings"] == "other" and r["upper"] - r["lower"] > w[r["hf_id"]]
    top = json.loads(rank_cli(five, "--db", app_db, "--format", "json", "--top", "2").stdout)
    assert [r["hf_id"] for r in top["rows"]] == [r["hf_id"] for r in lead["rows"][:2]]
    csv = pd.read_csv(io.StringIO(rank_cli(five, "--db", app_db).stdout))
    assert set(csv["interval_level"]) == {0.9}
    md = rank_cli(EXAMPLE, "--db", app_db, "--format", "markdown").stdout
    lines = md.splitlines()
    assert lines[0] == "Verdict:" and len(lines) < 40
    table = [ln for ln in lines if ln.startswith("| ")]
    assert all(ln.count("|") - 1 <= 8 for ln in table) and len(table) == 1 + 10  # the header, the top 10
    assert "Intervals: 90%" in md and not any(x in md for x in ("nan", "None", "<NA>"))
    helptext = " ".join(rank_cli("--help").stdout.split())
    assert "--budget MIN-MAX" in helptext
    assert "(default: 0-inf, every size, as the app's size slider starts)" in helptext


def test_cli_next_adds_one_line_per_top_group_candidate(app_db, tmp_path):
    """A row with IFEval, BBH and its size: each missing task, its pre-training tokens and the whole suite
    are options; the chosen one narrows the interval most. A complete row of a lineage never seen: its
    interval is the lineage-out one either way, so nothing narrows it and the line says so."""
    f = tmp_path / "partial.csv"
    f.write_text("Model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO,Params (B)\nup/beta-1.5b,40,10,,,,,1.5\n")
    proc = rank_cli(f, "--db", app_db, "--format", "json", "--next")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert list(doc)[:4] == ["verdict", "predictor_version", "interval_level", "what_to_measure_next"]
    (e,) = doc["what_to_measure_next"]
    assert e["hf_id"] == "up/beta-1.5b" and [o["measure"] for o in e["options"]] == [
        "leaderboard_math_hard", "leaderboard_gpqa", "leaderboard_musr", "leaderboard_mmlu_pro",
        "pretrain_tokens_t", "all"]
    singles = {o["measure"]: o["interval_after"][1] - o["interval_after"][0] for o in e["options"][:-1]}
    assert e["measure"] in singles and singles[e["measure"]] <= min(singles.values()) + 0.05  # the narrowest
    assert singles[e["measure"]] < e["interval_now"][1] - e["interval_now"][0] - 0.05  # it narrows it
    assert e["lm_eval_tasks"] == [e["measure"]] and e["gpu_hours"] > 0
    assert e["line"].startswith(f"up/beta-1.5b: measure {e['label']} next (lm-eval task {e['measure']}, about ")
    csv = rank_cli(f, "--db", app_db, "--next")
    assert f"next: {e['line']}" in csv.stderr.splitlines()
    g = tmp_path / "complete.csv"
    g.write_text("Model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO,Params (B)\nup/full-7b,70,33,20,9,12,33,7.2\n")
    (full,) = json.loads(rank_cli(g, "--db", app_db, "--format", "json", "--next").stdout)["what_to_measure_next"]
    assert full["measure"] is None and full["line"].startswith("up/full-7b: nothing left to measure narrows")
