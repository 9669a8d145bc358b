"""The hyperparameter search every predictor spec uses (paper section 4.2, Fig. 5), and conformal half-widths.

Model: standardize the features, expand them to polynomial terms of a degree, standardize the terms,
Elastic Net. Hyperparameters (degree, alpha, l1_ratio; the paper's grid is ``PAPER_GRID``: degree
{1,2,3} x alpha {0.1, 0.01, 0.001, 0.0001} x l1_ratio {0, .25, .5, .75, 1}) come from k-fold CV on mean
absolute error (``fold_mae``, run by ``advisor.predict.specs.fit_spec``; a fit keeps its ``Design``).

The search is the same model as scikit-learn's ``GridSearchCV`` over the equivalent ``Pipeline``
(``bench/sklearn_reference.py``) but much faster. Degree 1 (every serving candidate, every reduced spec
of ``advisor.predict.partial``): all splits and configurations at once (``linear_search``): each split's
scalers and standardized Gram matrix come from weighted moments of the rows, ridge (l1_ratio 0) is one
batched linear solve per alpha, the Elastic Net is solved exactly by ``advisor.predict.enet`` for every
(split, configuration, target) in one call, warm-started from the fit on all rows; so a search repeated
over 20 seeds of 10-fold CV (200 splits) costs about what one seed cost with per-fold scikit-learn calls.
Higher degrees (the paper reference): per (fold, degree) (``fold_task``): the two scalings and the
polynomial expansion once per (fold, degree), the alphas of an l1_ratio one warm-started ``enet_path`` on
a precomputed Gram matrix, ridge the closed form from one SVD, scikit-learn's coordinate descent.
Several targets on the same models share one search. ``tests/predict/test_search_evaluation.py`` checks
the selection against ``GridSearchCV``, the exact Elastic Net against scikit-learn run to a tight
tolerance, and the batched search against the per-split one; ``bench/bench_predictor.py`` times the
per-(fold, degree) task on threads against it.
No torch import here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import enet_path
from sklearn.preprocessing import PolynomialFeatures

PAPER_GRID = {"degrees": (1, 2, 3), "alphas": (0.1, 0.01, 0.001, 0.0001),
              "l1_ratios": (0.0, 0.25, 0.5, 0.75, 1.0)}


def _standardize(train: np.ndarray, *others: np.ndarray):
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0  # StandardScaler's rule for constant columns
    return [(a - mean) / std for a in (train, *others)], mean, std


@dataclass
class Design:
    """Everything needed to turn raw features into the standardized polynomial terms."""
    degree: int
    mean1: np.ndarray
    std1: np.ndarray
    mean2: np.ndarray
    std2: np.ndarray

    def transform(self, X: np.ndarray) -> np.ndarray:
        Z = (X - self.mean1) / self.std1
        P = _poly(Z, self.degree)
        return (P - self.mean2) / self.std2


def _poly(Z: np.ndarray, degree: int) -> np.ndarray:
    """Polynomial terms without the bias; degree 1 is the identity (skips scikit-learn's checks)."""
    return Z if degree == 1 else PolynomialFeatures(degree, include_bias=False).fit_transform(Z)


def fit_design(Xtr: np.ndarray, degree: int) -> tuple[Design, np.ndarray]:
    """The scalings and polynomial terms fitted on ``Xtr``, and ``Xtr``'s standardized terms."""
    (Ztr,), m1, s1 = _standardize(Xtr)
    Ptr = _poly(Ztr, degree)
    (Ptr,), m2, s2 = _standardize(Ptr)
    return Design(degree, m1, s1, m2, s2), Ptr


def fit_configs(P: np.ndarray, Y: np.ndarray, alphas, l1_ratios, max_iter: int, tol: float):
    """Coefficients for every (alpha, l1_ratio) on standardized terms P, for each column of Y.

    ``Y`` is (n,) or (n, n_targets); the Gram matrix and the SVD are shared by the targets, the
    coordinate descent runs per target. Returns ``[fits, ...]`` (one per target, a plain tuple
    ``(fits, capped)`` when Y is 1-D) with fits = {(alpha, l1_ratio): (coef, intercept)} and capped =
    the number of fits that stopped at ``max_iter`` without reaching ``tol`` (exactly the fits for
    which scikit-learn raises a ConvergenceWarning; the caller silences and counts those).
    Objective (scikit-learn's ElasticNet): 1/(2n)|y - Pw - b|^2 + a*r*|w|_1 + a*(1-r)/2*|w|^2.
    """
    single = np.ndim(Y) == 1
    Y = np.asarray(Y, dtype=float).reshape(len(P), -1)
    n = P.shape[0]
    desc = sorted(alphas, reverse=True)  # the path goes from strong to weak regularisation
    ridge = any(r == 0 for r in l1_ratios)
    enet = [float(r) for r in l1_ratios if r != 0]
    if ridge:  # ridge: closed form through one thin SVD, shared by the targets
        U, s, Vt = np.linalg.svd(P, full_matrices=False)
    if enet:
        gram = np.ascontiguousarray(P.T @ P)
    results = []
    for t in range(Y.shape[1]):
        y_mean = float(Y[:, t].mean())
        yc = np.ascontiguousarray(Y[:, t] - y_mean)
        out, capped = {}, 0
        if ridge:
            Uty = U.T @ yc
            for a in desc:
                out[(a, 0.0)] = (Vt.T @ (s / (s ** 2 + n * a) * Uty), y_mean)
        if enet:
            Xy = P.T @ yc
            tol_cd = tol * float(yc @ yc)  # the solver's stopping threshold on its dual gap
            for r in enet:
                _, coefs, gaps, n_iters = enet_path(P, yc, l1_ratio=r, alphas=desc, precompute=gram,
                                                    Xy=Xy, max_iter=max_iter, tol=tol,
                                                    return_n_iter=True, check_input=False)
                capped += sum(int(it >= max_iter and g * n > tol_cd) for it, g in zip(n_iters, gaps))
                for j, a in enumerate(desc):
                    out[(a, r)] = (coefs[:, j].copy(), y_mean)
        results.append((out, capped))
    return results[0] if single else results


def grid_configs(degrees, alphas, l1_ratios) -> list[tuple[int, float, float]]:
    """Grid order used for tie-breaking: lower degree, then larger alpha, then smaller l1_ratio."""
    return [(int(d), float(a), float(r)) for d in degrees for a in sorted(alphas, reverse=True)
            for r in sorted(l1_ratios)]


def fold_task(X, Y, train, test, degree, alphas, l1_ratios, max_iter, tol):
    """All configurations of one (fold, degree) for every target column of Y: test predictions."""
    from sklearn import config_context

    with config_context(skip_parameter_validation=True):  # thread-local; inputs are ours
        design, Ptr = fit_design(X[train], degree)
        Pte = design.transform(X[test])
        per_target = fit_configs(Ptr, Y[train], alphas, l1_ratios, max_iter, tol)
    return [({(degree, a, r): Pte @ coef + b for (a, r), (coef, b) in fits.items()}, capped)
            for fits, capped in per_target]


def fold_mae(X: np.ndarray, Y: np.ndarray, splits, degrees, alphas, l1_ratios, max_iter: int = 10_000,
             tol: float = 1e-4) -> tuple[list, np.ndarray]:
    """The search every spec runs: the test MAE of every configuration on every (train, test) split, for
    each column of Y. Returns (configs in ``grid_configs`` order, array (n_targets, n_folds, n_configs)).

    Degree 1 (every serving candidate): all splits and configurations at once (``linear_grid``: ridge in
    closed form, the Elastic Net exactly by ``advisor.predict.enet``, warm-started from the fit on all
    rows), so repeating the CV over many seeds costs little. Higher degrees (the paper reference): one
    ``fold_task`` per (fold, degree), sequentially and without thread pools (these searches run inside
    parallel outer folds, ``advisor.predict.evaluation``); ConvergenceWarnings of fits that stop at
    ``max_iter`` are silenced.
    """
    configs, out, _ = search_grid(X, Y, splits, degrees, alphas, l1_ratios, max_iter, tol)
    return configs, out


def search_grid(X, Y, splits, degrees, alphas, l1_ratios, max_iter: int = 10_000, tol: float = 1e-4):
    """``fold_mae`` plus, when degree 1 is searched, its configurations fitted on all rows (the
    ``LinearGrid`` the degree-1 search warm-starts from; None otherwise)."""
    configs = grid_configs(degrees, alphas, l1_ratios)
    out = np.full((Y.shape[1], len(splits), len(configs)), np.nan)
    full = None
    for d in degrees:
        cols = [j for j, c in enumerate(configs) if c[0] == d]
        if d == 1:
            full, out[:, :, cols] = linear_search(X, Y, splits, alphas, l1_ratios)
        else:
            out[:, :, cols] = _fold_mae_per_split(X, Y, splits, d, alphas, l1_ratios, max_iter, tol)
    return configs, out, full


def _fold_mae_per_split(X, Y, splits, degree, alphas, l1_ratios, max_iter, tol) -> np.ndarray:
    """(n_targets, n_folds, configs of this degree) by one ``fold_task`` per split."""
    from sklearn.exceptions import ConvergenceWarning

    configs = [c for c in grid_configs([degree], alphas, l1_ratios)]
    index = {c: j for j, c in enumerate(configs)}
    out = np.full((Y.shape[1], len(splits), len(configs)), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k, (train, test) in enumerate(splits):
            per_target = fold_task(X, Y, train, test, degree, alphas, l1_ratios, max_iter, tol)
            for t, (preds, _) in enumerate(per_target):
                for c, p in preds.items():
                    out[t, k, index[c]] = np.mean(np.abs(Y[test, t] - p))
    return out


# ---------------------------------------------------------------------------------------------
# degree 1: every split and every configuration at once

@dataclass
class LinearGrid:
    """Degree-1 fits of every (alpha, l1_ratio) on S subsets of the rows ("splits"): per split the input
    scalers (the first ``Design`` scaler; the second is the identity at degree 1) and, per configuration
    and target, the coefficients on the standardized inputs and the intercept (the target's mean)."""
    configs: list  # [(alpha, l1_ratio)] in grid order
    mean: np.ndarray  # (S, p)
    scale: np.ndarray  # (S, p)
    y_mean: np.ndarray  # (S, T)
    coef: np.ndarray  # (S, C, p, T)

    def predict(self, A: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Every configuration's predictions of rows[s] (S, m) of the inputs A: (S, C, m, T)."""
        Z = (A[rows] - self.mean[:, None, :]) / self.scale[:, None, :]
        return np.einsum("smp,scpt->scmt", Z, self.coef) + self.y_mean[:, None, None, :]

    def design(self, s: int = 0) -> Design:
        p = self.mean.shape[1]
        return Design(1, self.mean[s].copy(), self.scale[s].copy(), np.zeros(p), np.ones(p))


def _moments(A: np.ndarray, Y: np.ndarray, train: np.ndarray):
    """Per split (rows ``train[s]``): input means and scales (StandardScaler's, constant inputs scale 1),
    target means, the standardized Gram matrix over n (H0) and inputs x centered targets over n (g)."""
    W = train.astype(float)
    ns = W.sum(axis=1)
    a0, y0 = A.mean(axis=0), Y.mean(axis=0)
    Ac, Yc = A - a0, Y - y0  # centred first: the moments below lose no precision
    m, my = W @ Ac / ns[:, None], W @ Yc / ns[:, None]
    cov = np.einsum("sn,np,nq->spq", W, Ac, Ac) / ns[:, None, None] - m[:, :, None] * m[:, None, :]
    cxy = np.einsum("sn,np,nt->spt", W, Ac, Yc) / ns[:, None, None] - m[:, :, None] * my[:, None, :]
    var = np.diagonal(cov, axis1=1, axis2=2)
    eps = np.finfo(float).eps
    mean = m + a0
    const = var <= ns[:, None] * eps * var + (ns[:, None] * mean * eps) ** 2  # StandardScaler's rule
    scale = np.where(const, 1.0, np.sqrt(np.where(const, 1.0, var)))
    H0 = cov / scale[:, :, None] / scale[:, None, :]
    g = cxy / scale[:, :, None]
    H0[const[:, :, None] | const[:, None, :]] = 0.0
    g[const] = 0.0
    return mean, scale, my + y0, H0, g


def _enet_coefs(H0, g, configs, init):
    """Coefficients (S, C_enet, p, T) of the Elastic Net configurations [(alpha, l1_ratio > 0)], exact
    (``advisor.predict.enet``); ``init`` (S, C_enet, p, T) warm-starts them, else each l1_ratio's alphas
    run from the largest down, each warm-started from the previous one."""
    from advisor.predict import enet

    S, p, T = g.shape
    eye = np.eye(p)
    gt = g.transpose(0, 2, 1).reshape(S * T, p)  # problems ordered (split, target)

    def solve(cfgs, w0):
        H = np.concatenate([np.repeat(H0 + a * (1 - r) * eye, T, axis=0) for a, r in cfgs])
        lam1 = np.repeat([a * r for a, r in cfgs], S * T)
        w = enet.solve(H, np.tile(gt, (len(cfgs), 1)), lam1, w0).w
        return w.reshape(len(cfgs), S, T, p).transpose(1, 0, 3, 2)

    if init is not None:
        return solve(configs, init.transpose(1, 0, 3, 2).reshape(-1, p))
    out = np.empty((S, len(configs), p, T))
    previous: dict = {}
    for a in dict.fromkeys(a for a, _ in configs):  # grid order: alphas descending, l1_ratios together
        js = [j for j, c in enumerate(configs) if c[0] == a]
        ratios = [configs[j][1] for j in js]
        w0 = np.concatenate([previous.get(r, np.zeros((S * T, p))) for r in ratios])
        out[:, js] = solve([configs[j] for j in js], w0)
        for j, r in zip(js, ratios):
            previous[r] = out[:, j].transpose(0, 2, 1).reshape(-1, p)
    return out


def linear_grid(A: np.ndarray, Y: np.ndarray, train: np.ndarray, alphas, l1_ratios,
                init: np.ndarray | None = None) -> LinearGrid:
    """Degree-1 fits of every configuration on every split (``train``: (S, n) row masks) for every column
    of Y (n, T): ridge (l1_ratio 0) in closed form, the Elastic Net exactly. ``init``: coefficients
    (S, C, p, T) to warm-start the Elastic Net from (e.g. the fit on all rows)."""
    A = np.asarray(A, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(A), -1)
    configs = [(a, r) for _, a, r in grid_configs([1], alphas, l1_ratios)]
    mean, scale, y_mean, H0, g = _moments(A, Y, np.asarray(train, dtype=bool))
    S, p, T = g.shape
    coef = np.empty((S, len(configs), p, T))
    ridge = [j for j, (_, r) in enumerate(configs) if r == 0]
    if ridge:
        shift = np.array([configs[j][0] for j in ridge])[None, :, None, None] * np.eye(p)
        coef[:, ridge] = np.linalg.solve(H0[:, None] + shift, np.broadcast_to(
            g[:, None], (S, len(ridge), p, T)))
    en = [j for j, (_, r) in enumerate(configs) if r != 0]
    if en:
        coef[:, en] = _enet_coefs(H0, g, [configs[j] for j in en], None if init is None else init[:, en])
    return LinearGrid(configs, mean, scale, y_mean, coef)


def _test_rows(splits, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train masks (S, n), test rows (S, m) padded with row 0, valid (S, m)) of [(train, test)]."""
    m = max(len(te) for _, te in splits)
    train = np.zeros((len(splits), n), dtype=bool)
    rows = np.zeros((len(splits), m), dtype=int)
    valid = np.zeros((len(splits), m), dtype=bool)
    for k, (tr, te) in enumerate(splits):
        train[k, tr] = True
        rows[k, :len(te)] = te
        valid[k, :len(te)] = True
    return train, rows, valid


def linear_search(A: np.ndarray, Y: np.ndarray, splits, alphas, l1_ratios) -> tuple[LinearGrid, np.ndarray]:
    """The degree-1 search: (the fits on all rows of A, the test MAE (T, S, C) of every configuration on
    every split). The splits' Elastic Nets start from the all-rows fit's supports."""
    A = np.asarray(A, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(A), -1)
    full = linear_grid(A, Y, np.ones((1, len(A)), dtype=bool), alphas, l1_ratios)
    train, rows, valid = _test_rows(splits, len(A))
    grid = linear_grid(A, Y, train, alphas, l1_ratios,
                       init=np.broadcast_to(full.coef, (len(splits), *full.coef.shape[1:])))
    err = np.abs(Y[rows][:, None] - grid.predict(A, rows)) * valid[:, None, :, None]  # (S, C, m, T)
    mae = err.sum(axis=2) / valid.sum(axis=1)[:, None, None]
    return full, mae.transpose(2, 0, 1)


def conformal_halfwidth(abs_residuals: np.ndarray, level: float) -> float:
    """Split-conformal half-width: the ceil((n+1)*level)-th smallest |residual| (inf if > n)."""
    r = np.sort(np.asarray(abs_residuals, dtype=float))
    n = len(r)
    k = math.ceil((n + 1) * level)
    return float("inf") if k > n else float(r[k - 1])


# ---------------------------------------------------------------------------------------------
# degree 1 on many column subsets at once (the reduced specs of advisor.predict.partial)

def linear_search_subsets(A: np.ndarray, Y: np.ndarray, splits, alphas, l1_ratios,
                          subsets) -> list[tuple[LinearGrid, np.ndarray]]:
    """``linear_search(A[:, list(s)], Y, splits, alphas, l1_ratios)`` for every column subset ``s`` of
    ``subsets`` (tuples of column indices of A, in the order the spec reads them), all at once: the same
    fits on all rows and fold MAEs (T, S, C), to rounding.

    What is shared: the moments of every split (and of all rows) are computed once for all columns: each
    column is standardized on its own, so a subset's standardized Gram matrix and inputs x targets are
    blocks of the whole ones. Per (split, subset) one eigendecomposition gives ridge for every alpha in
    closed form, and each Elastic Net problem takes the first exact certificate that holds
    (``_subset_enet``). Subsets are solved by size, smallest first, so the subsets one column smaller
    are ready; the problems no certificate answers go to ``advisor.predict.enet.solve`` once per size."""
    A = np.asarray(A, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(A), -1)
    configs = [(a, r) for _, a, r in grid_configs([1], alphas, l1_ratios)]
    train, rows, valid = _test_rows(splits, len(A))
    masks = np.vstack([train, np.ones((1, len(A)), dtype=bool)])  # the last "split": all rows
    mean, scale, y_mean, H0, g = _moments(A, Y, masks)
    Z = (A[rows] - mean[:-1, None, :]) / scale[:-1, None, :]  # every split's test rows, standardized
    resid = (Y[rows] - y_mean[:-1, None, :]).transpose(0, 2, 1)[:, None]  # (S, 1, T, m)
    weight = valid / valid.sum(axis=1)[:, None]
    lam = np.array([[a * r for a, r in configs], [a * (1 - r) for a, r in configs]])  # l1, l2 penalties
    en = np.flatnonzero(lam[0] > 0)
    solved: dict[tuple, np.ndarray] = {}  # sorted columns -> Elastic Net coefficients (S, C_enet, T, k)
    out: dict[int, tuple[LinearGrid, np.ndarray]] = {}
    for size in sorted({len(s) for s in subsets}):
        level = [i for i, s in enumerate(subsets) if len(s) == size]
        for small in [c for c in solved if len(c) < size - 1]:
            del solved[small]
        found = _level_coefs(H0, g, {tuple(sorted(subsets[i])) for i in level}, lam, solved)
        solved.update({cols: coef[:, en] for cols, coef in found.items()})
        for i in level:
            cols, idx = tuple(sorted(subsets[i])), list(subsets[i])
            coef = found[cols][..., [cols.index(c) for c in idx]]  # the subset's own column order
            pred = coef[:-1].reshape(len(Z), -1, len(idx)) @ Z[:, :, idx].transpose(0, 2, 1)  # (S, C*T, m)
            mae = np.einsum("sctm,sm->sct", np.abs(resid - pred.reshape(len(Z), len(configs), *resid.shape[2:])),
                            weight)
            out[i] = (LinearGrid(configs, mean[-1:, idx], scale[-1:, idx], y_mean[-1:],
                                 coef[-1:].transpose(0, 1, 3, 2).copy()), mae.transpose(2, 0, 1))
    return [out[i] for i in range(len(subsets))]


def _level_coefs(H0, g, level: set, lam: np.ndarray, solved: dict) -> dict:
    """{cols: coefficients (S, C, T, k)} of every configuration (``lam``: the l1 and l2 penalties, (2, C))
    on each column subset of ``level`` (sorted tuples of one size), from the blocks of the whole moments
    H0 (S, q, q) and g (S, q, T): ridge in closed form, the Elastic Net by ``_subset_enet``'s
    certificates and one ``advisor.predict.enet.solve`` call for the problems left over."""
    from advisor.predict import enet

    en = np.flatnonzero(lam[0] > 0)
    found, pending = {}, []
    for cols in sorted(level):
        idx = list(cols)
        H, gs = H0[:, idx][:, :, idx], g[:, idx]
        S, k, T = gs.shape
        ev, Q = np.linalg.eigh(H)  # H = Q diag(ev) Q', per split
        denom = ev[:, None, None, :] + lam[1][None, :, None, None]  # (S, C, 1, k)
        with np.errstate(divide="ignore", invalid="ignore"):  # a (nearly) singular H with lam2 = 0: inf,
            inv = np.where(denom > 1e-9, 1.0 / denom, np.inf)  # so no certificate (NaN) and enet.solve
            QG = (gs.transpose(0, 2, 1) @ Q)[:, None] * inv  # (S, C, T, k): Q'g / (ev + lam2)
            coef = (QG.reshape(S, -1, k) @ Q.transpose(0, 2, 1)).reshape(QG.shape)  # (H + lam2 I)^-1 g: ridge
        if len(en):
            w, left = _subset_enet(H0, g, cols, Q, inv[:, en], coef[:, en], lam[:, en], solved)
            if left is not None:
                s_, c_, t_ = left
                pending.append((cols, en[c_], (s_, c_, t_), H[s_] + lam[1, en[c_]][:, None, None] * np.eye(k),
                                gs[s_, :, t_], lam[0, en[c_]]))
            coef[:, en] = w
        found[cols] = coef
    if pending:
        # started from zero, as a path starts: one coordinate at a time, so exactly collinear inputs
        # without an L2 term never form a singular face
        sol = enet.solve(*(np.concatenate([p[j] for p in pending]) for j in (3, 4, 5))).w
        at = np.cumsum([0] + [len(p[4]) for p in pending])
        for (cols, c_all, (s_, _, t_), *_), a, b in zip(pending, at[:-1], at[1:]):
            found[cols][s_, c_all, t_] = sol[a:b]
    return found


def _subset_enet(H0, g, cols, Q, inv, base, lam, solved: dict):
    """The Elastic Net configurations (``lam``: l1 > 0 and l2 penalties, (2, C)) on ``cols``: (coefficients
    (S, C, T, k), the problems left over as (split, configuration, target index arrays), or None), each
    problem exact by the first certificate that holds (the problem is convex, so a point meeting its
    optimality conditions is a solution; a nearly singular H + lam2 I has no closed-form certificate),
    cheapest first:

    * zero, when every |g_j| <= lam1;
    * the full support: w = (H + lam2 I)^-1 (g - lam1 s) when every coefficient has the sign s it was
      given (s: the signs of the ridge solution ``base``);
    * the solution on ``cols`` less one column j (in ``solved``), extended by w_j = 0, when column j meets
      its condition here, |g_j - (H w)_j| <= lam1 (the other columns met theirs there);
    * then, for the problems left (``_left_over``): the faces of ``cols`` less a column without that
      smaller solution, and the full support with the signs of the last face solution.
    ``solved``: {smaller sorted columns: their Elastic Net coefficients (S, C, T, k - 1)}.
    Tolerances are ``enet.solve``'s. After the first two, only the problems left are computed."""
    idx = list(cols)
    gs = g[:, idx].transpose(0, 2, 1)  # (S, T, k)
    S, T, k = gs.shape
    lam1 = lam[0]
    C = len(lam1)
    tol = 1e-12 * (1.0 + np.abs(gs).max(axis=2)[:, None, :] + lam1[None, :, None])  # (S, C, T)
    limit = lam1[None, :, None] + tol
    zero = np.abs(gs).max(axis=2)[:, None, :] <= limit  # (S, C, T)
    signs = np.sign(base)
    with np.errstate(invalid="ignore"):
        Qs = (signs.reshape(S, C * T, k) @ Q).reshape(S, C, T, k) * inv
        face = base - lam1[:, None, None] * (Qs.reshape(S, C * T, k) @ Q.transpose(0, 2, 1)).reshape(S, C, T, k)
        dense = ~zero & np.all(face * signs > 0, axis=3)
    w = np.where(dense[..., None], face, 0.0)
    left = ~(zero | dense)
    source = np.full(left.shape, -1)  # which smaller solution answers the problem
    for pos, j in enumerate(cols):
        child = solved.get(tuple(c for c in cols if c != j))
        if child is None or not left.any():
            continue
        rest = [c for c in cols if c != j]
        grad = g[:, None, j, :] - (child.reshape(S, -1, k - 1) @ H0[:, j, rest, None]).reshape(S, C, T)
        ok = left & (np.abs(grad) <= limit)
        source[ok] = pos
        left &= ~ok
    for pos in np.unique(source[source >= 0]):
        at = np.nonzero(source == pos)
        w[at] = np.insert(solved[tuple(c for c in cols if c != cols[pos])][at], pos, 0.0, axis=1)
    s_, c_, t_ = np.nonzero(left)
    if not len(s_):
        return w, None
    w[s_, c_, t_], rest = _left_over(gs, cols, Q, inv, base, lam1, limit, solved, (s_, c_, t_),
                                     np.sign(face[s_, c_, t_]))
    return w, (s_[rest], c_[rest], t_[rest]) if len(rest) else None


def _left_over(gs, cols, Q, inv, base, lam1, limit, solved, at, sg):
    """The problems ``at`` (split, configuration, target index arrays) no cheap certificate of
    ``_subset_enet`` answered, by the faces of ``cols`` less one column without a smaller solution and
    the full support with refined signs ``sg``: (n, k) solutions, and the positions of the problems
    still open (left to ``advisor.predict.enet.solve``)."""
    s_, c_, t_ = at
    k = len(cols)
    out = np.full((len(s_), k), np.nan)
    todo = np.arange(len(s_))
    Qn, dn, l1 = Q[s_], inv[s_, c_, 0], lam1[c_][:, None]
    r = gs[s_, t_]
    for pos, j in enumerate(cols):  # no smaller neighbour without j: the face of the support cols - {j}
        if not len(todo) or tuple(c for c in cols if c != j) in solved:
            continue
        sj = sg[todo].copy()
        sj[:, pos] = 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            u = _apply(Qn[todo], dn[todo], r[todo] - l1[todo] * sj)  # M^-1 (g - lam1 s), M = H + lam2 I
            v = _apply(Qn[todo], dn[todo], np.eye(k)[[pos] * len(todo)])  # M^-1 e_j
            f = u - v * (u[:, [pos]] / v[:, [pos]])  # w_j = 0; then g_j - (H w)_j = u_j / v_j
            fit = (np.all((f * sj > 0) | (np.arange(k) == pos), axis=1)
                   & (np.abs(u[:, pos] / v[:, pos]) <= limit[s_[todo], c_[todo], t_[todo]]))
        f[:, pos] = 0.0
        out[todo[fit]] = f[fit]
        todo = todo[~fit]
    for _ in range(2):  # the full support with the signs of the last face solution
        if not len(todo):
            break
        with np.errstate(invalid="ignore"):
            f = base[s_[todo], c_[todo], t_[todo]] - l1[todo] * _apply(Qn[todo], dn[todo], sg[todo])
            fit = np.all(f * sg[todo] > 0, axis=1)
        out[todo[fit]] = f[fit]
        sg[todo[~fit]] = np.nan_to_num(np.sign(f[~fit]))
        todo = todo[~fit]
    out[todo] = np.nan_to_num(sg[todo])
    return out, todo


def _apply(Q: np.ndarray, d: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Q diag(d) Q' r per row: (n, k, k), (n, k), (n, k) -> (n, k)."""
    return np.einsum("nij,nj->ni", Q, np.einsum("nji,nj->ni", Q, r) * d)
