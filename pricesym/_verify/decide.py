r"""Is ``lhs = rhs`` at one instance? Exactly where the claim allows it, else at a
precision that grows until the difference is resolved.

* **Exact.** When both sides are rational functions of the symbols (with ``abs``,
  ``relu`` and the like), they are evaluated in rational arithmetic at the
  instance (a float is a rational number): the difference is exactly zero or not.
* **Growing precision.** Otherwise both sides are evaluated with mpmath, first at
  `START_DIGITS` (30) digits, then at twice that or straight at what the instance
  *needs* (`Reading.needed` + `GUARD_DIGITS`: the spread of every sum's terms, the
  literals' length, how close a saturated function is to its limit — a truncated
  series on (0, 1e-7) needs as many digits as its smallest term is small), and
  once there a quarter more each time. A difference that keeps its leading digits
  from one precision to the next (to 1 %) is real: the instance is a
  counterexample — once the precision covers what the instance needs, or earlier
  when the difference lies far outside the error balls carried through the tree
  (`evaluate.precise` with ``ball=True``; a term lost in a sum stays inside them),
  so that ``1/sigmoid(cosh(3*pi))`` against ``harmonic(1/2)`` does not need 2700
  digits. A difference that shrinks with the precision is rounding; it counts as
  zero once the precision exceeds what the instance needs, with a bound from how
  far it moved. Never a fixed cut-off: ``x`` against
  ``x*(1 + 1e-70)`` is decided at 120 digits, ``1`` against ``1 + exp(-1000)`` at
  about 460. An instance needing more than `MAX_NEEDED` digits stays unresolved.
"""

from __future__ import annotations

import dataclasses
import math
import time
from fractions import Fraction
from typing import Literal

import mpmath

from .budget import Budget
from .evaluate import NotNumeric, Undefined, exact, is_rational, precise, prepare

__all__ = ["Side", "Outcome", "decide", "describe_delta", "distinct", "float_rounding", "START_DIGITS", "MAX_DIGITS",
           "GUARD_DIGITS"]

START_DIGITS = 30
MAX_NEEDED = 3000
"""An instance that needs more digits than this (``1 + exp(-x)`` at x > 6900) is "unresolved"."""
MAX_DIGITS = 2 * MAX_NEEDED
"""The last precision tried: a difference resolved at 3000 digits is confirmed at up to 6000."""
GUARD_DIGITS = 20
"""Digits beyond what an instance needs before a vanishing difference counts as zero."""
BALL_DIGITS = 4 * START_DIGITS
"""Below what an instance needs, precisions up to this one carry error balls
(`evaluate.precise` with ``ball=True``) before going straight to what it needs."""
TIME_SHORT = "the time budget ran short"
_STABLE = mpmath.mpf("0.01")
"""Two precisions agree on a difference when they differ by under 1 % of it."""


@dataclasses.dataclass(frozen=True)
class Side:
    """One side of a claim, ready to evaluate: the SymPy expression, its form for
    mpmath (`prepare`), and whether exact arithmetic applies."""

    expr: object
    rational: bool
    mp: object

    @classmethod
    def of(cls, expr) -> Side:
        return cls(expr=expr, rational=is_rational(expr), mp=prepare(expr))


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What one instance says.

    kind: "differs" (a counterexample), "agrees", "unusable" (a side has no finite
    real value there), "unresolved" (no decision within `MAX_DIGITS` or the
    budget). method: "exact" or "numeric"; ``digits``: the precision of the
    decision; ``lhs``/``rhs``/``delta``: the values there (Fraction or mpf);
    ``bound``: for "agrees", a bound on |lhs − rhs| / max(1, |lhs|, |rhs|)."""

    kind: Literal["differs", "agrees", "unusable", "unresolved"]
    method: Literal["exact", "numeric"]
    digits: int = 0
    lhs: object = None
    rhs: object = None
    delta: object = None
    bound: float = 0.0
    reason: str = ""
    checked: int = 0  # for "differs" (numeric): the lower precision that found the same difference


def decide(lhs: Side, rhs: Side, point: dict, budget: Budget | None = None, until: float = math.inf) -> Outcome:
    """``point`` maps each symbol to (Fraction, mpf) — see `evaluate.point_of`. No new
    precision is started after the time ``until`` (`time.monotonic`): "unresolved"."""
    if lhs.rational and rhs.rational:
        try:
            a = exact(lhs.expr, {s: v[0] for s, v in point.items()})
            b = exact(rhs.expr, {s: v[0] for s, v in point.items()})
        except Undefined as err:
            return Outcome("unusable", "exact", reason=str(err))
        except NotNumeric:
            pass  # numbers too long: mpmath decides below
        else:
            delta = a - b
            return Outcome("differs" if delta else "agrees", "exact", lhs=a, rhs=b, delta=delta)
    return _growing(lhs, rhs, {s: v[1] for s, v in point.items()}, budget, until)


def _growing(lhs: Side, rhs: Side, point: dict, budget: Budget | None, until: float) -> Outcome:
    previous = None  # (digits, delta) of the last precision where both sides had values
    resolved = None  # (digits, delta) of the last precision where the error balls kept delta off 0
    digits, failures, reason = START_DIGITS, 0, ""
    needed, ball = 0.0, False
    while digits <= MAX_DIGITS:
        if budget is not None:
            budget.check(f"evaluating an instance at {digits} digits")
        if time.monotonic() > until:
            return Outcome("unresolved", "numeric", digits, reason=TIME_SHORT)
        try:
            a, b = precise(lhs.mp, point, digits, ball), precise(rhs.mp, point, digits, ball)
        except NotNumeric as err:
            return Outcome("unusable", "numeric", reason=f"cannot evaluate {err} numerically")
        needed = max(needed, a.needed, b.needed)
        too_many = needed + GUARD_DIGITS > MAX_NEEDED
        if a.value is None or b.value is None:
            # rounding can push an argument across a branch (log of -1e-40): one more try, higher up
            reason = a.reason or b.reason
            failures += 1
            if failures == 2 or "magnitude guard" in reason or too_many:
                return Outcome("unusable", "numeric", digits=digits, reason=reason)
            previous, resolved, digits = None, None, _next(digits, needed)
            continue
        failures = 0
        with mpmath.workdps(digits):
            delta = a.value - b.value
            scale = max(abs(a.value), abs(b.value))
            # below what the instance needs, a term lost in a sum can make a false difference that is the
            # same at every precision; the error balls contain such a loss, so a difference well outside them,
            # found at two precisions, is real all the same
            if ball and delta != 0 and abs(delta) > 10 * (a.radius + b.radius):
                if resolved is not None and abs(delta - resolved[1]) <= _STABLE * abs(delta):
                    return Outcome("differs", "numeric", digits, a.value, b.value, delta, checked=resolved[0])
                resolved = (digits, delta)
            else:
                resolved = None
            if previous is not None:
                shift = abs(delta - previous[1])
                if delta != 0 and shift <= _STABLE * abs(delta) and previous[0] >= needed:
                    return Outcome("differs", "numeric", digits, a.value, b.value, delta, checked=previous[0])
                # the error of `delta`: what moved between the two precisions, shrunk by half the
                # digits gained (rounding shrinks with all of them), and this precision's own rounding
                noise = shift * mpmath.mpf(10) ** (-(digits - previous[0]) // 2) + scale * mpmath.mpf(10) ** (5 - digits)
                if abs(delta) <= 100 * noise and digits >= needed + GUARD_DIGITS:
                    bound = (abs(delta) + noise) / max(scale, 1)
                    return Outcome("agrees", "numeric", digits, a.value, b.value, delta, bound=float(bound))
        if too_many and (digits >= BALL_DIGITS or resolved is None and ball):
            return Outcome("unresolved", "numeric", digits, reason=f"it needs more than {MAX_NEEDED} digits")
        ball = digits < BALL_DIGITS and needed + GUARD_DIGITS > 2 * digits
        previous = (digits, delta)
        digits = 2 * digits if ball else _next(digits, needed)
    return Outcome("unresolved", "numeric", MAX_DIGITS, reason=f"the difference did not settle up to {MAX_DIGITS} digits")


def float_rounding(lhs: Side, rhs: Side, point: dict) -> bool:
    """Whether a difference float64 saw is gone at 60 digits (to 1e-40 of max(1, |sides|)):
    an instance that is unresolved for lack of digits does not then hold up "equal"."""
    try:
        a, b = (precise(side.mp, {s: v[1] for s, v in point.items()}, 2 * START_DIGITS) for side in (lhs, rhs))
    except NotNumeric:
        return False
    if a.value is None or b.value is None:
        return False
    with mpmath.workdps(2 * START_DIGITS):
        return bool(abs(a.value - b.value) <= mpmath.mpf("1e-40") * max(1, abs(a.value), abs(b.value)))


def _next(digits: int, needed: float) -> int:
    """The next precision: double, or straight to what the instance needs; beyond it, a
    quarter more (at least 30 digits) confirms whether the difference settles."""
    if digits >= needed + GUARD_DIGITS and digits >= 4 * START_DIGITS:
        return digits + max(START_DIGITS, digits // 4)
    return max(2 * digits, 10 * math.ceil((needed + GUARD_DIGITS) / 10))


def describe_delta(outcome: Outcome) -> str:
    """``lhs - rhs`` at the instance, e.g. ``-1.6666667e-22`` (``exactly -1/10^30``)."""
    delta = outcome.delta
    if isinstance(delta, Fraction):
        return f"{_decimal(_mp(delta), 8)} exactly"
    return _decimal(delta, 8)


def _decimal(value, digits: int) -> str:
    with mpmath.workdps(max(digits + 10, 30)):
        if value != 0 and abs(mpmath.mag(value)) > 3000:  # nstr of 10**1000-sized numbers is slow: via log10
            sign = "-" if value < 0 else ""
            exponent = mpmath.log10(abs(value))
            if abs(exponent) > 1e12:  # exp(exp(...)): only the exponent can be told
                return f"{sign}10**({mpmath.nstr(exponent, min(digits, 15))})"
            with mpmath.workdps(digits + 20):
                whole = int(mpmath.floor(exponent))
                return f"{sign}{mpmath.nstr(mpmath.power(10, exponent - whole), digits)}e{whole:+d}"
        try:
            return mpmath.nstr(value, digits, min_fixed=-4, max_fixed=8)
        except (ValueError, OverflowError):  # an exponent too long to print
            return "-huge" if value < 0 else "huge"


def _mp(value):
    return mpmath.mpf(value.numerator) / value.denominator if isinstance(value, Fraction) else mpmath.mpf(value)


def distinct(a, b) -> tuple[str, str]:
    """The two values with as many digits as it takes to tell them apart (at most 400)."""
    with mpmath.workdps(420):
        left, right = _mp(a), _mp(b)
        scale, gap = max(abs(left), abs(right)), abs(left - right)
        digits = 6 if gap == 0 or scale == 0 else int(min(max(6, mpmath.log10(scale / gap) + 3), 400))
        return _decimal(left, digits), _decimal(right, digits)
