r"""Exact solves of finite Markov chains: absorption and stationary laws.

References that know the process, not the formula: the transition probabilities
are built from the model's rules and solved by one linear solve each.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import validate

__all__ = ["Absorption", "moran_transitions", "tridiagonal_solve", "moran_absorption_system",
           "wright_fisher_absorption_system", "path_chain", "stationary_vector", "jump_chain"]


class Absorption(NamedTuple):
    """Absorption of a finite birth–death or Wright–Fisher chain, indexed by the
    number of mutant copies ``0..M`` (M = N for Moran, 2N for Wright–Fisher).

    phi:        probability of fixation (absorption at M).
    time:       mean number of steps to absorption (either boundary).
    time_fixed: mean number of steps to fixation, given fixation (NaN where phi = 0).
    """

    phi: np.ndarray
    time: np.ndarray
    time_fixed: np.ndarray


def moran_transitions(N, r) -> tuple[np.ndarray, np.ndarray]:
    r"""``(T⁺, T⁻)`` for the states ``0..N`` of the Moran process: one individual
    is chosen to reproduce with probability proportional to fitness (mutants
    ``r``, residents 1) and its offspring replaces one chosen uniformly at random,

    .. math::
        T^+_i = \frac{r i}{r i + N - i}\,\frac{N-i}{N},\qquad
        T^-_i = \frac{N - i}{r i + N - i}\,\frac{i}{N}.
    """
    N = validate.population(N)
    r = validate.fitness(r)
    i = np.arange(N + 1, dtype=np.float64)
    total = r * i + N - i
    return r * i / total * (N - i) / N, (N - i) / total * i / N


def tridiagonal_solve(sub, diag, sup, rhs):
    """Solve a tridiagonal system (rows k: sub[k] x[k-1] + diag[k] x[k] + sup[k] x[k+1])
    by elimination without pivoting, for one or more right-hand-side columns.

    The absorption systems are M-matrices (positive diagonal, non-positive
    off-diagonals, weakly diagonally dominant), for which elimination without
    pivoting keeps every intermediate positive and the computed solution is
    accurate component by component, even where it is tiny (a deleterious
    mutant's 1e-30 fixation probability to ~1e-13 relative). Pivoting LAPACK
    solvers only guarantee accuracy relative to the largest component."""
    n = len(diag)
    rhs = np.asarray(rhs, dtype=np.float64)
    c = np.empty(n)
    d = np.empty((n,) + rhs.shape[1:])
    c[0] = sup[0] / diag[0] if n > 1 else 0.0
    d[0] = rhs[0] / diag[0]
    for k in range(1, n):
        m = diag[k] - sub[k] * c[k - 1]
        c[k] = sup[k] / m if k < n - 1 else 0.0
        d[k] = (rhs[k] - sub[k] * d[k - 1]) / m
    out = np.empty_like(d)
    out[-1] = d[-1]
    for k in range(n - 2, -1, -1):
        out[k] = d[k] - c[k] * out[k + 1]
    return out


def moran_absorption_system(N, r) -> Absorption:
    r"""Exact fixation probabilities and mean absorption times of the Moran
    process (time in birth–death steps; N steps make one generation).

    With :math:`T^\pm_i` from `moran_transitions`, three tridiagonal solves over
    the transient states :math:`1 \le i \le N-1`:

    .. math::
        (T^+_i + T^-_i)\,x_i - T^+_i x_{i+1} - T^-_i x_{i-1} = b_i

    with :math:`b = 0` and :math:`\phi_0 = 0, \phi_N = 1` for the fixation
    probabilities; :math:`b = 1` and zero boundaries for the absorption time;
    :math:`b = \phi` and zero boundaries for :math:`\theta_i = \phi_i \tau_i`,
    whence the conditional fixation time :math:`\tau_i = \theta_i/\phi_i`.
    Solved by elimination without pivoting (`tridiagonal_solve`): relative accuracy about
    1e-13 per component for N <= 100. (Taylor, Iwasa & Nowak 2006; MATH.md D5–D6.)
    """
    N = validate.population(N)
    up, down = moran_transitions(N, r)
    phi = np.zeros(N + 1)
    phi[N] = 1.0
    time = np.zeros(N + 1)
    theta = np.zeros(N + 1)
    if N >= 2:
        u, d = up[1:N], down[1:N]
        rhs = np.zeros((N - 1, 2))
        rhs[-1, 0] = u[-1]  # the known phi_N = 1 moved to the right-hand side
        rhs[:, 1] = 1.0
        solved = tridiagonal_solve(-d, u + d, -u, rhs)
        phi[1:N], time[1:N] = solved[:, 0], solved[:, 1]
        theta[1:N] = tridiagonal_solve(-d, u + d, -u, phi[1:N])
    with np.errstate(divide="ignore", invalid="ignore"):
        fixed = np.where(phi > 0, theta / phi, np.nan)
    fixed[N] = 0.0
    return Absorption(phi, time, fixed)


def wright_fisher_absorption_system(N, s=0.0) -> Absorption:
    r"""Exact fixation probabilities and mean absorption times (in generations)
    of the Wright–Fisher chain with ``2N`` gene copies and genic selection ``s``.

    From ``k`` copies, selection takes the frequency to
    :math:`p' = p(1+s)/(1+ps)` with :math:`p = k/(2N)`, and the next generation is
    :math:`\operatorname{Binomial}(2N, p')`. With :math:`Q` the transient block of
    the transition matrix: :math:`(I-Q)\phi = P_{\cdot,2N}`,
    :math:`(I-Q)\tau = 1`, :math:`(I-Q)\theta = \phi`, :math:`\tau^{\rm fix} = \theta/\phi`.
    A dense solve: cost grows as :math:`N^3` (N = 500 takes about a second).
    """
    from scipy.special import gammaln, xlog1py, xlogy

    N = validate.population(N)
    s = validate.wf_selection(s)
    M = 2 * N
    k = np.arange(M + 1, dtype=np.float64)
    p = k / M
    selected = (p * (1 + s) / (1 + p * s))[:, None]
    j = k[None, :]
    P = np.exp(gammaln(M + 1) - gammaln(j + 1) - gammaln(M - j + 1) + xlogy(j, selected) + xlog1py(M - j, -selected))
    A = np.eye(M - 1) - P[1:M, 1:M]
    solved = np.linalg.solve(A, np.column_stack([P[1:M, M], np.ones(M - 1)]))
    phi = np.concatenate([[0.0], solved[:, 0], [1.0]])
    time = np.concatenate([[0.0], solved[:, 1], [0.0]])
    theta = np.concatenate([[0.0], np.linalg.solve(A, phi[1:M]), [0.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        fixed = np.where(phi > 0, theta / phi, np.nan)
    fixed[M] = 0.0
    return Absorption(phi, time, fixed)


# --------------------------------------------------------------------------- simulators


def path_chain(up, down) -> np.ndarray:
    r"""Transition matrix of a chain on a path of states ``0..n-1`` from the acceptance
    probabilities of the moves i → i+1 (``up[i]``) and i+1 → i (``down[i]``): each
    neighbour is proposed with probability 1/2 (a proposal off either end means stay);
    a rejected proposal stays."""
    n = len(up) + 1
    P = np.zeros((n, n))
    idx = np.arange(n - 1)
    P[idx, idx + 1] = 0.5 * np.asarray(up)
    P[idx + 1, idx] = 0.5 * np.asarray(down)
    P[np.arange(n), np.arange(n)] = 1.0 - P.sum(axis=1)
    return P


def stationary_vector(P) -> np.ndarray:
    r"""The left eigenvector of the stochastic matrix ``P`` for the eigenvalue 1,
    normalised to sum 1, by Grassmann–Taksar–Heyman state reduction (Gaussian
    elimination on the off-diagonal rates only). It never forms
    :math:`1 - \sum_j P_{ij}`, so it keeps full relative accuracy on small
    probabilities where a dense eigen-solver loses digits to the spectral gap."""
    A = np.array(P, dtype=np.float64)
    n = A.shape[0]
    for k in range(n - 1, 0, -1):
        out = A[k, :k].sum()
        A[:k, k] /= out
        A[:k, :k] += np.outer(A[:k, k], A[k, :k])
    v = np.zeros(n)
    v[0] = 1.0
    for k in range(1, n):
        v[k] = v[:k] @ A[:k, k]
    return v / v.sum()


def jump_chain(P) -> np.ndarray:
    """The chain counted per change of state: stays removed, rows renormalised."""
    J = np.array(P, dtype=np.float64) - np.diag(np.diag(P))
    return J / J.sum(axis=1, keepdims=True)
