r"""Neural tangent covariance.

.. math::
    \operatorname{ntcov}(x, y) = J_x\, G\, J_y^\top, \qquad
    \operatorname{ntvar}(x) = \operatorname{ntcov}(x, x),

with :math:`J_x = \partial x/\partial w` (shape p×d) and :math:`G = I` unless a
metric / covariance is given (preconditioned flows, Lande's G). Under the flow
:math:`\dot w = G\nabla U` every property moves as
:math:`\dot x = \operatorname{ntcov}(x, U)` (tailcalled 2022; Lande 1979).
"""

from __future__ import annotations

import sympy as sp

from .._errors import ShapeError
from .._vocabulary import Notation

__all__ = ["jacobian", "ntcov", "ntvar", "gcov", "NtCov", "NtVar"]


def _params(params) -> list[sp.Symbol]:
    if isinstance(params, sp.MatrixBase):
        params = list(params)
    if isinstance(params, sp.Symbol):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise ShapeError(f"`params` must be a list of SymPy symbols, got {params!r}.") from None
    if not params:
        raise ShapeError("`params` is empty: give the symbols to differentiate by, e.g. `[b]`.")
    bad = [p for p in params if not isinstance(p, (sp.Symbol, sp.Indexed))]
    if bad:
        raise ShapeError(
            f"`params` must hold SymPy symbols, but {bad[0]!r} is a {type(bad[0]).__name__}; "
            "declare weights with `sympy.symbols('w1 w2', real=True)`."
        )
    if len(set(params)) != len(params):
        raise ShapeError(f"`params` repeats a symbol: {params!r}.")
    return params


def _column(x) -> tuple[sp.Matrix, bool]:
    """The property as a column vector, and whether it was a scalar."""
    if isinstance(x, sp.MatrixBase):
        if x.cols != 1 and x.rows != 1:
            raise ShapeError(f"a property must be a scalar or a vector, got a {x.shape} matrix.")
        return sp.Matrix(list(x)), False
    if isinstance(x, (list, tuple)):
        return sp.Matrix([sp.sympify(e, strict=True) for e in x]), False
    try:
        x = sp.sympify(x, strict=True)
    except sp.SympifyError:
        raise ShapeError(f"a property must be a SymPy expression or vector, got {x!r}.") from None
    return sp.Matrix([x]), True


def jacobian(x, params) -> sp.Matrix:
    """:math:`J_x`, shape (len(x), len(params))."""
    col, _ = _column(x)
    return col.jacobian(_params(params))


def ntcov(x, y, params, G=None):
    r""":math:`J_x G J_y^\top`: a SymPy expression for scalar x and y, else a Matrix.

    ``G`` (d×d) is a metric or covariance on the parameters; ``None`` is the identity.
    """
    params = _params(params)
    jx = jacobian(x, params)
    jy = jacobian(y, params)
    if G is None:
        out = jx * jy.T
    else:
        G = sp.Matrix(G)
        d = len(params)
        if G.shape != (d, d):
            raise ShapeError(f"`G` must be {d}×{d} to match {d} parameters, got {G.shape[0]}×{G.shape[1]}.")
        out = jx * G * jy.T
    _, x_scalar = _column(x)
    _, y_scalar = _column(y)
    if x_scalar and y_scalar:
        return out[0, 0]
    return sp.ImmutableMatrix(out)


def ntvar(x, params, G=None):
    r""":math:`\operatorname{ntcov}(x, x) = \lVert \nabla_w x\rVert_G^2` (a matrix for vector x)."""
    return ntcov(x, x, params, G)


def gcov(a, b, genotype, G):
    r"""Genetic covariance :math:`\nabla_g \mathbb E[a|g]^\top G \nabla_g \mathbb E[b|g]`.

    ``a`` and ``b`` are the conditional means as functions of the genotype
    symbols; ``G`` the genotype covariance (required)."""
    if G is None:
        raise ShapeError("`gcov` needs the genotype covariance `G`; use `ntcov` for the identity.")
    return ntcov(a, b, genotype, G)


class NtCov(Notation):
    r"""Unevaluated :math:`\operatorname{ntcov}(x, y)` for steps and reports;
    ``.doit()`` computes it. Arguments: ``(x, y, Tuple(params))``."""

    nargs = 3
    notation = r"\operatorname{ntcov}"
    shown = 2  # the parameters are not printed

    def doit(self, **hints):
        x, y, params = self.args
        return ntcov(x.doit(**hints), y.doit(**hints), list(params))


class NtVar(Notation):
    r"""Unevaluated :math:`\operatorname{ntvar}(x)`; ``.doit()`` computes it."""

    nargs = 2
    notation = r"\operatorname{ntvar}"
    shown = 1

    def doit(self, **hints):
        x, params = self.args
        return ntvar(x.doit(**hints), list(params))
