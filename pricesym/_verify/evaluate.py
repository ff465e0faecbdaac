"""Numeric evaluation of the two sides of a claim, three ways:

* `Evaluator.floats`: float64 with NumPy at every instance at once (a screen that
  finds gross differences fast and orders the instances);
* `exact`: rational arithmetic, when a side is built from ``+ - * /``, integer
  powers, numbers and the piecewise-linear functions (``abs``, ``relu``, …) — the
  instance is a rational point, so the value is exact;
* `precise`: mpmath at a chosen number of digits, interpreting the SymPy tree node
  by node. Each node is guarded (`MAX_MAGNITUDE_BITS`) so that an argument such as
  ``exp(exp(exp(x)))`` is refused instead of taking forever, and the walk reports
  how many digits the instance *needs* (`Reading.needed`): the spread of the terms
  of every sum (``1 + exp(-1000)`` needs 435), the literals' length (``1 + 1e-70``
  needs 70), a function of a tiny argument (``exp(1e-50)``) or near its limit
  (``erf(12)``), so that a difference drowned by rounding is not mistaken for zero.
  Sigmoid, softplus, tanh, softmax and GELU are evaluated through ``exp`` and
  ``erf`` (`prepare`) so that the sums inside them are seen too.

All three are generated from the SymPy tree (never from user text), every symbol
standing for its value; the functions come from the vocabulary's table.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from .._vocabulary import gelu, heaviside, leaky_relu, modules, relu, rewrites_through_exp, row_for

__all__ = ["Evaluator", "exact", "is_rational", "precise", "Reading", "prepare", "RTOL", "MAX_MAGNITUDE_BITS"]

RTOL = 1e-9
"""The float64 screen: instances where the sides differ by more than this (relative)
are decided first. Rounding in a few hundred float64 operations stays near 1e-13."""

MAX_MAGNITUDE_BITS = 2048
"""A function's argument (or a power's exponent times log2 of its base) must stay
below 2**2048 ≈ 10**616 in size: mpmath evaluates that in milliseconds, while
``exp`` of a number far beyond it would take forever. Larger makes the instance
unusable, with the reason."""

MAX_EXACT_BITS = 1 << 17
"""Rational arithmetic gives up (and mpmath takes over) beyond 131072-bit numbers."""

_EXP_FORMS = rewrites_through_exp()
_PIECEWISE = (sp.Abs, sp.sign, sp.Max, sp.Min, sp.Heaviside, heaviside, relu, leaky_relu)
_CONSTANTS = {sp.pi: lambda: +mpmath.pi, sp.E: lambda: +mpmath.e, sp.EulerGamma: lambda: +mpmath.euler,
              sp.Catalan: lambda: +mpmath.catalan, sp.GoldenRatio: lambda: +mpmath.phi}


class Undefined(Exception):
    """The expression has no finite real value at this instance (the message says why)."""


class NotNumeric(Exception):
    """A node pricesym cannot evaluate numerically (an unknown function)."""


class Evaluator:
    """One expression compiled for NumPy, all instances at once. Generated from
    the SymPy tree with every symbol renamed to a dummy, so no user text reaches it."""

    def __init__(self, expr, symbols: list[sp.Symbol]):
        self.expr = expr
        self.symbols = symbols
        try:
            self.numpy: Callable | None = sp.lambdify(symbols, expr, modules=[modules("numpy"), "numpy"], dummify=True)
        except Exception:  # noqa: BLE001 - SymPy failing to print a node (erfc(1e300)): no screen, mpmath decides
            self.numpy = None

    def floats(self, columns: list[np.ndarray], n: int) -> np.ndarray:
        """The values at every instance; NaN where float64 has none (then mpmath decides)."""
        if self.numpy is None:
            return np.full(n, np.nan)
        with np.errstate(all="ignore"):
            try:
                values = np.asarray(self.numpy(*columns))
                if np.iscomplexobj(values):
                    values = np.where(np.abs(values.imag) <= 1e-12 * np.abs(values.real), values.real, np.nan)
                return np.broadcast_to(values.astype(np.float64), (n,))
            except Exception:  # noqa: BLE001 - a node NumPy lacks (DiracDelta), a huge integer: no screen, mpmath decides
                return np.full(n, np.nan)


def prepare(expr):
    """The form evaluated at high precision: sigmoid, softplus, tanh, softmax, …
    written through ``exp`` and GELU through ``erf``, so that a sum hidden inside
    them (``1 + exp(-x)``) shows its terms to the digit count of `precise`."""
    if not any(isinstance(f, (*_EXP_FORMS, gelu)) for f in expr.atoms(sp.Function)):
        return expr
    try:
        out = expr.replace(lambda e: isinstance(e, _EXP_FORMS), lambda e: e.rewrite(sp.exp))
        return out.replace(lambda e: isinstance(e, gelu), lambda e: e.args[0] * (1 + sp.erf(e.args[0] / sp.sqrt(2))) / 2)
    except (RecursionError, TypeError, ValueError, AttributeError, KeyError):  # SymPy's assumptions on the rebuilt tree
        return expr


# ---------------------------------------------------------------- exact arithmetic

def is_rational(expr) -> bool:
    """Whether `exact` can evaluate ``expr`` (no transcendental function, no constant like pi)."""
    for node in sp.preorder_traversal(expr):
        if node.is_Symbol or node.is_Rational or isinstance(node, (sp.Add, sp.Mul, *_PIECEWISE)):
            continue
        if node.is_Pow and node.exp.is_Integer:
            continue
        return False
    return True


def exact(expr, point: Mapping[sp.Symbol, Fraction]) -> Fraction:
    """The exact value at a rational point; `Undefined` (division by zero) or
    `NotNumeric` (numbers beyond `MAX_EXACT_BITS`: let mpmath decide)."""
    memo: dict = {}

    def value(e) -> Fraction:
        if e in memo:
            return memo[e]
        if e.is_Symbol:
            out = point[e]
        elif e.is_Rational:
            out = Fraction(int(e.p), int(e.q))
        elif e.is_Add:
            out = sum((value(a) for a in e.args), Fraction(0))
        elif e.is_Mul:
            out = Fraction(1)
            for a in e.args:
                out *= value(a)
        elif e.is_Pow:
            base, n = value(e.base), int(e.exp)
            if base == 0 and n < 0:
                raise Undefined(f"`{e}` divides by zero")
            if max(base.numerator.bit_length(), base.denominator.bit_length()) * abs(n) > MAX_EXACT_BITS:
                raise NotNumeric("numbers too long for exact arithmetic")  # checked before the power is computed
            out = base**n
        else:
            out = _piecewise(e, [value(a) for a in e.args])
        if out.numerator.bit_length() > MAX_EXACT_BITS or out.denominator.bit_length() > MAX_EXACT_BITS:
            raise NotNumeric("numbers too long for exact arithmetic")
        memo[e] = out
        return out

    return value(expr)


def _piecewise(e, args):
    """abs, sign, max, min, the steps and the ReLUs, on exact or mpmath numbers alike."""
    x = args[0]
    zero = x - x
    if isinstance(e, sp.Abs):
        return abs(x)
    if isinstance(e, sp.sign):
        return zero + (x > 0) - (x < 0)
    if isinstance(e, sp.Max):
        return max(args)
    if isinstance(e, sp.Min):
        return min(args)
    if isinstance(e, heaviside):  # pricesym's step: 0 at 0, the left limit
        return zero + (x > 0)
    if isinstance(e, sp.Heaviside):
        if x == 0:
            if len(args) < 2:
                raise Undefined("Heaviside(0) is undefined")
            return args[1]
        return zero + (x > 0)
    if isinstance(e, relu):
        return x if x > 0 else zero
    if isinstance(e, leaky_relu):
        return x if x > 0 else args[1] * x
    raise NotNumeric(f"`{type(e).__name__}`")


# ---------------------------------------------------------------- mpmath

@dataclasses.dataclass(frozen=True, slots=True)
class Reading:
    """A side at one instance and precision: ``value`` (None when it has no finite
    real value there, ``reason`` saying why) and ``needed``, the digits below which
    this evaluation cannot see a difference (terms' spread, literals' length)."""

    value: Any  # mpmath.mpf | None
    needed: float
    reason: str = ""
    radius: Any = None  # with ``ball=True``: a bound on the error of ``value`` (an mpf, maybe +inf)


@functools.lru_cache(maxsize=4096)
def _significant(p: int, q: int) -> float:
    """Decimal digits a literal p/q carries, trailing zeros aside: 1 + 1e-70 carries 71
    (its difference from 1 is in the last one), 1e300 only 1."""
    return float(max(len(str(abs(n)).rstrip("0")) for n in (p, q)))


def precise(expr, point: Mapping[sp.Symbol, object], digits: int, ball: bool = False) -> Reading:
    """Evaluate ``expr`` with mpmath at ``digits`` significant digits. With ``ball``,
    also carry an error radius through the tree (`_radius`): a term lost in a sum is
    inside it, so a difference larger than the radius is real even where the
    precision is below what the instance needs."""
    memo: dict = {}
    radii: dict = {}
    needed = [0.0]

    def need(d: float) -> None:
        if d > needed[0]:
            needed[0] = d

    def guard(a, what):
        if a != 0 and mpmath.mag(a) > MAX_MAGNITUDE_BITS:
            raise Undefined(f"the argument of `{what}` is about 2**{int(mpmath.mag(a))}, beyond the magnitude "
                            f"guard 2**{MAX_MAGNITUDE_BITS}")

    def value(e):
        if e in memo:
            return memo[e]
        if e.is_Symbol:
            out = point[e]
        elif e.is_Rational:
            need(_significant(int(e.p), int(e.q)))
            out = mpmath.mpf(int(e.p)) / int(e.q)
        elif e in _CONSTANTS:
            out = _CONSTANTS[e]()
        elif e.is_Add:
            terms = [value(a) for a in e.args]
            sizes = [mpmath.mag(t) for t in terms if t != 0]
            if len(sizes) > 1:
                need((max(sizes) - min(sizes)) * 0.30103)
            out = mpmath.fsum(terms)
        elif e.is_Mul:
            out = mpmath.fprod([value(a) for a in e.args])
        elif e.is_Pow:
            out = _power(e, value(e.base), value(e.exp), guard)
        else:
            args = [value(a) for a in e.args]
            for a in args:
                guard(a, type(e).__name__)
            out = _function(e, args)
            for a in args:  # f(tiny) ≈ f(0) + tiny: the tiny part sits this many digits down
                if a != 0 and out != 0 and mpmath.mag(a) < 0:
                    need((mpmath.mag(out) - mpmath.mag(a)) * 0.30103)
            need(_saturation(e, args))
        if isinstance(out, mpmath.mpc):
            if out.imag != 0:
                raise Undefined(f"`{_short(e)}` is not real")
            out = out.real
        if not mpmath.isfinite(out):
            raise Undefined(f"`{_short(e)}` is not finite")
        memo[e] = out
        if ball:
            radii[e] = _radius(e, out, [(memo[a], radii[a]) for a in e.args], point)
        return out

    with mpmath.workdps(digits):
        try:
            out = value(expr)
            return Reading(out, needed[0], radius=radii.get(expr) if ball else None)
        except Undefined as err:
            return Reading(None, needed[0], str(err))
        except ZeroDivisionError:
            return Reading(None, needed[0], "a division by zero")
        except NotNumeric:
            raise
        except Exception as err:  # noqa: BLE001 - mpmath refusing a point (a pole, a branch cut, no convergence)
            return Reading(None, needed[0], f"mpmath: {type(err).__name__}: {str(err)[:60]}")


def _radius(e, out, args: list, point) -> Any:
    """An error radius for ``out`` from its arguments' (value, radius) pairs: first-order
    spread (products and powers exactly, functions by evaluating them at the ends of
    the argument's interval) plus this precision's rounding. A heuristic ball, not
    interval arithmetic: used only to accept a counterexample early."""
    unit = mpmath.mpf(2) ** (1 - mpmath.mp.prec)
    rounding = 8 * unit * abs(out)
    if e.is_Symbol or not args:
        return mpmath.mpf(0) if e.is_Symbol or (e.is_Rational and e.q == 1 and abs(e.p) < 2**50) else rounding
    if e.is_Add:
        return mpmath.fsum(r for _, r in args) + rounding
    if e.is_Mul:
        return mpmath.fprod(abs(v) + r for v, r in args) - mpmath.fprod(abs(v) for v, _ in args) + rounding
    spread = mpmath.mpf(0)
    for i, (v, r) in enumerate(args):
        if r == 0:
            continue
        if not mpmath.isfinite(r):
            return mpmath.inf
        for shifted in (v - r, v + r):
            moved = [a for a, _ in args]
            moved[i] = shifted
            try:
                other = _power(e, moved[0], moved[1], lambda *_: None) if e.is_Pow else _function(e, moved)
            except Exception:  # noqa: BLE001 - the interval leaves the function's domain
                return mpmath.inf
            if isinstance(other, mpmath.mpc) or not mpmath.isfinite(other):
                return mpmath.inf
            spread = max(spread, 2 * abs(other - out))
    return spread + rounding


def _power(e, base, exponent, guard):
    if e.exp.is_Integer:
        if base == 0 and exponent < 0:
            raise Undefined(f"`{_short(e)}` divides by zero")
        return base ** int(e.exp)
    if base == 0:
        if exponent > 0:
            return base
        raise Undefined(f"`{_short(e)}` divides by zero")
    if base < 0:
        if exponent == mpmath.floor(exponent):  # (-1)**N at an integer N
            guard(exponent, "pow")
            return base ** int(exponent)
        raise Undefined(f"`{_short(e)}` is not real (a negative base to a fractional power)")
    guard(exponent * mpmath.log(base, 2), "pow")
    return mpmath.power(base, exponent)


_MPMATH = modules("mpmath")


def _saturation(e, args) -> float:
    """Digits between a saturated function and its limit: erf(10) = 1 - 2e-45 needs 45."""
    if isinstance(e, sp.erf) or (isinstance(e, sp.erfc) and args[0] < 0):
        with mpmath.workdps(15):  # only its size matters
            rest = mpmath.erfc(abs(args[0]))
            return float(-mpmath.log10(rest)) if rest != 0 else 0.0
    return 0.0


def _function(e, args):
    row = row_for(type(e))
    if row is not None:
        return row.mpmath(*args)
    if isinstance(e, _PIECEWISE):
        return _piecewise(e, args)
    if isinstance(e, sp.DiracDelta):
        if args[0] == 0:
            raise Undefined("DiracDelta(0) has no value")
        return mpmath.mpf(0)
    implementation = _MPMATH.get(type(e).__name__)
    if implementation is None:
        raise NotNumeric(f"`{type(e).__name__}`")
    return implementation(*args)


def _short(e) -> str:
    text = str(e)
    return text if len(text) <= 40 else text[:39] + "…"


def point_of(symbols, values) -> dict:
    """``{symbol: value}`` as exact rationals and as mpmath numbers (a float is a rational)."""
    return {s: (Fraction(float(v)), mpmath.mpf(float(v))) for s, v in zip(symbols, values)}


def magnitude_digits(value) -> float:
    """log10 |value| for an mpf, Fraction or float (0 for 0)."""
    if value == 0:
        return -math.inf
    if isinstance(value, Fraction):
        return (value.numerator.bit_length() - value.denominator.bit_length()) * 0.30103
    return float(mpmath.log10(abs(mpmath.mpf(value))))
