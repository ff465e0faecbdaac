"""Targeted tidying of closed forms: `cancel`, `factor`, and factors turned to read
positively (``-2*p*(p - 1)`` becomes ``2*p*(1 - p)``). Never `sympy.simplify`."""

from __future__ import annotations

import sympy as sp

__all__ = ["tidy"]


def _reads_negated(add: sp.Add) -> bool:
    """More negative terms than positive ones, or a tie and a negative constant."""
    signs = [t.as_coeff_Mul()[0].is_negative for t in add.args]
    negative, positive = sum(signs), len(signs) - sum(signs)
    if negative != positive:
        return negative > positive
    return bool(add.as_coeff_add()[0].is_negative)


def tidy(expr):
    """Factor (after `cancel`), and negate the factors that read better negated:
    ``c/(eta*h - 2)`` with a minus in front becomes ``c/(2 - eta*h)``. Matrices are
    tidied entry by entry."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(tidy)
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
