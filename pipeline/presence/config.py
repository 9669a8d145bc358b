"""The ``presence:`` config section (one dataclass, read with ``ctx.section(PresenceConfig, "presence")``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config import check_rm_sources
from pipeline.errors import InputError

SLIMPAJAMA_SUBSETS = ["RedPajamaGithub", "RedPajamaBook", "RedPajamaArXiv", "RedPajamaWikipedia",
                      "RedPajamaStackExchange"]
NORMALISATIONS = ("scored", "N")
COMPILE_MODES = ("none", "head", "all")  # also true (= all) and false (= none)


def compile_mode(value) -> str:
    """``compile`` setting as one of COMPILE_MODES (``true`` = all, ``false`` = none)."""
    mode = {False: "none", True: "all"}.get(value, value) if isinstance(value, bool) else value
    if mode not in COMPILE_MODES:
        raise ValueError(f"presence.compile {value!r} unknown. Fix: use one of {', '.join(COMPILE_MODES)} "
                         "(true = all, false = none)")
    return mode


@dataclass
class PresenceConfig:
    # Models to score, Hugging Face ids or local directories ("tiny:llama" / "tiny:qwen2": the project's
    # tiny random models, built under work_dir/presence/tiny_models; {id, params_b} sizes a model for --plan).
    # The first one is the ground-truth reference
    # (paper: LLM360/Crystal, which saw all of SlimPajama once); plots and the JSD heatmap show it first.
    models: list[str | dict] = field(default_factory=list)
    # Corpus: "hub" streams `dataset` (SlimPajama schema: text + meta.redpajama_set_name); "local" reads
    # `files` (JSONL / JSONL.gz / Parquet in the same schema); "fixture" writes and reads the small built-in
    # corpus (pipeline/presence/fixtures.py). Deterministic for a given `seed`.
    source: str = "local"
    dataset: str = "cerebras/SlimPajama-627B"
    split: str = "train"
    files: list[str] = field(default_factory=list)
    subsets: list[str] = field(default_factory=lambda: list(SLIMPAJAMA_SUBSETS))
    docs_per_subset: int = 200_000
    seed: int = 0
    shard_docs: int = 10_000  # documents per corpus / score shard (the unit of resume and of --shard)
    stream_buffer: int = 10_000  # hub streaming shuffle buffer
    # Scoring (eq. 10).
    max_tokens: int = 2048  # N: only the first N tokens of each document are scored
    normalise: str = "scored"  # "scored": divide by the tokens actually scored; "N": divide by N (eq. 10 literally)
    batch_tokens: int | None = None  # padded tokens per forward pass; None: 32768 on GPU, 4096 on CPU
    head_chunk_tokens: int = 16_384  # LM head applied to at most this many valid positions at a time
    dtype: str = "auto"  # auto = bfloat16 on GPU and AMX CPUs, else float32; or float32 / bfloat16 / float16
    device: str = "auto"  # auto = cuda when available
    attn_implementation: str = "sdpa"
    pass_attention_mask: bool = False  # right padding + causal attention is exact without a mask (flash SDPA)
    # torch.compile: false/"none"; "head" = the LM-head log-probabilities only (seconds of compile);
    # true/"all" = also the backbone (dynamic shapes): minutes of compile per model on GPU; on CPU each
    # decoder layer, seconds. On CPU both run the LM head as one C++ op (kernels.py, built once, ~20 s)
    compile: bool | str = False
    pack: bool = False  # share rows between documents (position_ids restart) instead of padding each one
    row_tokens: int = 4096  # row length when packing (a longer document gets a row of its own)
    trust_remote_code: list[str] = field(default_factory=list)  # models allowed to run their own code
    # Sequential scoring (pipeline/presence/sequential.py): rounds over a growing prefix of the corpus's
    # stratified random order, the same documents for every model; after each round, bootstrap intervals
    # for every published mean, histogram bin and JSD; stop when each half-width (JSD: + |bias|) is within
    # its tolerance, or at the cap (the whole corpus: docs_per_subset). false: one round, the whole corpus.
    sequential: bool = True
    tol_jsd: float = 0.01  # Jensen-Shannon distance (base jsd_base)
    tol_mean: float = 0.02  # nats/token: per-subset means = the presence features
    tol_hist: float = 0.01  # probability mass of one histogram bin
    ci_alpha: float = 0.05  # split over max_rounds looks (Bonferroni): each round's level is 1 - ci_alpha/max_rounds
    max_rounds: int = 6  # the last allowed round is the whole corpus
    min_docs_per_subset: int = 2000  # the first round (and so the smallest sample any estimate rests on)
    n_boot: int = 200  # bootstrap replicates per round
    round_wait_s: float = 0.0  # --shard jobs: wait this long for the other jobs' shards of a round, then leave
    # Analysis.
    family_rule: bool = True  # reuse the largest same-family, same-token-count member's distribution
    bins: int = 100  # shared histogram bins for the JSD and the plotted distributions
    hist_tail: float = 0.001  # bins span the pooled hist_tail..1-hist_tail quantiles (0: min..max); beyond: end bins
    jsd_base: float = 2.0  # log base of the Jensen-Shannon distance (2: bounded by 1)
    regression_features: list[str] = field(default_factory=list)  # empty: the predictor's defaults
    regression_rm_sources: list[str] = field(default_factory=lambda: ["paper", "pipeline"])  # targets, preferred first
    regression_min_models: int = 12  # fewer models with both presence scores and RM results: not run

    def check(self, file: str = "config") -> "PresenceConfig":
        if not self.models:
            raise InputError(file, "presence.models is empty", "list at least one model (reference first)",
                             field="presence.models")
        if self.source not in ("hub", "local", "fixture"):
            raise InputError(file, f"unknown presence.source {self.source!r}", "use 'hub', 'local' or 'fixture'",
                             field="presence.source")
        if self.source == "local" and not self.files:
            raise InputError(file, "presence.source is 'local' but presence.files is empty",
                             "list JSONL/Parquet files in SlimPajama schema, or set source: hub",
                             field="presence.files")
        if self.normalise not in NORMALISATIONS:
            raise InputError(file, f"unknown presence.normalise {self.normalise!r}",
                             f"use one of {', '.join(NORMALISATIONS)}", field="presence.normalise")
        if not (isinstance(self.compile, bool) or self.compile in COMPILE_MODES):
            raise InputError(file, f"unknown presence.compile {self.compile!r}",
                             "use false, head or true (= all)", field="presence.compile")
        check_rm_sources(self.regression_rm_sources, file, "presence.regression_rm_sources")
        if self.pack and self.pass_attention_mask:
            raise InputError(file, "presence.pack and presence.pass_attention_mask are both set",
                             "packed rows are masked from their position_ids: set pass_attention_mask: false",
                             field="presence.pack")
        for key in ("docs_per_subset", "shard_docs", "max_tokens", "head_chunk_tokens", "bins", "row_tokens",
                    *(["batch_tokens"] if self.batch_tokens is not None else [])):
            if int(getattr(self, key)) < 1:
                raise InputError(file, f"presence.{key} must be >= 1, got {getattr(self, key)}",
                                 "use a positive integer", field=f"presence.{key}")
        for key in ("max_rounds", "min_docs_per_subset", "n_boot"):
            if int(getattr(self, key)) < (2 if key == "n_boot" else 1):
                raise InputError(file, f"presence.{key} must be >= {2 if key == 'n_boot' else 1}, got "
                                 f"{getattr(self, key)}", "use a positive integer", field=f"presence.{key}")
        for key in ("tol_jsd", "tol_mean", "tol_hist"):
            if not float(getattr(self, key)) > 0:
                raise InputError(file, f"presence.{key} must be > 0, got {getattr(self, key)}",
                                 "give the half-width the estimates must reach, e.g. tol_jsd: 0.01",
                                 field=f"presence.{key}")
        if not 0 < float(self.ci_alpha) < 1 or not 0 <= float(self.hist_tail) < 0.5:
            bad = "ci_alpha" if not 0 < float(self.ci_alpha) < 1 else "hist_tail"
            raise InputError(file, f"presence.{bad} out of range ({getattr(self, bad)})",
                             "ci_alpha in (0, 1), e.g. 0.05; hist_tail in [0, 0.5), e.g. 0.001",
                             field=f"presence.{bad}")
        ids = [m["id"] for m in self.specs(file)]
        if len(set(ids)) != len(ids):
            raise InputError(file, "presence.models lists a model twice", "remove the duplicate",
                             field="presence.models")
        return self

    def specs(self, file: str = "config") -> list[dict]:
        """Each model as {id, path, tiny, trust_remote_code}, in the configured order."""
        out = []
        for row, m in enumerate(self.models, 1):
            if isinstance(m, str):
                m = {"id": m, "tiny": m[5:] if m.startswith("tiny:") else None}
            if not isinstance(m, dict) or not m.get("id"):
                raise InputError(file, f"model entry {m!r} has no id", "write a hub id, or {id: NAME, path: DIR}",
                                 row=row, field="presence.models")
            unknown = set(m) - {"id", "path", "tiny", "trust_remote_code", "params_b"}
            if unknown:
                raise InputError(file, f"unknown key(s) {sorted(unknown)} in model {m['id']!r}",
                                 "use id, path, tiny, trust_remote_code, params_b", row=row, field="presence.models")
            out.append({"id": str(m["id"]), "path": m.get("path"), "tiny": m.get("tiny"), "params_b": m.get("params_b"),
                        "trust_remote_code": bool(m.get("trust_remote_code")) or m["id"] in self.trust_remote_code})
        return out

    def rule(self):
        """The stopping rule's settings (sequential.RuleConfig)."""
        from pipeline.presence.sequential import RuleConfig

        return RuleConfig(tol_jsd=self.tol_jsd, tol_mean=self.tol_mean, tol_hist=self.tol_hist, alpha=self.ci_alpha,
                          max_rounds=self.max_rounds if self.sequential else 1,
                          min_docs_per_subset=self.min_docs_per_subset, n_boot=self.n_boot, bins=self.bins,
                          tail=self.hist_tail, base=self.jsd_base, seed=self.seed)

    @property
    def model_ids(self) -> list[str]:
        return [m["id"] for m in self.specs()]
