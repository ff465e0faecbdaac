"""Where `verify` draws each symbol: the bounds that the assumptions and the
symbols' own SymPy facts give, merged, and turned into a `Domain` of the one
sampler that checks use too."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import sympy as sp

from .._check.domains import Domain
from .._errors import AssumptionError

__all__ = ["Bounds", "fact_bounds"]


@dataclasses.dataclass
class Bounds:
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

    def domain(self, name: str) -> Domain:
        """The domain to draw this symbol from (`Domain.interval`)."""
        try:
            return Domain.interval(self.lo, self.hi, lo_strict=self.lo_strict, hi_strict=self.hi_strict,
                                   integer=self.integer)
        except AssumptionError:
            raise self.empty(name) from None

    def validate(self, name: str) -> None:
        self.domain(name)

    def sample(self, rng: np.random.Generator, n: int, name: str) -> np.ndarray:
        return self.domain(name).sample(rng, n)

    def edges(self, name: str) -> np.ndarray:
        """Where claims break (`Domain.edge_points`): near each bound, the bound itself
        when it is included (``x >= 0``), both signs near 0, large magnitudes."""
        points = self.domain(name).edge_points(closed_lo=not self.lo_strict, closed_hi=not self.hi_strict)
        return points[self.holds(points)]

    def holds(self, values: np.ndarray) -> np.ndarray:
        ok = np.ones(values.shape, dtype=bool)
        if self.lo > -math.inf:
            ok &= values > self.lo if self.lo_strict else values >= self.lo
        if self.hi < math.inf:
            ok &= values < self.hi if self.hi_strict else values <= self.hi
        if self.integer:
            ok &= values == np.round(values)
        return ok


def fact_bounds(symbol: sp.Symbol, bounds: Bounds):
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
