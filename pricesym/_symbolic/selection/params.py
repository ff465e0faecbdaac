"""Parameters of selection functions and mutation laws: numbers, SymPy symbols, or
traced JAX values (inside a reference). Concrete values are validated; symbolic
ones must not be declared outside their range; traced ones are the caller's job."""

from __future__ import annotations

import math
import numbers

import numpy as np
import sympy as sp

from ..._errors import AssumptionError

__all__ = ["is_traced", "concrete", "positive", "population", "probability", "sym", "numeric_param"]


def is_traced(value) -> bool:
    """A JAX tracer (inside jit/vmap): its value cannot be inspected, so it is not validated."""
    try:
        import jax

        return isinstance(value, jax.core.Tracer)
    except ImportError:  # pragma: no cover
        return False


def concrete(name: str, value):
    """A float if ``value`` is a concrete number, None if symbolic or traced."""
    if isinstance(value, bool):
        raise AssumptionError(f"`{name}` must be a number, got {value!r}.")
    if is_traced(value):
        return None
    if isinstance(value, sp.Basic):
        if value.is_number:
            return float(value)
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AssumptionError(f"`{name}` must be a number or a SymPy expression, got {value!r}.") from None
    if arr.ndim != 0:
        return None  # an array of instance values: checked element-wise below
    return float(arr)


def positive(name: str, value, what: str = "> 0"):
    if isinstance(value, sp.Basic) and not value.is_number:
        if value.is_positive is False:
            raise AssumptionError(f"`{name}` must be {what}, but {value!r} is declared non-positive.")
        return value
    v = concrete(name, value)
    if v is None:
        if not is_traced(value):
            arr = np.asarray(value, dtype=float)
            if not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
                raise AssumptionError(f"`{name}` must be {what} and finite, got {value!r}.")
        return value
    if not (math.isfinite(v) and v > 0):
        raise AssumptionError(f"`{name}` must be {what} and finite, got {value!r}.")
    return value


def population(name: str, value):
    if isinstance(value, sp.Basic) and not value.is_number:
        if value.is_integer is not True or value.is_positive is not True:
            raise AssumptionError(
                f"`{name}` must be an integer >= 1; declare a symbolic size with "
                f"`sympy.Symbol({str(value)!r}, integer=True, positive=True)`, got {value!r}."
            )
        return value
    v = concrete(name, value)
    if v is None:
        return value
    if not (math.isfinite(v) and v >= 1 and v == int(v)):
        raise AssumptionError(f"`{name}` must be an integer >= 1 (a population size), got {value!r}.")
    return value


def probability(name: str, value):
    v = concrete(name, value)
    if v is not None and not (0 <= v <= 1):
        raise AssumptionError(f"`{name}` is a probability and must lie in [0, 1], got {value!r}.")
    return value


def sym(value):
    """A parameter as SymPy (numbers become exact where they are integers)."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    return sp.Float(float(value)) if isinstance(value, numbers.Real) else sp.sympify(value, strict=True)


def numeric_param(name: str, value):
    """A parameter for the JAX side: SymPy numbers become floats, SymPy symbols are refused."""
    if isinstance(value, sp.Basic):
        if not value.is_number:
            raise AssumptionError(
                f"`{name}` is the symbol {value!r}; `.jax` needs a number (or a JAX value), "
                "so build the selection function with a numeric value for the simulation."
            )
        return float(value)
    return value


