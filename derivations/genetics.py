"""Population-genetics background (MATH.md D1–D6): the discrete Price equation,
the breeder's and Lande's equations, Kimura's and Moran's fixation
probabilities, and fixation and absorption times.

Each closed form is derived with SymPy and checked against an independent
route: an explicit finite population whose offspring are counted, a simulated
Gaussian population under a fitness tilt, the exact absorption solve of the
finite Markov chain, or a seeded simulation of the chain itself
(`pricesym.popgen`).
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

import pricesym as ps
from pricesym import popgen
from pricesym.numeric import hermite_rule, jit

PRICE = "Price, G. R. (1970). Selection and covariance. Nature 227:520-521; Price (1972), Ann. Hum. Genet. 35:485-490."
ROBERTSON = "Robertson, A. (1966). A mathematical model of the culling process in dairy cattle. Anim. Prod. 8:95-108."
FALCONER = "Falconer, D. S. & Mackay, T. F. C. (1996). Introduction to Quantitative Genetics, 4th ed. Longman."
LANDE = ("Lande, R. (1979). Quantitative genetic analysis of multivariate evolution. Evolution 33:402-416; "
         "Lande & Arnold (1983). The measurement of selection on correlated characters. Evolution 37:1210-1226.")
KIMURA = "Kimura, M. (1962). On the probability of fixation of mutant genes in a population. Genetics 47:713-719."
KIMURA_OHTA = ("Kimura, M. & Ohta, T. (1969). The average number of generations until fixation of a mutant gene "
               "in a finite population. Genetics 61:763-771.")
MORAN = "Moran, P. A. P. (1958). Random processes in genetics. Proc. Camb. Phil. Soc. 54:60-71."
NOWAK = "Nowak, M. A. (2006). Evolutionary Dynamics. Harvard University Press."
TIN = ("Taylor, C., Iwasa, Y. & Nowak, M. A. (2006). A symmetry of fixation times in evolutionary dynamics. "
       "J. Theor. Biol. 243:245-251.")

N = sp.Symbol("N", positive=True, integer=True)
s = sp.Symbol("s", real=True)
r = sp.Symbol("r", positive=True)
p = sp.Symbol("p", positive=True)
i = sp.Symbol("i", positive=True, integer=True)
x = sp.Symbol("x", positive=True)  # a frequency in (0, 1), the variable of the backward equations


def _copies(n: int, p: float) -> int:
    """The whole number of gene copies 2np; a domain that breaks this is a bug in the entry."""
    k = round(2 * n * p)
    if abs(2 * n * p - k) > 1e-9:
        raise ps.CheckError(f"p = {p!r} is not a whole number of copies out of 2N = {2 * n}; fix the `p` domain.")
    return k


@ps.kept
def _no_remainder(difference, what: str) -> None:
    """Builders prove their identities symbolically; a remainder is a bug here."""
    # cancel alone is canonical for rational functions and fast; expanding first only helps
    # where cancel leaves an unexpanded zero (both must leave a remainder to fail)
    if sp.cancel(difference) != 0 and sp.cancel(sp.expand(difference)) != 0:
        raise ps.RegistryError(f"{what}: the symbolic identity left a remainder {difference!r}.")


# ============================================================================ D1


TYPES = 3
counts = sp.symbols(f"n_1:{TYPES + 1}", positive=True, integer=True)
q = sp.symbols(f"q_1:{TYPES + 1}", positive=True)
w = sp.symbols(f"w_1:{TYPES + 1}", nonnegative=True)
z = sp.symbols(f"z_1:{TYPES + 1}", real=True)
z_next = tuple(sp.Symbol(f"z'_{t}", real=True) for t in range(1, TYPES + 1))


@ps.model
def offspring_mean(np, q, w, z_offspring):
    """Mean trait of the next generation: each type leaves offspring in proportion
    to its frequency times its fitness, with its own mean offspring trait."""
    return np.sum(q * w * z_offspring) / np.sum(q * w)


@ps.derivation("price/discrete")
def price_discrete() -> ps.Derivation:
    r"""The discrete Price equation.

    .. math:: \bar w\,\Delta\bar z = \operatorname{Cov}(w, z) + \mathbb E(w\,\Delta z)

    for types :math:`t` with frequencies :math:`q_t`, fitnesses (mean offspring
    numbers) :math:`w_t`, traits :math:`z_t` and offspring mean traits
    :math:`z'_t = z_t + \Delta z_t`; moments are frequency-weighted and
    :math:`\bar z' = \sum_t q_t w_t z'_t / \bar w`. An identity, for any number
    of types; derived here for three generic types.
    References: Price (1970, 1972).
    """
    wbar = sum(qt * wt for qt, wt in zip(q, w))
    zbar = sum(qt * zt for qt, zt in zip(q, z))
    zbar_next = offspring_mean.sympy(list(q), list(w), list(z_next))
    direct = wbar * (zbar_next - zbar)
    expanded = sum(qt * wt * zn for qt, wt, zn in zip(q, w, z_next)) - wbar * zbar
    cov = sum(qt * wt * zt for qt, wt, zt in zip(q, w, z)) - wbar * zbar
    transmission = sum(qt * wt * (zn - zt) for qt, wt, zt, zn in zip(q, w, z, z_next))
    result = cov + transmission
    _no_remainder(direct - result, "price/discrete")

    t, n = sp.symbols("t n", integer=True, positive=True)
    Q, W, Z, Zn = (sp.IndexedBase(name) for name in ("q", "w", "z", "z'"))
    general = (sp.Sum(Q[t] * W[t] * Z[t], (t, 1, n)) - sp.Sum(Q[t] * W[t], (t, 1, n)) * sp.Sum(Q[t] * Z[t], (t, 1, n))
               + sp.Sum(Q[t] * W[t] * (Zn[t] - Z[t]), (t, 1, n)))

    def offspring_census(x):
        # An explicit population: counts[t] parents of type t, each with w_t
        # offspring of trait z'_t. Means are taken over the two lists directly.
        k = [int(round(x[f"n_{t}"])) for t in range(1, TYPES + 1)]
        parents = np.repeat([x[f"z_{t}"] for t in range(1, TYPES + 1)], k)
        per_parent = np.repeat([int(round(x[f"w_{t}"])) for t in range(1, TYPES + 1)], k)
        kids = np.repeat(np.repeat([x[f"z'_{t}"] for t in range(1, TYPES + 1)], k), per_parent)
        if kids.size == 0:
            return 0.0
        return kids.size / parents.size * (kids.mean() - parents.mean())

    def reproduce(x, key):
        col = lambda name: [x[f"{name}_{t}"] for t in range(1, TYPES + 1)]
        return popgen.simulate_offspring(key, col("n"), col("w"), col("z"), col("z'"), replicates=20_000,
                                         noise=0.5, max_count=8)

    integer_fitness = {wt: ps.integers(0, 4) for wt in w}
    return ps.Derivation(
        lhs=r"\bar w\,\Delta\bar z",
        result=result,
        symbols={**{c: ps.integers(1, 8) for c in counts}, **{wt: ps.uniform(0.2, 3) for wt in w},
                 **{zt: ps.uniform(-2, 2) for zt in z}, **{zn: ps.uniform(-2, 2) for zn in z_next}},
        observables={qt: c / sum(counts) for qt, c in zip(q, counts)},
        assumptions=(
            r"a parent population of types $t$ with frequencies $q_t = n_t/\sum_u n_u$",
            r"type $t$ has mean offspring number $w_t$ and mean offspring trait $z'_t$",
            r"moments are frequency-weighted: $\bar w = \sum_t q_t w_t$, $\bar z = \sum_t q_t z_t$",
        ),
        steps=(
            ps.Step(lhs=direct, rhs=expanded,
                    why=r"$\bar z' = \sum_t q_t w_t z'_t/\bar w$: type $t$ leaves the share $q_t w_t/\bar w$ of the offspring"),
            ps.Step(lhs=expanded, rhs=result,
                    why=r"add and subtract $\sum_t q_t w_t z_t$: selection (covariance) plus transmission (expectation)"),
            ps.Step(lhs=r"\bar w\,\Delta\bar z", rhs=general, check=False,
                    why=r"the same two lines for $n$ types: nothing used $n = 3$"),
            ps.Step(lhs=sp.Symbol(r"\Delta\bar z"), rhs=result / wbar, check=False,
                    why=r"divide by $\bar w > 0$"),
        ),
        checks=(
            ps.exact(offspring_census, vectorize=False, domains=integer_fitness, label="offspring census",
                     describe="explicit population: n parents per type, each with w offspring of trait z' "
                              "(integer w); next-generation mean computed from the offspring list",
                     rtol=1e-12, atol=1e-13,
                     tolerance="float64 round-off of two summation orders: rel 1e-12"),
            ps.monte_carlo(reproduce, vectorize=False, label="stochastic reproduction",
                           describe="simulate_offspring: each parent leaves floor(w) or floor(w) + 1 offspring "
                                    "(mean w), traits z' + N(0, 0.25); realised w̄Δz̄ from the offspring, "
                                    "2e4 replicates",
                           tolerance="4.5 SE of the replicate mean (false alarm about 7e-06 per scalar); "
                                     "the expectation is exact, no model error"),
        ),
        references=(PRICE,),
        model=offspring_mean,
    )


# ============================================================================ D2, D3

zbar, theta = sp.symbols("zbar theta", real=True)
omega = sp.Symbol("omega", positive=True)


@ps.model
def gaussian_fitness(np, z, theta, omega):
    """Gaussian stabilising selection: optimum θ, width ω."""
    return np.exp(-((z - theta) ** 2) / (2 * omega**2))


@ps.kept
def _gaussian_mean_fitness(mean, variance):
    r"""``(integral, w̄)``: E[w(Z)] for Z ~ N(mean, variance) with the Gaussian
    fitness, by the lemma ∫ exp(-a y² + b y + c) dy = √(π/a) exp(b²/(4a) + c)."""
    y = sp.Symbol("y", real=True)
    density = sp.exp(-((y - mean) ** 2) / (2 * variance)) / sp.sqrt(2 * sp.pi * variance)
    integral = sp.Integral(gaussian_fitness.sympy(y, theta, omega) * density, (y, -sp.oo, sp.oo))
    exponent = sp.expand(-((y - theta) ** 2) / (2 * omega**2) - (y - mean) ** 2 / (2 * variance))
    poly = sp.Poly(exponent, y)
    a, b, c = -poly.coeff_monomial(y**2), poly.coeff_monomial(y), poly.coeff_monomial(1)
    scale = sp.sqrt(sp.factor(sp.cancel(sp.pi / a / (2 * sp.pi * variance))))
    wbar = scale * sp.exp(sp.factor(sp.cancel(b**2 / (4 * a) + c)))
    return integral, wbar


def _gauss_hermite_mean_fitness(m, variance, th, om, nodes: int = 80):
    """E[w(Z)], Z ~ N(m, variance), by Gauss–Hermite quadrature (JAX, differentiable in m)."""
    t, weights = np.polynomial.hermite.hermgauss(nodes)
    z_nodes = m + jnp.sqrt(2 * variance) * t
    return jnp.sum(weights * gaussian_fitness.jax(z_nodes, th, om)) / math.sqrt(math.pi)


@jit
def _selected_means(zbar_, var_a, var_e, theta_, omega_):
    """(S, R) = (E[w (A + E)]/E[w], E[w A]/E[w]) for independent A ~ N(0, var_a), E ~ N(0, var_e) and the
    model's fitness w(zbar + A + E): the defining integrals by a 60x60 Gauss-Hermite product rule."""
    z, w = (jnp.asarray(v) for v in hermite_rule(60))
    a = jnp.sqrt(var_a) * z[:, None]
    e = jnp.sqrt(var_e) * z[None, :]
    fit = w[:, None] * w[None, :] * gaussian_fitness.jax(zbar_ + a + e, theta_, omega_)
    return jnp.stack([jnp.sum(fit * (a + e)), jnp.sum(fit * a)]) / jnp.sum(fit)


@jit
def _truncation_ratio(var_a, var_e, cut_):
    """R/S under w = 1{A + E > c}: E[A; A + E > c]/E[A + E; A + E > c], the inner integral over E in closed
    form (the Gaussian tail: P(E > y) and E[E; E > y]), the outer over A by 120-node Gauss-Hermite."""
    z, weights = (jnp.asarray(v) for v in hermite_rule(120))
    a, sd_e = jnp.sqrt(var_a) * z, jnp.sqrt(var_e)
    y = (cut_ - a) / sd_e
    survive = jax.scipy.special.ndtr(-y)
    tail_mean = sd_e * jnp.exp(-(y**2) / 2) / math.sqrt(2 * math.pi)
    return jnp.sum(weights * a * survive) / jnp.sum(weights * (a * survive + tail_mean))


V_A, V_E = sp.symbols("V_A V_E", positive=True)


def _truncation(P, cut):
    """Truncation selection: parents with phenotype above ``cut`` breed."""
    return jnp.where(P > cut, 1.0, 0.0)


@ps.derivation("genetics/breeder")
def breeder() -> ps.Derivation:
    r"""The breeder's equation under Gaussian stabilising selection.

    .. math::
        S = \frac{\operatorname{Cov}(w, z)}{\bar w} = -\frac{V_P(\bar z-\theta)}{\omega^2+V_P}, \qquad
        R = h^2 S = -\frac{V_A(\bar z-\theta)}{\omega^2+V_P}, \qquad h^2 = \frac{V_A}{V_P}

    with :math:`V_P = V_A + V_E`. Phenotype :math:`P = \bar z + A + E` with
    independent Gaussian breeding value :math:`A` and environment :math:`E`;
    fitness :math:`w = e^{-(P-\theta)^2/(2\omega^2)}`. :math:`R = h^2 S` holds for
    any fitness function because :math:`\mathbb E[A\mid P] = h^2(P-\bar z)`; the
    last part checks it under truncation selection.
    References: Lush; Robertson (1966); Falconer & Mackay.
    """
    V_P = V_A + V_E
    integral, wbar = _gaussian_mean_fitness(zbar, V_P)
    S = -(V_P * (zbar - theta)) / (omega**2 + V_P)
    h2 = V_A / V_P
    R = -(V_A * (zbar - theta)) / (omega**2 + V_P)
    stein = V_P * sp.diff(sp.log(wbar), zbar)
    _no_remainder(stein - S, "genetics/breeder: S")
    _no_remainder(h2 * S - R, "genetics/breeder: R")
    c = sp.Symbol("c", real=True)  # truncation point, for the realised-heritability check only

    def selection(x, key, samples=400_000):
        return popgen.simulate_gaussian_selection(key, x["zbar"], x["V_A"], x["V_E"], gaussian_fitness.jax,
                                                  samples, args=(x["theta"], x["omega"]))

    def quadrature(x):
        return _selected_means(x["zbar"], x["V_A"], x["V_E"], x["theta"], x["omega"])

    def truncation_quadrature(x):
        return _truncation_ratio(x["V_A"], x["V_E"], x["c"])

    def truncation(x, key):
        sel = popgen.simulate_gaussian_selection(key, x["zbar"], x["V_A"], x["V_E"], _truncation, 400_000,
                                                 args=(x["zbar"] + x["c"],))
        return sel.h2

    return ps.Derivation(
        lhs=("S", "R", "R/S"),
        result=sp.Tuple(S, R, h2),
        symbols={V_A: ps.uniform(0.3, 1.5), V_E: ps.uniform(0.3, 1.0), zbar: ps.uniform(0.5, 2.0),
                 theta: ps.uniform(-1.0, 0.0), omega: ps.uniform(1.0, 2.0)},
        assumptions=(
            r"$P = \bar z + A + E$ with independent $A \sim \mathcal N(0, V_A)$, $E \sim \mathcal N(0, V_E)$",
            r"offspring inherit the mean breeding value of their parents (additive, no dominance or epistasis)",
            r"fitness $w(P) = e^{-(P-\theta)^2/(2\omega^2)}$ for $S$ and $R$; any $w \ge 0$ for $R/S = h^2$",
        ),
        steps=(
            ps.Step(lhs=integral, rhs=wbar, check=False,
                    why=r"complete the square: $\int e^{-ay^2+by+c}\,dy = \sqrt{\pi/a}\,e^{b^2/(4a)+c}$"),
            ps.Step(lhs=stein, rhs=S,
                    why=r"Robertson--Price and Stein's lemma: $\operatorname{Cov}(w,P) = V_P\,\mathbb E[w'(P)] "
                        r"= V_P\,\partial_{\bar z}\bar w$, so $S = V_P\,\partial_{\bar z}\ln\bar w$"),
            ps.Step(lhs=r"\mathbb E[A \mid P]", rhs=h2 * (sp.Symbol("P") - zbar), check=False,
                    why=r"$(A, P)$ jointly Gaussian: the regression of $A$ on $P$ is linear with slope $V_A/V_P$"),
            ps.Step(lhs=sp.Mul(h2, S, evaluate=False), rhs=R,
                    why=r"$R = \operatorname{Cov}(w, A)/\bar w = \mathbb E[w\,\mathbb E[A\mid P]]/\bar w = h^2 S$"),
        ),
        checks=(
            ps.quadrature(lambda x: quadrature(x)[0], target=ps.part(0), label="S by quadrature",
                          describe="60x60 Gauss-Hermite rule over (A, E) of the fitness-weighted mean of P - z̄",
                          rtol=1e-11, tolerance="Gauss-Hermite on an entire Gaussian-type integrand, converged "
                                                "(30 nodes already agree to 1e-12): rel 1e-11"),
            ps.quadrature(lambda x: quadrature(x)[1], target=ps.part(1), label="R by quadrature",
                          describe="60x60 Gauss-Hermite rule over (A, E) of the fitness-weighted mean breeding value",
                          rtol=1e-11, tolerance="Gauss-Hermite on an entire Gaussian-type integrand, converged: "
                                                "rel 1e-11"),
            ps.quadrature(truncation_quadrature, target=ps.part(2), label="R/S under truncation, "
                          "quadrature", domains={c: ps.uniform(-0.5, 1.0)}, rtol=1e-11,
                          describe="E[A; A + E > c]/E[A + E; A + E > c]: Gaussian tail of E in closed form, "
                                   "120-node Gauss-Hermite over A",
                          tolerance="Gauss-Hermite of a smooth integrand, converged: rel 1e-11"),
            ps.monte_carlo(lambda x, key: selection(x, key).S, target=ps.part(0), vectorize=False,
                           label="selection differential",
                           describe="simulate_gaussian_selection: 4e5 Gaussian individuals, fitness-weighted mean "
                                    "of P - z̄ (delta-method SE)"),
            ps.monte_carlo(lambda x, key: selection(x, key).R, target=ps.part(1), vectorize=False, label="response",
                           describe="simulate_gaussian_selection: 4e5 Gaussian individuals, fitness-weighted mean "
                                    "breeding value (delta-method SE)"),
            ps.monte_carlo(truncation, target=ps.part(2), vectorize=False, label="R/S under truncation",
                           domains={c: ps.uniform(-0.5, 1.0)},
                           describe="simulate_gaussian_selection with truncation w = 1{P > z̄ + c}: "
                                    "ratio of the weighted means of A and P - z̄, 4e5 individuals"),
        ),
        references=(ROBERTSON, FALCONER),
        model=gaussian_fitness,
    )


P, G = sp.symbols("P G", positive=True)
G11, G22, V_env = sp.symbols("G_11 G_22 V_E", positive=True)
G12 = sp.Symbol("G_12", real=True)
rho = sp.Symbol("rho_G", real=True)
zbar_v = sp.Matrix(sp.symbols("zbar_1:3", real=True))
theta_v = sp.Matrix(sp.symbols("theta_1:3", real=True))


def _two_traits_shown(Gm, curvature):
    return sp.MatMul(sp.ImmutableMatrix(Gm), sp.Inverse(sp.ImmutableMatrix(curvature)), sp.ImmutableMatrix(theta_v - zbar_v))


@ps.kept
def _two_traits(omega):
    """(G, P, ω²I + P, β, Δz̄, S) for two traits, each entry of Δz̄ = Gβ and S = Pβ factored, where
    β = -(ω²I + P)⁻¹(z̄ - θ); proved on the way: Δz̄ = G P⁻¹ S, and Δz̄ is G (ω²I + P)⁻¹ (θ - z̄)
    multiplied out."""
    Gm = sp.Matrix([[G11, G12], [G12, G22]])
    Pm = Gm + V_env * sp.eye(2)
    curvature = omega**2 * sp.eye(2) + Pm
    beta_v = -curvature.inv() * (zbar_v - theta_v)
    response_v = (Gm * beta_v).applyfunc(lambda e: sp.factor(sp.cancel(e)))
    S_v = (Pm * beta_v).applyfunc(lambda e: sp.factor(sp.cancel(e)))
    for e in Gm * Pm.inv() * S_v - response_v:
        _no_remainder(e, "genetics/lande: G P^-1 S")
    for e in _two_traits_shown(Gm, curvature).doit() - response_v:
        _no_remainder(e, "genetics/lande: displayed form")
    return Gm, Pm, curvature, beta_v, response_v, S_v


@ps.model
def gaussian_fitness_2d(np, z1, z2, theta1, theta2, omega):
    """Isotropic Gaussian stabilising selection on two traits: optimum (θ1, θ2), width ω."""
    return np.exp(-((z1 - theta1) ** 2 + (z2 - theta2) ** 2) / (2 * omega**2))


def _fitness_2d(P, theta1, theta2, om):
    # Module level, so that the simulator's compiled kernel is reused across instances.
    return gaussian_fitness_2d.jax(P[0], P[1], theta1, theta2, om)


@jit
def _selected_means_2d(zbar_, G_, var_e, theta_, omega_):
    """E[w A]/E[w] for A ~ N(0, G), E ~ N(0, var_e I) and the model's two-trait fitness, iterated
    (Fubini): for each node of a 60x60 Gauss-Hermite rule in A, the integral over each E_k by 60-node
    Gauss-Hermite (the fitness factorises over the two traits)."""
    z, w = (jnp.asarray(v) for v in hermite_rule(60))
    grid = jnp.stack(jnp.meshgrid(z, z, indexing="ij"), axis=-1).reshape(-1, 2)
    a = grid @ jnp.linalg.cholesky(G_).T
    weights = (w[:, None] * w[None, :]).reshape(-1)
    p = zbar_[None, :, None] + a[:, :, None] + jnp.sqrt(var_e) * z
    one_trait = lambda v, th: gaussian_fitness_2d.jax(v, 0.0, th, 0.0, omega_)  # noqa: E731
    per_trait = jnp.stack([one_trait(p[:, k, :], theta_[k]) @ w for k in range(2)], axis=1)
    fit = weights * jnp.prod(per_trait, axis=1)
    return fit @ a / jnp.sum(fit)


@ps.derivation("genetics/lande")
def lande() -> ps.Derivation:
    r"""Lande's equation: the response is the G-matrix times the selection gradient.

    .. math::
        \Delta\bar z = G\,\nabla_{\bar z}\ln\bar w = G P^{-1} S

    Univariate Gaussian stabilising selection (optimum :math:`\theta`, width
    :math:`\omega`, phenotypic variance :math:`P`, additive variance :math:`G`):

    .. math::
        \bar w = \sqrt{\tfrac{\omega^2}{\omega^2+P}}\,e^{-\frac{(\bar z-\theta)^2}{2(\omega^2+P)}},\quad
        \beta = \partial_{\bar z}\ln\bar w = -\frac{\bar z-\theta}{\omega^2+P},\quad
        \Delta\bar z = G\beta

    and for two traits :math:`\Delta\bar z = G\beta` with
    :math:`\beta = -(\omega^2 I + P)^{-1}(\bar z - \theta)`, :math:`P = G + V_E I`.
    Requires multivariate normal phenotypes and breeding values with constant G and P.
    References: Lande (1979); Lande & Arnold (1983).
    """
    integral, wbar = _gaussian_mean_fitness(zbar, P)
    beta = sp.factor(sp.diff(sp.log(wbar), zbar))
    response = G * beta
    Gm, Pm, curvature, beta_v, response_v, S_v = _two_traits(omega)
    # G (ω²I + P)⁻¹ (θ - z̄), unevaluated for the step that shows it; the result is the
    # multiplied-out vector (an unevaluated inverse has a "-1" that no mutation can change).
    response_shown = _two_traits_shown(Gm, curvature)
    # The result written with the adjugate and determinant of ω²I + P, unexpanded (readable, and
    # every coefficient is one a mutation can change); a step checks it against G (ω²I + P)⁻¹ (θ - z̄).
    det = curvature[0, 0] * curvature[1, 1] - curvature[0, 1] * curvature[1, 0]
    response_adj = sp.ImmutableMatrix(Gm * curvature.adjugate() * (theta_v - zbar_v)) / det

    def quadrature_wbar(x):
        return _gauss_hermite_mean_fitness(x["zbar"], x["P"], x["theta"], x["omega"])

    def gradient(x):
        log_wbar = lambda m: jnp.log(_gauss_hermite_mean_fitness(m, x["P"], x["theta"], x["omega"]))
        return jax.grad(log_wbar)(x["zbar"])

    def response_1d_quadrature(x):
        # E[w A]/E[w] over A ~ N(0, G), E ~ N(0, P - G).
        return _selected_means(x["zbar"], x["G"], x["P"] - x["G"], x["theta"], x["omega"])[1]

    def response_2d_quadrature(x):
        g12 = x["rho_G"] * math.sqrt(x["G_11"] * x["G_22"])
        return _selected_means_2d(np.array([x["zbar_1"], x["zbar_2"]]), np.array([[x["G_11"], g12], [g12, x["G_22"]]]),
                                  x["V_E"], np.array([x["theta_1"], x["theta_2"]]), x["omega"])

    def response_1d(x, key):
        sel = popgen.simulate_gaussian_selection(key, x["zbar"], x["G"], x["P"] - x["G"], gaussian_fitness.jax,
                                                 400_000, args=(x["theta"], x["omega"]))
        return sel.R

    def response_2d(x, key):
        g12 = x["rho_G"] * math.sqrt(x["G_11"] * x["G_22"])
        Gx = np.array([[x["G_11"], g12], [g12, x["G_22"]]])
        sel = popgen.simulate_gaussian_selection(key, np.array([x["zbar_1"], x["zbar_2"]]), Gx,
                                                 x["V_E"] * np.eye(2), _fitness_2d, 400_000,
                                                 args=(x["theta_1"], x["theta_2"], x["omega"]))
        return sel.R

    return ps.Derivation(
        lhs=(r"\bar w", r"\beta", r"\Delta\bar z", r"\Delta\bar{\mathbf z}"),
        result=sp.Tuple(wbar, beta, response, response_adj),
        symbols={zbar: ps.uniform(0.5, 1.5), theta: ps.uniform(-1.0, -0.5), omega: ps.uniform(1.0, 2.0),
                 P: ps.uniform(1.0, 2.0), G: ps.uniform(0.4, 0.9),
                 G11: ps.uniform(0.5, 2.0), G22: ps.uniform(0.5, 2.0), rho: ps.uniform(-0.9, 0.9),
                 V_env: ps.uniform(0.2, 0.6), zbar_v[0]: ps.uniform(-2, 2), zbar_v[1]: ps.uniform(-2, 2),
                 theta_v[0]: ps.uniform(-0.5, 0.5), theta_v[1]: ps.uniform(-0.5, 0.5)},
        observables={G12: rho * sp.sqrt(G11 * G22)},
        assumptions=(
            r"breeding values and phenotypes multivariate normal; $G$ and $P$ constant over the generation",
            r"fitness $w(z) = e^{-\lVert z-\theta\rVert^2/(2\omega^2)}$ (Gaussian stabilising selection)",
            r"additive inheritance: the offspring mean is the selected parents' mean breeding value",
            r"two traits: $P = G + V_E I$, $G_{12} = \rho_G\sqrt{G_{11}G_{22}}$",
        ),
        steps=(
            ps.Step(lhs=integral, rhs=wbar, check=False,
                    why=r"complete the square: $\int e^{-ay^2+by+c}\,dy = \sqrt{\pi/a}\,e^{b^2/(4a)+c}$"),
            ps.Step(lhs=sp.diff(sp.log(wbar), zbar), rhs=beta, why=r"selection gradient $\beta = \partial_{\bar z}\ln\bar w$"),
            ps.Step(lhs=r"S", rhs=P * beta, check=False,
                    why=r"Stein's lemma: $\operatorname{Cov}(w, z) = P\,\partial_{\bar z}\bar w$, so $S = P\beta$ "
                        r"(Lande and Arnold)"),
            ps.Step(lhs=r"G P^{-1} S", rhs=response, check=False,
                    why=r"$\mathbb E[A\mid z] = G P^{-1}(z-\bar z)$, so $\Delta\bar z = G P^{-1} S = G\beta$"),
            ps.Step(lhs=sp.ImmutableMatrix(Pm * beta_v), rhs=sp.ImmutableMatrix(S_v),
                    why=r"two traits: $S = P\beta$"),
            ps.Step(lhs=sp.ImmutableMatrix(Gm * Pm.inv() * S_v), rhs=sp.ImmutableMatrix(response_v),
                    why=r"$\Delta\bar z = G P^{-1} S = G\beta$"),
            ps.Step(lhs=response_shown, rhs=response_adj,
                    why=r"$G\beta = G(\omega^2 I + P)^{-1}(\theta - \bar z)$, the inverse by adjugate and determinant"),
        ),
        checks=(
            ps.quadrature(quadrature_wbar, target=ps.part(0), vectorize=True, label="mean fitness",
                          describe="80-node Gauss-Hermite quadrature of w(z) against N(z̄, P)", rtol=1e-12,
                          tolerance="Gauss-Hermite on a Gaussian integrand converges geometrically; rel 1e-12"),
            ps.autodiff(gradient, target=ps.part(1), label="selection gradient",
                        describe="jax.grad of ln w̄ computed by Gauss-Hermite quadrature", rtol=1e-10),
            ps.quadrature(response_1d_quadrature, target=ps.part(2), label="response by quadrature",
                          describe="60x60 Gauss-Hermite rule over (A, E) of the fitness-weighted mean breeding value",
                          rtol=1e-11, tolerance="Gauss-Hermite on an entire Gaussian-type integrand, converged: "
                                                "rel 1e-11"),
            ps.quadrature(response_2d_quadrature, target=ps.part(3),
                          label="response, two traits, by quadrature",
                          describe="iterated Gauss-Hermite: 60x60 nodes in (A_1, A_2), 60 in each E_k, of the "
                                   "fitness-weighted mean breeding-value vector",
                          rtol=1e-10, atol=1e-13,
                          tolerance="iterated Gauss-Hermite, converged (40 nodes agree to 1e-12 at the domain's "
                                    "corner): rel 1e-10, abs 1e-13"),
            ps.monte_carlo(response_1d, target=ps.part(2), vectorize=False, label="response, one trait",
                           describe="simulate_gaussian_selection: 4e5 Gaussian individuals A ~ N(0, G), "
                                    "E ~ N(0, P - G), fitness-weighted mean breeding value"),
            ps.monte_carlo(response_2d, target=ps.part(3), vectorize=False, label="response, two traits",
                           describe="simulate_gaussian_selection: 4e5 bivariate Gaussian individuals, "
                                    "fitness-weighted mean breeding-value vector"),
        ),
        references=(LANDE,),
        model=(gaussian_fitness, gaussian_fitness_2d),
    )


# ============================================================================ D4


@ps.model
def wright_fisher_selection(np, p, s):
    """Allele frequency after genic selection (the allele has fitness 1 + s)."""
    return p * (1 + s) / (1 + p * s)


@ps.kept
def _kimura_closed():
    """(drift, variance, u(p)) by the backward equation M u' + (V/2) u'' = 0."""
    drift = sp.limit((wright_fisher_selection.sympy(x, s) - x) / s, s, 0) * s  # s x (1 - x), first order in s
    variance = x * (1 - x) / (2 * N)  # binomial sampling of 2N copies
    psi = sp.exp(-sp.integrate(sp.cancel(2 * drift / variance), x))  # u' ∝ exp(-∫ 2M/V)
    s_ = sp.Symbol("s", real=True, nonzero=True)  # the integral's Piecewise for s = 0 is the limit below
    psi_ = psi.subs(s, s_)
    u = sp.integrate(psi_, (x, 0, p)) / sp.integrate(psi_, (x, 0, 1))
    return drift, variance, sp.cancel(u).subs(s_, s)


epsilon = sp.Symbol("epsilon", positive=True)  # 1/N, the small parameter of the diffusion limit
S = sp.Symbol("S", real=True)  # 4Ns, held fixed in the diffusion limit


def _drift_per_s(p_):
    """d p'/d s at s = 0: the diffusion's drift M(p) = s times this (first order in s)."""
    return jax.grad(wright_fisher_selection.jax, argnums=1)(p_, 0.0)


def _binomial_variance(n: int, p_):
    """Var(Δp) of one generation: the variance of Binomial(2N, p)/(2N), p(1-p)/(2N)."""
    return p_ * (1 - p_) / (2 * n)


@jit
def _backward_rhs(x_, y, n, s_):
    """(u, u')' for M u' + (V/2) u'' = 0; M/V is evaluated a hair inside (0, 1), where both vanish."""
    inside = jnp.clip(x_, 1e-9, 1 - 1e-9)
    ratio = s_ * _drift_per_s(inside) / _binomial_variance(n, inside)
    return jnp.stack([y[1], -2 * ratio * y[1]])


def _backward_fixation(n: int, s_: float, at: float) -> float:
    """u(at) for M u' + (V/2) u'' = 0, u(0) = 0, u(1) = 1, by shooting with solve_ivp."""
    from scipy.integrate import solve_ivp

    def rhs(x_, y):
        return np.asarray(_backward_rhs(x_, y, n, s_))

    sol = solve_ivp(rhs, (0.0, 1.0), [0.0, 1.0], method="DOP853", rtol=1e-12, atol=1e-14, t_eval=[at, 1.0])
    return float(sol.y[0, 0] / sol.y[0, 1])


@ps.derivation("fixation/kimura")
def kimura() -> ps.Derivation:
    r"""Kimura's diffusion approximation to the fixation probability.

    .. math::
        u(p) = \frac{1 - e^{-4Nsp}}{1 - e^{-4Ns}}, \qquad
        u\!\left(\tfrac{1}{2N}\right) = \frac{1 - e^{-2s}}{1 - e^{-4Ns}}

    for :math:`N` diploids (:math:`2N` gene copies, :math:`N_e = N`) with genic
    selection :math:`s`, starting at frequency :math:`p`. Limits: :math:`u \to p`
    as :math:`s \to 0`; :math:`u \approx p + 2Nsp(1-p)`, so a new mutant has
    :math:`u \approx \frac1{2N} + \frac{2N-1}{2N}s`; :math:`u \approx 2s` for
    :math:`4Ns \gg 1 \gg s` (Haldane). An approximation: the checks against the
    exact Wright–Fisher chain fit the order of its diffusion error, O(1/N) at fixed Ns.
    Reference: Kimura (1962).
    """
    drift, variance, u_raw = _kimura_closed()
    u = (1 - sp.exp(-4 * N * s * p)) / (1 - sp.exp(-4 * N * s))
    _no_remainder(sp.together(u_raw - u).rewrite(sp.exp), "fixation/kimura")
    new = (1 - sp.exp(-2 * s)) / (1 - sp.exp(-4 * N * s))
    ux = u.subs(p, x)
    backward = drift * sp.diff(ux, x) + variance / 2 * sp.diff(ux, x, 2)

    def backward_ode(x, start):
        # The diffusion's own backward equation M u' + (V/2) u'' = 0 with u(0) = 0, u(1) = 1,
        # solved numerically by shooting (u'(0) = 1, then divide by u(1)).
        n = int(round(x["N"]))
        at = 1 / (2 * n) if start == "new" else x["p"]
        return _backward_fixation(n, x["s"], at)

    def wf_chain(x, part):
        # The exact Wright-Fisher chain at N = 1/epsilon with 4Ns = S held fixed: Kimura's u
        # depends on (Ns, p) only, the chain differs at O(1/N).
        n = int(round(1 / x["epsilon"]))
        chain = popgen.wright_fisher_absorption_system(n, x["S"] / (4 * n))
        return n * chain.phi[1] if part == "new" else chain.phi[_copies(n, x["p"])]

    diffusion_limit = {N: 1 / epsilon, s: S * epsilon / 4}
    order_domains = {epsilon: ps.fixed(1 / 25), S: ps.uniform(-4, 8)}
    order_tolerance = ("diffusion approximation: the exact chain differs at O(1/N) with 4Ns fixed; fitted log-log "
                       "slope >= 1 - 0.25 over N = 25..200")
    return ps.Derivation(
        lhs=("u(p)", r"u\!\left(\tfrac{1}{2N}\right)"),
        result=sp.Tuple(u, new),
        symbols={N: ps.choice([25, 50, 100]), s: ps.uniform(-0.01, 0.02), p: ps.choice([0.1, 0.3, 0.5, 0.7])},
        assumptions=(
            r"$N$ diploids ($2N$ gene copies, $N_e = N$); genic selection: the allele has fitness $1+s$",
            r"diffusion limit: $|s| \ll 1$ and $N \gg 1$ with $Ns$ of order one",
            r"start at frequency $p$; a new mutant has $p = 1/(2N)$",
        ),
        steps=(
            ps.Step(lhs=sp.Limit((wright_fisher_selection.sympy(p, s) - p) / s, s, 0), rhs=p * (1 - p),
                    why=r"drift per generation: $p' - p = sp(1-p) + O(s^2)$ for $p' = p(1+s)/(1+ps)$"),
            ps.Step(lhs=r"V(p)", rhs=p * (1 - p) / (2 * N), check=False,
                    why=r"binomial sampling of $2N$ copies: $\operatorname{Var}(\Delta p) = p(1-p)/(2N)$"),
            ps.Step(lhs=backward.subs(x, p), rhs=sp.Integer(0),
                    why=r"Kolmogorov backward equation $M u' + \tfrac12 V u'' = 0$, $u(0)=0$, $u(1)=1$; "
                        r"$u' \propto e^{-\int 2M/V} = e^{-4Nsp}$"),
            ps.Step(lhs=sp.Limit(u, s, 0), rhs=p, why="neutral limit: the fixation probability is the frequency"),
            ps.Step(lhs=sp.Limit(sp.diff(u, s), s, 0), rhs=2 * N * p * (1 - p),
                    why=r"weak selection: $u \approx p + 2Nsp(1-p)$"),
            ps.Step(lhs=sp.Subs(u, p, 1 / (2 * N)), rhs=new, why=r"a new mutant: $p = 1/(2N)$"),
            ps.Step(lhs=sp.Limit(sp.diff(new, s), s, 0), rhs=(2 * N - 1) / (2 * N),
                    why=r"new-mutant slope: $u \approx \frac1{2N} + \frac{2N-1}{2N}s$"),
            ps.Step(lhs=r"\lim_{N\to\infty} u\!\left(\tfrac1{2N}\right)", rhs=1 - sp.exp(-2 * s), check=False,
                    why=r"$s > 0$: $e^{-4Ns} \to 0$; $1 - e^{-2s} \approx 2s$ (Haldane)"),
            ps.Step(lhs=r"u\!\left(\tfrac1{2N}\right)\big|_{s<0}", rhs=2 * sp.Abs(s) * sp.exp(-4 * N * sp.Abs(s)),
                    check=False, why=r"$4N|s| \gg 1$: deleterious mutants fix with exponentially small probability"),
        ),
        checks=(
            ps.ode(lambda x: backward_ode(x, "p"), target=ps.part(0), label="backward equation, u(p)",
                   describe="solve_ivp (DOP853, rtol 1e-12, atol 1e-14) of M u' + (V/2) u'' = 0 by shooting: drift "
                            "M = s dp'/ds at s = 0 (jax.grad of the model), V = p(1-p)/(2N) the variance of one "
                            "generation's binomial sampling"),
            ps.ode(lambda x: backward_ode(x, "new"), target=ps.part(1), label="backward equation, new mutant",
                   describe="the same solve, evaluated at p = 1/(2N)"),
            ps.order(lambda x: wf_chain(x, "p"), target=lambda r: r[0].subs(diffusion_limit), small=epsilon,
                     sweep=(1 / 25, 1 / 50, 1 / 100, 1 / 200), order=1, vectorize=False, domains=order_domains,
                     label="diffusion error against the exact chain, u(p)",
                     describe="wright_fisher_absorption_system (linear solve of the (2N+1)-state chain: selection, "
                              "then Binomial(2N, p')) at N = 1/epsilon, s = S/(4N)",
                     tolerance=order_tolerance),
            ps.order(lambda x: wf_chain(x, "new"), target=lambda r: (N * r[1]).subs(diffusion_limit), small=epsilon,
                     sweep=(1 / 25, 1 / 50, 1 / 100, 1 / 200), order=1, vectorize=False, domains=order_domains,
                     label="diffusion error against the exact chain, N u(1/2N)",
                     describe="N times the exact chain's fixation probability from one copy, N = 1/epsilon, "
                              "s = S/(4N)",
                     tolerance=order_tolerance),
        ),
        references=(KIMURA,),
        model=wright_fisher_selection,
    )


# ============================================================================ D5


@ps.model
def moran_rates(np, i, N, r):
    """Moran birth–death rates from i mutants of fitness r among N: a reproducer
    is chosen ∝ fitness, its offspring replaces a uniformly chosen individual."""
    up = r * i / (r * i + N - i) * (N - i) / N
    down = (N - i) / (r * i + N - i) * i / N
    return up, down


@ps.derivation("fixation/moran")
def moran() -> ps.Derivation:
    r"""Fixation probability in the Moran process.

    .. math::
        \rho = \frac{1 - 1/r}{1 - 1/r^N}, \qquad \phi_i = \frac{1 - r^{-i}}{1 - r^{-N}}

    for one (or :math:`i`) mutants of relative fitness :math:`r` among
    :math:`N`. Limits: :math:`\rho \to 1/N` as :math:`r \to 1`;
    :math:`\rho \to 1 - 1/r` as :math:`N \to \infty` (:math:`r > 1`);
    :math:`\rho \approx \frac1N + \frac{N-1}{2N}s` for :math:`r = 1 + s`.
    References: Moran (1958); Nowak (2006).
    """
    up, down = moran_rates.sympy(i, N, r)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    rho = (1 - 1 / r) / (1 - 1 / r**N)
    phi = (1 - r**-i) / (1 - r**-N)
    sums = sp.Sum(r**-k, (k, 0, i - 1)) / sp.Sum(r**-k, (k, 0, N - 1))
    _no_remainder(phi.subs(i, 1) - rho, "fixation/moran")

    def absorption(x, start):
        chain = popgen.moran_absorption_system(int(round(x["N"])), x["r"])
        return chain.phi[1 if start == "one" else int(round(x["i"]))]

    def simulated(x, key):
        return popgen.simulate_moran(key, int(round(x["N"])), x["r"], int(round(x["i"])), 200_000)

    solve_tolerance = ("tridiagonal elimination without pivoting: componentwise rel error <= 5e-14 for N <= 100 "
                       "(against 40-digit mpmath); rel 1e-12")
    return ps.Derivation(
        lhs=(r"\rho", r"\phi_i"),
        result=sp.Tuple(rho, phi),
        symbols={N: ps.integers(5, 100), r: ps.log_uniform(0.5, 2.0), i: ps.integers(1, 5)},
        assumptions=(
            r"Moran process: each step one individual reproduces (chosen $\propto$ fitness) and its offspring "
            r"replaces one chosen uniformly at random",
            r"mutants have constant relative fitness $r$ (no frequency dependence); $1 \le i \le N$",
        ),
        steps=(
            ps.Step(lhs=sp.Mul(down, sp.Pow(up, -1), evaluate=False), rhs=1 / r,
                    why=r"$T^-_i/T^+_i = 1/r$ for every $i$: the ratio of the birth--death rates"),
            ps.Step(lhs=r"\phi_{i+1} - \phi_i", rhs=r**-i * sp.Symbol(r"\phi_1"), check=False,
                    why=r"$T^+_i(\phi_{i+1}-\phi_i) = T^-_i(\phi_i - \phi_{i-1})$ and $\phi_0 = 0$"),
            ps.Step(lhs=sums, rhs=phi, why=r"sum the differences and impose $\phi_N = 1$ (geometric sums)"),
            ps.Step(lhs=sp.Subs(phi, i, 1), rhs=rho, why="one mutant"),
            ps.Step(lhs=sp.Limit(rho, r, 1), rhs=1 / N, why="neutral: every individual is equally likely to be the ancestor"),
            ps.Step(lhs=sp.Limit(phi, r, 1), rhs=i / N, why=r"neutral, from $i$ mutants"),
            ps.Step(lhs=sp.Limit(sp.diff(rho, r), r, 1), rhs=(N - 1) / (2 * N),
                    why=r"weak selection $r = 1 + s$: $\rho \approx \frac1N + \frac{N-1}{2N}s$"),
            ps.Step(lhs=r"\lim_{N\to\infty}\rho", rhs=1 - 1 / r, check=False, why=r"$r > 1$: $r^{-N} \to 0$"),
        ),
        checks=(
            ps.exact(lambda x: absorption(x, "one"), target=ps.part(0), vectorize=False,
                     label="absorption system, one mutant",
                     describe="moran_absorption_system: tridiagonal solve with T+ and T- from the birth-death rule",
                     rtol=1e-12, atol=0.0, tolerance=solve_tolerance),
            ps.exact(lambda x: absorption(x, "i"), target=ps.part(1), vectorize=False,
                     label="absorption system, i mutants",
                     describe="moran_absorption_system: tridiagonal solve, fixation probability from i mutants",
                     rtol=1e-12, atol=0.0, tolerance=solve_tolerance),
            ps.monte_carlo(simulated, target=ps.part(1), vectorize=False, label="Moran chain simulation",
                           domains={N: ps.integers(5, 20), r: ps.log_uniform(0.95, 1.5)},
                           describe="simulate_moran: 2e5 trials of the Moran chain from i mutants, restart and drain"),
        ),
        references=(MORAN, NOWAK),
        model=moran_rates,
    )


# ============================================================================ D6


class harmonic(sp.harmonic):  # noqa: N801 - keeps SymPy's name, so lambdify finds the JAX rule
    r"""SymPy's harmonic number :math:`H_n = \sum_{j \le n} 1/j`, printed :math:`H_n`."""

    def _latex(self, printer):
        return r"H_{%s}" % printer._print(self.args[0])


_GAUSS_LEGENDRE = np.polynomial.legendre.leggauss(200)


def _diffusion_time(n: int, at: float, *, conditional: bool) -> float:
    r"""The neutral diffusion's backward equation (V/2) f'' = -g, f(0) = f(1) = 0, solved by its
    Green's function: f(p) = \int_0^1 G(p, y)\, 2g(y)/V(y)\, dy with G = y(1-p) for y < p and
    p(1-y) for y > p; g = 1 gives the absorption time, g = u with u(y) = y gives θ = u t̄₁."""
    nodes, weights = _GAUSS_LEGENDRE
    total = 0.0
    for lo, hi in ((0.0, at), (at, 1.0)):
        y = lo + (hi - lo) * (nodes + 1) / 2
        green = np.where(y < at, y * (1 - at), at * (1 - y))
        g = y if conditional else np.ones_like(y)
        total += (hi - lo) / 2 * np.sum(weights * green * 2 * g / _binomial_variance(n, y))
    return total / at if conditional else total


@functools.lru_cache(maxsize=8)
def _neutral_wright_fisher(n: int):
    """The neutral chain depends on N only: solve it once per N."""
    return popgen.wright_fisher_absorption_system(n, 0.0)


@ps.kept
def _solve_backward(rhs):
    r"""t with t'' = rhs(x) on (0, 1), t(0+) = t(1-) = 0, by integrating twice.

    ``log(x - 1)`` from SymPy's antiderivatives is replaced by ``log(1 - x)``: the
    two differ by the constant iπ, which the integration constants absorb."""
    C1, C2 = sp.symbols("C1 C2")

    def antiderivative(e):
        e = sp.apart(e, x) if e.is_rational_function(x) else sp.expand(e)
        return sp.integrate(e, x).subs(sp.log(x - 1), sp.log(1 - x))

    t = antiderivative(antiderivative(rhs) + C1) + C2
    constants = sp.solve([sp.limit(t, x, 0, "+"), sp.limit(t, x, 1, "-")], [C1, C2], dict=True)[0]
    return sp.expand(t.subs(constants))


@ps.derivation("fixation/times")
def times() -> ps.Derivation:
    r"""Mean times to fixation and absorption: neutral diffusion and neutral Moran.

    Diffusion (diploid Wright–Fisher, :math:`N_e = N`, in generations):

    .. math::
        \bar t_1(p) = -\frac{4N(1-p)\ln(1-p)}{p}, \qquad
        \bar t(p) = -4N\left[p\ln p + (1-p)\ln(1-p)\right]

    (conditional on fixation; unconditional). Neutral Moran, in birth–death
    steps: one mutant fixes, given that it does, after :math:`N(N-1)` steps;
    from :math:`i` mutants absorption takes
    :math:`N[(N-i)(H_{N-1}-H_{N-i-1}) + i(H_{N-1}-H_i)]` steps. With selection
    there is no elementary closed form (`moran_absorption_system` solves it
    exactly), but the conditional fixation time of one mutant is the same for
    :math:`r` and :math:`1/r`.
    References: Kimura & Ohta (1969); Taylor, Iwasa & Nowak (2006).
    """
    t_uncond = _solve_backward(-4 * N / (x * (1 - x)))
    theta = _solve_backward(-4 * N * x / (x * (1 - x)))  # θ = u t̄₁ with u(x) = x
    t1 = -4 * N * (1 - p) * sp.log(1 - p) / p
    t = -4 * N * (p * sp.log(p) + (1 - p) * sp.log(1 - p))
    _no_remainder(theta.subs(x, p) / p - t1, "fixation/times: t1")
    _no_remainder(t_uncond.subs(x, p) - t, "fixation/times: t")
    generator = lambda f: p * (1 - p) / (4 * N) * sp.diff(f, p, 2)  # neutral: M = 0, V = p(1-p)/(2N)

    H = harmonic
    t_fix = N * (N - 1)
    t_abs = N * ((N - i) * (H(N - 1) - H(N - i - 1)) + i * (H(N - 1) - H(i)))
    rates = moran_rates.sympy(i, N, r)
    j = sp.Symbol("j", integer=True, positive=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    double_sum = sp.Sum(sp.Sum(1 / (N - j), (j, 1, k)), (k, 0, N - 1))
    symmetry = sp.Integer(1)

    def diffusion_times(x, which):
        return _diffusion_time(int(round(x["N"])), x["p"], conditional=which == "fixed")

    def wf_times(x, which):
        # The exact neutral chain at N = 1/epsilon, in units of N generations (t/N depends on p only).
        n = int(round(1 / x["epsilon"]))
        chain = _neutral_wright_fisher(n)
        k = _copies(n, x["p"])
        return (chain.time_fixed[k] if which == "fixed" else chain.time[k]) / n

    def moran_exact(x, which):
        n = int(round(x["N"]))
        if which == "symmetry":
            forward = popgen.moran_absorption_system(n, x["r"]).time_fixed[1]
            return popgen.moran_absorption_system(n, 1 / x["r"]).time_fixed[1] / forward
        chain = popgen.moran_absorption_system(n, 1.0)
        return chain.time_fixed[1] if which == "fixed" else chain.time[int(round(x["i"]))]

    def moran_simulated(x, key, which):
        n = int(round(x["N"]))
        if which == "fixed":
            return popgen.simulate_moran_times(key, n, 1.0, 1, 100_000).fixation
        return popgen.simulate_moran_times(key, n, 1.0, int(round(x["i"])), 100_000).absorption

    wf_domains = {epsilon: ps.fixed(1 / 50), p: ps.choice([0.1, 0.25, 0.5, 0.75, 0.9])}
    wf_sweep = (1 / 50, 1 / 100, 1 / 200, 1 / 400)
    order_tolerance = ("diffusion approximation: the exact chain's times differ by O(log(N)/N) relative (fitted "
                       "slopes 0.82-0.87 over N = 50..400 on these p); fitted log-log slope >= 1 - 0.25")
    quadrature_tolerance = ("Gauss-Legendre (200 nodes on each side of p) of integrands analytic on each side: "
                            "rel 1e-10")
    moran_solve = "tridiagonal solve of the absorption-time system: rel 1e-10"
    return ps.Derivation(
        lhs=(r"\bar t_1(p)", r"\bar t(p)", r"\tau^{\rm fix}_1", r"\tau_i",
             r"\tau^{\rm fix}_1(1/r)\,/\,\tau^{\rm fix}_1(r)"),
        result=sp.Tuple(t1, t, t_fix, t_abs, symmetry),
        symbols={N: ps.integers(7, 60), p: ps.uniform(0.02, 0.98), i: ps.integers(1, 5),
                 r: ps.log_uniform(0.5, 2.0)},
        assumptions=(
            r"diffusion times: neutral diploid Wright--Fisher, $N_e = N$, time in generations",
            r"Moran times: time in birth--death steps ($N$ steps per generation); neutral ($r = 1$) "
            r"unless stated; $1 \le i \le N-1$",
            r"symmetry: one mutant, constant fitness $r$ (Taylor, Iwasa and Nowak 2006)",
        ),
        steps=(
            ps.Step(lhs=generator(t), rhs=sp.Integer(-1),
                    why=r"backward equation for the absorption time: $\tfrac12 V\,\bar t'' = -1$, "
                        r"$V = p(1-p)/(2N)$, $\bar t(0) = \bar t(1) = 0$"),
            ps.Step(lhs=generator(p * t1), rhs=-p,
                    why=r"$\theta = u\,\bar t_1$ solves $\tfrac12 V\theta'' = -u$ with $u(p) = p$, "
                        r"$\theta(0) = \theta(1) = 0$"),
            ps.Step(lhs=sp.Limit(t1, p, 0), rhs=4 * N, why=r"a single mutant takes about $4N$ generations to fix"),
            ps.Step(lhs=sp.Subs(t1, p, sp.Rational(1, 2)), rhs=4 * N * sp.log(2),
                    why=r"at $p = 1/2$ both times are $4N\ln 2$"),
            ps.Step(lhs=sp.Subs(t, p, sp.Rational(1, 2)), rhs=4 * N * sp.log(2), why=r"$\bar t(1/2) = \bar t_1(1/2)$"),
            ps.Step(lhs=sp.Subs(rates[0], r, 1), rhs=i * (N - i) / N**2,
                    why=r"neutral Moran: $T^+_i = T^-_i = i(N-i)/N^2$"),
            ps.Step(lhs=t_abs.subs(i, i + 1) - 2 * t_abs + t_abs.subs(i, i - 1), rhs=-N**2 / (i * (N - i)),
                    why=r"$2T_i\tau_i - T_i\tau_{i+1} - T_i\tau_{i-1} = 1$: the second difference of $\tau$ is $-1/T_i$"),
            ps.Step(lhs=t_abs.subs(i, 1), rhs=N * H(N - 1), why=r"from one mutant: $N H_{N-1}$"),
            ps.Step(lhs=r"\theta_1 = \phi_1\tau^{\rm fix}_1", rhs=double_sum, check=False,
                    why=r"$\theta_i = \phi_i\tau^{\rm fix}_i$ has second difference $-\phi_i/T_i = -N/(N-i)$ "
                        r"and $\theta_0 = \theta_N = 0$: sum the differences twice"),
            ps.Step(lhs=double_sum, rhs=N - 1, check=False,
                    why=r"exchange the sums: $\sum_{j=1}^{N-1} (N-j)/(N-j)$; so "
                        r"$\tau^{\rm fix}_1 = \theta_1/\phi_1 = N(N-1)$"),
            ps.Step(lhs=r"\tau^{\rm fix}_1(r)", rhs=sp.Symbol(r"\tau^{\rm fix}_1(1/r)"), check=False,
                    why=r"the conditioned chain is the same for $r$ and $1/r$ (Taylor, Iwasa and Nowak 2006)"),
        ),
        checks=(
            ps.quadrature(lambda x: diffusion_times(x, "fixed"), target=ps.part(0), rtol=1e-10,
                          label="backward equation, conditional time",
                          describe="theta = u t1 solves (V/2) theta'' = -u, u(y) = y (the neutral diffusion's "
                                   "fixation probability), theta(0) = theta(1) = 0: Green's function quadrature "
                                   "with V = y(1-y)/(2N) the binomial sampling variance; t1 = theta/p",
                          tolerance=quadrature_tolerance),
            ps.quadrature(lambda x: diffusion_times(x, "all"), target=ps.part(1), rtol=1e-10,
                          label="backward equation, absorption time",
                          describe="(V/2) t'' = -1, t(0) = t(1) = 0: Green's function quadrature",
                          tolerance=quadrature_tolerance),
            ps.order(lambda x: wf_times(x, "fixed"), target=lambda r: (r[0] / N).subs(N, 1 / epsilon),
                     small=epsilon, sweep=wf_sweep, order=1, vectorize=False, domains=wf_domains,
                     label="diffusion error against the exact chain, conditional time",
                     describe="wright_fisher_absorption_system(N, 0) at N = 1/epsilon: linear solve for theta = "
                              "phi tau, tau = theta/phi, in units of N generations",
                     tolerance=order_tolerance),
            ps.order(lambda x: wf_times(x, "all"), target=lambda r: (r[1] / N).subs(N, 1 / epsilon),
                     small=epsilon, sweep=wf_sweep, order=1, vectorize=False, domains=wf_domains,
                     label="diffusion error against the exact chain, absorption time",
                     describe="wright_fisher_absorption_system(N, 0) at N = 1/epsilon: linear solve (I - Q) tau "
                              "= 1, in units of N generations",
                     tolerance=order_tolerance),
            ps.exact(lambda x: moran_exact(x, "fixed"), target=ps.part(2), vectorize=False,
                     label="Moran absorption system, conditional time",
                     describe="moran_absorption_system(N, 1): tridiagonal solves for φ and θ = φτ",
                     tolerance=moran_solve),
            ps.exact(lambda x: moran_exact(x, "all"), target=ps.part(3), vectorize=False,
                     label="Moran absorption system, absorption time",
                     describe="moran_absorption_system(N, 1): tridiagonal solve for τ", tolerance=moran_solve),
            ps.exact(lambda x: moran_exact(x, "symmetry"), target=ps.part(4), vectorize=False,
                     label="r <-> 1/r symmetry",
                     describe="moran_absorption_system at r and at 1/r: ratio of the conditional fixation times "
                              "of one mutant", tolerance=moran_solve),
            ps.monte_carlo(lambda x, key: moran_simulated(x, key, "fixed"), target=ps.part(2), vectorize=False,
                           domains={N: ps.integers(5, 25)}, label="Moran simulation, conditional time",
                           describe="simulate_moran_times: 1e5 neutral trials from one mutant, mean steps of "
                                    "those that fix (ratio estimate, delta-method SE)"),
            ps.monte_carlo(lambda x, key: moran_simulated(x, key, "all"), target=ps.part(3), vectorize=False,
                           domains={N: ps.integers(7, 25)}, label="Moran simulation, absorption time",
                           describe="simulate_moran_times: 1e5 neutral trials from i mutants, mean steps to "
                                    "absorption"),
        ),
        references=(KIMURA_OHTA, TIN, NOWAK),
        model=moran_rates,
    )
