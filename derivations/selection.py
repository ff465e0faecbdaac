"""Natural selection as a gradient method (MATH.md B1–B7, C2): the annealing
model's transition law, its expected step in every selection regime, the law of
the step noise, anisotropic mutation, the finite-mutation (curvature) correction,
and the gradient-norm dependence of the learning rate.

The model (Sourbut 2022): a parent x splits into a clone and a mutant x + ε,
ε ~ P_m; the mutant wins with probability P_s(f(x+ε) − f(x)), else a new round
starts. References simulate exactly that (propose, accept with P_s of the real
fitness, repeat) or integrate its defining integrals by Gauss–Hermite quadrature;
none evaluates a derived formula.
"""

from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

import pricesym as ps
from pricesym.numeric import Estimate, estimate, hermite_rule, jit, taylor_coefficients
from pricesym.selection import (
    AnisotropicGaussian,
    Gaussian,
    Hard,
    Linear,
    Logistic,
    Probit,
    Radial,
    acceptance,
    acceptance_rate,
    accepted_mean,
    accepted_mean_cv,
    anneal,
    anneal_until_accepted,
    curvature_step,
    expected_step,
    gaussian_linear_moments,
    gaussian_quadrature,
    gaussian_selection_moments,
    learning_rate,
    learning_rate_quadrature,
    skew_normal_moments,
    small_mutation_series,
    weak_limit,
)

SOURBUT = ('Sourbut, O. (2022). "Conditions for mathematical equivalence of Stochastic Gradient Descent and '
           'Natural Selection", LessWrong / AI Alignment Forum.')
NOSTALGEBRAIST = ("nostalgebraist (2022), comment on Sourbut's post (step size and the gradient norm), LessWrong.")
STEIN = "Stein, C. M. (1981). Estimation of the mean of a multivariate normal distribution. Ann. Statist. 9:1135-1151."
AZZALINI = "Azzalini, A. (1985). A class of distributions which includes the normal ones. Scand. J. Statist. 12:171-178."
LANDE = ("Lande, R. (1979). Quantitative genetic analysis of multivariate evolution, applied to brain:body size "
         "allometry. Evolution 33:402-416.")
BARKER = ("Barker, A. A. (1965). Monte Carlo calculations of the radial distribution functions for a "
          "proton-electron plasma. Aust. J. Phys. 18:119.")

sigma = sp.Symbol("sigma", positive=True)
tau = sp.Symbol("tau", positive=True)
beta = sp.Symbol("beta", positive=True)
k = sp.Symbol("k", positive=True)
R = sp.Symbol("R", positive=True)
g = sp.Symbol("g", positive=True)  # the gradient norm |∇f| (selection/norm-dependence)
kappa = sp.Symbol("kappa", real=True)
c = sp.symbols("c_1:4", real=True)
genome = sp.symbols("x_1:4", real=True)
h1, h2, h3, h12 = sp.symbols("h_1 h_2 h_3 h_12", real=True)

GRAD = ps.uniform(-2, 2)
PROPOSALS = 200_000  # per instance: SE ≈ σ/300 per component of a mean step


@ps.model
def fitness(np, x, c, h, kappa):
    """Fitness near the parent x = 0: f(x) = c·x + ½ xᵀHx + κ x₁³ (∇f = c, Hessian H, ∇Δf = (6κ, 0, ...))."""
    return np.dot(c, x) + np.dot(x, np.dot(h, x)) / 2 + kappa * x[0] ** 3


def _grad(x, n=3):
    return jnp.asarray([x[f"c_{i}"] for i in range(1, n + 1)], dtype=jnp.float64)


def _linear(cv):
    """The real fitness of a linear model, through the model's JAX interpreter."""
    n = cv.shape[0]
    return lambda y: fitness.jax(y, cv, jnp.zeros((n, n)), 0.0)


def _hessian(x, n):
    H = [[x["h_1"], x["h_12"], 0.0], [x["h_12"], x["h_2"], 0.0], [0.0, 0.0, x.get("h_3", 0.0)]]
    return jnp.asarray([row[:n] for row in H[:n]], dtype=jnp.float64)


# Simulators and quadratures, compiled once per process and per structure (selection and
# mutation classes are pytrees, so their parameters are traced, not baked in). The checks
# call them instance by instance (`vectorize=False`): the perturbed-closed-form runs of the
# test suite then reuse the compiled code instead of recompiling a fresh jit(vmap(...)).


@jit(static_argnames=("proposals", "antithetic"))
def _simulate_linear(key, cv, sel, mut, proposals=PROPOSALS, antithetic=True):
    """Annealing rounds for the linear model: (mean accepted step, acceptance rate) as Estimates."""
    run = anneal(key, _linear(cv), jnp.zeros_like(cv), sel, mut, proposals, antithetic, twin=False)
    return accepted_mean(run), acceptance_rate(run)


@jit(static_argnames=("proposals",))
def _simulate_ball(key, cv, radius, proposals=PROPOSALS):
    """Hard selection with proposals uniform in the ball of the given radius."""
    run = anneal(key, _linear(cv), jnp.zeros_like(cv), Hard(), Radial.ball(radius, cv.shape[0]), proposals, True, False)
    return accepted_mean(run)


@jit(static_argnames=("nodes",))
def _quadrature(cv, H, kappa, sel, cov, nodes):
    """Gauss–Hermite quadrature of the accepted-step mean and Z for the real model f."""
    f = lambda y: fitness.jax(y, cv, H, kappa)  # noqa: E731
    return gaussian_quadrature(f, jnp.zeros_like(cv), sel, cov, nodes=nodes)


class _Accepted(NamedTuple):
    """Exact law of the accepted step for the linear model: Z, E[ε], E[εεᵀ] and P(f(x') > f(x))."""

    z: jax.Array
    mean: jax.Array
    second: jax.Array
    beneficial: jax.Array


@jit
def _accepted_exact(cv, sel, cov) -> _Accepted:
    """The accepted step's moments for the linear model from their defining integrals, by the
    product rule aligned with the gradient (`gaussian_selection_moments`: composite Gauss-Legendre
    along it, Gauss-Hermite across): exact to round-off for smooth P_s and for a jump at 0."""
    f = _linear(cv)
    zero = jnp.zeros_like(cv)
    n = cv.shape[0]

    def stats(e):
        return jnp.concatenate([e, jnp.outer(e, e).reshape(-1), (f(e) > f(zero)).astype(jnp.float64)[None]])

    num, z = gaussian_selection_moments(f, zero, sel, cov, stats)
    m = num / z
    return _Accepted(z, m[:n], m[n:n + n * n].reshape(n, n), m[-1])


def _norm(v):
    return sp.sqrt(sum(e**2 for e in v))


def _unevaluated(*factors):
    """A product shown as written (e.g. α_s times an integral), evaluated numerically as usual."""
    return sp.Mul(*factors, evaluate=False)


# ----------------------------------------------------------------------------- B1–B3


@jit
def _until_won(key, cv, sel, mut):
    """Run propose/accept/repeat until a mutant wins, 5e4 times (linear f):
    Z = 1/mean(rounds) (delta-method SE) and the share of winners that raised f."""
    steps, rounds = anneal_until_accepted(key, _linear(cv), jnp.zeros_like(cv), sel, mut, 50_000)
    mean_rounds = estimate(rounds.astype(jnp.float64))
    z = Estimate(1.0 / mean_rounds.mean, mean_rounds.se / mean_rounds.mean**2)
    return z, estimate((steps @ cv > 0).astype(jnp.float64))


@jit(static_argnames=("order",))
def _small_mutation_coefficients(cv, H, kappa, sel, order: int = 4):
    """Taylor coefficients at σ = 0, to σ^order, of Z(σ) and of the accepted-step mean E[ε](σ) for
    ε = σz, z ~ N(0, I), on the real model f (Taylor-mode autodiff of a Gauss-Hermite rule with 8 nodes
    per axis: each coefficient is a polynomial moment of z of degree < 16, integrated exactly)."""
    n = cv.shape[0]
    f = lambda y: fitness.jax(y, cv, H, kappa)  # noqa: E731
    z1, w1 = (jnp.asarray(a) for a in hermite_rule(8))
    z = jnp.stack([g.reshape(-1) for g in jnp.meshgrid(*([z1] * n), indexing="ij")], axis=-1)
    w = jnp.prod(jnp.stack([g.reshape(-1) for g in jnp.meshgrid(*([w1] * n), indexing="ij")], axis=-1), axis=-1)

    def moments(scale):
        eps = scale * z
        p = sel.jax(jax.vmap(f)(eps) - f(jnp.zeros(n)))
        return jnp.concatenate([jnp.sum(w * p)[None], (w * p) @ eps / jnp.sum(w * p)])

    c = taylor_coefficients(moments, order)
    return c[:, 0], c[:, 1:]


@ps.kept
def _normal_mean_of_phi(v, tau):
    """E[φ(t/τ)] for t ~ N(0, v), φ the standard normal density: SymPy's integral over the line."""
    t = sp.Symbol("t", real=True)
    return sp.integrate(sp.exp(-t**2 / (2 * v)) / sp.sqrt(2 * sp.pi * v) * sp.exp(-t**2 / (2 * tau**2)) / sp.sqrt(2 * sp.pi),
                        (t, -sp.oo, sp.oo))


@ps.kept
def _half_normal_probit(a):
    """(d/da, value) of ∫_0^∞ φ(u) Φ(a u) du: the value by integrating the derivative in a from Φ(0)/2."""
    b, u = sp.Symbol("b", positive=True), sp.Symbol("u", positive=True)
    phi = lambda v: sp.exp(-v**2 / 2) / sp.sqrt(2 * sp.pi)  # noqa: E731
    slope = sp.integrate(u * phi(u) * phi(a * u), (u, 0, sp.oo))  # d/da of ∫_0^∞ φ(u) Φ(au) du
    at_zero = sp.integrate(phi(u), (u, 0, sp.oo)) / 2  # Φ(0) = 1/2
    return slope, at_zero + sp.integrate(slope.subs(a, b), (b, 0, a))


@ps.derivation("selection/transition")
def selection_transition() -> ps.Derivation:
    r"""Transition law of the annealing model; acceptance probability; small-mutation limit.

    .. math::
        P(x' \mid x) = \alpha_s\, P_m(\epsilon)\, P_s\big(f(x') - f(x)\big), \qquad
        \alpha_s = \frac1Z, \quad Z = \int P_m(\epsilon)\, P_s\big(f(x+\epsilon) - f(x)\big)\, d\epsilon .

    Z is the probability that a round's mutant wins, so the number of rounds per
    step is geometric with mean :math:`\alpha_s`. For probit selection :math:`P_s = \Phi(\Delta/\tau)`,
    :math:`\epsilon \sim \mathcal N(0, \sigma^2 I_3)` and linear f:

    .. math::
        Z = \tfrac12, \qquad
        P(\Delta f > 0 \mid \text{accepted}) = \tfrac12 + \tfrac1\pi \arctan\frac{\sigma\lVert\nabla f\rVert}{\tau},

    and for a smooth f in two dimensions (small-mutation limit, Hessian H)
    :math:`Z = \tfrac12 + \sigma^2 \operatorname{tr}H / (2\sqrt{2\pi}\,\tau) + O(\sigma^4)`.

    Assumptions: one parent, binary fission into a clone and a mutant, no
    recombination (B0). References: Sourbut (2022), B1–B3.
    """
    sel, mut = Probit(tau), Gaussian(sigma)
    z_linear = acceptance(sel, mut, c)

    # P(t > 0 | accepted), t = ε·c ~ N(0, σ²|c|²): α_s E[1{t>0} Φ(a u)], u standard normal, a = σ|c|/τ.
    a = sp.Symbol("a", positive=True)
    slope, half_integral = _half_normal_probit(a)
    beneficial = sp.expand(half_integral / z_linear).subs(a, sigma * _norm(c) / tau)

    # Small-mutation limit for a nonlinear f (2-D model), derived from the model by Gaussian moments.
    H2 = [[h1, h12], [h12, h2]]
    f2 = fitness.sympy(list(genome[:2]), list(c[:2]), H2, kappa)
    z_small, _ = small_mutation_series(sel, f2, genome[:2], sigma)

    def rate_ref(x, key):
        # Run the annealing process until a mutant wins; rounds are geometric with mean 1/Z.
        return _until_won(key, _grad(x), Probit(x["tau"]), Gaussian(x["sigma"]))[0]

    def beneficial_ref(x, key):
        # Independent runs of the same process: the share of winning mutants that raised f.
        return _until_won(key, _grad(x), Probit(x["tau"]), Gaussian(x["sigma"]))[1]

    def rate_exact(x):
        return _accepted_exact(_grad(x), Probit(x["tau"]), x["sigma"] ** 2 * jnp.eye(3)).z

    def beneficial_exact(x):
        return _accepted_exact(_grad(x), Probit(x["tau"]), x["sigma"] ** 2 * jnp.eye(3)).beneficial

    def small_series(x):
        # The small-mutation series' own coefficients: Z(σ) to σ² by autodiff at σ = 0.
        coefficients = _small_mutation_coefficients(_grad(x, 2), _hessian(x, 2), x["kappa"], Probit(x["tau"]))[0]
        return coefficients[:3] @ x["sigma"] ** jnp.arange(3)

    def small_ref(x):
        # Gauss–Hermite quadrature (48² nodes) of Z = E_m[P_s(f(ε) − f(0))] for the real quadratic + cubic f.
        return _quadrature(_grad(x, 2), _hessian(x, 2), x["kappa"], Probit(x["tau"]), x["sigma"] ** 2 * jnp.eye(2), 48)[1]

    return ps.Derivation(
        lhs=("Z", r"P(\Delta f > 0 \mid \text{accepted})", r"Z\ (\text{quadratic } f,\ O(\sigma^4))"),
        result=sp.Tuple(z_linear, beneficial, z_small),
        symbols={sigma: ps.uniform(0.05, 0.2), tau: ps.uniform(0.1, 0.4), c[0]: GRAD, c[1]: GRAD, c[2]: GRAD,
                 h1: ps.uniform(0.5, 1.5), h2: ps.uniform(-0.4, 0.4)},
        assumptions=(
            r"$P_s$ non-decreasing with values in $[0, 1]$; $P_m$ symmetric, $P_m(\epsilon) = P_m(-\epsilon)$",
            r"one round: mutant $x+\epsilon$ against a perfect clone; the clone's win restarts the round",
            r"parts 1–2: $P_s = \Phi(\Delta/\tau)$, $\epsilon \sim \mathcal N(0, \sigma^2 I_3)$, $f$ linear",
            r"part 3: $f(x) = c\cdot x + \tfrac12 x^\top H x + \kappa x_1^3$ in two dimensions, $\sigma \to 0$",
        ),
        steps=(
            ps.Step(lhs=r"P(\epsilon \mid x)", rhs=(r"\alpha_s P_m(\epsilon)\,P_s(\Delta f)"),
                    why="the winning mutant of a run of rounds: density of a proposal times its chance to win, "
                        "renormalised over the rounds the clone won (geometric, mean $\\alpha_s = 1/Z$)", check=False),
            ps.Step(lhs=r"\tfrac12\big(P_s(\Delta) + P_s(-\Delta)\big)", rhs=sp.S.Half,
                    why=r"probit is symmetric ($\operatorname{erf}$ is odd); pairing $\epsilon$ with $-\epsilon$ "
                        r"gives $Z = \tfrac12$ for linear $f$", check=False),
            ps.Step(lhs=r"\frac{d}{da}\int_0^\infty \varphi(u)\Phi(au)\,du", rhs=slope,
                    why=r"differentiate under the integral: $\int_0^\infty u\,\varphi(u)\varphi(au)\,du$", check=False),
            ps.Step(lhs=r"\int_0^\infty \varphi(u)\Phi(au)\,du", rhs=half_integral,
                    why=r"integrate in $a$ from $a = 0$, where the integral is $\Phi(0)/2 = 1/4$", check=False),
            ps.Step(lhs=_unevaluated(1 / z_linear, half_integral.subs(a, sigma * _norm(c) / tau)), rhs=beneficial,
                    why=r"divide by $Z = 1/2$ and put $a = \sigma\lVert c\rVert/\tau$ "
                        r"($t = \epsilon\cdot c$ has sd $\sigma\lVert c\rVert$)"),
            ps.Step(lhs=sp.Add(sel.at_zero(), _unevaluated(sp.S.Half, sigma**2, sel.derivative_at_zero(1), h1 + h2),
                               evaluate=False), rhs=z_small,
                    why=r"$\Delta f = \sigma c\cdot z + \tfrac{\sigma^2}2 z^\top H z + O(\sigma^3)$, $P_s$ to third order, "
                        r"Gaussian moments; $P_s''(0) = 0$ so only $\tfrac12 P_s'(0)\sigma^2\operatorname{tr}H$ survives"),
        ),
        checks=(
            ps.quadrature(rate_exact, target=ps.part(0), label="acceptance probability, quadrature", rtol=1e-12,
                          describe="Z = E_m[P_s(f(ε) - f(0))] by the product rule aligned with the gradient "
                                   "(gaussian_selection_moments: composite Gauss-Legendre along, Gauss-Hermite across)",
                          tolerance="aligned product rule, converged to round-off: rel 1e-12"),
            ps.quadrature(beneficial_exact, target=ps.part(1), label="beneficial winners, quadrature", rtol=1e-12,
                          describe="E_m[1{f(ε) > f(0)} P_s(f(ε) - f(0))]/Z by the aligned product rule (the jump of "
                                   "the indicator sits on a panel edge)",
                          tolerance="aligned product rule, converged to round-off: rel 1e-12"),
            ps.monte_carlo(rate_ref, target=ps.part(0), label="acceptance probability", vectorize=False,
                           describe="run propose/accept/repeat until a mutant wins (5e4 runs, linear f); "
                                    "Z = 1 / mean number of rounds"),
            ps.monte_carlo(beneficial_ref, target=ps.part(1), label="beneficial winners", vectorize=False,
                           describe="run propose/accept/repeat until a mutant wins (5e4 runs); share with f(x') > f(x)"),
            ps.autodiff(small_series, target=ps.part(2), label="small-mutation acceptance, Taylor coefficients",
                        domains={h12: ps.uniform(-0.5, 0.5), kappa: ps.uniform(-1, 1)}, vectorize=False,
                        describe="Taylor coefficients of Z(σ) = E_z[P_s(f(σz) - f(0))] to σ² at σ = 0 (Taylor-mode "
                                 "autodiff of an 8x8 Gauss-Hermite rule, exact for the polynomial moments involved)"),
            ps.order(small_ref, target=ps.part(2), small=sigma, sweep=(0.01, 0.005, 0.0025, 0.00125), order=4,
                     vectorize=False, domains={h12: ps.uniform(-0.5, 0.5), kappa: ps.uniform(-1, 1)},
                     label="small-mutation acceptance",
                     describe="Gauss-Hermite quadrature (48x48) of Z for the real quadratic + cubic f",
                     tolerance="remainder O(sigma^4): fitted log-log slope >= 3.75 over sigma = 0.01..0.00125"),
        ),
        references=(SOURBUT,),
        model=fitness,
    )


# ----------------------------------------------------------------------------- B4


_BALL_R = np.polynomial.legendre.leggauss(8)
_BALL_THETA = np.polynomial.legendre.leggauss(24)


@jit
def _ball_step(cv, radius):
    """E[ε | accepted] for ε uniform in the ball and hard selection on the linear model: the
    defining integrals in spherical coordinates about ĉ (density ∝ r² sin θ); the model decides
    acceptance at every node; θ is split at π/2, where f(ε) = f(0)."""
    f = _linear(cv)
    chat = cv / jnp.linalg.norm(cv)
    frame, _ = jnp.linalg.qr(jnp.stack([chat, jnp.array([0.48, 0.6, 0.64]), jnp.array([0.8, -0.36, 0.48])], axis=1))
    frame = frame * jnp.sign(frame[:, :1].T @ chat)[None, :1]  # first column +ĉ
    r_x, r_w = (jnp.asarray(a) for a in _BALL_R)
    t_x, t_w = (jnp.asarray(a) for a in _BALL_THETA)
    r, wr = radius * (r_x + 1) / 2, radius / 2 * r_w
    theta = jnp.concatenate([jnp.pi / 4 * (t_x + 1), jnp.pi / 2 + jnp.pi / 4 * (t_x + 1)])
    wt = jnp.concatenate([jnp.pi / 4 * t_w, jnp.pi / 4 * t_w])
    phi = 2 * jnp.pi * jnp.arange(16) / 16
    R_, T_, P_ = (g.reshape(-1) for g in jnp.meshgrid(r, theta, phi, indexing="ij"))
    weights = jnp.einsum("i,j->ij", wr, wt)[:, :, None] * jnp.ones(16)
    weights = weights.reshape(-1) * R_**2 * jnp.sin(T_)
    local = jnp.stack([R_ * jnp.cos(T_), R_ * jnp.sin(T_) * jnp.cos(P_), R_ * jnp.sin(T_) * jnp.sin(P_)], axis=1)
    eps = local @ frame.T
    accept = Hard().jax(jax.vmap(f)(eps) - f(jnp.zeros(3)))
    return (weights * accept) @ eps / jnp.sum(weights * accept)


@ps.derivation("selection/expected-step")
def selection_expected_step() -> ps.Derivation:
    r"""Expected step of the annealing model: a gradient step whose learning rate depends on the gradient norm.

    .. math::
        \mathbb E[\epsilon] = \eta(\lVert\nabla f\rVert)\,\nabla f, \qquad
        \eta = \frac{\alpha_s A_{n-2}}{\lVert\nabla f\rVert}\int_0^\infty g(r)\, r^n
               \int_0^\pi \cos\theta \sin^{n-2}\theta\, P_s(r\lVert\nabla f\rVert\cos\theta)\, d\theta\, dr .

    Gaussian mutation :math:`\mathcal N(0, \sigma^2 I)`: probit selection (Stein's lemma, exact for
    linear f) :math:`\mathbb E[\epsilon] = \sqrt{2/\pi}\,\sigma^2\nabla f/\sqrt{\tau^2 + \sigma^2\lVert\nabla f\rVert^2}`;
    hard selection :math:`\sigma\sqrt{2/\pi}\,\nabla f/\lVert\nabla f\rVert`; any radial law with hard
    selection :math:`\mathbb E_m[r]\,\Gamma(\frac n2)/(\sqrt\pi\,\Gamma(\frac{n+1}2))\,\nabla f/\lVert\nabla f\rVert`
    (uniform ball of radius R in 3-D: :math:`\tfrac{3R}{8}`); weak selection
    :math:`\eta_0 = \frac{P_s'(0)}{P_s(0)}\sigma^2` (logistic: :math:`\beta\sigma^2/2`).

    Assumptions: linear f, or the small-mutation limit of a smooth f (error
    :math:`O(\sigma^4)`); :math:`P_m` radially symmetric. References: Sourbut (2022) B4; Stein (1981).
    """
    mut = Gaussian(sigma)
    probit = expected_step(Probit(tau), mut, c)
    hard = expected_step(Hard(), mut, c)
    ball = Radial.ball(R, 3)
    hard_ball = expected_step(Hard(), ball, c)
    eta_logistic = weak_limit(Logistic(beta), mut, [g])[0] / g

    # Stein's lemma route for the probit, written out.
    v = sp.Symbol("v", positive=True)  # variance of t = ε·c
    gauss_phi = _normal_mean_of_phi(v, tau)
    r, theta = sp.Symbol("r", positive=True), sp.Symbol("theta", positive=True)
    eta_probit = learning_rate(Probit(tau), sigma, g)
    eta_hard = learning_rate(Hard(), sigma, g)

    def probit_ref(x, key):
        # Rejection sampling with linear f: propose, accept with Φ(Δf/τ); mean of the winners.
        return _simulate_linear(key, _grad(x), Probit(x["tau"]), Gaussian(x["sigma"]))[0]

    def nonlinear_ref(x):
        # Gauss–Hermite quadrature (40³ nodes) of E_m[ε P_s(f(ε)−f(0))]/Z for the real nonlinear f.
        return _quadrature(_grad(x), _hessian(x, 3), x["kappa"], Probit(x["tau"]), x["sigma"] ** 2 * jnp.eye(3), 40)[0]

    def hard_ref(x, key):
        return _simulate_linear(key, _grad(x), Hard(), Gaussian(x["sigma"]))[0]

    def probit_exact(x):
        return _accepted_exact(_grad(x), Probit(x["tau"]), x["sigma"] ** 2 * jnp.eye(3)).mean

    def hard_exact(x):
        return _accepted_exact(_grad(x), Hard(), x["sigma"] ** 2 * jnp.eye(3)).mean

    def ball_exact(x):
        return _ball_step(_grad(x), x["R"])

    def ball_ref(x, key):
        # Proposals uniform in the ball of radius R (a non-Gaussian radial law), hard selection.
        return _simulate_ball(key, _grad(x), x["R"])

    def logistic_leading(x):
        # The weak limit is η at g -> 0: the Taylor coefficient of order 1 of η(g) g at g = 0 (autodiff).
        return _rate_times_norm_coefficients(Logistic(x["beta"]), x["sigma"])[1]

    def logistic_ref(x):
        # η = E[ε]·∇f/|∇f|² by Gauss–Hermite quadrature (40³ nodes), ∇f = (g, 0, 0).
        cv = jnp.asarray([x["g"], 0.0, 0.0])
        step, _ = _quadrature(cv, jnp.zeros((3, 3)), 0.0, Logistic(x["beta"]), x["sigma"] ** 2 * jnp.eye(3), 40)
        return step[0] / x["g"]

    return ps.Derivation(
        lhs=(r"\mathbb E[\epsilon]\ (\text{probit})", r"\mathbb E[\epsilon]\ (\text{hard})",
             r"\mathbb E[\epsilon]\ (\text{hard, ball of radius } R)", r"\eta_0\ (\text{logistic})"),
        result=sp.Tuple(probit, hard, hard_ball, eta_logistic),
        symbols={sigma: ps.uniform(0.05, 0.2), tau: ps.uniform(0.1, 0.4), beta: ps.uniform(2, 10),
                 R: ps.uniform(0.05, 0.3), g: ps.uniform(0.5, 2), c[0]: GRAD, c[1]: GRAD, c[2]: GRAD},
        assumptions=(
            r"$f$ linear near $x$: $f(x+\epsilon) - f(x) = \epsilon\cdot\nabla f$ (else the small-mutation limit)",
            r"$P_m$ radially symmetric: $\mathcal N(0, \sigma^2 I_3)$, or uniform in the ball of radius $R$",
            r"$P_s$: probit $\Phi(\Delta/\tau)$, hard $\mathbf 1\{\Delta > 0\}$, logistic $\sigma(\beta\Delta)$",
        ),
        steps=(
            ps.Step(lhs=r"\mathbb E[\epsilon]", rhs=(r"\alpha_s\,\mathbb E_m[\epsilon\,P_s(\epsilon\cdot\nabla f)]"),
                    why=r"mean of the transition law $\alpha_s P_m P_s$; components orthogonal to $\nabla f$ cancel by "
                        "reflection, so the step is parallel to the gradient", check=False),
            ps.Step(lhs=r"\mathbb E_m[\epsilon\,\Phi(\epsilon\cdot c/\tau)]",
                    rhs=(r"\frac{\sigma^2 c}{\tau}\,\mathbb E[\varphi(t/\tau)]"),
                    why=r"Stein's lemma $\mathbb E[\epsilon h(\epsilon)] = \sigma^2\mathbb E[\nabla h(\epsilon)]$", check=False),
            ps.Step(lhs=r"\mathbb E[\varphi(t/\tau)],\ t \sim \mathcal N(0, v)", rhs=gauss_phi,
                    why="a Gaussian integral (SymPy)", check=False),
            ps.Step(lhs=_unevaluated(2, sigma**2 * c[0] / tau, gauss_phi.subs(v, sigma**2 * sum(e**2 for e in c))),
                    rhs=probit[0], why=r"$\alpha_s = 2$ and $v = \sigma^2\lVert c\rVert^2$ (first component; the others alike)"),
            ps.Step(lhs=sp.Limit(eta_probit, g, 0), rhs=weak_limit(Probit(tau), mut, [g])[0] / g,
                    why=r"weak selection $\sigma\lVert\nabla f\rVert \ll \tau$: $\eta_0 = P_s'(0)\sigma^2/P_s(0)$"),
            ps.Step(lhs=sp.Limit(eta_probit, tau, 0), rhs=eta_hard,
                    why=r"$\tau \to 0$: hard selection, a normalised-gradient step of length $\sigma\sqrt{2/\pi}$"),
            ps.Step(lhs=sp.Integral(4 * sp.pi * r**3 / (sp.Rational(4, 3) * sp.pi * R**3), (r, 0, R)), rhs=ball.moment(1),
                    why=r"$\mathbb E_m[r] = A_2\int_0^R g(r)\,r^3\,dr$ with $g = 1/V_3(R)$"),
            ps.Step(lhs=_unevaluated(2, 2 * sp.pi, sp.Integral(sp.cos(theta) * sp.sin(theta), (theta, 0, sp.pi / 2)),
                                     1 / (4 * sp.pi)),
                    rhs=sp.gamma(sp.Rational(3, 2)) / (sp.sqrt(sp.pi) * sp.gamma(2)),
                    why=r"angular factor $\alpha_s A_{n-2}\int_0^{\pi/2}\cos\theta\sin^{n-2}\theta\,d\theta / A_{n-1}$ "
                        r"at $n = 3$; the step is $\mathbb E_m[r]$ times it"),
            ps.Step(lhs=_unevaluated(Logistic(beta).derivative_at_zero(1), 1 / Logistic(beta).at_zero(), sigma**2),
                    rhs=eta_logistic, why=r"logistic: $P_s'(0) = \beta/4$, $P_s(0) = 1/2$"),
        ),
        checks=(
            ps.quadrature(probit_exact, target=ps.part(0), label="probit, linear f, quadrature", rtol=1e-12,
                          describe="E_m[ε P_s(f(ε) - f(0))]/Z by the product rule aligned with the gradient "
                                   "(gaussian_selection_moments)",
                          tolerance="aligned product rule, converged to round-off: rel 1e-12"),
            ps.quadrature(hard_exact, target=ps.part(1), label="hard, Gaussian mutation, quadrature", rtol=1e-12,
                          describe="the same integrals for hard selection (its jump on a panel edge)",
                          tolerance="aligned product rule, converged to round-off: rel 1e-12"),
            ps.quadrature(ball_exact, target=ps.part(2), label="hard, uniform-ball mutation, quadrature", rtol=1e-12,
                          describe="E[ε 1{accepted}]/P(accepted) over the ball in spherical coordinates about the "
                                   "gradient: Gauss-Legendre in r and in θ (split where f(ε) = f(0)), trapezoid in φ",
                          tolerance="the integrands are polynomials in r and trigonometric in the angles, integrated "
                                    "exactly by these rules: rel 1e-12"),
            ps.monte_carlo(probit_ref, target=ps.part(0), label="probit, linear f", vectorize=False,
                           describe="rejection sampling, 2e5 antithetic proposals per instance; mean accepted step"),
            ps.order(nonlinear_ref, target=ps.part(0), small=sigma, sweep=(0.01, 0.005, 0.0025, 0.00125), order=4,
                     vectorize=False, domains={h1: ps.uniform(-1, 1), h2: ps.uniform(-1, 1), h3: ps.uniform(-1, 1),
                              h12: ps.uniform(-0.5, 0.5), kappa: ps.uniform(0.5, 1.5)},
                     label="probit, nonlinear f (small-mutation limit)",
                     describe="Gauss-Hermite quadrature (40^3) of the accepted-step mean for the real quadratic + cubic f",
                     tolerance="curvature error O(sigma^4) (B7): fitted log-log slope >= 3.75 over sigma = 0.01..0.00125"),
            ps.monte_carlo(hard_ref, target=ps.part(1), label="hard, Gaussian mutation", vectorize=False,
                           describe="rejection sampling, 2e5 antithetic proposals; mean accepted step"),
            ps.monte_carlo(ball_ref, target=ps.part(2), label="hard, uniform-ball mutation", vectorize=False,
                           describe="rejection sampling with proposals uniform in the ball; mean accepted step"),
            ps.autodiff(logistic_leading, target=ps.part(3), label="logistic weak limit, g -> 0", vectorize=False,
                        describe="the limit g -> 0 of η(g) = E[u P_s(gu)]/(g E[P_s(gu)]), u ~ N(0, σ²): the Taylor "
                                 "coefficient of order 1 at g = 0 of η(g) g (Taylor-mode autodiff of a 12-node "
                                 "Gauss-Hermite rule, exact for these polynomial moments)"),
            ps.order(logistic_ref, target=ps.part(3), small=sigma, sweep=(0.04, 0.02, 0.01, 0.005), order=4,
                     vectorize=False, label="logistic weak limit",
                     describe="Gauss-Hermite quadrature (40^3) of eta for logistic selection",
                     tolerance="saturation error O(sigma^4) (P_s'''(0) term of B7): fitted slope >= 3.75"),
        ),
        references=(SOURBUT, STEIN, BARKER),
        model=fitness,
    )


# ----------------------------------------------------------------------------- B5


@jit
def _step_moments(key, cv, sel, mut):
    """Moments of the winners' components along ĉ and along a fixed unit vector across it."""
    chat = cv / jnp.linalg.norm(cv)
    other = jnp.cross(chat, jnp.array([0.48, 0.6, 0.64]))  # a fixed unit vector; c is random, so not parallel
    perp = other / jnp.linalg.norm(other)
    run = anneal(key, _linear(cv), jnp.zeros(3), sel, mut, PROPOSALS, twin=False)
    par_mean = accepted_mean(run, lambda e: e @ chat)
    perp_mean = accepted_mean(run, lambda e: e @ perp)
    m, w = par_mean.mean, perp_mean.mean
    var_par = accepted_mean(run, lambda e: (e @ chat - m) ** 2)
    var_perp = accepted_mean(run, lambda e: (e @ perp - w) ** 2)
    cov = accepted_mean(run, lambda e: (e @ chat - m) * (e @ perp - w))
    parts = (par_mean, var_par, var_perp, cov)
    return Estimate(jnp.stack([p.mean for p in parts]), jnp.stack([p.se for p in parts]))


@ps.derivation("selection/step-noise")
def selection_step_noise() -> ps.Derivation:
    r"""Law of the accepted step: isotropic off the gradient, skew-normal along it.

    With :math:`\hat c = \nabla f/\lVert\nabla f\rVert`, the component :math:`\epsilon_\parallel = \epsilon\cdot\hat c`
    has density :math:`\propto \varphi(u/\sigma)\,P_s(\lVert\nabla f\rVert u)`; components orthogonal
    to the gradient stay :math:`\mathcal N(0, \sigma^2)`, independent of it. For probit selection
    :math:`\epsilon_\parallel \sim \mathrm{SN}(0, \sigma, \alpha)`, :math:`\alpha = \sigma\lVert\nabla f\rVert/\tau`,
    :math:`\delta = \alpha/\sqrt{1+\alpha^2}`:

    .. math::
        \mathbb E[\epsilon_\parallel] = \sigma\delta\sqrt{2/\pi}, \quad
        \operatorname{Var}[\epsilon_\parallel] = \sigma^2\big(1 - 2\delta^2/\pi\big), \quad
        \operatorname{Var}[\epsilon_\perp] = \sigma^2, \quad
        \operatorname{Cov}[\epsilon_\parallel, \epsilon_\perp] = 0 .

    Assumptions: linear f, Gaussian mutation. References: Sourbut (2022) B5; Azzalini (1985).
    """
    gnorm = _norm(c)
    mean_par, var_par = skew_normal_moments(sigma, tau, gnorm)
    result = sp.ImmutableMatrix([mean_par, var_par, sigma**2, 0])
    step_norm = _norm(expected_step(Probit(tau), Gaussian(sigma), c))

    def ref(x, key):
        return _step_moments(key, _grad(x), Probit(x["tau"]), Gaussian(x["sigma"]))

    def exact_ref(x):
        cv = _grad(x)
        chat = cv / jnp.linalg.norm(cv)
        other = jnp.cross(chat, jnp.array([0.48, 0.6, 0.64]))
        perp = other / jnp.linalg.norm(other)
        law = _accepted_exact(cv, Probit(x["tau"]), x["sigma"] ** 2 * jnp.eye(3))
        cov = law.second - jnp.outer(law.mean, law.mean)
        return jnp.stack([law.mean @ chat, chat @ cov @ chat, perp @ cov @ perp, chat @ cov @ perp])

    return ps.Derivation(
        lhs=r"\big(\mathbb E\epsilon_\parallel,\ \operatorname{Var}\epsilon_\parallel,\ \operatorname{Var}\epsilon_\perp,\ "
            r"\operatorname{Cov}(\epsilon_\parallel, \epsilon_\perp)\big)",
        result=result,
        symbols={sigma: ps.uniform(0.05, 0.2), tau: ps.uniform(0.1, 0.4), c[0]: GRAD, c[1]: GRAD, c[2]: GRAD},
        assumptions=(r"$f$ linear near $x$", r"$\epsilon \sim \mathcal N(0, \sigma^2 I_3)$",
                     r"$P_s(\Delta) = \Phi(\Delta/\tau)$ (the parallel density holds for any $P_s$)"),
        steps=(
            ps.Step(lhs=r"p(\epsilon_\parallel, \epsilon_\perp)",
                    rhs=(r"\alpha_s\,\varphi(\epsilon_\parallel/\sigma)\,\Phi(\lVert c\rVert\epsilon_\parallel/\tau)\,"
                             r"\varphi(\epsilon_\perp/\sigma)/\sigma^2"),
                    why=r"$P_m$ factorises along $\hat c$ and its complement and $P_s$ sees only $\epsilon\cdot c$", check=False),
            ps.Step(lhs=r"2\varphi(u)\Phi(\alpha u)", rhs=(r"\mathrm{SN}(0, 1, \alpha)"),
                    why=r"Azzalini's skew-normal density, with $u = \epsilon_\parallel/\sigma$", check=False),
            ps.Step(lhs=step_norm, rhs=mean_par,
                    why=r"the mean is the length of the expected step (selection/expected-step)"),
            ps.Step(lhs=sigma**2 - mean_par**2, rhs=var_par,
                    why=r"$\mathbb E[\epsilon_\parallel^2] = 2\mathbb E_m[u^2\Phi(\cdot)] = \sigma^2$: "
                        r"$u^2(\Phi - \tfrac12)$ is odd"),
        ),
        checks=(
            ps.quadrature(exact_ref, label="moments of the accepted step, quadrature", rtol=1e-12, atol=1e-15,
                          describe="first and second moments of the accepted step along and across the gradient from "
                                   "their defining integrals (gaussian_selection_moments, aligned product rule)",
                          tolerance="aligned product rule, converged to round-off: rel 1e-12, abs 1e-15 (the "
                                    "covariance is 0)"),
            ps.monte_carlo(ref, label="moments of the accepted step", vectorize=False,
                           describe="rejection sampling (2e5 proposals per instance); moments of the winners' "
                                    "components along and across the gradient (delta-method SEs)"),
        ),
        references=(SOURBUT, AZZALINI),
        model=fitness,
    )


# ----------------------------------------------------------------------------- B6

s11, s12, s22, s33 = sp.symbols("s_11 s_12 s_22 s_33", real=True)
SHAPE = sp.Matrix([[s11, s12, 0], [s12, s22, 0], [0, 0, s33]])


def _shape(x):
    return jnp.asarray([[x["s_11"], x["s_12"], 0.0], [x["s_12"], x["s_22"], 0.0], [0.0, 0.0, x["s_33"]]])


@jit
def _leading_step(cv, sel, root):
    """The σ² Taylor coefficient of the accepted-step mean for ε = σ L z, z ~ N(0, I): nested
    forward-mode autodiff in σ at 0 of the Gauss-Hermite quadrature (8 nodes per axis are exact
    for the polynomial moments that the coefficient involves)."""
    f = _linear(cv)
    z1, w1 = (jnp.asarray(a) for a in hermite_rule(8))
    z = jnp.stack([g.reshape(-1) for g in jnp.meshgrid(z1, z1, z1, indexing="ij")], axis=-1)
    w = jnp.prod(jnp.stack([g.reshape(-1) for g in jnp.meshgrid(w1, w1, w1, indexing="ij")], axis=-1), axis=-1)

    def mean_step(scale):
        eps = scale * z @ root.T
        p = sel.jax(jax.vmap(f)(eps) - f(jnp.zeros(3)))
        return (w * p) @ eps / jnp.sum(w * p)

    return taylor_coefficients(mean_step, 2)[2]


@ps.derivation("selection/anisotropic")
def selection_anisotropic() -> ps.Derivation:
    r"""Anisotropic mutation: selection takes a preconditioned (Lande-like) gradient step.

    With :math:`\epsilon \sim \mathcal N(0, \Sigma_m)`, :math:`\Sigma_m = \sigma^2 S`:

    .. math::
        \mathbb E[\epsilon] = \sqrt{\frac2\pi}\,\frac{\Sigma_m\nabla f}{\sqrt{\tau^2 + \nabla f^\top\Sigma_m\nabla f}}
        \ \ (\text{probit, exact}), \qquad
        \mathbb E[\epsilon] \approx \frac{P_s'(0)}{P_s(0)}\,\Sigma_m\nabla f = \operatorname{gcov}(x, f)\ \text{scaled}
        \ \ (\text{weak selection}).

    The weak form is Lande's :math:`\Delta\bar z = G\beta` with :math:`G = \Sigma_m`.
    Assumptions: linear f; Gaussian mutation. References: Sourbut (2022) B6; Lande (1979).
    """
    Sigma = sigma**2 * SHAPE
    mut = AnisotropicGaussian(Sigma)
    exact = expected_step(Probit(tau), mut, c).applyfunc(sp.factor)
    weak = weak_limit(Probit(tau), mut, c).applyfunc(sp.factor)
    f_lin = fitness.sympy(list(genome), list(c), sp.zeros(3, 3).tolist(), 0)
    lande = ps.gcov(sp.Matrix(genome), f_lin, list(genome), Sigma)

    def exact_ref(x, key):
        # Rejection sampling with correlated Gaussian proposals N(0, σ² S).
        return _simulate_linear(key, _grad(x), Probit(x["tau"]), AnisotropicGaussian(x["sigma"] ** 2 * _shape(x)))[0]

    def exact_quadrature(x):
        return _accepted_exact(_grad(x), Probit(x["tau"]), x["sigma"] ** 2 * _shape(x)).mean

    def weak_coefficient(x):
        # The weak-selection limit is the sigma^2 coefficient of the exact mean step: its Taylor
        # coefficient at sigma = 0 (Taylor-mode autodiff of the quadrature), times sigma^2.
        return _leading_step(_grad(x), Probit(x["tau"]), jnp.linalg.cholesky(_shape(x))) * x["sigma"] ** 2

    def weak_ref(x):
        # Gauss–Hermite quadrature (40³) of the accepted-step mean with the same law.
        return _quadrature(_grad(x), jnp.zeros((3, 3)), 0.0, Probit(x["tau"]), x["sigma"] ** 2 * _shape(x), 40)[0]

    return ps.Derivation(
        lhs=(r"\mathbb E[\epsilon]\ (\text{probit})", r"\mathbb E[\epsilon]\ (\text{weak selection})"),
        result=sp.Tuple(exact, weak),
        symbols={sigma: ps.uniform(0.05, 0.2), tau: ps.uniform(0.1, 0.4), c[0]: GRAD, c[1]: GRAD, c[2]: GRAD,
                 s11: ps.uniform(0.5, 3), s22: ps.uniform(0.5, 3), s12: ps.uniform(-0.45, 0.45), s33: ps.uniform(0.5, 3)},
        assumptions=(r"$f$ linear near $x$", r"$\epsilon \sim \mathcal N(0, \sigma^2 S)$, $S$ positive definite",
                     r"$P_s(\Delta) = \Phi(\Delta/\tau)$"),
        steps=(
            ps.Step(lhs=r"\mathbb E_m[\epsilon\,\Phi(\epsilon\cdot c/\tau)]",
                    rhs=(r"\Sigma_m c\,\mathbb E[\varphi(t/\tau)]/\tau"),
                    why=r"Stein's lemma for $\mathcal N(0, \Sigma_m)$: $\mathbb E[\epsilon h] = \Sigma_m\mathbb E[\nabla h]$",
                    check=False),
            ps.Step(lhs=weak, rhs=(sp.sqrt(2 / sp.pi) / tau * lande).applyfunc(sp.factor),
                    why=r"weak selection: $\frac{P_s'(0)}{P_s(0)}\Sigma_m\nabla f = "
                        r"\sqrt{2/\pi}\,\tau^{-1}\operatorname{gcov}(x, f)$ "
                        r"with $G = \Sigma_m$ (Lande's $G\beta$)"),
        ),
        checks=(
            ps.quadrature(exact_quadrature, target=ps.part(0), label="probit, correlated mutation, quadrature",
                          rtol=1e-12,
                          describe="E_m[ε P_s(f(ε) - f(0))]/Z for ε ~ N(0, σ² S) by the product rule aligned with "
                                   "the gradient (gaussian_selection_moments)",
                          tolerance="aligned product rule, converged to round-off: rel 1e-12"),
            ps.autodiff(weak_coefficient, target=ps.part(1), label="weak-selection coefficient", vectorize=False,
                        describe="σ² times the Taylor coefficient of order 2 at σ = 0 (Taylor-mode autodiff) of the "
                                 "accepted-step mean E_z[σLz P_s(f(σLz))]/E_z[P_s(f(σLz))], LLᵀ = S, by 8³-node "
                                 "Gauss-Hermite (exact: each coefficient is a polynomial moment)"),
            ps.monte_carlo(exact_ref, target=ps.part(0), label="probit, correlated mutation", vectorize=False,
                           describe="rejection sampling with correlated Gaussian proposals, 2e5 antithetic per instance"),
            ps.order(weak_ref, target=ps.part(1), small=sigma, sweep=(0.01, 0.005, 0.0025, 0.00125), order=4,
                     vectorize=False, label="weak-selection limit",
                     describe="Gauss-Hermite quadrature (40^3) of the accepted-step mean",
                     tolerance="saturation error O(sigma^4): fitted log-log slope >= 3.75 over sigma = 0.01..0.00125"),
        ),
        references=(SOURBUT, LANDE),
        model=fitness,
    )


# ----------------------------------------------------------------------------- B7

# Bound on |E[ε] − (the O(σ⁴) form)| at σ = 0.03 over the curvature entry's symbol domains:
# the largest of 2000 draws, by Gauss–Hermite quadrature of the real f, was 9.0e-6
# (tests/test_selection.py::test_curvature_remainder_bound re-measures it).
REMAINDER_AT_003 = 1e-5


@jit
def _simulate_cv(key, cv, H, kappa, sel, mut):
    """Rejection sampling on the real f; the linearised twin's exact moments (1-D Gauss–Hermite
    quadrature of its defining integrals) make it a control variate."""
    f = lambda y: fitness.jax(y, cv, H, kappa)  # noqa: E731
    run = anneal(key, f, jnp.zeros_like(cv), sel, mut, 400_000, antithetic=True)
    num, z = gaussian_linear_moments(sel, mut.sigma**2 * jnp.eye(cv.shape[0]), cv)
    return accepted_mean_cv(run, num, z)


@ps.derivation("selection/curvature")
def selection_curvature() -> ps.Derivation:
    r"""Finite mutations: the O(σ⁴) curvature correction to the expected step.

    For a symmetric :math:`P_s` (:math:`P_s(0) = \tfrac12`, :math:`P_s''(0) = 0`) and
    :math:`\epsilon \sim \mathcal N(0, \sigma^2 I)`:

    .. math::
        \mathbb E[\epsilon] = 2P_s'(0)\sigma^2\nabla f + \sigma^4\Big[P_s'(0)\,\nabla(\Delta f)
          + P_s'''(0)\,\lVert\nabla f\rVert^2\nabla f - 2P_s'(0)^2\,(\Delta f)\,\nabla f\Big] + O(\sigma^6),

    :math:`\Delta f = \operatorname{tr}H`. The three σ⁴ terms: third derivatives of f, saturation
    of :math:`P_s`, curvature acting through the normaliser Z. Here probit, in two dimensions,
    :math:`f = c\cdot x + \tfrac12 x^\top H x + \kappa x_1^3`. References: Sourbut (2022) B7 (derived).
    """
    sel = Probit(tau)
    H2 = [[h1, h12], [h12, h2]]
    f2 = fitness.sympy(list(genome[:2]), list(c[:2]), H2, kappa)
    _, step = small_mutation_series(sel, f2, genome[:2], sigma)
    grad_lap = [sp.diff(sum(sp.diff(f2, x, 2) for x in genome[:2]), x).subs({genome[0]: 0, genome[1]: 0}) for x in genome[:2]]
    hand = curvature_step(sel, sigma, c[:2], H2, grad_lap)
    linear_part = expected_step(sel, Gaussian(sigma), c[:2])
    sigma_fixed = 0.03  # small enough for the remainder, large enough for the σ⁴ terms to stand out

    def quad_ref(x):
        # Gauss–Hermite quadrature (48²) of E_m[ε P_s(f(ε) − f(0))]/Z for the real f.
        return _quadrature(_grad(x, 2), _hessian(x, 2), x["kappa"], Probit(x["tau"]), x["sigma"] ** 2 * jnp.eye(2), 48)[0]

    def series_ref(x):
        # The series' own coefficients: E[ε](σ) to σ⁴ by autodiff at σ = 0 of the real model's quadrature.
        coefficients = _small_mutation_coefficients(_grad(x, 2), _hessian(x, 2), x["kappa"], Probit(x["tau"]))[1]
        return x["sigma"] ** jnp.arange(5) @ coefficients

    def cv_ref(x, key):
        # Rejection sampling on the real f with the linearised twin (same ε, same uniform) as control variate.
        return _simulate_cv(key, _grad(x, 2), _hessian(x, 2), x["kappa"], Probit(x["tau"]), Gaussian(x["sigma"]))

    return ps.Derivation(
        lhs=r"\mathbb E[\epsilon] + O(\sigma^6)",
        result=step,
        symbols={sigma: ps.uniform(0.02, 0.06), tau: ps.uniform(0.15, 0.4), c[0]: ps.uniform(-1, 1), c[1]: ps.uniform(-1, 1),
                 h1: ps.uniform(-1, 1), h2: ps.uniform(-1, 1), h12: ps.uniform(-0.5, 0.5), kappa: ps.uniform(-1.5, 1.5)},
        assumptions=(r"$P_s = \Phi(\Delta/\tau)$: symmetric, $P_s'(0) = 1/(\sqrt{2\pi}\tau)$, "
                     r"$P_s'''(0) = -1/(\sqrt{2\pi}\tau^3)$",
                     r"$\epsilon \sim \mathcal N(0, \sigma^2 I_2)$, $\sigma \to 0$",
                     r"$f(x) = c\cdot x + \tfrac12 x^\top H x + \kappa x_1^3$ near the parent $x = 0$"),
        steps=(
            ps.Step(lhs=r"\Delta f(\sigma z)",
                    rhs=(r"\sigma\, c\cdot z + \tfrac{\sigma^2}{2} z^\top H z + \sigma^3\kappa z_1^3"),
                    why="Taylor expansion of the model around the parent", check=False),
            ps.Step(lhs=r"\mathbb E[\epsilon]", rhs=(r"\sigma\,\mathbb E[z P_s(\Delta f)]/\mathbb E[P_s(\Delta f)]"),
                    why=r"$P_s$ to third order in $\Delta f$; Gaussian moments $\mathbb E z_i^{2m} = (2m-1)!!$; "
                        r"odd moments vanish, so $H$ enters only through $Z$ and $\nabla\Delta f$", check=False),
            ps.Step(lhs=step, rhs=hand, why="the B7 form: derivatives of P_s at 0, the Laplacian and its gradient"),
            ps.Step(lhs=step.subs({h1: 0, h2: 0, h12: 0, kappa: 0}),
                    rhs=sp.Matrix([sp.series(e, sigma, 0, 5).removeO() for e in linear_part]),
                    why=r"with $H = 0$, $\kappa = 0$ it is the $\sigma^4$ expansion of the exact probit step (B4)"),
        ),
        checks=(
            ps.autodiff(series_ref, label="series coefficients to sigma^4", vectorize=False,
                        describe="Taylor coefficients of E[ε](σ) to σ⁴ at σ = 0 (Taylor-mode autodiff of an 8x8 "
                                 "Gauss-Hermite rule on the real f, exact for the polynomial moments involved)"),
            ps.order(quad_ref, small=sigma, sweep=(0.04, 0.02, 0.01, 0.005), order=6, label="residual O(sigma^6)",
                     vectorize=False,
                     describe="Gauss-Hermite quadrature (48x48) of the accepted-step mean for the real f",
                     tolerance="remainder O(sigma^6): fitted log-log slope >= 5.75 over sigma = 0.04..0.005"),
            ps.monte_carlo(cv_ref, label="rejection sampling at sigma = 0.03", vectorize=False,
                           domains={sigma: ps.fixed(sigma_fixed)},
                           describe="4e5 antithetic proposals on the real f, linearised twin as control variate",
                           allowance_abs=REMAINDER_AT_003,
                           tolerance="4.5 SE + 1e-5 abs for the O(sigma^6) remainder: at sigma = 0.03 it is at most "
                                     "9e-6 over 2000 draws of the symbol domains (quadrature of the real f)"),
        ),
        references=(SOURBUT,),
        model=fitness,
    )


# ----------------------------------------------------------------------------- C2


def _norm_dependence_figure(path: Path, report=None) -> None:
    """Learning rate against the gradient norm, log-log: closed forms and rejection sampling."""
    import numpy as np
    from matplotlib.figure import Figure  # no pyplot: leaves the user's backend alone

    s, t, b = 0.1, 0.2, 10.0
    grid = np.geomspace(1e-2, 1e3, 120)
    eta_probit = np.sqrt(2 / np.pi) * s**2 / np.sqrt(t**2 + s**2 * grid**2)
    eta_hard = s * np.sqrt(2 / np.pi) / grid
    eta_logistic = np.array([learning_rate_quadrature(Logistic(b), s, v) for v in grid[::6]])

    norms = jnp.asarray(np.geomspace(0.03, 300, 9))

    def simulate(sel):
        def one(gv, key):
            run = anneal(key, lambda y: gv * y[0], jnp.zeros(1), sel, Gaussian(s), 40_000, antithetic=True)
            est = accepted_mean(run)
            return est.mean[0] / gv, est.se[0] / gv

        keys = jax.random.split(jax.random.key(20220509), norms.shape[0])
        return jit(jax.vmap(one))(norms, keys)

    fig = Figure(figsize=(5.2, 3.6))
    ax = fig.subplots()
    ax.loglog(grid, eta_probit, color="C0", label=rf"probit $\tau={t:g}$ (closed form)")
    ax.loglog(grid, eta_hard, color="C1", label=r"hard: $\sigma\sqrt{2/\pi}/\|\nabla f\|$")
    ax.loglog(grid, np.full_like(grid, np.sqrt(2 / np.pi) * s**2 / t), color="C2", ls=":", label=r"weak: $\eta_0$ (probit)")
    ax.loglog(grid[::6], eta_logistic, color="C3", ls="--", label=rf"logistic $\beta={b:g}$ (quadrature)")
    for sel, color in ((Probit(t), "C0"), (Hard(), "C1"), (Logistic(b), "C3")):
        mean, se = (np.asarray(v) for v in simulate(sel))
        ax.errorbar(np.asarray(norms), mean, yerr=4.5 * se, fmt="o", ms=3, color=color, capsize=2)
    ax.set_xlabel(r"$\|\nabla f\|$")
    ax.set_ylabel(r"learning rate $\eta$")
    ax.set_title(rf"$\mathbb{{E}}[\epsilon] = \eta\,\nabla f$, $\sigma = {s:g}$; points: rejection sampling (4.5 SE)",
                 fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, format="pdf", metadata={"CreationDate": None})


@jit
def _rate_times_norm_coefficients(sel, sig):
    """Taylor coefficients at g = 0, to g³, of η(g) g = E[u P_s(gu)]/E[P_s(gu)], u ~ N(0, σ²) (12-node
    Gauss-Hermite: exact for the polynomial moments of these coefficients)."""
    z, w = (jnp.asarray(a) for a in hermite_rule(12))
    u = sig * z

    def rate_times_norm(gv):
        p = sel.jax(gv * u)
        return jnp.sum(w * p * u) / jnp.sum(w * p)

    return taylor_coefficients(rate_times_norm, 3)


@ps.derivation("selection/norm-dependence")
def selection_norm_dependence() -> ps.Derivation:
    r"""The learning rate of selection depends on the gradient norm.

    With :math:`\mathbb E[\epsilon] = \eta(g)\nabla f`, :math:`g = \lVert\nabla f\rVert`,
    :math:`\epsilon \sim \mathcal N(0, \sigma^2 I)`, linear f:

    .. math::
        \eta_{\text{probit}} = \sqrt{\frac2\pi}\frac{\sigma^2}{\sqrt{\tau^2 + \sigma^2 g^2}}, \quad
        \eta_{\text{hard}} = \frac{\sigma}{g}\sqrt{\frac2\pi}, \quad
        \eta_{\text{weak}} = 2k\sigma^2\ \ (P_s = \tfrac12 + k\Delta), \quad
        \eta_{\text{logistic}} = \frac{\beta\sigma^2}2 - \frac{\beta^3\sigma^4 g^2}{8} + O(g^4).

    SGD's :math:`\mathbb E[\Delta x] = -\eta\nabla L` has a fixed η; selection's η falls
    like 1/g once :math:`P_s` saturates (:math:`\sigma g \gtrsim \tau`). Per generation in
    the origin-fixation model the drift is linear in the gradient again (B8).
    References: nostalgebraist (2022); Sourbut (2022) B4.
    """
    eta_probit = learning_rate(Probit(tau), sigma, g)
    eta_hard = learning_rate(Hard(), sigma, g)
    eta_weak = learning_rate(Linear(k, sp.S.Half), sigma, g)
    logistic = Logistic(beta)
    # Small-g series of the logistic rate: the σ⁴ saturation term of B7 with H = 0 (σ⁴ g² ↔ (σg)² σ²).
    eta_logistic = sp.expand(curvature_step(logistic, sigma, [g], [[0]], [0])[0] / g)

    def one_dim(x, key, sel):
        # η = E[ε]/g from rejection sampling along the gradient (the other directions are untouched, B5).
        est = _simulate_linear(key, jnp.asarray([x["g"]]), sel, Gaussian(x["sigma"]))[0]
        return Estimate(est.mean[0] / x["g"], est.se[0] / x["g"])

    def probit_ref(x, key):
        return one_dim(x, key, Probit(x["tau"]))

    def hard_ref(x, key):
        return one_dim(x, key, Hard())

    def probit_quadrature(x):
        return learning_rate_quadrature(Probit(x["tau"]), x["sigma"], x["g"])

    def hard_quadrature(x):
        return learning_rate_quadrature(Hard(), x["sigma"], x["g"])

    def weak_ref(x):
        # Adaptive quadrature (SciPy) of η = E[u P_s(g u)]/(g E[P_s(g u)]), u ~ N(0, σ²), P_s = clip(1/2 + kΔ).
        return learning_rate_quadrature(Linear(x["k"], 0.5), x["sigma"], x["g"])

    def logistic_ref(x):
        return learning_rate_quadrature(Logistic(x["beta"]), x["sigma"], x["g"])

    def logistic_series(x):
        # η(g) g = E[u P_s(gu)]/E[P_s(gu)] is analytic at g = 0: its Taylor coefficients of order 1 and 3
        # (autodiff) are those of η at g^0 and g^2.
        c = _rate_times_norm_coefficients(Logistic(x["beta"]), x["sigma"])
        return c[1] + c[3] * x["g"] ** 2

    return ps.Derivation(
        lhs=(r"\eta_{\text{probit}}", r"\eta_{\text{hard}}", r"\eta_{\text{weak}}", r"\eta_{\text{logistic}} + O(g^4)"),
        result=sp.Tuple(eta_probit, eta_hard, eta_weak, eta_logistic),
        symbols={sigma: ps.uniform(0.05, 0.2), tau: ps.uniform(0.1, 0.4), g: ps.log_uniform(0.1, 100),
                 k: ps.uniform(0.05, 0.2), beta: ps.uniform(2, 10)},
        assumptions=(r"$f$ linear near $x$ with $\lVert\nabla f\rVert = g$", r"$\epsilon \sim \mathcal N(0, \sigma^2 I)$",
                     r"weak: $P_s = \tfrac12 + k\Delta$ (clipped to $[0,1]$, never reached when $k\sigma g \ll 1$)"),
        steps=(
            ps.Step(lhs=sp.Limit(eta_probit * g, g, sp.oo), rhs=eta_hard * g,
                    why=r"$g \to \infty$: probit saturates to hard selection, a step of fixed length"),
            ps.Step(lhs=_unevaluated(1 / sp.S.Half, k, sigma**2), rhs=eta_weak,
                    why=r"$P_s'(0)/P_s(0) = k/\tfrac12$, exact for a linear $P_s$"),
            ps.Step(lhs=sp.Add(_unevaluated(2, logistic.derivative_at_zero(1), sigma**2),
                               _unevaluated(-1, -logistic.derivative_at_zero(3), sigma**4, g**2), evaluate=False),
                    rhs=eta_logistic,
                    why=r"B7 with $H = 0$: $2P_s'(0)\sigma^2 + P_s'''(0)\sigma^4 g^2$, $P_s'(0) = \beta/4$, "
                        r"$P_s'''(0) = -\beta^3/8$"),
        ),
        checks=(
            ps.quadrature(probit_quadrature, target=ps.part(0), label="probit, quadrature", rtol=1e-10,
                          describe="adaptive quadrature (SciPy quad) of η = E[u P_s(gu)]/(g E[P_s(gu)]), "
                                   "u ~ N(0, σ²)",
                          tolerance="quadrature at epsrel 1e-13: rel 1e-10"),
            ps.quadrature(hard_quadrature, target=ps.part(1), label="hard, quadrature", rtol=1e-10,
                          describe="adaptive quadrature (SciPy quad) of the same integrals for hard selection, split "
                                   "at the jump",
                          tolerance="quadrature at epsrel 1e-13: rel 1e-10"),
            ps.monte_carlo(probit_ref, target=ps.part(0), label="probit", vectorize=False,
                           describe="rejection sampling in the gradient direction, 2e5 antithetic proposals"),
            ps.monte_carlo(hard_ref, target=ps.part(1), label="hard", vectorize=False,
                           describe="rejection sampling in the gradient direction, 2e5 antithetic proposals"),
            ps.quadrature(weak_ref, target=ps.part(2), label="weak (linear P_s)",
                          domains={g: ps.log_uniform(0.1, 1)}, rtol=1e-9,
                          describe="adaptive quadrature of the parallel component (SciPy quad)",
                          tolerance="quadrature at epsrel 1e-13: rel 1e-9; clipping of P_s is beyond 12 sd"),
            ps.autodiff(logistic_series, target=ps.part(3), label="logistic series coefficients", vectorize=False,
                        domains={sigma: ps.uniform(0.05, 0.2), beta: ps.uniform(2, 10)},
                        describe="Taylor coefficients at g = 0 (Taylor-mode autodiff) of η(g) g = E[u P_s(gu)]/E[P_s(gu)], "
                                 "u ~ N(0, σ²), by 12-node Gauss-Hermite (exact for these polynomial moments)"),
            ps.order(logistic_ref, target=ps.part(3), small=g, sweep=(0.1, 0.05, 0.025, 0.0125), order=4,
                     vectorize=False, label="logistic small-g series",
                     domains={sigma: ps.uniform(0.05, 0.2), beta: ps.uniform(2, 10)},
                     describe="adaptive quadrature of eta for logistic selection (SciPy quad)",
                     tolerance="series remainder O(g^4): fitted log-log slope >= 3.75 over g = 0.1..0.0125"),
        ),
        references=(NOSTALGEBRAIST, SOURBUT, BARKER),
        model=fitness,
        figures=(_norm_dependence_figure,),
    )
