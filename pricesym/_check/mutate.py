"""Deliberately wrong closed forms, to show that a check can fail."""

from __future__ import annotations

import sympy as sp

__all__ = ["perturb"]


def perturb(expr, delta: float = 0.1):
    """A deliberately wrong closed form: every nonzero entry scaled by (1 + delta),
    zero entries replaced by delta. Used to show that a check can fail."""
    def one(e):
        e = sp.sympify(e, strict=True)
        return delta if e == 0 else e * (1 + sp.Float(delta))

    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(one)
    if isinstance(expr, sp.Tuple):
        return sp.Tuple(*[perturb(e, delta) for e in expr])
    return one(expr)
