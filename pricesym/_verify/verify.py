r"""Is ``lhs = rhs``? Symbolically first, then on random instances.

``verify(lhs, rhs, assume=...)`` answers with a `Verdict`:

1. **Read.** Strings go through `parse` (text or LaTeX), assumptions through
   `parse_assumption`. Symbols are matched by *name* across both sides and the
   assumptions, so ``p`` typed as text and ``Symbol("p", positive=True)`` from a
   derivation are the same variable; everything is over the reals. A SymPy
   ``Float`` stands for the decimal it prints as (``0.1`` is 1/10).
2. **Substitute and evaluate.** Definitions (``p = sigmoid(b)``) are substituted
   (``ntvar(p, [b])`` then differentiates through p), and ``.doit()`` evaluates
   ``diff``, ``ntcov`` and ``ntvar``. Shapes must agree (a 1×1 matrix counts as
   a scalar), else `ShapeError`.
3. **Symbolic.** Per entry, ``lhs - rhs`` is put over one denominator
   (`together`, no expansion) and its numerator expanded; then again after
   rewriting sigmoid, softmax and the hyperbolic functions through `exp`; then
   through the observables with `in_terms_of`. A zero numerator proves
   equality. Each step runs only when a term-count estimate says the expansion
   stays small; `sympy.simplify` is never called.
4. **Numeric.** Otherwise each free symbol is drawn inside its assumptions:
   bounded ``(a, b)`` uniformly; ``x > a`` as ``a`` + log-uniform(0.05, 5)
   (``x > 0``: log-uniform(0.05, 5)); ``x < b`` mirrored; no bound
   uniform(−3, 3); integers alike (11 values from a one-sided bound, −5…5
   with none). Instances where a defined symbol breaks its own bounds are
   dropped. Both sides are evaluated in float64 at every instance. Where they
   differ by more than `RTOL`, or either is not finite, and at the first
   `EXACT_INSTANCES` instances in any case, the instance is re-evaluated with
   mpmath at 30 and at 60 digits: a difference that stays the same when the
   precision doubles is real (rounding error would shrink by ~30 orders of
   magnitude), and that instance is the counterexample. So a truncated series
   (``exp(x)`` against ``1 + x + x**2/2`` on a tiny interval) is caught even
   where float64 cannot tell the two apart. All instances agreeing gives
   "equal" by "numeric (N instances)"; no instance where both sides are finite
   real numbers gives "undecided".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction

import numpy as np
import sympy as sp

from .._errors import AssumptionError, ParseError, PricesymError, ShapeError
from .._symbolic.tangent import NtCov, NtVar
from .bounds import Bounds, fact_bounds
from .build import snip
from .evaluate import EXACT_INSTANCES, RTOL, Evaluator
from .evaluate import differs as differs_at
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
        # a Float means the decimal it prints as (0.1, not the double nearest 0.1), as in `parse`
        floats = value.atoms(sp.Float)
        return value.xreplace({f: _exact(Fraction(str(f))) for f in floats}) if floats else value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return _exact(Fraction(repr(value)) if isinstance(value, float) else Fraction(value))
    raise ParseError(f"`{name}` must be a string or a SymPy expression, got {type(value).__name__} {snip(repr(value))}.")


def _exact(fraction: Fraction) -> sp.Rational:
    return sp.Rational(fraction.numerator, fraction.denominator)


def _assumptions(assume, latex: bool) -> tuple[Assumption, ...]:
    if isinstance(assume, (str, Assumption)):
        assume = (assume,)
    out = []
    for item in assume:
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
           latex: bool = False) -> Verdict:
    r"""Decide whether ``lhs = rhs``, symbolically or on random instances.

    ``lhs``/``rhs``: strings (read by `parse`; LaTeX with ``latex=True``) or
    SymPy objects. ``assume``: strings (read by `parse_assumption`) or
    `Assumption` values, e.g. ``["p = sigmoid(b)"]`` or ``["0 < p < 1"]``.

    >>> verify("ntvar(sigmoid(b), [b])", "p**2*(1-p)**2", assume=["p = sigmoid(b)"]).status
    'equal'

    Raises `ParseError` for unreadable input, `ShapeError` when one side is a
    matrix and the other a scalar (or the shapes differ), and `AssumptionError`
    when the assumptions exclude every instance.
    """
    if isinstance(instances, bool) or not isinstance(instances, int) or not 1 <= instances <= 100_000:
        raise AssumptionError(f"`instances` must be an integer from 1 to 100000, got {instances!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise AssumptionError(f"`seed` must be a non-negative integer, got {seed!r}.")
    left, right = _side(lhs, "lhs", latex), _side(rhs, "rhs", latex)
    assumptions = _assumptions(assume, latex)
    bounds, rename, definitions = _variables(left, right, assumptions)

    a_entries = _entries(_evaluate(left, rename, definitions, "lhs"))
    b_entries = _entries(_evaluate(right, rename, definitions, "rhs"))
    shape = (len(a_entries), len(a_entries[0]))
    if (len(b_entries), len(b_entries[0])) != shape:
        raise ShapeError(f"`lhs` is {_shape(a_entries)} but `rhs` is {_shape(b_entries)}; they cannot be equal.")
    matrix = shape != (1, 1)

    reduced, open_pairs = {}, []
    for i in range(shape[0]):
        for j in range(shape[1]):
            zero, reduced[i, j] = reduce_difference(a_entries[i][j] - b_entries[i][j], definitions)
            if not zero:
                open_pairs.append(((i, j), a_entries[i][j], b_entries[i][j]))
    difference = sp.ImmutableMatrix(*shape, list(reduced.values())) if matrix else reduced[0, 0]
    common = dict(lhs=left, rhs=right, difference=difference, seed=seed, assumptions=assumptions)
    if not open_pairs:
        return Verdict(status="equal", method="symbolic", **common)

    leftovers = [e for _, a, b in open_pairs for e in (a, b) if e.has(*_UNEVALUATED)]
    if leftovers:
        return Verdict(status="undecided", method=f"numeric not possible: `{to_text(leftovers[0])}` stays unevaluated",
                       **common)
    found = _numeric(open_pairs, bounds, definitions, assumptions, instances, seed)
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


def _evaluate(value, rename: dict, definitions: dict, name: str):
    """Canonical symbols, definitions substituted, then ``.doit()``."""
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
    value = value.xreplace(definitions)
    try:
        return value.doit()
    except PricesymError:
        raise
    except Exception as err:  # a SymPy failure on an allowed input: say where, in one line
        raise ParseError(f"cannot evaluate `{name}`: {type(err).__name__}: {snip(str(err), 80)}.") from None


def _numeric(open_pairs, bounds, definitions, assumptions, instances: int, seed: int) -> dict:
    """Compare the entries that symbolic reduction left open on random
    instances; the Verdict fields that follow (status, method, counterexample…)."""
    found = {s for _, a, b in open_pairs for s in _symbols_of(a) | _symbols_of(b)}
    free = sorted(found | {s for d in definitions.values() for s in _symbols_of(d)}, key=lambda s: s.name)
    n = instances if free else 1
    rng = np.random.default_rng(seed)
    columns = [bounds[s.name].sample(rng, n, s.name) for s in free]
    shown = {s.name: column for s, column in zip(free, columns)}

    keep = np.ones(n, dtype=bool)  # defined symbols must satisfy their own bounds
    for symbol, definition in definitions.items():
        shown[symbol.name] = Evaluator(definition, free).floats(columns, n)
        keep &= np.isfinite(shown[symbol.name]) & bounds[symbol.name].holds(shown[symbol.name])
    if not keep.any():
        restricted = [f"`{a.text}`" for a in assumptions if a.definition is None and a.symbol.name in
                      {s.name for s in definitions}]
        because = "no drawn value satisfies " + " and ".join(restricted) if restricted else \
            "no drawn value gives the defined symbols a finite value"
        raise AssumptionError(f"the assumptions exclude every instance: {because}.")
    columns = [c[keep] for c in columns]
    shown = {name: values[keep] for name, values in shown.items()}
    n = int(keep.sum())

    usable = np.ones(n, dtype=bool)
    for index, a, b in open_pairs:
        f, g = Evaluator(a, free), Evaluator(b, free)
        a_values, b_values = f.floats(columns, n), g.floats(columns, n)
        with np.errstate(all="ignore"):
            close = np.abs(a_values - b_values) <= RTOL * np.maximum(np.abs(a_values), np.abs(b_values))
        close &= np.isfinite(a_values) & np.isfinite(b_values)
        close[:EXACT_INSTANCES] = False
        for k in np.flatnonzero(~close):  # re-decided at high precision
            differs, a_value, b_value = differs_at(f, g, [float(c[k]) for c in columns])
            if differs is None:
                usable[k] = False
            elif differs:
                return dict(status="not equal", method=f"numeric (counterexample at instance {k + 1} of {n})",
                            counterexample={name: float(values[k]) for name, values in shown.items()},
                            lhs_value=a_value, rhs_value=b_value, instances=int(k + 1), entry=index)
    used = int(usable.sum())
    if used == 0:
        return dict(status="undecided", method=f"numeric (neither side is a finite real number at any of {n} instances)")
    counted = f"{used} instance{'s' if used > 1 else ''}"
    method = f"numeric ({counted})" if used == n else f"numeric ({counted} of {n}; elsewhere not finite)"
    return dict(status="equal", method=method, instances=used)


def _resolve(definitions: dict) -> dict:
    """Substitute definitions into each other until none refers to a defined symbol."""
    resolved = dict(definitions)
    for _ in range(len(resolved) + 1):
        changed = False
        for symbol, definition in resolved.items():
            new = definition.xreplace(resolved)
            if new != definition:
                resolved[symbol], changed = new, True
            if new.has(symbol):
                raise AssumptionError(f"the definition of `{symbol}` refers to itself through other definitions.")
        if not changed:
            return resolved
    raise AssumptionError("the definitions refer to each other in a circle.")
