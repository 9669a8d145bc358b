"""pipeline.ingest.lmeval_json: results files -> work_dir/results -> benchmark_scores (real DuckDB)."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

from advisor.db import store
from pipeline.errors import InputError
from pipeline.ingest.lmeval_json import ingest_results, results_files

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "lm_eval"
OLL = FIX / "results_oll_v2_2024-09-27T15-51-00.000000.json"
TINY = FIX / "results_tiny_lmeval_0.4.13.json"
MODEL = "meta-llama/Llama-3.2-1B-Instruct"


def make_ctx(con, work_dir):
    logs = []
    return types.SimpleNamespace(con=con, work_dir=Path(work_dir), log=logs.append, logs=logs)


def rows(con, where="TRUE", params=()):
    sql = (f"SELECT hf_id, benchmark, value, scale, source, settings, recorded_at "  # noqa: S608 - `where` from tests
           f"FROM benchmark_scores WHERE {where} ORDER BY benchmark, scale, source")
    return con.execute(sql, list(params)).fetchall()


def test_ingest_copies_and_writes_rows_with_settings(con, tmp_path):
    n = ingest_results(make_ctx(con, tmp_path), [OLL])
    assert n == 12
    assert (tmp_path / "results" / OLL.name).read_bytes() == OLL.read_bytes()
    got = rows(con, "benchmark = 'leaderboard_mmlu_pro'")
    assert [(r[0], round(r[2], 6), r[3]) for r in got] == [(MODEL, 30.0, "normalized"), (MODEL, 0.37, "raw")]
    raw = dict(zip(["hf_id", "benchmark", "value", "scale", "source", "settings", "recorded_at"], got[1]))
    assert raw["source"] == f"lm_eval:results/{OLL.name}"
    st = json.loads(raw["settings"])
    assert st["shots"] == 5 and st["chat_template"] is True and st["dtype"] == "bfloat16"
    assert st["harness_version"] == "0.4.5" and st["metric"] == "acc"
    assert raw["recorded_at"].isoformat() == "2024-09-27T15:51:00.541846"  # the evaluation's date
    # a rebuild with no new files ingests the kept copy again, replacing (not duplicating) its rows
    assert ingest_results(make_ctx(con, tmp_path)) == 12
    assert con.execute("SELECT count(*) FROM benchmark_scores").fetchone()[0] == 12


def test_model_argument_for_a_file_that_names_a_local_path(con, tmp_path):
    with pytest.raises(InputError, match=r"names a local path '/tmp/exp/tiny'.*--model"):
        ingest_results(make_ctx(con, tmp_path), [TINY])
    doc = json.loads(OLL.read_text())
    doc["config"]["model_args"] = "dtype=bfloat16"
    doc.pop("model_name")
    anon = tmp_path / "in" / "results_anon.json"
    anon.parent.mkdir()
    anon.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"does not name its model.*Fix: pass the Hugging Face id with --model"):
        ingest_results(make_ctx(con, tmp_path / "w"), [anon])
    assert ingest_results(make_ctx(con, tmp_path / "w"), [anon], "org/candidate") == 12
    meta = json.loads((tmp_path / "w" / "results" / "results_anon.json.meta").read_text())
    assert meta["hf_id"] == "org/candidate"
    # the rebuild remembers the model without --model
    assert ingest_results(make_ctx(con, tmp_path / "w")) == 12
    assert {r[0] for r in rows(con)} == {"org/candidate"}


@pytest.mark.parametrize("content, field", [
    ('{"results": {"leaderboard_mmlu_pro": {"acc,none": "high"}}}', "results.leaderboard_mmlu_pro.acc,none"),
    ('{"results": {"leaderboard_mmlu_pro": {"acc,none": 0.3', None),
    ('{"config": {}}', "results"),
])
def test_malformed_file_writes_and_copies_nothing(con, tmp_path, content, field):
    ingest_results(make_ctx(con, tmp_path), [OLL])
    before = rows(con)
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(InputError) as exc:
        ingest_results(make_ctx(con, tmp_path), [OLL, bad])
    assert exc.value.file.endswith("bad.json") and exc.value.field == field and exc.value.fix
    assert rows(con) == before
    assert sorted(p.name for p in (tmp_path / "results").iterdir() if not p.name.startswith(".")) == [OLL.name]


def test_two_results_for_same_model_and_task_kept_newest_wins(con, tmp_path):
    old = json.loads(OLL.read_text())
    new = json.loads(OLL.read_text())
    new["date"] = old["date"] + 86400  # evaluated a day later, in float16
    new["config"]["model_args"] = new["config"]["model_args"].replace("bfloat16", "float16")
    new["results"]["leaderboard_mmlu_pro"]["acc,none"] = 0.46  # -> normalized 40.0
    d = tmp_path / "in"
    d.mkdir()
    # the later evaluation is ingested first: order of ingestion must not matter
    (d / "results_b.json").write_text(json.dumps(new))
    ingest_results(make_ctx(con, tmp_path / "w"), [d / "results_b.json"])
    (d / "results_a.json").write_text(json.dumps(old))
    ingest_results(make_ctx(con, tmp_path / "w"), [d / "results_a.json"])
    got = rows(con, "benchmark = 'leaderboard_mmlu_pro' AND scale = 'raw'")
    assert sorted((r[2], json.loads(r[5])["dtype"]) for r in got) == [(0.37, "bfloat16"), (0.46, "float16")]
    # the predictor's single value: advisor.db.store.feature_matrix takes the newest evaluation
    fm = store.feature_matrix(con, ["leaderboard_mmlu_pro"], scale="normalized")
    assert fm.loc[MODEL, "leaderboard_mmlu_pro"] == pytest.approx(40.0)


def test_same_name_different_content_is_kept_beside(con, tmp_path):
    ingest_results(make_ctx(con, tmp_path), [OLL])
    other = tmp_path / "x" / OLL.name
    other.parent.mkdir()
    doc = json.loads(OLL.read_text())
    doc["date"] += 60
    other.write_text(json.dumps(doc))
    ingest_results(make_ctx(con, tmp_path), [other])
    assert len(list((tmp_path / "results").glob("*.json"))) == 2
    assert con.execute("SELECT count(DISTINCT source) FROM benchmark_scores").fetchone()[0] == 2


def test_evalplus_file_ingested(con, tmp_path, root):
    n = ingest_results(make_ctx(con, tmp_path), [root / "data/public/evalplus_results_20241226.json"])
    assert n > 100
    (v, scale, src), = con.execute(
        "SELECT value, scale, source FROM benchmark_scores WHERE hf_id = 'infly/OpenCoder-8B-Instruct' "
        "AND benchmark = 'humaneval_plus'").fetchall()
    assert (v, scale, src) == (77.4, "percent", "evalplus:results/evalplus_results_20241226.json")


def test_results_files_patterns(tmp_path):
    run = tmp_path / "lm_eval" / "m" / "set-1" / "shots-0"
    run.mkdir(parents=True)
    for name in ("results_2024.json", "results_2024.json.meta", "x_eval_results.json", "samples.json"):
        (run / name).write_text("{}")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "mine.json").write_text("{}")
    assert [p.name for p in results_files(tmp_path)] == ["mine.json", "results_2024.json", "x_eval_results.json"]
