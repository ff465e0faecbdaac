"""The vocabulary: one table of every function the engine knows.

Each row (`Function`) says, for one function, everything the stages need: the
SymPy class, the JAX / NumPy / mpmath implementations, the LaTeX notation, the
parser names, the inverse for `in_terms_of`, the kinks. Everything else reads this
table: model namespaces, lambdify for checks and `verify`, the parsers, the
printer, `in_terms_of`. Adding an activation is one class and one row in one of
the family modules (`docs/architecture.md`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import sympy as sp

from .._errors import NotSupportedError, UnknownNameError
from . import elementary, gaussian, logistic, piecewise, special
from .base import Function, Notation, lazy
from .gaussian import gelu
from .logistic import Softmax, logit, sigmoid, silu, softmax, softplus
from .piecewise import heaviside, leaky_relu, relu

__all__ = [
    "Function", "Notation", "lazy", "VOCABULARY", "rows", "lookup", "row_for", "modules", "rewrites_through_exp",
    "Softmax", "gelu", "heaviside", "leaky_relu", "logit", "relu", "sigmoid", "silu", "softmax", "softplus",
]

_ROWS: tuple[Function, ...] = (*elementary.ROWS, *logistic.ROWS, *piecewise.ROWS, *gaussian.ROWS, *special.ROWS)

#: Every function by its text name (aliases included), in table order.
VOCABULARY: Mapping[str, Function] = MappingProxyType({n: row for row in _ROWS for n in row.names})

_BY_CLASS: Mapping[type, Function] = MappingProxyType({row.sympy: row for row in _ROWS})


def rows() -> tuple[Function, ...]:
    """Each function once, in table order."""
    return _ROWS


def lookup(name: str) -> Function:
    """The row for a text name; `UnknownNameError` listing the known names."""
    try:
        return VOCABULARY[name]
    except KeyError:
        raise UnknownNameError(
            f"no function named `{name}` in the vocabulary; known: {', '.join(r.name for r in _ROWS)}."
        ) from None


def row_for(cls: type) -> Function | None:
    """The row whose SymPy class is ``cls`` (or a parent of it), if any."""
    for klass in getattr(cls, "__mro__", ()):
        if klass in _BY_CLASS:
            return _BY_CLASS[klass]
    return None


def modules(backend: str) -> dict[str, Callable]:
    """``{name lambdify prints: implementation}`` for ``backend`` in ("jax", "numpy", "mpmath")."""
    if backend not in ("jax", "numpy", "mpmath"):
        raise NotSupportedError(f"no backend {backend!r}; the table has jax, numpy and mpmath implementations.")
    return {row.key: getattr(row, backend) for row in _ROWS}


def rewrites_through_exp() -> tuple[type, ...]:
    """Classes whose rewrite through ``exp`` stays real (sinh, tanh, sigmoid, softmax...;
    not sin), used to decide identities symbolically."""
    x = sp.Dummy(real=True)
    return tuple(row.sympy for row in _ROWS if row.sympy is not sp.exp and hasattr(row.sympy, "_eval_rewrite_as_exp")
                 and not row.apply(x).rewrite(sp.exp).has(sp.I))
