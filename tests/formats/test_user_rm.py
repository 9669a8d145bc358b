"""The team's own RM results: both formats (the rewardbench results JSON as allenai/reward-bench writes
it, and the CSV), on real RewardBench numbers and on broken files, through the pipeline CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from advisor.formats import user_rm
from advisor.formats.user_rm import RMFileError

ROOT = Path(__file__).resolve().parents[2]
CONST = json.loads((ROOT / "data/public/rewardbench_v1_scoring_constants.json").read_text())
COUNTS, MAPPING = CONST["EXAMPLE_COUNTS"], CONST["SUBSET_MAPPING"]


def accuracies(seed: int = 0) -> dict:
    """Subset accuracies (fractions), distinct per subset."""
    return {s: round(0.5 + 0.45 * ((i * 7 + seed) % 23) / 23, 4) for i, s in enumerate(sorted(COUNTS))}


def expected_sections(acc: dict) -> dict:
    """The official rule written out here: EXAMPLE_COUNTS-weighted mean per section, plain mean overall."""
    out = {}
    for sec, name in [("Chat", "chat"), ("Chat Hard", "chat_hard"), ("Safety", "safety"), ("Reasoning", "reasoning")]:
        w = sum(COUNTS[s] for s in MAPPING[sec])
        out[name] = 100 * sum(acc[s] * COUNTS[s] for s in MAPPING[sec]) / w
    out["score"] = (out["chat"] + out["chat_hard"] + out["safety"] + out["reasoning"]) / 4
    return out


def cli_json(acc, model="org/my-base-8b") -> bytes:
    """What `rewardbench` (rewardbench/rewardbench.py) writes to <output_dir>/<model>.json."""
    return json.dumps({"accuracy": 0.8, "num_prompts": 2985, "model": model, "ref_model": None,
                       "tokenizer": model, "chat_template": None, "extra_results": acc}).encode()


def run_rm_json(acc, model="org/my-base-8b") -> bytes:
    """What scripts/run_rm.py writes to results/eval-set/<model>.json (save_to_hub, sort_keys)."""
    return json.dumps({"model": model, "model_type": "Seq. Classifier", "chat_template": "tokenizer", **acc},
                      indent=4, sort_keys=True).encode()


@pytest.mark.parametrize("writer", [cli_json, run_rm_json])
def test_rewardbench_json_both_writers(writer):
    acc = accuracies(3)
    rows = user_rm.parse(writer(acc), "rb.json", method="bradley_terry")
    assert len(rows) == 1
    r, want = rows[0], expected_sections(acc)
    assert (r.hf_id, r.method) == ("org/my-base-8b", "bradley_terry")
    for k, v in want.items():
        assert getattr(r, k) == pytest.approx(v, abs=1e-9), k
    assert r.provenance["format"] == "rewardbench_json"


def test_json_local_path_needs_base_and_base_wins():
    data = cli_json(accuracies(), model="/scratch/ckpt/final")
    with pytest.raises(RMFileError) as e:
        user_rm.parse(data, "rb.json", method="regression")
    assert e.value.field == "model" and "--base" in e.value.fix
    r = user_rm.parse(data, "rb.json", method="regression", base="google/gemma-2-2b-it")[0]
    assert r.hf_id == "google/gemma-2-2b-it" and r.provenance["model_in_file"] == "/scratch/ckpt/final"


@pytest.mark.parametrize("data, field, words", [
    (b"{not json", None, "not valid JSON"),
    (b"[1, 2]", None, "not an object"),
    (json.dumps({"model": "a/b", "extra_results": None}).encode(), "extra_results", "not on allenai/reward-bench"),
    (json.dumps({"model": "a/b", "anthropic_helpful": 0.7, "shp": 0.6}).encode(), "extra_results", "prior-sets"),
    (cli_json({k: v for k, v in accuracies().items() if k != "hep-go"}), "extra_results", "1 of 23 subsets missing"),
    (cli_json({**accuracies(), "donotanswer": 84.0}), "donotanswer", "not a fraction"),
    (cli_json({**accuracies(), "made-up-subset": 0.5}), "made-up-subset", "unknown RewardBench subset"),
    (b"", None, "file is empty"),
    # issue 27 findings 4 and 11: Python refuses an integer of over 4,300 digits; one past ~308 overflows a float
    (cli_json({**accuracies(), "donotanswer": 0.123456}).replace(b"0.123456", b"9" * 5000), "donotanswer",
     "<a 5,000-digit integer> is not a fraction"),
    (cli_json({**accuracies(), "donotanswer": 0.123456}).replace(b"0.123456", b"9" * 400), "donotanswer",
     "<a 400-digit integer> is not a fraction"),
    (cli_json(accuracies(), model="org/my-base-8b\n"), "model", "is not a hub id"),  # finding 9: a trailing newline
])
def test_broken_json_names_field_and_fix(data, field, words):
    with pytest.raises(RMFileError) as e:
        user_rm.parse(data, "rb.json", method="regression")
    assert e.value.field == field and words in e.value.problem and e.value.fix
    assert str(e.value).startswith("rb.json")


def test_json_without_method_is_refused():
    with pytest.raises(RMFileError, match="--method"):
        user_rm.parse(cli_json(accuracies()), "rb.json")


def paper_rows(n=3) -> pd.DataFrame:
    """Real RewardBench results: the paper's Table 5 (Bradley-Terry) rows with their hub ids."""
    m = pd.read_csv(ROOT / "data/paper/models.csv")[["model", "hf_id"]]
    t = pd.read_csv(ROOT / "data/paper/rewardbench_bradley_terry.csv").merge(m, on="model").head(n)
    return t.assign(method="bradley_terry")[["hf_id", "method", "chat", "chat_hard", "safety", "reasoning", "score"]]


def test_csv_real_rows_keep_their_numbers():
    t = paper_rows()
    rows = user_rm.parse(t.to_csv(index=False).encode(), "mine.csv")
    got = pd.DataFrame([r.as_dict() for r in rows])
    pd.testing.assert_frame_equal(got, t.reset_index(drop=True), check_dtype=False)
    # without a score column the overall is the mean of the sections
    r = user_rm.parse(t.drop(columns="score").to_csv(index=False).encode(), "mine.csv")[0]
    assert r.score == pytest.approx(t.iloc[0][["chat", "chat_hard", "safety", "reasoning"]].mean())
    # an empty method cell takes --method
    r = user_rm.parse(t.assign(method="").to_csv(index=False).encode(), "mine.csv", method="regression")[0]
    assert r.method == "regression"


def _csv(edit) -> bytes:
    return edit(paper_rows()).to_csv(index=False).encode()


@pytest.mark.parametrize("data, row, field, words", [
    (_csv(lambda d: d.drop(columns="safety")), None, "safety", "missing column"),
    (_csv(lambda d: d.assign(chat=d.chat.astype(str).where(d.index != 1, "high"))), 3, "chat", "not a number"),
    (_csv(lambda d: d.assign(reasoning=d.reasoning.where(d.index != 0, 120.5))), 2, "reasoning", "outside 0-100"),
    (_csv(lambda d: d.assign(reasoning=d.reasoning.where(d.index != 0, 0.93))), 2, "score", "differs from the mean"),
    (_csv(lambda d: d.drop(columns="score").assign(**{c: d[c] / 100 for c in ["chat", "chat_hard", "safety",
                                                                              "reasoning"]})), 2, "chat", "fractions"),
    (_csv(lambda d: d.assign(score=d.score.where(d.index != 2, 99.0))), 4, "score", "differs from the mean"),
    (_csv(lambda d: d.assign(method=d.method.where(d.index != 1, "dpo"))), 3, "method", "unknown method"),
    (_csv(lambda d: d.assign(hf_id=d.hf_id.where(d.index != 0, "../../etc/passwd"))), 2, "hf_id", "not a Hugging"),
    (_csv(lambda d: pd.concat([d, d.iloc[[0]]])), 5, "hf_id", "already on row 2"),
    (b"hf_id,method,chat,chat_hard,safety,reasoning\n", None, None, "no data rows"),
    # issue 27 finding 4: a cell over the csv module's 131,072-character limit (bare, and quoted with commas)
    (_csv(lambda d: d.astype(str).assign(safety=d.safety.astype(str).where(d.index != 1, "9" * 131_073))), 3,
     "safety", "over 131,072 characters"),
    (_csv(lambda d: d.astype(str).assign(hf_id=d.hf_id.where(d.index != 0, "a," * 70_000))), 2, "hf_id",
     "over 131,072 characters"),
    # finding 9: duplicate columns (the last silently won); case variants of one model (hub ids ignore case)
    (_csv(lambda d: d.assign(chat2=d.chat).rename(columns={"chat2": "chat"})), 1, "chat", "more than once"),
    (_csv(lambda d: pd.concat([d, d.iloc[[0]].assign(hf_id=d.hf_id.iloc[0].upper())])), 5, "hf_id",
     "already on row 2 (hub ids ignore case)"),
    # finding 12: 'nan' is refused like 'inf'; '1_0' is not read as 10
    (_csv(lambda d: d.astype(str).assign(chat=d.chat.astype(str).where(d.index != 0, "nan"))), 2, "chat",
     "'nan' is not a number"),
    (_csv(lambda d: d.astype(str).assign(chat=d.chat.astype(str).where(d.index != 0, "inf"))), 2, "chat",
     "'inf' is not a number"),
    (_csv(lambda d: d.astype(str).assign(chat=d.chat.astype(str).where(d.index != 0, "9_5"))), 2, "chat",
     "'9_5' is not a number"),
])
def test_broken_csv_names_row_field_and_fix(data, row, field, words):
    with pytest.raises(RMFileError) as e:
        user_rm.parse(data, "mine.csv")
    assert (e.value.row, e.value.field) == (row, field)
    assert words in e.value.problem and e.value.fix


def test_finding_9_a_base_with_a_trailing_newline_is_refused():
    with pytest.raises(RMFileError) as e:
        user_rm.parse(cli_json(accuracies(), model="/local"), "rb.json", method="regression", base="org/x\n")
    assert e.value.field == "--base" and "not a Hugging Face model id" in e.value.problem
    assert not user_rm.valid_hf_id("org/x\n") and user_rm.valid_hf_id("org/x")


def test_rows_are_numbered_as_a_spreadsheet_shows_them_blank_lines_included():
    data = (b"hf_id,method,chat,chat_hard,safety,reasoning\n\norg/a,regression,90,60,80,70\n\n"
            b"org/b,regression,+9.5e1,6e1,80,.7e2\n")
    rows = user_rm.parse(data, "mine.csv")
    assert [(r.hf_id, r.chat, r.reasoning, r.provenance["row"]) for r in rows] == [
        ("org/a", 90.0, 70.0, 3), ("org/b", 95.0, 70.0, 5)]


def test_command_is_quoted():
    cmd = user_rm.command("my results; rm -rf.csv", "regression", "org/base")
    assert "'my results; rm -rf.csv'" in cmd and cmd.startswith("python -m pipeline.run --stages ingest,predictor")


# --- through the pipeline CLI ----------------------------------------------------------------------

def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"db: {tmp_path / 'db.duckdb'}\ndata_dir: {ROOT / 'data'}\nwork_dir: {tmp_path / 'work'}\n"
                   "stages: [ingest]\n")
    return cfg


def _run(cfg, *args):
    return subprocess.run([sys.executable, "-m", "pipeline.run", "--config", str(cfg), "--stages", "ingest", *args],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # four pipeline processes (~7 s)
def test_pipeline_ingests_keeps_and_refuses(tmp_path):
    cfg = _config(tmp_path)
    js = tmp_path / "Llama-3.2-1B-Instruct.json"
    acc = accuracies(5)
    js.write_bytes(cli_json(acc, model="/local/ckpt"))
    p = _run(cfg, "--rm-results", str(js), "--method", "regression", "--base", "meta-llama/Llama-3.2-1B-Instruct")
    assert p.returncode == 0, p.stderr
    db = tmp_path / "db.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT hf_id, method, score, source, run_id, config FROM rm_results "
                           "WHERE source = 'user'").fetchall()
        paper = con.execute("SELECT count(*) FROM rm_results WHERE source = 'paper'").fetchone()[0]
    assert paper == 80 and len(rows) == 1
    hf_id, method, score, source, run_id, config = rows[0]
    assert (hf_id, method, source, run_id) == ("meta-llama/Llama-3.2-1B-Instruct", "regression", "user",
                                               "user:Llama-3.2-1B-Instruct.json")
    assert score == pytest.approx(expected_sections(acc)["score"])
    prov = json.loads(config)
    assert prov["file"] == "rm_results/Llama-3.2-1B-Instruct.json" and len(prov["sha256"]) == 64
    assert (tmp_path / "work" / "rm_results" / "Llama-3.2-1B-Instruct.json").is_file()

    # a rebuild without the flag keeps the row (the copy and its .meta sidecar are under work_dir)
    csv = tmp_path / "more.csv"
    paper_rows(2).to_csv(csv, index=False)
    assert _run(cfg, "--rm-results", str(csv), "--method", "bradley_terry").returncode == 0
    assert _run(cfg).returncode == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM rm_results WHERE source = 'user'").fetchone()[0] == 3
    before = db.read_bytes()

    # a broken file: exit 2, the message names file, row, field and fix; nothing copied or published
    bad = tmp_path / "bad.csv"
    bad.write_text("hf_id,method,chat,chat_hard,safety,reasoning\norg/x,regression,95,60,180,70\n")
    p = _run(cfg, "--rm-results", str(bad), "--method", "regression")
    assert p.returncode == 2
    assert "bad.csv, row 2, field 'safety'" in p.stderr and "Fix:" in p.stderr
    assert not (tmp_path / "work" / "rm_results" / "bad.csv").exists()
    assert db.read_bytes() == before


def test_user_rows_are_a_training_source_after_the_papers(tmp_path):
    from advisor.core import registry
    from advisor.db import store
    from pipeline import schema

    assert "user" in registry.RM_SOURCES
    con = duckdb.connect()
    schema.create_all(con)
    con.execute("INSERT INTO rm_results VALUES ('a/x', 'regression', 1, 1, 1, 1, 50, 'paper', NULL, NULL), "
                "('a/x', 'regression', 2, 2, 2, 2, 60, 'user', 'user:f.csv', NULL), "
                "('a/y', 'regression', 3, 3, 3, 3, 70, 'user', 'user:f.csv', NULL)")
    t = store.rm_table(con, sources=("paper", "user"), one_per_model=True).set_index("hf_id")
    assert t.loc["a/x", "score"] == 50 and t.loc["a/y", "score"] == 70  # the paper's row wins, user rows add
    from pipeline.predictor.config import PredictorConfig

    assert PredictorConfig().rm_sources == ["paper", "user"]


@pytest.mark.slow  # a pipeline process and the app
def test_results_page_lists_own_rows_apart_from_the_papers(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    cfg = _config(tmp_path)
    csv = tmp_path / "ours.csv"
    paper_rows(2).assign(hf_id=["EleutherAI/pythia-1.4b", "EleutherAI/pythia-2.8b"]).to_csv(csv, index=False)
    assert _run(cfg, "--rm-results", str(csv), "--method", "bradley_terry").returncode == 0
    monkeypatch.setenv("RM_ADVISOR_DB", str(tmp_path / "db.duckdb"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    at.switch_page("pages/rm_results.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.metric[0].value == "80"  # the main table: the paper's rows only
    mine = next(d.value for d in at.dataframe if "file" in d.value.columns)
    assert sorted(mine["hf_id"]) == ["EleutherAI/pythia-1.4b", "EleutherAI/pythia-2.8b"]
    assert set(mine["file"]) == {"rm_results/ours.csv"} and set(mine["format"]) == {"csv"}


# --- issue 27, second adversarial pass: hostile files and weak ids through the pipeline and the page ------

HEADER = "hf_id,method,chat,chat_hard,safety,reasoning\n"


@pytest.mark.slow  # two pipeline processes
def test_finding_4_hostile_files_get_a_message_from_the_pipeline_not_a_traceback(tmp_path):
    cfg = _config(tmp_path)
    big_cell = tmp_path / "big_cell.csv"
    big_cell.write_text(HEADER + "org/a,regression,90,60,80,70\norg/b,regression," + "9" * 131_073 + ",60,80,70\n")
    big_int = tmp_path / "big_int.json"
    big_int.write_bytes(cli_json({**accuracies(), "donotanswer": 0.123456}).replace(b"0.123456", b"9" * 5000))
    for path, where in ((big_cell, "big_cell.csv, row 3, field 'chat'"),
                        (big_int, "big_int.json, field 'donotanswer'")):
        p = _run(cfg, "--rm-results", str(path), "--method", "regression")
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr[-2000:]
        assert where in p.stderr and "Fix:" in p.stderr and "set_int_max_str_digits" not in p.stderr, p.stderr
        assert not (tmp_path / "work" / "rm_results" / path.name).exists()


@pytest.mark.slow  # three pipeline processes
def test_finding_9_an_updated_file_replaces_its_stale_copy_and_case_variants_are_one_model(tmp_path):
    cfg = _config(tmp_path)
    mine = tmp_path / "mine.csv"
    mine.write_text(HEADER + "qwen/QWEN2.5-7B-INSTRUCT,regression,90,70,85,80\n")  # overall 81.25
    p = _run(cfg, "--rm-results", str(mine))
    assert p.returncode == 0, p.stderr
    assert "'qwen/QWEN2.5-7B-INSTRUCT' stored as 'Qwen/Qwen2.5-7B-Instruct' (hub ids ignore case)" in p.stdout
    mine.write_text(HEADER + "Qwen/Qwen2.5-7B-Instruct,regression,50,50,50,50\n")  # the corrected file
    p = _run(cfg, "--rm-results", str(mine))
    assert p.returncode == 0, p.stderr
    assert "replaces the earlier copy of that name (the newest file wins)" in p.stdout
    other = tmp_path / "other.csv"
    other.write_text(HEADER + "QWEN/qwen2.5-7b-instruct,bradley_terry,60,60,60,60\n")
    assert _run(cfg, "--rm-results", str(other)).returncode == 0
    with duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT hf_id, method, score, run_id FROM rm_results WHERE source = 'user' "
                           "ORDER BY method").fetchall()
    assert rows == [("Qwen/Qwen2.5-7B-Instruct", "bradley_terry", 60.0, "user:other.csv"),
                    ("Qwen/Qwen2.5-7B-Instruct", "regression", 50.0, "user:mine.csv")]
    assert sorted(f.name for f in (tmp_path / "work" / "rm_results").glob("*.csv")) == ["mine.csv", "other.csv"]


def test_finding_4_the_results_page_check_shows_a_message_for_hostile_files(app):
    at = app("rm_results")
    files = [("big_cell.csv", (HEADER + "org/a,regression,90,60," + "9" * 131_073 + ",70\n").encode(),
              "big_cell.csv, row 2, field 'safety'"),
             ("big_int.json", cli_json({**accuracies(), "donotanswer": 0.123456}).replace(b"0.123456", b"9" * 5000),
              "big_int.json, field 'donotanswer'")]
    for name, data, where in files:
        at.file_uploader(key="user_rm_file").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception, [e.value for e in at.exception]
        shown = [e.value.replace("\\", "") for e in at.error]
        assert any(where in m and "Fix:" in m for m in shown), shown
