"""Predictor specs as data (``advisor/predict/predictor_specs.yaml``), their fits, and the baselines.

A spec names its inputs (registry names or derived inputs such as ``log_params_b``), its polynomial
degrees and its Elastic Net grid. ``fit_spec`` runs the spec's own hyperparameter search (the fast
grid search of ``advisor.predict.search``, ``cv``-fold CV on MAE) on the training rows only and refits the
chosen configuration: everything a spec selects happens inside its fit. Several targets on the same
rows share one search. A fit is a ``LinearFit``: plain numbers (its ``search.Design``: input scalers,
degree, term scalers; coefficients, intercept) that round-trip through JSON exactly, so the served
predictors are stored as JSON, never pickled.

Baselines (``fit_baseline``), each an ordinary least-squares line fitted on the training rows:
``mean`` (predict the training mean), ``best_single`` (the one input among the six OLL v2 tasks,
log params and log tokens with the largest absolute correlation with the target in the training
rows), ``size`` (log params), ``oll_average`` (the OLL v2 mean).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.model_selection import KFold

from advisor.core import registry
from advisor.predict import search

SPECS_FILE = Path(__file__).with_name("predictor_specs.yaml")
BASE_FEATURES = (*registry.OLL_V2_TASKS, *registry.TRAINING_METRICS)  # what every input derives from
DERIVED = {
    "log_params_b": "log(params_b); params_b <= 0 is unknown -> missing",
    "log_pretrain_tokens_t": "log(pretrain_tokens_t); <= 0 -> missing",
    "oll_v2_mean": "mean of the six Open LLM Leaderboard v2 tasks on the scale served",
}
MEAN_OF = "mean_of:"  # "mean_of:a+b": the mean of some OLL v2 tasks (reduced specs, advisor.predict.partial)
BASELINES = ("mean", "best_single", "size", "oll_average")
BEST_SINGLE_POOL = (*registry.OLL_V2_TASKS, "log_params_b", "log_pretrain_tokens_t")


# ---------------------------------------------------------------------------------------------
# inputs

def _log_positive(v: pd.Series) -> pd.Series:
    v = pd.to_numeric(v, errors="coerce").astype(float)
    return np.log(v.where(v > 0))


def input_frame(X: pd.DataFrame, inputs) -> pd.DataFrame:
    """The spec inputs computed from the base columns of X (registry names); missing stays NaN."""
    lacking = [c for c in base_columns(inputs) if c not in X.columns]
    if lacking:
        raise KeyError(f"X lacks column(s) {lacking}, read by the inputs {list(inputs)}. Fix: add them "
                       "(registry names), or impute them (advisor.predict.impute)")
    out = {}
    for name in inputs:
        if name == "log_params_b":
            out[name] = _log_positive(X["params_b"])
        elif name == "log_pretrain_tokens_t":
            out[name] = _log_positive(X["pretrain_tokens_t"])
        elif name == "oll_v2_mean":
            out[name] = X[list(registry.OLL_V2_TASKS)].apply(pd.to_numeric, errors="coerce").mean(
                axis=1, skipna=False)
        elif name.startswith(MEAN_OF):
            out[name] = X[name[len(MEAN_OF):].split("+")].apply(pd.to_numeric, errors="coerce").mean(
                axis=1, skipna=False)
        else:
            out[name] = pd.to_numeric(X[name], errors="coerce").astype(float)
    return pd.DataFrame(out, index=X.index, columns=list(inputs))


def base_columns(inputs) -> list[str]:
    """The base features (registry names) the inputs derive from, in BASE_FEATURES order."""
    need = set()
    for name in inputs:
        if name == "log_params_b":
            need.add("params_b")
        elif name == "log_pretrain_tokens_t":
            need.add("pretrain_tokens_t")
        elif name == "oll_v2_mean":
            need.update(registry.OLL_V2_TASKS)
        elif name.startswith(MEAN_OF):
            need.update(name[len(MEAN_OF):].split("+"))
        else:
            need.add(name)
    return [f for f in BASE_FEATURES if f in need] + sorted(need - set(BASE_FEATURES))


# ---------------------------------------------------------------------------------------------
# the registry

@dataclass(frozen=True)
class Spec:
    name: str
    description: str
    inputs: tuple
    degrees: tuple
    alphas: tuple
    l1_ratios: tuple
    complexity: int
    candidate: bool = True
    paper_reference: bool = False


def _check_input(spec: str, name: str) -> None:
    if name in DERIVED:
        return
    try:
        registry.get(name)
    except KeyError:
        raise ValueError(f"{SPECS_FILE.name}, spec {spec!r}: unknown input {name!r}; use a registry "
                         f"name or one of {sorted(DERIVED)}") from None


@lru_cache(maxsize=4)
def load_specs(path: str | None = None) -> dict[str, Spec]:
    raw = yaml.safe_load(Path(path or SPECS_FILE).read_text())
    out = {}
    for name, d in raw.items():
        spec = Spec(name=name, description=d["description"], inputs=tuple(d["inputs"]),
                    degrees=tuple(int(x) for x in d["degrees"]),
                    alphas=tuple(float(x) for x in d["alphas"]),
                    l1_ratios=tuple(float(x) for x in d["l1_ratios"]),
                    complexity=int(d["complexity"]), candidate=bool(d.get("candidate", True)),
                    paper_reference=bool(d.get("paper_reference", False)))
        for i in spec.inputs:
            _check_input(name, i)
        out[name] = spec
    if sum(s.paper_reference for s in out.values()) != 1:
        raise ValueError(f"{SPECS_FILE}: exactly one spec must be the paper_reference")
    return out


def get(name: str) -> Spec:
    """The spec called ``name``; the error lists the valid names."""
    specs = load_specs()
    try:
        return specs[name]
    except KeyError:
        raise KeyError(f"unknown predictor spec {name!r}; valid names: {', '.join(specs)}") from None


def resolve(spec: Spec | str) -> Spec:
    """A spec given by name (looked up with ``get``) or as a ``Spec`` (e.g. a registry spec with other
    inputs, ``dataclasses.replace(get("paper_enet"), inputs=...)``)."""
    return get(spec) if isinstance(spec, str) else spec


def candidates() -> list[str]:
    return [n for n, s in load_specs().items() if s.candidate]


def paper_reference() -> str:
    return next(n for n, s in load_specs().items() if s.paper_reference)


# ---------------------------------------------------------------------------------------------
# a fitted linear predictor, as plain numbers

@dataclass
class LinearFit:
    """y = ``design``'s standardized polynomial terms of the inputs @ coef + intercept."""
    name: str
    inputs: list
    design: search.Design  # input scalers, polynomial degree, term scalers
    coef: np.ndarray
    intercept: float
    params: dict = field(default_factory=dict)  # alpha, l1_ratio (specs) or the chosen input
    cv_mae: float = float("nan")  # inner CV MAE of the chosen configuration (specs only)
    cv_se: float = float("nan")  # its standard error over the inner folds
    lo: np.ndarray | None = None  # input range of the training rows (for clamping)
    hi: np.ndarray | None = None

    @property
    def degree(self) -> int:
        return self.design.degree

    def terms(self, A: np.ndarray) -> np.ndarray:
        return self.design.transform(A)

    def predict_inputs(self, A: np.ndarray) -> np.ndarray:
        A = np.asarray(A, dtype=float).reshape(len(A), len(self.inputs))
        if not self.inputs:
            return np.full(len(A), self.intercept)
        return self.terms(A) @ self.coef + self.intercept

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        A = input_frame(X, self.inputs)
        bad = A.isna().to_numpy()
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"row {A.index[i]!r}: input {self.inputs[j]!r} is missing (from "
                             f"{base_columns([self.inputs[j]])}). Fix: supply it or impute it")
        return self.predict_inputs(A.to_numpy(float))

    def to_json(self) -> dict:
        d = self.design
        arr = {k: np.asarray(v, dtype=float).tolist() for k, v in
               (("mean1", d.mean1), ("std1", d.std1), ("mean2", d.mean2), ("std2", d.std2), ("coef", self.coef))}
        out = {"name": self.name, "inputs": list(self.inputs), "degree": int(d.degree), **arr,
               "intercept": float(self.intercept), "params": self.params,
               "cv_mae": None if not math.isfinite(self.cv_mae) else float(self.cv_mae),
               "cv_se": None if not math.isfinite(self.cv_se) else float(self.cv_se)}
        if self.lo is not None:
            out["lo"], out["hi"] = np.asarray(self.lo).tolist(), np.asarray(self.hi).tolist()
        return out

    @classmethod
    def from_json(cls, d: dict) -> LinearFit:
        k = len(d["inputs"])
        design = search.Design(int(d["degree"]), *(np.asarray(d[a], dtype=float)
                                                    for a in ("mean1", "std1", "mean2", "std2")))
        fit = cls(name=str(d["name"]), inputs=[str(i) for i in d["inputs"]], design=design,
                  coef=np.asarray(d["coef"], dtype=float), intercept=float(d["intercept"]),
                  params=dict(d.get("params") or {}),
                  cv_mae=float("nan") if d.get("cv_mae") is None else float(d["cv_mae"]),
                  cv_se=float("nan") if d.get("cv_se") is None else float(d["cv_se"]),
                  lo=None if d.get("lo") is None else np.asarray(d["lo"], dtype=float),
                  hi=None if d.get("hi") is None else np.asarray(d["hi"], dtype=float))
        if design.mean1.shape != (k,) or design.std1.shape != (k,) or fit.coef.shape != design.mean2.shape:
            raise ValueError(f"fit {fit.name!r}: arrays do not match its {k} inputs")
        return fit


# ---------------------------------------------------------------------------------------------
# fitting a spec (inner search inside) and the baselines

def _inputs_matrix(X: pd.DataFrame, inputs) -> np.ndarray:
    A = input_frame(X, inputs).to_numpy(float)
    if not np.isfinite(A).all():
        raise ValueError(f"inputs {list(inputs)} have missing values in the training rows")
    return A


def inner_splits(n: int, cv: int, random_state: int = 0, seeds: int = 1) -> list[tuple]:
    """The inner CV of a search: ``seeds`` repeats of shuffled ``cv``-fold KFold, seeded random_state,
    random_state + 1, ..., as [(train, test)] (seed-major). One seed is the single 10-fold CV of earlier
    versions; averaging over 20 makes the choice independent of any one seed."""
    return [split for r in range(seeds)
            for split in KFold(cv, shuffle=True, random_state=random_state + r).split(np.zeros(n))]


@dataclass
class SpecSearch:
    """A spec's hyperparameter search on some rows: the test MAE of every configuration on every inner
    split (``seeds`` x ``cv`` of them) and, on request, the refit of a configuration on all rows.

    ``choice(t)``: the configuration with the lowest MAE averaged over all seeds' folds (first of equals
    in grid order: lower degree, larger alpha, smaller l1_ratio); ``choice(t, seed)``: the same on one
    seed's folds, i.e. the single-seed search. ``fit(t, seed)`` is that choice refitted as a LinearFit
    whose ``cv_mae`` is its mean fold MAE and ``cv_se`` the standard error over one seed's folds (sd / sqrt
    of the folds), averaged over the seeds used: the inputs of the one-standard-error rule."""
    spec: Spec
    A: np.ndarray  # the spec's inputs on the rows
    Y: np.ndarray  # (n, T)
    configs: list  # (degree, alpha, l1_ratio), grid order
    fold_mae: np.ndarray  # (T, seeds, cv, C)
    full: search.LinearGrid | None  # degree-1 configurations fitted on all rows
    max_iter: int = 10_000
    tol: float = 1e-4
    _refits: dict = field(default_factory=dict)

    def choice(self, t: int, seed: int | None = None) -> int:
        f = self.fold_mae[t] if seed is None else self.fold_mae[t, [seed]]
        return int(np.argmin(f.mean(axis=(0, 1))))

    def stats(self, t: int, c: int, seed: int | None = None) -> tuple[float, float]:
        """(cv_mae, cv_se) of configuration ``c`` for target ``t`` (all seeds, or one)."""
        f = self.fold_mae[t, :, :, c] if seed is None else self.fold_mae[t, [seed], :, c]
        return float(f.mean()), float(np.mean(f.std(axis=1, ddof=1)) / math.sqrt(f.shape[1]))

    def per_seed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every single-seed search at once: (choice, cv_mae, cv_se), each (T, seeds)."""
        means = self.fold_mae.mean(axis=2)  # (T, seeds, C)
        choice = means.argmin(axis=2)
        se = self.fold_mae.std(axis=2, ddof=1) / math.sqrt(self.fold_mae.shape[2])
        pick = (np.arange(means.shape[0])[:, None], np.arange(means.shape[1])[None, :], choice)
        return choice, means[pick], se[pick]

    def fit(self, t: int, seed: int | None = None) -> LinearFit:
        c = self.choice(t, seed)
        degree, alpha, l1 = self.configs[c]
        design, coef, intercept = self._refit(t, c)
        cv_mae, cv_se = self.stats(t, c, seed)
        return LinearFit(self.spec.name, list(self.spec.inputs), design, coef, intercept,
                         {"alpha": alpha, "l1_ratio": l1}, cv_mae, cv_se, self.A.min(axis=0),
                         self.A.max(axis=0))

    def _refit(self, t: int, c: int):
        degree, alpha, l1 = self.configs[c]
        if degree == 1:
            j = self.full.configs.index((alpha, l1))
            return self.full.design(0), self.full.coef[0, j, :, t].copy(), float(self.full.y_mean[0, t])
        key = (t, c)
        if key not in self._refits:
            import warnings

            from sklearn.exceptions import ConvergenceWarning

            design, P = search.fit_design(self.A, degree)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fits, _ = search.fit_configs(P, self.Y[:, t], [a for a in self.spec.alphas if a >= alpha],
                                             [l1], self.max_iter, self.tol)
            coef, intercept = fits[(alpha, l1)]
            self._refits[key] = (design, np.asarray(coef, dtype=float), float(intercept))
        return self._refits[key]


def search_spec(spec: Spec | str, X: pd.DataFrame, Y, cv: int = 10, random_state: int = 0,
                seeds: int = 1, max_iter: int = 10_000, tol: float = 1e-4) -> SpecSearch:
    """``spec``'s hyperparameter search on the rows of X for every column of Y (n,) or (n, T): every
    configuration on ``seeds`` x ``cv`` inner splits (``inner_splits``), the targets sharing the splits
    and designs. Runs sequentially: its callers run outer folds in parallel."""
    spec = resolve(spec)
    A = _inputs_matrix(X, spec.inputs)
    Y = np.asarray(Y, dtype=float).reshape(len(A), -1)
    splits = inner_splits(len(A), cv, random_state, seeds)
    configs, fold_mae, full = search.search_grid(A, Y, splits, spec.degrees, spec.alphas, spec.l1_ratios,
                                                 max_iter, tol)
    return SpecSearch(spec, A, Y, configs, fold_mae.reshape(Y.shape[1], seeds, cv, len(configs)), full,
                      max_iter, tol)


def fit_spec(spec: Spec | str, X: pd.DataFrame, Y, cv: int = 10, random_state: int = 0,
             max_iter: int = 10_000, tol: float = 1e-4, seeds: int = 1) -> list[LinearFit]:
    """Fit ``spec`` to every column of Y (n,) or (n, T) on the rows of X: one LinearFit per target, the
    configuration chosen by ``search_spec`` (``cv``-fold CV repeated over ``seeds`` seeds from
    ``random_state``, on these rows only, by mean absolute error) and refitted on all rows."""
    s = search_spec(spec, X, Y, cv, random_state, seeds, max_iter, tol)
    return [s.fit(t) for t in range(s.Y.shape[1])]


def _ols(name: str, inputs: list, A: np.ndarray, y: np.ndarray, params: dict) -> LinearFit:
    mean, std = A.mean(axis=0), A.std(axis=0)
    std[std == 0] = 1.0
    Z = (A - mean) / std
    coef = np.linalg.lstsq(Z, y - y.mean(), rcond=None)[0] if len(inputs) else np.zeros(0)
    k = len(inputs)
    return LinearFit(name, inputs, search.Design(1, mean, std, np.zeros(k), np.ones(k)), coef,
                     float(y.mean()), params, lo=A.min(axis=0) if k else np.zeros(0),
                     hi=A.max(axis=0) if k else np.zeros(0))


BASELINE_INPUTS = (*BEST_SINGLE_POOL, "oll_v2_mean")


def fit_baseline(name: str, X: pd.DataFrame, y, F: pd.DataFrame | None = None) -> LinearFit:
    """One of BASELINES fitted on the rows of X (all choices on these rows only). ``F``: the inputs
    of X already computed (``input_frame(X, BASELINE_INPUTS)``), to save recomputing them."""
    y = np.asarray(y, dtype=float)
    F = input_frame(X, BASELINE_INPUTS) if F is None else F
    if name == "mean":
        return _ols(name, [], np.zeros((len(y), 0)), y, {})
    if name == "size":
        inputs = ["log_params_b"]
    elif name == "oll_average":
        inputs = ["oll_v2_mean"]
    elif name == "best_single":
        best, best_r = None, -1.0
        for c in BEST_SINGLE_POOL:  # in pool order; ties keep the first
            v = F[c].to_numpy(float)
            if not np.isfinite(v).all() or v.std() == 0:
                continue
            r = abs(float(np.corrcoef(v, y)[0, 1]))
            if r > best_r:
                best, best_r = c, r
        inputs = [best]
    else:
        raise KeyError(f"unknown baseline {name!r}; valid names: {', '.join(BASELINES)}")
    A = F[inputs].to_numpy(float)
    if not np.isfinite(A).all():
        raise ValueError(f"baseline {name!r}: input {inputs[0]!r} has missing values")
    return _ols(name, inputs, A, y, {"input": inputs[0]})


def select_one_se(fits: dict[str, LinearFit], complexity: dict[str, int] | None = None) -> str:
    """The one-standard-error rule on the specs' inner-CV MAE (``one_se_pick``) read from each fit's
    ``cv_mae`` and ``cv_se``."""
    return one_se_pick({n: (f.cv_mae, f.cv_se) for n, f in fits.items()}, complexity)


def one_se_pick(stats: dict[str, tuple[float, float]], complexity: dict[str, int] | None = None) -> str:
    """The one-standard-error rule: among specs {name: (inner-CV MAE, its standard error)}, the
    lowest-complexity spec whose MAE is at most the best MAE plus that best spec's standard error. The
    complexity is the registry's (ties: the registry order), or ``complexity`` given for specs outside
    the registry, such as the reduced specs of ``advisor.predict.partial`` (ties: the order of ``stats``)."""
    if complexity is None:
        registered = load_specs()
        complexity, order = {n: registered[n].complexity for n in stats}, list(registered)
    else:
        order = list(stats)
    best = min(stats, key=lambda n: (stats[n][0], complexity[n]))
    limit = stats[best][0] + stats[best][1]
    ok = [n for n in stats if stats[n][0] <= limit + 1e-12]
    return min(ok, key=lambda n: (complexity[n], order.index(n)))
