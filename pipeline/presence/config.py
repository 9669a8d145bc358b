"""The ``presence:`` config section, validated by ``pipeline.config.load``; the stage reads it with
``ctx.section("presence")``. Models are ``pipeline.models.ModelSpec`` entries; the rest is in sections:
``corpus`` (CorpusConfig), ``scoring`` (ScoringConfig), ``sequential`` (``sequential.RuleConfig`` itself: the
bootstrap and the stopping rule), ``analysis`` (AnalysisConfig); ``round_wait_s`` and ``shard`` belong to the
job. The keys of the flat section before (``tol_jsd:``, ``max_tokens:``, ...) are refused naming their place
(``PresenceConfig.RENAMED``). docs/presence.md, "Config keys"."""

from __future__ import annotations

import re
from dataclasses import field, fields, replace
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator

from pipeline.config import Positive, RMSources, Seconds, config_dataclass
from pipeline.errors import InputError
from pipeline.models import ModelEntry, check_models
from pipeline.presence.sequential import RuleConfig
from pipeline.runtime import Device, DType

SLIMPAJAMA_SUBSETS = ["RedPajamaGithub", "RedPajamaBook", "RedPajamaArXiv", "RedPajamaWikipedia",
                      "RedPajamaStackExchange"]
NORMALISATIONS = ("scored", "N")
COMPILE_MODES = ("none", "head", "all")  # also true (= all) and false (= none)
SOURCES = ("hub", "local", "fixture")


def compile_mode(value) -> str:
    """``compile`` setting as one of COMPILE_MODES (``true`` = all, ``false`` = none)."""
    mode = {False: "none", True: "all"}.get(value, value) if isinstance(value, bool) else value
    if mode not in COMPILE_MODES:
        raise ValueError(f"presence.scoring.compile {value!r} unknown. Fix: use one of {', '.join(COMPILE_MODES)} "
                         "(true = all, false = none)")
    return mode


def parse_shard(arg: str | None) -> tuple[int, int]:
    """``'i/n'`` -> (i, n) with 0 <= i < n; None -> (0, 1): the whole corpus."""
    if not arg:
        return 0, 1
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(arg))
    if not m or int(m.group(2)) < 1 or not int(m.group(1)) < int(m.group(2)):
        raise InputError("", f"bad shard {arg!r}", "use i/n with 0 <= i < n, e.g. --shard 0/8")
    return int(m.group(1)), int(m.group(2))


def _shard(value: str) -> str:
    parse_shard(value)
    return value


Shard = Annotated[str, AfterValidator(_shard)]  # "i/n": this job scores document shards with index % n == i


@config_dataclass
class CorpusConfig:
    """``presence.corpus``: where the documents come from and how the sample is stored. "hub" streams
    ``dataset`` (SlimPajama schema: text + meta.redpajama_set_name); "local" reads ``files`` (JSONL / JSONL.gz
    / Parquet in the same schema); "fixture" writes and reads the small built-in corpus
    (pipeline/presence/fixtures.py). Deterministic for a given ``seed``."""
    source: Literal[SOURCES] = "local"
    dataset: str = "cerebras/SlimPajama-627B"
    split: str = "train"
    files: list[str] = field(default_factory=list)
    subsets: list[str] = field(default_factory=lambda: list(SLIMPAJAMA_SUBSETS))
    docs_per_subset: Positive = 200_000
    seed: int = 0  # the document sample and its stored order
    shard_docs: Positive = 10_000  # documents per corpus / score shard (the unit of resume and of --shard)
    stream_buffer: Positive = 10_000  # hub streaming shuffle buffer


@config_dataclass
class ScoringConfig:
    """``presence.scoring``: eq. 10 and how the scorer runs."""
    max_tokens: Positive = 2048  # N: only the first N tokens of each document are scored
    # "scored": divide by the tokens actually scored; "N": divide by N (eq. 10 literally)
    normalise: Literal[NORMALISATIONS] = "scored"
    batch_tokens: Positive | None = None  # padded tokens per forward pass; None: 32768 on GPU, 4096 on CPU
    head_chunk_tokens: Positive = 16_384  # LM head applied to at most this many valid positions at a time
    dtype: DType = "auto"  # auto = bf16 on GPU and AMX CPUs, else float32 (pipeline.runtime); a model's dtype wins
    device: Device = "auto"  # auto = cuda when available
    attn_implementation: str = "sdpa"
    pass_attention_mask: bool = False  # right padding + causal attention is exact without a mask (flash SDPA)
    # torch.compile: false/"none"; "head" = the LM-head log-probabilities only (seconds of compile);
    # true/"all" = also the backbone (dynamic shapes): minutes of compile per model on GPU; on CPU each
    # decoder layer, seconds. On CPU both run the LM head as one C++ op (kernels.py, built once, ~20 s)
    compile: bool | Literal[COMPILE_MODES] = False
    pack: bool = False  # share rows between documents (position_ids restart) instead of padding each one
    row_tokens: Positive = 4096  # row length when packing (a longer document gets a row of its own)


@config_dataclass
class AnalysisConfig:
    """``presence.analysis``: the family rule and the paper's regression experiment."""
    family_rule: bool = True  # reuse the largest same-family, same-token-count member's distribution
    regression_features: list[str] = field(default_factory=list)  # empty: the predictor's defaults
    regression_rm_sources: RMSources = field(default_factory=lambda: ["paper", "pipeline"])  # targets, preferred first
    regression_min_models: int = 12  # fewer models with both presence scores and RM results: not run


def _not_the_old_switch(value):
    if isinstance(value, bool):
        raise InputError("", f"sequential: {str(value).lower()} is the old switch; sequential is a section now "
                         "(pipeline/presence/sequential.py: RuleConfig)",
                         "leave it out for rounds (the old true), or write 'sequential: {max_rounds: 1}' for one "
                         "round over the whole corpus (the old false)")
    return value


@config_dataclass
class PresenceConfig:
    # Models to score (pipeline.models.ModelSpec: hub ids, {id, path}, "tiny:llama" / {id, tiny: qwen2}: the
    # project's tiny random models, built under work_dir/models; {id, params_b} sizes a model for --plan).
    # The first one is the ground-truth reference
    # (paper: LLM360/Crystal, which saw all of SlimPajama once); plots and the JSD heatmap show it first.
    models: list[ModelEntry] = field(default_factory=list)
    trust_remote_code: list[str] = field(default_factory=list)  # models allowed to run their own code
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    # Sequential scoring (pipeline/presence/sequential.py, its RuleConfig): rounds over a growing prefix of
    # the corpus's stratified random order, the same documents for every model; after each round, bootstrap
    # intervals for every published mean, histogram bin and JSD; stop when each half-width (JSD: + |bias|)
    # is within its tolerance, or at the cap (the whole corpus). max_rounds: 1: one round, the whole corpus.
    # Its bins, tail and base are also those of the published histograms and JSD.
    sequential: Annotated[RuleConfig, BeforeValidator(_not_the_old_switch)] = field(default_factory=RuleConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    round_wait_s: Seconds = 0.0  # --shard jobs: wait this long for the other jobs' shards of a round, then leave
    shard: Shard | None = None  # --shard i/n: this job scores document shards with index % n == i

    # where each key of the flat section before the nested one lives now (an old key is refused, naming it)
    RENAMED: ClassVar[dict] = {
        **{f.name: f"sequential.{f.name}" for f in fields(RuleConfig)},
        "ci_alpha": "sequential.alpha", "hist_tail": "sequential.tail", "jsd_base": "sequential.base",
        **{f.name: f"{name}.{f.name}" for name, cls in (("scoring", ScoringConfig), ("analysis", AnalysisConfig),
                                                        ("corpus", CorpusConfig)) for f in fields(cls)}}

    def check(self, file: str = "config") -> PresenceConfig:
        """Rules across fields (types and ranges are checked from the annotations)."""
        if not self.models:
            raise InputError(file, "presence.models is empty", "list at least one model (reference first)",
                             field="presence.models")
        if self.corpus.source == "local" and not self.corpus.files:
            raise InputError(file, "presence.corpus.source is 'local' but presence.corpus.files is empty",
                             "list JSONL/Parquet files in SlimPajama schema, or set source: hub",
                             field="presence.corpus.files")
        if self.scoring.pack and self.scoring.pass_attention_mask:
            raise InputError(file, "presence.scoring.pack and presence.scoring.pass_attention_mask are both set",
                             "packed rows are masked from their position_ids: set pass_attention_mask: false",
                             field="presence.scoring.pack")
        check_models(self.models, file, "presence", unused=("max_length", "per_device_batch_size"))
        # the section's trust_remote_code list is shorthand for the flag on those models' entries
        self.models = [replace(m, trust_remote_code=m.id in self.trust_remote_code) if m.id in self.trust_remote_code
                       else m for m in self.models]
        return self

    @property
    def model_ids(self) -> list[str]:
        return [m.id for m in self.models]
