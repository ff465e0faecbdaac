r"""Exact laws instead of samples: references sharp enough to see a 1 % error.

Where a process has finitely many outcomes per step, or its law is a smooth
integral, these tools compute the reference exactly (to float64 round-off)
instead of sampling it:

* `minibatch_law`: every minibatch a sampler can draw, with its probability
  (multisets with multinomial weights with replacement, subsets without);
* `gaussian_selection_moments`: :math:`\mathbb E_m[h(\epsilon)\,P_s(\Delta f)]` and
  :math:`Z = \mathbb E_m[P_s(\Delta f)]` for Gaussian mutation and the *real*
  fitness, by a product rule aligned with the fitness gradient (composite
  Gauss–Legendre along it, where :math:`P_s` varies, jumps included at 0;
  Gauss–Hermite across it, where the integrand is a low-degree polynomial for a
  linear fitness);
* `birth_death_fixation`: fixation probabilities of a birth–death chain from
  every state, from its rates (first-step analysis, in log space), vectorised;
* `taylor_coefficients`: the Taylor coefficients of a reference in a small
  parameter by nested forward-mode autodiff, so that a series claimed to
  :math:`O(h^k)` is compared with the reference's own coefficients exactly,
  not only through the order of its remainder.

None of them takes a derived expression.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable

import numpy as np

from .._errors import AssumptionError
from .backend import jax, jnp

__all__ = ["birth_death_fixation", "gaussian_selection_moments", "legendre_panels", "minibatch_law",
           "taylor_coefficients"]


def taylor_coefficients(fn: Callable, order: int, at=0.0):
    r"""``[fn(at), fn'(at), fn''(at)/2!, ..., fn^{(order)}(at)/order!]`` stacked on a new first axis,
    for ``fn`` a function of one scalar returning an array (any shape): Taylor-mode autodiff
    (`jax.experimental.jet`, one pass), or nested forward mode (`jax.jacfwd`) where jet has no
    rule for a primitive. Exact to round-off for a reference that JAX can differentiate (real
    steps, quadratures, enumerations)."""
    from jax.experimental import jet

    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        raise AssumptionError(f"`order` must be an integer >= 0, got {order!r}.")
    at = jnp.asarray(at, dtype=jnp.float64)
    if order == 0:
        return jnp.asarray(fn(at), dtype=jnp.float64)[None]
    try:
        series = (jnp.ones_like(at),) + (jnp.zeros_like(at),) * (order - 1)
        primal, terms = jet.jet(fn, (at,), (series,))
        derivatives = [primal, *terms]
    except (KeyError, NotImplementedError):  # a primitive without a jet rule
        derivatives, g = [], fn
        for _ in range(order + 1):
            derivatives.append(g(at))
            g = jax.jacfwd(g)
    return jnp.stack([jnp.asarray(d, dtype=jnp.float64) / math.factorial(k) for k, d in enumerate(derivatives)])


def minibatch_law(n: int, batch: int, *, replace: bool) -> tuple[np.ndarray, np.ndarray]:
    r"""Every minibatch of ``batch`` draws from ``n`` examples and its probability:
    ``(counts, probabilities)``, ``counts[m, i]`` the number of times example ``i`` is in
    minibatch ``m``. With replacement (i.i.d. uniform draws) the minibatches are the
    multisets, with multinomial probabilities :math:`B!/(\prod_i k_i!)\,n^{-B}`;
    without (a uniform subset) the :math:`\binom nB` subsets, equally likely. The arrays are
    read-only (cached: a check asks for the same law at many instances)."""
    for name, value in (("n", n), ("batch", batch)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise AssumptionError(f"`{name}` must be an integer >= 1, got {value!r}.")
    if not replace and batch > n:
        raise AssumptionError(f"without replacement `batch` must be <= n = {n}, got {batch!r}.")
    if math.comb(n + batch - 1, batch) > 2_000_000:
        raise AssumptionError(f"{n} examples in batches of {batch} have too many minibatches to enumerate.")
    return _minibatch_law(int(n), int(batch), bool(replace))


@functools.lru_cache(maxsize=64)
def _minibatch_law(n: int, batch: int, replace: bool) -> tuple[np.ndarray, np.ndarray]:
    if not replace:
        subsets = np.asarray(list(itertools.combinations(range(n), batch)))
        counts = np.zeros((len(subsets), n))
        np.put_along_axis(counts, subsets, 1.0, axis=1)
        prob = np.full(len(subsets), 1.0 / len(subsets))
    else:
        multisets = np.asarray(list(itertools.combinations_with_replacement(range(n), batch)))
        counts = np.zeros((len(multisets), n))
        np.add.at(counts, (np.arange(len(multisets))[:, None], multisets), 1.0)
        log_factorials = np.cumsum(np.log(np.maximum(np.arange(batch + 1), 1)))
        log_p = log_factorials[batch] - np.sum(log_factorials[counts.astype(int)], axis=1) - batch * math.log(n)
        prob = np.exp(log_p)
    counts.flags.writeable = False
    prob.flags.writeable = False
    return counts, prob


@functools.lru_cache(maxsize=16)
def legendre_panels(half_width: float, panels: int, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre rule on [-half_width, half_width]: ``panels`` equal panels
    (an even number, so 0 is a panel boundary) of ``nodes`` points each."""
    if panels % 2:
        raise AssumptionError(f"`panels` must be even (0 is a panel boundary), got {panels!r}.")
    x, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(-half_width, half_width, panels + 1)
    mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
    return (mid[:, None] + half[:, None] * x[None, :]).reshape(-1), (half[:, None] * w[None, :]).reshape(-1)


def _frame(direction):
    """An orthogonal matrix whose first column is the unit vector ``direction``
    (a Householder reflection, signed so that no entry cancels)."""
    n = direction.shape[0]
    e1 = jnp.zeros(n).at[0].set(1.0)
    sign = jnp.where(direction[0] >= 0, 1.0, -1.0)
    v = direction + sign * e1
    H = jnp.eye(n) - 2.0 * jnp.outer(v, v) / jnp.dot(v, v)
    return H.at[:, 0].multiply(-sign)  # H e1 = -sign * direction


def gaussian_selection_moments(f: Callable, x, sel, cov, statistic: Callable, *, half_width: float = 12.0,
                               panels: int = 96, nodes: int = 16, across: int = 6):
    r"""``(E[h(ε) P_s(f(x+ε) - f(x))], Z)`` for :math:`\epsilon\sim\mathcal N(0,\Sigma)`, ``h = statistic``
    (any array-valued function of ε), :math:`Z = \mathbb E[P_s(f(x+\epsilon)-f(x))]`.

    Write :math:`\epsilon = R Q y` with :math:`RR^\top = \Sigma` and :math:`Q` orthogonal with
    first column along :math:`R^\top\nabla f(x)` (autodiff of ``f``): for a linear fitness
    :math:`P_s` varies along :math:`y_1` only. Along :math:`y_1`: composite Gauss–Legendre on
    ``[-half_width, half_width]`` (``panels`` × ``nodes`` points, a panel edge at 0, so a
    jump of :math:`P_s` at 0 costs nothing); across: ``across`` Gauss–Hermite nodes per
    axis, exact for polynomials of degree < 2·across. Converges geometrically for
    :math:`P_s` analytic in a strip wider than a panel; narrow the panels for a steep
    :math:`P_s`. JAX, jit- and vmap-able."""
    from .quadrature import hermite_rule

    x = jnp.atleast_1d(jnp.asarray(x, dtype=jnp.float64))
    n = x.shape[0]
    cov = jnp.asarray(cov, dtype=jnp.float64).reshape(n, n)
    vals, vecs = jnp.linalg.eigh(cov)
    root = vecs * jnp.sqrt(jnp.clip(vals, 0.0, None))
    slope = root.T @ jax.grad(f)(x)
    length = jnp.linalg.norm(slope)
    fallback = jnp.zeros(n).at[0].set(1.0)
    direction = jnp.where(length > 0, slope / jnp.where(length > 0, length, 1.0), fallback)
    Q = _frame(direction)
    y1, w1 = (jnp.asarray(a) for a in legendre_panels(float(half_width), panels, nodes))
    w1 = w1 * jnp.exp(-(y1**2) / 2) / math.sqrt(2 * math.pi)
    if n > 1:
        zh, wh = (jnp.asarray(a) for a in hermite_rule(across))
        grids = jnp.meshgrid(y1, *([zh] * (n - 1)), indexing="ij")
        wgrids = jnp.meshgrid(w1, *([wh] * (n - 1)), indexing="ij")
        y = jnp.stack([g.reshape(-1) for g in grids], axis=-1)
        w = jnp.prod(jnp.stack([g.reshape(-1) for g in wgrids], axis=-1), axis=-1)
    else:
        y, w = y1[:, None], w1
    eps = y @ (root @ Q).T
    fx = f(x)
    p = sel.jax(jax.vmap(lambda e: f(x + e) - fx)(eps))
    stats = jax.vmap(statistic)(eps)
    weighted = (w * p).reshape((-1,) + (1,) * (stats.ndim - 1))
    return jnp.sum(weighted * stats, axis=0), jnp.sum(w * p)


def birth_death_fixation(up, down, top=None):
    r"""Fixation probabilities :math:`\phi_0, \dots, \phi_M` of a birth–death chain on
    ``0..M`` with absorbing ends, from its rates: ``up[..., i-1]`` and ``down[..., i-1]`` are
    :math:`T^\pm_i` for the transient states :math:`i = 1..M-1` (leading axes vectorised).

    First-step analysis: :math:`\phi_i = \sum_{k<i}\prod_{j\le k}\gamma_j /
    \sum_{k<M}\prod_{j\le k}\gamma_j` with :math:`\gamma_j = T^-_j/T^+_j`, the products in log
    space and the sums shifted by their largest term (no overflow for strong selection).
    ``top``: the absorbing state M when the rate arrays are padded beyond M - 1 (M may then be
    traced, so one compiled program serves every population size); entries past M are 1. JAX."""
    up, down = jnp.asarray(up, dtype=jnp.float64), jnp.asarray(down, dtype=jnp.float64)
    length = up.shape[-1]
    states = jnp.arange(1, length + 1)
    live = states < (length + 1 if top is None else top)
    log_gamma = jnp.where(live, jnp.log(jnp.where(live, down, 1.0)) - jnp.log(jnp.where(live, up, 1.0)), 0.0)
    zero = jnp.zeros(log_gamma.shape[:-1] + (1,))
    terms = jnp.concatenate([zero, jnp.cumsum(log_gamma, axis=-1)], axis=-1)  # k = 0..length
    terms = jnp.where(jnp.concatenate([jnp.ones(1, bool), live]), terms, -jnp.inf)
    # Partial sums of exp(terms), shifted by their largest term (a cumulative sum: cumlogsumexp is
    # O(n^2) on CPU). A state whose probability is below 1e-308 of the largest comes out 0.
    shifted = jnp.cumsum(jnp.exp(terms - jnp.max(terms, axis=-1, keepdims=True)), axis=-1)
    return jnp.concatenate([zero, shifted / shifted[..., -1:]], axis=-1)
