"""Stage ``train``: reward models on each configured base model, selected and scored like the paper.

For every model in ``train.models`` and every method in ``train.methods``:

1. one trial per learning rate, under ``work_dir/train/<model>/<method>/lr_<lr>/``: train (resuming
   from the newest checkpoint if a previous run died), load the best checkpoint, then measure the
   validation accuracy on HelpSteer2-Preference validation pairs (regression: after the exhaustive
   merge-vector search, eq. 6-7). ``done.json`` is written last; a rerun skips trials that have it;
2. the trial with the best validation accuracy (ties: the smaller LR) is selected and scored on
   RewardBench (cached in ``rewardbench.json`` beside it; skipped when ``data.rewardbench`` is null);
3. with ``data.hh_pairs`` (real HH-RLHF pairs, offline), Bradley-Terry trains on the train part of its
   seeded split and selects on the validation part; the selected model and the untrained head (the
   same base and seeded head at step 0) then score the held-out test part through the RewardBench
   scorer (``heldout.json`` beside it, with every pair's scores);
4. rows go to ``training_trials``, ``merge_vectors``, ``rewardbench_subsets``, ``rm_results`` (source
   'pipeline', with run id and config JSON), ``pair_results`` (held-out pairs, source 'pipeline') and
   ``models`` (so the app shows the model).

A summary table is printed at the end.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from dataclasses import asdict
from functools import cached_property
from pathlib import Path

import pandas as pd

from advisor.core.registry import RM_COLUMNS, size_group
from pipeline import schema
from pipeline.errors import InputError
from pipeline.publish import write_json_atomic
from pipeline.train.config import TrainConfig
from pipeline.train.merge_search import ATTRIBUTES

TIE_RULE = "first maximiser in lexicographic order of (k_help, k_corr, k_coh, k_comp, k_verb)"


def slug(model_id: str) -> str:
    return model_id.strip("/").replace("/", "__")


def _fingerprint(source: str) -> str:
    """A local data file's content hash (size + mtime above 64 MB); a hub id stands for itself."""
    path = Path(source)
    if not path.exists():
        return source
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f.name.encode())
        h.update(f.read_bytes() if st.st_size < 64 * 2**20 else f"{st.st_size}-{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


KEY_FIELDS = ("id", "tiny", "trust_remote_code", "max_length", "per_device_batch_size")


def model_key(spec) -> dict:
    """The model in a trial's key and config: the fields train has always recorded, plus any other
    ModelSpec field the entry sets (path, revision), so finished trials keep their keys."""
    return {**{k: getattr(spec, k) for k in KEY_FIELDS}, **spec.set_fields()}


NEW_HYPER_PARAMETERS = ("trainable_blocks",)  # in a trial's key only when set, so older trials keep their keys


def trial_key(spec, mcfg, lr: float, fingerprints: dict, cfg: TrainConfig) -> dict:
    """What a finished trial depends on; a done marker with another key is stale and retrained.
    ``fingerprints``: ``Datasets.fingerprints`` (the training data's content hashes)."""
    hp = {k: v for k, v in asdict(mcfg).items()
          if k != "learning_rates" and not (k in NEW_HYPER_PARAMETERS and v is None)}
    return {"model": model_key(spec), "lr": lr, "hyper_parameters": hp, "seed": cfg.seed, "bf16": cfg.bf16,
            "data": fingerprints}


def _cap(df: pd.DataFrame, n: int | None) -> pd.DataFrame:
    return df if n is None or len(df) <= n else df.iloc[:n].reset_index(drop=True)


class Datasets:
    """Loads each table once, on first use."""

    def __init__(self, sources: dict, cfg: TrainConfig):
        self.sources, self.cfg, self._cache = sources, cfg, {}
        self.stats = {}

    @cached_property
    def fingerprints(self) -> dict:
        """Content hashes of the training data (not RewardBench), read once per run, not once per trial; with
        HH pairs, their split too."""
        out = {k: _fingerprint(v) for k, v in self.sources.items() if k != "rewardbench" and v is not None}
        if self.sources.get("hh_pairs"):
            out["hh_split"] = asdict(self.cfg.data.hh_split)
        return out

    def get(self, name: str):
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def _load(self, name: str):
        from pipeline.train.data import PairStats, load_table, preference_pairs

        s = self.sources
        if name in ("pref_train", "pref_val"):
            mcfg = self.cfg.bradley_terry
            split = "train" if name == "pref_train" else "val"
            if s.get("hh_pairs"):
                pairs = self.get("hh")["train" if split == "train" else "validation"]
            else:
                stats = PairStats()
                pairs = preference_pairs(load_table(s["helpsteer2_preference"], "helpsteer2_preference", split), stats)
                self.stats[name] = stats
            return _cap(pairs, mcfg.max_train_examples if split == "train" else mcfg.max_eval_examples)
        if name == "hh":
            return self._hh_split()
        if name in ("hs2_train", "hs2_val"):
            mcfg = self.cfg.regression
            split = "train" if name == "hs2_train" else "validation"
            df = load_table(s["helpsteer2"], "helpsteer2", split)
            return _cap(df, mcfg.max_train_examples if split == "train" else mcfg.max_eval_examples)
        if name == "rewardbench":
            df = load_table(s["rewardbench"], "rewardbench", "filtered")
            cap = self.cfg.max_rewardbench_examples
            if cap is not None and cap < len(df):  # keep every subset represented
                per = max(1, math.ceil(cap / df["subset"].nunique()))
                df = df.groupby("subset", sort=True).head(per).reset_index(drop=True)
            return df
        raise KeyError(name)

    def _hh_split(self) -> dict:
        """{train, validation, test} parts of the HH pairs (``data.hh_split``); the drop counts in stats['hh']."""
        from pipeline.train.data import HHStats, hh_pairs, load_table, split_pairs

        path = Path(self.sources["hh_pairs"])
        if not path.is_file():
            raise InputError(path, "the HH pairs file is not there", "point train.data.hh_pairs at the JSONL of "
                             "chosen/rejected dialogues (../shared/data/hh-rlhf/harmless-base-test.jsonl.gz), "
                             "relative to the repository root", field="train.data.hh_pairs")
        d = self.cfg.data
        self.stats["hh"] = HHStats()
        pairs = hh_pairs(load_table(str(path), "hh_pairs", "all"), d.hh_subset, self.stats["hh"])
        split = d.hh_split
        train = split.train if split.train is not None else max(1, len(pairs) - split.validation - split.test)
        return split_pairs(pairs, {"train": train, "validation": split.validation, "test": split.test}, split.seed)


def _load_scorer(path: str, spec, cfg: TrainConfig, **kwargs):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from pipeline.train import hf

    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=spec.trust_remote_code)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, dtype=hf.model_dtype(cfg.bf16), trust_remote_code=spec.trust_remote_code, **kwargs)
    return model.to(hf.device()), tok


def _untrained_scorer(model_path: str, spec, cfg: TrainConfig):
    """The base model with the score head Bradley-Terry training starts from (bradley_terry.train seeds the
    same way before the same load): the baseline a trained head must beat."""
    from transformers import set_seed

    set_seed(cfg.seed)
    return _load_scorer(model_path, spec, cfg, num_labels=1, revision=spec.revision)


def run_trial(method: str, model_path: str, lr: float, tdir: Path, data: Datasets, mcfg, cfg, spec,
              log, callbacks=(), key: dict | None = None) -> dict:
    """Train + validate one trial and write its done marker; returns the marker's content."""
    from pipeline.train import bradley_terry, merge_search, regression
    from pipeline.train import rewardbench as rbs

    tdir.mkdir(parents=True, exist_ok=True)
    if key is not None:
        # lets a rerun tell a resumable trial from a stale one
        write_json_atomic(tdir / "key.json", key, indent=1, default=str)
    val = data.get("pref_val")
    max_length = spec.max_length or mcfg.max_length
    if method == "bradley_terry":
        info = bradley_terry.train(model_path, data.get("pref_train"), val, lr, tdir, mcfg, cfg, spec, callbacks)
        info["ties_dropped"] = getattr(data.stats.get("pref_train"), "ties_dropped", None)  # HH pairs: no ties
    else:
        info = regression.train(model_path, data.get("hs2_train"), data.get("hs2_val"), lr, tdir, mcfg, cfg, spec,
                                callbacks)
    model, tok = _load_scorer(info["final"], spec, cfg)
    bs = cfg.rewardbench_batch_size
    chosen, rejected, _ = rbs.score_pairs(model, tok, val, bs, max_length, "validation")
    n = len(val)
    if method == "bradley_terry":
        info["val_accuracy"] = rbs.pair_accuracy(chosen[:, 0], rejected[:, 0])
    else:
        t = time.perf_counter()
        m = merge_search.search(chosen, rejected, device=cfg.merge_device)
        info["merge"] = {**asdict(m), "accuracy": m.accuracy, "seconds": time.perf_counter() - t}
        info["val_accuracy"] = m.accuracy
        log(f"  merge vector {m.weights}: {m.correct}/{m.n_pairs} validation pairs, "
            f"{m.n_maximisers} tied maximisers, {info['merge']['seconds']:.2f}s on {m.device}")
    info.update(method=method, learning_rate=lr, model=spec.id, val_pairs_used=n, key=key)
    write_json_atomic(tdir / "done.json", info, indent=1, default=str)  # complete or absent
    return info


def run(ctx) -> None:
    cfg: TrainConfig = ctx.section("train")  # validated by config.load
    specs = cfg.models
    if not specs:
        ctx.log("train: no models in train.models; nothing to do")
        return
    root = ctx.work_dir / "train"
    dcfg = cfg.data
    sources = {k: getattr(dcfg, k) for k in ("helpsteer2", "helpsteer2_preference", "rewardbench")}
    if dcfg.fixtures:
        from pipeline.train.fixtures import write_fixtures

        sources = {k: str(v) for k, v in write_fixtures(root / "fixtures", seed=cfg.seed).items()}
    if dcfg.hh_pairs:
        sources["hh_pairs"] = str(ctx.config.resolve(dcfg.hh_pairs))
    if dcfg.rewardbench is None:
        sources["rewardbench"] = None
    data = Datasets(sources, cfg)
    if dcfg.hh_pairs and "bradley_terry" in cfg.methods:
        parts = {k: len(v) for k, v in data.get("hh").items()}
        ctx.log(f"train: HH pairs {sources['hh_pairs']}: {data.stats['hh']}; split {parts} (seed {dcfg.hh_split.seed})")
    summary = []
    for spec in specs:
        model_path = spec.resolve_path(ctx.work_dir, ctx.config.resolve)  # a tiny model: built on first use
        for method in cfg.methods:
            summary += _train_method(ctx, cfg, spec, method, model_path, root, data, sources)
    table = pd.DataFrame(summary)
    if not table.empty:
        ctx.log("train summary:\n" + table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))


def _train_method(ctx, cfg, spec, method, model_path, root, data, sources) -> list[dict]:
    mcfg = cfg.method(method)
    trials = []
    for i, lr in enumerate(mcfg.learning_rates, 1):
        tdir = root / slug(spec.id) / method / f"lr_{lr:.0e}"
        done = tdir / "done.json"
        key = json.loads(json.dumps(trial_key(spec, mcfg, lr, data.fingerprints, cfg)))
        info = json.loads(done.read_text()) if done.exists() else None
        where = f"{spec.id} {method} lr={lr:g} ({i}/{len(mcfg.learning_rates)})"
        started = json.loads((tdir / "key.json").read_text()) if (tdir / "key.json").exists() else key
        if info is not None and info.get("key") == key:
            ctx.log(f"{where}: done before, skipped")
        else:
            if info is not None or started != key:  # trained under another config or other data: start over
                ctx.log(f"{where}: config or data changed since it was trained; retraining")
                shutil.rmtree(tdir)
            ctx.log(f"{where}: training")
            info = run_trial(method, model_path, lr, tdir, data, mcfg, cfg, spec, ctx.log, key=key)
        trials.append((lr, tdir, info))
    # best validation accuracy; ties go to the smaller learning rate
    lr, tdir, best = max(trials, key=lambda t: (t[2]["val_accuracy"], -t[0]))
    rb = _rewardbench(ctx, cfg, spec, method, best, tdir, data, sources) if sources["rewardbench"] else None
    held = _heldout(ctx, cfg, spec, method, best, tdir, data, model_path) \
        if method == "bradley_terry" and sources.get("hh_pairs") else None
    config = {"method": method, "learning_rate": lr, "model": model_key(spec), "hyper_parameters": asdict(mcfg),
              "data": sources, "bf16": cfg.bf16, "seed": cfg.seed, "trial_dir": str(tdir),
              "merge_vector": best.get("merge", {}).get("weights"), "rewardbench_pairs": rb and rb["pairs"],
              "heldout_pairs": held and held["pairs"]}
    cfg_json = json.dumps(config, default=str)
    _insert_trials(ctx, spec, method, trials, lr, cfg_json)
    _insert_scores(ctx, spec, method, rb, held, cfg_json)
    _insert_model(ctx.con, spec, best)
    nan = float("nan")
    return [{"model": spec.id, "method": method, "lr": t_lr, "steps": info["steps"],
             "val_acc": info["val_accuracy"], "selected": t_lr == lr,
             "rewardbench": rb["sections"]["score"] if rb and t_lr == lr else nan,
             "heldout_acc": held["subsets"][0]["accuracy"] if held and t_lr == lr else nan}
            for t_lr, _, info in trials]


def _rewardbench(ctx, cfg, spec, method, best, tdir, data, sources) -> dict:
    from pipeline.train import rewardbench as rbs

    key = {"source": sources["rewardbench"], "cap": cfg.max_rewardbench_examples}
    cache = tdir / "rewardbench.json"
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            ctx.log(f"{spec.id} {method}: RewardBench from cache")
            cached["subsets"] = pd.DataFrame(cached["subsets"])
            return cached
    pairs = data.get("rewardbench")
    mcfg = cfg.method(method)
    model, tok = _load_scorer(best["final"], spec, cfg)
    weights = best.get("merge", {}).get("weights")
    res = rbs.evaluate(model, tok, pairs, weights, cfg.rewardbench_batch_size, spec.max_length or mcfg.max_length)
    ctx.log(f"{spec.id} {method}: RewardBench {res['sections']['score']:.1f} on {res['pairs']} pairs "
            f"({res['truncated']} sequences truncated)")
    write_json_atomic(cache, {**res, "subsets": res["subsets"].to_dict("records"), "key": key}, indent=1,
                      default=str)
    return res


def _heldout(ctx, cfg, spec, method, best, tdir, data, model_path) -> dict:
    """The held-out HH pairs scored by the selected model and by the untrained head (cached in heldout.json
    with every pair's four scores): {'subsets': [compare_heads rows], 'pairs', 'truncated', 'seconds', ...}."""
    from pipeline.train import rewardbench as rbs

    key = {"data": data.fingerprints, "subset": cfg.data.hh_subset, "model": best["final"]}
    cache = tdir / "heldout.json"
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("key") == json.loads(json.dumps(key, default=str)):
            ctx.log(f"{spec.id} {method}: held-out pairs from cache")
            return cached
    pairs = data.get("hh")["test"]
    bs, max_length = cfg.rewardbench_batch_size, spec.max_length or cfg.method(method).max_length
    t = time.perf_counter()
    *trained, truncated = rbs.score_pairs(*_load_scorer(best["final"], spec, cfg), pairs, bs, max_length,
                                          "held-out pairs")
    *untrained, _ = rbs.score_pairs(*_untrained_scorer(model_path, spec, cfg), pairs, bs, max_length,
                                    "held-out pairs, untrained head")
    trained, untrained = [x[:, 0] for x in trained], [x[:, 0] for x in untrained]
    subsets = rbs.compare_heads(pairs["subset"], trained, untrained)
    res = {"subsets": subsets.to_dict("records"), "pairs": len(pairs), "truncated": truncated,
           "seconds": time.perf_counter() - t, "key": key,
           "scores": {name: v.tolist() for name, v in zip(("chosen", "rejected", "untrained_chosen",
                                                           "untrained_rejected"), (*trained, *untrained))}}
    for r in res["subsets"]:
        ctx.log(f"{spec.id} {method}: held-out {r['subset']}: {r['correct']}/{r['n']} = {r['accuracy']:.3f} "
                f"(untrained head {r['untrained_accuracy']:.3f}); {truncated} sequences truncated")
    write_json_atomic(cache, res, indent=1, default=str)
    return json.loads(json.dumps(res, default=str))


def _insert_trials(ctx, spec, method, trials, lr_sel, cfg_json: str) -> None:
    con, run_id = ctx.con, ctx.run_id
    trial_rows, merge_rows = [], []
    for lr, tdir, info in trials:
        stats = info.get("train_pairs") or info.get("train_examples") or {}
        trial_rows.append({
            "run_id": run_id, "hf_id": spec.id, "method": method, "learning_rate": lr, "steps": info["steps"],
            "train_loss": info["train_loss"], "val_accuracy": info["val_accuracy"],
            "best_eval_metric": info.get("best_eval_accuracy", info.get("best_eval_mse")),
            "best_checkpoint": info["best_checkpoint"], "selected": lr == lr_sel, "train_kept": stats.get("kept"),
            "ties_dropped": info.get("ties_dropped"), "too_long_dropped": stats.get("too_long_dropped"),
            "resumed": info.get("resumed_from") is not None, "trial_dir": str(tdir), "config": cfg_json})
        if "merge" in info:
            m = info["merge"]
            merge_rows.append({
                "run_id": run_id, "hf_id": spec.id, "learning_rate": lr,
                **{f"w_{a}": w for a, w in zip(ATTRIBUTES, m["weights"])},
                "correct": m["correct"], "n_pairs": m["n_pairs"], "val_accuracy": m["accuracy"],
                "n_maximisers": m["n_maximisers"], "tie_rule": TIE_RULE, "device": m["device"],
                "seconds": m["seconds"]})
    schema.insert(con, "training_trials", trial_rows)
    schema.insert(con, "merge_vectors", merge_rows)


def _insert_scores(ctx, spec, method, rb: dict | None, held: dict | None, cfg_json: str) -> None:
    """RewardBench (rewardbench_subsets, rm_results) and held-out pairs (pair_results), where scored."""
    con, run_id = ctx.con, ctx.run_id
    if rb is not None:
        schema.insert(con, "rewardbench_subsets", [
            {"run_id": run_id, "hf_id": spec.id, "method": method, "subset": r["subset"], "section": r["section"],
             "n": int(r["n"]), "correct": int(r["correct"]), "accuracy": float(r["accuracy"])}
            for r in rb["subsets"].to_dict("records")])
        s = rb["sections"]
        schema.insert(con, "rm_results", [{"hf_id": spec.id, "method": method, **{k: s[k] for k in RM_COLUMNS},
                                           "source": "pipeline", "run_id": run_id, "config": cfg_json}])
    if held is not None:
        schema.insert(con, "pair_results", [{**r, "run_id": run_id, "hf_id": spec.id, "method": method,
                                             "truncated": held["truncated"], "source": "pipeline",
                                             "config": cfg_json} for r in held["subsets"]])


def _insert_model(con, spec, best: dict) -> None:
    """The trained base in ``models`` (so the app shows it), never over a paper model's row."""
    row = next(iter(con.execute("SELECT in_paper FROM models WHERE hf_id = ?", [spec.id]).fetchall()), None)
    if row is None or not row[0]:  # never overwrite a paper model's row (ingest owns those)
        params = float(best["params_b"])
        values = {"display_name": spec.id.split("/")[-1],
                  "publisher": spec.id.split("/")[0] if "/" in spec.id else "local",
                  "family": f"tiny-{spec.tiny}" if spec.tiny else None, "params_b": params,
                  "size_group": size_group(params), "in_paper": False, "source": "pipeline"}
        if row is None:
            schema.insert(con, "models", [{"hf_id": spec.id, **values}])
        else:  # a model another source added: these columns become the pipeline's, the rest are kept
            con.execute("UPDATE models SET display_name = ?, publisher = ?, family = ?, params_b = ?, size_group = ?, "
                        "in_paper = ?, source = ? WHERE hf_id = ?", [*values.values(), spec.id])
