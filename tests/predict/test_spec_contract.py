"""The predictor specs' contract, in the manner of scikit-learn's ``check_estimator``: every spec in
advisor/predict/predictor_specs.yaml goes through the same checks.

* fit: one LinearFit per target, named after the spec, reading its inputs, with a configuration from its
  grid and one finite coefficient per polynomial term;
* predict: one finite number per row, the same from the base-feature frame, from the computed inputs and
  row by row;
* JSON round-trip: through the served bundle's format (``bundle.build`` -> JSON text -> ``from_json``) the
  fit predicts bit for bit the same and writes the same JSON;
* clamping: the fit records its training inputs' range, and the served path (``predict_candidates``)
  predicts a candidate beyond the known models' range of any feature the spec reads as the candidate at
  the edge, and says so (``extrapolated``);
* the one-standard-error rule's inputs: ``select_one_se`` reads each fit's ``cv_mae`` and ``cv_se`` and
  the spec's complexity; they are present, finite, and are the selected configuration's inner-CV mean
  MAE and its standard error, recomputed with scikit-learn's own Pipeline (``bench/sklearn_reference.py``,
  the same solver settings) on the same folds; the complexity is an integer no other spec has.

Each check is a function raising AssertionError; ``test_each_check_fails_on_what_it_guards`` shows every
one of them failing on a broken fit or a broken path.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, cross_val_score

from advisor.core import registry
from advisor.predict import bundle as bundle_mod
from advisor.predict import shortlist, specs
from bench.sklearn_reference import reference_pipeline

SPECS = list(specs.load_specs())
TASKS = list(registry.OLL_V2_TASKS)
TARGETS = ("score", "chat")
N, CV = 40, 5


@dataclass
class Case:
    spec: specs.Spec
    X: pd.DataFrame  # training rows: base features, index hf_id
    Y: np.ndarray  # (N, len(TARGETS))
    X_new: pd.DataFrame  # other rows inside the training range
    fits: list


def _frame(rng, n, prefix):
    X = pd.DataFrame(rng.uniform(10, 60, size=(n, 6)), columns=TASKS, index=[f"{prefix}/m{i:02d}" for i in range(n)])
    X["params_b"] = np.exp(rng.uniform(np.log(0.5), np.log(12), n))
    X["pretrain_tokens_t"] = rng.uniform(2, 18, n)
    return X


@cache
def _fitted(name: str) -> Case:
    rng = np.random.default_rng(0)
    X = _frame(rng, N, "org")
    Y = np.column_stack([40 + 5 * np.log(X.params_b) + 0.3 * X[TASKS].mean(axis=1) + rng.normal(0, 1, N),
                         50 + 3 * np.log(X.pretrain_tokens_t) + 0.2 * X.leaderboard_ifeval + rng.normal(0, 1, N)])
    X_new = _frame(rng, 60, "new")
    X_new = X_new[((X_new >= X.min()) & (X_new <= X.max())).all(axis=1)].iloc[:8]
    spec = specs.get(name)
    return Case(spec, X, Y, X_new, specs.fit_spec(spec, X, Y, cv=CV))


# ---------------------------------------------------------------------------------------------
# the checks

def check_fit(c: Case) -> None:
    assert len(c.fits) == len(TARGETS)
    for f in c.fits:
        assert isinstance(f, specs.LinearFit) and f.name == c.spec.name
        assert list(f.inputs) == list(c.spec.inputs)
        assert f.degree in c.spec.degrees
        assert f.params["alpha"] in c.spec.alphas and f.params["l1_ratio"] in c.spec.l1_ratios
        k = len(f.inputs)
        assert f.coef.shape == (math.comb(k + f.degree, f.degree) - 1,)  # polynomial terms without the bias
        assert np.isfinite(f.coef).all() and math.isfinite(f.intercept)


def check_predict(c: Case) -> None:
    for f in c.fits:
        p = f.predict(c.X_new)
        assert p.shape == (len(c.X_new),) and np.isfinite(p).all()
        assert np.array_equal(p, f.predict_inputs(specs.input_frame(c.X_new, f.inputs).to_numpy(float)))
        one_by_one = [f.predict(c.X_new.iloc[[i]])[0] for i in range(len(c.X_new))]
        assert np.allclose(one_by_one, p, rtol=0, atol=1e-9)  # a row's prediction does not depend on the others


def _bundle(c: Case, targets, fits) -> bundle_mod.ServedBundle:
    served = {("regression", t): bundle_mod.ServedEntry(fit=f, spec=c.spec.name, skill="skill", halfwidth=1.0)
              for t, f in zip(targets, fits)}
    return bundle_mod.build({"normalized": {"X_train": c.X, "served": served}}, ["regression"], list(targets),
                            0.9, "contract+1", "h", {}, "now")


def check_round_trip(c: Case) -> None:
    again = bundle_mod.ServedBundle.from_json(_bundle(c, TARGETS, c.fits).to_json())
    for t, f in zip(TARGETS, c.fits):
        g = again.fit("normalized", "regression", t)
        assert np.array_equal(g.predict(c.X_new), f.predict(c.X_new))
        assert np.array_equal(g.predict(c.X), f.predict(c.X))
        assert g.to_json() == f.to_json()


def _beyond(feature: str, hi: float) -> float:
    """A value past the known maximum that is still valid input (benchmarks stay on their 0-100 scale)."""
    return hi * 12 if registry.get(feature).native_scale == "count" else (hi + 100) / 2


def check_clamping(c: Case) -> None:
    A = specs.input_frame(c.X, c.spec.inputs).to_numpy(float)
    for f in c.fits:
        assert np.array_equal(f.lo, A.min(axis=0)) and np.array_equal(f.hi, A.max(axis=0))
    fits = [c.fits[i % len(c.fits)] for i in range(len(registry.RM_TARGETS))]
    b = _bundle(c, registry.RM_TARGETS, fits)
    row, rows, moved = c.X.iloc[0].to_dict(), [], 0
    features = specs.base_columns(c.spec.inputs)
    for feature in features:
        hi = float(c.X[feature].max())
        edge, far = row | {feature: hi}, row | {feature: _beyond(feature, hi)}
        rows += [{"hf_id": f"edge/{feature}", **edge}, {"hf_id": f"far/{feature}", **far}]
        unclamped = c.fits[0].predict(pd.DataFrame([far, edge]))
        moved += unclamped[0] != unclamped[1]
    assert moved, "no input the spec reads moves its unclamped prediction: the check would see nothing"
    out = shortlist.predict_candidates(b, pd.DataFrame(rows).assign(scale="normalized")).set_index("hf_id")
    for feature in features:
        assert out.loc[f"far/{feature}", "prediction"] == out.loc[f"edge/{feature}", "prediction"], feature
        assert out.loc[f"far/{feature}", "extrapolated"] == [feature]
        assert out.loc[f"edge/{feature}", "extrapolated"] == []


def check_one_se_inputs(c: Case) -> None:
    A = specs.input_frame(c.X, c.spec.inputs).to_numpy(float)
    folds = KFold(CV, shuffle=True, random_state=0)
    for t, f in enumerate(c.fits):
        assert isinstance(f.cv_mae, float) and isinstance(f.cv_se, float)
        assert math.isfinite(f.cv_mae) and f.cv_mae > 0 and math.isfinite(f.cv_se) and f.cv_se >= 0
        ref = reference_pipeline(f.degree, f.params["alpha"], f.params["l1_ratio"], max_iter=10_000,
                                 tol=1e-4)  # fit_spec's solver settings
        maes = -cross_val_score(ref, A, c.Y[:, t], cv=folds, scoring="neg_mean_absolute_error")
        assert f.cv_mae == pytest.approx(maes.mean(), rel=1e-3)
        assert f.cv_se == pytest.approx(maes.std(ddof=1) / math.sqrt(CV), rel=1e-3)
        assert specs.select_one_se({c.spec.name: f}) == c.spec.name  # the rule finds the spec's complexity
    assert isinstance(c.spec.complexity, int)
    others = [s.complexity for s in specs.load_specs().values() if s.name != c.spec.name]
    assert c.spec.complexity not in others  # a total order: the rule never has to guess


CHECKS = {"fit": check_fit, "predict": check_predict, "round_trip": check_round_trip,
          "clamping": check_clamping, "one_se_inputs": check_one_se_inputs}


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("name", SPECS)
def test_every_spec_keeps_the_contract(name, check):
    CHECKS[check](_fitted(name))


# ---------------------------------------------------------------------------------------------
# every check can fail

def _with_fits(c: Case, change) -> Case:
    return dataclasses.replace(c, fits=[change(f) for f in c.fits])


def _round_coefficients(monkeypatch):
    to_json = specs.LinearFit.to_json
    monkeypatch.setattr(specs.LinearFit, "to_json",
                        lambda self: to_json(self) | {"coef": [round(x, 6) for x in to_json(self)["coef"]]})


def _no_clamping(monkeypatch):
    monkeypatch.setattr(shortlist, "_clamp", lambda X, known: (X, (X < known.min()) | (X > known.max())))


BROKEN = {  # check -> (a broken fit, or None) and (a broken path, or None)
    "fit": (lambda f: dataclasses.replace(f, coef=np.append(f.coef, 0.0)), None),
    "predict": (lambda f: dataclasses.replace(f, coef=f.coef * np.nan), None),
    "round_trip": (None, _round_coefficients),
    "clamping": (None, _no_clamping),
    "one_se_inputs": (lambda f: dataclasses.replace(f, cv_mae=f.cv_mae * 1.05), None),
}


@pytest.mark.parametrize("check", list(CHECKS))
def test_each_check_fails_on_what_it_guards(check, monkeypatch):
    case = _fitted("enet_linear_log")
    CHECKS[check](case)  # the unbroken fit passes ...
    break_fit, break_path = BROKEN[check]
    if break_fit:
        case = _with_fits(case, break_fit)
    if break_path:
        break_path(monkeypatch)
    with pytest.raises(AssertionError):  # ... the broken one does not
        CHECKS[check](case)


def test_the_one_se_check_also_catches_a_missing_standard_error():
    case = _with_fits(_fitted("ridge_log_params"), lambda f: dataclasses.replace(f, cv_se=float("nan")))
    with pytest.raises(AssertionError):
        check_one_se_inputs(case)
