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

from advisor.core import registry
from advisor.core.untrusted import md_text
from tests.support.not_a_database import not_the_pipelines_database

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
    ranked = out[out["rank"].notna()]
    assert sorted(ranked["hf_id"]) == sorted(set(pd.read_csv(FIXTURE)["Model"]) - {"up/eta-2b"})
    for col in ("predictor_version", "prediction", "lower", "upper", "rank", "rank_upper", "size_rank",
                "skill", "in_domain", "prov_params_b", "size_source", "not_ranked", "known"):
        assert col in out.columns, col
    assert (ranked["lower"] <= ranked["prediction"]).all() and (ranked["prediction"] <= ranked["upper"]).all()
    # size rank: by parameter count alone, largest first
    assert list(ranked.sort_values("params_b", ascending=False)["size_rank"]) == [1, 2, 3, 4]
    assert set(ranked["size_source"]) == {"given"} and set(ranked["prov_params_b"]) == {"given"}
    # the model of unknown size (in no table of the database) is not ranked, and says so with the fix
    assert "up/eta-2b" not in set(ranked["hf_id"])
    assert ("warning: five_candidates.csv: 1 model(s) not ranked, size unknown: add Params (B): 'up/eta-2b'"
            in proc.stderr) and "Fix: add a 'Params (B)' column" in proc.stderr
    assert "off by" in proc.stderr and "for a lineage it has never seen" in proc.stderr


def test_json_and_markdown_formats(app_db):
    js = rank(FIXTURE, "--format", "json", db=app_db)
    assert js.returncode == 0, js.stderr
    doc = json.loads(js.stdout)
    ranked = [r for r in doc["rows"] if r["rank"] is not None]
    assert doc["predictor_version"] and len(ranked) == 4 and len(doc["rows"]) == 5  # up/eta-2b: size unknown, listed
    assert list(doc)[0] == "verdict" and doc["verdict"]["summary"]  # the verdict first (issue 24)
    md = rank(FIXTURE, "--format", "markdown", db=app_db)
    assert md.returncode == 0, md.stderr
    head = "Verdict:\n\n" + "".join(f"- {md_text(line)}\n" for line in doc["verdict"]["summary"])
    assert md.stdout.startswith(head + "\nIntervals: 90% ") and md.stdout.count(" | up/") == 5  # compact
    csv = rank(FIXTURE, db=app_db)  # a table has no room: the verdict goes to stderr
    assert [ln.removeprefix("verdict: ") for ln in csv.stderr.splitlines()
            if ln.startswith("verdict: ")] == doc["verdict"]["summary"]


def test_pick_from_the_leaderboard_case_insensitively(app_db):
    proc = rank("--pick", "qwen/Qwen2.5-7B-Instruct,META-LLAMA/Llama-3.1-8B-Instruct", "--format", "json",
                db=app_db)
    assert proc.returncode == 0, proc.stderr
    ids = {r["hf_id"] for r in json.loads(proc.stdout)["rows"]}
    assert ids == {"Qwen/Qwen2.5-7B-Instruct", "meta-llama/Llama-3.1-8B-Instruct"}


def test_picked_models_of_unknown_size_are_not_ranked(app_db, tmp_path):
    """Issue 24: the leaderboard table writes 0 or -1 for an unknown size; such a pick is not ranked (its
    size is never imputed), the others are, and the command still exits 0. The fix it names works: the
    id and size in a CSV, the rest of the row taken from the leaderboard table."""
    unknown = ["JungZoona/T3Q-Qwen2.5-14B-Instruct-1M-e3", "cognitivecomputations/dolphin-2.9.2-Phi-3-Medium"]
    proc = rank("--pick", ",".join([*unknown, "Qwen/Qwen2.5-7B-Instruct"]), "--format", "json", db=app_db)
    assert proc.returncode == 0, proc.stderr
    rows = {r["hf_id"]: r for r in json.loads(proc.stdout)["rows"]}
    assert rows["Qwen/Qwen2.5-7B-Instruct"]["rank"] == 1 and not set(unknown) & {
        h for h, r in rows.items() if r["rank"] is not None}
    assert ("warning: leaderboard: 2 model(s) not ranked, size unknown: add Params (B): "
            f"{unknown[0]!r}, {unknown[1]!r}.") in proc.stderr
    assert "Fix: give the model's id and its 'Params (B)' in the typed table or a CSV" in proc.stderr
    sized = tmp_path / "sized.csv"
    sized.write_text(f"model,Params (B)\n{unknown[0]},14.8\n")
    fixed = rank(sized, "--format", "json", db=app_db)
    assert fixed.returncode == 0, fixed.stderr
    row = json.loads(fixed.stdout)["rows"][0]
    assert row["hf_id"] == unknown[0] and row["rank"] == 1 and row["size_source"] == "given"
    assert row["leaderboard_ifeval"] == 73.24 and row["prov_leaderboard_ifeval"] == "leaderboard"


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


@pytest.mark.parametrize("kind", ["empty", "foreign", "text"])
def test_finding_7_a_file_that_is_not_the_pipelines_database_gives_a_message(tmp_path, kind):
    db, says = not_the_pipelines_database(kind, tmp_path / "touched.duckdb")
    before = db.read_bytes()
    proc = rank(FIXTURE, db=db)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and str(db) in proc.stderr and says in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and db.read_bytes() == before


PYTHIA = ROOT / "tests" / "fixtures" / "lm_eval" / "pythia_partial" / "results_2024-09-27T15-51-00.000000.json"


def test_partial_lmeval_run_is_ranked_raw_and_partial_with_the_method_it_used(app_db):
    """Issue 20: the derived leaderboard run (subtasks and MATH deleted; see the fixture's README),
    named as a model in no table (--model) with its size given (--params-b), is ranked on the raw
    scale, labelled partial, with its interval and partial_method."""
    proc = rank(PYTHIA, "--format", "json", "--model", "me/derived-run", "--params-b", "2.8", db=app_db)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)["rows"][0]
    assert row["hf_id"] == "me/derived-run" and row["scale"] == "raw" and row["partial"]
    assert row["missing"] == "MATH Lvl 5" and row["rank"] == 1
    assert row["params_b"] == 2.8 and row["size_source"] == "given" and not row["known"]
    assert row["lower"] < row["prediction"] < row["upper"]
    assert row["partial_method"] in ("imputation", f"reduced spec {row['spec']}") and row["partial_mae"] > 0
    alone = rank(PYTHIA, "--format", "json", "--model", "me/derived-run", db=app_db)  # no size anywhere
    assert alone.returncode == 2 and "size unknown: add Params (B): 'me/derived-run'" in alone.stderr
    assert "Fix: give the size beside the file" in alone.stderr and "--params-b" in alone.stderr


def test_an_upload_in_the_leaderboard_takes_its_missing_cells_and_size_from_its_row(app_db):
    """Issue 24: the run is named EleutherAI/pythia-2.8b, which the leaderboard table holds (MATH Lvl 5
    1.36 normalized, 2.9B): its missing MATH Lvl 5 comes from that row, converted exactly to the row's
    raw scale (1.36 / 100), its size is looked up there, and a note names the model; the cells the file
    gave stay 'given'."""
    proc = rank(PYTHIA, "--format", "json", db=app_db)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)["rows"][0]
    assert row["hf_id"] == "EleutherAI/pythia-2.8b" and row["scale"] == "raw" and not row["partial"]
    assert row["leaderboard_math_hard"] == pytest.approx(0.0136) and row["prov_leaderboard_math_hard"] == "converted"
    assert row["prov_leaderboard_ifeval"] == "given" and row["prov_leaderboard_bbh"] == "given"
    assert row["params_b"] == 2.9 and row["prov_params_b"] == "looked up"
    assert row["size_source"] == "looked up: Open LLM Leaderboard v2 table"
    assert ("note: results_2024-09-27T15-51-00.000000.json, model 'EleutherAI/pythia-2.8b': MATH Lvl 5 "
            "(normalized 1.36 -> raw 0.0136, exact) taken from the model's row in the Open LLM Leaderboard v2 "
            "table, which the input lacked (provenance 'converted')." in proc.stderr)


REAL_24 = ROOT / "tests" / "fixtures" / "candidates" / "leaderboard_24_real.csv"


def test_24_real_leaderboard_rows_are_ranked_with_every_value_kept(app_db):
    """Issue 24: 24 rows copied verbatim from the shipped leaderboard table, small models included (MATH
    Lvl 5 of 0.08-0.98, GPQA of 0): before, 12 small values were called "raw 0-1 fractions ... scales
    mixed within one column" and the command refused the file (exit 2). Every value is kept as given."""
    proc = rank(REAL_24, "--format", "json", db=app_db)
    assert proc.returncode == 0, proc.stderr
    assert "error:" not in proc.stderr and "mixed" not in proc.stderr and "ambiguous" not in proc.stderr
    rows = pd.DataFrame(json.loads(proc.stdout)["rows"]).set_index("hf_id")
    src = pd.read_csv(REAL_24).set_index("model")
    assert sorted(rows.index) == sorted(src.index) and rows["rank"].notna().all()
    columns = {"IFEval": "leaderboard_ifeval", "BBH": "leaderboard_bbh", "MATH_Lvl5": "leaderboard_math_hard",
               "GPQA": "leaderboard_gpqa", "MUSR": "leaderboard_musr", "MMLU_PRO": "leaderboard_mmlu_pro",
               "params_b": "params_b"}
    for col, task in columns.items():
        assert rows.loc[src.index, task].tolist() == src[col].tolist(), col
        assert set(rows[f"prov_{task}"]) == {"given"}, col
    assert rows.loc["HuggingFaceTB/SmolLM2-135M-Instruct", "leaderboard_math_hard"] == 0.3
    assert all(task not in imp for imp in rows["imputed"] for task in registry.OLL_V2_TASKS)
    # the paper's models among them take their known pre-training tokens (the models table)
    assert rows.loc["Qwen/Qwen2.5-7B-Instruct", "pretrain_tokens_t"] == 18
    assert rows.loc["Qwen/Qwen2.5-7B-Instruct", "prov_pretrain_tokens_t"] == "looked up"
    assert rows.loc["Qwen/Qwen2.5-7B-Instruct", "known"] and not rows.loc["gpt2", "known"]


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


def test_pick_of_two_known_models_ranks_them_by_their_measurement(app_db):
    """Issue 24's must-show: the paper's Qwen2.5-7B-Instruct (measured 86.5) and gemma-2-9b-it (88.1) are
    ranked by their measured regression RMs, gemma first, both marked measured with their source, the
    prediction kept beside; Qwen, a training model, is in domain."""
    import duckdb

    proc = rank("--pick", "Qwen/Qwen2.5-7B-Instruct,google/gemma-2-9b-it", "--format", "json", db=app_db)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    rows = {r["hf_id"]: r for r in doc["rows"]}
    with duckdb.connect(str(app_db), read_only=True) as con:
        paper = dict(con.execute("SELECT hf_id, score FROM rm_results WHERE source = 'paper' AND method = "
                                 "'regression' AND hf_id IN ('Qwen/Qwen2.5-7B-Instruct', "
                                 "'google/gemma-2-9b-it')").fetchall())
    assert paper == {"Qwen/Qwen2.5-7B-Instruct": 86.5, "google/gemma-2-9b-it": 88.1}  # the paper's Table 4
    assert [r["hf_id"] for r in doc["rows"]] == ["google/gemma-2-9b-it", "Qwen/Qwen2.5-7B-Instruct"]
    for h, r in rows.items():
        assert r["ranked_by"] == "measured" and r["tier"] == "measured" and r["measured_source"] == "paper, Table 4"
        assert r["ranking_score"] == r["measured_score"] == paper[h]
        assert r["prediction"] is not None and r["lower"] < r["prediction"] < r["upper"]
    assert rows["Qwen/Qwen2.5-7B-Instruct"]["in_domain"] is True
    assert rows["google/gemma-2-9b-it"]["rank"] == 1 and rows["Qwen/Qwen2.5-7B-Instruct"]["rank"] == 2
    assert rows["Qwen/Qwen2.5-7B-Instruct"]["rank_upper"] == 2  # measurements are points
    assert doc["verdict"]["best"] == "google/gemma-2-9b-it" and doc["verdict"]["top_group"] == ["google/gemma-2-9b-it"]


EXAMPLE = ROOT / "data" / "examples" / "recent_bases.csv"


def test_example_file_verdict_names_the_tied_top_group_and_crowns_no_guess(app_db):
    """Issue 24's must-show on the README's example: the tied top group is named, no out-of-domain or
    clamped row is called the best (the best in-domain one is named beside the point leader), Scout and
    Maverick (identical once clamped) share a rank instead of being ordered by name, and the verdict's
    recipe caveat carries the transfer analysis' medians of this database."""
    import duckdb

    proc = rank(EXAMPLE, "--format", "json", db=app_db)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    v, rows = doc["verdict"], pd.DataFrame(doc["rows"]).set_index("hf_id")
    ranked = rows[rows["rank"].notna()]
    top = ranked[ranked["rank_upper"] == 1]
    assert v["top_group"] == list(top.index) and len(top) > 1 and v["tied"]
    assert v["summary"][0].startswith(f"Statistically tied for first: {len(top)} of {len(ranked)} ranked candidates")
    assert all(h in v["summary"][0] for h in top.index)
    leaders = ranked[ranked["rank"] == 1]
    assert v["highest_point_estimate"] == list(leaders.index)
    assert v["best"] is None or rows.loc[v["best"], "tier"] != "low"
    if (leaders["tier"] == "low").any():
        assert "not a pick" in v["summary"][1] and v["best_in_domain"] in ranked.index
        assert rows.loc[v["best_in_domain"], "tier"] != "low"
        assert f"Best in-domain candidate: {v['best_in_domain']}," in v["summary"][2]
    for pair in (("meta-llama/Llama-4-Scout-17B-16E-Instruct", "meta-llama/Llama-4-Maverick-17B-128E-Instruct"),
                 ("meta-llama/Llama-4-Scout-17B-16E", "meta-llama/Llama-4-Maverick-17B-128E")):
        a, b = rows.loc[list(pair)].to_dict("index").values()
        assert a["rank"] == b["rank"] and a["prediction"] == b["prediction"]
        assert a["rank_note"].startswith(f"indistinguishable from {pair[1]}")
        assert b["rank_note"].startswith(f"indistinguishable from {pair[0]}")
    assert set(rows["tier"]) <= {"measured", "high", "medium", "low", ""}
    with duckdb.connect(str(app_db), read_only=True) as con:
        med = con.execute("SELECT advisor_method, median(spearman) FROM transfer_agreement WHERE spearman IS NOT "
                          "NULL GROUP BY ALL").fetchall()
    med = dict(med)
    assert v["summary"][-1] == v["recipe_caveat"]
    assert (f"median Spearman {med['regression']:+.2f} vs {med['baseline_params']:+.2f} and "
            f"{med['baseline_oll_mean']:+.2f}") in v["recipe_caveat"]
