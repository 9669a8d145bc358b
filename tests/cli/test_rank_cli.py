"""`python -m advisor rank`: real processes against a database the pipeline built (conftest's app_db)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "candidates" / "five_candidates.csv"


def rank(*args, db=None, env=None):
    cmd = [sys.executable, "-m", "advisor", "rank", *map(str, args)]
    if db is not None:
        cmd += ["--db", str(db)]
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def test_csv_output_ranks_every_candidate_with_intervals_skill_and_size_rank(app_db):
    proc = rank(FIXTURE, "--method", "regression", db=app_db)
    assert proc.returncode == 0, proc.stderr
    out = pd.read_csv(io.StringIO(proc.stdout))
    assert sorted(out["hf_id"]) == sorted(pd.read_csv(FIXTURE)["Model"])
    for col in ("predictor_version", "prediction", "lower", "upper", "rank", "rank_upper", "size_rank",
                "skill", "in_domain"):
        assert col in out.columns, col
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()
    # size rank: by parameter count alone, largest first; the model of unknown size has none
    sized = out.dropna(subset=["params_b"]).sort_values("params_b", ascending=False)
    assert list(sized["size_rank"]) == [1, 2, 3, 4]
    assert pd.isna(out.set_index("hf_id").loc["up/eta-2b", "size_rank"])
    assert "off by" in proc.stderr and "for a lineage it has never seen" in proc.stderr


def test_json_and_markdown_formats(app_db):
    js = rank(FIXTURE, "--format", "json", db=app_db)
    assert js.returncode == 0, js.stderr
    doc = json.loads(js.stdout)
    assert doc["predictor_version"] and len(doc["rows"]) == 5
    md = rank(FIXTURE, "--format", "markdown", db=app_db)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("Predictor version:") and md.stdout.count("\n| up/") == 5


def test_pick_from_the_leaderboard_case_insensitively(app_db):
    proc = rank("--pick", "qwen/Qwen2.5-7B-Instruct,META-LLAMA/Llama-3.1-8B-Instruct", "--format", "json",
                db=app_db)
    assert proc.returncode == 0, proc.stderr
    ids = {r["hf_id"] for r in json.loads(proc.stdout)["rows"]}
    assert ids == {"Qwen/Qwen2.5-7B-Instruct", "meta-llama/Llama-3.1-8B-Instruct"}


@pytest.mark.parametrize("args, needle", [
    (["--pick", "nobody/no-such-model"], "'nobody/no-such-model' not in the Open LLM Leaderboard v2"),
    ([], "no candidates"),
    (["/nonexistent/file.csv"], "cannot be read"),
])
def test_bad_arguments_exit_2_with_a_fix(app_db, args, needle):
    proc = rank(*args, db=app_db)
    assert proc.returncode == 2
    assert needle in proc.stderr and "Fix:" in proc.stderr
    assert proc.stdout == ""


def test_bad_cells_print_the_apps_message_and_exit_2(app_db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Model,IFEval,BBH,Params (B)\norg/a-7b,seventy,30,7\norg/b-1b,40,20,1\n")
    proc = rank(bad, db=app_db)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "bad.csv, row 2, column 'IFEval': 'seventy' is not a number." in proc.stderr


def test_missing_database_exits_2(tmp_path):
    proc = rank(FIXTURE, db=tmp_path / "none.duckdb")
    assert proc.returncode == 2
    assert "none.duckdb not found" in proc.stderr and "python -m pipeline.run" in proc.stderr


def test_partial_lmeval_run_is_ranked_raw_and_partial_with_the_method_it_used(app_db):
    """Issue 20: the derived pythia-2.8b leaderboard run (subtasks and MATH deleted; see the fixture's
    README) is ranked on the raw scale, labelled partial, with its interval and partial_method."""
    pythia = ROOT / "tests" / "fixtures" / "lm_eval" / "pythia_partial" / "results_2024-09-27T15-51-00.000000.json"
    proc = rank(pythia, "--format", "json", db=app_db)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)["rows"][0]
    assert row["hf_id"] == "EleutherAI/pythia-2.8b" and row["scale"] == "raw" and row["partial"]
    assert row["missing"] == "MATH Lvl 5" and row["rank"] == 1
    assert row["lower"] < row["prediction"] < row["upper"]
    assert row["partial_method"] in ("imputation", f"reduced spec {row['spec']}") and row["partial_mae"] > 0


def test_the_rm_advisor_console_script_runs_rank(monkeypatch, capsys):
    """pyproject.toml's `rm-advisor` entry point resolves to the CLI's main, whose `rank --help` works
    and names the command as it was called (`rm-advisor` installed, `python -m advisor` otherwise)."""
    import importlib
    import tomllib

    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["rm-advisor"]
    module, func = target.split(":")
    main = getattr(importlib.import_module(module), func)
    monkeypatch.setattr(sys, "argv", ["/venv/bin/rm-advisor", "rank", "--help"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: rm-advisor rank [-h]") and "--method" in out and "--format" in out
    monkeypatch.setattr(sys, "argv", ["advisor/__main__.py"])
    with pytest.raises(SystemExit):
        main(["rank", "--help"])
    assert capsys.readouterr().out.startswith("usage: python -m advisor rank")


def test_rm_advisor_bundle_serves_an_exported_bundle_as_in_the_app(app_db, tmp_path):
    """The CLI reads RM_ADVISOR_BUNDLE where the app does (advisor.predict.bundle.source): an exported copy of
    the database's bundle ranks exactly as the database; a file that is not a bundle exits 2."""
    import duckdb

    with duckdb.connect(str(app_db), read_only=True) as con:
        exported = con.execute("SELECT bundle_json FROM predictor_bundle").fetchall()[0][0]
    bundle_file = tmp_path / "bundle.json"
    bundle_file.write_text(exported)
    from_db = rank(FIXTURE, db=app_db, env={"RM_ADVISOR_BUNDLE": None})
    from_file = rank(FIXTURE, db=app_db, env={"RM_ADVISOR_BUNDLE": str(bundle_file)})
    assert from_db.returncode == 0 and from_file.returncode == 0, from_file.stderr
    assert from_file.stdout == from_db.stdout
    bundle_file.write_text("hf_id,prediction\norg/a,70\n")
    bad = rank(FIXTURE, db=app_db, env={"RM_ADVISOR_BUNDLE": str(bundle_file)})
    assert bad.returncode == 2 and bad.stdout == ""
    assert "bundle.json" in bad.stderr and "RM_ADVISOR_BUNDLE" in bad.stderr
