"""The served predictors as plain JSON, stored inside the database they were built with.

The pipeline's predictor stage writes one JSON document into the table ``predictor_bundle`` of the
database it builds, so the bundle is published atomically with the database, follows ``--db``, and a
failed run changes nothing the app serves. Nothing is unpickled: a bundle is numbers (input scalers,
coefficients, intercepts, interval half-widths), the training matrix used for imputation and nearest
neighbours, and the evidence summary of each served (scale, method, target): a ``ServedEntry``, the one
record the bundle JSON, the table ``predictor_served`` and the reproduction report are made from.
Targets are addressed by ``(method, target)`` pairs: ``Y_train`` has those as its column MultiIndex, and
the JSON keeps format 2's labels (``"regression/score"``, derived from the bundle's methods and targets).

``load_bundle(db_path)`` reads it from a database (read-only); ``load_bundle_file(path)`` reads an
exported JSON file (``RM_ADVISOR_BUNDLE``) and refuses anything else with a message.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

import advisor
from advisor.predict.specs import BASE_FEATURES, LinearFit

FORMAT = "rm-advisor-predictor-bundle"
FORMAT_VERSION = 3  # 3: seed-averaged procedure, lineage-out intervals, precomputed partial inputs
MAX_FILE_BYTES = 50 * 1024 * 1024


def data_hash(X: pd.DataFrame, y: pd.Series | pd.DataFrame) -> str:
    """SHA-256 of the training data (rows sorted by index, columns as given; (method, target) columns
    under their JSON labels, ``y_label``)."""
    if isinstance(y, pd.DataFrame) and isinstance(y.columns, pd.MultiIndex):
        y = y.set_axis([y_label(k) for k in y.columns], axis=1)
    frame = pd.concat([X, y], axis=1).sort_index()
    return hashlib.sha256(frame.to_csv(float_format="%.10g").encode()).hexdigest()


def library_versions() -> dict[str, str]:
    import joblib
    import scipy
    import sklearn

    return {"advisor": advisor.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__, "joblib": joblib.__version__}


class BundleError(ValueError):
    """A bundle that cannot be used; the message says why and how to get a good one."""


@dataclass
class ServedEntry:
    """One served predictor (scale, method, target): its fit, the one-standard-error choice, the served
    interval's half-width and the honest evidence of the served procedure (lineage-out numbers unless
    named nested; None where not measured). The bundle JSON (``to_json``), the rows of
    ``predictor_served`` and the report's ``served`` entries are all made from it."""

    fit: LinearFit
    spec: str
    skill: str  # 'skill' | 'no_skill': the bootstrap CI of (served - mean baseline) MAE lies below 0
    halfwidth: float  # the served interval's half-width (conformal, interval_protocol's residuals)
    # the half-width served to a candidate outside the known lineages: conformal on the served
    # procedure's leave-one-lineage-out residuals (None in bundles built before it)
    halfwidth_lineage_out: float | None = None
    nested_mae_mean: float | None = None
    nested_mae_sd: float | None = None
    lineage_out_mae: float | None = None
    spearman: float | None = None
    coverage_top5: float | None = None
    coverage_top10: float | None = None
    interval_protocol: str | None = None  # 'nested' | 'lineage_out' (a serving build)
    interval_coverage: float | None = None  # empirical, at the bundle's interval_level
    interval_coverage_lo: float | None = None  # its 95% CI (lineage bootstrap)
    interval_coverage_hi: float | None = None
    mean_baseline_mae: float | None = None
    size_baseline_mae: float | None = None
    skill_diff: float | None = None  # served minus mean-baseline MAE, with its paired bootstrap CI
    skill_diff_lo: float | None = None
    skill_diff_hi: float | None = None
    n_models: int | None = None
    n_lineages: int | None = None
    selection: str | None = None  # 'outer': the spec choice was made inside every outer training part
    inner_seeds: int | None = None  # seeds of the inner CV the choice averages
    lineage_out_mae_sd: float | None = None  # sd over the seeds of the single-seed procedures' MAE
    lineage_out_mae_seed_mean: float | None = None  # their mean
    lineage_out_spearman_sd: float | None = None
    lineage_out_spearman_seed_mean: float | None = None
    vs_size: dict | None = None  # {"diff", "lo", "hi"}: served minus size-baseline MAE, lineage bootstrap
    lineage_out_interval_coverage: float | None = None  # of halfwidth_lineage_out's intervals, lineage-out
    lineage_out_interval_coverage_lo: float | None = None  # its lineage-bootstrap 95% CI
    lineage_out_interval_coverage_hi: float | None = None
    baselines: dict = field(default_factory=dict)  # baseline name -> its lineage-out MAE
    picks: dict = field(default_factory=dict)  # spec -> training parts in which the served procedure chose it
    vs_paper_reference: dict | None = None  # {"diff", "lo", "hi"}: served minus the paper reference's MAE

    def to_json(self) -> dict:
        """The bundle's JSON object (``vs_paper_reference`` only where evaluated)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["fit"] = self.fit.to_json()
        if self.vs_paper_reference is None:
            del out["vs_paper_reference"]
        return out

    @property
    def lineage_out_spearman(self) -> float | None:
        """The served procedure's Spearman on the leave-one-lineage-out predictions (``spearman``)."""
        return self.spearman

    @classmethod
    def from_json(cls, d: dict) -> ServedEntry:
        return cls(**{**d, "fit": LinearFit.from_json(d["fit"])})


def y_label(key: tuple[str, str]) -> str:
    """The JSON column label of a (method, target) pair in ``Y_train`` (bundle format 2)."""
    return f"{key[0]}/{key[1]}"


class ServedBundle:
    """Fitted predictors per (scale, method, target) with their training data and evidence."""

    def __init__(self, data: dict):
        self.data = data
        self.scales = list(data["scales"])
        self.scale = self.scales[0]  # the primary scale (normalized when served)
        self.features = list(data["features"])
        self.version = str(data["version"])
        self.train_hash = str(data.get("train_hash", ""))
        self.interval_level = float(data["interval_level"])
        self._entries: dict = {}
        self._X: dict = {}
        self._Y: dict = {}
        self._lineage: dict = {}
        for scale, s in data["by_scale"].items():
            if s.get("Y_train") is not None:  # targets and lineages: partial-input evidence
                self._Y[scale] = self._targets(s["Y_train"])
                self._lineage[scale] = pd.Series(s["lineage"], name="lineage")
            self._X[scale] = pd.DataFrame(s["X_train"]["data"], index=s["X_train"]["index"],
                                          columns=s["X_train"]["columns"], dtype=float)
            self._X[scale].index.name = "hf_id"
            for method, targets in s["served"].items():
                for target, e in targets.items():
                    self._entries[(scale, method, target)] = ServedEntry.from_json(e)

    def _targets(self, y: dict) -> pd.DataFrame:
        """``Y_train`` with (method, target) columns: the bundle's methods x targets, in the order its labels
        list them (each label checked against them)."""
        keys = {y_label((m, t)): (m, t) for m in self.methods for t in self.targets}
        unknown = [c for c in y["columns"] if c not in keys]
        if unknown:
            raise ValueError(f"Y_train columns {unknown} are not method/target pairs of the bundle")
        columns = pd.MultiIndex.from_tuples([keys[c] for c in y["columns"]], names=["method", "target"])
        return pd.DataFrame(y["data"], index=y["index"], columns=columns, dtype=float)

    @property
    def cache_key(self) -> str:
        """Identifies this bundle's content, for caches of what is computed from it: the version hashes
        only the training data, so two builds of the same data with other settings (seeds, candidates)
        share it; this adds a hash of the whole JSON."""
        if not hasattr(self, "_cache_key"):
            self._cache_key = f"{self.version}:{hashlib.sha256(self.to_json().encode()).hexdigest()[:16]}"
        return self._cache_key

    # -- access --------------------------------------------------------------------------------
    @property
    def methods(self) -> list[str]:
        return list(self.data["methods"])

    @property
    def targets(self) -> list[str]:
        return list(self.data["targets"])

    def X_train(self, scale: str | None = None) -> pd.DataFrame:
        """The known models' base features on ``scale`` (default the primary scale), index hf_id."""
        return self._X[scale or self.scale]

    def Y_train(self, scale: str | None = None) -> pd.DataFrame | None:
        """The known models' targets (columns: (method, target) pairs), or None in a bundle without them."""
        return self._Y.get(scale or self.scale)

    def lineage(self, scale: str | None = None) -> pd.Series | None:
        """hf_id -> lineage of the known models, or None in a bundle without them."""
        return self._lineage.get(scale or self.scale)

    def precomputed(self, kind: str, scale: str, *keys: str):
        """What the build precomputed for partial inputs (``advisor.predict.partial.precompute``):
        ``kind`` 'patterns' (keys: method, pattern), 'imputation_spread' or 'settings_spread' (key: the
        spread's key); None when not precomputed."""
        node = (self.data.get("precomputed") or {}).get(kind, {}).get(scale)
        for k in keys:
            node = node.get(k) if isinstance(node, dict) else None
        return node

    def known_lineages(self, hf_ids) -> np.ndarray:
        """Whether each hf_id belongs to a lineage of the known models: its lineage as
        ``advisor.db.lineage.lineage_of`` maps it (the database's ``model_lineages`` rows the bundle
        carries, else the hub org). A candidate outside them is served the lineage-out interval."""
        from advisor.db.lineage import lineage_of

        listed = self.data.get("lineages") or {}
        known = set()
        for scale in self.scales:
            lin = self.lineage(scale)
            if lin is not None:
                known.update(lin.astype(str))
        return np.array([lineage_of(h, listed) in known for h in hf_ids], dtype=bool)

    def entry(self, scale: str, method: str, target: str) -> ServedEntry:
        try:
            return self._entries[(scale, method, target)]
        except KeyError:
            raise KeyError(f"no served predictor for scale {scale!r}, method {method!r}, target "
                           f"{target!r}; scales {self.scales}, methods {self.methods}, targets "
                           f"{self.targets}") from None

    def fit(self, scale: str, method: str, target: str) -> LinearFit:
        return self.entry(scale, method, target).fit

    def skill(self, scale: str, method: str, target: str = "score") -> str:
        return self.entry(scale, method, target).skill

    def predict(self, X: pd.DataFrame, scale: str | None = None, method: str = "regression",
                target: str = "score") -> np.ndarray:
        return self.fit(scale or self.scale, method, target).predict(X)

    # -- JSON ----------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(self.data, allow_nan=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, where: str = "bundle") -> ServedBundle:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise BundleError(f"{where} is not a JSON predictor bundle ({type(exc).__name__}). Fix: "
                              "rebuild with `python -m pipeline.run --stages predictor`") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BundleError(f"{where} is JSON but not an rm-advisor predictor bundle (no "
                              f"'format': {FORMAT!r}). Fix: rebuild with `python -m pipeline.run "
                              "--stages predictor`")
        if data.get("format_version") != FORMAT_VERSION:
            raise BundleError(f"{where}: bundle format {data.get('format_version')!r}, this code reads "
                              f"{FORMAT_VERSION}. Fix: rebuild with `python -m pipeline.run --stages "
                              "predictor`")
        try:
            return cls(data)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise BundleError(f"{where}: damaged predictor bundle ({type(exc).__name__}: {exc}). "
                              "Fix: rebuild with `python -m pipeline.run --stages predictor`") from None


def build(scales: dict, methods, targets, interval_level: float, version: str, train_hash: str,
          versions: dict, created_at: str, procedure: dict | None = None, lineages: dict | None = None,
          precomputed: dict | None = None) -> ServedBundle:
    """``scales``: {scale: {"X_train": DataFrame, "served": {(method, target): ServedEntry}}}; optionally
    "Y_train" (DataFrame, columns (method, target) pairs) and "lineage" (Series hf_id -> lineage), which
    let the app measure reduced specs for partial inputs (``advisor.predict.partial``). ``procedure``: the
    served procedure's settings ({"candidates", "cv", "random_state", "inner_seeds"}) for the same.
    ``lineages``: hf_id -> lineage of every listed model (the database's ``model_lineages``), to tell
    candidates of a known lineage from the rest. ``precomputed``: what ``advisor.predict.partial.precompute``
    evaluated for partial inputs at build time (``ServedBundle.precomputed`` reads it)."""
    def clean(v):
        if isinstance(v, ServedEntry):
            return clean(v.to_json())
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, (np.floating, float)):
            return float(v) if math.isfinite(v) else None
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.bool_):
            return bool(v)
        return v

    by_scale = {}
    for scale, s in scales.items():
        X = s["X_train"][list(BASE_FEATURES)]
        by_scale[scale] = {"X_train": {"index": [str(i) for i in X.index], "columns": list(X.columns),
                                       "data": X.to_numpy(float).tolist()},
                           "served": clean(_nested(s["served"]))}
        if s.get("Y_train") is not None:
            Y = s["Y_train"].loc[X.index]
            by_scale[scale]["Y_train"] = {"index": [str(i) for i in Y.index],
                                          "columns": [y_label(k) for k in Y.columns],
                                          "data": Y.to_numpy(float).tolist()}
            by_scale[scale]["lineage"] = {str(k): str(v) for k, v in
                                          s["lineage"].reindex(X.index).items()}
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, "version": version,
            "train_hash": train_hash, "created_at": created_at, "versions": versions,
            "scales": list(scales), "features": list(BASE_FEATURES), "methods": list(methods),
            "targets": list(targets), "interval_level": float(interval_level), "by_scale": by_scale,
            **({"procedure": clean(procedure)} if procedure else {}),
            **({"lineages": {str(k): str(v) for k, v in lineages.items()}} if lineages else {}),
            **({"precomputed": clean(precomputed)} if precomputed else {})}
    return ServedBundle(json.loads(json.dumps(data, allow_nan=False)))


def _nested(served: dict) -> dict:
    """{(method, target): entry} -> the JSON's {method: {target: entry}} (order kept)."""
    out: dict = {}
    for (method, target), e in served.items():
        out.setdefault(method, {})[target] = e
    return out


BUNDLE_ENV = "RM_ADVISOR_BUNDLE"  # names an exported JSON bundle to serve instead of the database's own


def source(db_path=None) -> tuple[str, Path]:
    """Where the served bundle comes from, for the app and the CLI alike: ("file", $RM_ADVISOR_BUNDLE)
    when that is set (read on every call), else ("db", the database at ``db_path``)."""
    from advisor.db import store

    override = os.environ.get(BUNDLE_ENV)
    return ("file", Path(override)) if override else ("db", store.db_path(db_path))


def load(kind: str, path) -> ServedBundle:
    """The bundle at a ``source()``: the database's table, or the exported JSON file."""
    if kind == "db":
        return load_bundle(path)
    try:
        return load_bundle_file(path)
    except BundleError as exc:
        raise BundleError(f"{exc}; or unset {BUNDLE_ENV} (it names this file) to serve the database's own "
                          "bundle") from None


def load_bundle(db_path=None) -> ServedBundle:
    """The bundle stored in the database at ``db_path`` (default: the app's database).

    FileNotFoundError when the database is missing; BundleError (a ValueError) when it holds no
    usable bundle, with the fix in the message.
    """
    from advisor.db import store

    p = store.db_path(db_path)
    con = store.connect(p)
    try:
        if not store.has_table(con, "predictor_bundle"):
            raise BundleError(f"{p} holds no predictor bundle (built before bundles were stored in "
                              f"the database). Fix: rebuild it with `python -m pipeline.run --db {p}`")
        row = con.execute("SELECT bundle_json FROM predictor_bundle LIMIT 1").fetchone()
    finally:
        con.close()
    if row is None:
        raise BundleError(f"{p} holds no predictor bundle yet. Fix: run `python -m pipeline.run "
                          "--stages predictor`")
    return ServedBundle.from_json(row[0], where=f"{p} (table predictor_bundle)")


def load_bundle_file(path) -> ServedBundle:
    """A bundle exported as a JSON file. Anything else (a pickle, a CSV, a huge file) is refused with
    a message; the file is only ever parsed as JSON, so nothing in it can run."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such predictor bundle file. Fix: unset RM_ADVISOR_BUNDLE, "
                                "or export one with `python -m pipeline.report --bundle FILE`")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise BundleError(f"{p} is larger than {MAX_FILE_BYTES // 2**20} MB: not a predictor bundle")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"{p} is not a JSON predictor bundle (binary content, e.g. a pickle: never "
                          "loaded). Fix: point RM_ADVISOR_BUNDLE at a JSON bundle or unset it") from None
    return ServedBundle.from_json(text, where=str(p))
