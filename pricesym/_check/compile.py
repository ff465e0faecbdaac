"""Evaluating a closed form at many instances at once. Checks evaluate closed forms
only through here.

Two compilations of the same expression, both lambdify with cse and the vocabulary's
implementations, struct of arrays:

* `evaluate` (a check's few instances): NumPy, vectorised over the instance columns
  — no tracing or XLA compilation, which dominate at a few dozen instances; a
  closed form NumPy cannot evaluate column-wise (a special function implemented in
  JAX only, a sum over a symbolic range) falls back to JAX;
* `compile_expr` (many instances, Gram matrices): `jax.vmap` + `jax.jit`.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import sympy as sp

from .._cache import remembered, source_digest
from .._errors import CheckError, ParseError, UnknownNameError
from .._symbolic.tangent import NtCov, NtVar
from .domains import free_values
from .lambdified import lambdified

__all__ = ["compile_expr", "evaluate", "evaluate_all"]


# What `doit` evaluates; expressions without these skip it (it walks the whole tree).
_UNEVALUATED = (sp.Derivative, sp.Integral, sp.Sum, sp.Product, sp.Limit, sp.Subs, sp.Trace, sp.MatrixExpr, NtCov, NtVar)


def _prepare(expr):
    if isinstance(expr, (list, tuple)) and not isinstance(expr, sp.Basic):
        for part in expr:
            if not isinstance(part, (sp.Basic, sp.MatrixBase, int, float)) or isinstance(part, bool):
                raise ParseError(f"a closed form's parts must be SymPy expressions or numbers, got "
                                 f"{type(part).__name__} {part!r:.60}; read user text with `ps.parse`.")
    if hasattr(expr, "has") and expr.has(*_UNEVALUATED):
        expr = _doit(expr)
    if isinstance(expr, (list, tuple)) and not isinstance(expr, sp.Basic):
        expr = sp.Tuple(*expr)
    if isinstance(expr, sp.Tuple):
        parts = [sp.ImmutableMatrix(e) if isinstance(e, sp.MatrixBase) else e for e in expr]
        if any(isinstance(e, sp.MatrixBase) for e in parts):
            raise CheckError("compare tuples of matrices part by part (`target=ps.part(i)`).")
        expr = sp.ImmutableMatrix(list(parts))
    return expr


def _doit(expr):
    """``expr.doit()``, kept between runs (`pricesym._cache.remembered`): a step's limits
    and derivatives are worked out once, not on every check. The key is the exact
    expression, the SymPy version and pricesym's source."""
    try:
        key = pickle.dumps((sp.__version__, source_digest(), expr), protocol=5)
    except Exception:  # noqa: BLE001 - an expression that cannot be pickled is just not kept
        return expr.doit()
    return expr.doit() if b"Dummy" in key else remembered("doit", key, expr.doit)


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
    fn = lambdified(symbols, expr, "jax")

    def one(*values):
        out = jnp.asarray(fn(*values))
        return out if jnp.iscomplexobj(out) else out.astype(jnp.float64)  # complex: kept, never cut to its real part

    return jax.jit(jax.vmap(one))


def _real_or_complex(values) -> np.ndarray:
    """float64; complex128 where a value has an imaginary part (a closed form that is not
    real there: the comparisons, all of |a - b|, then count that part as error, where
    casting to float64 would drop it and let a wrong closed form pass)."""
    values = np.asarray(values)
    if np.iscomplexobj(values) and np.any(values.imag):
        return values.astype(np.complex128)
    return np.asarray(values.real if np.iscomplexobj(values) else values, dtype=np.float64)


def evaluate(expr, columns: Mapping[sp.Symbol, np.ndarray]) -> np.ndarray:
    """Evaluate ``expr`` at each instance: shape (n, *expr.shape)."""
    symbols = list(columns)
    values = [np.asarray(columns[s], dtype=np.float64) for s in symbols]
    n = len(values[0]) if values else 1
    out = _numpy(expr, symbols, values, n)
    if out is not None:
        return out
    from .._numeric.backend import jnp

    fn = compile_expr(expr, symbols)
    return _real_or_complex(fn(*[jnp.asarray(v) for v in values]))


def evaluate_all(exprs, columns: Mapping[sp.Symbol, np.ndarray]) -> list[np.ndarray]:
    """`evaluate` of each of ``exprs`` at the same instances, compiled together (one
    lambdify and one common-subexpression pass for all, as a derivation's steps share
    most of their subexpressions); one by one where that fails."""
    symbols = list(columns)
    values = [np.asarray(columns[s], dtype=np.float64) for s in symbols]
    n = len(values[0]) if values else 1
    try:
        prepared = [_prepare(e) for e in exprs]
    except Exception:  # noqa: BLE001 - evaluate reports it, one by one
        prepared = None
    if prepared is not None and not any(free_values(p, symbols) - set(symbols) for p in prepared):
        shapes = [p.shape if isinstance(p, sp.MatrixBase) else () for p in prepared]
        entries = [e for p in prepared for e in (list(p) if isinstance(p, sp.MatrixBase) else [p])]
        flat = _numpy(sp.ImmutableMatrix(entries), symbols, values, n) if entries else None
        if flat is not None:
            out, start = [], 0
            for shape in shapes:
                size = int(np.prod(shape)) if shape else 1
                out.append(flat[:, start:start + size, 0].reshape((n, *shape)))
                start += size
            return out
    return [evaluate(e, columns) for e in exprs]


def _numpy(expr, symbols, values, n) -> np.ndarray | None:
    """NumPy evaluation, entry by entry broadcast over the instances; None when an
    entry cannot be evaluated column-wise to an array of the right shape."""
    prepared = _prepare(expr)
    missing = free_values(prepared, symbols) - set(symbols)
    if missing:
        return None  # compile_expr raises the error that names them
    entries = list(prepared) if isinstance(prepared, sp.MatrixBase) else [prepared]
    shape = prepared.shape if isinstance(prepared, sp.MatrixBase) else ()
    try:
        fn = _numpy_function(tuple(entries), tuple(symbols))
        with np.errstate(all="ignore"):
            raw = fn(*values)
        columns = [np.broadcast_to(_real_or_complex(v), (n,)) for v in raw]
    except Exception:  # noqa: BLE001 - any failure: JAX evaluates it instead
        return None
    return _real_or_complex(np.stack(columns, axis=-1).reshape((n, *shape)))


@functools.lru_cache(maxsize=1024)
def _numpy_function(entries: tuple, symbols: tuple) -> Callable:
    return lambdified(symbols, list(entries), "numpy")
