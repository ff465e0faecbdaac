"""Where random instances come from: the one sampler, shared by checks and `verify`.

Each symbol a derivation evaluates is drawn from a declared `Domain`; `verify`
turns its assumptions into domains with `Domain.interval`. The same seed and
labels give the same instances (`draw`)."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping, Sequence

import numpy as np

from .._errors import AssumptionError, UnknownNameError

__all__ = ["Domain", "uniform", "log_uniform", "integers", "choice", "fixed", "free_values", "seed_for", "draw"]

# Unbounded sides of an interval: a one-sided bound a is sampled as a + log-uniform
# (0.05, 5) (scales from just above the bound to well away from it); no bound as
# uniform(-3, 3).
_SPREAD = (0.05, 5.0)
_REAL = (-3.0, 3.0)

EDGE_OFFSETS = (1e-12, 1e-9, 1e-6, 1e-3)
"""Distances from a finite bound (relative to max(1, |bound|), and to |bound| too) at which
`Domain.edge_points` puts points: thin slices next to a bound are where nearly-right claims fail."""
EDGE_MAGNITUDES = (1e2, 1e4, 1e6)
"""Distances from the origin (or from the finite bound) on an unbounded side."""


@dataclasses.dataclass(frozen=True, slots=True)
class Domain:
    """A distribution to draw instance values from.

    kind: "uniform" (lo, hi), "log-uniform" (lo, hi > 0), "integers" (lo..hi
    inclusive), "choice" (values), "fixed" (values[0]), "above" (lo + a
    log-uniform spread), "below" (hi minus one), "real" (uniform(-3, 3)). Build
    with the constructors, or `Domain.interval` from bounds."""

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
        elif self.kind == "above" or self.kind == "below":
            bound = self.lo if self.kind == "above" else self.hi
            if not math.isfinite(bound):
                raise AssumptionError(f"a one-sided domain needs a finite bound, got {bound!r}.")
        elif self.kind == "real":
            pass
        elif self.kind in ("choice", "fixed"):
            if not self.values or not all(math.isfinite(v) for v in self.values):
                raise AssumptionError(f"a {self.kind} domain needs finite values, got {self.values!r}.")
        else:
            raise AssumptionError(f"unknown domain kind {self.kind!r}.")

    @staticmethod
    def interval(lo=-math.inf, hi=math.inf, *, lo_strict=False, hi_strict=False, integer=False) -> Domain:
        """The domain for bounds ``lo (<|<=) x (<|<=) hi`` (either may be infinite),
        integers only if ``integer``; `AssumptionError` when no value is left."""
        if lo > hi or (lo == hi and (lo_strict or hi_strict)):
            raise AssumptionError(f"the bounds ({lo!r}, {hi!r}) leave no value.")
        if integer:
            first = last = None
            if lo > -math.inf:
                first = math.ceil(lo) + (1 if lo_strict and math.ceil(lo) == lo else 0)
            if hi < math.inf:
                last = math.floor(hi) - (1 if hi_strict and math.floor(hi) == hi else 0)
            first = (-5 if last is None else last - 10) if first is None else first
            last = first + 10 if last is None else last
            if first > last:
                raise AssumptionError(f"the bounds ({lo!r}, {hi!r}) leave no integer.")
            return integers(first, last)
        if lo == hi:
            return fixed(lo)
        if lo > -math.inf and hi < math.inf:
            return uniform(lo, hi)
        if lo > -math.inf:
            return Domain("above", lo=float(lo), hi=math.inf)
        if hi < math.inf:
            return Domain("below", lo=-math.inf, hi=float(hi))
        return Domain("real", lo=-math.inf, hi=math.inf)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind in ("above", "below"):
            spread = np.exp(rng.uniform(math.log(_SPREAD[0]), math.log(_SPREAD[1]), n))
            return self.lo + spread if self.kind == "above" else self.hi - spread
        if self.kind == "real":
            return rng.uniform(*_REAL, n)
        if self.kind == "uniform":
            return rng.uniform(self.lo, self.hi, n)
        if self.kind == "log-uniform":
            return np.exp(rng.uniform(math.log(self.lo), math.log(self.hi), n))
        if self.kind == "integers":
            return rng.integers(int(self.lo), int(self.hi) + 1, n).astype(np.float64)
        if self.kind == "choice":
            return rng.choice(np.asarray(self.values, dtype=np.float64), n)
        return np.full(n, self.values[0], dtype=np.float64)

    def edge_points(self, *, closed_lo: bool = False, closed_hi: bool = False) -> np.ndarray:
        """Where claims break: points of the domain near each finite bound (within
        `EDGE_OFFSETS`, 1e-12 … 1e-3, scaled by the bound's size), both signs near 0,
        and large magnitudes on each unbounded side. ``closed_lo``/``closed_hi``
        include the bound itself (``x >= 0``: the point 0). Deterministic (no
        random draws), sorted, each point once; `sample` is unchanged."""
        if self.kind in ("choice", "fixed"):
            return np.unique(np.asarray(self.values, dtype=np.float64))
        if self.kind == "integers":
            first, last = int(self.lo), int(self.hi)
            wanted = {first, first + 1, last - 1, last, -1, 0, 1}
            return np.asarray(sorted(v for v in wanted if first <= v <= last), dtype=np.float64)
        lo = self.lo if self.kind in ("uniform", "log-uniform", "above") else -math.inf
        hi = self.hi if self.kind in ("uniform", "log-uniform", "below") else math.inf
        points: list[float] = []
        for bound, inward, other in ((lo, 1.0, hi), (hi, -1.0, lo)):
            if not math.isfinite(bound):
                continue
            scale = max(1.0, abs(bound))
            # at least a few ulps away, so that the point never rounds back onto the bound; near a small
            # bound also relative to it (x > -1e-12 has its negative slice within 1e-12 of the bound)
            steps = {max(offset * size, 4 * math.ulp(bound)) for offset in EDGE_OFFSETS for size in {scale, abs(bound)} if size}
            points += [bound + inward * step for step in sorted(steps)] + ([bound / 2] if bound else [])
            if not math.isfinite(other):  # one-sided: far from the bound too
                points += [bound + inward * m * scale for m in EDGE_MAGNITUDES]
        if not (math.isfinite(lo) or math.isfinite(hi)):
            points += [sign * m for m in EDGE_MAGNITUDES for sign in (-1.0, 1.0)]
        points += [sign * offset for offset in EDGE_OFFSETS for sign in (-1.0, 1.0)]
        inside = [v for v in points if lo < v < hi and math.isfinite(v)]
        inside += [b for b, closed in ((lo, closed_lo), (hi, closed_hi)) if closed and math.isfinite(b)]
        if self.kind == "log-uniform":
            inside = [v for v in inside if v > 0]
        return np.unique(np.asarray(inside, dtype=np.float64))

    def latex(self) -> str:
        if self.kind == "above":
            return rf"({self.lo:g}, \infty)"
        if self.kind == "below":
            return rf"(-\infty, {self.hi:g})"
        if self.kind == "real":
            return r"\mathbb R"
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

    if isinstance(expr, (str, bytes)):  # lambdify would paste it into the code it runs
        raise UnknownNameError(f"a closed form must be a SymPy expression, not the string {expr!r:.60}; "
                               "read text with `ps.parse`.")
    stand_ins = {s: sp.Dummy() for s in declared if isinstance(s, sp.Indexed)}
    if stand_ins and hasattr(expr, "xreplace"):
        expr = expr.xreplace(stand_ins)
    return set(getattr(expr, "free_symbols", set())) - set(stand_ins.values())


def seed_for(seed: int, *labels: str) -> np.random.SeedSequence:
    """A seed sequence from a seed and labels (derivation name, check label)."""
    digest = hashlib.sha256("\0".join(labels).encode()).digest()
    return np.random.SeedSequence([seed, int.from_bytes(digest[:8], "little")])


def draw(domains: Mapping, n: int, seed: int, *labels: str) -> dict:
    """Instance columns drawn from ``domains`` (reproducible for a seed and labels)."""
    rng = np.random.default_rng(seed_for(seed, *labels))
    return {s: d.sample(rng, n) for s, d in sorted(domains.items(), key=lambda kv: str(kv[0]))}
