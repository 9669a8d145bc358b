"""The presence corpus: documents sampled per SlimPajama subset, stored once as Parquet shards.

Input is either the hub dataset streamed with ``datasets`` (``source: hub``) or local JSONL / JSONL.gz /
JSONL.zst (SlimPajama's own chunk format) / Parquet files with the same schema (``source: local``): a
``text`` field and the subset name in
``meta.redpajama_set_name`` (``meta`` a mapping or a JSON string; a top-level ``redpajama_set_name`` is
accepted too). Sampling is deterministic for a seed:

* local: per subset, the ``docs_per_subset`` documents with the smallest keyed hash ``sha1(seed, doc_id)``
  (independent of file order; a bounded heap, so files larger than memory work);
* hub: the stream shuffled with ``seed`` (shard order plus a buffer); the first documents of each subset.

Document ids are ``<subset code>-<sha1(text)[:16]>``: stable across runs, seeds and machines.
Texts are stored cut to ``max_tokens * CHARS_PER_TOKEN_BOUND`` characters (a book can exceed 170k
tokens; only the first N are scored); ``n_chars`` keeps the original length.
The stored order is stratified and random: every subset in its own seeded order (by the keyed hash),
interleaved so that any prefix of the shards holds the same share of each subset (``_stratified``);
sequential scoring (``sequential.py``) scores such prefixes.
Shards are ``shard-00000.parquet`` ... plus ``manifest.json``, written last, under a directory named by a
hash of everything that determines the sample, so a finished corpus is reused and never mixed up.
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import InputError
from pipeline.publish import write_json_atomic

CHARS_PER_TOKEN_BOUND = 40
SUBSET_CODES = {"RedPajamaGithub": "gh", "RedPajamaBook": "bk", "RedPajamaArXiv": "ax",
                "RedPajamaWikipedia": "wk", "RedPajamaStackExchange": "se", "RedPajamaCommonCrawl": "cc",
                "RedPajamaC4": "c4"}
SCHEMA = pa.schema([("doc_id", pa.string()), ("subset", pa.string()), ("n_chars", pa.int64()),
                    ("text", pa.string())])


def doc_id(subset: str, text: str) -> str:
    code = SUBSET_CODES.get(subset, subset.lower()[:8])
    return f"{code}-{hashlib.sha1(text.encode('utf-8'), usedforsecurity=False).hexdigest()[:16]}"


def _sample_key(seed: int, did: str) -> str:
    return hashlib.sha1(f"{seed}:{did}".encode(), usedforsecurity=False).hexdigest()


def _subset_of(record: dict, file, row: int) -> str:
    meta = record.get("meta")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            raise InputError(file, "'meta' is a string but not JSON", "store meta as a mapping or JSON text",
                             row=row, field="meta") from None
    if isinstance(meta, dict) and meta.get("redpajama_set_name"):
        return str(meta["redpajama_set_name"])
    if record.get("redpajama_set_name"):
        return str(record["redpajama_set_name"])
    raise InputError(file, "no subset name", "give each record meta.redpajama_set_name (SlimPajama schema), "
                     "e.g. {\"text\": ..., \"meta\": {\"redpajama_set_name\": \"RedPajamaGithub\"}}",
                     row=row, field="meta.redpajama_set_name")


def _text_of(record: dict, file, row: int) -> str:
    text = record.get("text")
    if not isinstance(text, str):
        raise InputError(file, f"'text' is missing or not a string ({type(text).__name__})",
                         "give each record a string field 'text'", row=row, field="text")
    return text


def iter_local(path: str | Path):
    """Yield (subset, text) from one JSONL(.gz) or Parquet file in SlimPajama schema."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "corpus file not found", "fix the path in presence.corpus.files")
    name = path.name.lower()
    if name.endswith(".parquet"):
        pf = pq.ParquetFile(path)
        cols = [c for c in ("text", "meta", "redpajama_set_name") if c in pf.schema_arrow.names]
        row = 0
        for batch in pf.iter_batches(columns=cols, batch_size=4096):
            for record in batch.to_pylist():
                row += 1
                yield _subset_of(record, path, row), _text_of(record, path, row)
        return
    if not name.endswith((".jsonl", ".jsonl.gz", ".jsonl.zst", ".json")):
        raise InputError(path, "unknown corpus file type", "use .jsonl, .jsonl.gz, .jsonl.zst or .parquet")
    with _open_text(path) as fh:
        for row, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(path, f"not valid JSON ({exc.msg})", "write one JSON object per line",
                                 row=row) from None
            yield _subset_of(record, path, row), _text_of(record, path, row)


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    if path.name.lower().endswith(".zst"):  # SlimPajama's own chunk files
        import io

        import zstandard
        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True),
                                encoding="utf-8")
    return open(path, encoding="utf-8")


def sample_local(files, subsets, k: int, seed: int, max_chars: int):
    """{subset: [(key, doc_id, n_chars, text)]}: the k smallest keyed hashes per subset, deduplicated."""
    heaps = {s: [] for s in subsets}
    seen = {s: set() for s in subsets}
    for f in files:
        for subset, text in iter_local(f):
            if subset not in heaps or not text:
                continue
            did = doc_id(subset, text)
            if did in seen[subset]:
                continue
            key = _sample_key(seed, did)
            heap = heaps[subset]
            item = (_neg(key), did, len(text), text[:max_chars])
            if len(heap) < k:
                heapq.heappush(heap, item)
                seen[subset].add(did)
            elif item[0] > heap[0][0]:
                seen[subset].discard(heapq.heapreplace(heap, item)[1])
                seen[subset].add(did)
    return {s: [(_neg(n), d, c, t) for n, d, c, t in h] for s, h in heaps.items()}


def _neg(hexkey: str) -> str:
    """Order-reversing map on hex strings (a max-heap of keys through heapq's min-heap)."""
    return hexkey.translate(str.maketrans("0123456789abcdef", "fedcba9876543210"))


def sample_hub(dataset: str, split: str, subsets, k: int, seed: int, buffer: int, max_chars: int):
    """Stream the hub dataset shuffled by seed; keep the first k documents of each wanted subset."""
    from datasets import load_dataset
    from tqdm.auto import tqdm

    stream = load_dataset(dataset, split=split, streaming=True).shuffle(seed=seed, buffer_size=buffer)
    out = {s: [] for s in subsets}
    seen = set()
    need = k * len(subsets)
    with tqdm(total=need, desc="sampling SlimPajama", unit="doc") as bar:
        for row, record in enumerate(stream, 1):
            subset = _subset_of(record, dataset, row)
            if subset not in out or len(out[subset]) >= k:
                continue
            text = _text_of(record, dataset, row)
            did = doc_id(subset, text)
            if not text or did in seen:
                continue
            seen.add(did)
            out[subset].append((_sample_key(seed, did), did, len(text), text[:max_chars]))
            bar.update(1)
            if sum(len(v) for v in out.values()) >= need:
                break
    return out


def _stratified(picked: dict, subsets) -> list:
    """[(position, key, doc_id, subset, n_chars, text)]: each subset in its seeded random order (by key),
    interleaved by the fraction of the subset reached, so any prefix of the stored order holds the same
    share of every subset (what sequential scoring's rounds need: a prefix is a stratified sample)."""
    out = []
    for subset in subsets:
        docs = sorted(picked.get(subset, []))
        out += [((k + 0.5) / len(docs), key, did, subset, n, text) for k, (key, did, n, text) in enumerate(docs)]
    return out


def corpus_key(cfg, max_tokens: int) -> str:
    """The hash of the sampling settings (``cfg``: the ``presence.corpus`` section; texts are stored cut for
    ``max_tokens`` tokens): the corpus's folder name."""
    files = []
    if cfg.source == "local":
        for f in cfg.files:
            p = Path(f)
            files.append([p.name, p.stat().st_size if p.exists() else -1])
    spec = {"source": cfg.source, "dataset": cfg.dataset if cfg.source == "hub" else None,
            "split": cfg.split if cfg.source == "hub" else None, "files": files, "subsets": list(cfg.subsets),
            "k": cfg.docs_per_subset, "seed": cfg.seed, "shard_docs": cfg.shard_docs,
            "max_chars": max_tokens * CHARS_PER_TOKEN_BOUND, "order": "stratified"}
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode(), usedforsecurity=False).hexdigest()[:12]


def ensure_corpus(cfg, max_tokens: int, root: Path, resolve=Path, log=print) -> list[Path]:
    """Sample and store the corpus of ``cfg`` (the ``presence.corpus`` section), texts cut for ``max_tokens``
    tokens, once under ``root/corpus/<key>``; return the shard paths in order."""
    out_dir = Path(root) / "corpus" / corpus_key(cfg, max_tokens)
    manifest = out_dir / "manifest.json"
    if manifest.exists():
        shards = [out_dir / s for s in json.loads(manifest.read_text())["shards"]]
        log(f"presence corpus {out_dir.name}: reusing {len(shards)} shard(s)")
        return shards
    max_chars = max_tokens * CHARS_PER_TOKEN_BOUND
    if cfg.source == "fixture":
        from pipeline.presence.fixtures import build_corpus
        path = build_corpus(Path(root) / "fixture_corpus", docs_per_subset=cfg.docs_per_subset, seed=cfg.seed)
        picked = sample_local([path], cfg.subsets, cfg.docs_per_subset, cfg.seed, max_chars)
    elif cfg.source == "local":
        picked = sample_local([resolve(f) for f in cfg.files], cfg.subsets, cfg.docs_per_subset, cfg.seed,
                              max_chars)
    else:
        picked = sample_hub(cfg.dataset, cfg.split, cfg.subsets, cfg.docs_per_subset, cfg.seed,
                            cfg.stream_buffer, max_chars)
    counts = {s: len(v) for s, v in picked.items()}
    if not any(counts.values()):
        raise InputError(cfg.files[0] if cfg.files else cfg.dataset, f"no documents of subsets {list(cfg.subsets)}",
                         "check presence.corpus.subsets against meta.redpajama_set_name in the data")
    rows = [r[1:] for r in sorted(_stratified(picked, cfg.subsets))]
    out_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(0, len(rows), cfg.shard_docs):
        part = rows[i:i + cfg.shard_docs]
        table = pa.table({"doc_id": [r[1] for r in part], "subset": [r[2] for r in part],
                          "n_chars": [r[3] for r in part], "text": [r[4] for r in part]}, schema=SCHEMA)
        name = f"shard-{i // cfg.shard_docs:05d}.parquet"
        pq.write_table(table, out_dir / name)
        names.append(name)
    write_json_atomic(manifest, {"shards": names, "docs_per_subset": counts, "seed": cfg.seed,
                                 "source": cfg.source}, indent=1)  # a uniquely named temp file, then a rename
    log(f"presence corpus {out_dir.name}: {sum(counts.values())} documents {counts} in {len(names)} shard(s)")
    return [out_dir / n for n in names]
