"""pipeline/stages.py: one registry of the stages (runner, config section, owned SQL) that the runner, the
config and the schema all read."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from pipeline import config, run, schema, stages
from pipeline.errors import InputError

SQL_DIR = Path(schema.__file__).with_name("sql")


def test_every_stage_names_a_runner_and_its_section_builds_from_defaults():
    assert stages.names() == ["fetch", "ingest", "benchmarks", "train", "presence", "predictor", "transfer"]
    for s in stages.STAGES:
        assert callable(importlib.import_module(s.runner).run), s.name
    assert stages.sections() == ["fetch", "ingest", "benchmarks", "train", "presence", "predictor"]  # transfer: none
    for name in stages.sections():
        assert config.section(config.section_class(name), {}, name) is not None


def test_every_sql_file_belongs_to_exactly_one_stage_or_the_core():
    files = sorted(p.name for p in SQL_DIR.glob("*.sql"))
    named = [f for s in stages.STAGES for f in s.sql]
    assert sorted(named) == sorted(set(named)), "a file named by two stages"
    assert sorted([stages.CORE_SQL, *named]) == files
    assert [owner for owner, *_ in schema.sql_files()] == [stages.owner(f) for f in files]
    with pytest.raises(KeyError, match="no stage"):
        stages.owner("60_new.sql")


def test_transfer_owns_its_tables_and_claims_only_its_own_skip_rows():
    assert set(schema.owned_tables("transfer")) == {"transfer_agreement", "transfer_predictions", "transfer_lineage"}
    assert not set(schema.owned_tables("transfer")) & set(schema.owned_tables("predictor"))
    assert "skipped_analyses" in schema.owned_tables("predictor")
    rows = {t: where for s, _, claims, _ in schema.sql_files() if s == "transfer" for t, where in claims.items()}
    assert rows == {"skipped_analyses": "analysis = 'transfer'"}


def test_stages_run_in_registry_order_and_unknown_names_are_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"stages": ["transfer", "predictor", "ingest"]}))
    cfg = config.load(path)
    assert run.select_stages(cfg, None) == ["ingest", "predictor", "transfer"]
    assert run.select_stages(cfg, "transfer,ingest") == ["ingest", "transfer"]
    with pytest.raises(InputError, match="unknown stage 'transfr'.*predictor, transfer"):
        run.select_stages(cfg, "transfr")
    path.write_text(yaml.safe_dump({"stages": ["ingest", "report"]}))
    with pytest.raises(InputError, match="unknown stage 'report' in 'stages'"):
        run.select_stages(config.load(path), None)


def test_a_section_for_a_stage_without_settings_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"stages": ["ingest", "predictor", "transfer"], "transfer": {"x": 1}}))
    with pytest.raises(InputError, match="unknown top-level key 'transfer'"):
        config.load(path)


@pytest.mark.parametrize("name", ["default.yaml", "serve.yaml", "report.yaml", "quick.yaml", "smoke.yaml",
                                  "paper.yaml", "real-cpu.yaml"])
def test_every_shipped_config_that_runs_the_predictor_runs_transfer_after_it(root, name):
    cfg = config.load(root / "configs" / name)
    chosen = run.select_stages(cfg, None)
    assert chosen[-2:] == ["predictor", "transfer"]
    assert config.PipelineConfig().stages == ["ingest", "predictor", "transfer"]  # a config without 'stages'
