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
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

import advisor
from advisor.core import registry
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
        validate(data, where)
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


# -- schema: what a bundle file must hold before anything reads it ---------------------------------
# A bundle may come from a file anyone edits (RM_ADVISOR_BUNDLE): every field is checked for its type,
# shape, finiteness and known keys on load (``validate``), so a damaged or hostile bundle is a
# BundleError naming the field, never a KeyError/TypeError deep in a prediction, NaN predictions that
# get ranked, or text that a page renders as Markdown (issue 27, finding 8).

_TOP_REQUIRED = ("format", "format_version", "version", "train_hash", "created_at", "versions", "scales",
                 "features", "methods", "targets", "interval_level", "by_scale")
_TOP_OPTIONAL = ("procedure", "lineages", "precomputed")
_FIT_REQUIRED = ("name", "inputs", "degree", "mean1", "std1", "mean2", "std2", "coef", "intercept", "params",
                 "cv_mae", "cv_se")
_PARTIAL_KEYS = ("method", "label", "mae", "imputation_mae", "reduced_mae", "mean_mae", "skill", "skill_diff",
                 "skill_diff_lo", "skill_diff_hi", "spec", "fit", "halfwidth", "n_models", "missing")
_PLAIN = re.compile(r"[A-Za-z0-9_.+:/ (),-]{1,200}")  # ids, versions, names: nothing a page renders as markup


def _bad(path: str, what: str) -> BundleError:
    return BundleError(f"field {path}: {what}")


def _keys(d, path: str, required, optional=()) -> dict:
    if not isinstance(d, dict):
        raise _bad(path, f"expected an object, found {type(d).__name__}")
    missing = [k for k in required if k not in d]
    unknown = [k for k in d if k not in required and k not in optional]
    if missing or unknown:
        raise _bad(path, f"missing {missing}" if missing else f"unknown key(s) {[str(k)[:40] for k in unknown]}")
    return d


def _text(v, path: str, plain: bool = True) -> str:
    if not isinstance(v, str) or (plain and not _PLAIN.fullmatch(v)):
        raise _bad(path, f"expected {'an id (letters, digits, _.+:/ (),-)' if plain else 'text'}, found "
                         f"{str(v)[:40]!r}")
    return v


def _number(v, path: str, lo: float = -math.inf, hi: float = math.inf, optional: bool = False):
    if v is None and optional:
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise _bad(path, f"expected a finite number in [{lo:g}, {hi:g}], found {str(v)[:40]!r}")
    return v


def _integer(v, path: str, lo: int = 0, optional: bool = False):
    if (v is None and optional) or (isinstance(v, int) and not isinstance(v, bool) and v >= lo):
        return v
    raise _bad(path, f"expected an integer >= {lo}, found {str(v)[:40]!r}")


def _ids(v, path: str, allowed=None, unique: bool = True) -> list:
    if not isinstance(v, list) or not v:
        raise _bad(path, "expected a non-empty list")
    for i, x in enumerate(v):
        _text(x, f"{path}[{i}]")
        if allowed is not None and x not in allowed:
            raise _bad(f"{path}[{i}]", f"{x!r} is not one of {list(allowed)}")
    if unique and len(set(v)) != len(v):
        raise _bad(path, "repeated entries")
    return v


def _vector(v, path: str, n: int, positive: bool = False) -> list:
    if not isinstance(v, list) or len(v) != n:
        raise _bad(path, f"expected a list of {n} numbers")
    for i, x in enumerate(v):
        _number(x, f"{path}[{i}]", lo=1e-12 if positive else -math.inf)
    return v


def _matrix(m, path: str, columns) -> int:
    """A {"index", "columns", "data"} frame: unique ids, the given columns (None: any ids), finite cells."""
    _keys(m, path, ("index", "columns", "data"))
    index = _ids(m["index"], f"{path}.index")
    cols = _ids(m["columns"], f"{path}.columns", allowed=columns)
    if not isinstance(m["data"], list) or len(m["data"]) != len(index):
        raise _bad(f"{path}.data", f"expected {len(index)} rows")
    for i, row in enumerate(m["data"]):
        _vector(row, f"{path}.data[{i}]", len(cols))
    return len(index)


def _fit(f, path: str) -> None:
    from math import comb

    from advisor.predict.specs import base_columns

    _keys(f, path, _FIT_REQUIRED, ("lo", "hi"))
    _text(f["name"], f"{path}.name")
    inputs = _ids(f["inputs"], f"{path}.inputs")
    if not set(base_columns(inputs)) <= set(BASE_FEATURES):
        raise _bad(f"{path}.inputs", f"not inputs of the base features {list(BASE_FEATURES)}")
    degree = _integer(f["degree"], f"{path}.degree", lo=1)
    if degree > 3:
        raise _bad(f"{path}.degree", "expected 1, 2 or 3")
    k = len(inputs)
    terms = comb(k + degree, degree) - 1
    for a, n in (("mean1", k), ("std1", k), ("mean2", terms), ("std2", terms), ("coef", terms)):
        _vector(f[a], f"{path}.{a}", n, positive=a.startswith("std"))
    for a in ("lo", "hi"):
        if a in f:
            _vector(f[a], f"{path}.{a}", k)
    _number(f["intercept"], f"{path}.intercept")
    _number(f["cv_mae"], f"{path}.cv_mae", lo=0, optional=True)
    _number(f["cv_se"], f"{path}.cv_se", lo=0, optional=True)
    _flat(f["params"], f"{path}.params")


def _flat(d, path: str) -> None:
    """An object of names to finite numbers (or None)."""
    for k, v in _keys(d, path, (), tuple(d) if isinstance(d, dict) else ()).items():
        _text(k, f"{path} key")
        _number(v, f"{path}.{k}", optional=True)


def _entry(e, path: str) -> None:
    names = [f.name for f in fields(ServedEntry)]
    _keys(e, path, ("fit", "spec", "skill", "halfwidth"), names)
    _fit(e["fit"], f"{path}.fit")
    for f in fields(ServedEntry):
        v, where = e.get(f.name), f"{path}.{f.name}"
        if f.name == "fit" or v is None and "None" in str(f.type):
            continue
        if f.name == "skill" and v not in ("skill", "no_skill"):
            raise _bad(where, f"expected 'skill' or 'no_skill', found {str(v)[:40]!r}")
        if str(f.type).startswith("float"):
            _number(v, where, lo=0 if "halfwidth" in f.name else -math.inf)
        elif str(f.type).startswith("int"):
            _integer(v, where)
        elif str(f.type).startswith("str"):
            _text(v, where)
        elif str(f.type).startswith("dict"):
            _flat(v, where)


def _scale(s, path: str, methods, targets) -> None:
    _keys(s, path, ("X_train", "served"), ("Y_train", "lineage"))
    n = _matrix(s["X_train"], f"{path}.X_train", BASE_FEATURES)
    if n < 3:
        raise _bad(f"{path}.X_train", "expected at least 3 known models")
    _keys(s["served"], f"{path}.served", methods)
    for m in methods:
        _keys(s["served"][m], f"{path}.served.{m}", targets)
        for t in targets:
            _entry(s["served"][m][t], f"{path}.served.{m}.{t}")
    if ("Y_train" in s) != ("lineage" in s):
        raise _bad(path, "Y_train and lineage come together")
    if "Y_train" in s:
        labels = [y_label((m, t)) for m in methods for t in targets]
        _matrix(s["Y_train"], f"{path}.Y_train", labels)
        if set(s["Y_train"]["index"]) != set(s["X_train"]["index"]):
            raise _bad(f"{path}.Y_train.index", "expected the models of X_train")
        lineage = _keys(s["lineage"], f"{path}.lineage", s["X_train"]["index"])
        for k, v in lineage.items():
            _text(v, f"{path}.lineage.{k}")


def _precomputed(p, path: str, scales, methods, targets) -> None:
    _keys(p, path, (), ("patterns", "imputation_spread", "settings_spread"))
    for kind, by_scale in p.items():
        _keys(by_scale, f"{path}.{kind}", (), scales)
        for scale, node in by_scale.items():
            where = f"{path}.{kind}.{scale}"
            if kind != "patterns":
                _keys(node, where, (), tuple(node) if isinstance(node, dict) else ())
                for k, v in node.items():
                    _number(v, f"{where}.{str(k)[:40]}", lo=0)
                continue
            for method, pats in _keys(node, where, (), methods).items():
                keys = tuple(pats) if isinstance(pats, dict) else ()  # any pattern key; _keys checks the type
                for key, per_target in _keys(pats, f"{where}.{method}", (), keys).items():
                    for t, e in _keys(per_target, f"{where}.{method}.{key}", targets).items():
                        _partial(e, f"{where}.{method}.{key}.{t}")


def _partial(e, path: str) -> None:
    """A pattern's stored evidence (``advisor.predict.partial.entry_to_json``)."""
    _keys(e, path, _PARTIAL_KEYS)
    if e["method"] not in ("reduced", "imputation"):
        raise _bad(f"{path}.method", f"expected 'reduced' or 'imputation', found {str(e['method'])[:40]!r}")
    reduced = e["method"] == "reduced"
    for k in ("mae", "imputation_mae", "reduced_mae", "mean_mae", "skill_diff", "skill_diff_lo", "skill_diff_hi"):
        _number(e[k], f"{path}.{k}", optional=True)
    _number(e["halfwidth"], f"{path}.halfwidth", lo=0, optional=not reduced)
    _number(e["mae"], f"{path}.mae", lo=0)
    _text(e["label"], f"{path}.label")
    _text(e["skill"], f"{path}.skill")
    _integer(e["n_models"], f"{path}.n_models")
    if not isinstance(e["missing"], list):
        raise _bad(f"{path}.missing", "expected a list")
    _ids(e["missing"] or ["-"], f"{path}.missing")
    if e["spec"] is not None:
        _text(e["spec"], f"{path}.spec")
    if reduced or e["fit"] is not None:
        _fit(e["fit"], f"{path}.fit")


def validate(data, where: str = "bundle") -> dict:
    """``data`` (a parsed bundle JSON) checked field by field; BundleError naming the first bad field."""
    try:
        _keys(data, "bundle", _TOP_REQUIRED, _TOP_OPTIONAL)
        for k in ("version", "train_hash", "created_at"):
            _text(data[k], k)
        for k, v in _keys(data["versions"], "versions", (), tuple(data["versions"]) if isinstance(
                data["versions"], dict) else ()).items():
            _text(v, f"versions.{str(k)[:40]}")
        scales = _ids(data["scales"], "scales", allowed=("normalized", "raw"))
        if _ids(data["features"], "features") != list(BASE_FEATURES):
            raise _bad("features", f"expected {list(BASE_FEATURES)}")
        methods = _ids(data["methods"], "methods", allowed=registry.METHODS)
        targets = _ids(data["targets"], "targets", allowed=registry.RM_TARGETS)
        _number(data["interval_level"], "interval_level", lo=0.5, hi=0.999)
        _keys(data["by_scale"], "by_scale", scales)
        for s in scales:
            _scale(data["by_scale"][s], f"by_scale.{s}", methods, targets)
        if "procedure" in data:
            _validate_procedure(data["procedure"])
        if "lineages" in data:
            lin = data["lineages"]
            for k, v in _keys(lin, "lineages", (), tuple(lin) if isinstance(lin, dict) else ()).items():
                _text(v, f"lineages.{str(k)[:40]}")
        if "precomputed" in data:
            _precomputed(data["precomputed"], "precomputed", scales, methods, targets)
    except BundleError as exc:
        raise BundleError(f"{where}: damaged predictor bundle, {exc}. Fix: rebuild with `python -m "
                          "pipeline.run --stages predictor`") from None
    return data


def _validate_procedure(p) -> None:
    _keys(p, "procedure", ("candidates", "cv", "random_state"), ("inner_seeds",))
    _ids(p["candidates"], "procedure.candidates")
    _integer(p["cv"], "procedure.cv", lo=2)
    _integer(p["random_state"], "procedure.random_state")
    _integer(p.get("inner_seeds", 1), "procedure.inner_seeds", lo=1)
