"""``pricesym show NAME --at SYMBOL=VALUE ...``: a closed form at given values, and
only inside the domain where it holds.

* Each value is read by the safe parser (``1/3``, ``pi/4``, ``0.1`` exact) and must
  be a finite real number, inside the `Domain` the entry declares for the symbol
  (where its checks ran: an integer from 5 to 100, a value in (0.5, 2), …) and
  consistent with the symbol's own facts (positive, integer).
* An observable (``p = sigmoid(b)``) given together with the parameters it is
  defined by must agree with its definition; given alone, it is turned back into
  its parameter through the vocabulary's inverse (``b = logit(p)``), which must be
  real and inside the parameter's domain (so ``p = 2`` is refused).
* A removable singularity is evaluated by its limit (the Moran fixation
  probability at r = 1 is i/N), and a value that is still not a finite real
  number is an error, never ``nan`` or ``zoo`` with exit 0.
* Everything runs under a time `Budget` (``--timeout``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import sympy as sp

from .._errors import AssumptionError, ParseError, UnknownNameError

__all__ = ["parse_at", "evaluate_at"]

_TOLERANCE = 1e-9
"""Relative agreement an observable's given value needs with its definition."""


def parse_at(items: Sequence[str]) -> dict[str, sp.Expr]:
    """``["N=10", "r=1.1"]`` → ``{"N": 10, "r": 11/10}`` (exact where written so). The
    text as written is kept on the dict's ``raw`` attribute, for messages."""
    from .._verify.parse import parse

    values = _Given()
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParseError(f"`--at` takes SYMBOL=VALUE, got {item!r}.")
        try:
            value = parse(raw.strip(), timeout=5)
        except ParseError as err:
            raise ParseError(f"`--at {item}`: {raw.strip()!r} is not a number ({err})") from None
        if isinstance(value, sp.MatrixBase) or value.free_symbols:
            raise ParseError(f"`--at {item}`: the value must be a number, e.g. `{name}=0.5`.")
        number = _float(value)
        if number is None:
            raise ParseError(f"`--at {item}`: the value must be finite and real.")
        values[name] = value
        values.raw[name] = raw.strip()
    return values


class _Given(dict):
    """The values by name, and the text each was given as (``raw``)."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: dict[str, str] = {}


def _float(value) -> float | None:
    try:
        number = complex(value.evalf(30))
    except (TypeError, ValueError, OverflowError):
        return None
    if number.imag != 0 or not math.isfinite(number.real):
        return None
    return number.real


def evaluate_at(d, given: dict[str, sp.Expr], budget):
    """The closed form (each part of a tuple) at the given values, checked first.
    Returns (value, missing): ``missing[i]`` names the symbols part i still needs."""
    by_name = {str(s): s for s in set(d.symbols) | set(d.observables) | d.free_symbols}
    unknown = [n for n in given if n not in by_name]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], list(by_name), n=3)
        hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
        raise UnknownNameError(f"`{d.name}` has no symbol `{unknown[0]}`; its symbols are "
                               f"{', '.join(sorted(by_name))}.{hint}")
    budget.check("checking the values against the domains")
    raw = getattr(given, "raw", {n: sp.sstr(v) for n, v in given.items()})
    subs = {by_name[n]: v for n, v in given.items()}
    for symbol in list(subs):
        _inside(d, symbol, subs[symbol], f"`--at {symbol}={raw[str(symbol)]}`")
    for symbol, definition in d.observables.items():
        budget.check(f"relating `{symbol}` to its definition")
        _observable(d, symbol, definition, subs, raw)
    parts = list(d.result) if isinstance(d.result, sp.Tuple) else [d.result]
    values: list = []
    missing: list[list[str]] = []
    for index, part in enumerate(parts):
        needs = sorted(str(s) for s in getattr(part, "free_symbols", set()) if s not in subs)
        missing.append(needs)
        if needs:
            values.append(None)
            continue
        budget.check("evaluating the closed form" + (f" (part {index + 1})" if len(parts) > 1 else ""))
        values.append(_value(d, part, subs, budget))
    if all(m for m in missing):
        names = sorted({n for m in missing for n in m})
        raise ParseError(f"`--at` needs a value for {', '.join(f'`{n}`' for n in names)}.")
    if isinstance(d.result, sp.Tuple):  # a part that needs more values shows as `?`
        return sp.Tuple(*[v if v is not None else sp.Symbol("?") for v in values]), missing
    value = values[0]
    return value, missing


def _inside(d, symbol, value, where: str) -> None:
    number = _float(value)
    if number is None:
        raise AssumptionError(f"{where}: `{symbol}` must be a finite real number.")
    facts = [(symbol.is_integer, number == round(number), "an integer"),
             (symbol.is_positive, number > 0, "positive"), (symbol.is_nonnegative, number >= 0, "nonnegative"),
             (symbol.is_negative, number < 0, "negative")]
    for declared, holds, what in facts:
        if declared and not holds:
            raise AssumptionError(f"{where}: `{symbol}` is declared {what}.")
    domain = d.symbols.get(symbol)
    if domain is None:
        return
    if not _in_domain(domain, number):
        raise AssumptionError(f"{where}: `{symbol}` = {number:g} is outside the domain `{d.name}` declares for it, "
                              f"{_describe(domain)}, where its closed form is checked; give a value inside it.")


def _in_domain(domain, x: float) -> bool:
    kind = domain.kind
    if kind == "integers":
        return x == round(x) and domain.lo <= x <= domain.hi
    if kind in ("uniform", "log-uniform"):
        return domain.lo <= x <= domain.hi
    if kind == "above":
        return x > domain.lo
    if kind == "below":
        return x < domain.hi
    if kind in ("choice", "fixed"):
        return any(math.isclose(x, v, rel_tol=1e-12, abs_tol=1e-300) for v in domain.values)
    return True  # "real"


def _describe(domain) -> str:
    kind = domain.kind
    if kind == "integers":
        return f"an integer from {int(domain.lo)} to {int(domain.hi)}"
    if kind in ("uniform", "log-uniform"):
        return f"a number from {domain.lo:g} to {domain.hi:g}"
    if kind == "above":
        return f"a number above {domain.lo:g}"
    if kind == "below":
        return f"a number below {domain.hi:g}"
    return "one of " + ", ".join(f"{v:g}" for v in domain.values)


def _observable(d, symbol, definition, subs: dict, given: dict[str, str]) -> None:
    """Relate an observable to the parameters it is defined by (see the module)."""
    from .._symbolic.observables import _inverse

    known = definition.free_symbols <= set(subs)
    if symbol in subs and known:
        expected = _float(definition.xreplace(subs))
        stated = _float(subs[symbol])
        if expected is None or stated is None or not math.isclose(expected, stated, rel_tol=_TOLERANCE,
                                                                  abs_tol=_TOLERANCE):
            at = ", ".join(f"{s}={given[str(s)]}" for s in sorted(definition.free_symbols, key=str))
            shown = "not a finite real number" if expected is None else f"{expected:.10g}"
            raise AssumptionError(f"`--at` is inconsistent: `{symbol}` = {definition} is {shown} at {at}, "
                                  f"but `--at` gives {symbol}={given[str(symbol)]}; give one of them.")
        return
    if symbol in subs:
        found = _inverse(definition, symbol)
        if found is None:
            return  # not invertible here: the value is used as given
        parameter, inverse = found
        back = inverse.xreplace({symbol: subs[symbol]})
        number = _float(back)
        if number is None:
            raise AssumptionError(f"`--at {symbol}={given[str(symbol)]}`: no real `{parameter}` gives "
                                  f"{symbol} = {definition} that value; give a value {symbol} takes.")
        where = f"`--at {symbol}={given[str(symbol)]}` (that is {parameter} = {number:.6g})"
        _inside(d, parameter, back, where)
        subs.setdefault(parameter, back)
    elif known:
        subs[symbol] = definition.xreplace(subs)


def _value(d, part, subs: dict, budget):
    """A part at the values: exact substitution, a limit where that is 0/0, then a number."""
    value = _finite(part.xreplace(subs))
    if value is None:
        for symbol in sorted(subs, key=str):  # a removable singularity in one symbol: its limit
            budget.check(f"taking the limit in `{symbol}`")
            others = {s: v for s, v in subs.items() if s is not symbol}
            rest = part.xreplace(others)
            if symbol not in rest.free_symbols:
                continue
            try:
                sides = [sp.limit(rest, symbol, subs[symbol], direction) for direction in ("+", "-")]
            except (NotImplementedError, ValueError, TypeError, RecursionError):
                continue
            left, right = _finite(sides[0]), _finite(sides[1])
            if left is not None and right is not None and math.isclose(float(left), float(right), rel_tol=1e-12,
                                                                          abs_tol=1e-300):
                value = left
                break
    if value is None:
        raise AssumptionError(f"the closed form of `{d.name}` is not defined at these values "
                              f"(it is `{sp.sstr(part.xreplace(subs))[:60]}` there, with no finite limit).")
    return value


def _finite(value):
    """The value as a number, or None when it is not a finite real number."""
    if isinstance(value, sp.MatrixBase):
        entries = [_finite(e) for e in value]
        return None if any(e is None for e in entries) else sp.ImmutableMatrix(value.rows, value.cols, entries)
    value = value.doit() if hasattr(value, "doit") else value
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    number = value.evalf(30)
    if not number.is_number or _float(number) is None:
        return None
    return number.evalf()
