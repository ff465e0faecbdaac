"""Price's equation in continuous time: the genetic covariance (Lande's form) and
its network analogue, the neural tangent covariance under gradient flow."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

import pricesym as ps
from pricesym.numeric import estimate, jit

TAILCALLED = 'tailcalled (2022), "Price\'s equation for neural networks", LessWrong.'
LANDE = ("Lande, R. (1979). Quantitative genetic analysis of multivariate evolution, applied to "
         "brain:body size allometry. Evolution 33:402-416.")
LANDE_ARNOLD = ("Lande, R. & Arnold, S. J. (1983). The measurement of selection on correlated characters. "
                "Evolution 37:1210-1226.")
PRICE = "Price, G. R. (1970). Selection and covariance. Nature 227:520-521."
FISHER = "Fisher, R. A. (1930). The Genetical Theory of Natural Selection. Oxford: Clarendon Press."


def _cholesky(l11, l21, l22):
    """The lower-triangular factor L of a 2×2 covariance L Lᵀ (diagonal > 0 keeps it definite)."""
    return sp.Matrix([[l11, 0], [l21, l22]])


def _jax_cholesky(x, prefix):
    return jnp.array([[x[f"{prefix}11"], 0.0], [x[f"{prefix}21"], x[f"{prefix}22"]]])


def _gradient(expr, params):
    """The gradient as a column of unevaluated derivatives (a step's left side shows what is differentiated)."""
    return sp.Matrix([sp.Derivative(expr, s) for s in params])


# ----------------------------------------------------------------------------- A1: gcov

g1, g2 = sp.symbols("g1 g2", real=True)
z1, z2 = sp.symbols("z1 z2", real=True)
mu1, mu2 = sp.symbols("mu1 mu2", real=True)
beta_x = sp.symbols("beta_x1 beta_x2", real=True)
beta_f = sp.symbols("beta_f1 beta_f2", real=True)
l11, l22 = sp.symbols("l11 l22", positive=True)
l21 = sp.Symbol("l21", real=True)
G11, G12, G22 = sp.symbols("G11 G12 G22", real=True)
t = sp.Symbol("t", nonnegative=True)

# Gauss–Hermite nodes for the weight exp(-z²/2): 40 per axis integrate the tilted
# Gaussian (an entire function of z times a polynomial) to round-off for |tilt| <~ 10.
_GH_Z, _GH_W = np.polynomial.hermite_e.hermegauss(40)
_GH_GRID = np.stack(np.meshgrid(_GH_Z, _GH_Z, indexing="ij"), axis=-1).reshape(-1, 2)
_GH_WEIGHTS = np.outer(_GH_W, _GH_W).reshape(-1)
_MC_DRAWS = 400_000


@ps.model
def breeding_value(np, beta, g):
    """Conditional mean E[trait | g] = βᵀg of a trait that is linear in the genotype g."""
    return np.dot(beta, g)


def _genotype_population(x):
    """Mean, Cholesky factor and the two regression vectors of one instance."""
    L = _jax_cholesky(x, "l")
    mu = jnp.array([x["mu1"], x["mu2"]])
    bx = jnp.array([x["beta_x1"], x["beta_x2"]])
    bf = jnp.array([x["beta_f1"], x["beta_f2"]])
    return mu, L, bx, bf


def _lande_rate_mc(x, key):
    # Draw the population g ~ N(mu, L Lᵀ), select it by the exponential tilt e^{t f}
    # (self-normalised weights) and differentiate the selected mean trait at t = 0.
    mu, L, bx, bf = _genotype_population(x)
    g = mu + jax.random.normal(key, (_MC_DRAWS, 2)) @ L.T
    trait = jax.vmap(partial(breeding_value.jax, bx))(g)
    fitness = jax.vmap(partial(breeding_value.jax, bf))(g)

    def selected_mean(tt):
        return jax.nn.softmax(tt * fitness) @ trait

    rate = jax.grad(selected_mean)(0.0)
    # The rate equals the sample Cov(x, f) = mean of the centred products: its SE.
    products = (trait - trait.mean()) * (fitness - fitness.mean())
    return ps.Estimate(rate, estimate(products).se)


def _lande_shift_quadrature(x):
    # The selected mean after a finite tilt, as a ratio of Gauss–Hermite integrals
    # over z with g = mu + L z; divided by t it is the average rate over [0, t].
    mu, L, bx, bf = _genotype_population(x)
    g = mu + jnp.asarray(_GH_GRID) @ L.T
    trait = jax.vmap(partial(breeding_value.jax, bx))(g)
    fitness = jax.vmap(partial(breeding_value.jax, bf))(g)
    log_tilt = x["t"] * fitness
    tilt = jnp.asarray(_GH_WEIGHTS) * jnp.exp(log_tilt - log_tilt.max())
    before = jnp.asarray(_GH_WEIGHTS) @ trait / jnp.sum(jnp.asarray(_GH_WEIGHTS))
    after = tilt @ trait / jnp.sum(tilt)
    return (after - before) / x["t"]


@ps.derivation("price/gcov-lande")
def price_gcov_lande() -> ps.Derivation:
    r"""Continuous-time Price equation in Lande's form: the mean trait moves by the genetic covariance.

    .. math::
        \frac{d\bar x}{dt} = \operatorname{gcov}(x, f)
        = \big(\nabla_g \mathbb E[x\mid g]\big)^{\top} G\, \big(\nabla_g \mathbb E[f\mid g]\big)
        = \beta_x^{\top} G\, \beta_f

    Assumptions: genotypes :math:`g \sim \mathcal N(\mu, G)` (two loci, :math:`G = L L^\top`
    positive definite), conditional means :math:`\mathbb E[x\mid g] = \beta_x^\top g` and
    :math:`\mathbb E[f\mid g] = \beta_f^\top g` linear in g, no transmission bias, and selection
    for a time t is the exponential tilt :math:`e^{t f}`. The tilt maps :math:`\mathcal N(\mu, G)`
    to :math:`\mathcal N(\mu + tG\beta_f, G)`, so the mean trait moves linearly in t and the
    rate is exact, not a first-order approximation.

    References: tailcalled (2022); Lande (1979); Lande & Arnold (1983); Price (1970).
    """
    g = [g1, g2]
    L = _cholesky(l11, l21, l22)
    G = sp.Matrix([[G11, G12], [G12, G22]])
    bx, bf, mu = sp.Matrix(beta_x), sp.Matrix(beta_f), sp.Matrix([mu1, mu2])
    trait = breeding_value.sympy(list(beta_x), g)
    fitness = breeding_value.sympy(list(beta_f), g)
    result = sp.expand(ps.gcov(trait, fitness, g, G))

    # Whiten g = mu + L z (z ~ N(0, I)); the tilt e^{t f} adds t (Lᵀβ_f)ᵀ z to the log density
    # (up to a constant), and completing the square shifts z by t Lᵀβ_f with covariance I.
    z = sp.Matrix([z1, z2])
    u = L.T * bf
    log_tilted = (-z.T * z / 2)[0] + t * (bf.T * L * z)[0]
    log_shifted = (-(z - t * u).T * (z - t * u) / 2)[0] + t**2 * (u.T * u)[0] / 2
    shifted = mu + t * G * bf
    mean_trait = (bx.T * shifted)[0]

    return ps.Derivation(
        lhs=r"\frac{d\bar x}{dt} = \operatorname{gcov}(x, f)",
        result=result,
        symbols={
            l11: ps.uniform(0.5, 1.5), l21: ps.uniform(-1, 1), l22: ps.uniform(0.5, 1.5),
            beta_x[0]: ps.uniform(-2, 2), beta_x[1]: ps.uniform(-2, 2),
            beta_f[0]: ps.uniform(-2, 2), beta_f[1]: ps.uniform(-2, 2),
            mu1: ps.uniform(-1, 1), mu2: ps.uniform(-1, 1),
            z1: ps.uniform(-2, 2), z2: ps.uniform(-2, 2), t: ps.uniform(0.2, 1),
        },
        observables={G11: (L * L.T)[0, 0], G12: (L * L.T)[1, 0], G22: (L * L.T)[1, 1]},
        assumptions=(
            r"genotypes $g \sim \mathcal N(\mu, G)$ with $G = L L^\top$ positive definite",
            r"$\mathbb E[x\mid g] = \beta_x^\top g$ and $\mathbb E[f\mid g] = \beta_f^\top g$ are linear in $g$",
            r"no transmission bias; selection for time $t$ reweights genotypes by $e^{t f}$",
        ),
        steps=(
            ps.Step(lhs=_gradient(trait, g), rhs=bx, why=r"$\nabla_g\mathbb E[x\mid g] = \beta_x$"),
            ps.Step(lhs=_gradient(fitness, g), rhs=bf, why=r"$\nabla_g\mathbb E[f\mid g] = \beta_f$"),
            ps.Step(lhs=log_tilted, rhs=log_shifted,
                    why=r"whiten $g = \mu + Lz$; the log of $\mathcal N(z; 0, I)\,e^{tf}$ up to a constant: "
                        r"completing the square shifts $z$ by $tL^\top\beta_f$"),
            ps.Step(lhs=mu + L * (t * u), rhs=shifted,
                    why=r"the selected mean genotype: $\mu + tLL^\top\beta_f = \mu + tG\beta_f$, covariance still $G$"),
            ps.Step(lhs=sp.Derivative(mean_trait, t), rhs=result,
                    why=r"$\bar x(t) = \beta_x^\top(\mu + tG\beta_f)$ moves linearly in $t$"),
            ps.Step(lhs=sp.MatMul(bx.T, G, bf, evaluate=False), rhs=sp.Matrix([result]),
                    why=r"definition of $\operatorname{gcov}$ with these gradients"),
        ),
        checks=(
            ps.monte_carlo(
                _lande_rate_mc, label="rate of the selected mean at t = 0",
                describe=f"draw {_MC_DRAWS:.0e} genotypes g ~ N(mu, L L^T), reweight by e^(t f), "
                         "jax.grad of the selected mean trait at t = 0 (SE from the centred products)"),
            ps.quadrature(
                _lande_shift_quadrature, vectorize=True, rtol=1e-10, atol=1e-12,
                label="mean shift after a finite tilt / t",
                describe="40x40-node Gauss-Hermite integrals of the tilted genotype density; "
                         "(selected mean - initial mean) / t at t in [0.2, 1]",
                tolerance="Gauss-Hermite with 40 nodes per axis is exact to round-off for this entire "
                          "integrand: rel 1e-10, abs 1e-12"),
        ),
        references=(TAILCALLED, LANDE, LANDE_ARNOLD, PRICE),
        model=breeding_value,
    )


# ----------------------------------------------------------------------------- A2, A3: flow

w1, w2 = sp.symbols("w1 w2", real=True)
c11, c22 = sp.symbols("c11 c22", positive=True)
c21 = sp.Symbol("c21", real=True)
P11, P12, P22 = sp.symbols("P11 P12 P22", real=True)
h = sp.Symbol("h", positive=True)
_FLOW_SWEEP = (1e-2, 1e-3, 1e-4)


@ps.model
def weight_product(np, w1, w2):
    """The tracked property x(w) = w1 w2."""
    return w1 * w2


@ps.model
def quadratic_loss(np, w1, w2):
    """The loss L(w) = (w1 - 1)² + 2 (w2 + 1)²; the utility is U = -L."""
    return (w1 - 1) ** 2 + 2 * (w2 + 1) ** 2


def _property(w):
    return weight_product.jax(*w)


def _utility(w):
    return -quadratic_loss.jax(*w)


@jit
def _velocity(w):
    return jax.grad(_utility)(w)


def _flow(w0, duration):
    """w(duration) under dw/dt = ∇U, by adaptive Runge–Kutta (DOP853, rtol 1e-12)."""
    sol = solve_ivp(lambda _, w: np.asarray(_velocity(w)), (0.0, duration), w0,
                    method="DOP853", rtol=1e-12, atol=1e-14)
    if not sol.success:
        raise ps.CheckError(f"the gradient-flow integration failed: {sol.message}")
    return sol.y[:, -1]


def _weights(x):
    return jnp.array([x["w1"], x["w2"]])


def _preconditioner(x):
    C = _jax_cholesky(x, "c")
    return C @ C.T


def _finite_difference(prop, x):
    # Integrate the flow for a short time h and difference the property: O(h) from the exact rate.
    w0 = np.array([x["w1"], x["w2"]])
    w_h = _flow(w0, x["h"])
    return (float(prop(w_h)) - float(prop(w0))) / x["h"]


@ps.derivation("price/gradient-flow")
def price_gradient_flow() -> ps.Derivation:
    r"""Price's equation for neural networks: a property moves by its neural tangent covariance with the utility.

    .. math::
        \dot x = \nabla_w x^{\top} \dot w = \operatorname{ntcov}(x, U)
        \quad (\dot w = \nabla_w U), \qquad
        \dot x = \nabla_w x^{\top} P\, \nabla_w U \quad (\dot w = P \nabla_w U)

    Worked model: weights :math:`w = (w_1, w_2)`, property :math:`x = w_1 w_2`, loss
    :math:`L = (w_1-1)^2 + 2(w_2+1)^2`, utility :math:`U = -L`, so
    :math:`\operatorname{ntcov}(x, U) = -2w_2(w_1-1) - 4w_1(w_2+1)` (−4 at w = (1/2, 2)).
    Assumptions: exact full-batch gradients in continuous time; the preconditioner
    :math:`P = C C^\top` is constant and positive definite (the gcov form with G ↔ P).

    References: tailcalled (2022).
    """
    w = [w1, w2]
    x = weight_product.sympy(*w)
    loss = quadratic_loss.sympy(*w)
    U = -loss
    C = _cholesky(c11, c21, c22)
    P = sp.Matrix([[P11, P12], [P12, P22]])
    plain = sp.expand(ps.ntcov(x, U, w))
    preconditioned = sp.expand(ps.ntcov(x, U, w, G=P))
    grad_x, grad_U = ps.jacobian(x, w).T, ps.jacobian(U, w).T.applyfunc(sp.factor)

    def rate_autodiff(xx):
        return jax.jvp(_property, (_weights(xx),), (jax.grad(_utility)(_weights(xx)),))[1]

    def rate_autodiff_preconditioned(xx):
        velocity = _preconditioner(xx) @ jax.grad(_utility)(_weights(xx))
        return jax.jvp(_property, (_weights(xx),), (velocity,))[1]

    def rate_flow(xx):
        return _finite_difference(_property, xx)

    return ps.Derivation(
        lhs=(r"\dot x = \operatorname{ntcov}(x, U)", r"\dot x = \nabla_w x^{\top} P\, \nabla_w U"),
        result=(plain, preconditioned),
        symbols={w1: ps.uniform(-2, 2), w2: ps.uniform(-2, 2),
                 c11: ps.uniform(0.5, 1.5), c21: ps.uniform(-1, 1), c22: ps.uniform(0.5, 1.5)},
        observables={P11: (C * C.T)[0, 0], P12: (C * C.T)[1, 0], P22: (C * C.T)[1, 1]},
        assumptions=(
            r"gradient flow $\dot w = \nabla_w U$ with exact full-batch gradients, $U = -L$",
            r"preconditioned flow $\dot w = P\nabla_w U$ with constant $P = CC^\top \succ 0$",
            r"$x = w_1 w_2$, $L = (w_1-1)^2 + 2(w_2+1)^2$",
        ),
        steps=(
            ps.Step(lhs=_gradient(x, w), rhs=grad_x, why=r"gradient of the property"),
            ps.Step(lhs=-_gradient(loss, w), rhs=grad_U, why=r"$\nabla U = -\nabla L$"),
            ps.Step(lhs=(grad_x.T * grad_U)[0], rhs=plain,
                    why=r"chain rule $\dot x = \nabla x^\top \dot w$ with $\dot w = \nabla U$"),
            ps.Step(lhs=ps.NtCov(x, U, sp.Tuple(*w)), rhs=plain, why=r"definition of $\operatorname{ntcov}$"),
            ps.Step(lhs=(grad_x.T * P * grad_U)[0], rhs=preconditioned,
                    why=r"chain rule with $\dot w = P\nabla U$: the gcov form with $G = P$"),
        ),
        checks=(
            ps.autodiff(rate_autodiff, target=ps.part(0), label="dx/dt under the flow",
                        describe="jax.jvp of x along jax.grad of U"),
            ps.autodiff(rate_autodiff_preconditioned, target=ps.part(1), label="dx/dt under the preconditioned flow",
                        describe="jax.jvp of x along P times jax.grad of U"),
            ps.order(rate_flow, small=h, sweep=_FLOW_SWEEP, order=1, vectorize=False, target=ps.part(0),
                     label="finite difference along the integrated flow",
                     describe="integrate dw/dt = grad U (DOP853, rtol 1e-12) for time h; (x(w(h)) - x(w0))/h"),
        ),
        references=(TAILCALLED,),
        model=(weight_product, quadratic_loss),
    )


@ps.derivation("price/fundamental-theorem")
def price_fundamental_theorem() -> ps.Derivation:
    r"""The fundamental theorem for gradient flow: utility grows at its neural tangent variance.

    .. math::
        \dot U = \operatorname{ntcov}(U, U) = \operatorname{ntvar}(U) = \lVert\nabla_w U\rVert^2 \ge 0

    The network analogue of Fisher's fundamental theorem (mean fitness grows at the
    additive variance in fitness): under gradient flow the loss never increases.
    Worked model as in ``price/gradient-flow``: :math:`U = -(w_1-1)^2 - 2(w_2+1)^2`, so
    :math:`\dot U = 4(w_1-1)^2 + 16(w_2+1)^2` (145 at w = (1/2, 2)).
    Assumptions: gradient flow :math:`\dot w = \nabla_w U` with exact gradients.

    References: tailcalled (2022); Fisher (1930).
    """
    w = [w1, w2]
    loss = quadratic_loss.sympy(*w)
    U = -loss
    grad_U = ps.jacobian(U, w).T.applyfunc(sp.factor)
    # ntvar(U) comes out as (2 - 2 w1)**2 + (-4 w2 - 4)**2: factor each square for display.
    result = sp.Add(*(sp.factor(term) for term in sp.Add.make_args(ps.ntvar(U, w))))

    def growth_autodiff(xx):
        ww = _weights(xx)
        return jax.jvp(_utility, (ww,), (jax.grad(_utility)(ww),))[1]

    def growth_flow(xx):
        return _finite_difference(_utility, xx)

    return ps.Derivation(
        lhs=r"\dot U = \operatorname{ntvar}(U)",
        result=result,
        symbols={w1: ps.uniform(-2, 2), w2: ps.uniform(-2, 2)},
        assumptions=(
            r"gradient flow $\dot w = \nabla_w U$ with exact full-batch gradients",
            r"$U = -L$, $L = (w_1-1)^2 + 2(w_2+1)^2$",
        ),
        steps=(
            ps.Step(lhs=-_gradient(loss, w), rhs=grad_U, why=r"$\nabla U = -\nabla L$"),
            ps.Step(lhs=ps.NtVar(U, sp.Tuple(*w)), rhs=result,
                    why=r"$\dot U = \nabla U^\top \dot w$ with $\dot w = \nabla U$ (Price's equation with $x = U$): "
                        r"a sum of squares, so $\dot U \ge 0$"),
        ),
        checks=(
            ps.autodiff(growth_autodiff, label="dU/dt under the flow", describe="jax.jvp of U along jax.grad of U"),
            ps.order(growth_flow, small=h, sweep=_FLOW_SWEEP, order=1, vectorize=False,
                     label="finite difference along the integrated flow",
                     describe="integrate dw/dt = grad U (DOP853, rtol 1e-12) for time h; (U(w(h)) - U(w0))/h"),
        ),
        references=(TAILCALLED, FISHER),
        model=quadratic_loss,
    )
