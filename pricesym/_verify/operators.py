"""Evaluating ``diff``, ``ntcov`` and ``ntvar`` of a claim, within limits.

`Derivative`, `NtCov` and `NtVar` nodes are evaluated bottom-up, one order of
differentiation at a time; after each, the result's size and depth are checked
(`MAX_EVALUATED_NODES`, `MAX_EVALUATED_DEPTH`), so that the 4th derivative of a
30-factor product is refused after its 2nd instead of running for minutes. The
result must be finite and real (``1/diff(x**2, y)`` is ``1/0``).
"""

from __future__ import annotations

import sympy as sp

from .._errors import ParseError, PricesymError
from .._symbolic.tangent import NtCov, NtVar, ntcov
from .budget import Budget
from .build import EXACT_AT_NUMBERS, MAX_EVALUATED_ARGUMENT, MAX_INTEGER_DIGITS, digits, snip

__all__ = ["evaluate_operators", "check_limits", "MAX_EVALUATED_NODES", "MAX_EVALUATED_DEPTH", "OPERATORS"]

MAX_EVALUATED_NODES = 20_000
"""Largest expression tree (nodes, repeated subtrees counted each time) a side may
grow to once its derivatives are taken; a 20,000-node side evaluates in
milliseconds per instance."""

MAX_EVALUATED_DEPTH = 200
"""Deepest nesting a side may reach; far below Python's recursion limit."""

MAX_PRODUCT_TERMS = 20_000
"""Largest ntcov/ntvar (entries × parameters) evaluated: J_x J_y^T sums that many products."""

OPERATORS = (sp.Derivative, NtCov, NtVar)


def check_limits(value, name: str, what: str = "") -> None:
    """`ParseError` when ``value`` (an expression or matrix) is larger or deeper than
    the limits, or holds a number of more than `MAX_INTEGER_DIGITS` digits."""
    count = 0
    stack = [(value, 0)] if not isinstance(value, sp.MatrixBase) else [(e, 0) for e in value]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_EVALUATED_NODES:
            raise ParseError(f"`{name}` grows beyond {MAX_EVALUATED_NODES} nodes{what}, the size budget of a claim; "
                             "verify a smaller expression (fewer factors, a lower order).")
        if depth > MAX_EVALUATED_DEPTH:
            raise ParseError(f"`{name}` is nested more than {MAX_EVALUATED_DEPTH} deep{what}; verify a smaller expression.")
        if isinstance(node, sp.Rational) and digits(node) > MAX_INTEGER_DIGITS:
            raise ParseError(f"`{name}` holds a number of more than {MAX_INTEGER_DIGITS} digits{what}.")
        stack.extend((arg, depth + 1) for arg in getattr(node, "args", ()))


def evaluate_operators(value, name: str, budget: Budget | None = None):
    """``value`` with every `Derivative`, `NtCov` and `NtVar` evaluated, within the limits."""
    if isinstance(value, sp.MatrixBase):
        return sp.ImmutableMatrix(value.rows, value.cols, [evaluate_operators(e, name, budget) for e in value])
    try:
        out = _evaluate(value, name, budget)
    except PricesymError:
        raise
    except RecursionError:
        raise ParseError(f"`{name}` is nested too deeply to evaluate.") from None
    except (TypeError, ValueError, ArithmeticError, AttributeError, NotImplementedError) as err:
        raise ParseError(f"cannot evaluate `{name}`: {type(err).__name__}: {snip(str(err), 80)}.") from None
    check_limits(out, name)
    finite(out, name)
    return out


def _evaluate(node, name: str, budget: Budget | None):
    if not isinstance(node, sp.Basic) or not node.has(*OPERATORS):
        return node
    args = [_evaluate(a, name, budget) for a in node.args]
    if isinstance(node, sp.Derivative):
        inner = args[0]
        done, total = 0, sum(int(n) for _, n in node.variable_count)
        for variable, count in node.variable_count:
            for _ in range(int(count)):
                if budget is not None:
                    budget.check(f"differentiating `{name}`")
                inner = sp.diff(inner, variable)
                done += 1
                check_limits(inner, name, f" after {done} of {total} differentiations")
        return inner
    if isinstance(node, NtCov | NtVar):
        if budget is not None:
            budget.check(f"evaluating the {type(node).__name__.lower()} in `{name}`")
        x, y, params = (args[0], args[0], args[1]) if isinstance(node, NtVar) else args
        size = len(x) if isinstance(x, sp.MatrixBase) else 1
        size *= len(y) if isinstance(y, sp.MatrixBase) else 1
        if size * len(params) > MAX_PRODUCT_TERMS:
            raise ParseError(f"the {type(node).__name__.lower()} in `{name}` would sum {size * len(params)} products "
                             f"(a {size}-entry matrix over {len(params)} parameters); the limit is {MAX_PRODUCT_TERMS}.")
        out = ntcov(x, y, list(params))
        check_limits(out, name, f" once its {type(node).__name__.lower()} is evaluated")
        return out
    if type(node).__name__ in EXACT_AT_NUMBERS and any(
            isinstance(a, sp.Number) and not -MAX_EVALUATED_ARGUMENT <= a <= MAX_EVALUATED_ARGUMENT for a in args):
        raise ParseError(f"`{name}` becomes {type(node).__name__} of a number beyond ±{MAX_EVALUATED_ARGUMENT} once its "
                         "diff, ntcov and ntvar are evaluated, which SymPy would evaluate exactly; use a bounded symbol.")
    return node.func(*args)


def finite(value, name: str) -> None:
    """`ParseError` unless every entry is finite and real."""
    entries = list(value) if isinstance(value, sp.MatrixBase) else [value]
    for entry in entries:
        if entry.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise ParseError(f"`{name}` is infinite or undefined once its derivatives are evaluated "
                             f"(`{snip(str(entry), 60)}`): a division by zero or log(0); check the claim.")
        if entry.has(sp.I):
            raise ParseError(f"`{name}` is not real once its derivatives are evaluated (`{snip(str(entry), 60)}`).")
