"""Deciding ``lhs - rhs = 0`` symbolically by targeted rewrites: one denominator
(`together`), an expanded numerator; again through ``exp``; again in the
observables. Each step runs only when a term-count estimate says the expansion
stays small; `sympy.simplify` is never called."""

from __future__ import annotations

import math

import sympy as sp

from .._symbolic.observables import in_terms_of
from .._vocabulary import rewrites_through_exp
from .budget import Budget, current

__all__ = ["reduce_difference", "MAX_TERMS", "MAX_SYMBOLIC_NODES"]

MAX_TERMS = 2000
"""Largest estimated number of terms a symbolic step may expand to."""

SHARE = 0.2
"""Share of the time left that one proof attempt (or the display form) may take."""
ALONE = 5.0
"""Seconds a proof attempt may take when no budget encloses it."""

MAX_SYMBOLIC_NODES = 400
_EXP = rewrites_through_exp()
"""Larger differences go straight to the numeric test: `together` and `factor`
slow down steeply with size, and a large symbolic success is rare."""


def _terms(expr, budget: int = MAX_TERMS) -> int:
    """An upper estimate of the number of terms `expand` makes of ``expr``
    (capped just above ``budget``), counting the arguments of functions too,
    since `expand` works inside them."""
    def top(e) -> int:
        if e.is_Add:
            return min(sum(top(a) for a in e.args), budget + 1)
        if e.is_Mul:
            out = 1
            for a in e.args:
                out = min(out * top(a), budget + 1)
            return out
        if e.is_Pow and e.exp.is_Integer:
            t = top(e.base)
            return 1 if t == 1 else min(math.comb(abs(int(e.exp)) + t - 1, t - 1), budget + 1)
        return 1

    total = top(expr)
    for f in expr.atoms(sp.Function, sp.Pow):
        for arg in f.args:
            total += top(arg) - 1
    return min(total, budget + 1)


def _nodes(expr) -> int:
    count = 0
    for _ in sp.preorder_traversal(expr):
        count += 1
        if count > MAX_SYMBOLIC_NODES:
            break
    return count


def _zero_numerator(expr) -> bool | None:
    """True if ``expr`` is identically 0 as a rational function of its atoms;
    False if not shown; None if the expansion would be too large."""
    numerator, _ = sp.fraction(sp.together(expr))
    if _terms(numerator) > MAX_TERMS:
        return None
    return sp.expand(numerator) == 0


def _to_exp(expr):
    """sigmoid, softmax, sinh/cosh/tanh written through exp; exp of sums split."""
    return sp.expand(expr.rewrite(list(_EXP), sp.exp), deep=True, mul=False, multinomial=False,
                     power_base=False, log=False) if _terms(expr) <= MAX_TERMS else expr


def reduce_difference(difference, observables: dict) -> tuple[bool, sp.Basic]:
    """(shown zero?, the difference as best reduced for display)."""
    if difference == 0:
        return True, sp.S.Zero
    if _nodes(difference) > MAX_SYMBOLIC_NODES or _terms(difference) > MAX_TERMS:
        return False, difference
    attempts = [lambda: difference]
    if difference.has(*_EXP, sp.exp):
        attempts.append(lambda: _to_exp(difference))
    if observables and _terms(difference) <= 200:
        attempts.append(lambda: in_terms_of(difference, observables))
    for attempt in attempts:
        try:
            with _slice("trying to prove lhs - rhs = 0"):
                if _zero_numerator(attempt()):
                    return True, sp.S.Zero
        except Exception:  # noqa: BLE001 - a rewrite SymPy cannot do (or not in its time) is no evidence either way
            continue
    return False, _display(difference, observables)


def _slice(stage: str) -> Budget:
    """A share of the time left (`SHARE` of the enclosing budget, `ALONE` seconds outside
    `verify`): a proof attempt or a display form that takes longer is given up,
    and the numeric stage decides."""
    outer = current()
    return Budget(max(SHARE * outer.remaining(), 0.05) if outer is not None else ALONE, stage)


def _display(difference, observables: dict):
    if _terms(difference) > 200:
        return difference
    try:
        with _slice("tidying lhs - rhs for display"):  # factor of a degree-10000 polynomial would take minutes
            if observables:
                return in_terms_of(difference, observables)
            return sp.factor(sp.cancel(difference))
    except Exception:  # noqa: BLE001 - only the display form is lost
        return difference
