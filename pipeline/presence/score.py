"""The presence score (paper eq. 10): mean log-probability of a document's first N tokens.

S(D, N) = (1/n) * sum_{i=1..n} log p(t_i | t_<i), over the first n = min(len(D), N) tokens of D.
The document is tokenised without special tokens and the model's BOS token is put in front, so that the
first document token is scored too; a tokenizer without BOS (e.g. Qwen) uses the first token as context
only (n = min(len, N) - 1). ``normalise="scored"`` divides by the tokens actually scored (documents
shorter than N get their mean log-probability); ``normalise="N"`` divides by N as eq. 10 is written.

Fast path (``PresenceScorer``): documents sorted by length, cut into batches of at most ``batch_tokens``
padded tokens, right padded; the backbone runs without an attention mask, because with right padding a
causal mask alone is exact for every real position (and lets SDPA use its flash kernel); the LM head is
applied only to positions that predict a real token, ``head_chunk_tokens`` at a time, and the
per-token cross-entropy (``reduction="none"``) is taken in float32 chunk by chunk, so no full-vocabulary
float32 log-softmax of a whole batch ever exists. On CPU with ``compile`` the LM head and the
log-softmax are one C++ op over vocabulary blocks (``kernels.py``, ``cpu_head.cpp``): no chunk's logits
are written out at all. With ``pack=True`` several documents share a row of
``row_tokens`` tokens (best fit, longest first) and restart their ``position_ids``: transformers then masks
attention block-diagonally (SDPA, eager, flex) or runs varlen kernels (flash-attention), so nothing is
padded but each row's tail. The reference path (``naive_scores``) is the obvious loop: one document at a
time, float32, full log-softmax over the full logits.
"""

from __future__ import annotations

import bisect
import functools
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from pipeline import runtime
from pipeline.presence.config import compile_mode


@functools.cache
def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed blocks of up to 32 MiB in the heap for reuse; True if it took.

    By default glibc serves large blocks (activations of a 4k-token batch, 5-50 MB) with a fresh mmap and
    gives them back when freed, so every layer of every batch page-faults its activations in again: on
    the bench's SmolLM2-135M that costs a quarter of the backbone's time on 2 cores. Raising the mmap and
    trim thresholds (and padding heap growth) keeps that memory in the process; it is process-wide, costs
    at most the peak activations held, and is a no-op where the C library has no ``mallopt`` (not glibc).
    Cached: the setting is made once per process."""
    import ctypes
    import platform

    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc's <malloc.h>
    try:
        mallopt = ctypes.CDLL(None).mallopt if platform.system() == "Linux" else None
    except (OSError, AttributeError):
        mallopt = None
    return bool(mallopt and mallopt(M_MMAP_THRESHOLD, 2**25) == 1 and mallopt(M_TRIM_THRESHOLD, 2**30) == 1
                and mallopt(M_TOP_PAD, 2**26) == 1)


def load_model(name: str, device="auto", dtype="auto", attn_implementation="sdpa", trust_remote_code=False,
               revision: str | None = None):
    """(model, tokenizer) in eval mode on ``device``; ``name`` a hub id or a local directory. ``device`` and
    ``dtype`` are config values, resolved by pipeline.runtime (auto dtype: bf16 on GPUs and AMX CPUs)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dev = torch.device(runtime.resolve_device(device, "presence.scoring.device"))
    tok = AutoTokenizer.from_pretrained(name, revision=revision, trust_remote_code=trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(
        name, dtype=runtime.resolve_dtype(dtype, dev, cpu_bf16=True, field="presence.scoring.dtype"), revision=revision,
        attn_implementation=attn_implementation, trust_remote_code=trust_remote_code)
    return model.to(dev).eval(), tok


def encode(tokenizer, texts, max_tokens: int) -> list[list[int]]:
    """Token ids per document: [BOS] + first ``max_tokens`` tokens (no BOS: the first tokens only)."""
    bos = tokenizer.bos_token_id
    enc = tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    return [([bos] + ids[:max_tokens]) if bos is not None else ids[:max_tokens] for ids in enc]


def finish(sums: np.ndarray, counts: np.ndarray, normalise: str, max_tokens: int) -> np.ndarray:
    """Scores from summed log-probabilities and scored-token counts (NaN where nothing was scored)."""
    denom = counts.astype(np.float64) if normalise == "scored" else np.full(len(counts), float(max_tokens))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / denom, np.nan)


def make_batches(lengths, batch_tokens: int, pad_multiple: int = 8) -> list[list[int]]:
    """Index batches, longest documents first, each with rows * padded_len <= batch_tokens (>= 1 row)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches, cur, cur_len = [], [], 0
    for i in order:
        width = _padded(max(cur_len, lengths[i]), pad_multiple)
        if cur and width * (len(cur) + 1) > batch_tokens:
            batches.append(cur)
            cur, cur_len = [], 0
        cur.append(i)
        cur_len = max(cur_len, lengths[i])
    if cur:
        batches.append(cur)
    return batches


def make_packs(lengths, row_tokens: int, batch_tokens: int, pad_multiple: int = 8) -> list[list[list[int]]]:
    """Batches of rows of document indices. Each row's lengths sum to <= ``row_tokens`` (best fit, longest
    documents first; a longer document gets a row of its own); rows are batched like documents are by
    ``make_batches`` (rows * padded width <= ``batch_tokens``, a row being at least ``row_tokens`` wide)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])  # ascending, for bisect
    keys = [lengths[i] for i in order]
    rows = []
    while order:
        first = order.pop()  # the longest left
        keys.pop()
        row, room = [first], row_tokens - lengths[first]
        while order and room >= keys[0]:
            j = bisect.bisect_right(keys, room) - 1  # the longest that still fits
            row.append(order.pop(j))
            room -= keys.pop(j)
        rows.append(row)
    # every row counts as at least row_tokens wide: packed batches then have one shape, rows x row_tokens
    # (the last one fewer rows), which compiled kernels (flex_attention, compile) need to avoid recompiling
    widths = [max(row_tokens, sum(lengths[i] for i in row)) for row in rows]
    return [[rows[r] for r in batch] for batch in make_batches(widths, batch_tokens, pad_multiple)]


def _padded(n: int, multiple: int) -> int:
    return int(math.ceil(n / multiple) * multiple)


def _logit_transform(config):
    """Post-processing some architectures apply to the LM head output; None for none (Llama/Qwen/Mistral)."""
    cap = getattr(config, "final_logit_softcapping", None)
    scale = getattr(config, "logit_scale", None)  # Cohere
    div = getattr(config, "logits_scaling", None)  # Granite
    if cap is None and scale is None and div is None:
        return None

    def apply(logits):
        if scale is not None:
            logits = logits * scale
        if div is not None:
            logits = logits / div
        if cap is not None:
            logits = torch.tanh(logits / cap) * cap
        return logits
    return apply


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(target) per row, in float32: a per-token cross-entropy with ``reduction="none"``."""
    return -F.cross_entropy(logits.float(), targets, reduction="none")


def _cpp_compiler() -> str | None:
    import os
    import shutil

    return shutil.which(os.environ.get("CXX", "g++")) or shutil.which("clang++")


def _compile_failed(error: Exception) -> bool:
    """True for errors of torch.compile itself (Dynamo tracing, Inductor codegen, a backend), not of the model."""
    return isinstance(error, torch._dynamo.exc.TorchDynamoException)


class PresenceScorer:
    """Batched eq. 10 scorer for one causal LM; ``score(seqs)`` -> (sum log-prob, scored tokens) arrays.

    ``compile``: "none"; "head" compiles the LM-head log-probability (one fused kernel reads the chunk's
    logits instead of writing a float32 copy and a log-softmax: seconds of compile); "all" also compiles
    the backbone (fuses the elementwise work between matmuls: minutes of compile per model on GPU). On CPU
    "all" compiles each decoder layer (the classes in ``model._no_split_modules``) in place instead, which
    changes the model the scorer was given until a compile failure undoes it. On CPU both modes run the LM
    head itself (matmul and log-softmax) as one C++ op, ``kernels.head_logprobs``, built on first use, when
    the head is a plain Linear whose logits are not post-processed; elsewhere, or if the op cannot be built
    (warned), the compiled log-probability above.
    ``pack``: documents share rows of ``row_tokens`` tokens instead of being padded (see the module doc).
    """

    def __init__(self, model, pad_id: int = 0, batch_tokens: int | None = None, head_chunk_tokens: int = 16_384,
                 pass_attention_mask: bool = False, pad_multiple: int = 8, max_head_elements: int | None = None,
                 progress: bool = False, compile: bool | str = False, pack: bool = False,
                 row_tokens: int = 4096):
        self.model = model
        self.device = next(model.parameters()).device
        self.pad_id = int(pad_id if pad_id is not None else 0)
        # None: large batches feed a GPU; on CPU ~4k tokens is fastest (measured on a 135M Llama, 2 cores:
        # bigger activations fall out of cache and page-fault)
        self.batch_tokens = int(batch_tokens or (32_768 if self.device.type == "cuda" else 4096))
        self.pass_attention_mask = pass_attention_mask
        self.pad_multiple = pad_multiple
        self.progress = progress
        if pack and pass_attention_mask:
            raise ValueError("presence: pack and pass_attention_mask exclude each other. Fix: packed rows are "
                             "masked from their position_ids; set pass_attention_mask: false")
        self.pack, self.row_tokens = bool(pack), int(row_tokens)
        if self.device.type == "cpu":
            keep_freed_memory()
        self.backbone = model.base_model
        mode = compile_mode(compile)
        if mode != "none" and self.device.type == "cpu" and not _cpp_compiler():
            raise ValueError("presence.scoring.compile needs a C++ compiler on CPU (Inductor builds C++ kernels) and "
                             "none was found. Fix: install g++ (Debian: apt-get install g++), or set "
                             "presence.scoring.compile: false")
        self._compiled_layers = []  # decoder layers compiled in place (CPU, mode "all")
        if mode == "all":  # fuses the elementwise work between matmuls; dynamic shapes, so few recompiles
            blocks = set(getattr(model, "_no_split_modules", None) or ())
            layers = [m for m in model.modules() if type(m).__name__ in blocks] if self.device.type == "cpu" else []
            # CPU: each decoder layer on its own, one graph shared by all, seconds of compile (2 cores: 1.1-1.25x
            # over compile: head; the backbone compiled as one graph measured no faster than eager)
            if layers:  # one graph whatever the batch width (checked): padding stays at pad_multiple
                for layer in layers:
                    layer.compile(dynamic=True)
                self._compiled_layers = layers
            else:  # GPU (or no layer class named): the whole backbone (H100: 1.8x at 0.5B, 1.19x at 8B over eager)
                self.backbone = torch.compile(self.backbone, dynamic=True)
                self.pad_multiple = max(pad_multiple, 64)  # fewer distinct widths to specialise on
        self.token_logprobs = torch.compile(token_logprobs, dynamic=True) if mode != "none" else token_logprobs
        self.head = model.get_output_embeddings()
        vocab = self.head.weight.shape[0]
        # One chunk's logits stay under a budget whatever the vocabulary: 4 GiB on GPU. On CPU the head
        # writes each chunk into one reused buffer (a fresh large tensor per chunk is mmap'ed and page-faults
        # on every chunk: 2-3x slower, measured), 32 MiB in the model's dtype, so that the bf16 matmul gets
        # hundreds of rows (2 cores: the head alone 1.4x faster on the bench's 19M Llama and 1.9x on
        # SmolLM2-135M than with fresh 8 MiB chunks; the whole scorer 6-8%); eager scoring also makes a
        # float32 copy and a log-softmax of each chunk, fresh tensors, so its chunks stay at 16 MiB of float32.
        if max_head_elements is None:
            cpu_bytes, itemsize = (2**24, 4) if mode == "none" else (2**25, self.head.weight.element_size())
            max_head_elements = 2**30 if self.device.type == "cuda" else cpu_bytes // itemsize
        self.head_chunk_tokens = max(1, min(head_chunk_tokens, max_head_elements // vocab))
        self._logits = None  # the CPU buffer, made on first use
        self.transform = _logit_transform(model.config)
        # CPU, compiled modes: the LM head and its log-softmax as one C++ op over vocabulary blocks that stay
        # in cache (pipeline/presence/cpu_head.cpp), on all of a batch's predictions at once; None where the
        # head is not a plain Linear, its logits are post-processed, or the op cannot be built (warned)
        self._cpu_head = None
        if mode != "none" and self.device.type == "cpu" and type(self.head) is torch.nn.Linear \
                and self.transform is None:
            from pipeline.presence import kernels

            if kernels.cpu_head_op() is not None:
                self._cpu_head = kernels.head_logprobs

    @property
    def compiled(self) -> str:
        """What runs compiled now, as a ``compile`` mode: "all", "head" or "none" (after any fallback)."""
        if self._is_compiled("backbone"):
            return "all"
        return "head" if self._is_compiled("token_logprobs") else "none"

    def _is_compiled(self, part: str) -> bool:
        """Whether ``part`` ("backbone" or "token_logprobs") runs compiled now."""
        if part == "backbone":
            return self.backbone is not self.model.base_model or bool(self._compiled_layers)
        return self.token_logprobs is not token_logprobs

    @torch.inference_mode()
    def score(self, seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        lengths = [len(s) for s in seqs]
        counts = np.array([max(0, n - 1) for n in lengths], dtype=np.int64)
        sums = torch.zeros(len(seqs), dtype=torch.float64, device=self.device)  # stays on the device
        todo = [i for i, n in enumerate(lengths) if n >= 2]
        sub = [lengths[i] for i in todo]
        if self.pack:
            batches = make_packs(sub, self.row_tokens, self.batch_tokens, self.pad_multiple)
        else:  # one document per row
            batches = [[[b] for b in batch] for batch in make_batches(sub, self.batch_tokens, self.pad_multiple)]
        if self.progress:
            from tqdm.auto import tqdm
            batches = tqdm(batches, desc="batches", leave=False)
        for batch in batches:
            self._score_batch([[todo[b] for b in row] for row in batch], seqs, sums)
        return sums.cpu().numpy(), counts

    def _score_batch(self, rows: list[list[int]], seqs, sums: torch.Tensor) -> None:
        """One forward pass; ``rows`` lists, per row of the batch, the documents placed in it in order."""
        # Everything index-like is built on the CPU from the known lengths, so the GPU never has to report
        # a count back (no boolean-mask indexing): the next batch is prepared while this one runs.
        docs = [i for row in rows for i in row]
        lens = np.fromiter((len(seqs[i]) for i in docs), dtype=np.int64, count=len(docs))
        row_of = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
        fill = np.bincount(row_of, weights=lens, minlength=len(rows)).astype(np.int64)
        width = _padded(max(int(fill.max()), self.row_tokens if self.pack else 0), self.pad_multiple)
        start = np.cumsum(lens) - lens  # each document's offset in the batch's documents laid end to end...
        row_start = np.cumsum(fill) - fill
        offset = start - row_start[row_of]  # ...and in its own row
        base = row_of * width + offset  # flat position of each document's first token
        ids = np.full(len(rows) * width, self.pad_id, dtype=np.int64)
        ids[np.repeat(base - start, lens) + np.arange(int(lens.sum()))] = np.concatenate([seqs[i] for i in docs])
        ids = ids.reshape(len(rows), width)
        n_pred = lens - 1  # position j of a document predicts its token j + 1
        T = int(n_pred.sum())
        pstart = np.cumsum(n_pred) - n_pred
        flat = np.repeat(base - pstart, n_pred) + np.arange(T)  # flat positions of the real predictions
        owner = np.repeat(np.asarray(docs, dtype=np.int64), n_pred)
        ids_t = self._to_device(ids)
        flat_t, owner_t = self._to_device(flat), self._to_device(owner)
        kwargs = {}
        if self.pass_attention_mask:
            kwargs["attention_mask"] = self._to_device((np.arange(width)[None, :] < fill[:, None]).astype(np.int64))
        if self.pack:  # positions restart at every document (and at each row's padded tail)
            pos = np.arange(width)[None, :] - fill[:, None]  # the tail: 0, 1, ... after the row's last document
            within = np.arange(int(lens.sum())) - np.repeat(start, lens)  # 0 .. len-1 in each document
            pos.reshape(-1)[np.repeat(base, lens) + within] = within
            kwargs["position_ids"] = self._to_device(pos)
        hidden = self._fallback_if_compile_fails(
            "backbone", lambda: self.backbone(input_ids=ids_t, use_cache=False, **kwargs).last_hidden_state)
        hidden = hidden.reshape(-1, hidden.shape[-1])
        targets = ids_t.reshape(-1).index_select(0, flat_t + 1)
        if self._cpu_head is not None:  # the LM head sees only real predictions
            logp = self._cpu_head(hidden.index_select(0, flat_t), self.head.weight, self.head.bias, targets)
            sums.index_add_(0, owner_t, logp.double())
            return
        for a in range(0, T, self.head_chunk_tokens):
            b = min(a + self.head_chunk_tokens, T)
            h = hidden.index_select(0, flat_t[a:b])  # the LM head sees only real predictions
            logits, tgt = self._head(h), targets[a:b]
            if self.transform is not None:
                logits = self.transform(logits)
            logp = self._fallback_if_compile_fails("token_logprobs",
                                                   lambda lg=logits, t=tgt: self.token_logprobs(lg, t))
            sums.index_add_(0, owner_t[a:b], logp.double())

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        """The LM head's logits for the rows ``h``; on CPU written into the reused buffer (see __init__)."""
        head = self.head
        if self.device.type != "cpu" or type(head) is not torch.nn.Linear:
            return head(h)
        if self._logits is None:
            self._logits = torch.empty(self.head_chunk_tokens, head.out_features, dtype=h.dtype)
        out = self._logits[:len(h)]
        if head.bias is None:
            return torch.mm(h, head.weight.t(), out=out)
        return torch.addmm(head.bias, h, head.weight.t(), out=out)

    def _fallback_if_compile_fails(self, part: str, call):
        """``call()``; if torch.compile fails on ``part`` (a model or kernel it cannot compile, on any batch,
        a recompile for a new shape included), warn once and redo the call with the eager ``part`` for good.
        Scores do not depend on the path (tested), so nothing already scored is invalidated."""
        try:
            return call()
        except Exception as e:  # noqa: BLE001 - only compile errors are caught; others are re-raised
            if not self._is_compiled(part) or not _compile_failed(e):
                raise
            cause = getattr(e, "inner_exception", None) or e  # what the backend raised, if it was one
            what = str(cause).strip().splitlines()[0][:200] if str(cause).strip() else ""
            warnings.warn(f"presence.scoring.compile: torch.compile failed on the {part} of "
                          f"{type(self.model).__name__} ({type(cause).__name__}: {what}); "
                          f"scoring goes on with the eager {part}. Fix: set presence.scoring.compile to "
                          f"{'head' if part == 'backbone' else 'false'} to skip the attempt",
                          RuntimeWarning, stacklevel=2)
            setattr(self, part, {"backbone": self.model.base_model, "token_logprobs": token_logprobs}[part])
            if part == "backbone":
                for layer in self._compiled_layers:
                    layer._compiled_call_impl = None  # undoes nn.Module.compile (no public way to)
                self._compiled_layers = []
            return call()

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(array))
        if self.device.type == "cuda":
            return t.pin_memory().to(self.device, non_blocking=True)
        return t


@torch.inference_mode()
def naive_scores(model, seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Reference: one document at a time, full forward, full-vocabulary float32 log-softmax."""
    device = next(model.parameters()).device
    sums, counts = np.zeros(len(seqs)), np.zeros(len(seqs), dtype=np.int64)
    for i, s in enumerate(seqs):
        if len(s) < 2:
            continue
        ids = torch.as_tensor([s], device=device)
        logp = model(input_ids=ids, use_cache=False).logits.float().log_softmax(-1)[0, :-1]
        sums[i] = logp.gather(-1, ids[0, 1:].unsqueeze(-1)).sum().item()
        counts[i] = len(s) - 1
    return sums, counts


def self_check(scorer: PresenceScorer, seqs, tol: float = 2e-2) -> float:
    """Compare the fast path with the model's own logits on a few short documents; raise on mismatch.

    Catches architectures whose LM head output is post-processed in a way ``_logit_transform`` does not
    know (the fast path calls the backbone and the head itself). Returns the largest per-token gap.
    """
    sample = [s[:64] for s in sorted(seqs, key=len)[:4] if len(s) >= 2]
    if not sample:
        return 0.0
    fast, n = scorer.score(sample)
    slow, _ = naive_scores(scorer.model, sample)
    gap = float(np.max(np.abs(fast - slow) / np.maximum(n, 1)))
    if gap > tol:
        raise ValueError(f"presence scorer: the fast LM-head path differs from {type(scorer.model).__name__}'s "
                         f"own logits by {gap:.3g} nats/token. Fix: this architecture post-processes its logits "
                         "in a way pipeline/presence/score.py does not know; add it to _logit_transform")
    return gap
