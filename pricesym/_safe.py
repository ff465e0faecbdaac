"""The one door from Python values to SymPy objects that never reads text.

`sympy.sympify(value, strict=True)` refuses a string, but not one inside a tuple, a
dict or a set: those it runs as Python first. Every function of pricesym that accepts
"a SymPy expression or a number" converts through `to_sympy`, which accepts what strict
`sympify` accepts and refuses text at any depth without running it; user text goes
through `ps.parse`, whose reader builds expressions without running anything."""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from ._errors import ParseError

__all__ = ["to_sympy", "to_sympy_mapping"]


def to_sympy(value, name: str = "expr", error: type[Exception] = ParseError):
    """``value`` as `sympy.sympify(value, strict=True)` gives it (SymPy objects, numbers,
    tuples and dicts of them), with tuples and dicts converted element by element so that
    text inside them is refused, never run. Anything else raises ``error`` naming ``name``."""
    if isinstance(value, (sp.Basic, sp.MatrixBase)):
        return value
    if isinstance(value, (str, bytes, bytearray)):
        raise error(f"`{name}` must be a SymPy object or a number, got the string {value!r:.60}; "
                    "read user text with `ps.parse`.")
    if isinstance(value, tuple):
        return sp.Tuple(*[to_sympy(v, name, error) for v in value])
    if isinstance(value, Mapping):
        return sp.Dict({to_sympy(k, name, error): to_sympy(v, name, error) for k, v in value.items()})
    if isinstance(value, (list, set, frozenset)) or (hasattr(value, "dtype") and getattr(value, "shape", ()) != ()):
        raise error(f"`{name}` must be a SymPy object or a number, got {type(value).__name__} {value!r:.60}.")
    try:
        return sp.sympify(value, strict=True)  # numbers, NumPy scalars, objects with `_sympy_`: nothing is run
    except (sp.SympifyError, TypeError, ValueError):
        raise error(f"`{name}` must be a SymPy object or a number, got {type(value).__name__} {value!r:.60}.") from None


def to_sympy_mapping(mapping, name: str = "mapping", error: type[Exception] = ParseError) -> dict:
    """A substitution ``{symbol: value}`` whose keys and values went through `to_sympy`
    (SymPy's `subs` would run a string value as Python)."""
    if not isinstance(mapping, Mapping):
        raise error(f"`{name}` must be a dict {{symbol: value}}, got {type(mapping).__name__} {mapping!r:.60}.")
    return {to_sympy(k, name, error): to_sympy(v, name, error) for k, v in mapping.items()}
