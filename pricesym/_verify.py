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

import dataclasses
import math
from collections.abc import Iterable, Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import Literal

import mpmath
import numpy as np
import sympy as sp

from ._errors import AssumptionError, ParseError, PricesymError, ShapeError
from ._functions import Softmax, in_terms_of, logit, sigmoid
from ._latex import latex as _latex
from ._parse import Assumption, _snip, parse, parse_assumption, to_text
from ._tangent import NtCov, NtVar

__all__ = ["Verdict", "verify"]

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

MAX_TERMS = 2000
"""Largest estimated number of terms a symbolic step may expand to."""

MAX_SYMBOLIC_NODES = 400
"""Larger differences go straight to the numeric test: `together` and `factor`
slow down steeply with size, and a large symbolic success is rare."""

_HYPERBOLIC = (sp.sinh, sp.cosh, sp.tanh, sigmoid, Softmax)
_UNEVALUATED = (sp.Derivative, sp.Subs, sp.Integral, NtCov, NtVar)

Status = Literal["equal", "not equal", "undecided"]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """The answer of `verify`.

    ``status``: "equal", "not equal" or "undecided"; ``method``: "symbolic" or
    "numeric (N instances)" (with the reason when undecided); ``lhs``/``rhs``:
    the two sides as read; ``difference``: lhs − rhs after substitution and
    reduction (0 when symbolic equality was shown; in the observables when
    definitions were given); ``counterexample``: the instance where they differ
    (every sampled symbol and every defined one, by name), with ``lhs_value``
    and ``rhs_value`` there (for matrices, at entry ``entry``); ``instances``:
    how many instances were compared numerically (0 for symbolic); ``seed``."""

    status: Status
    method: str
    lhs: sp.Basic
    rhs: sp.Basic
    difference: sp.Basic
    counterexample: Mapping[str, float] | None = None
    lhs_value: float | None = None
    rhs_value: float | None = None
    instances: int = 0
    seed: int = 0
    assumptions: tuple[Assumption, ...] = ()
    entry: tuple[int, int] | None = None

    def __post_init__(self):
        if self.status not in ("equal", "not equal", "undecided"):
            raise ValueError(f"`status` must be 'equal', 'not equal' or 'undecided', got {self.status!r}.")
        if self.counterexample is not None:
            object.__setattr__(self, "counterexample", MappingProxyType(dict(self.counterexample)))

    @property
    def equal(self) -> bool:
        return self.status == "equal"

    def as_json(self) -> dict:
        """A JSON-ready dict: the sides in `parse` syntax and in LaTeX, the verdict, the counterexample."""
        return {
            "status": self.status,
            "equal": self.equal,
            "method": self.method,
            "lhs": to_text(self.lhs),
            "rhs": to_text(self.rhs),
            "lhs_latex": _latex(self.lhs),
            "rhs_latex": _latex(self.rhs),
            "difference": to_text(self.difference),
            "assumptions": [a.text for a in self.assumptions],
            "counterexample": dict(self.counterexample) if self.counterexample is not None else None,
            "lhs_value": self.lhs_value,
            "rhs_value": self.rhs_value,
            "entry": list(self.entry) if self.entry is not None else None,
            "instances": self.instances,
            "seed": self.seed,
        }

    def latex(self) -> str:
        r"""One line of display math, e.g.
        ``\operatorname{ntvar}\left(\sigma\left(b\right)\right) = p^{2} \left(1 - p\right)^{2}
        \quad \text{given } p = \sigma\left(b\right)``."""
        relation = {"equal": "=", "not equal": r"\neq", "undecided": r"\overset{?}{=}"}[self.status]
        out = f"{_latex(self.lhs)} {relation} {_latex(self.rhs)}"
        if self.assumptions:
            out += r" \quad \text{given } " + r",\ ".join(a.latex() for a in self.assumptions)
        if self.counterexample is not None:
            at = r",\ ".join(f"{_latex(sp.Symbol(k))} = {_number_latex(v)}" for k, v in self.counterexample.items())
            at = rf"\text{{e.g. at }} {at}:\ " if at else r"\text{numerically: }"
            a, b = _distinct(self.lhs_value, self.rhs_value)
            out += rf" \quad {at}{_number_latex(a)} \neq {_number_latex(b)}"
        return out

    def __str__(self) -> str:
        relation = {"equal": "=", "not equal": "!=", "undecided": "=?"}[self.status]
        out = f"{self.status} ({self.method}): {to_text(self.lhs)} {relation} {to_text(self.rhs)}"
        if self.assumptions:
            out += ", given " + ", ".join(a.text for a in self.assumptions)
        out += "."
        if self.counterexample is not None:
            at = ", ".join(f"{k} = {v:.6g}" for k, v in self.counterexample.items())
            at = f" at {at}" if at else ""
            entry = f" (entry {self.entry})" if self.entry is not None else ""
            a, b = _distinct(self.lhs_value, self.rhs_value, digits=10)
            same = " (equal in float64: the difference is below double precision)" if a == b else ""
            out += (f" Counterexample{at}: lhs = {a}, rhs = {b}{entry}{same}."
                    f" Difference: {to_text(self.difference)}.")
        elif self.status == "equal" and self.instances:
            out += (f" Seed {self.seed}; float64 agreement to {RTOL:g} relative at every instance,"
                    f" and to ~25 digits at the first {min(EXACT_INSTANCES, self.instances)}.")
        return out


def _distinct(a: float, b: float, digits: int = 6) -> tuple[str, str]:
    """The two values with as many digits as it takes to tell them apart."""
    for d in range(digits, 18):
        left, right = f"{a:.{d}g}", f"{b:.{d}g}"
        if left != right:
            break
    return left, right


def _number_latex(value: float | str) -> str:
    text = value if isinstance(value, str) else f"{value:.6g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


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
    raise ParseError(f"`{name}` must be a string or a SymPy expression, got {type(value).__name__} {_snip(repr(value))}.")


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
            raise ParseError(f"each of `assume` must be a string or an Assumption, got {type(item).__name__} {_snip(repr(item))}.")
    return tuple(out)


def _entries(value) -> list[list]:
    if isinstance(value, sp.MatrixBase):
        return value.tolist()
    return [[value]]


def _symbols_of(value) -> set[sp.Symbol]:
    entries = [e for row in _entries(value) for e in row]
    return {s for e in entries for s in e.free_symbols if isinstance(s, sp.Symbol)}


# ------------------------------------------------------------------ bounds

@dataclasses.dataclass
class _Bounds:
    """Where one symbol's instances may come from (merged from every source)."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_strict: bool = False
    hi_strict: bool = False
    integer: bool = False
    sources: list[str] = dataclasses.field(default_factory=list)

    def add(self, lo=-math.inf, hi=math.inf, lo_strict=False, hi_strict=False, integer=False, source=""):
        if lo > self.lo or (lo == self.lo and lo_strict):
            self.lo, self.lo_strict = lo, lo_strict
        if hi < self.hi or (hi == self.hi and hi_strict):
            self.hi, self.hi_strict = hi, hi_strict
        self.integer = self.integer or integer
        if source:
            self.sources.append(source)

    def facts(self) -> dict[str, bool]:
        """SymPy assumptions for the canonical symbol, so that e.g. sqrt(x**2) = x for x > 0."""
        facts = {"real": True}
        if self.integer:
            facts["integer"] = True
        if self.lo > 0 or (self.lo == 0 and self.lo_strict):
            facts["positive"] = True
        elif self.lo == 0:
            facts["nonnegative"] = True
        elif self.hi < 0 or (self.hi == 0 and self.hi_strict):
            facts["negative"] = True
        elif self.hi == 0:
            facts["nonpositive"] = True
        return facts

    def empty(self, name: str) -> AssumptionError:
        given = " and ".join(f"`{s}`" for s in self.sources) or "its declaration"
        return AssumptionError(f"the assumptions exclude every instance: {given} leave no value for `{name}`.")

    def validate(self, name: str):
        if self.lo > self.hi or (self.lo == self.hi and (self.lo_strict or self.hi_strict)):
            raise self.empty(name)
        if self.integer:
            self.integers(name)

    def integers(self, name: str) -> tuple[int, int]:
        """First and last integer to draw from."""
        first = last = None
        if self.lo > -math.inf:
            first = math.ceil(self.lo) + (1 if self.lo_strict and math.ceil(self.lo) == self.lo else 0)
        if self.hi < math.inf:
            last = math.floor(self.hi) - (1 if self.hi_strict and math.floor(self.hi) == self.hi else 0)
        if first is None:
            first = -5 if last is None else last - 10
        if last is None:
            last = first + 10
        if first > last:
            raise self.empty(name)
        return first, last

    def sample(self, rng: np.random.Generator, n: int, name: str) -> np.ndarray:
        self.validate(name)
        lo, hi = self.lo, self.hi
        if self.integer:
            first, last = self.integers(name)
            return rng.integers(first, last + 1, n).astype(np.float64)
        if lo == hi:
            return np.full(n, lo)
        if lo > -math.inf and hi < math.inf:
            return rng.uniform(lo, hi, n)
        scale = np.exp(rng.uniform(math.log(0.05), math.log(5.0), n))
        if lo > -math.inf:
            return lo + scale
        if hi < math.inf:
            return hi - scale
        return rng.uniform(-3.0, 3.0, n)

    def holds(self, values: np.ndarray) -> np.ndarray:
        ok = np.ones(values.shape, dtype=bool)
        if self.lo > -math.inf:
            ok &= values > self.lo if self.lo_strict else values >= self.lo
        if self.hi < math.inf:
            ok &= values < self.hi if self.hi_strict else values <= self.hi
        if self.integer:
            ok &= values == np.round(values)
        return ok


def _fact_bounds(symbol: sp.Symbol, bounds: _Bounds):
    """What a symbol's own SymPy assumptions say (e.g. a derivation's positive p)."""
    if symbol.is_positive:
        bounds.add(lo=0.0, lo_strict=True)
    elif symbol.is_nonnegative:
        bounds.add(lo=0.0)
    elif symbol.is_negative:
        bounds.add(hi=0.0, hi_strict=True)
    elif symbol.is_nonpositive:
        bounds.add(hi=0.0)
    if symbol.is_integer:
        bounds.add(integer=True)


# ---------------------------------------------------------------- symbolic

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
    return sp.expand(expr.rewrite(list(_HYPERBOLIC), sp.exp), deep=True, mul=False, multinomial=False,
                     power_base=False, log=False) if _terms(expr) <= MAX_TERMS else expr


def _symbolic(difference, observables: dict) -> tuple[bool, sp.Basic]:
    """(shown zero?, the difference as best reduced for display)."""
    if difference == 0:
        return True, sp.S.Zero
    if _nodes(difference) > MAX_SYMBOLIC_NODES or _terms(difference) > MAX_TERMS:
        return False, difference
    attempts = [lambda: difference]
    if difference.has(*_HYPERBOLIC, sp.exp):
        attempts.append(lambda: _to_exp(difference))
    if observables and _terms(difference) <= 200:
        attempts.append(lambda: in_terms_of(difference, observables))
    for attempt in attempts:
        try:
            if _zero_numerator(attempt()):
                return True, sp.S.Zero
        except Exception:  # noqa: BLE001 - a rewrite SymPy cannot do is no evidence either way
            continue
    return False, _display(difference, observables)


def _display(difference, observables: dict):
    if _terms(difference) > 200:
        return difference
    try:
        if observables:
            return in_terms_of(difference, observables)
        return sp.factor(sp.cancel(difference))
    except Exception:  # noqa: BLE001 - only the display form is lost
        return difference


# ---------------------------------------------------------------- numeric

def _elementary(expr):
    """pricesym's functions written out, so NumPy and mpmath can evaluate them."""
    expr = expr.replace(sigmoid, lambda z: 1 / (1 + sp.exp(-z)))
    expr = expr.replace(logit, lambda q: sp.log(q / (1 - q)))
    return expr.replace(Softmax, lambda i, *z: sp.exp(z[int(i)]) / sp.Add(*[sp.exp(t) for t in z]))


class _Evaluator:
    """One expression, compiled for NumPy (all instances at once) and mpmath
    (one instance, at a chosen precision). The code is generated from the SymPy
    tree with every symbol renamed to a dummy, so no user text reaches it."""

    def __init__(self, expr, symbols: list[sp.Symbol]):
        self.expr = _elementary(expr)
        self.symbols = symbols
        self.numpy = sp.lambdify(symbols, self.expr, modules="numpy", dummify=True)
        self.mpmath = None  # compiled on first need: most instances never reach it

    def floats(self, columns: list[np.ndarray], n: int) -> np.ndarray:
        with np.errstate(all="ignore"):
            values = np.asarray(self.numpy(*columns))
        if np.iscomplexobj(values):
            values = np.where(np.abs(values.imag) <= 1e-12 * np.abs(values.real), values.real, np.nan)
        return np.broadcast_to(values.astype(np.float64), (n,))

    def precise(self, point: list[float], digits: int):
        if self.mpmath is None:
            self.mpmath = sp.lambdify(self.symbols, self.expr, modules="mpmath", dummify=True)
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


def _differs(lhs: _Evaluator, rhs: _Evaluator, point: list[float]) -> tuple[bool | None, float, float]:
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
            zero, reduced[i, j] = _symbolic(a_entries[i][j] - b_entries[i][j], definitions)
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


def _variables(left, right, assumptions):
    """One canonical symbol per name, carrying what the assumptions say about it.

    Returns (bounds by name, renaming of every original symbol, definitions
    resolved into each other)."""
    bounds: dict[str, _Bounds] = {}
    originals = _symbols_of(left) | _symbols_of(right)
    for a in assumptions:
        originals |= {a.symbol} | (_symbols_of(a.definition) if a.definition is not None else set())
    for symbol in originals:
        _fact_bounds(symbol, bounds.setdefault(symbol.name, _Bounds()))
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
        raise ParseError(f"cannot evaluate `{name}`: {type(err).__name__}: {_snip(str(err), 80)}.") from None


def _numeric(open_pairs, bounds, definitions, assumptions, instances: int, seed: int) -> dict:
    """Compare the entries that symbolic reduction left open on random
    instances; the Verdict fields that follow (status, method, counterexample…)."""
    free = {s for _, a, b in open_pairs for s in _symbols_of(a) | _symbols_of(b)}
    free = sorted(free | {s for d in definitions.values() for s in _symbols_of(d)}, key=lambda s: s.name)
    n = instances if free else 1
    rng = np.random.default_rng(seed)
    columns = [bounds[s.name].sample(rng, n, s.name) for s in free]
    shown = {s.name: column for s, column in zip(free, columns)}

    keep = np.ones(n, dtype=bool)  # defined symbols must satisfy their own bounds
    for symbol, definition in definitions.items():
        shown[symbol.name] = _Evaluator(definition, free).floats(columns, n)
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
        f, g = _Evaluator(a, free), _Evaluator(b, free)
        a_values, b_values = f.floats(columns, n), g.floats(columns, n)
        with np.errstate(all="ignore"):
            close = np.abs(a_values - b_values) <= RTOL * np.maximum(np.abs(a_values), np.abs(b_values))
        close &= np.isfinite(a_values) & np.isfinite(b_values)
        close[:EXACT_INSTANCES] = False
        for k in np.flatnonzero(~close):  # re-decided at high precision
            differs, a_value, b_value = _differs(f, g, [float(c[k]) for c in columns])
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
