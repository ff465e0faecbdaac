"""The two array namespaces a model is written against, built from the table.

`SYMPY` holds NumPy object arrays of SymPy expressions (so ``*``, ``+``, ``@`` and
reductions work element-wise as in NumPy) and applies the vocabulary's SymPy
classes element by element; `JAX` is `jax.numpy` with the vocabulary's JAX
implementations, imported on first use so that startup stays fast.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import sympy as sp

from . import rows

__all__ = ["SYMPY", "JAX"]


def _elementwise(fn):
    def apply(x, *rest):
        if isinstance(x, np.ndarray):
            return np.vectorize(lambda e: fn(e, *rest), otypes=[object])(x)
        if isinstance(x, (list, tuple)):
            return apply(np.asarray(x, dtype=object), *rest)
        return fn(x, *rest)

    apply.__name__ = getattr(fn, "__name__", "fn")
    return apply


def _vector(fn):
    def apply(x):
        return np.asarray(list(fn(list(np.asarray(x, dtype=object)))), dtype=object)

    apply.__name__ = getattr(fn, "__name__", "fn")
    return apply


def _sym_array(x):
    return np.asarray(x, dtype=object)


SYMPY = SimpleNamespace(
    name="sympy",
    **{n: (_vector(row) if row.vector else _elementwise(row)) for row in rows() for n in row.names},
    sum=lambda x, axis=None: np.sum(np.asarray(x, dtype=object), axis=axis),
    dot=lambda a, b: np.dot(np.asarray(a, dtype=object), np.asarray(b, dtype=object)),
    array=_sym_array,
    asarray=_sym_array,
    stack=lambda xs: np.stack([np.asarray(x, dtype=object) for x in xs]),
    pi=sp.pi,
)


def _jax_namespace() -> SimpleNamespace:
    from .._numeric.backend import jax, jnp

    functions = {}
    for row in rows():
        if row.vector:  # softmax: the whole vector at once
            functions.update({n: (lambda v: jax.nn.softmax(jnp.stack(list(v)))) for n in row.names})
        else:
            functions.update({n: row.jax for n in row.names})
    return SimpleNamespace(name="jax", **functions, sum=jnp.sum, dot=jnp.dot, array=jnp.asarray,
                           asarray=jnp.asarray, stack=jnp.stack, pi=jnp.pi)


class _LazyJax:
    """The JAX namespace, built on first use."""

    _ns: SimpleNamespace | None = None

    def __getattr__(self, item):
        if _LazyJax._ns is None:
            _LazyJax._ns = _jax_namespace()
        return getattr(_LazyJax._ns, item)


JAX = _LazyJax()
