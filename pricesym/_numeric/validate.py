"""Validation of concrete numeric inputs to simulators and exact solves.

Under `jax.jit`/`jax.vmap` (traced values, as inside a check's reference) values
cannot be inspected; validation is then the caller's job."""

from __future__ import annotations

import math

import numpy as np

from .._errors import AssumptionError

__all__ = ["scalar", "real", "integer", "population", "mutants", "fitness", "frequency", "wf_selection",
           "copies", "count"]


def scalar(name: str, value, what: str) -> float:
    """``value`` as a float, for a real scalar (Python, NumPy or 0-d JAX); else a clear error."""
    if isinstance(value, (bool, str, bytes)) or np.ndim(value) != 0:
        raise AssumptionError(f"`{name}` must be {what}, got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AssumptionError(f"`{name}` must be {what}, got {value!r}.") from None


def real(name: str, value) -> float:
    x = scalar(name, value, "a real number")
    if not math.isfinite(x):
        raise AssumptionError(f"`{name}` must be finite, got {value!r}.")
    return x


def integer(name: str, value, *, minimum: int, what: str) -> int:
    x = scalar(name, value, what)
    if not math.isfinite(x) or x != int(x) or x < minimum:
        raise AssumptionError(f"`{name}` must be {what}, got {value!r}.")
    return int(x)


def count(name: str, value, minimum: int = 1, noun: str | None = None) -> int:
    """A whole number of trials, lanes, samples... at least ``minimum``."""
    return integer(name, value, minimum=minimum, what=f"an integer number of {noun or name} >= {minimum}")


def population(N) -> int:
    return integer("N", N, minimum=1, what="an integer population size >= 1")


def mutants(i, N: int) -> int:
    i = integer("i", i, minimum=0, what=f"an integer number of mutants in [0, N] = [0, {N}]")
    if i > N:
        raise AssumptionError(f"`i` must be an integer number of mutants in [0, N] = [0, {N}], got {i!r}.")
    return i


def fitness(r) -> float:
    r = real("r", r)
    if r <= 0:
        raise AssumptionError(f"`r` is a relative fitness and must be > 0, got {r!r}.")
    return r


def frequency(p) -> float:
    p = real("p", p)
    if not 0 <= p <= 1:
        raise AssumptionError(f"`p` is a probability (an allele frequency) and must lie in [0, 1], got {p!r}.")
    return p


def wf_selection(s) -> float:
    s = real("s", s)
    if s <= -1:
        raise AssumptionError(f"`s` must be > -1 so that the allele's fitness 1 + s is positive, got {s!r}.")
    return s


def copies(N: int, p: float) -> int:
    """The whole number of gene copies ``2N p``."""
    k = round(2 * N * p)
    if abs(2 * N * p - k) > 1e-9 * max(1, 2 * N):
        raise AssumptionError(
            f"`p` must be a whole number of gene copies out of 2N = {2 * N} (p = k/{2 * N}), got {p!r}."
        )
    return k
