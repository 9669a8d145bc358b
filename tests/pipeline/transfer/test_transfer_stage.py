"""pipeline/transfer/stage.py: transfer is a stage of its own, run after predictor, that completes the
predictor's report; when its analysis cannot run or fails, it is skipped with the reason and everything
else is published."""

from __future__ import annotations

import json
import shutil

import duckdb
import pandas as pd
import pytest
import yaml

from advisor.analyses import transfer
from pipeline import run as pipeline_run

pytestmark = pytest.mark.slow  # every test builds or rebuilds a database with the real pipeline

SMALL = {"repeats": 0, "cv": 5, "scales": ["normalized"], "candidates": ["ridge_log_params"]}


def _config(base, db, stages) -> str:
    path = base / f"config-{'-'.join(stages)}.yaml"
    path.write_text(yaml.safe_dump({"db": str(db), "data_dir": "data", "work_dir": str(base / "work"),
                                    "stages": list(stages),
                                    "predictor": {**SMALL, "reports_dir": str(base / "reports")}}))
    return str(path)


def _q(db, sql) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def _report(db) -> tuple[dict, str]:
    rows = dict(_q(db, "SELECT name, content FROM reports").itertuples(index=False))
    return json.loads(rows["reproduction.json"]), rows["reproduction.md"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("transfer_stage")
    db = base / "advisor.duckdb"
    assert pipeline_run.main(["--config", _config(base, db, ["ingest", "predictor", "transfer"])]) == 0
    return db


def test_transfer_runs_after_the_predictor_and_completes_its_report(built):
    assert _q(built, "SELECT stages FROM runs").stages.tolist() == ["ingest,predictor,transfer"]
    agreement = _q(built, "SELECT * FROM transfer_agreement")
    assert len(agreement) > 0 and agreement.spearman.notna().any()
    assert len(_q(built, "SELECT * FROM transfer_predictions")) > 0
    report, md = _report(built)
    assert list(report)[-1] == "transfer" and report["transfer"]["summary"]["regression"]["comparisons"] > 0
    assert "## Transfer to other recipes" in md and "## Skipped analyses" not in md
    written = built.parent / "reports" / "reproduction.md"
    assert written.read_text() == md  # the files pipeline.run wrote after the publish


def test_a_failing_transfer_is_skipped_with_its_reason_and_everything_else_publishes(built, tmp_path,
                                                                                      monkeypatch):
    db = tmp_path / "advisor.duckdb"
    shutil.copyfile(built, db)
    served_before = _q(db, "SELECT * FROM predictor_served")

    def boom(*args, **kwargs):
        raise RuntimeError("injected transfer failure")

    monkeypatch.setattr(transfer, "analyse", boom)
    assert pipeline_run.main(["--config", _config(tmp_path, db, ["transfer"]), "--stages", "transfer"]) == 0
    assert _q(db, "SELECT * FROM skipped_analyses").to_dict("records") == [
        {"analysis": "transfer", "reason": "RuntimeError: injected transfer failure"}]
    assert _q(db, "SELECT count(*) AS n FROM transfer_agreement").n[0] == 0  # nothing half-written
    pd.testing.assert_frame_equal(_q(db, "SELECT * FROM predictor_served"), served_before)
    report, md = _report(db)
    assert report["transfer"] == {}
    assert report["skipped_analyses"] == [{"analysis": "transfer", "reason": "RuntimeError: injected transfer failure"}]
    assert "- transfer: RuntimeError: injected transfer failure" in md and "## Transfer to other recipes" not in md

    monkeypatch.undo()  # fixed: the next run of the stage replaces its skip row and its report section
    assert pipeline_run.main(["--config", _config(tmp_path, db, ["transfer"]), "--stages", "transfer"]) == 0
    assert _q(db, "SELECT count(*) AS n FROM skipped_analyses").n[0] == 0
    assert _q(db, "SELECT count(*) AS n FROM transfer_agreement").n[0] == \
        _q(built, "SELECT count(*) AS n FROM transfer_agreement").n[0]
    assert _report(db) == _report(built)  # the report the full build published


def test_without_a_predictor_bundle_transfer_is_skipped_and_the_ingest_publishes(tmp_path):
    db = tmp_path / "advisor.duckdb"
    assert pipeline_run.main(["--config", _config(tmp_path, db, ["ingest", "transfer"])]) == 0
    skipped = _q(db, "SELECT * FROM skipped_analyses")
    assert skipped.analysis.tolist() == ["transfer"]
    assert "run the predictor stage before transfer" in skipped.reason[0]
    assert _q(db, "SELECT count(*) AS n FROM models").n[0] == 40
    assert _q(db, "SELECT count(*) AS n FROM reports").n[0] == 0 and not (tmp_path / "reports").exists()
