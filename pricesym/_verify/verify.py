r"""Is ``lhs = rhs``? Proved symbolically, or decided on instances without rounding.

``verify(lhs, rhs, assume=...)`` answers with a `Verdict` that states its method
and evidence:

1. **Read.** Strings go through `parse` (text or LaTeX), assumptions through
   `parse_assumption`; SymPy objects are checked against the same size limits.
   Symbols are matched by *name* across both sides and the assumptions, so ``p``
   typed as text and ``Symbol("p", positive=True)`` from a derivation are the same
   variable; everything is over the reals. A SymPy ``Float`` stands for the
   decimal it prints as (``0.1`` is 1/10).
2. **Substitute and evaluate.** Definitions (``p = sigmoid(b)``) are substituted,
   then ``diff``, ``ntcov`` and ``ntvar`` are evaluated one order at a time within
   size limits (`operators`). Shapes must agree (a 1×1 matrix counts as a scalar),
   else `ShapeError`; an infinite or undefined side is `ParseError`.
3. **Proof.** Per entry, ``lhs - rhs`` is put over one denominator and its
   numerator expanded; then again through ``exp``; then in the observables
   (`symbolic`). A zero numerator is a proof: "equal (proved)".
4. **Instances.** Otherwise each free symbol is drawn inside its assumptions
   from the shared sampler (`Domain.interval`: uniform between two bounds,
   bound + log-uniform(0.05, 5) beyond one, uniform(−3, 3) with none), and the
   domain's edges are added (`Domain.edge_points`: points 1e-12 … 1e-3 from each
   bound, the bound itself when included, both signs near 0, large magnitudes).
   Instances where a defined symbol breaks its own bounds are dropped.
5. **Decision per instance** (`decide`), after a float64 screen that orders the
   instances: exact rational arithmetic when both sides are rational functions;
   otherwise mpmath at a precision that grows until the difference is stable (a
   counterexample) or vanishes below what the instance needs (agreement). Never a
   fixed cut-off: ``x`` against ``x*(1 + 1e-21)``, or ``exp(x)`` against its
   Taylor polynomial on (0, 1e-7), are "not equal" with a real counterexample. A
   nonzero constant difference is "not equal" with the difference printed.
6. **Budgets.** The whole call ends within ``timeout`` seconds (`Budget`): when it
   runs out the verdict is "undecided", naming the stage; magnitude guards keep
   ``exp(exp(exp(…)))`` from running away.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import sympy as sp

from .._errors import AssumptionError, ParseError, ShapeError
from .._symbolic.tangent import NtCov, NtVar
from .bounds import Bounds, fact_bounds
from .budget import DEFAULT_TIMEOUT, Budget, BudgetExceeded
from .build import number, snip
from .instances import compare, defined_values, draw_instances
from .operators import check_limits, evaluate_operators
from .parse import Assumption, parse, parse_assumption, to_text
from .symbolic import reduce_difference
from .verdict import Verdict

__all__ = ["verify"]

_UNEVALUATED = (sp.Derivative, sp.Subs, sp.Integral, NtCov, NtVar)


# ------------------------------------------------------------------ reading

def _side(value, name: str, latex: bool):
    if isinstance(value, str):
        return parse(value, latex=latex)
    if isinstance(value, (sp.Basic, sp.MatrixBase)):
        if isinstance(value, sp.MatrixBase) and not all(isinstance(e, sp.Expr) for e in value):
            raise ParseError(f"`{name}` is a matrix with entries that are not expressions.")
        if isinstance(value, sp.Basic) and not isinstance(value, sp.Expr):
            raise ParseError(f"`{name}` must be an expression, got the SymPy {type(value).__name__} {snip(str(value))}.")
        check_limits(value, name)
        # a Float means the decimal it prints as (0.1, not the double nearest 0.1), as in `parse`
        floats = value.atoms(sp.Float)
        return value.xreplace({f: _decimal(str(f), name) for f in floats}) if floats else value
    if isinstance(value, int) and not isinstance(value, bool):
        out = sp.Integer(value)
        check_limits(out, name)
        return out
    if isinstance(value, float) and math.isfinite(value):
        return _decimal(repr(value), name)
    raise ParseError(f"`{name}` must be a string or a SymPy expression, got {type(value).__name__} {snip(repr(value))}.")


def _decimal(text: str, name: str) -> sp.Rational:
    negative = text.startswith("-")
    try:
        value = number(text.lstrip("+-"))
    except ParseError as err:
        raise ParseError(f"`{name}`: {err}") from None
    return -value if negative else value


def _assumptions(assume, latex: bool) -> tuple[Assumption, ...]:
    if isinstance(assume, (str, Assumption)):
        assume = (assume,)
    try:
        items = list(assume)
    except TypeError:
        raise ParseError(f"`assume` must be a list of strings or Assumptions, got {type(assume).__name__} "
                         f"{snip(repr(assume))}.") from None
    out = []
    for item in items:
        if isinstance(item, Assumption):
            out.append(item)
        elif isinstance(item, str):
            out.append(parse_assumption(item, latex=latex))
        else:
            raise ParseError(f"each of `assume` must be a string or an Assumption, got {type(item).__name__} {snip(repr(item))}.")
    return tuple(out)


def _entries(value) -> list[list]:
    if isinstance(value, sp.MatrixBase):
        return value.tolist()
    return [[value]]


def _symbols_of(value) -> set[sp.Symbol]:
    entries = [e for row in _entries(value) for e in row]
    return {s for e in entries for s in e.free_symbols if isinstance(s, sp.Symbol)}


# ------------------------------------------------------------------ the API

def verify(lhs, rhs, *, assume: Iterable[str | Assumption] = (), instances: int = 200, seed: int = 0,
           latex: bool = False, timeout: float = DEFAULT_TIMEOUT) -> Verdict:
    r"""Decide whether ``lhs = rhs``: proved symbolically, or decided on instances.

    ``lhs``/``rhs``: strings (read by `parse`; LaTeX with ``latex=True``) or
    SymPy objects. ``assume``: strings (read by `parse_assumption`) or
    `Assumption` values, e.g. ``["p = sigmoid(b)"]`` or ``["0 < p < 1"]``.
    ``instances``: random instances (the domain's edges come on top, at most as
    many again). ``timeout``: seconds before the answer is "undecided" (the
    verdict says which stage ran out).

    >>> verify("ntvar(sigmoid(b), [b])", "p**2*(1-p)**2", assume=["p = sigmoid(b)"]).status
    'equal'

    Raises `ParseError` for unreadable input (or a side that grows beyond the size
    limits, or is infinite), `ShapeError` when one side is a matrix and the other
    a scalar (or the shapes differ), and `AssumptionError` when the assumptions
    exclude every instance.
    """
    if isinstance(instances, bool) or not isinstance(instances, int) or not 1 <= instances <= 100_000:
        raise AssumptionError(f"`instances` must be an integer from 1 to 100000, got {instances!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise AssumptionError(f"`seed` must be a non-negative integer, got {seed!r}.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise AssumptionError(f"`timeout` must be a positive number of seconds, got {timeout!r}.")
    read: dict = {}
    try:
        with Budget(timeout, "verify") as budget:
            budget.check("reading the claim")
            read["lhs"], read["rhs"] = _side(lhs, "lhs", latex), _side(rhs, "rhs", latex)
            read["assumptions"] = _assumptions(assume, latex)
            try:
                return _verify(read, instances, seed, budget)
            except RecursionError:  # SymPy recursing through a deep tree (its assumptions, its printers)
                raise ParseError("the claim is nested too deeply for SymPy to evaluate; verify a smaller one.") from None
    except BudgetExceeded as err:
        if "rhs" not in read:
            raise
        left, right = read["lhs"], read["rhs"]
        try:
            difference = left - right
        except (TypeError, ValueError, ArithmeticError):
            difference = sp.nan
        return Verdict(status="undecided", method="budget", evidence=f"undecided: {err}", lhs=left, rhs=right,
                       difference=difference, seed=seed, assumptions=read.get("assumptions", ()))


def _verify(read: dict, instances: int, seed: int, budget: Budget) -> Verdict:
    left, right, assumptions = read["lhs"], read["rhs"], read["assumptions"]
    budget.check("matching the symbols and assumptions")
    bounds, rename, definitions = _variables(left, right, assumptions)
    a_entries = _entries(_evaluate(left, rename, definitions, "lhs", budget))
    b_entries = _entries(_evaluate(right, rename, definitions, "rhs", budget))
    shape = (len(a_entries), len(a_entries[0]))
    if (len(b_entries), len(b_entries[0])) != shape:
        raise ShapeError(f"`lhs` is {_shape(a_entries)} but `rhs` is {_shape(b_entries)}; they cannot be equal.")
    matrix = shape != (1, 1)

    reduced, open_pairs = {}, []
    for i in range(shape[0]):
        for j in range(shape[1]):
            budget.check("reducing lhs - rhs symbolically")
            zero, reduced[i, j] = reduce_difference(a_entries[i][j] - b_entries[i][j], definitions)
            if not zero:
                open_pairs.append(((i, j), a_entries[i][j], b_entries[i][j]))
    difference = sp.ImmutableMatrix(*shape, list(reduced.values())) if matrix else reduced[0, 0]
    common = dict(lhs=left, rhs=right, difference=difference, seed=seed, assumptions=assumptions)
    if not open_pairs:
        return Verdict(status="equal", method="symbolic", evidence="proved: lhs - rhs reduces to 0", **common)

    leftovers = [e for _, a, b in open_pairs for e in (a, b) if e.has(*_UNEVALUATED)]
    if leftovers:
        return Verdict(status="undecided", method="symbolic",
                       evidence=f"undecided: `{snip(to_text(leftovers[0]), 60)}` stays unevaluated, so no instance "
                                "can be computed", **common)
    found = _numeric(open_pairs, bounds, definitions, assumptions, instances, seed, budget)
    if found.get("entry") is not None and not matrix:
        found["entry"] = None
    return Verdict(**found, **common)


def _shape(entries: list[list]) -> str:
    return "a scalar" if (len(entries), len(entries[0])) == (1, 1) else f"a {len(entries)}×{len(entries[0])} matrix"


def _variables(left, right, assumptions) -> tuple[dict, dict, dict]:
    """One canonical symbol per name, carrying what the assumptions say about it.

    Returns (bounds by name, renaming of every original symbol, definitions
    resolved into each other)."""
    bounds: dict[str, Bounds] = {}
    originals = _symbols_of(left) | _symbols_of(right)
    for a in assumptions:
        originals |= {a.symbol} | (_symbols_of(a.definition) if a.definition is not None else set())
    for symbol in originals:
        fact_bounds(symbol, bounds.setdefault(symbol.name, Bounds()))
    for a in assumptions:
        if a.definition is None:
            bounds[a.symbol.name].add(a.lower, a.upper, a.lower_strict, a.upper_strict, a.integer, source=a.text)
    for name, b in bounds.items():
        b.validate(name)
    canonical = {name: sp.Symbol(name, **b.facts()) for name, b in bounds.items()}
    rename = {s: canonical[s.name] for s in originals}

    definitions: dict[sp.Symbol, sp.Basic] = {}
    for a in assumptions:
        if a.definition is not None:
            symbol = canonical[a.symbol.name]
            if symbol in definitions:
                raise AssumptionError(f"`{symbol}` is defined twice (`{a.text}`); give one definition.")
            definitions[symbol] = a.definition.xreplace(rename)
    return bounds, rename, _resolve(definitions)


def _evaluate(value, rename: dict, definitions: dict, name: str, budget: Budget):
    """Canonical symbols, definitions substituted, then the operators evaluated within limits."""
    budget.check(f"substituting the definitions into `{name}`")
    value = value.xreplace(rename)
    for node in sp.preorder_traversal(value):
        variables = list(node.args[-1]) if isinstance(node, NtCov | NtVar) else \
            list(node.variables) if isinstance(node, sp.Derivative) else []
        for variable in variables:
            if variable in definitions:
                raise AssumptionError(
                    f"`{variable}` is defined as `{to_text(definitions[variable])}`, so `{name}` cannot "
                    f"differentiate by it; differentiate by the parameters it depends on."
                )
    return evaluate_operators(value.xreplace(definitions), name, budget)


def _numeric(open_pairs, bounds, definitions, assumptions, instances: int, seed: int, budget: Budget) -> dict:
    """Compare the entries that symbolic reduction left open on instances; the
    Verdict fields that follow (status, method, evidence, counterexample…)."""
    budget.check("drawing instances")
    found = {s for _, a, b in open_pairs for s in _symbols_of(a) | _symbols_of(b)}
    free = sorted(found | {s for d in definitions.values() for s in _symbols_of(d)}, key=lambda s: s.name)
    columns, n_edges = draw_instances(free, bounds, instances if free else 1, seed)
    n = len(columns[0]) if free else 1
    shown, keep = defined_values(definitions, bounds, free, columns, n, assumptions)
    n_random = min(instances, n)
    n_edges = int(keep[n_random:].sum()) if free else 0
    columns = [c[keep] for c in columns]
    shown = {name: values[keep] for name, values in shown.items()}
    return compare(open_pairs, free, columns, shown, n_edges, budget)


def _resolve(definitions: dict) -> dict:
    """Substitute definitions into each other until none refers to a defined symbol."""
    resolved = dict(definitions)
    for _ in range(len(resolved) + 1):
        changed = False
        for symbol, definition in resolved.items():
            new = definition.xreplace(resolved)
            check_limits(new, str(symbol), " once the definitions are substituted")  # p = q**100, q = r**100, ...: refused early
            if new != definition:
                resolved[symbol], changed = new, True
            if new.has(symbol):
                raise AssumptionError(f"the definition of `{symbol}` refers to itself through other definitions.")
        if not changed:
            return resolved
    raise AssumptionError("the definitions refer to each other in a circle.")
