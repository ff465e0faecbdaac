"""Where random instances come from. Each symbol a derivation evaluates is drawn
from a declared domain; the same seed gives the same instances."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from ._errors import AssumptionError

__all__ = ["Domain", "uniform", "log_uniform", "integers", "choice", "fixed", "free_values"]


@dataclasses.dataclass(frozen=True, slots=True)
class Domain:
    """A distribution to draw instance values from.

    kind: "uniform" (lo, hi), "log-uniform" (lo, hi > 0), "integers" (lo..hi
    inclusive), "choice" (values), "fixed" (values[0])."""

    kind: str
    lo: float = 0.0
    hi: float = 0.0
    values: tuple[float, ...] = ()

    def __post_init__(self):
        if self.kind in ("uniform", "log-uniform", "integers"):
            if not (math.isfinite(self.lo) and math.isfinite(self.hi)) or self.lo > self.hi:
                raise AssumptionError(f"domain bounds must be finite with lo <= hi, got ({self.lo!r}, {self.hi!r}).")
            if self.kind == "log-uniform" and self.lo <= 0:
                raise AssumptionError(f"a log-uniform domain needs lo > 0, got {self.lo!r}.")
        elif self.kind in ("choice", "fixed"):
            if not self.values or not all(math.isfinite(v) for v in self.values):
                raise AssumptionError(f"a {self.kind} domain needs finite values, got {self.values!r}.")
        else:
            raise AssumptionError(f"unknown domain kind {self.kind!r}.")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "uniform":
            return rng.uniform(self.lo, self.hi, n)
        if self.kind == "log-uniform":
            return np.exp(rng.uniform(math.log(self.lo), math.log(self.hi), n))
        if self.kind == "integers":
            return rng.integers(int(self.lo), int(self.hi) + 1, n).astype(np.float64)
        if self.kind == "choice":
            return rng.choice(np.asarray(self.values, dtype=np.float64), n)
        return np.full(n, self.values[0], dtype=np.float64)

    def latex(self) -> str:
        if self.kind == "uniform":
            return rf"\mathcal U({self.lo:g}, {self.hi:g})"
        if self.kind == "log-uniform":
            return rf"\log\mathcal U({self.lo:g}, {self.hi:g})"
        if self.kind == "integers":
            return rf"\{{{int(self.lo)}, \dots, {int(self.hi)}\}}"
        if self.kind == "choice":
            return r"\{" + ", ".join(f"{v:g}" for v in self.values) + r"\}"
        return f"{self.values[0]:g}"


def uniform(lo: float, hi: float) -> Domain:
    return Domain("uniform", float(lo), float(hi))


def log_uniform(lo: float, hi: float) -> Domain:
    return Domain("log-uniform", float(lo), float(hi))


def integers(lo: int, hi: int) -> Domain:
    return Domain("integers", float(lo), float(hi))


def choice(values: Sequence[float]) -> Domain:
    return Domain("choice", values=tuple(float(v) for v in values))


def fixed(value: float) -> Domain:
    return Domain("fixed", values=(float(value),))


def free_values(expr, declared) -> set:
    """The free symbols of ``expr`` that need a value of their own.

    A declared `Indexed` element (``u[0]``, or ``u[j]`` for the generic unit of a
    sum over units) is one value: its base ``u`` and index ``j`` are not separate
    unknowns. With no declared `Indexed` this is ``expr.free_symbols``."""
    import sympy as sp

    stand_ins = {s: sp.Dummy() for s in declared if isinstance(s, sp.Indexed)}
    if stand_ins and hasattr(expr, "xreplace"):
        expr = expr.xreplace(stand_ins)
    return set(getattr(expr, "free_symbols", set())) - set(stand_ins.values())
