"""The served predictors as plain JSON, stored inside the database they were built with.

The pipeline's predictor stage writes one JSON document into the table ``predictor_bundle`` of the
database it builds, so the bundle is published atomically with the database, follows ``--db``, and a
failed run changes nothing the app serves. Nothing is unpickled: a bundle is numbers (input scalers,
coefficients, intercepts, interval half-widths), the training matrix used for imputation and nearest
neighbours, and the evidence summary of each served (scale, method, target).

``load_bundle(db_path)`` reads it from a database (read-only); ``load_bundle_file(path)`` reads an
exported JSON file (``RM_ADVISOR_BUNDLE``) and refuses anything else with a message.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd

import advisor
from advisor.predict.specs import BASE_FEATURES, LinearFit

FORMAT = "rm-advisor-predictor-bundle"
FORMAT_VERSION = 2
MAX_FILE_BYTES = 50 * 1024 * 1024


def data_hash(X: pd.DataFrame, y: pd.Series | pd.DataFrame) -> str:
    """SHA-256 of the training data (rows sorted by index, columns as given)."""
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
        self._fits: dict = {}
        self._X: dict = {}
        self._Y: dict = {}
        self._lineage: dict = {}
        for scale, s in data["by_scale"].items():
            if s.get("Y_train") is not None:  # targets and lineages: partial-input evidence
                self._Y[scale] = pd.DataFrame(s["Y_train"]["data"], index=s["Y_train"]["index"],
                                              columns=s["Y_train"]["columns"], dtype=float)
                self._lineage[scale] = pd.Series(s["lineage"], name="lineage")
            self._X[scale] = pd.DataFrame(s["X_train"]["data"], index=s["X_train"]["index"],
                                          columns=s["X_train"]["columns"], dtype=float)
            self._X[scale].index.name = "hf_id"
            for method, targets in s["served"].items():
                for target, e in targets.items():
                    self._fits[(scale, method, target)] = LinearFit.from_json(e["fit"])

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
        """The known models' targets (columns method/target), or None in a bundle without them."""
        return self._Y.get(scale or self.scale)

    def lineage(self, scale: str | None = None) -> pd.Series | None:
        """hf_id -> lineage of the known models, or None in a bundle without them."""
        return self._lineage.get(scale or self.scale)

    def entry(self, scale: str, method: str, target: str) -> dict:
        try:
            return self.data["by_scale"][scale]["served"][method][target]
        except KeyError:
            raise KeyError(f"no served predictor for scale {scale!r}, method {method!r}, target "
                           f"{target!r}; scales {self.scales}, methods {self.methods}, targets "
                           f"{self.targets}") from None

    def fit(self, scale: str, method: str, target: str) -> LinearFit:
        self.entry(scale, method, target)
        return self._fits[(scale, method, target)]

    def skill(self, scale: str, method: str, target: str = "score") -> str:
        return self.entry(scale, method, target)["skill"]

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
          versions: dict, created_at: str, procedure: dict | None = None) -> ServedBundle:
    """``scales``: {scale: {"X_train": DataFrame, "served": {method: {target: entry}}}} where an entry
    holds "fit" (LinearFit), "skill", "spec", "halfwidth" and evidence numbers; optionally "Y_train"
    (DataFrame, columns method/target) and "lineage" (Series hf_id -> lineage), which let the app
    measure reduced specs for partial inputs (``advisor.predict.partial``). ``procedure``: the served
    procedure's settings ({"candidates", "cv", "random_state"}) for the same."""
    def clean(v):
        if isinstance(v, LinearFit):
            return v.to_json()
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
                           "served": clean(s["served"])}
        if s.get("Y_train") is not None:
            Y = s["Y_train"].loc[X.index]
            by_scale[scale]["Y_train"] = {"index": [str(i) for i in Y.index],
                                          "columns": list(Y.columns), "data": Y.to_numpy(float).tolist()}
            by_scale[scale]["lineage"] = {str(k): str(v) for k, v in
                                          s["lineage"].reindex(X.index).items()}
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, "version": version,
            "train_hash": train_hash, "created_at": created_at, "versions": versions,
            "scales": list(scales), "features": list(BASE_FEATURES), "methods": list(methods),
            "targets": list(targets), "interval_level": float(interval_level), "by_scale": by_scale,
            **({"procedure": clean(procedure)} if procedure else {})}
    return ServedBundle(json.loads(json.dumps(data, allow_nan=False)))


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
