"""Numeric evaluation of the two sides of a claim: float64 (NumPy) at every
instance, and mpmath at a chosen precision where float64 cannot decide. Both
are generated from the SymPy tree with the vocabulary's NumPy and mpmath
implementations, every symbol renamed to a dummy, so no user text reaches them."""

from __future__ import annotations

import math
from collections.abc import Callable

import mpmath
import numpy as np
import sympy as sp

from .._vocabulary import modules

__all__ = ["Evaluator", "differs", "RTOL", "EXACT_INSTANCES"]

RTOL = 1e-9
"""The float64 screen. Rounding in an expression of a few hundred operations
stays below ~1e-13 relative; 1e-9 leaves room for cancellation. Whatever it
flags is re-decided at high precision, so it only has to be loose enough to
keep mpmath calls rare."""

EXACT_INSTANCES = 8
"""Instances always decided at high precision, so that differences below the
float64 screen (1e-12 relative, say) are still found."""

_NOISE = mpmath.mpf("1e-20")
"""A stable difference smaller than this, relative to the values, is not
claimed as a counterexample: 60-digit rounding is ~40 orders below it."""



class Evaluator:
    """One expression, compiled for NumPy (all instances at once) and mpmath
    (one instance, at a chosen precision). The code is generated from the SymPy
    tree with every symbol renamed to a dummy, so no user text reaches it."""

    def __init__(self, expr, symbols: list[sp.Symbol]):
        self.expr = expr
        self.symbols = symbols
        self.numpy = sp.lambdify(symbols, self.expr, modules=[modules("numpy"), "numpy"], dummify=True)
        self.mpmath: Callable | None = None  # compiled on first need: most instances never reach it

    def floats(self, columns: list[np.ndarray], n: int) -> np.ndarray:
        with np.errstate(all="ignore"):
            values = np.asarray(self.numpy(*columns))
        if np.iscomplexobj(values):
            values = np.where(np.abs(values.imag) <= 1e-12 * np.abs(values.real), values.real, np.nan)
        return np.broadcast_to(values.astype(np.float64), (n,))

    def precise(self, point: list[float], digits: int):
        if self.mpmath is None:
            self.mpmath = sp.lambdify(self.symbols, self.expr, modules=[modules("mpmath"), "mpmath"], dummify=True)
        with mpmath.workdps(digits):
            try:
                value = self.mpmath(*[mpmath.mpf(v) for v in point])
            except (ZeroDivisionError, ValueError, OverflowError, TypeError):
                return None
            if isinstance(value, mpmath.mpc):
                if abs(value.imag) > mpmath.mpf(10) ** (-digits // 2) * max(1, abs(value.real)):
                    return None
                value = value.real
            value = mpmath.mpf(value)
            return value if mpmath.isfinite(value) else None


def differs(lhs: Evaluator, rhs: Evaluator, point: list[float]) -> tuple[bool | None, float, float]:
    """Decide one instance at high precision: (differs? / None if not real and
    finite, lhs value, rhs value)."""
    values = []
    for digits in (30, 60):
        left, right = lhs.precise(point, digits), rhs.precise(point, digits)
        if left is None or right is None:
            return None, math.nan, math.nan
        values.append((left, right))
    (l30, r30), (l60, r60) = values
    with mpmath.workdps(60):
        d30, d60 = l30 - r30, l60 - r60
        stable = d60 != 0 and abs(d30 - d60) <= mpmath.mpf("1e-6") * abs(d60)
        large = abs(d60) > _NOISE * max(abs(l60), abs(r60))
    return bool(stable and large), float(l60), float(r60)
