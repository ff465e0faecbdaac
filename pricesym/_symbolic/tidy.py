r"""Targeted tidying of closed forms: `cancel`, `factor`, factors turned to read
positively (``-2*p*(p - 1)`` becomes ``2*p*(1 - p)``), and linear constraints such
as :math:`\sum_i \pi_i = 1` or :math:`p + q = 1` used where they shorten the
result. Never `sympy.simplify`."""

from __future__ import annotations

import sympy as sp

from .._cache import kept
from .._errors import ParseError
from .._safe import to_sympy

__all__ = ["tidy"]


def _reads_negated(add: sp.Add) -> bool:
    """More negative terms than positive ones, or a tie and a negative constant."""
    signs = [t.as_coeff_Mul()[0].is_negative for t in add.args]
    negative, positive = sum(signs), len(signs) - sum(signs)
    if negative != positive:
        return negative > positive
    return bool(add.as_coeff_add()[0].is_negative)


@kept
def tidy(expr, constraints=()):
    """Factor (after `cancel`), and negate the factors that read better negated:
    ``c/(eta*h - 2)`` with a minus in front becomes ``c/(2 - eta*h)``. Matrices are
    tidied entry by entry.

    ``constraints``: expressions known to be zero (or ``sympy.Eq``), e.g.
    ``pi0 + pi1 + pi2 - 1``: the numerator is reduced modulo them (polynomial
    division, linear in its size) and the reduced form kept when it is shorter, so
    ``tau - tau*(pi0 + pi1 + pi2)`` becomes ``0`` while ``pi0*(1 - pi0)`` stays."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: tidy(e, constraints))
    expr = _expression(expr, "expr")
    constraints = [_expression(c, "constraints") for c in constraints]
    if constraints:
        expr = _reduce(expr, [c.lhs - c.rhs if isinstance(c, sp.Eq) else c for c in constraints])
    expr = sp.factor(sp.cancel(expr))
    if not isinstance(expr, sp.Mul):
        return expr
    negate, factors = False, []
    for f in expr.args:
        base, exp = f.as_base_exp()
        if isinstance(base, sp.Add) and exp.is_Integer and _reads_negated(base):
            negate ^= bool(int(exp) % 2)
            factors.append((-base) ** exp)
        else:
            factors.append(f)
    out = sp.Mul(*factors)
    return -out if negate else out


def _reduce(expr, constraints: list):
    """``expr`` modulo the constraints, when that is shorter."""
    gens = sorted({s for c in constraints for s in c.free_symbols}, key=str)
    numerator, denominator = sp.fraction(sp.together(expr))
    try:
        _, remainder = sp.reduced(sp.expand(numerator), constraints, *gens)
    except (sp.PolynomialError, sp.GeneratorsNeeded, sp.CoercionFailed):
        return expr
    reduced = remainder / denominator
    return reduced if sp.count_ops(reduced) < sp.count_ops(expr) else expr


def _expression(value, name: str):
    """A SymPy expression or a number; text is refused (SymPy would read it as Python)."""
    if isinstance(value, sp.Basic):
        return value
    try:
        return to_sympy(value, name, sp.SympifyError)
    except sp.SympifyError:
        raise ParseError(f"`{name}` must hold SymPy expressions or numbers, got {type(value).__name__} {value!r:.60}; "
                         "read user text with `ps.parse`.") from None
