r"""Integrals of the selection model for a linear fitness, and its small-mutation
expansion (B3-B7).

For :math:`f(x+\epsilon)-f(x) = \epsilon\cdot c`: `acceptance` (:math:`Z`),
`mean_displacement` (:math:`\mathbb E_m[\epsilon P_s]`) and `expected_step` (their
ratio) dispatch on the selection function (`functools.singledispatch`); a case
with no closed form raises `NotSupportedError` naming the registry to extend.
"""

from __future__ import annotations

import functools

import sympy as sp

from ..._cache import kept
from ..._errors import NotSupportedError, ShapeError
from .functions import FixationProbability, Hard, Linear, Probit, SelectionFunction
from .mutation import AnisotropicGaussian, Gaussian, MutationLaw, Radial
from .params import sym

__all__ = ["acceptance", "mean_displacement", "expected_step", "weak_limit", "learning_rate",
           "acceptance_small_mutation", "curvature_step", "skew_normal_moments", "small_mutation_series"]


def _vector(grad) -> sp.Matrix:
    if isinstance(grad, sp.MatrixBase):
        g = sp.Matrix(grad)
        if g.cols != 1:
            g = g.T if g.rows == 1 else None
        if g is None:
            raise ShapeError(f"`grad` must be a vector, got a {grad.shape} matrix.")
        return g
    try:
        return sp.Matrix([sym(e) for e in grad])
    except TypeError:
        raise ShapeError(f"`grad` must be a sequence of components (the fitness gradient), got {grad!r}.") from None


def _norm2(grad: sp.Matrix, cov: sp.Matrix) -> sp.Expr:
    return sp.expand((grad.T * cov * grad)[0, 0])


def _unsupported(what: str, sel, mutation) -> NotSupportedError:
    return NotSupportedError(
        f"no closed-form rule for `{what}` with {type(sel).__name__} selection and {type(mutation).__name__} "
        f"mutation; register one with `@pricesym.selection.{what}.register` (dispatch is on the selection "
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
    return sym(sel.base)


@functools.singledispatch
def mean_displacement(sel: SelectionFunction, mutation: MutationLaw, grad) -> sp.Matrix:
    r"""Mean accepted displacement per mutation proposed,
    :math:`\mathbb E_m[\epsilon\,P_s(\epsilon\cdot\nabla f)]`, for a linear fitness."""
    raise _unsupported("mean_displacement", sel, mutation)


@mean_displacement.register
def _(sel: Linear, mutation, grad):
    # E[eps (b + k eps.c)] = k E[eps eps^T] c.
    c = _vector(grad)
    return sym(sel.slope) * mutation.covariance(len(c)) * c


@mean_displacement.register
def _(sel: Probit, mutation, grad):
    # Stein's lemma, E[eps h(eps)] = Sigma E[grad h], with h = Phi(eps.c/tau); then
    # eps.c ~ N(0, v), v = c^T Sigma c, and E[phi(t/tau)] = tau / sqrt(tau^2 + v).
    if not _gaussian_like(mutation):
        raise _unsupported("mean_displacement", sel, mutation)
    c = _vector(grad)
    S = mutation.covariance(len(c))
    tau = sym(sel.tau)
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
def _(sel: FixationProbability, mutation, grad):
    # Odd part of the diffusion form: pi(t) - pi(-t) = t with t = scale * s, so
    # E[eps pi(eps.c)] = scale * Sigma c / 2 for any symmetric mutation law (the even
    # part averages out against eps): Sigma c / 2 (Moran), Sigma c (Kimura).
    if not sel.diffusion:
        raise NotSupportedError(
            f"the exact {type(sel).__name__} form has no closed `mean_displacement`: its odd part is linear in s "
            f"only to O(s^2) (MATH.md B8); use `{type(sel).__name__}(N, diffusion=True)` or simulate with `anneal`."
        )
    c = _vector(grad)
    return sp.Rational(sel.scale, 2) * mutation.covariance(len(c)) * c


@functools.singledispatch
@kept
def expected_step(sel: SelectionFunction, mutation: MutationLaw, grad) -> sp.Matrix:
    r"""Expected accepted step :math:`\mathbb E[\epsilon] = \mathbb E_m[\epsilon P_s]/Z`
    for a linear fitness with gradient ``grad`` (B4, B6): `mean_displacement` over
    `acceptance`. Register a selection class to override."""
    return (mean_displacement(sel, mutation, grad) / acceptance(sel, mutation, grad)).applyfunc(sp.factor)


@kept
def weak_limit(sel: SelectionFunction, mutation: MutationLaw, grad) -> sp.Matrix:
    r"""Weak-selection (linearised) expected step
    :math:`\frac{P_s'(0)}{P_s(0)}\,\Sigma_m\nabla f` (B4, B6: Lande-like)."""
    c = _vector(grad)
    return sp.factor(sel.derivative_at_zero(1) / sel.at_zero()) * mutation.covariance(len(c)) * c


def learning_rate(sel: SelectionFunction, sigma, grad_norm) -> sp.Expr:
    r""":math:`\eta(\lvert\nabla f\rvert)` with :math:`\mathbb E[\epsilon] = \eta\nabla f`
    for isotropic Gaussian mutation (by rotation symmetry, the 1-D case)."""
    g = sym(grad_norm)
    return sp.factor(expected_step(sel, Gaussian(sigma), [g])[0] / g)


def acceptance_small_mutation(sel: SelectionFunction, sigma, grad, hessian) -> sp.Expr:
    r"""Acceptance probability for a smooth nonlinear fitness and
    :math:`\epsilon\sim\mathcal N(0,\sigma^2 I)`, to :math:`O(\sigma^2)`:

    .. math:: Z = P_s(0) + \tfrac12\sigma^2\big(P_s'(0)\operatorname{tr}H + P_s''(0)\lvert\nabla f\rvert^2\big) + O(\sigma^4).
    """
    c = _vector(grad)
    H = sp.Matrix(hessian)
    s2 = sym(sigma) ** 2
    curvature = sel.derivative_at_zero(1) * H.trace() + sel.derivative_at_zero(2) * _norm2(c, sp.eye(len(c)))
    return sel.at_zero() + s2 / 2 * curvature


@kept
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
    s = sym(sigma)
    lap = H.trace()
    return 2 * d1 * s**2 * c + s**4 * (d1 * dlap + d3 * _norm2(c, sp.eye(len(c))) * c - 2 * d1**2 * lap * c)


def skew_normal_moments(sigma, tau, grad_norm) -> tuple[sp.Expr, sp.Expr]:
    r"""Mean and variance of the accepted step's component along :math:`\nabla f`
    for probit selection and Gaussian mutation (B5): skew-normal
    :math:`\mathrm{SN}(0, \sigma, \alpha)` with :math:`\alpha = \sigma\lvert\nabla f\rvert/\tau`,
    :math:`\delta = \alpha/\sqrt{1+\alpha^2}`."""
    s, t, g = sym(sigma), sym(tau), sym(grad_norm)
    alpha = s * g / t
    delta2 = sp.factor(alpha**2 / (1 + alpha**2))  # δ² = σ²g²/(τ² + σ²g²)
    return sp.factor(s * sp.sqrt(delta2) * sp.sqrt(2 / sp.pi)), s**2 * (1 - 2 * delta2 / sp.pi)




@kept
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
    s = sym(sigma)
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
