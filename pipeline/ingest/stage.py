"""Stage `ingest`: every shipped data file into the database, then any user results files."""

from __future__ import annotations

from dataclasses import field
from typing import Literal

from advisor.core.registry import METHODS
from pipeline.config import config_dataclass
from pipeline.ingest import (
    evalplus,
    external,
    lineages,
    lmeval_csv,
    lmeval_json,
    oll_v1,
    oll_v2,
    paper,
    rewardbench_lb,
    user_rm,
)


@config_dataclass
class IngestConfig:
    # Rule for the four models with two Open LLM Leaderboard v2 submissions (see pipeline/ingest/oll_v2.py)
    oll_v2_duplicate_rule: Literal[oll_v2.RULES] = "prefer_bfloat16"
    # Files given on the command line (paths as given, relative to the working directory), kept under
    # work_dir so later rebuilds keep them: --results / --model (lm-eval or EvalPlus results, the model
    # they belong to when the file does not name it) and --rm-results / --method / --base (a team's own
    # RewardBench results, how that RM was trained, its base model when the file does not name it).
    results: list[str] = field(default_factory=list)
    model: str | None = None
    rm_results: list[str] = field(default_factory=list)
    method: Literal[METHODS] | None = None
    base: str | None = None


def run(ctx) -> None:
    cfg: IngestConfig = ctx.section("ingest")
    data_dir = ctx.data_dir
    resolver = paper.ingest_models(ctx.con, data_dir)
    paper.ingest_benchmarks(ctx.con, data_dir)
    paper.ingest_rm_results(ctx.con, data_dir, resolver)
    paper.ingest_post_training(ctx.con, data_dir, resolver)
    ctx.log(f"  paper tables: {len(resolver.hf_ids)} models, both RewardBench tables, Table 1")
    ctx.log(f"  lineages: {lineages.ingest(ctx.con, data_dir)} models (data/lineages.csv)")
    kept = oll_v2.ingest_raw(ctx.con, data_dir, resolver, cfg.oll_v2_duplicate_rule)
    oll_v2.ingest_final(ctx.con, data_dir, resolver, kept)
    ctx.log(f"  Open LLM Leaderboard v2: {len(kept)} models raw + normalized, 4,576-model table")
    ctx.log(f"  Open LLM Leaderboard v1: {oll_v1.ingest(ctx.con, data_dir, resolver)} models")
    ctx.log(f"  EvalPlus: {evalplus.ingest(ctx.con, data_dir, resolver)} models")
    ctx.log(f"  lm-eval 19 tasks: {lmeval_csv.ingest(ctx.con, data_dir, resolver)} models")
    ctx.log(f"  RewardBench leaderboard: {rewardbench_lb.ingest(ctx.con, data_dir)} rows")
    lmeval_json.ingest_results(ctx, cfg.results, cfg.model)  # --results files (kept in work_dir/results), lm-eval runs
    ctx.log(f"  external RM groups (evaluation only): {external.ingest(ctx.con, data_dir)} rows")
    user_rm.ingest(ctx, cfg.rm_results, cfg.method, cfg.base)  # --rm-results files, kept under work_dir/rm_results
