r"""Expectations over a correlated Gaussian pair, by quadrature: the dual kernels
:math:`\mathbb E[f(u)\,g(v)]` for
:math:`(u, v)\sim\mathcal N\big(0, \big[\begin{smallmatrix}k_{11} & k_{12}\\ k_{12} & k_{22}\end{smallmatrix}\big]\big)`,
and the infinite-width kernel recursion built on them (MATH.md K1).

Two rules, both from the definition of the expectation (never from a closed form):

* `polar_expectation` (references): with :math:`u = \sqrt{k_{11}}\,r\cos\alpha`,
  :math:`v = \sqrt{k_{22}}\,r\cos(\alpha-\beta)`, :math:`\cos\beta = k_{12}/\sqrt{k_{11}k_{22}}`,

  .. math:: \mathbb E[f(u)g(v)] = \frac1{2\pi}\int_0^\pi\!d\alpha\int_0^\infty
            \big[F(r,\alpha) + F(-r,\alpha)\big]\,r e^{-r^2/2}\,dr,

  Gauss–Legendre in α on the pieces between the angles where u = 0 or v = 0 (so an
  activation with a kink at 0, like ReLU, is integrated piece by piece), and
  Gauss–Legendre in r on pieces of [0, 13] that narrow towards 0 (on each angular
  piece the integrand is smooth in r). Rounding-level accuracy (about 1e-13
  relative) for the activations of the vocabulary at variances up to ~10
  (`tests/engine/test_kernels_api.py`).
* `hermite_gram` (the kernel function of an activation without a closed form):
  the tensor Gauss–Hermite rule in :math:`(z_1, z_2)`, :math:`u = \sqrt{k_{11}} z_1`,
  :math:`v = \sqrt{k_{22}}(c z_1 + \sqrt{1-c^2} z_2)`, over whole Gram matrices.
  Its error for smooth activations falls geometrically with the number of nodes;
  `pricesym.kernels` reports it by comparing with a rule of twice the nodes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from .backend import jax, jnp
from .quadrature import hermite_rule

__all__ = ["polar_expectation", "hermite_gram", "kernels_by_quadrature", "elementwise_derivative"]


@functools.lru_cache(maxsize=8)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1) / 2, w / 2  # on [0, 1]


# Radial pieces: the density r e^{-r^2/2} beyond r = 13 is below e^{-84}; the pieces
# narrow towards 0, where an integrand like E[φ'φ'] of erf (a Gaussian of width
# 1/sqrt(k)) lives for large variances.
_RADIAL_EDGES = (0.0, 0.25, 0.5, 1.0, 2.0, 3.5, 5.5, 8.5, 13.0)


@functools.lru_cache(maxsize=8)
def _radial(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes r and weights for the integral of G(r) r e^{-r^2/2} over [0, 13]: ``n``
    Gauss–Legendre nodes on each piece."""
    x, w = _legendre(n)
    edges = np.asarray(_RADIAL_EDGES)
    width = np.diff(edges)
    r = (edges[:-1, None] + width[:, None] * x[None, :]).reshape(-1)
    weight = (width[:, None] * w[None, :]).reshape(-1) * r * np.exp(-r * r / 2)
    return r, weight


def elementwise_derivative(f: Callable) -> Callable:
    """φ' by autodiff of φ, element-wise (the a.e. derivative: 0 at a ReLU's kink, like the model)."""
    return jnp.vectorize(jax.grad(lambda x: f(x) * 1.0))


def polar_expectation(f: Callable, g: Callable, k11, k22, k12, *, angular: int = 48, radial: int = 24):
    """E[f(u) g(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]) (scalars; jit/vmap-able).

    ``angular`` Gauss–Legendre nodes on each of the three angular pieces, ``radial``
    on each of the eight radial pieces; ``f`` and ``g`` act element-wise on JAX arrays."""
    k11, k22, k12 = (jnp.asarray(k, dtype=jnp.float64) for k in (k11, k22, k12))
    s1, s2 = jnp.sqrt(k11), jnp.sqrt(k22)
    beta = jnp.arctan2(jnp.sqrt(jnp.maximum(k11 * k22 - k12 * k12, 0.0)), k12)  # angle between the two directions
    kink_v = jnp.where(beta < jnp.pi / 2, beta + jnp.pi / 2, beta - jnp.pi / 2)  # where v = 0 (mod pi)
    lo, hi = jnp.minimum(kink_v, jnp.pi / 2), jnp.maximum(kink_v, jnp.pi / 2)
    edges = jnp.stack([0.0, lo, hi, jnp.pi])
    xa, wa = (jnp.asarray(a) for a in _legendre(angular))
    width = edges[1:] - edges[:-1]
    alpha = (edges[:-1, None] + width[:, None] * xa[None, :]).reshape(-1)
    w_alpha = (width[:, None] * wa[None, :]).reshape(-1)
    r, wt = (jnp.asarray(a) for a in _radial(radial))
    r = r[:, None]
    a1 = s1 * jnp.cos(alpha)[None, :]
    a2 = s2 * jnp.cos(alpha - beta)[None, :]
    both = f(r * a1) * g(r * a2) + f(-r * a1) * g(-r * a2)
    return jnp.einsum("i,ij,j->", wt, both, w_alpha) / (2 * jnp.pi)


def hermite_gram(f: Callable, g: Callable, k11, k22, k12, *, nodes: int = 24):
    """E[f(u) g(v)] for every pair of a Gram matrix: ``k11`` (N1, 1), ``k22`` (1, N2),
    ``k12`` (N1, N2), by the ``nodes``×``nodes`` Gauss–Hermite rule. The node loops
    run in `lax.scan`, so memory stays O(N1 N2)."""
    z, w = (jnp.asarray(a) for a in hermite_rule(nodes))
    s1, s2 = jnp.sqrt(k11), jnp.sqrt(k22)
    c = jnp.clip(k12 / (s1 * s2), -1.0, 1.0)
    s = jnp.sqrt(1.0 - c * c)

    def outer(acc, node):
        zi, wi = node
        fu = f(s1 * zi)
        base = c * zi

        def inner(total, node_j):
            zj, wj = node_j
            return total + wj * g(s2 * (base + s * zj)), None

        gv, _ = jax.lax.scan(inner, jnp.zeros_like(k12), (z, w))
        return acc + wi * fu * gv, None

    out, _ = jax.lax.scan(outer, jnp.zeros_like(k12), (z, w))
    return out


def kernels_by_quadrature(phi: Callable, q11, q22, q12, W_std, b_std, depth: int, *, width=None, dim=None,
                          parameterization: str = "ntk", angular: int = 48, radial: int = 24):
    r"""The NNGP and NTK recursion of MATH.md K1 with every Gaussian expectation done by
    `polar_expectation` of ``phi`` and its autodiff derivative: arrays
    ``(K[l], Theta[l])`` for l = 1 … depth + 1 (index 0 is the input layer K¹).

    ``q11, q22, q12`` are x·x/d, x'·x'/d, x·x'/d. Standard parametrisation needs the
    hidden ``width`` and the input dimension ``dim``: each dense layer of fan-in n
    adds n·E[φφ] + 1 (its weights and bias) instead of σ_w² E[φφ] + σ_b² (neural-tangents' `stax`)."""
    dphi = elementwise_derivative(phi)
    bias = 0.0 if b_std is None else 1.0  # b_std=None: no bias parameters (stax's default)
    w2, b2 = jnp.asarray(W_std, dtype=jnp.float64) ** 2, jnp.asarray(0.0 if b_std is None else b_std, dtype=jnp.float64) ** 2
    q11, q22, q12 = (jnp.asarray(q, dtype=jnp.float64) for q in (q11, q22, q12))
    k11, k22, k12 = w2 * q11 + b2, w2 * q22 + b2, w2 * q12 + b2
    theta = dim * q12 + bias if parameterization == "standard" else k12
    # E[φφ] at the three covariances of a layer, (k11, k11, k11), (k22, k22, k22) and
    # (k11, k22, k12), as one batched integral; the layers as one scanned step: the
    # program's size does not grow with the depth.
    same = jax.vmap(lambda a, b, c: polar_expectation(phi, phi, a, b, c, angular=angular, radial=radial))

    def layer(carry, _):
        k11, k22, k12, theta = carry
        e11, e22, e12 = same(jnp.stack([k11, k22, k11]), jnp.stack([k11, k22, k22]), jnp.stack([k11, k22, k12]))
        d12 = polar_expectation(dphi, dphi, k11, k22, k12, angular=angular, radial=radial)
        new12 = w2 * e12 + b2
        theta = (width * e12 + bias if parameterization == "standard" else new12) + w2 * theta * d12
        return (w2 * e11 + b2, w2 * e22 + b2, new12, theta), (new12, theta)

    _, (nngps, ntks) = jax.lax.scan(layer, (k11, k22, k12, jnp.asarray(theta, dtype=jnp.float64)), length=depth)
    return jnp.concatenate([k12[None], nngps]), jnp.concatenate([jnp.asarray(theta, dtype=jnp.float64)[None], ntks])
