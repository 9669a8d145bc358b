"""Stage `ingest`: every shipped data file into the database, then any user results files."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.ingest import (evalplus, external, lineages, lmeval_csv, lmeval_json, oll_v1, oll_v2,
                             paper, rewardbench_lb, user_rm)


@dataclass
class IngestConfig:
    # Rule for the four models with two Open LLM Leaderboard v2 submissions (see pipeline/ingest/oll_v2.py):
    # prefer_bfloat16 | prefer_float16 | max_average
    oll_v2_duplicate_rule: str = "prefer_bfloat16"


def run(ctx) -> None:
    cfg = ctx.section(IngestConfig, "ingest")
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
    lmeval_json.ingest_results(ctx)  # --results files, kept under work_dir/results, and lm-eval runs
    ctx.log(f"  external RM groups (evaluation only): {external.ingest(ctx.con, data_dir)} rows")
    user_rm.ingest(ctx)  # --rm-results files, kept under work_dir/rm_results (rm_results.source = 'user')
