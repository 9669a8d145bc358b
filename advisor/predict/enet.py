"""Exact Elastic Net solutions of many small problems at once (numpy, no loop over problems).

Each problem b is   minimize_w  1/2 w'H_b w - g_b'w + lam1_b |w|_1,
with H_b = P'P/n + lam2 I (positive definite on every support met) and g_b = P'y/n: scikit-learn's
ElasticNet objective 1/(2n)|y - Pw|^2 + alpha*r*|w|_1 + alpha*(1-r)/2*|w|^2 with lam1 = alpha*r and
lam2 = alpha*(1-r), on centered y and standardized P. ``advisor.predict.search`` builds H and g for every
inner-CV split and every configuration of a spec's grid and solves them here in one call.

The method is the primal active-set method for the L1 problem (feature-sign search, Lee et al. 2007; for
non-negative least squares, Lawson and Hanson 1974): keep a support A with signs s; solve the equality
system of that face, H_AA w_A = g_A - lam1 s_A; if a coefficient would cross zero, move to the first
crossing and drop it; else, at the face's minimum, add the one coordinate that violates the optimality
conditions most (|g_j - H_j w| > lam1), with the sign of its gradient. The objective falls at every step,
so no face is visited twice and the method ends, with the exact solution (to rounding) where it stops:
every active coordinate has the sign of its face and every inactive one satisfies |g_j - H_j w| <= lam1.
A warm start (``w0``: e.g. the solution of the same configuration on all training rows, whose support is
nearly always the split's) makes most problems end after one face solve. All problems take the same
steps in lockstep on index arrays; one step costs one batched ``numpy.linalg.solve`` of the problems not
yet done. Problems that reach ``max_steps`` (none in the tests and on the shipped data) are finished by
plain coordinate descent to the same optimality conditions and counted in ``Solution.slow``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Solution:
    w: np.ndarray  # (B, p) coefficients
    steps: int  # face solves of the slowest problem
    slow: int  # problems finished by coordinate descent (max_steps reached)


def _lin_solve(M, rhs):
    """M^-1 rhs per problem, or where some M of the batch is singular (exactly collinear inputs without
    an L2 term, lam2 = 0) the minimum-norm least-squares solution, pinv(M) rhs, for the whole batch."""
    try:
        return np.linalg.solve(M, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return (np.linalg.pinv(M) @ rhs[..., None])[..., 0]


def _face(H, g, lam1, s):
    """The minimizer of each problem's face (support s != 0, signs s): inactive coordinates get the
    identity row and right-hand side 0. Empty faces are 0 and full faces need no masking."""
    act = s != 0
    k = act.sum(axis=1)
    z = np.zeros(g.shape)
    full = np.flatnonzero(k == g.shape[1])
    if len(full):
        z[full] = _lin_solve(H[full], g[full] - lam1[full, None] * s[full])
    part = np.flatnonzero((k > 0) & (k < g.shape[1]))
    if len(part):
        a = act[part].astype(float)
        M = H[part] * a[:, :, None]
        M *= a[:, None, :]
        diag = np.arange(H.shape[-1])
        M[:, diag, diag] += 1.0 - a
        rhs = (g[part] - lam1[part, None] * s[part]) * a
        z[part] = _lin_solve(M, rhs)
    return z


def _step(H, g, lam1, w, s, tol, idx) -> np.ndarray:
    """One step of the active-set method for the problems ``idx``: updates w and s there in place and
    returns which of them are done."""
    Hi = H[idx] if len(idx) < len(H) else H
    gi, li, si, wi = g[idx], lam1[idx], s[idx], w[idx]
    z = _face(Hi, gi, li, si)
    wrong = (si != 0) & (si * z <= 0)
    cross = wrong.any(axis=1)
    if cross.any():  # move to the first zero crossing and drop that coordinate
        wc, zc, sc, wr = wi[cross], z[cross], si[cross], wrong[cross]
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = np.where(wr, wc / (wc - zc), np.inf)
        theta = np.clip(np.nan_to_num(theta, nan=0.0), 0.0, np.inf)
        first = theta.argmin(axis=1)
        t = np.minimum(theta[np.arange(len(first)), first], 1.0)[:, None]
        moved = wc + t * (zc - wc)
        drop = wr & (sc * moved <= 0)  # the wrong-way coordinates now at (or past) zero
        drop[np.arange(len(first)), first] = True
        moved[drop] = 0.0
        z[cross], si[cross] = moved, np.where(drop, 0.0, sc)
    at_min = ~cross  # at the face's minimum: add the worst violator, or stop
    d = gi - np.einsum("bij,bj->bi", Hi, z)
    viol = np.where(si == 0, np.abs(d) - li[:, None], -np.inf)
    j = viol.argmax(axis=1)
    add = at_min & (viol[np.arange(len(j)), j] > tol[idx])
    rows = np.flatnonzero(add)
    si[rows, j[rows]] = np.sign(d[rows, j[rows]])
    w[idx], s[idx] = z, si
    return at_min & ~add


def _coordinate_descent(H, g, lam1, w, tol, sweeps=100_000):
    """Plain coordinate descent on one problem, until the optimality conditions hold within tol."""
    w = w.copy()
    diag = np.diag(H)
    for _ in range(sweeps):
        for j in range(len(w)):
            if diag[j] <= 0:
                w[j] = 0.0
                continue
            rho = g[j] - H[j] @ w + diag[j] * w[j]
            w[j] = np.sign(rho) * max(abs(rho) - lam1, 0.0) / diag[j]
        d = g - H @ w
        on = w != 0
        if np.all(np.abs(d[on] - lam1 * np.sign(w[on])) <= tol) and np.all(np.abs(d[~on]) <= lam1 + tol):
            break
    return w


def solve(H: np.ndarray, g: np.ndarray, lam1: np.ndarray, w0: np.ndarray | None = None,
          max_steps: int | None = None) -> Solution:
    """Exact solutions of B problems: H (B, p, p), g (B, p), lam1 (B,) >= 0, optional warm start w0 (B, p)
    (only its signs are used). ``lam1`` = 0 rows are ridge: solved in one face solve on the full support."""
    H, g = np.asarray(H, dtype=float), np.asarray(g, dtype=float)
    B, p = g.shape
    lam1 = np.broadcast_to(np.asarray(lam1, dtype=float), (B,)).copy()
    tol = 1e-12 * (1.0 + np.abs(g).max(axis=1) + lam1)
    live = np.diagonal(H, axis1=1, axis2=2) > 0  # a constant input has a zero row: it stays at 0
    s = np.zeros((B, p)) if w0 is None else np.sign(np.asarray(w0, dtype=float)) * live
    s[lam1 == 0] = live[lam1 == 0]  # ridge: every live coordinate, sign irrelevant (no L1 term)
    w = np.zeros((B, p))
    ridge = lam1 == 0
    if ridge.any():
        w[ridge] = _face(H[ridge], g[ridge], lam1[ridge], s[ridge])
    todo = np.flatnonzero(~ridge)
    max_steps = max_steps or 4 * p + 10
    steps = 0
    while len(todo) and steps < max_steps:
        steps += 1
        todo = todo[~_step(H, g, lam1, w, s, tol, todo)]
    for b in todo:
        w[b] = _coordinate_descent(H[b], g[b], lam1[b], w[b], tol[b])
    return Solution(w, steps, len(todo))
