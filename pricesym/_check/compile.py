"""Compiling a closed form for many instances at once: lambdify (with the
vocabulary's JAX implementations and cse) + `jax.vmap` + `jax.jit`, struct of
arrays. Checks evaluate closed forms only through here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import sympy as sp

from .._errors import CheckError, UnknownNameError
from .._vocabulary import modules
from .domains import free_values

__all__ = ["compile_expr", "evaluate"]


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


def compile_expr(expr, symbols: Sequence[sp.Symbol]) -> Callable:
    """``f(*columns)`` evaluating ``expr`` at many instances at once.

    Each column is a float64 array of instance values (struct of arrays); the
    result has the instances on its first axis. Built with
    ``lambdify(modules=[vocabulary, "jax"], cse=True)``, `jax.vmap` and `jax.jit`.
    """
    from .._numeric.backend import jax, jnp

    expr = _prepare(expr)
    free = free_values(expr, symbols)
    missing = sorted(str(s) for s in free - set(symbols))
    if missing:
        raise UnknownNameError(
            f"the expression uses {', '.join(f'`{m}`' for m in missing)} but no domain or "
            "observable declares it; add it to the derivation's `symbols` (or the check's `domains`)."
        )
    fn = sp.lambdify(list(symbols), expr, modules=[modules("jax"), "jax"], cse=True, dummify=True)

    def one(*values):
        return jnp.asarray(fn(*values), dtype=jnp.float64)

    return jax.jit(jax.vmap(one))


def evaluate(expr, columns: Mapping[sp.Symbol, np.ndarray]) -> np.ndarray:
    """Evaluate ``expr`` at each instance: shape (n, *expr.shape)."""
    from .._numeric.backend import jnp

    symbols = list(columns)
    fn = compile_expr(expr, symbols)
    out = fn(*[jnp.asarray(columns[s], dtype=jnp.float64) for s in symbols])
    return np.asarray(out)
