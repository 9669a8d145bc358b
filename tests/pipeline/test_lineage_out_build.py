"""Issue 27, item 1: any lineage can go missing and the build still publishes.

Leave-one-lineage-out through the product's front door, for each of the lineages of data/lineages.csv:
its models' rows are deleted from copies of the paper's two RewardBench tables, the pipeline builds
(ingest, predictor, transfer; a reduced CV protocol keeps each build to seconds), and ``python -m advisor
rank --pick`` predicts the held-out models with both methods. Removing Alibaba once made the served
Bradley-Terry spec need pre-training tokens, which the transfer analysis's external bases lack, and its
imputation went below zero, where log(tokens) does not exist (``ValueError: ... 'log_pretrain_tokens_t' is
missing``): only gains and Table 1 may be skipped (they need the Meta lineage's Llama rows).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from advisor import cli
from pipeline import run as pipeline_run
from tests.pipeline.predictor.test_analysis_guard import config, query

ROOT = Path(__file__).resolve().parents[2]
LINEAGES = sorted(pd.read_csv(ROOT / "data" / "lineages.csv").lineage.unique())
NEED_META = {"gains", "post_training_deltas"}  # the Llama baseline and Table 1's base are Meta's


def held_out_data(tmp, lineage: str) -> tuple[Path, list[str]]:
    """A copy of data/ without ``lineage``'s RewardBench rows, and the held-out models' hub ids."""
    data = tmp / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("*.duckdb*", "predictor"))
    models = pd.read_csv(data / "paper" / "models.csv").merge(pd.read_csv(data / "lineages.csv"), on="hf_id")
    out = models[models.lineage == lineage]
    for f in ("rewardbench_regression.csv", "rewardbench_bradley_terry.csv"):
        t = pd.read_csv(data / "paper" / f)
        t[~t.model.isin(out.model)].to_csv(data / "paper" / f, index=False)
    return data, list(out.hf_id)


@pytest.mark.slow
@pytest.mark.parametrize("lineage", LINEAGES)
def test_without_a_lineage_the_build_publishes_and_rank_predicts_its_models(lineage, tmp_path, capsys):
    data, held_out = held_out_data(tmp_path, lineage)
    assert held_out
    cfg = config(tmp_path, data, scales=["normalized"])
    assert pipeline_run.main(["--config", str(cfg)]) == 0
    db = tmp_path / "advisor.duckdb"
    skipped = query(db, "SELECT * FROM skipped_analyses")
    allowed = NEED_META if lineage == "Meta" else set()
    assert set(skipped.analysis) <= allowed, skipped.to_dict("records")
    assert len(query(db, "SELECT * FROM transfer_predictions")) > 0
    for method in ("regression", "bradley_terry"):
        capsys.readouterr()
        assert cli.main(["rank", "--db", str(db), "--pick", ",".join(held_out), "--method", method]) == 0
        out = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
        assert sorted(out.hf_id) == sorted(held_out)
        assert out.prediction.notna().all() and out.prediction.between(0, 100).all()
