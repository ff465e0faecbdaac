"""The JAX side: float64 always, closed forms compiled with lambdify + cse + jit +
vmap (struct of arrays), and helpers references use to differentiate models.

Importing this module switches JAX to float64 for the whole process."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from ._domains import free_values
from ._errors import CheckError, UnknownNameError

jax.config.update("jax_enable_x64", True)

__all__ = ["compile_expr", "jax_ntcov", "jax_ntvar", "JAX_FUNCTIONS"]


def _softmax_component(i, *logits):
    return jax.nn.softmax(jnp.stack(logits))[i]


JAX_FUNCTIONS: dict[str, Callable] = {
    "sigmoid": jax.nn.sigmoid,
    "logit": lambda p: jnp.log(p / (1 - p)),
    "Softmax": _softmax_component,
    "erf": jax.scipy.special.erf,
    "erfc": jax.scipy.special.erfc,
    "polygamma": lambda n, x: jax.scipy.special.polygamma(n, x),
    "gamma": lambda x: jnp.exp(jax.scipy.special.gammaln(x)),
    "loggamma": jax.scipy.special.gammaln,
    "harmonic": lambda n: jax.scipy.special.digamma(n + 1.0) + np.euler_gamma,  # H_n = ψ(n+1) + γ
}


def _prepare(expr):
    expr = expr.doit() if hasattr(expr, "doit") else expr
    if isinstance(expr, (list, tuple)) and not isinstance(expr, sp.Basic):
        expr = sp.Tuple(*expr)
    if isinstance(expr, sp.Tuple):
        parts = [sp.ImmutableMatrix(e) if isinstance(e, sp.MatrixBase) else e for e in expr]
        if any(isinstance(e, sp.MatrixBase) for e in parts):
            raise CheckError("compare tuples of matrices part by part (`target=ps.part(i)`).")
        expr = sp.ImmutableMatrix(list(parts))
    return expr


def compile_expr(expr, symbols: Sequence[sp.Symbol]) -> Callable[..., jax.Array]:
    """``f(*columns)`` evaluating ``expr`` at many instances at once.

    Each column is a float64 array of instance values (struct of arrays); the
    result has the instances on its first axis. Built with
    ``lambdify(modules=[functions, "jax"], cse=True)``, `jax.vmap` and `jax.jit`.
    """
    expr = _prepare(expr)
    free = free_values(expr, symbols)
    missing = sorted(str(s) for s in free - set(symbols))
    if missing:
        raise UnknownNameError(
            f"the expression uses {', '.join(f'`{m}`' for m in missing)} but no domain or "
            "observable declares it; add it to the derivation's `symbols` (or the check's `domains`)."
        )
    fn = sp.lambdify(list(symbols), expr, modules=[JAX_FUNCTIONS, "jax"], cse=True, dummify=True)

    def one(*values):
        return jnp.asarray(fn(*values), dtype=jnp.float64)

    return jax.jit(jax.vmap(one))


def evaluate(expr, columns: Mapping[sp.Symbol, np.ndarray]) -> np.ndarray:
    """Evaluate ``expr`` at each instance: shape (n, *expr.shape)."""
    symbols = list(columns)
    fn = compile_expr(expr, symbols)
    out = fn(*[jnp.asarray(columns[s], dtype=jnp.float64) for s in symbols])
    return np.asarray(out)


def jax_ntcov(fx: Callable, fy: Callable, w: jax.Array, G: jax.Array | None = None) -> jax.Array:
    r"""Numeric :math:`J_x G J_y^\top` by `jax.jacrev` of the two property functions."""
    jx = jnp.atleast_2d(jax.jacrev(fx)(w))
    jy = jnp.atleast_2d(jax.jacrev(fy)(w))
    out = jx @ jy.T if G is None else jx @ G @ jy.T
    return out


def jax_ntvar(fx: Callable, w: jax.Array, G: jax.Array | None = None) -> jax.Array:
    return jax_ntcov(fx, fx, w, G)
