r"""Fixation probabilities and times in closed form (MATH.md D4-D6, B8).

The textbook formulas as functions of numbers, for users and for derivations that
need a fixation probability (e.g. origin-fixation models); a check's reference
never calls them (references simulate or solve the chain, `pricesym._numeric`).
`FixationMoment` is the Gaussian moment of the Moran diffusion fixation
probability, a special function with no elementary form.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from .._errors import AssumptionError
from .._numeric import validate

__all__ = ["kimura_fixation", "kimura_times", "moran_fixation", "moran_neutral_times", "FixationMoment"]


def kimura_fixation(N, s, p):
    r"""Kimura's diffusion approximation to the fixation probability (MATH.md D4).

    .. math:: u(p) = \frac{1 - e^{-4Nsp}}{1 - e^{-4Ns}}

    for a diploid population of ``N`` (= :math:`N_e`) with genic selection ``s``
    and initial allele frequency ``p``; ``u(p) = p`` when ``s = 0``. A new mutant
    has ``p = 1/(2N)``. Scalars in, float out.
    """
    N = validate.population(N)
    s = validate.real("s", s)
    p = validate.frequency(p)
    a = 4 * N * s
    if a == 0:
        return p
    if a > 0:
        return math.expm1(-a * p) / math.expm1(-a)
    # s < 0: multiply through by e^a so that nothing overflows when 4N|s| is large
    return (math.exp(a * (1 - p)) - math.exp(a)) / -math.expm1(a)


def kimura_times(N, p) -> tuple[float, float]:
    r"""Neutral diffusion times in generations (MATH.md D6): ``(t1, t)`` with

    .. math::
        \bar t_1(p) = -\frac{4N(1-p)\ln(1-p)}{p}, \qquad
        \bar t(p) = -4N\left[p\ln p + (1-p)\ln(1-p)\right],

    the mean time to fixation given fixation and the mean time to absorption,
    starting at frequency ``0 < p < 1`` (``t1(0+) = 4N``).
    """
    N = validate.population(N)
    p = validate.frequency(p)
    if p in (0.0, 1.0):
        raise AssumptionError(f"`p` must lie strictly inside (0, 1) for absorption times, got {p!r}.")
    q = 1 - p
    return -4 * N * q * math.log(q) / p, -4 * N * (p * math.log(p) + q * math.log(q))


def moran_fixation(N, r, i=1) -> float:
    r"""Fixation probability of ``i`` mutants of relative fitness ``r`` in a Moran
    population of ``N`` (MATH.md D5):

    .. math:: \phi_i = \frac{1 - r^{-i}}{1 - r^{-N}}, \qquad \phi_i = i/N \text{ at } r = 1.
    """
    N = validate.population(N)
    r = validate.fitness(r)
    i = validate.mutants(i, N)
    if r == 1:
        return i / N
    b = math.log(r)
    if b > 0:
        return math.expm1(-i * b) / math.expm1(-N * b)
    # r < 1: factor out r^(N-i) so that nothing overflows when N ln(1/r) is large
    return math.exp((N - i) * b) * math.expm1(i * b) / math.expm1(N * b)


def moran_neutral_times(N, i=1) -> tuple[float, float]:
    r"""Neutral Moran times in birth–death steps (MATH.md D6): ``(t_fix, t_abs)``.

    ``t_fix = N(N-1)`` is the mean time to fixation of a single mutant, given
    that it fixes (from ``i > 1`` mutants use `moran_absorption_system`), and

    .. math:: t_i = N\Big[(N-i)\sum_{j=1}^{i}\frac1{N-j} + i\sum_{j=i+1}^{N-1}\frac1j\Big]

    is the mean time to absorption from ``i`` mutants (``N H_{N-1}`` for ``i = 1``).
    """
    N = validate.population(N)
    i = validate.mutants(i, N)
    lower = sum(1 / (N - j) for j in range(1, i + 1)) if i < N else 0.0
    upper = sum(1 / j for j in range(i + 1, N))
    return float(N * (N - 1)), float(N * ((N - i) * lower + i * upper))


# --------------------------------------------------------------------------- exact solves


def _fixation_moment(k, n, a):
    """What lambdify calls: NumPy over a check's instance columns, JAX when traced (under
    jit/vmap, where NumPy cannot go)."""
    if any(type(v).__module__.startswith("jax") for v in (k, n, a)):
        return _fixation_moment_jax(k, n, a)
    return _fixation_moment_columns(k, n, a)


def _fixation_moment_columns(k, n, a):
    r""":math:`\Pi_k(N, a)` column by column in NumPy, by the trapezoid rule of
    `_fixation_moment_jax` broadcast over the instances. The even part of π is analytic
    in a strip of half-width 2π/(Na), so the rule converges like exp(-4π²/(h Na)): the
    step h = 1/(2 max Na) (a power of two of intervals, 2^10 to 2^15) keeps that below
    e^-79."""
    k, n, a = (np.asarray(v, dtype=np.float64) for v in (k, n, a))
    scale = np.abs(n * a)
    scale = scale[np.isfinite(scale)]
    spread = float(scale.max()) if scale.size else 0.0
    intervals = int(min(2**15, max(2**10, 2 ** math.ceil(math.log2(max(28 * spread, 1.0))))))
    z = np.linspace(0.0, 14.0, intervals + 1)
    h = z[1] - z[0]
    x = np.expand_dims(n * a, -1) * z / 2
    safe = np.where(x == 0, 1.0, x)
    x_coth_x = np.where(x == 0, 1.0, safe / np.tanh(safe))
    integrand = np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi) * z ** np.expand_dims(k, -1) * x_coth_x / np.expand_dims(n, -1)
    return 2 * h * (np.sum(integrand, axis=-1) - (integrand[..., 0] + integrand[..., -1]) / 2)


def _fixation_moment_jax(k, n, a):
    r""":math:`\mathbb E_z[z^k \pi(az)]` by the trapezoid rule on :math:`z \in [0, 14]`.

    Only the even part :math:`\pi_e(s) = \tfrac{s}{2}\coth\tfrac{Ns}{2}` survives for
    even k, and it is analytic in a strip of half-width :math:`2\pi/(Na)` around the
    real axis, so the trapezoid rule converges geometrically: with 2^15 intervals
    the relative error is 1e-12 or less for :math:`Na \le 10^3` (3e-8 at
    :math:`10^4`; the domains used here stay below 250). Truncation at 14 costs
    :math:`e^{-98}`."""
    from .._numeric.backend import jnp

    z = jnp.linspace(0.0, 14.0, 2**15 + 1)
    h = z[1] - z[0]
    x = n * a * z / 2
    x_safe = jnp.where(x == 0, 1.0, x)
    x_coth_x = jnp.where(x == 0, 1.0, x_safe / jnp.tanh(x_safe))
    integrand = jnp.exp(-(z**2) / 2) / jnp.sqrt(2 * jnp.pi) * z**k * x_coth_x / n
    return 2 * h * (jnp.sum(integrand) - (integrand[0] + integrand[-1]) / 2)


def _fixation_moment_quad(k: float, n: float, a: float) -> float:
    """:math:`\\Pi_k(N, a)` for even k by adaptive quadrature (SciPy) of the even part."""
    from scipy.integrate import quad

    def even_part(z):
        x = n * a * z / 2
        return (1.0 if x == 0 else x / math.tanh(x)) / n

    def integrand(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi) * z**k * even_part(z)

    return 2 * quad(integrand, 0, 40, epsabs=1e-16, epsrel=1e-13, limit=400)[0]


class FixationMoment(sp.Function):
    r"""Fixation moment :math:`\Pi_k(N, a) = \mathbb E_{z\sim\mathcal N(0,1)}[z^k\,\pi(a z)]`
    of the Moran diffusion fixation probability :math:`\pi(s) = s/(1-e^{-Ns})`.

    For even k only the even part :math:`\tfrac s2\coth\tfrac{Ns}2` contributes.
    :math:`\Pi_0` is the mean fixation probability of a mutation whose selection
    coefficient is :math:`\mathcal N(0, a^2)`; :math:`\Pi_0 \to 1/N` as
    :math:`Na \to 0` and :math:`\Pi_0 \approx a/\sqrt{2\pi}` when :math:`Na \gg 1`.
    Even k has no elementary closed form: it is evaluated by quadrature (JAX
    trapezoid rule when lambdified, SciPy `quad` for `evalf`). Odd k reduces to
    :math:`\tfrac a2 k!!` (the odd part of :math:`\pi` is :math:`s/2`), and
    :math:`a = 0` to :math:`(k-1)!!/N`."""

    nargs = 3
    _imp_ = staticmethod(_fixation_moment)  # lambdify uses it (valid for even k)

    @classmethod
    def eval(cls, k, n, a):
        if k.is_number and not (k.is_integer and k.is_nonnegative):
            raise AssumptionError(f"`k` (the moment order) must be an integer >= 0, got {k!r}.")
        if n.is_number and not (n.is_real and float(n) >= 1 and float(n) == int(float(n))):
            raise AssumptionError(f"`N` must be an integer >= 1 (a population size), got {n!r}.")
        if a.is_number and not (a.is_real and a.is_nonnegative):
            raise AssumptionError(f"`a` (the spread sigma*|c| of the selection coefficient) must be >= 0, got {a!r}.")
        if k.is_number and k.is_odd:
            # Only the odd part s/2 of pi survives: E[z^k (a z / 2)] = (a/2) E[z^(k+1)] = (a/2) k!!.
            return a / 2 * sp.factorial2(k)
        if a.is_zero and k.is_number:
            return sp.factorial2(k - 1) / n  # neutral: pi = 1/N
        if all(arg.is_number for arg in (k, n, a)) and (n.is_Float or a.is_Float):
            return sp.Float(_fixation_moment_quad(float(k), float(n), float(a)))  # like sin(0.5)
        return None

    def _eval_evalf(self, prec):
        if not all(arg.is_number for arg in self.args):
            return None
        return sp.Float(_fixation_moment_quad(*(float(arg) for arg in self.args)), prec)

    def _latex(self, printer, exp=None):
        k, n, a = (printer._print(arg) for arg in self.args)
        tex = r"\Pi_{%s}\left(%s, %s\right)" % (k, n, a)
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


# --------------------------------------------------------------------------- the Moran chain
