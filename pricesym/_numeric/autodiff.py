r"""Autodiff references: Jacobians of model functions by `jax.jacrev`.

.. math:: \operatorname{ntcov}(x, y) = J_x\, G\, J_y^\top

computed from the property functions themselves, never from a derived expression."""

from collections.abc import Callable

from .backend import jax, jnp

__all__ = ["jax_ntcov", "jax_ntvar"]


def jax_ntcov(fx: Callable, fy: Callable, w, G=None):
    r"""Numeric :math:`J_x G J_y^\top` by `jax.jacrev` of the two property functions at ``w``."""
    jx = jnp.atleast_2d(jax.jacrev(fx)(w))
    jy = jnp.atleast_2d(jax.jacrev(fy)(w))
    return jx @ jy.T if G is None else jx @ G @ jy.T


def jax_ntvar(fx: Callable, w, G=None):
    r"""Numeric :math:`J_x G J_x^\top`."""
    return jax_ntcov(fx, fx, w, G)
