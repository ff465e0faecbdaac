r"""Quadratures of the selection integrals, from their definitions.

Gauss–Hermite rules for Gaussian mutation and SciPy's adaptive quadrature: each
integrates :math:`P_s` (through its ``.jax``/``.numpy`` form) against the mutation
law, never a derived closed form.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from .._errors import AssumptionError, NotSupportedError
from .backend import jax, jnp

__all__ = ["hermite_rule", "gaussian_linear_moments", "gaussian_quadrature", "learning_rate_quadrature"]


@functools.lru_cache(maxsize=8)
def hermite_rule(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the probabilists' Gauss–Hermite rule for E[g(z)], z ~ N(0, 1)."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return x, w / math.sqrt(2 * math.pi)


def gaussian_linear_moments(sel, cov, grad, nodes: int = 160):
    r"""Exact moments of the linearised model for Gaussian mutation
    :math:`\mathcal N(0, \Sigma)`, by Gauss–Hermite quadrature of their defining integrals:
    ``(E[ε P_s(ε·c)], E[P_s(ε·c)])``.

    Along :math:`t = \epsilon\cdot c \sim \mathcal N(0, v)`, :math:`v = c^\top\Sigma c`,
    Gaussian conditioning gives :math:`\mathbb E[\epsilon\mid t] = \Sigma c\,t/v`, so both
    are 1-D integrals of :math:`P_s`. For smooth :math:`P_s` (probit, logistic, fixation);
    `Hard` selection is refused (a jump defeats the quadrature)."""
    if not getattr(sel, "smooth", True):
        raise NotSupportedError("`gaussian_linear_moments` needs a smooth P_s; for `Hard()` use the plain estimator.")
    nodes_z, nodes_w = hermite_rule(nodes)
    z, w = jnp.asarray(nodes_z), jnp.asarray(nodes_w)
    cov, c = jnp.asarray(cov), jnp.asarray(grad)
    sc = cov @ c
    sd = jnp.sqrt(c @ sc)
    p = sel.jax(sd * z)
    return sc * (jnp.sum(w * z * p) / sd), jnp.sum(w * p)


def gaussian_quadrature(f: Callable, x, sel, cov, nodes: int = 48):
    r"""Accepted-step mean and acceptance probability of the annealing model with
    :math:`\epsilon\sim\mathcal N(0,\Sigma)` and the real fitness ``f``, by
    tensor-product Gauss–Hermite quadrature of the defining integrals
    :math:`\mathbb E_m[\epsilon P_s(f(x+\epsilon)-f(x))]` and
    :math:`Z = \mathbb E_m[P_s(\dots)]`, with :math:`\epsilon = L z`, :math:`LL^\top = \Sigma`.

    Returns ``(mean_step, Z)``. ``nodes`` per axis (nodes**n points): for smooth
    :math:`P_s` whose argument varies on scales ≳ 1/4 of a standard deviation."""
    x = jnp.atleast_1d(jnp.asarray(x, dtype=jnp.float64))
    n = x.shape[0]
    z1, w1 = (jnp.asarray(a) for a in hermite_rule(nodes))
    # The product grid is built at run time from the 1-D rule: as a baked-in constant of
    # nodes**n rows it would make compilation slow.
    z = jnp.stack([g.reshape(-1) for g in jnp.meshgrid(*([z1] * n), indexing="ij")], axis=-1)
    w = jnp.prod(jnp.stack([g.reshape(-1) for g in jnp.meshgrid(*([w1] * n), indexing="ij")], axis=-1), axis=-1)
    cov = jnp.asarray(cov, dtype=jnp.float64)
    vals, vecs = jnp.linalg.eigh(cov)
    root = vecs * jnp.sqrt(jnp.clip(vals, 0.0, None))
    eps = z @ root.T
    fx = f(x)
    p = sel.jax(jax.vmap(lambda e: f(x + e) - fx)(eps))
    Z = jnp.sum(w * p)
    return jnp.sum((w * p)[:, None] * eps, axis=0) / Z, Z


def learning_rate_quadrature(sel, sigma: float, grad_norm: float) -> float:
    r""":math:`\eta(\lvert\nabla f\rvert)` for isotropic Gaussian mutation and a linear
    fitness, by adaptive quadrature (SciPy) of the parallel component:
    :math:`\eta = \mathbb E_u[u P_s(gu)]/(g\,\mathbb E_u[P_s(gu)])`,
    :math:`u\sim\mathcal N(0,\sigma^2)`, :math:`g = \lvert\nabla f\rvert` (B5: the
    orthogonal components are untouched by selection). Any P_s with a ``jax`` form."""
    from scipy import integrate

    for name, value in (("sigma", sigma), ("grad_norm", grad_norm)):
        try:
            ok = not isinstance(value, bool) and math.isfinite(float(value)) and float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise AssumptionError(f"`{name}` must be > 0 and finite, got {value!r}.")
    sigma, grad_norm = float(sigma), float(grad_norm)
    scale = float(grad_norm) * float(sigma)

    def p(z):
        return float(sel.numpy(scale * z))

    def pdf(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    opts = dict(epsabs=1e-15, epsrel=1e-13, limit=400, points=[0.0])
    num = integrate.quad(lambda z: sigma * z * pdf(z) * float(p(z)), -40, 40, **opts)[0]
    den = integrate.quad(lambda z: pdf(z) * float(p(z)), -40, 40, **opts)[0]
    return num / (grad_norm * den)
