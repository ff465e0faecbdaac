"""One model definition, two interpreters.

A model is a Python function whose first argument is an array namespace::

    @ps.model
    def policy(np, b):
        return np.sigmoid(b)

`Model.sympy` runs it with the SymPy namespace (NumPy object arrays of SymPy
expressions, so `*`, `+`, `@` and reductions are element-wise as in NumPy) to
derive; `Model.jax` runs it with `jax.numpy` for the numeric reference. Both
namespaces hold every function of the vocabulary. Neither interpreter ever sees
the other's result.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

import numpy as np
import sympy as sp

from .._vocabulary.namespaces import JAX, SYMPY

__all__ = ["Model", "model"]


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
    latex: str | None = None  # the model's mathematical name in reports (e.g. r"U_i"), else its Python name

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


def model(fn: Callable | None = None, *, latex: str | None = None):
    """Decorator: declare a model ``fn(np, *args)`` for both interpreters.

    ``@ps.model`` or ``@ps.model(latex=r"U_i")``: ``latex`` is the model's name in
    mathematics, used where reports show its definition (default: its Python name)."""
    if latex is not None and not isinstance(latex, str):
        raise TypeError(f"`latex` must be LaTeX text such as r'U_i', got {latex!r}.")

    def declare(f: Callable) -> Model:
        if not callable(f):
            raise TypeError(f"`@ps.model` decorates a function `f(np, ...)`, got {f!r}.")
        return Model(fn=f, name=f.__name__, latex=latex)

    return declare(fn) if fn is not None else declare
