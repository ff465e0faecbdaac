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

import numbers

import sympy as sp

from .._errors import ParseError, ShapeError
from .._vocabulary import Notation

__all__ = ["jacobian", "ntcov", "ntvar", "gcov", "NtCov", "NtVar"]


def _refuse_text(value, name: str) -> None:
    """SymPy would read a string (also one inside a list) as Python code: refuse it."""
    if isinstance(value, (str, bytes)):
        raise ParseError(f"`{name}` takes SymPy expressions, not the string {value!r}; read user text with `ps.parse`.")
    if isinstance(value, (list, tuple)):
        for item in value:
            _refuse_text(item, name)
    elif hasattr(value, "dtype") and hasattr(value, "tolist"):  # a NumPy array, maybe of strings
        _refuse_text(value.tolist(), name)


def _scalar(value, name: str) -> sp.Expr:
    """A SymPy expression or a plain number; anything else (a dict, a string, a set) is refused."""
    _refuse_text(value, name)
    if isinstance(value, sp.Expr):
        return value
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return sp.sympify(value, strict=True)
    if hasattr(value, "dtype") and getattr(value, "shape", None) == ():  # a NumPy scalar
        return sp.sympify(value.item(), strict=True)
    raise ShapeError(f"`{name}` must hold SymPy expressions or numbers, got {type(value).__name__} {value!r:.60}.")


def _params(params) -> list[sp.Symbol]:
    _refuse_text(params, "params")
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


def _column(x, name: str = "x") -> tuple[sp.Matrix, bool]:
    """The property as a column vector, and whether it was a scalar."""
    if isinstance(x, (str, bytes)):
        raise ShapeError(f"a property must be a SymPy expression or vector, got {x!r:.80}; read text with `ps.parse`.")
    _refuse_text(x, name)
    if isinstance(x, sp.MatrixBase):
        if x.cols != 1 and x.rows != 1:
            raise ShapeError(f"a property must be a scalar or a vector, got a {x.shape} matrix.")
        return sp.Matrix(list(x)), False
    if isinstance(x, (list, tuple)):
        if not x:
            raise ShapeError(f"`{name}` is an empty list; a property is a scalar or a vector of expressions.")
        return sp.Matrix([_scalar(e, name) for e in x]), False
    try:
        return sp.Matrix([_scalar(x, name)]), True
    except ShapeError:
        raise ShapeError(f"a property must be a SymPy expression or vector, got {x!r:.80}.") from None


def _gradient(expr, params: list, where: dict) -> list:
    """``[expr.diff(p) for p in params]`` in time linear in the terms and parameters:
    a sum is differentiated term by term, each term only by the parameters it
    contains (SymPy's `Add` differentiates the same way, so the result is identical)."""
    out = [sp.S.Zero] * len(params)
    if not isinstance(expr, sp.Expr):
        return [sp.diff(expr, p) for p in params]
    parts: dict[int, list] = {}
    for term in (expr.args if expr.is_Add else (expr,)):
        for p in term.free_symbols:
            if p in where:
                parts.setdefault(where[p], []).append(term.diff(p))
    for i, found in parts.items():
        out[i] = sp.Add(*found)
    return out


def _jacobian(col: sp.Matrix, params: list) -> sp.Matrix:
    if any(isinstance(p, sp.Indexed) for p in params):  # u[j] may depend on u[0] (KroneckerDelta): SymPy's way
        return col.jacobian(params)
    where = {p: i for i, p in enumerate(params)}
    return sp.Matrix([_gradient(entry, params, where) for entry in col])


def jacobian(x, params) -> sp.Matrix:
    """:math:`J_x`, shape (len(x), len(params))."""
    col, _ = _column(x)
    return _jacobian(col, _params(params))


def _metric(G, d: int) -> sp.Matrix:
    """``G`` as a d×d SymPy matrix: a Matrix, or rows of expressions and numbers (never strings)."""
    _refuse_text(G, "G")
    if isinstance(G, sp.MatrixBase):
        matrix = sp.Matrix(G)
    elif isinstance(G, sp.MatrixExpr) and G.shape == (d, d):  # MatrixSymbol("G", d, d): its entries G[i, j]
        matrix = sp.Matrix(G.as_explicit())
    elif isinstance(G, (list, tuple)) or (hasattr(G, "dtype") and hasattr(G, "tolist")):
        rows = G.tolist() if hasattr(G, "tolist") else list(G)
        if not rows or not all(isinstance(r, (list, tuple)) for r in rows) or len({len(r) for r in rows}) != 1:
            raise ShapeError(f"`G` must be a {d}×{d} matrix: a SymPy Matrix or a list of {d} rows of {d} entries.")
        matrix = sp.Matrix([[_scalar(v, "G") for v in r] for r in rows])
    else:
        raise ShapeError(f"`G` must be a SymPy Matrix or a list of rows, got {type(G).__name__} {G!r:.60}.")
    if matrix.shape != (d, d):
        raise ShapeError(f"`G` must be {d}×{d} to match {d} parameters, got {matrix.shape[0]}×{matrix.shape[1]}.")
    return matrix


def ntcov(x, y, params, G=None):
    r""":math:`J_x G J_y^\top`: a SymPy expression for scalar x and y, else a Matrix.

    ``G`` (d×d) is a metric or covariance on the parameters; ``None`` is the identity.
    Linear in the number of parameters for sums of terms (each term is
    differentiated only by the parameters it contains).
    """
    params = _params(params)
    col_x, x_scalar = _column(x, "x")
    col_y, y_scalar = (col_x, x_scalar) if y is x else _column(y, "y")
    jx = _jacobian(col_x, params)
    jy = jx if y is x else _jacobian(col_y, params)
    if G is None:
        out = jx * jy.T
    else:
        out = jx * _metric(G, len(params)) * jy.T
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


def _operator_args(cls, args):
    """The arguments of `NtCov`/`NtVar`, checked before SymPy sees them: SymPy would
    read a string, even one inside a list, as Python code."""
    *properties, params = args
    for value in properties:
        _refuse_text(value, cls.__name__)
    _refuse_text(params, cls.__name__)
    out = []
    for value in properties:
        if isinstance(value, sp.MatrixBase):
            value = sp.ImmutableMatrix(value)
        elif isinstance(value, (list, tuple)):
            value = sp.ImmutableMatrix([[_scalar(e, cls.__name__)] for e in value])
        elif not isinstance(value, sp.Basic):
            value = _scalar(value, cls.__name__)
        out.append(value)
    if not isinstance(params, sp.Tuple):
        params = sp.Tuple(*_params(params))
    return (*out, params)


class NtCov(Notation):
    r"""Unevaluated :math:`\operatorname{ntcov}(x, y)` for steps and reports;
    ``.doit()`` computes it. Arguments: ``(x, y, Tuple(params))``."""

    nargs = 3
    notation = r"\operatorname{ntcov}"
    shown = 2  # the parameters are not printed

    def __new__(cls, *args, **options):
        if len(args) != 3:
            raise ShapeError(f"`NtCov` takes (x, y, params), got {len(args)} arguments.")
        return super().__new__(cls, *_operator_args(cls, args), **options)

    def doit(self, **hints):
        x, y, params = self.args
        return ntcov(x.doit(**hints), y.doit(**hints), list(params))


class NtVar(Notation):
    r"""Unevaluated :math:`\operatorname{ntvar}(x)`; ``.doit()`` computes it."""

    nargs = 2
    notation = r"\operatorname{ntvar}"
    shown = 1

    def __new__(cls, *args, **options):
        if len(args) != 2:
            raise ShapeError(f"`NtVar` takes (x, params), got {len(args)} arguments.")
        return super().__new__(cls, *_operator_args(cls, args), **options)

    def doit(self, **hints):
        x, params = self.args
        return ntvar(x.doit(**hints), list(params))
