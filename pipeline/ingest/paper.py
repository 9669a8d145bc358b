"""The paper's tables (data/paper/): models (Table 3), RewardBench results (Tables 4-5), post-training
(Table 1) and the benchmark list (Table 2)."""

from __future__ import annotations

import csv
from pathlib import Path

from advisor.core import registry
from advisor.core.names import ModelResolver, publisher
from pipeline import schema
from pipeline.errors import InputError
from pipeline.ingest.common import add_source, read_table, unknown_model

PAPER = "A Systematic Analysis of Base Model Choice for Reward Modeling (Ahrabian et al.)"
CATEGORIES = list(registry.RM_COLUMNS)
RM_FILES = {"regression": ("rewardbench_regression.csv", "Table 4"),
            "bradley_terry": ("rewardbench_bradley_terry.csv", "Table 5")}


def load_aliases(data_dir: Path) -> dict[str, str]:
    path = data_dir / "model_aliases.csv"
    with path.open(newline="") as fh:
        return {r["name"]: r["hf_id"] for r in csv.DictReader(fh)}


def ingest_models(con, data_dir: Path) -> ModelResolver:
    path = data_dir / "paper" / "models.csv"
    df = read_table(path, ["model", "hf_id", "publisher", "family", "release_month", "params_b",
                           "downloads_feb2025", "likes", "pretrain_tokens_t", "size_group"],
                    numeric=["params_b", "downloads_feb2025", "likes", "pretrain_tokens_t"])
    seen, rows = set(), []
    for i, r in df.iterrows():
        if "/" not in r["hf_id"]:
            raise InputError(path, f"{r['hf_id']!r} is not a Hugging Face id", "write it as org/name",
                             row=i + 2, field="hf_id")
        if r["hf_id"] in seen:
            raise InputError(path, f"duplicate model {r['hf_id']!r}", "keep one row per model", row=i + 2,
                             field="hf_id")
        if r["size_group"] not in registry.SIZE_GROUPS:
            raise InputError(path, f"size group {r['size_group']!r}", f"use one of {list(registry.SIZE_GROUPS)}",
                             row=i + 2, field="size_group")
        seen.add(r["hf_id"])
        rows.append({"hf_id": r["hf_id"], "display_name": r["model"], "publisher": publisher(r["publisher"]),
                     "family": r["family"], "params_b": r["params_b"], "pretrain_tokens_t": r["pretrain_tokens_t"],
                     "release": r["release_month"], "size_group": r["size_group"],
                     "downloads_feb2025": int(r["downloads_feb2025"]), "likes": int(r["likes"]),
                     "in_paper": True, "source": "paper"})
    schema.insert(con, "models", rows)
    add_source(con, "paper_models", path, PAPER + ", Table 3", "paper", "the 40 chat models", len(df))
    return ModelResolver(df["hf_id"], load_aliases(data_dir))


def ingest_rm_results(con, data_dir: Path, resolver: ModelResolver) -> None:
    for method, (name, table) in RM_FILES.items():
        path = data_dir / "paper" / name
        df = read_table(path, ["model", *CATEGORIES], numeric=CATEGORIES,
                        ranges={c: (0, 100) for c in CATEGORIES}, range_fix="write RewardBench accuracy in percent")
        rows = []
        for i, r in df.iterrows():
            hf_id = resolver.resolve(r["model"])
            if hf_id is None:
                raise unknown_model(path, r["model"], i + 2)
            rows.append({"hf_id": hf_id, "method": method, **{c: r[c] for c in CATEGORIES}, "source": "paper",
                         "config": f'{{"paper_table": "{table}"}}'})
        schema.insert(con, "rm_results", rows)
        add_source(con, f"paper_rm_{method}", path, f"{PAPER}, {table}", "paper",
                   f"RewardBench results of {method} RMs on the 40 models", len(df))


def ingest_post_training(con, data_dir: Path, resolver: ModelResolver) -> None:
    path = data_dir / "paper" / "post_training.csv"
    df = read_table(path, ["model", "stage", *CATEGORIES], numeric=CATEGORIES)
    wide = ModelResolver(set(resolver.hf_ids) | set(load_aliases(data_dir).values()), load_aliases(data_dir))
    rows = []
    for i, r in df.iterrows():
        hf_id = wide.resolve(r["model"])
        if hf_id is None:
            raise unknown_model(path, r["model"], i + 2)
        rows.append({"model": r["model"], "hf_id": hf_id, "stage": r["stage"], **{c: r[c] for c in CATEGORIES}})
    schema.insert(con, "post_training", rows)
    add_source(con, "paper_post_training", path, f"{PAPER}, Table 1", "paper",
               "Llama-3.1-8B base vs post-trained variants (regression RMs)", len(df))


# Table 2 rows that lm-eval runs as a tag or group of registry subtasks (lm-eval 0.4.13 task YAMLs), and
# the row whose group the registry stores under its lm-eval group name.
TABLE2_SUBTASKS = {"anli": ("anli_r1", "anli_r2", "anli_r3"), "ai2_arc": ("arc_challenge",),
                   "qasper": ("qasper_bool", "qasper_freeform"), "leaderboard_math": ("leaderboard_math_hard",)}


def ingest_benchmarks(con, data_dir: Path) -> None:
    path = data_dir / "paper" / "benchmarks.csv"
    df = read_table(path, ["framework", "task", "topic", "shots", "reported_by"])
    table2 = {registry.normalize_label(t) for t in df["task"]}
    table2 |= {registry.normalize_label(sub) for t in df["task"] for sub in TABLE2_SUBTASKS.get(t, ())}
    rows = []
    for b in registry.benchmarks().values():
        in_t2 = registry.normalize_label(b.task) in table2 or registry.normalize_label(b.display_name) in table2
        rows.append({"name": b.name, "display_name": b.display_name, "group": b.group, "topic": b.topic,
                     "harness": b.harness, "task": b.task, "metric": b.metric, "scale": b.native_scale,
                     "higher_is_better": b.higher_is_better, "fewshot": b.fewshot,
                     "aliases": "|".join(b.aliases), "in_paper_table2": in_t2})
    schema.insert(con, "benchmarks", rows)
    add_source(con, "paper_benchmarks", path, f"{PAPER}, Table 2", "paper",
               "the 33 benchmarks of the paper (in_paper_table2 flag of the benchmarks table)", len(df))
