r"""Natural selection as a gradient method: selection functions, mutation laws,
their integrals, and the annealing simulator.

One round of the annealing model (Sourbut 2022) draws a mutation
:math:`\epsilon \sim P_m` and lets the mutant :math:`x+\epsilon` replace the
parent with probability :math:`P_s(\Delta f)`, :math:`\Delta f = f(x+\epsilon)-f(x)`;
otherwise the clone wins and a new round starts. The accepted step has density

.. math:: P(\epsilon \mid x) = \alpha_s\, P_m(\epsilon)\, P_s(\Delta f), \qquad
          \alpha_s = 1/Z, \quad Z = \mathbb E_m[P_s(\Delta f)] .

Pieces, each a frozen dataclass:

* selection functions :class:`SelectionFunction`: `Linear` (weak selection),
  `Hard`, `Probit`, `Logistic`, `MoranFixation`, `KimuraFixation`, `Custom`; each
  has ``.sympy(delta)``, ``.jax(delta)``, ``.at_zero()``, ``.derivative_at_zero(k)``
  (by series) and ``.symmetric``;
* mutation laws: `Gaussian` (isotropic), `AnisotropicGaussian` (:math:`\Sigma_m`),
  `Radial` (any radially symmetric density :math:`g(\lvert\epsilon\rvert)`).

Integrals for a linear fitness :math:`f(x+\epsilon)-f(x) = \epsilon\cdot c`
dispatch on the selection function (`functools.singledispatch`): `acceptance`
(:math:`Z`), `mean_displacement` (:math:`\mathbb E_m[\epsilon P_s]`) and
`expected_step` (their ratio). A case with no closed form raises
`NotSupportedError` naming the registry to extend.

The simulator `anneal` proposes, accepts with :math:`P_s` of the *real* fitness
difference, and carries a linearised twin (same proposals, same uniforms,
:math:`P_s(\epsilon\cdot\nabla f)`) for control variates; `gaussian_linear_moments`
gives the twin's exact moments by Gauss–Hermite quadrature of its defining
integral, never from a derived formula.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import sympy as sp

from ._errors import AssumptionError, NotSupportedError, ShapeError
from ._functions import sigmoid

__all__ = [
    "SelectionFunction", "Linear", "Hard", "Probit", "Logistic", "MoranFixation", "KimuraFixation", "Custom",
    "MutationLaw", "Gaussian", "AnisotropicGaussian", "Radial",
    "acceptance", "mean_displacement", "expected_step", "weak_limit", "learning_rate",
    "acceptance_small_mutation", "curvature_step", "skew_normal_moments",
    "Annealing", "anneal", "accepted_mean", "acceptance_rate", "rounds_per_step", "accepted_mean_cv",
    "gaussian_linear_moments", "learning_rate_quadrature",
]

DELTA = sp.Symbol("Delta", real=True)


# ----------------------------------------------------------------------------- validation


def _is_traced(value) -> bool:
    """A JAX tracer (inside jit/vmap): its value cannot be inspected, so it is not validated."""
    try:
        import jax

        return isinstance(value, jax.core.Tracer)
    except ImportError:  # pragma: no cover
        return False


def _concrete(name: str, value):
    """A float if ``value`` is a concrete number, None if symbolic or traced."""
    if isinstance(value, bool):
        raise AssumptionError(f"`{name}` must be a number, got {value!r}.")
    if _is_traced(value):
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


def _positive(name: str, value, what: str = "> 0"):
    if isinstance(value, sp.Basic) and not value.is_number:
        if value.is_positive is False:
            raise AssumptionError(f"`{name}` must be {what}, but {value!r} is declared non-positive.")
        return value
    v = _concrete(name, value)
    if v is None:
        if not _is_traced(value):
            arr = np.asarray(value, dtype=float)
            if not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
                raise AssumptionError(f"`{name}` must be {what} and finite, got {value!r}.")
        return value
    if not (math.isfinite(v) and v > 0):
        raise AssumptionError(f"`{name}` must be {what} and finite, got {value!r}.")
    return value


def _population(name: str, value):
    if isinstance(value, sp.Basic) and not value.is_number:
        if value.is_integer is not True or value.is_positive is not True:
            raise AssumptionError(
                f"`{name}` must be an integer >= 1; declare a symbolic size with "
                f"`sympy.Symbol({str(value)!r}, integer=True, positive=True)`, got {value!r}."
            )
        return value
    v = _concrete(name, value)
    if v is None:
        return value
    if not (math.isfinite(v) and v >= 1 and v == int(v)):
        raise AssumptionError(f"`{name}` must be an integer >= 1 (a population size), got {value!r}.")
    return value


def _probability(name: str, value):
    v = _concrete(name, value)
    if v is not None and not (0 <= v <= 1):
        raise AssumptionError(f"`{name}` is a probability and must lie in [0, 1], got {value!r}.")
    return value


def _sym(value):
    """A parameter as SymPy (numbers become exact where they are integers)."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    return sp.Float(float(value)) if isinstance(value, numbers.Real) else sp.sympify(value)


def _numeric_param(name: str, value):
    """A parameter for the JAX side: SymPy numbers become floats, SymPy symbols are refused."""
    if isinstance(value, sp.Basic):
        if not value.is_number:
            raise AssumptionError(
                f"`{name}` is the symbol {value!r}; `.jax` needs a number (or a JAX value), "
                "so build the selection function with a numeric value for the simulation."
            )
        return float(value)
    return value


# ----------------------------------------------------------------------------- selection functions


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
        from ._latex import latex

        return latex(self.sympy(DELTA))


def _cached_series(sel: SelectionFunction, order: int) -> sp.Expr:
    # Series of fixation probabilities with a symbolic N take seconds; derivations ask
    # for P_s(0), P_s'(0), ... many times, so the polynomial is kept per (function, order).
    try:
        key = (sel, order)
        hash(key)
    except TypeError:  # a JAX value as parameter: nothing to cache
        return sel._series(order)
    if key not in _SERIES:
        _SERIES[key] = sel._series(order)
    return _SERIES[key]


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
        _probability("base", self.base)
        v = _concrete("slope", self.slope)
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise AssumptionError(f"`slope` must be >= 0 (P_s must be non-decreasing), got {self.slope!r}.")
        if isinstance(self.slope, sp.Basic) and self.slope.is_negative:
            raise AssumptionError(f"`slope` must be >= 0 (P_s must be non-decreasing), got {self.slope!r}.")

    @property
    def symmetric(self):  # noqa: D401 - b = 1/2 makes the line symmetric about (0, 1/2)
        b = _concrete("base", self.base)
        return b == 0.5

    def sympy(self, delta=DELTA):
        return _sym(self.base) + _sym(self.slope) * delta

    def jax(self, delta):
        import jax.numpy as jnp

        return jnp.clip(_numeric_param("base", self.base) + _numeric_param("slope", self.slope) * delta, 0.0, 1.0)

    def numpy(self, delta):
        return np.clip(float(_numeric_param("base", self.base)) + float(_numeric_param("slope", self.slope)) * delta, 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Hard(SelectionFunction):
    r"""Hard (truncation) selection :math:`P_s(\Delta) = \mathbf 1\{\Delta > 0\}`
    (ties: 1/2). No slope at 0, so it has no weak-selection regime."""

    symmetric = True

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
        _positive("tau", self.tau)

    def sympy(self, delta=DELTA):
        return (1 + sp.erf(delta / (sp.sqrt(2) * _sym(self.tau)))) / 2

    def jax(self, delta):
        import jax.scipy.special as jss

        return jss.ndtr(delta / _numeric_param("tau", self.tau))

    def numpy(self, delta):
        from scipy.special import ndtr

        return ndtr(delta / float(_numeric_param("tau", self.tau)))


@dataclasses.dataclass(frozen=True)
class Logistic(SelectionFunction):
    r"""Logistic (Barker) selection :math:`P_s(\Delta) = \sigma(\beta\Delta) = 1/(1+e^{-\beta\Delta})`."""

    beta: Any = sp.Symbol("beta", positive=True)
    symmetric = True

    def __post_init__(self):
        _positive("beta", self.beta)

    def sympy(self, delta=DELTA):
        return sigmoid(_sym(self.beta) * delta)

    def _series(self, order: int):
        # sigmoid is a pricesym function: expand through its exponential form.
        return sp.series(self.sympy(DELTA).rewrite(sp.exp), DELTA, 0, order).removeO()

    def jax(self, delta):
        import jax

        return jax.nn.sigmoid(_numeric_param("beta", self.beta) * delta)

    def numpy(self, delta):
        from scipy.special import expit

        return expit(float(_numeric_param("beta", self.beta)) * delta)


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
class MoranFixation(SelectionFunction):
    r"""Fixation probability of one mutant in a Moran population of size N, as a
    function of :math:`\Delta = s = \ln r` (log relative fitness):

    .. math:: \pi(s) = \frac{1-e^{-s}}{1-e^{-Ns}}, \qquad
              \text{diffusion form: } \pi(s) = \frac{s}{1-e^{-Ns}} .

    :math:`\pi(0) = 1/N`; the diffusion form has the exact odd part
    :math:`\pi(s)-\pi(-s) = s` (MATH.md B8). It is a small-s approximation: it
    exceeds 1 once s is of order 1, so use it only for |s| ≪ 1."""

    N: Any = sp.Symbol("N", integer=True, positive=True)
    diffusion: bool = False

    def __post_init__(self):
        _population("N", self.N)

    def sympy(self, delta=DELTA):
        n = _sym(self.N)
        top = delta if self.diffusion else 1 - sp.exp(-delta)
        return top / (1 - sp.exp(-n * delta))

    def jax(self, delta):
        return _fixation_jax(delta, _numeric_param("N", self.N), self.diffusion)


@dataclasses.dataclass(frozen=True)
class KimuraFixation(SelectionFunction):
    r"""Kimura's diffusion fixation probability of a new mutant (p = 1/(2N)) with
    allele advantage :math:`\Delta = s`, diploid, :math:`N_e = N`:

    .. math:: u(s) = \frac{1-e^{-2s}}{1-e^{-4Ns}}, \qquad
              \text{small-}s\text{ form: } u(s) = \frac{2s}{1-e^{-4Ns}} .

    :math:`u(0) = 1/(2N)`; the small-s form has the exact odd part
    :math:`u(s)-u(-s) = 2s` (and, like Moran's diffusion form, is a probability only for |s| ≪ 1)."""

    N: Any = sp.Symbol("N", integer=True, positive=True)
    diffusion: bool = False

    def __post_init__(self):
        _population("N", self.N)

    def sympy(self, delta=DELTA):
        n = _sym(self.N)
        top = 2 * delta if self.diffusion else 1 - sp.exp(-2 * delta)
        return top / (1 - sp.exp(-4 * n * delta))

    def jax(self, delta):
        # u(s) is the Moran form of size 2N at 2s (diffusion: the same).
        return _fixation_jax(2 * delta, 2 * _numeric_param("N", self.N), self.diffusion)


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
        from ._numeric import JAX_FUNCTIONS

        return sp.lambdify(self.delta, self.p_s, modules=[JAX_FUNCTIONS, "jax"])(delta)


# ----------------------------------------------------------------------------- mutation laws


@dataclasses.dataclass(frozen=True)
class MutationLaw:
    """A law :math:`P_m` of the mutation :math:`\\epsilon` (mean zero, symmetric)."""

    def covariance(self, n: int) -> sp.Matrix:
        raise NotImplementedError

    def sample(self, key, shape: tuple[int, ...], n: int):
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Gaussian(MutationLaw):
    r"""Isotropic Gaussian mutation :math:`\epsilon \sim \mathcal N(0, \sigma^2 I_n)`."""

    sigma: Any = sp.Symbol("sigma", positive=True)

    def __post_init__(self):
        _positive("sigma", self.sigma)

    def covariance(self, n: int) -> sp.Matrix:
        return _sym(self.sigma) ** 2 * sp.eye(n)

    def sample(self, key, shape, n):
        import jax

        return _numeric_param("sigma", self.sigma) * jax.random.normal(key, (*shape, n))


@dataclasses.dataclass(frozen=True)
class AnisotropicGaussian(MutationLaw):
    r"""Correlated Gaussian mutation :math:`\epsilon \sim \mathcal N(0, \Sigma_m)`;
    ``Sigma`` symmetric positive semi-definite (SymPy Matrix, nested sequence, or a
    JAX/NumPy array inside a reference)."""

    Sigma: Any = None

    def __post_init__(self):
        S = self.Sigma
        if S is None:
            raise AssumptionError("`Sigma` (the mutation covariance) is required.")
        if _is_traced(S):
            return
        if isinstance(S, sp.MatrixBase) or isinstance(S, (list, tuple)):
            M = sp.Matrix(S)
            if M.rows != M.cols:
                raise ShapeError(f"`Sigma` must be square, got shape {M.shape}.")
            if (M - M.T).applyfunc(sp.expand) != sp.zeros(*M.shape):
                raise AssumptionError(f"`Sigma` must be symmetric, got {M.tolist()!r}.")
            object.__setattr__(self, "Sigma", sp.ImmutableMatrix(M))
            if all(e.is_number for e in M):
                arr = np.asarray(M.tolist(), dtype=float)
            else:
                return
        else:
            arr = np.asarray(S, dtype=float)
            if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
                raise ShapeError(f"`Sigma` must be a square matrix, got shape {arr.shape}.")
            if not np.allclose(arr, arr.T):
                raise AssumptionError(f"`Sigma` must be symmetric, got {arr.tolist()!r}.")
        if np.linalg.eigvalsh(arr).min() < -1e-12 * max(1.0, np.abs(arr).max()):
            raise AssumptionError(f"`Sigma` must be positive semi-definite (a covariance), got {arr.tolist()!r}.")

    def covariance(self, n: int) -> sp.Matrix:
        M = sp.Matrix(self.Sigma)
        if M.shape != (n, n):
            raise ShapeError(f"`Sigma` is {M.shape[0]}x{M.shape[1]} but the gradient has {n} components.")
        return M

    def sample(self, key, shape, n):
        import jax
        import jax.numpy as jnp

        S = self.Sigma
        S = jnp.asarray(np.asarray(S.tolist(), dtype=float) if isinstance(S, sp.MatrixBase) else S)
        if S.shape != (n, n):
            raise ShapeError(f"`Sigma` has shape {S.shape} but the genome has {n} components.")
        # eigh, not Cholesky: a semi-definite Sigma (a direction without mutation) is allowed.
        w, V = jnp.linalg.eigh(S)
        root = V * jnp.sqrt(jnp.clip(w, 0.0, None))
        return jax.random.normal(key, (*shape, n)) @ root.T


@dataclasses.dataclass(frozen=True)
class Radial(MutationLaw):
    r"""A radially symmetric mutation law :math:`P_m(\epsilon) = g(\lvert\epsilon\rvert)`
    in :math:`\mathbb R^n` (B0.3), with ``density`` :math:`g` a SymPy expression in
    ``r`` supported on :math:`[0, \text{upper})`. ``radius`` optionally samples the
    radius in JAX (``radius(key, shape)``), for simulation.

    Normalisation :math:`A_{n-1}\int_0^{\text{upper}} g(r) r^{n-1}\,dr = 1` is
    checked, with :math:`A_{n-1} = 2\pi^{n/2}/\Gamma(n/2)` the area of the unit sphere."""

    density: sp.Expr = None
    r: sp.Symbol = sp.Symbol("r", positive=True)
    n: int = 3
    upper: Any = sp.oo
    radius: Callable | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self):
        if not isinstance(self.n, numbers.Integral) or isinstance(self.n, bool) or self.n < 2:
            raise AssumptionError(f"`n` (the dimension) must be an integer >= 2, got {self.n!r}.")
        if not isinstance(self.density, sp.Basic):
            raise AssumptionError(f"`density` must be a SymPy expression in `r`, got {self.density!r}.")
        total = self.moment(0)
        if total.is_number and abs(float(total) - 1) > 1e-12:
            raise AssumptionError(
                f"`density` must integrate to 1 over R^{self.n} (A_(n-1) * integral g(r) r^(n-1) dr = 1), "
                f"but it integrates to {total!r}."
            )

    def moment(self, k: int) -> sp.Expr:
        r""":math:`\mathbb E_m[r^k] = A_{n-1}\int g(r)\,r^{n-1+k}\,dr`."""
        n = self.n
        area = 2 * sp.pi ** sp.Rational(n, 2) / sp.gamma(sp.Rational(n, 2))
        return sp.factor(area * sp.integrate(self.density * self.r ** (n - 1 + k), (self.r, 0, self.upper)))

    def covariance(self, n: int) -> sp.Matrix:
        if n != self.n:
            raise ShapeError(f"the radial law lives in R^{self.n} but the gradient has {n} components.")
        return self.moment(2) / n * sp.eye(n)

    def sample(self, key, shape, n):
        import jax
        import jax.numpy as jnp

        if self.radius is None:
            raise NotSupportedError("this `Radial` law has no `radius` sampler; pass `radius=` to simulate it.")
        if n != self.n:
            raise ShapeError(f"the radial law lives in R^{self.n} but the genome has {n} components.")
        k1, k2 = jax.random.split(key)
        z = jax.random.normal(k1, (*shape, n))
        direction = z / jnp.linalg.norm(z, axis=-1, keepdims=True)
        return self.radius(k2, shape)[..., None] * direction

    @classmethod
    def ball(cls, R=sp.Symbol("R", positive=True), n: int = 3) -> Radial:
        r"""Uniform in the ball of radius R: :math:`g = 1/V_n(R)` on :math:`[0, R)`.

        ``R`` may be a JAX value (inside a reference): the sampler uses it and the
        density keeps the symbol R."""
        _positive("R", R)
        Rs = sp.Symbol("R", positive=True) if _is_traced(R) else _sym(R)
        volume = sp.pi ** sp.Rational(n, 2) / sp.gamma(sp.Rational(n, 2) + 1) * Rs**n

        def radius(key, shape):
            import jax

            return _numeric_param("R", R) * jax.random.uniform(key, shape) ** (1.0 / n)

        return cls(density=1 / volume, n=n, upper=Rs, radius=radius)

    @classmethod
    def gaussian(cls, sigma=sp.Symbol("sigma", positive=True), n: int = 3) -> Radial:
        r""":math:`\mathcal N(0, \sigma^2 I_n)` written as a radial law."""
        _positive("sigma", sigma)
        s = sp.Symbol("sigma", positive=True) if _is_traced(sigma) else _sym(sigma)
        r = sp.Symbol("r", positive=True)

        def radius(key, shape):
            import jax
            import jax.numpy as jnp

            return _numeric_param("sigma", sigma) * jnp.linalg.norm(jax.random.normal(key, (*shape, n)), axis=-1)

        return cls(density=(2 * sp.pi * s**2) ** sp.Rational(-n, 2) * sp.exp(-r**2 / (2 * s**2)), r=r, n=n, radius=radius)


# ----------------------------------------------------------------------------- integrals (linear f)


def _vector(grad) -> sp.Matrix:
    if isinstance(grad, sp.MatrixBase):
        g = sp.Matrix(grad)
        if g.cols != 1:
            g = g.T if g.rows == 1 else None
        if g is None:
            raise ShapeError(f"`grad` must be a vector, got a {grad.shape} matrix.")
        return g
    try:
        return sp.Matrix([_sym(e) for e in grad])
    except TypeError:
        raise ShapeError(f"`grad` must be a sequence of components (the fitness gradient), got {grad!r}.") from None


def _norm2(grad: sp.Matrix, cov: sp.Matrix) -> sp.Expr:
    return sp.expand((grad.T * cov * grad)[0, 0])


def _unsupported(what: str, sel, mutation) -> NotSupportedError:
    return NotSupportedError(
        f"no closed-form rule for `{what}` with {type(sel).__name__} selection and {type(mutation).__name__} "
        f"mutation; register one with `@pricesym._selection.{what}.register` (dispatch is on the selection "
        "function), or compute it numerically with `learning_rate_quadrature` / `anneal`."
    )


def _gaussian_like(mutation) -> bool:
    return isinstance(mutation, (Gaussian, AnisotropicGaussian))


@functools.singledispatch
def acceptance(sel: SelectionFunction, mutation: MutationLaw, grad) -> sp.Expr:
    r"""Acceptance probability :math:`Z = \mathbb E_m[P_s(\epsilon\cdot\nabla f)]` for
    a linear fitness. Symmetric :math:`P_s` with a symmetric :math:`P_m`: exactly 1/2
    (pair :math:`\epsilon` with :math:`-\epsilon`)."""
    if sel.symmetric:
        return sp.S.Half
    raise _unsupported("acceptance", sel, mutation)


@acceptance.register
def _(sel: Linear, mutation, grad):
    # E[b + k eps.c] = b: the mutation has mean zero.
    return _sym(sel.base)


@functools.singledispatch
def mean_displacement(sel: SelectionFunction, mutation: MutationLaw, grad) -> sp.Matrix:
    r"""Mean accepted displacement per mutation proposed,
    :math:`\mathbb E_m[\epsilon\,P_s(\epsilon\cdot\nabla f)]`, for a linear fitness."""
    raise _unsupported("mean_displacement", sel, mutation)


@mean_displacement.register
def _(sel: Linear, mutation, grad):
    # E[eps (b + k eps.c)] = k E[eps eps^T] c.
    c = _vector(grad)
    return _sym(sel.slope) * mutation.covariance(len(c)) * c


@mean_displacement.register
def _(sel: Probit, mutation, grad):
    # Stein's lemma, E[eps h(eps)] = Sigma E[grad h], with h = Phi(eps.c/tau); then
    # eps.c ~ N(0, v), v = c^T Sigma c, and E[phi(t/tau)] = tau / sqrt(tau^2 + v).
    if not _gaussian_like(mutation):
        raise _unsupported("mean_displacement", sel, mutation)
    c = _vector(grad)
    S = mutation.covariance(len(c))
    tau = _sym(sel.tau)
    return S * c / sp.sqrt(2 * sp.pi * (tau**2 + _norm2(c, S)))


@mean_displacement.register
def _(sel: Hard, mutation, grad):
    c = _vector(grad)
    if _gaussian_like(mutation):
        # tau -> 0 of the probit rule: E[eps 1{eps.c > 0}] = Sigma c phi(0) / sqrt(c^T Sigma c).
        S = mutation.covariance(len(c))
        return S * c / sp.sqrt(2 * sp.pi * _norm2(c, S))
    if isinstance(mutation, Radial):
        # Radius/angle integral (B3-B4) with P_s = 1{cos theta > 0}:
        # E[eps.c_hat 1{.}] = E[r] A_{n-2} int_0^{pi/2} cos sin^{n-2} / A_{n-1}.
        n = mutation.n
        gnorm = sp.sqrt(_norm2(c, sp.eye(n)))
        angle = sp.gamma(sp.Rational(n, 2)) / (2 * sp.sqrt(sp.pi) * sp.gamma(sp.Rational(n + 1, 2)))
        return mutation.moment(1) * angle * c / gnorm
    raise _unsupported("mean_displacement", sel, mutation)


@mean_displacement.register
def _(sel: MoranFixation, mutation, grad):
    # Odd part of the diffusion form: pi(s) - pi(-s) = s, so E[eps pi(eps.c)] = Sigma c / 2
    # for any symmetric mutation law (the even part averages out against eps).
    if not sel.diffusion:
        raise NotSupportedError(
            "the exact Moran form has no closed `mean_displacement`: its odd part is s/2 only to O(s^2) "
            "(MATH.md B8); use `MoranFixation(N, diffusion=True)` or simulate with `anneal`."
        )
    c = _vector(grad)
    return mutation.covariance(len(c)) * c / 2


@mean_displacement.register
def _(sel: KimuraFixation, mutation, grad):
    if not sel.diffusion:
        raise NotSupportedError(
            "Kimura's new-mutant form has no closed `mean_displacement`: its odd part is s only to O(s^2); "
            "use `KimuraFixation(N, diffusion=True)` (u = 2s/(1-e^{-4Ns})) or simulate with `anneal`."
        )
    c = _vector(grad)
    return mutation.covariance(len(c)) * c


@functools.singledispatch
def expected_step(sel: SelectionFunction, mutation: MutationLaw, grad) -> sp.Matrix:
    r"""Expected accepted step :math:`\mathbb E[\epsilon] = \mathbb E_m[\epsilon P_s]/Z`
    for a linear fitness with gradient ``grad`` (B4, B6): `mean_displacement` over
    `acceptance`. Register a selection class to override."""
    return (mean_displacement(sel, mutation, grad) / acceptance(sel, mutation, grad)).applyfunc(sp.factor)


def weak_limit(sel: SelectionFunction, mutation: MutationLaw, grad) -> sp.Matrix:
    r"""Weak-selection (linearised) expected step
    :math:`\frac{P_s'(0)}{P_s(0)}\,\Sigma_m\nabla f` (B4, B6: Lande-like)."""
    c = _vector(grad)
    return sp.factor(sel.derivative_at_zero(1) / sel.at_zero()) * mutation.covariance(len(c)) * c


def learning_rate(sel: SelectionFunction, sigma, grad_norm) -> sp.Expr:
    r""":math:`\eta(\lvert\nabla f\rvert)` with :math:`\mathbb E[\epsilon] = \eta\nabla f`
    for isotropic Gaussian mutation (by rotation symmetry, the 1-D case)."""
    g = _sym(grad_norm)
    return sp.factor(expected_step(sel, Gaussian(sigma), [g])[0] / g)


def acceptance_small_mutation(sel: SelectionFunction, sigma, grad, hessian) -> sp.Expr:
    r"""Acceptance probability for a smooth nonlinear fitness and
    :math:`\epsilon\sim\mathcal N(0,\sigma^2 I)`, to :math:`O(\sigma^2)`:

    .. math:: Z = P_s(0) + \tfrac12\sigma^2\big(P_s'(0)\operatorname{tr}H + P_s''(0)\lvert\nabla f\rvert^2\big) + O(\sigma^4).
    """
    c = _vector(grad)
    H = sp.Matrix(hessian)
    s2 = _sym(sigma) ** 2
    return sel.at_zero() + s2 / 2 * (sel.derivative_at_zero(1) * H.trace() + sel.derivative_at_zero(2) * _norm2(c, sp.eye(len(c))))


def curvature_step(sel: SelectionFunction, sigma, grad, hessian, grad_laplacian) -> sp.Matrix:
    r"""B7: expected accepted step for a smooth nonlinear fitness, symmetric
    :math:`P_s` and :math:`\epsilon\sim\mathcal N(0,\sigma^2 I)`, to :math:`O(\sigma^4)`:

    .. math::
        \mathbb E[\epsilon] = 2P_s'(0)\sigma^2\nabla f + \sigma^4\big[P_s'(0)\nabla\Delta f
          + P_s'''(0)\lvert\nabla f\rvert^2\nabla f - 2P_s'(0)^2\,\Delta f\,\nabla f\big] + O(\sigma^6).
    """
    if not sel.symmetric:
        raise NotSupportedError(
            f"`curvature_step` assumes a symmetric P_s (P_s(0) = 1/2, P_s''(0) = 0); {type(sel).__name__} is not."
        )
    c = _vector(grad)
    H = sp.Matrix(hessian)
    dlap = _vector(grad_laplacian)
    d1, d3 = sel.derivative_at_zero(1), sel.derivative_at_zero(3)
    s = _sym(sigma)
    lap = H.trace()
    return 2 * d1 * s**2 * c + s**4 * (d1 * dlap + d3 * _norm2(c, sp.eye(len(c))) * c - 2 * d1**2 * lap * c)


def skew_normal_moments(sigma, tau, grad_norm) -> tuple[sp.Expr, sp.Expr]:
    r"""Mean and variance of the accepted step's component along :math:`\nabla f`
    for probit selection and Gaussian mutation (B5): skew-normal
    :math:`\mathrm{SN}(0, \sigma, \alpha)` with :math:`\alpha = \sigma\lvert\nabla f\rvert/\tau`,
    :math:`\delta = \alpha/\sqrt{1+\alpha^2}`."""
    s, t, g = _sym(sigma), _sym(tau), _sym(grad_norm)
    alpha = s * g / t
    delta2 = sp.factor(alpha**2 / (1 + alpha**2))  # δ² = σ²g²/(τ² + σ²g²)
    return sp.factor(s * sp.sqrt(delta2) * sp.sqrt(2 / sp.pi)), s**2 * (1 - 2 * delta2 / sp.pi)


# ----------------------------------------------------------------------------- simulation


class Annealing(NamedTuple):
    """Proposals of the annealing model and which were accepted.

    steps:            (M, n) proposed mutations ε.
    accepted:         (M,) float 0/1: accepted with P_s of the real Δf.
    accepted_linear:  (M,) float 0/1: accepted with P_s(ε·∇f) under the same uniform
                      (the linearised twin, for control variates).
    count:            number accepted (the acceptance count).
    pairs:            True when proposals come in antithetic pairs (ε, −ε) sharing a
                      uniform: rows i and i + M/2; estimators then treat a pair as one unit.
    """

    steps: Any
    accepted: Any
    accepted_linear: Any
    count: Any
    pairs: bool = False


def anneal(key, f: Callable, x, sel: SelectionFunction, mutation: MutationLaw, proposals: int,
           antithetic: bool = False, twin: bool = True) -> Annealing:
    r"""Simulate ``proposals`` rounds of the annealing model at genome ``x``.

    Each round draws :math:`\epsilon\sim P_m` and a uniform :math:`u`, and accepts
    when :math:`u < P_s(f(x+\epsilon) - f(x))` — the real fitness, not its
    linearisation. Rounds are independent, so the accepted steps are draws from the
    transition law and ``proposals / count`` estimates :math:`\alpha_s`.

    ``antithetic``: the second half of the rounds replays the first with
    :math:`-\epsilon` and the same :math:`u` (each round still has the right law, as
    :math:`P_m` is symmetric); for a nearly linear fitness the pair's two verdicts
    differ only when :math:`u` falls between :math:`P_s(\Delta)` and :math:`P_s(-\Delta)`,
    which removes most of the noise of a weak-selection mean.

    ``twin=False`` skips the linearised twin (``accepted_linear`` is then the real
    acceptance): for a linear fitness it adds nothing but compile time. JAX, jit- and
    vmap-able; ``key`` is a PRNG key."""
    import jax
    import jax.numpy as jnp

    x = jnp.atleast_1d(jnp.asarray(x, dtype=jnp.float64))
    k_eps, k_u = jax.random.split(key)
    if antithetic:
        if proposals % 2:
            raise AssumptionError(f"`proposals` must be even for antithetic pairs, got {proposals!r}.")
        half = mutation.sample(k_eps, (proposals // 2,), x.shape[0])
        eps = jnp.concatenate([half, -half])
        u = jnp.tile(jax.random.uniform(k_u, (proposals // 2,), dtype=jnp.float64), 2)
    else:
        eps = mutation.sample(k_eps, (proposals,), x.shape[0])
        u = jax.random.uniform(k_u, (proposals,), dtype=jnp.float64)
    fx = f(x)
    delta = jax.vmap(lambda e: f(x + e) - fx)(eps)
    acc = (u < sel.jax(delta)).astype(jnp.float64)
    acc_lin = (u < sel.jax(eps @ jax.grad(f)(x))).astype(jnp.float64) if twin else acc
    return Annealing(eps, acc, acc_lin, jnp.sum(acc), antithetic)


def _se(influence, sample: Annealing):
    """Standard error of the mean of per-round influence values (pairs as units)."""
    import jax.numpy as jnp

    if sample.pairs:
        half = influence.shape[0] // 2
        influence = (influence[:half] + influence[half:]) / 2
    return jnp.std(influence, axis=0, ddof=1) / jnp.sqrt(influence.shape[0])


def acceptance_rate(sample: Annealing):
    """`Estimate` of Z: the fraction of rounds a mutant wins (binomial SE)."""
    from ._check import Estimate
    import jax.numpy as jnp

    z = jnp.mean(sample.accepted)
    return Estimate(z, _se(sample.accepted - z, sample))


def rounds_per_step(sample: Annealing):
    r"""`Estimate` of :math:`\alpha_s`, the mean number of rounds per accepted step
    (renewal estimate: proposals / acceptances; delta-method SE)."""
    from ._check import Estimate
    import jax.numpy as jnp

    z = jnp.mean(sample.accepted)
    return Estimate(1.0 / z, _se(sample.accepted - z, sample) / z**2)


def accepted_mean(sample: Annealing, fn: Callable | None = None):
    r"""`Estimate` of :math:`\mathbb E[h(\epsilon)\mid\text{accepted}]` (default
    :math:`h(\epsilon) = \epsilon`): the mean over accepted proposals, a ratio of
    means, with the delta-method SE :math:`\operatorname{sd}((h-\hat\mu)a)/(\bar a\sqrt M)`."""
    from ._check import Estimate
    import jax
    import jax.numpy as jnp

    h = sample.steps if fn is None else jax.vmap(fn)(sample.steps)
    a = sample.accepted.reshape((-1,) + (1,) * (h.ndim - 1))
    abar = jnp.mean(a)
    mean = jnp.sum(h * a, axis=0) / jnp.sum(a)
    influence = (h - mean) * a / abar
    return Estimate(mean, _se(influence, sample))


def accepted_mean_cv(sample: Annealing, linear_numerator, linear_rate, fn: Callable | None = None):
    r"""`Estimate` of :math:`\mathbb E[h(\epsilon)\mid\text{accepted}]` with the
    linearised twin as control variate.

    With :math:`a` the real and :math:`a_\ell` the linearised acceptance (same
    :math:`\epsilon`, same uniform) and the twin's exact moments
    :math:`\nu_\ell = \mathbb E[h a_\ell]`, :math:`Z_\ell = \mathbb E[a_\ell]`
    (``linear_numerator``, ``linear_rate``, e.g. from `gaussian_linear_moments`):

    .. math:: \hat\mu = \frac{\overline{h(a-a_\ell)} + \nu_\ell}{\overline{a-a_\ell} + Z_\ell}.

    Only the rounds where the two acceptances differ carry noise, so the variance
    falls by the inverse of their share. SE by the delta method."""
    from ._check import Estimate
    import jax
    import jax.numpy as jnp

    h = sample.steps if fn is None else jax.vmap(fn)(sample.steps)
    d = (sample.accepted - sample.accepted_linear).reshape((-1,) + (1,) * (h.ndim - 1))
    num = jnp.mean(h * d, axis=0) + linear_numerator
    den = jnp.mean(d) + linear_rate
    mean = num / den
    influence = (h - mean) * d / den
    return Estimate(mean, _se(influence, sample))


@functools.lru_cache(maxsize=8)
def _hermite(nodes: int):
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return x, w / math.sqrt(2 * math.pi)


def gaussian_linear_moments(sel: SelectionFunction, cov, grad, nodes: int = 160):
    r"""Exact moments of the linearised model for Gaussian mutation
    :math:`\mathcal N(0, \Sigma)`, by Gauss–Hermite quadrature of their defining integrals:
    ``(E[ε P_s(ε·c)], E[P_s(ε·c)])``.

    Along :math:`t = \epsilon\cdot c \sim \mathcal N(0, v)`, :math:`v = c^\top\Sigma c`,
    Gaussian conditioning gives :math:`\mathbb E[\epsilon\mid t] = \Sigma c\,t/v`, so both
    are 1-D integrals of :math:`P_s`. For smooth :math:`P_s` (probit, logistic, fixation);
    `Hard` selection is refused (a jump defeats the quadrature)."""
    import jax.numpy as jnp

    if isinstance(sel, Hard):
        raise NotSupportedError("`gaussian_linear_moments` needs a smooth P_s; for `Hard()` use the plain estimator.")
    z, w = _hermite(nodes)
    z, w = jnp.asarray(z), jnp.asarray(w)
    cov, c = jnp.asarray(cov), jnp.asarray(grad)
    sc = cov @ c
    sd = jnp.sqrt(c @ sc)
    p = sel.jax(sd * z)
    return sc * (jnp.sum(w * z * p) / sd), jnp.sum(w * p)


def learning_rate_quadrature(sel: SelectionFunction, sigma: float, grad_norm: float) -> float:
    r""":math:`\eta(\lvert\nabla f\rvert)` for isotropic Gaussian mutation and a linear
    fitness, by adaptive quadrature (SciPy) of the parallel component:
    :math:`\eta = \mathbb E_u[u P_s(gu)]/(g\,\mathbb E_u[P_s(gu)])`,
    :math:`u\sim\mathcal N(0,\sigma^2)`, :math:`g = \lvert\nabla f\rvert` (B5: the
    orthogonal components are untouched by selection). Any P_s with a ``jax`` form."""
    from scipy import integrate

    _positive("sigma", sigma)
    _positive("grad_norm", grad_norm)
    scale = float(grad_norm) * float(sigma)

    def p(z):
        return float(sel.numpy(scale * z))

    def pdf(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    opts = dict(epsabs=1e-15, epsrel=1e-13, limit=400, points=[0.0])
    num = integrate.quad(lambda z: sigma * z * pdf(z) * float(p(z)), -40, 40, **opts)[0]
    den = integrate.quad(lambda z: pdf(z) * float(p(z)), -40, 40, **opts)[0]
    return num / (grad_norm * den)


def anneal_until_accepted(key, f: Callable, x, sel: SelectionFunction, mutation: MutationLaw, walkers: int):
    r"""The annealing process itself, once per walker: propose, accept with
    :math:`P_s(f(x+\epsilon)-f(x))`, and repeat until a mutant wins.

    Returns ``(steps, rounds)``: the winning mutation of each walker, shape
    (walkers, n), and how many rounds it took (geometric, mean :math:`\alpha_s`).
    A `jax.lax.while_loop` per walker, vectorised with `jax.vmap`."""
    import jax
    import jax.numpy as jnp

    x = jnp.atleast_1d(jnp.asarray(x, dtype=jnp.float64))
    fx = f(x)

    def one(k):
        def body(state):
            k, _, rounds, _ = state
            k, k_eps, k_u = jax.random.split(k, 3)
            eps = mutation.sample(k_eps, (), x.shape[0])
            won = jax.random.uniform(k_u, dtype=jnp.float64) < sel.jax(f(x + eps) - fx)
            return k, eps, rounds + 1, won

        init = (k, jnp.zeros_like(x), jnp.asarray(0, jnp.int32), jnp.asarray(False))
        _, eps, rounds, _ = jax.lax.while_loop(lambda s: ~s[3], body, init)
        return eps, rounds

    return jax.vmap(one)(jax.random.split(key, walkers))


def small_mutation_series(sel: SelectionFunction, fitness: sp.Expr, genome, sigma, point=None):
    r"""Small-mutation expansion of the annealing step for a smooth fitness and
    :math:`\epsilon = \sigma z`, :math:`z\sim\mathcal N(0, I_n)`, derived from the model:

    1. Taylor: :math:`\Delta f = \sigma D_1 + \sigma^2 D_2 + \sigma^3 D_3 + O(\sigma^4)` with
       :math:`D_k = \frac1{k!}D^kf(x)[z,\dots,z]`;
    2. :math:`P_s(\Delta) = \sum_{j\le3} P_s^{(j)}(0)\Delta^j/j!` (series of the selection function);
    3. Gaussian moments :math:`\mathbb E\prod z_i^{k_i} = \prod (k_i-1)!!` (0 if any k_i is odd);
    4. :math:`\mathbb E[\epsilon] = \sigma\,\mathbb E[zP_s]/\mathbb E[P_s]`, expanded.

    Returns ``(Z, step)``: :math:`Z` to :math:`O(\sigma^2)` and :math:`\mathbb E[\epsilon]`
    to :math:`O(\sigma^4)` (the :math:`\sigma^5` terms vanish by parity), at ``point``
    (default the origin)."""
    genome = list(genome)
    n = len(genome)
    point = [0] * n if point is None else list(point)
    at = dict(zip(genome, point))
    s = _sym(sigma)
    zs = sp.symbols(f"z_1:{n + 1}", real=True)
    grad = [sp.diff(fitness, g) for g in genome]
    d1 = sum(grad[i].subs(at) * zs[i] for i in range(n))
    hess = [[sp.diff(grad[i], genome[j]) for j in range(n)] for i in range(n)]
    d2 = sum(hess[i][j].subs(at) * zs[i] * zs[j] for i in range(n) for j in range(n)) / 2
    d3 = sum(sp.diff(hess[i][j], genome[k]).subs(at) * zs[i] * zs[j] * zs[k]
             for i in range(n) for j in range(n) for k in range(n)) / 6
    eps = sp.Symbol("epsilon_sigma")  # placeholder for the order bookkeeping
    delta = eps * d1 + eps**2 * d2 + eps**3 * d3
    p = [sel.derivative_at_zero(j) for j in range(4)]
    ps_poly = sum(p[j] * delta**j / sp.factorial(j) for j in range(4))
    ps_poly = sp.expand(ps_poly)

    def coeffs(expr, upto):
        poly = sp.Poly(sp.expand(expr), eps)
        return [poly.coeff_monomial(eps**k) for k in range(upto + 1)]

    Zc = [_gaussian_expectation(t, zs) for t in coeffs(ps_poly, 2)]
    Nc = [[_gaussian_expectation(zs[i] * t, zs) for t in coeffs(ps_poly, 3)] for i in range(n)]
    z0, z1, z2 = Zc
    inv = [1 / z0, -z1 / z0**2, z1**2 / z0**3 - z2 / z0**2]  # 1/Z to O(sigma^2)
    step = []
    for i in range(n):
        N = Nc[i]
        # sigma * N(sigma) / Z(sigma): collect the coefficients of sigma^2 .. sigma^4.
        terms = sum(N[a] * inv[b] * s ** (a + b + 1) for a in range(4) for b in range(3) if a + b + 1 <= 4)
        step.append(sp.collect(sp.expand(terms), s, sp.factor))
    return sp.collect(sp.expand(z0 + z1 * s + z2 * s**2), s, sp.factor), sp.Matrix(step)


def _gaussian_expectation(poly, zs) -> sp.Expr:
    r""":math:`\mathbb E[\text{poly}(z)]` for independent standard normal ``zs``."""
    poly = sp.expand(poly)
    if poly == 0:
        return sp.S.Zero
    total = sp.S.Zero
    for monom, coeff in sp.Poly(poly, *zs).terms():
        if any(k % 2 for k in monom):
            continue
        total += coeff * sp.Mul(*[sp.factorial2(k - 1) for k in monom if k])
    return total


def gaussian_quadrature(f: Callable, x, sel: SelectionFunction, cov, nodes: int = 48):
    r"""Accepted-step mean and acceptance probability of the annealing model with
    :math:`\epsilon\sim\mathcal N(0,\Sigma)` and the real fitness ``f``, by
    tensor-product Gauss–Hermite quadrature of the defining integrals
    :math:`\mathbb E_m[\epsilon P_s(f(x+\epsilon)-f(x))]` and
    :math:`Z = \mathbb E_m[P_s(\dots)]`, with :math:`\epsilon = L z`, :math:`LL^\top = \Sigma`.

    Returns ``(mean_step, Z)``. ``nodes`` per axis (nodes**n points): for smooth
    :math:`P_s` whose argument varies on scales ≳ 1/4 of a standard deviation."""
    import jax
    import jax.numpy as jnp

    x = jnp.atleast_1d(jnp.asarray(x, dtype=jnp.float64))
    n = x.shape[0]
    z1, w1 = (jnp.asarray(a) for a in _hermite(nodes))
    # The product grid is built at run time from the 1-D rule: as a baked-in constant of
    # nodes**n rows it would make compilation slow.
    z = jnp.stack([g.reshape(-1) for g in jnp.meshgrid(*([z1] * n), indexing="ij")], axis=-1)
    w = jnp.prod(jnp.stack([g.reshape(-1) for g in jnp.meshgrid(*([w1] * n), indexing="ij")], axis=-1), axis=-1)
    cov = jnp.asarray(cov, dtype=jnp.float64)
    vals, vecs = jnp.linalg.eigh(cov)
    root = vecs * jnp.sqrt(jnp.clip(vals, 0.0, None))
    eps = z @ root.T
    fx = f(x)
    p = sel.jax(jax.vmap(lambda e: f(x + e) - fx)(eps))
    Z = jnp.sum(w * p)
    return jnp.sum((w * p)[:, None] * eps, axis=0) / Z, Z


# ----------------------------------------------------------------------------- JAX pytrees


def _register_pytree(cls, data: tuple[str, ...], meta: tuple[str, ...] = ()):
    """Let instances cross `jax.jit` / `jax.vmap` as arguments: numeric parameters are
    leaves (traced), flags are static. Unflattening bypasses ``__init__`` because JAX
    rebuilds trees with placeholder leaves that validation would reject."""
    import jax

    def flatten(obj):
        return tuple(getattr(obj, name) for name in data), tuple(getattr(obj, name) for name in meta)

    def unflatten(aux, leaves):
        obj = object.__new__(cls)
        for name, value in zip(data, leaves):
            object.__setattr__(obj, name, value)
        for name, value in zip(meta, aux):
            object.__setattr__(obj, name, value)
        return obj

    jax.tree_util.register_pytree_node(cls, flatten, unflatten)


def _register_all():
    _register_pytree(Linear, ("slope", "base"))
    _register_pytree(Hard, ())
    _register_pytree(Probit, ("tau",))
    _register_pytree(Logistic, ("beta",))
    _register_pytree(MoranFixation, ("N",), ("diffusion",))
    _register_pytree(KimuraFixation, ("N",), ("diffusion",))
    _register_pytree(Gaussian, ("sigma",))
    _register_pytree(AnisotropicGaussian, ("Sigma",))


try:
    import jax as _jax  # noqa: F401
except ImportError:  # pragma: no cover - JAX is a dependency; SymPy-only use still works
    pass
else:
    _register_all()
