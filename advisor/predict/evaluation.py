"""Honest error of the predictor specs and of the served choice, against baselines, in one run.

Protocols (every choice made on the training part only):
- ``nested``: ``repeats`` x ``folds``-fold CV (KFold shuffled with seed ``random_state + 1 + r``);
- ``lineage_out``: one lineage (publisher, ``data/lineages.csv``) held out at a time.

In every training part each spec runs its own inner hyperparameter search (``advisor.predict.specs.search_spec``:
``cv``-fold CV repeated over ``inner_seeds`` seeds for the candidates), each baseline is fitted
(``best_single`` picks its benchmark there), and the *served procedure* picks a spec among the candidates
by the one-standard-error rule on the candidates' inner-CV MAE (``advisor.predict.specs.select_one_se``).
The served procedure's out-of-fold predictions are therefore the honest error of what is served,
selection included (``selection: "outer"``); nothing is chosen on an evaluation fold. In the
lineage-out parts the same procedure also runs on each inner seed alone (``seed_name``), whose spread
over the seeds is the headline's seed dependence (``lineage_out_mae_sd``).

Intervals: conformal on out-of-fold residuals of the same procedure: ``served_halfwidth`` (the
``interval_protocol``'s residuals, for candidates of a known lineage) and ``lineage_out_halfwidth``
(leave-one-lineage-out residuals, for a lineage never seen). For the empirical coverage, a test model's
interval uses the residuals of the *other* folds of its repeat (nested) or of the other lineages
(lineage_out), never its own; its 95% CI comes from resampling lineages (``lineage_bootstrap``).

Differences in MAE (spec or served minus the mean baseline, served minus the paper reference) get
paired bootstrap CIs over models on the lineage-out errors (``n_boot`` resamples, fixed seed); served
minus the size baseline (``vs_size``) a lineage-bootstrap CI.

``evaluate`` also serves other experiments with the same protocol: ``EvalConfig.extra_specs`` may hold
specs outside the registry (the presence experiment, ``advisor.analyses.presence``, runs the paper's spec
with and without presence inputs), and with no candidates and no baselines only those are fitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.model_selection import KFold, LeaveOneGroupOut

from advisor.predict import specs, topk
from advisor.predict.search import conformal_halfwidth

SERVED = "served"
LEVELS = (0.5, 0.8, 0.9, 0.95)


@dataclass
class EvalConfig:
    # the registry specs the served choice picks from (empty: no served choice)
    candidates: list = field(default_factory=specs.candidates)
    # evaluated too, never served: registry names (the paper reference) or Specs (the presence experiment's)
    extra_specs: list = field(default_factory=list)
    extra_targets: list | None = None  # target columns the extra specs are evaluated on (None: all)
    baselines: list = field(default_factory=lambda: list(specs.BASELINES))
    repeats: int = 5
    folds: int = 10
    cv: int = 10  # inner folds of each spec's hyperparameter search
    # the candidates' inner CV (and so the served procedure's choice) averages this many shuffled KFold
    # seeds (random_state, random_state + 1, ...); extra specs keep their single-seed search
    inner_seeds: int = 20
    random_state: int = 0
    interval_level: float = 0.9
    n_boot: int = 2000
    n_jobs: int = 2
    max_iter: int = 10_000


def outer_splits(n: int, lineages: np.ndarray, cfg: EvalConfig) -> list[tuple]:
    """[(protocol, repeat, fold, train, test)]."""
    out = []
    for r in range(cfg.repeats):
        kf = KFold(cfg.folds, shuffle=True, random_state=cfg.random_state + 1 + r)
        for k, (tr, te) in enumerate(kf.split(np.zeros(n))):
            out.append(("nested", r, k, tr, te))
    if len(set(lineages)) >= 2:
        for k, (tr, te) in enumerate(LeaveOneGroupOut().split(np.zeros(n), groups=lineages)):
            out.append(("lineage_out", 0, k, tr, te))
    return out


def seed_name(r: int) -> str:
    """The name of the single-seed served procedure of inner seed ``r`` (lineage-out rows only)."""
    return f"{SERVED}/seed{r}"


def _served_per_seed(searches: dict, Xte: pd.DataFrame, cfg: EvalConfig) -> dict:
    """{seed_name(r): (predictions (T, n_test), picks)}: the served procedure run on one inner seed's
    folds only, for every seed (its spread over seeds is the headline's seed dependence)."""
    inputs = {n: specs.input_frame(Xte, s.spec.inputs).to_numpy(float) for n, s in searches.items()}
    tables = {n: s.per_seed() for n, s in searches.items()}  # (choice, cv_mae, cv_se), each (T, seeds)
    cache: dict = {}
    out = {}
    T = next(iter(searches.values())).Y.shape[1]
    for r in range(cfg.inner_seeds):
        picks, rows = [], []
        for t in range(T):
            pick = specs.one_se_pick({n: (tables[n][1][t, r], tables[n][2][t, r]) for n in cfg.candidates})
            key = (pick, t, int(tables[pick][0][t, r]))
            if key not in cache:  # the refit of that configuration on the training part
                cache[key] = searches[pick].fit(t, r).predict_inputs(inputs[pick])
            picks.append(pick)
            rows.append(cache[key])
        out[seed_name(r)] = (np.vstack(rows), picks)
    return out


def _task(X: pd.DataFrame, Y: np.ndarray, train, test, cfg: EvalConfig, per_seed: bool = False):
    """All specs, baselines and the served choice on one (train, test) split: ({name: (T, n_test)},
    served picks per target, {seed name: picks} when ``per_seed``)."""
    from threadpoolctl import threadpool_limits

    Xtr, Xte, Ytr = X.iloc[train], X.iloc[test], Y[train]
    preds, fits, searches, seed_picks = {}, {}, {}, {}

    def predict(fit_list):
        A = specs.input_frame(Xte, fit_list[0].inputs).to_numpy(float)
        return np.vstack([f.predict_inputs(A) for f in fit_list])

    with threadpool_limits(1):
        for name in cfg.candidates:
            searches[name] = specs.search_spec(name, Xtr, Ytr, cfg.cv, cfg.random_state, cfg.inner_seeds,
                                               cfg.max_iter)
            fits[name] = [searches[name].fit(t) for t in range(Y.shape[1])]
            preds[name] = predict(fits[name])
        cols = list(range(Y.shape[1])) if cfg.extra_targets is None else list(cfg.extra_targets)
        for spec in [specs.resolve(s) for s in cfg.extra_specs]:
            if spec.name in cfg.candidates:
                continue
            P = np.full((Y.shape[1], len(test)), np.nan)
            P[cols] = predict(specs.fit_spec(spec, Xtr, Ytr[:, cols], cfg.cv, cfg.random_state, cfg.max_iter))
            preds[spec.name] = P
        if cfg.baselines:
            Ftr = specs.input_frame(Xtr, specs.BASELINE_INPUTS)
            Fte = specs.input_frame(Xte, specs.BASELINE_INPUTS)
        for b in cfg.baselines:
            fl = [specs.fit_baseline(b, Xtr, Ytr[:, t], Ftr) for t in range(Y.shape[1])]
            preds[b] = np.vstack([f.predict_inputs(Fte[f.inputs].to_numpy(float)) for f in fl])
        if per_seed and cfg.candidates:
            for name, (P, p) in _served_per_seed(searches, Xte, cfg).items():
                preds[name], seed_picks[name] = P, p
    if not cfg.candidates:  # nothing to serve (the presence experiment): no served choice
        return preds, [], seed_picks
    picks = [specs.select_one_se({s: fits[s][t] for s in cfg.candidates}) for t in range(Y.shape[1])]
    preds[SERVED] = np.vstack([preds[p][t] for t, p in enumerate(picks)])
    return preds, picks, seed_picks


def evaluate(X: pd.DataFrame, Y: pd.DataFrame, lineage: pd.Series, cfg: EvalConfig,
             progress: bool = False) -> pd.DataFrame:
    """Out-of-fold predictions, long: protocol, repeat, fold, name, target, hf_id, lineage, y,
    prediction, pick (the spec the served procedure chose in that training part)."""
    from tqdm.auto import tqdm

    lin = lineage.reindex(X.index).to_numpy()
    Ya = Y.loc[X.index].to_numpy(float)
    if not np.isfinite(Ya).all():
        raise ValueError("targets have missing values; evaluate the models that have all of them")
    splits = outer_splits(len(X), lin, cfg)
    # few splits (a serving build: lineage-out only) run on threads: starting worker processes
    # (each importing scikit-learn) would cost more than the work
    backend = "threading" if len(splits) <= 20 else "loky"
    jobs = Parallel(n_jobs=cfg.n_jobs, backend=backend, return_as="generator")(
        delayed(_task)(X, Ya, tr, te, cfg, protocol == "lineage_out") for protocol, _, _, tr, te in splits)
    ids = np.asarray(X.index)
    cols: dict[str, list] = {c: [] for c in ("protocol", "repeat", "fold", "name", "target", "hf_id",
                                            "lineage", "y", "prediction", "pick")}
    for (protocol, r, k, _, te), (preds, picks, seed_picks) in zip(
            splits, tqdm(jobs, total=len(splits), desc="evaluate", leave=False,
                         disable=not progress or None)):
        m = len(te)
        for name, P in preds.items():
            for t, target in enumerate(Y.columns):
                if np.isnan(P[t]).all():
                    continue
                cols["protocol"].append(np.repeat(protocol, m))
                cols["repeat"].append(np.full(m, r))
                cols["fold"].append(np.full(m, k))
                cols["name"].append(np.repeat(name, m))
                cols["target"].append(np.repeat(target, m))
                cols["hf_id"].append(ids[te])
                cols["lineage"].append(lin[te])
                cols["y"].append(Ya[te, t])
                cols["prediction"].append(P[t])
                pick = picks[t] if name == SERVED else seed_picks[name][t] if name in seed_picks else name
                cols["pick"].append(np.repeat(pick, m))
    return pd.DataFrame({c: np.concatenate(v) for c, v in cols.items()})


# ---------------------------------------------------------------------------------------------
# statistics

def wilson(k: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n_boot: int = 2000, seed: int = 0):
    """mean(a - b) and its 95% percentile CI from resampling the pairs (models, the last axis): three
    floats, or for (..., n) arrays three arrays of the leading shape (every row resampled with the same
    draws, so each row's numbers are what it gets alone)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    means = d[..., rng.integers(0, d.shape[-1], size=(n_boot, d.shape[-1]))].mean(axis=-1)
    lo, hi = np.percentile(means, [2.5, 97.5], axis=-1)
    if d.ndim == 1:
        return float(d.mean()), float(lo), float(hi)
    return d.mean(axis=-1), lo, hi


def _fold_halfwidths(res: np.ndarray, folds: np.ndarray, level: float) -> np.ndarray:
    """Per row: the conformal half-width from the residuals of the rows in the other folds."""
    out = np.empty(len(res))
    for k in np.unique(folds):
        inside = folds == k
        out[inside] = conformal_halfwidth(res[~inside], level)
    return out


def add_intervals(oof: pd.DataFrame, level: float) -> pd.DataFrame:
    """lower/upper for every out-of-fold row from the residuals of the other folds of its repeat
    (nested) or the other lineages (lineage_out) of the same name and target."""
    oof = oof.copy()
    res = (oof.y - oof.prediction).abs().to_numpy()
    folds = oof.fold.to_numpy()
    h = np.empty(len(oof))
    for idx in oof.groupby(["protocol", "repeat", "name", "target"], sort=False).indices.values():
        h[idx] = _fold_halfwidths(res[idx], folds[idx], level)
    oof["lower"] = oof.prediction - h
    oof["upper"] = oof.prediction + h
    return oof


def lineage_bootstrap(values, lineages, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """The mean of per-model ``values`` and its 95% percentile CI from resampling whole lineages: each
    resample draws as many lineages as there are, with replacement, and averages over every model of the
    drawn lineages (a lineage drawn twice counts twice). Errors of one lineage move together, so this CI
    is wider, and honest, where resampling models would pretend 40 independent draws."""
    v = np.asarray(values, dtype=float)
    codes, _ = pd.factorize(np.asarray(lineages))
    sums, counts = np.bincount(codes, weights=v), np.bincount(codes).astype(float)
    draws = np.random.default_rng(seed).integers(0, len(sums), size=(n_boot, len(sums)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(v.mean()), float(lo), float(hi)


def calibration(oof: pd.DataFrame, name: str = SERVED, levels=LEVELS, n_boot: int = 2000,
                seed: int = 0) -> pd.DataFrame:
    """Empirical coverage of the conformal intervals at each nominal level, per target and protocol:
    each model's interval from the residuals of the other folds of its repeat (nested) or of the other
    lineages (lineage_out). CI (lo, hi): ``lineage_bootstrap`` of each model's coverage (averaged over
    the repeats), since misses cluster by lineage; n = number of models."""
    rows = []
    part = oof[oof.name == name]
    res = (part.y - part.prediction).abs()
    for (protocol, target), g in part.groupby(["protocol", "target"], sort=False):
        n_models = g.hf_id.nunique()
        for level in levels:
            inside = np.empty(len(g))
            for idx in g.groupby("repeat").indices.values():
                r = res.loc[g.index[idx]].to_numpy()
                inside[idx] = r <= _fold_halfwidths(r, g.fold.to_numpy()[idx], level)
            per_model = pd.Series(inside, index=g.hf_id.to_numpy()).groupby(level=0).mean()
            lin = g.drop_duplicates("hf_id").set_index("hf_id").lineage.reindex(per_model.index)
            emp, lo, hi = lineage_bootstrap(per_model.to_numpy(), lin.to_numpy(), n_boot, seed)
            rows.append({"protocol": protocol, "target": target, "nominal": level,
                         "empirical": float(inside.mean()), "lo": lo, "hi": hi, "n": n_models})
    return pd.DataFrame(rows)


def interval_protocol(oof: pd.DataFrame) -> str:
    """The protocol whose residuals calibrate the served intervals: 'nested' when the evaluation has
    nested repeats, else 'lineage_out' (a serving-only build)."""
    return "nested" if (oof.protocol == "nested").any() else "lineage_out"


def served_halfwidth(oof: pd.DataFrame, target: str, level: float) -> float:
    """The served interval's half-width: the conformal quantile of the served procedure's out-of-fold
    |residuals| (all models) of ``interval_protocol``, averaged over the repeats."""
    g = oof[(oof.name == SERVED) & (oof.target == target) & (oof.protocol == interval_protocol(oof))]
    hs = [conformal_halfwidth((gr.y - gr.prediction).abs().to_numpy(), level)
          for _, gr in g.groupby("repeat")]
    return float(np.mean(hs))


def lineage_out_halfwidth(oof: pd.DataFrame, target, level: float) -> float:
    """The interval served to a candidate outside the known lineages: the conformal quantile of the
    served procedure's leave-one-lineage-out |residuals| (all models)."""
    g = oof[(oof.name == SERVED) & (oof.target == target) & (oof.protocol == "lineage_out")]
    return conformal_halfwidth((g.y - g.prediction).abs().to_numpy(), level)


def _rank_stats(pred: pd.Series, y: pd.Series) -> dict:
    """Spearman and top-5/top-10 coverage (eq. 9, ``advisor.predict.topk``); NaN for fewer than k models."""
    from scipy.stats import rankdata

    p, t = pred.to_numpy(float), y.to_numpy(float)
    rho = float(np.corrcoef(rankdata(p), rankdata(t))[0, 1]) if p.std() > 0 else float("nan")
    by_pred, by_truth = topk.best_first(p, pred.index), topk.best_first(t, pred.index)
    out = {"spearman": rho}
    for k in (5, 10):
        out[f"coverage_top{k}"] = topk.coverage(by_pred, by_truth, k) if len(t) >= k else float("nan")
    return out


def _name_rows(g: pd.DataFrame, a: np.ndarray, target, cfg: EvalConfig):
    """For one target: the evidence row of every name, its per-lineage errors, and the lineage-out
    absolute errors per name ({name: Series by hf_id}) with the served procedure's model order."""
    rows, lin_rows = [], []
    pred, y = g.prediction.to_numpy(float), g.y.to_numpy(float)
    is_lo, is_nested = (g.protocol == "lineage_out").to_numpy(), (g.protocol == "nested").to_numpy()
    names, ids, reps, lins = g.name.to_numpy(), g.hf_id.to_numpy(), g.repeat.to_numpy(), g.lineage.to_numpy()
    err = {n: pd.Series(a[is_lo & (names == n)], index=ids[is_lo & (names == n)]) for n in pd.unique(names[is_lo])}
    order = ids[is_lo & (names == SERVED)]
    for name in pd.unique(names):  # first-appearance order
        m = names == name
        nm = m & is_nested
        maes = [float(a[nm & (reps == r)].mean()) for r in np.unique(reps[nm])]
        row = {"target": target, "name": name, "lineage_out_mae": float("nan"), "spearman": float("nan"),
               "coverage_top5": float("nan"), "coverage_top10": float("nan"), "diff_vs_mean": float("nan"),
               "diff_lo": float("nan"), "diff_hi": float("nan"),
               "kind": "served" if name == SERVED else "baseline" if name in cfg.baselines else "spec",
               "nested_mae_mean": float(np.mean(maes)) if maes else float("nan"),
               "nested_mae_sd": float(np.std(maes, ddof=1)) if len(maes) > 1 else float("nan")}
        lm = m & is_lo
        if lm.any():
            row["lineage_out_mae"] = float(a[lm].mean())
            row.update(_rank_stats(pd.Series(pred[lm], index=ids[lm]), pd.Series(y[lm], index=ids[lm])))
            d, dlo, dhi = paired_bootstrap(err[name].loc[order].to_numpy(), err["mean"].loc[order].to_numpy(),
                                           cfg.n_boot, cfg.random_state)
            row.update(diff_vs_mean=d, diff_lo=dlo, diff_hi=dhi)
            for lineage in sorted(set(lins[lm])):
                lm_l = lm & (lins == lineage)
                lin_rows.append({"target": target, "name": name, "lineage": lineage,
                                 "n_models": int(lm_l.sum()), "mae": float(a[lm_l].mean())})
        rows.append(row)
    return rows, lin_rows, err, order


def _seed_spread(g: pd.DataFrame, a: np.ndarray) -> dict:
    """Lineage-out MAE and Spearman of the single-seed served procedures (``seed_name``): mean and sd
    over the seeds (NaN without them)."""
    from scipy.stats import rankdata

    names = g.name.to_numpy()
    lo = (g.protocol == "lineage_out").to_numpy() & g.name.str.startswith(SERVED + "/seed").to_numpy()
    pred, y = g.prediction.to_numpy(float), g.y.to_numpy(float)
    maes, rhos = [], []
    for name in pd.unique(names[lo]):
        m = lo & (names == name)
        maes.append(float(a[m].mean()))
        rhos.append(float(np.corrcoef(rankdata(pred[m]), rankdata(y[m]))[0, 1]) if pred[m].std() > 0
                    else float("nan"))
    sd = (lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else float("nan"))
    mean = (lambda v: float(np.mean(v)) if v else float("nan"))
    return {"lineage_out_mae_seed_mean": mean(maes), "lineage_out_mae_sd": sd(maes),
            "lineage_out_spearman_seed_mean": mean(rhos), "lineage_out_spearman_sd": sd(rhos),
            "inner_seeds": len(maes)}


def _served_info(g, a, rows, err, order, cal, cfg: EvalConfig, reference) -> dict:
    """The served summary of one target: its evidence row, skill flag, baselines, seed spread, the
    served-minus-size difference with its lineage-bootstrap CI and the lineage-out interval coverage."""
    s = next(r for r in rows if r["name"] == SERVED)
    info = {**s, "skill": "skill" if s["diff_hi"] < 0 else "no_skill",  # NaN (one lineage): no skill
            "n_models": int(g.hf_id.nunique()), "n_lineages": int(g.lineage.nunique()),
            "selection": "outer", **_seed_spread(g, a)}
    for b in cfg.baselines:
        info[f"{b}_mae"] = next(r for r in rows if r["name"] == b).get("lineage_out_mae", float("nan"))
    if reference is not None and reference in err:
        info["vs_reference"] = paired_bootstrap(err[SERVED].loc[order], err[reference].loc[order], cfg.n_boot,
                                                cfg.random_state)
    if "size" in err and g.lineage.nunique() >= 2:
        lin = g.drop_duplicates("hf_id").set_index("hf_id").lineage.reindex(order)
        info["vs_size"] = lineage_bootstrap((err[SERVED].loc[order] - err["size"].loc[order]).to_numpy(),
                                            lin.to_numpy(), cfg.n_boot, cfg.random_state)
    c = cal[(cal.protocol == "lineage_out") & (cal.target == s["target"])
            & np.isclose(cal.nominal, cfg.interval_level)] if len(cal) else cal
    if len(c):
        info["lineage_out_interval_coverage"] = tuple(float(c[k].iloc[0]) for k in ("empirical", "lo", "hi"))
    return info


def summarize(oof: pd.DataFrame, cfg: EvalConfig, reference: str | None = None) -> dict:
    """Evidence per (target, name), per-lineage errors, calibration, and the served summary.

    Returns {"evidence": DataFrame, "lineage_errors": DataFrame, "calibration": DataFrame,
    "served": {target: dict}}. Lineage-out numbers unless named nested. The single-seed procedures
    (``seed_name``) only enter the served summary's seed spread.
    """
    ev, lin_rows, served = [], [], {}
    has_served = (oof.name == SERVED).any()
    cal = calibration(oof, SERVED, n_boot=cfg.n_boot, seed=cfg.random_state) if has_served else pd.DataFrame()
    absres = np.abs(oof.y.to_numpy(float) - oof.prediction.to_numpy(float))
    single = oof.name.str.startswith(SERVED + "/seed").to_numpy()
    for target, t_idx in oof.groupby("target", sort=False).indices.items():
        keep = t_idx[~single[t_idx]]
        rows, lrows, err, order = _name_rows(oof.iloc[keep], absres[keep], target, cfg)
        ev += rows
        lin_rows += lrows
        if has_served:
            served[target] = _served_info(oof.iloc[t_idx], absres[t_idx], rows, err, order, cal, cfg,
                                          reference)
    return {"evidence": pd.DataFrame(ev), "lineage_errors": pd.DataFrame(lin_rows), "calibration": cal,
            "served": served}
