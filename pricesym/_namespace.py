"""One model definition, two interpreters.

A model is a Python function whose first argument is an array namespace::

    @ps.model
    def policy(np, b):
        return np.sigmoid(b)

`Model.sympy` runs it with `SYMPY` (NumPy object arrays of SymPy expressions, so
`*`, `+`, `@` and reductions are element-wise as in NumPy) to derive;
`Model.jax` runs it with `jax.numpy` for the numeric reference. Neither
interpreter ever sees the other's result.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import sympy as sp

from ._functions import Softmax, sigmoid

__all__ = ["Model", "model", "SYMPY", "JAX"]


def _elementwise(fn):
    def apply(x):
        if isinstance(x, np.ndarray):
            return np.vectorize(fn, otypes=[object])(x)
        if isinstance(x, (list, tuple)):
            return apply(np.asarray(x, dtype=object))
        return fn(x)

    apply.__name__ = getattr(fn, "__name__", "fn")
    return apply


def _sym_softmax(x):
    x = np.asarray(x, dtype=object)
    return np.asarray([Softmax(i, *x) for i in range(len(x))], dtype=object)


def _sym_array(x):
    return np.asarray(x, dtype=object)


SYMPY = SimpleNamespace(
    name="sympy",
    exp=_elementwise(sp.exp),
    log=_elementwise(sp.log),
    tanh=_elementwise(sp.tanh),
    sinh=_elementwise(sp.sinh),
    cosh=_elementwise(sp.cosh),
    sin=_elementwise(sp.sin),
    cos=_elementwise(sp.cos),
    sqrt=_elementwise(sp.sqrt),
    sigmoid=_elementwise(sigmoid),
    softmax=_sym_softmax,
    sum=lambda x, axis=None: np.sum(np.asarray(x, dtype=object), axis=axis),
    dot=lambda a, b: np.dot(np.asarray(a, dtype=object), np.asarray(b, dtype=object)),
    array=_sym_array,
    asarray=_sym_array,
    stack=lambda xs: np.stack([np.asarray(x, dtype=object) for x in xs]),
    pi=sp.pi,
)


def _jax_namespace():
    import jax
    import jax.numpy as jnp

    return SimpleNamespace(
        name="jax",
        exp=jnp.exp,
        log=jnp.log,
        tanh=jnp.tanh,
        sinh=jnp.sinh,
        cosh=jnp.cosh,
        sin=jnp.sin,
        cos=jnp.cos,
        sqrt=jnp.sqrt,
        sigmoid=jax.nn.sigmoid,
        softmax=jax.nn.softmax,
        sum=jnp.sum,
        dot=jnp.dot,
        array=jnp.asarray,
        asarray=jnp.asarray,
        stack=jnp.stack,
        pi=jnp.pi,
    )


class _LazyJax:
    """`jax.numpy` namespace, imported on first use (startup stays fast)."""

    _ns = None

    def __getattr__(self, item):
        if _LazyJax._ns is None:
            from . import _numeric  # noqa: F401  (switches on float64)

            _LazyJax._ns = _jax_namespace()
        return getattr(_LazyJax._ns, item)


JAX = _LazyJax()


def _simplify_output(out):
    if isinstance(out, np.ndarray):
        if out.ndim == 0:
            return out.item()
        return sp.ImmutableMatrix(out.tolist()) if out.ndim == 2 else sp.ImmutableMatrix(list(out))
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Model:
    """A model written once against an array namespace (first argument)."""

    fn: Callable
    name: str

    def sympy(self, *args, **kwargs):
        """Evaluate symbolically: SymPy scalars, or a column ImmutableMatrix for vectors."""
        args = [np.asarray(a, dtype=object) if isinstance(a, (list, tuple, sp.MatrixBase)) else a for a in args]
        args = [a.reshape(-1) if isinstance(a, np.ndarray) and 1 in a.shape and a.ndim == 2 else a for a in args]
        return _simplify_output(self.fn(SYMPY, *args, **kwargs))

    def jax(self, *args, **kwargs):
        """Evaluate with `jax.numpy` (traceable: use under jax.grad / vmap / jit)."""
        return self.fn(JAX, *args, **kwargs)

    @property
    def source(self) -> str:
        return inspect.getsource(self.fn)

    def __call__(self, *args, **kwargs):
        raise TypeError(
            f"model `{self.name}` has two interpreters: call `.sympy(...)` to derive "
            "or `.jax(...)` for the numeric reference."
        )


def model(fn: Callable) -> Model:
    """Decorator: declare a model ``fn(np, *args)`` for both interpreters."""
    return Model(fn=fn, name=fn.__name__)
