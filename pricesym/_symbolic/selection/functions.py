r"""Selection functions :math:`P_s(\Delta)`: the probability that a mutant whose
fitness exceeds the parent's by :math:`\Delta` replaces it (Sourbut 2022, B0).

Each is a frozen dataclass with two interpreters, like a model: ``.sympy(delta)``
for derivations and ``.jax(delta)`` (``.numpy``) for simulation; values and
derivatives at 0 and symmetry follow from the SymPy form. `Linear` (weak
selection), `Hard`, `Probit`, `Logistic`, `MoranFixation`, `KimuraFixation`,
`Custom`. Adding one: a subclass here, and its integrals in `integrals.py`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from ..._cache import kept
from ..._errors import AssumptionError, NotSupportedError
from ..._vocabulary import modules, sigmoid
from .params import concrete, numeric_param, population, positive, probability, sym

__all__ = ["DELTA", "SelectionFunction", "Linear", "Hard", "Probit", "Logistic", "FixationProbability",
           "MoranFixation", "KimuraFixation", "Custom"]

DELTA = sp.Symbol("Delta", real=True)


@dataclasses.dataclass(frozen=True)
class SelectionFunction:
    r"""Probability :math:`P_s(\Delta)` that a mutant whose fitness exceeds the
    parent's by :math:`\Delta` replaces it. Non-decreasing, values in [0, 1].

    Subclasses implement ``sympy(delta)`` and ``jax(delta)``; everything else
    (values and derivatives at 0, symmetry) follows from the SymPy form."""

    symmetric = False  #: :math:`P_s(\Delta) + P_s(-\Delta) = 1`

    def sympy(self, delta=DELTA) -> sp.Expr:
        raise NotImplementedError

    def jax(self, delta):
        raise NotImplementedError

    def __call__(self, delta):
        return self.jax(delta)

    def numpy(self, delta):
        """NumPy value (for SciPy quadrature); defaults to the JAX form."""
        return np.asarray(self.jax(delta), dtype=float)

    def series(self, delta=DELTA, order: int = 4) -> sp.Expr:
        """Taylor polynomial of :math:`P_s` at 0 up to ``delta**(order-1)``."""
        return _cached_series(self, order).xreplace({DELTA: delta})

    def _series(self, order: int) -> sp.Expr:
        return sp.series(self.sympy(DELTA), DELTA, 0, order).removeO()

    def at_zero(self) -> sp.Expr:
        r""":math:`P_s(0)` (the neutral fixation probability, 1/2 for a symmetric contest)."""
        return self.derivative_at_zero(0)

    def derivative_at_zero(self, k: int = 1) -> sp.Expr:
        r""":math:`P_s^{(k)}(0)`, read off the series."""
        poly = self.series(DELTA, k + 1)
        return sp.factor(sp.factorial(k) * poly.coeff(DELTA, k)) if k else sp.factor(poly.subs(DELTA, 0))

    def latex(self) -> str:
        return sp.latex(self.sympy(DELTA))


def _cached_series(sel: SelectionFunction, order: int) -> sp.Expr:
    # Series of fixation probabilities with a symbolic N take seconds; derivations ask
    # for P_s(0), P_s'(0), ... many times, so the polynomial is kept per (function, order).
    try:
        key = (sel, order)
        hash(key)
    except TypeError:  # a JAX value as parameter: nothing to cache
        return sel._series(order)
    if key not in _SERIES:
        _SERIES[key] = _series_kept(sel, order)
    return _SERIES[key]


@kept
def _series_kept(sel: SelectionFunction, order: int) -> sp.Expr:
    return sel._series(order)


_SERIES: dict = {}


@dataclasses.dataclass(frozen=True)
class Linear(SelectionFunction):
    r"""Weak selection: :math:`P_s(\Delta) = b + k\Delta` (the linearisation of any
    smooth :math:`P_s`; ``base`` = :math:`b`, ``slope`` = :math:`k`).

    The SymPy form is the straight line; the JAX form clips it to [0, 1], so the
    two agree wherever :math:`b + k\Delta \in [0, 1]`."""

    slope: Any = sp.Rational(1, 4)
    base: Any = sp.Rational(1, 2)

    def __post_init__(self):
        probability("base", self.base)
        v = concrete("slope", self.slope)
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise AssumptionError(f"`slope` must be >= 0 (P_s must be non-decreasing), got {self.slope!r}.")
        if isinstance(self.slope, sp.Basic) and self.slope.is_negative:
            raise AssumptionError(f"`slope` must be >= 0 (P_s must be non-decreasing), got {self.slope!r}.")

    @property
    def symmetric(self):  # noqa: D401 - b = 1/2 makes the line symmetric about (0, 1/2)
        b = concrete("base", self.base)
        return b == 0.5

    def sympy(self, delta=DELTA):
        return sym(self.base) + sym(self.slope) * delta

    def jax(self, delta):
        import jax.numpy as jnp

        return jnp.clip(numeric_param("base", self.base) + numeric_param("slope", self.slope) * delta, 0.0, 1.0)

    def numpy(self, delta):
        return np.clip(float(numeric_param("base", self.base)) + float(numeric_param("slope", self.slope)) * delta, 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Hard(SelectionFunction):
    r"""Hard (truncation) selection :math:`P_s(\Delta) = \mathbf 1\{\Delta > 0\}`
    (ties: 1/2). No slope at 0, so it has no weak-selection regime."""

    symmetric = True
    smooth = False  # a jump at 0: quadratures of P_s refuse it

    def sympy(self, delta=DELTA):
        return sp.Heaviside(delta, sp.S.Half)

    def jax(self, delta):
        import jax.numpy as jnp

        return jnp.where(delta > 0, 1.0, jnp.where(delta < 0, 0.0, 0.5))

    def numpy(self, delta):
        return np.where(delta > 0, 1.0, np.where(delta < 0, 0.0, 0.5))

    def derivative_at_zero(self, k: int = 1):
        if k == 0:
            return sp.S.Half
        raise NotSupportedError(
            "hard selection `Hard()` is a step: P_s has no derivatives at 0, so there is no "
            "weak-selection (linear) regime; use `Probit(tau)` with small `tau` for a smooth version."
        )


@dataclasses.dataclass(frozen=True)
class Probit(SelectionFunction):
    r"""Probit selection :math:`P_s(\Delta) = \Phi(\Delta/\tau)`: the mutant wins when
    :math:`\Delta` plus Gaussian noise of scale :math:`\tau` is positive."""

    tau: Any = sp.Symbol("tau", positive=True)
    symmetric = True

    def __post_init__(self):
        positive("tau", self.tau)

    def sympy(self, delta=DELTA):
        return (1 + sp.erf(delta / (sp.sqrt(2) * sym(self.tau)))) / 2

    def jax(self, delta):
        import jax.scipy.special as jss

        return jss.ndtr(delta / numeric_param("tau", self.tau))

    def numpy(self, delta):
        from scipy.special import ndtr

        return ndtr(delta / float(numeric_param("tau", self.tau)))


@dataclasses.dataclass(frozen=True)
class Logistic(SelectionFunction):
    r"""Logistic (Barker) selection :math:`P_s(\Delta) = \sigma(\beta\Delta) = 1/(1+e^{-\beta\Delta})`."""

    beta: Any = sp.Symbol("beta", positive=True)
    symmetric = True

    def __post_init__(self):
        positive("beta", self.beta)

    def sympy(self, delta=DELTA):
        return sigmoid(sym(self.beta) * delta)

    def _series(self, order: int):
        # sigmoid is a pricesym function: expand through its exponential form.
        return sp.series(self.sympy(DELTA).rewrite(sp.exp), DELTA, 0, order).removeO()

    def jax(self, delta):
        import jax

        return jax.nn.sigmoid(numeric_param("beta", self.beta) * delta)

    def numpy(self, delta):
        from scipy.special import expit

        return expit(float(numeric_param("beta", self.beta)) * delta)


def _fixation_jax(s, n, diffusion: bool):
    r"""Stable :math:`(1-e^{-s})/(1-e^{-ns})` (or :math:`s/(1-e^{-ns})` with
    ``diffusion``) for any real s: the s < 0 branch is multiplied through by
    :math:`e^{ns}` so nothing overflows, and |s| < 1e-8 uses the series
    :math:`1/n + (n-1)s/(2n)` (its error, O(s²), is below round-off there)."""
    import jax.numpy as jnp

    small = jnp.abs(s) < 1e-8
    s_safe = jnp.where(small, 1.0, s)
    pos = s_safe > 0
    sp_ = jnp.where(pos, s_safe, 1.0)
    sn = jnp.where(pos, -1.0, s_safe)
    if diffusion:
        up = sp_ / -jnp.expm1(-n * sp_)
        down = jnp.exp(n * sn) * sn / jnp.expm1(n * sn)
    else:
        up = jnp.expm1(-sp_) / jnp.expm1(-n * sp_)
        down = jnp.exp((n - 1) * sn) * jnp.expm1(sn) / jnp.expm1(n * sn)
    series = 1.0 / n + (n - 1) / (2 * n) * s
    return jnp.where(small, series, jnp.where(pos, up, down))


@dataclasses.dataclass(frozen=True)
class FixationProbability(SelectionFunction):
    r"""The fixation probability of one new mutant as a selection function: with
    :math:`t = \text{scale}\,\Delta` and :math:`M = \text{copies}\,N`,

    .. math:: \pi = \frac{1-e^{-t}}{1-e^{-Mt}}, \qquad \text{diffusion form: } \frac{t}{1-e^{-Mt}},

    whose odd part is exactly :math:`\pi(t)-\pi(-t) = t`. `MoranFixation` and
    `KimuraFixation` are its two cases."""

    N: Any = sp.Symbol("N", integer=True, positive=True)
    diffusion: bool = False
    scale: ClassVar[int] = 1
    copies: ClassVar[int] = 1

    def __post_init__(self):
        population("N", self.N)

    def sympy(self, delta=DELTA):
        t = self.scale * delta
        top = t if self.diffusion else 1 - sp.exp(-t)
        return top / (1 - sp.exp(-self.copies * sym(self.N) * t))

    def jax(self, delta):
        return _fixation_jax(self.scale * delta, self.copies * numeric_param("N", self.N), self.diffusion)


@dataclasses.dataclass(frozen=True)
class MoranFixation(FixationProbability):
    r"""Fixation probability of one mutant in a Moran population of size N, as a
    function of :math:`\Delta = s = \ln r` (log relative fitness):

    .. math:: \pi(s) = \frac{1-e^{-s}}{1-e^{-Ns}}, \qquad
              \text{diffusion form: } \pi(s) = \frac{s}{1-e^{-Ns}} .

    :math:`\pi(0) = 1/N`; the diffusion form has the exact odd part
    :math:`\pi(s)-\pi(-s) = s` (MATH.md B8). It is a small-s approximation: it
    exceeds 1 once s is of order 1, so use it only for |s| ≪ 1."""


@dataclasses.dataclass(frozen=True)
class KimuraFixation(FixationProbability):
    r"""Kimura's diffusion fixation probability of a new mutant (p = 1/(2N)) with
    allele advantage :math:`\Delta = s`, diploid, :math:`N_e = N`:

    .. math:: u(s) = \frac{1-e^{-2s}}{1-e^{-4Ns}}, \qquad
              \text{small-}s\text{ form: } u(s) = \frac{2s}{1-e^{-4Ns}} .

    :math:`u(0) = 1/(2N)`; the small-s form has the exact odd part :math:`u(s)-u(-s) = 2s`
    (and, like Moran's diffusion form, is a probability only for |s| ≪ 1). It is the
    Moran form of 2N copies at 2s."""

    scale: ClassVar[int] = 2
    copies: ClassVar[int] = 2


@dataclasses.dataclass(frozen=True)
class Custom(SelectionFunction):
    r"""A user-supplied :math:`P_s`: a SymPy expression ``p_s`` in the symbol ``delta``.

    Checked on a grid of :math:`\Delta \in [-\text{scale}, \text{scale}]`: values in
    [0, 1] and non-decreasing (B0); symmetry is detected on the same grid."""

    p_s: sp.Expr = None
    delta: sp.Symbol = DELTA
    scale: float = 50.0

    def __post_init__(self):
        if not isinstance(self.p_s, sp.Basic):
            raise AssumptionError(f"`p_s` must be a SymPy expression in `delta`, got {self.p_s!r}.")
        extra = self.p_s.free_symbols - {self.delta}
        if extra:
            raise AssumptionError(
                f"`p_s` may depend only on `delta` ({self.delta}); it also uses {sorted(map(str, extra))!r}: "
                "substitute numbers first."
            )
        grid = np.concatenate([-np.geomspace(self.scale, 1e-6, 200), [0.0], np.geomspace(1e-6, self.scale, 200)])
        values = np.asarray(sp.lambdify(self.delta, self.p_s, "numpy")(grid), dtype=float) * np.ones_like(grid)
        if not np.all(np.isfinite(values)) or values.min() < -1e-12 or values.max() > 1 + 1e-12:
            bad = grid[np.argmax(~np.isfinite(values) | (values < -1e-12) | (values > 1 + 1e-12))]
            raise AssumptionError(
                f"`p_s` = {self.p_s!r} must be a probability in [0, 1]; at delta = {bad!r} it is "
                f"{float(sp.N(self.p_s.subs(self.delta, bad)))!r}."
            )
        drops = np.diff(values) < -1e-12
        if drops.any():
            i = int(np.argmax(drops))
            raise AssumptionError(
                f"`p_s` = {self.p_s!r} must be non-decreasing (a fitter mutant is never less likely to win, B0), "
                f"but it falls from {values[i]!r} at delta = {grid[i]!r} to {values[i + 1]!r} at {grid[i + 1]!r}."
            )
        sym = np.allclose(values + values[::-1], 1.0, atol=1e-12)
        object.__setattr__(self, "_symmetric", bool(sym))

    @property
    def symmetric(self):
        return self._symmetric

    def sympy(self, delta=DELTA):
        return self.p_s.xreplace({self.delta: delta})

    def jax(self, delta):
        return sp.lambdify(self.delta, self.p_s, modules=[modules("jax"), "jax"])(delta)
