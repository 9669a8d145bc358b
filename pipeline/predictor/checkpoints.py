"""The predictor stage's caches: out-of-fold predictions stored as CSV, and the precomputed partial-input
patterns as JSON, each keyed by a hash.

``evaluate_cached`` runs ``advisor.predict.evaluation.evaluate`` for one scale, or reuses
``work_dir/predictor/evaluation-<scale>-<key>.csv`` when its key matches. The key (``evaluation_key``)
is a SHA-256 of the data (values, index, column order), the lineages, the protocol settings (not
n_jobs), the evaluation code and the library versions, so a rebuild with the same key gives the same
numbers without evaluating again. A file that is unreadable or incomplete is recomputed; nothing is
pickled. Delete ``work/predictor/`` to force a new evaluation. ``patterns_cached`` does the same for
``advisor.predict.partial.precompute_patterns`` (``patterns-<scale>-<key>.json``: the bundle's stored
form), keyed by the same data, the procedure's settings, the patterns and the partial-input code. The
evaluation numbers the targets by their position among ``Y``'s columns (``(method, target)`` pairs): the
column ``target`` holds 0, 1, ...
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from advisor.predict import bundle, evaluation, search, specs

_CODE = [Path(f) for f in (specs.__file__, evaluation.__file__, search.__file__, specs.SPECS_FILE,
                            Path(search.__file__).with_name("impute.py"), Path(search.__file__).with_name("enet.py"))]
_OOF_COLUMNS = ["protocol", "repeat", "fold", "name", "target", "hf_id", "lineage", "y", "prediction",
                "pick"]


def evaluation_key(X: pd.DataFrame, Y: pd.DataFrame, lineage: pd.Series, ecfg) -> str:
    """SHA-256 of what determines the out-of-fold predictions: the data (values, index, column order),
    the lineages, the protocol settings (not n_jobs), the code and the library versions."""
    h = hashlib.sha256()
    settings = {k: v for k, v in asdict(ecfg).items() if k != "n_jobs"}
    versions = {k: v for k, v in bundle.library_versions().items() if k != "advisor"}
    h.update(json.dumps([settings, versions], sort_keys=True, default=str).encode())
    for df in (X, Y, lineage.to_frame()):
        h.update(json.dumps([list(map(str, df.columns)), list(map(str, df.index)),
                             df.to_numpy(dtype=object).tolist()], default=str).encode())
    for path in _CODE:
        h.update(path.read_bytes())
    return h.hexdigest()


def _check_complete(oof: pd.DataFrame, X, Y, lineage, ecfg) -> None:
    """ValueError unless every (protocol, repeat, name, target) holds every model once (the lineage-out
    protocol also every single-seed served procedure)."""
    lineage_out = 1 if lineage.nunique() >= 2 else 0
    names = len(ecfg.candidates) + len(ecfg.baselines) + 1
    extra = len([s for s in ecfg.extra_specs if s not in ecfg.candidates])
    n_extra = len(Y.columns) if ecfg.extra_targets is None else len(ecfg.extra_targets)
    seeds = ecfg.inner_seeds if ecfg.candidates else 0
    expected = ((ecfg.repeats + lineage_out) * (names * len(Y.columns) + extra * n_extra)
                + lineage_out * seeds * len(Y.columns))
    sizes = oof.groupby(["protocol", "repeat", "name", "target"]).hf_id.nunique()
    if (len(sizes) != expected
            or (sizes != len(X)).any() or len(oof) != len(sizes) * len(X)
            or set(oof.hf_id) != set(map(str, X.index))):
        raise ValueError("incomplete: not every split, name and target holds every model")


def evaluate_cached(ctx, scale, X, Y, lineage, ecfg) -> pd.DataFrame:
    """``evaluation.evaluate``, or its stored result (``work_dir/predictor/evaluation-<key>.csv``, CSV
    with round-trip floats, never pickle) when the key matches; an unreadable file is recomputed."""
    from pipeline.publish import write_text_atomic

    key = evaluation_key(X, Y, lineage, ecfg)
    path = ctx.work_dir / "predictor" / f"evaluation-{scale}-{key[:24]}.csv"
    if path.is_file():
        try:
            oof = pd.read_csv(path, keep_default_na=False,
                              dtype={"hf_id": str, "lineage": str, "pick": str, "name": str,
                                     "target": int, "protocol": str})
            if list(oof.columns) != _OOF_COLUMNS or oof[["y", "prediction"]].isna().any().any():
                raise ValueError("unexpected columns or missing values")
            _check_complete(oof, X, Y, lineage, ecfg)
            ctx.log(f"  {scale}: evaluation reused from {path}")
            return oof
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            ctx.log(f"  {scale}: ignoring unreadable {path} ({exc}); recomputing")
    oof = evaluation.evaluate(X, Y.set_axis(range(Y.shape[1]), axis=1), lineage, ecfg, progress=True)
    write_text_atomic(path, oof[_OOF_COLUMNS].to_csv(index=False))
    return oof


_PATTERN_CODE = [*_CODE, Path(search.__file__).with_name("partial.py")]


def patterns_cached(ctx, scale, X, Y, lineage, cfg, patterns) -> dict:
    """``partial.as_stored(partial.precompute_patterns(...))`` of ``patterns`` on one scale, or its stored
    result (``work_dir/predictor/patterns-<scale>-<key>.json``) when the key matches; a file that is
    unreadable or lacks a pattern is recomputed."""
    from advisor.predict import partial
    from pipeline.publish import write_text_atomic

    settings = {k: getattr(cfg, k) for k in ("candidates", "cv", "random_state", "inner_seeds", "interval_level",
                                             "n_boot")}
    keys = sorted(partial.pattern_key(p) for p in patterns)
    h = hashlib.sha256(json.dumps([settings, keys, bundle.library_versions()], sort_keys=True, default=str).encode())
    for df in (X, Y, lineage.to_frame()):
        h.update(json.dumps([list(map(str, df.columns)), list(map(str, df.index)),
                             df.to_numpy(dtype=object).tolist()], default=str).encode())
    for path in _PATTERN_CODE:
        h.update(path.read_bytes())
    path = ctx.work_dir / "predictor" / f"patterns-{scale}-{h.hexdigest()[:24]}.json"
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
            if all(set(keys) <= set(stored.get(m, {})) for m in {m for m, _ in Y.columns}):
                ctx.log(f"  {scale}: partial-input patterns reused from {path}")
                return stored
        except (OSError, ValueError) as exc:
            ctx.log(f"  {scale}: ignoring unreadable {path} ({exc}); recomputing")
    stored = partial.as_stored(partial.precompute_patterns(
        X, Y, lineage, patterns, cfg.candidates, cfg.cv, cfg.random_state, cfg.inner_seeds, cfg.interval_level,
        cfg.n_boot, cfg.n_jobs))
    stored = json.loads(json.dumps(stored, allow_nan=False))
    write_text_atomic(path, json.dumps(stored))
    return stored
