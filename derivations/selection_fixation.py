r"""Natural selection as a gradient method, part B: origin-fixation (model 2),
stationary laws, several mutations in flight (model 3), the noise of selection
against minibatch SGD noise, and the side-by-side comparison (MATH.md B8–B10,
C1, C2).

Conventions. Fitness :math:`f = -L` is maximised; a mutation :math:`\epsilon`
changes the log relative fitness (selection coefficient) by
:math:`s = \epsilon\cdot c` with :math:`c = \nabla s` (linear fitness, the
small-mutation limit). Mutation is :math:`\mathcal N(0, \sigma^2 I_3)`. The
Moran fixation probability is used in its diffusion form
:math:`\pi(s) = s/(1-e^{-Ns})` unless a check says otherwise; the exact Moran
chain (its fixation probability by first-step analysis of its birth-death rates) measures
the diffusion form's error, with its fitted order.

The fixation moments :math:`\Pi_k(N, a) = \mathbb E_{z}[z^k\,\pi(a z)]`,
:math:`z \sim \mathcal N(0, 1)`, have no elementary form; `pricesym.popgen.FixationMoment`
evaluates them by a one-dimensional quadrature.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from jax import lax

import pricesym as ps
from pricesym.numeric import (
    Estimate,
    correlation,
    covariance_estimate,
    estimate,
    jit,
    jump_chain,
    minibatch_law,
    path_chain,
    stationary_vector,
)
from pricesym.popgen import FixationMoment, birth_death_fixation
from pricesym.selection import (
    Gaussian,
    KimuraFixation,
    Logistic,
    MoranFixation,
    Probit,
    accepted_mean,
    anneal,
    expected_step,
    gaussian_selection_moments,
    mean_displacement,
    skew_normal_moments,
)

SOURBUT = ('Sourbut, O. (2022). "Conditions for mathematical equivalence of Stochastic Gradient Descent and '
           'Natural Selection", LessWrong / AI Alignment Forum (models 2 and 3 of the self-review are '
           'reconstructions, MATH.md B8-B10).')
NOSTALGEBRAIST = ("nostalgebraist (2022), comment on Sourbut's post (minibatch noise has data-determined "
                  "correlations; selection noise does not), LessWrong.")
KIMURA = "Kimura, M. (1962). On the probability of fixation of mutant genes in a population. Genetics 47:713-719."
MORAN = ("Moran, P. A. P. (1958). Random processes in genetics. Proc. Camb. Phil. Soc. 54:60-71; "
         "Nowak, M. A. (2006). Evolutionary Dynamics. Harvard UP.")
DIECKMANN = ("Dieckmann, U. & Law, R. (1996). The dynamical theory of coevolution: a derivation from stochastic "
             "ecological processes. J. Math. Biol. 34:579-612.")
SELLA = ("Sella, G. & Hirsh, A. E. (2005). The application of statistical physics to evolutionary biology. "
         "PNAS 102:9541-9546.")
BARKER = ("Barker, A. A. (1965). Monte Carlo calculations of the radial distribution functions for a "
          "proton-electron plasma. Aust. J. Phys. 18:119-133.")
SALIMANS = ("Salimans, T. et al. (2017). Evolution strategies as a scalable alternative to reinforcement "
            "learning. arXiv:1703.03864.")
LI_TAI_E = ("Li, Q., Tai, C. & E, W. (2017). Stochastic modified equations and adaptive stochastic gradient "
            "algorithms. ICML.")

# --------------------------------------------------------------------------- symbols

sigma = sp.Symbol("sigma", positive=True)
A = sp.Symbol("A", positive=True)  # N sigma, held fixed in the diffusion limit of the exact-Moran check
tau = sp.Symbol("tau", positive=True)
beta = sp.Symbol("beta", positive=True)
eta = sp.Symbol("eta", positive=True)
N = sp.Symbol("N", integer=True, positive=True)  # the same symbol as MoranFixation's default
K = sp.Symbol("K", integer=True, positive=True)
B = sp.Symbol("B", integer=True, positive=True)
s = sp.Symbol("s", real=True)
c = sp.symbols("c_1:4", real=True)  # c = grad s, the selection gradient (3 components)
C = sp.Matrix(c)
C_NORM = sp.sqrt(sum(ci**2 for ci in c))


# --------------------------------------------------------------------------- helpers for references


def _grad(x):
    return jnp.asarray([x[str(ci)] for ci in c])


def _rewrite_exponentials(expr, rate):
    """Targeted rewrite: e^{±rate·s} → y^{±1}, so `cancel` sees a rational function."""
    y = sp.Dummy("y", positive=True)
    return expr.subs(sp.exp(-rate * s), 1 / y).subs(sp.exp(rate * s), y), y


def _odd_part(sel, rate):
    r""":math:`P_s(s) - P_s(-s)`, simplified by a rational rewrite (no `simplify`)."""
    raw = sel.sympy(s) - sel.sympy(-s)
    rational, y = _rewrite_exponentials(raw, rate)
    reduced = sp.cancel(sp.together(rational))
    if reduced.has(y):
        raise ps.RegistryError(f"the odd part of {sel!r} did not reduce to a polynomial in s: {reduced}")
    return raw, reduced


# --------------------------------------------------------------------------- B8
#
# Module-level jitted kernels: references call them once per instance
# (`vectorize=False`), so each compiles once per process instead of once per run.
DRIFT_SAMPLES = 100_000  # mutations per gradient norm in the comparison figure
N_MAX = 400  # largest population of the exact-Moran check; rates are padded to it (one compiled program)


def _moran_rates(i, n, r):
    """Moran birth-death rates from i mutants of fitness r among n: a reproducer is chosen in
    proportion to fitness, its offspring replaces a uniformly chosen individual."""
    total = r * i + n - i
    return r * i / total * (n - i) / n, (n - i) / total * i / n


class _ExactMoranFixation:
    """The fixation probability of one mutant with selection coefficient s (fitness r = e^s)
    in the Moran chain itself: first-step analysis of its birth-death rates
    (`birth_death_fixation`), not the diffusion form. Only ``.jax`` is used."""

    def __init__(self, n):
        self.n = n

    def jax(self, s):
        i = jnp.arange(1, N_MAX, dtype=jnp.float64)
        live = i < self.n
        up, down = _moran_rates(jnp.where(live, i, 1.0), self.n, jnp.exp(s)[..., None])
        return birth_death_fixation(up, down, top=self.n)[..., 1]


@jit(static_argnames=("kind",))
def _selection_law(sig, tau_value, n, grad, kind: str):
    r"""``(E[s(ε) P], Z)``, s(ε) = (ε, εεᵀ) flattened, for ε ~ N(0, σ²I) on the model's fitness
    f = -L (linear, ∇f = ``grad``) at x = 0, from the defining integrals: P is the probit acceptance
    (``kind`` "probit"), the Moran or Kimura diffusion fixation probability ("moran", "kimura"), or
    the exact Moran chain's ("chain"). `gaussian_selection_moments`: composite Gauss-Legendre along
    the gradient (192 panels resolve the diffusion forms' poles at s = 2πik/N for N σ|c| <= 60;
    48 are ample for the chain check, N σ|c| <= 8), 2 Gauss-Hermite nodes across (exact for the
    quadratic statistic)."""
    sel = {"probit": lambda: Probit(tau_value), "moran": lambda: MoranFixation(n, diffusion=True),
           "kimura": lambda: KimuraFixation(n, diffusion=True), "chain": lambda: _ExactMoranFixation(n)}[kind]()
    fitness = lambda y: -per_example_loss.jax(y, 0.0, grad, jnp.zeros(3))  # noqa: E731
    stats = lambda e: jnp.concatenate([e, jnp.outer(e, e).reshape(-1)])  # noqa: E731
    return gaussian_selection_moments(fitness, jnp.zeros(3), sel, sig**2 * jnp.eye(3), stats,
                                      panels=48 if kind == "chain" else 192, across=2)


@ps.derivation("selection/origin-fixation")
def origin_fixation() -> ps.Derivation:
    r"""Origin-fixation (model 2): one mutant at a time, fixed or lost.

    A population of :math:`N` sits at genotype :math:`x`; a mutant :math:`x+\epsilon`,
    :math:`\epsilon\sim\mathcal N(0,\sigma^2 I)`, arises and fixes with probability
    :math:`\pi(s)`, :math:`s = \epsilon\cdot c`, before the next mutant appears
    (:math:`N\mu \ll 1`). Moran (diffusion form) :math:`\pi(s) = s/(1-e^{-Ns})` and
    Kimura's new-mutant form :math:`u(s) = 2s/(1-e^{-4Ns})` have exact odd parts
    :math:`\pi(s)-\pi(-s) = s`, :math:`u(s)-u(-s) = 2s`; a symmetric mutation law
    averages the even part out, so

    .. math::
        \mathbb E_m[\epsilon\,\pi(\epsilon\cdot c)] = \tfrac12\sigma^2 c, \qquad
        \mathbb E_m[\epsilon\,u(\epsilon\cdot c)] = \sigma^2 c, \qquad
        \mathbb E[\epsilon \mid \text{fix}] = \frac{\sigma^2 c}{2\,\Pi_0(N, \sigma\lVert c\rVert)} .

    The displacement per mutation arising (per generation, times :math:`N\mu`:
    the canonical equation of adaptive dynamics) is linear in the gradient for
    every :math:`N` and every :math:`\lVert c\rVert`. The step per substitution is not:
    :math:`\Pi_0 = \mathbb E[\pi]` grows with :math:`\lVert c\rVert`, so the step runs
    from :math:`\tfrac N2\sigma^2 c` near neutrality to :math:`\sigma\sqrt{\pi/2}\,\hat c`
    under strong selection — a norm-dependent learning rate that comes from
    counting substitutions instead of time.

    The exact Moran probability :math:`(1-e^{-s})/(1-e^{-Ns})` has odd part
    :math:`s` only to first order; its drift is a few per cent lower (about 4 %
    at :math:`N = 200`, :math:`\sigma\lVert c\rVert = 0.05`): relative
    :math:`O(\sigma\lVert c\rVert)` at fixed :math:`N\sigma\lVert c\rVert`, the order one check fits.

    References: Sourbut (2022) (model 2 is a reconstruction); Kimura (1962);
    Moran (1958); Dieckmann & Law (1996); Salimans et al. (2017).
    """
    moran = MoranFixation(N, diffusion=True)
    kimura = KimuraFixation(N, diffusion=True)
    mutation = Gaussian(sigma)
    moran_odd, moran_odd_reduced = _odd_part(moran, N)
    kimura_odd, kimura_odd_reduced = _odd_part(kimura, 4 * N)
    # Pair eps with -eps: E[eps P(eps.c)] = E[eps (P(s) - P(-s))] / 2 with P(s) - P(-s) = k s.
    cov = mutation.covariance(3)
    drift_moran = (sp.cancel(moran_odd_reduced / s) / 2) * cov * C
    drift_kimura = (sp.cancel(kimura_odd_reduced / s) / 2) * cov * C
    mean_fixation = FixationMoment(0, N, sigma * C_NORM)
    per_substitution = drift_moran / mean_fixation
    result = sp.Tuple(sp.ImmutableMatrix(drift_moran), sp.ImmutableMatrix(drift_kimura),
                      sp.ImmutableMatrix(per_substitution))

    def exact_ref(which):
        def reference(x):
            num, z = _selection_law(x["sigma"], 0.0, x["N"], _grad(x), "kimura" if which == 1 else "moran")
            return num[:3] / z if which == 2 else num[:3]

        return reference

    def moran_chain_ref(x):
        # The exact Moran chain at N = A/sigma (A = N sigma fixed): its drift, per sigma^2.
        n = round(x["A"] / x["sigma"])
        num, _ = _selection_law(x["sigma"], 0.0, float(n), _grad(x), "chain")
        return num[:3] / x["sigma"] ** 2

    exact = dict(vectorize=False, describe="the defining integral over ε ~ N(0, σ²I) of the fixation "
                                           "probability's .jax form (gaussian_selection_moments: 192 Gauss-Legendre "
                                           "panels along c, exact across)",
                 tolerance="composite Gauss-Legendre on an integrand analytic in a strip wider than a panel "
                           "(poles at s = 2πik/N): rel 1e-11")
    return ps.Derivation(
        lhs=(r"\mathbb E_m[\epsilon\,\pi(\epsilon\cdot c)]", r"\mathbb E_m[\epsilon\,u(\epsilon\cdot c)]",
             r"\mathbb E[\epsilon \mid \text{fix}]"),
        result=result,
        symbols={sigma: ps.uniform(0.005, 0.02), N: ps.integers(20, 400), s: ps.uniform(-0.3, 0.3),
                 c[0]: ps.uniform(1, 5), c[1]: ps.uniform(-3, 3), c[2]: ps.uniform(-5, -1)},
        assumptions=(
            r"linear selection coefficient $s = \epsilon\cdot c$ (small mutations)",
            r"isotropic Gaussian mutation $\epsilon\sim\mathcal N(0,\sigma^2 I_3)$ (any symmetric law for the drift)",
            r"strong-selection weak-mutation: each mutant fixes or is lost before the next arises ($N\mu\ll1$)",
            r"Moran diffusion form $\pi(s) = s/(1-e^{-Ns})$; Kimura new-mutant form $u(s) = 2s/(1-e^{-4Ns})$",
        ),
        steps=(
            ps.Step(lhs=moran_odd, rhs=moran_odd_reduced,
                    why=r"odd part of the Moran diffusion form: $\frac1{1-e^{-x}} + \frac1{1-e^{x}} = 1$"),
            ps.Step(lhs=kimura_odd, rhs=kimura_odd_reduced, why="odd part of Kimura's small-$s$ form, likewise"),
            ps.Step(lhs=r"\mathbb E_m[\epsilon\,\pi(\epsilon\cdot c)]", rhs=sp.ImmutableMatrix(cov * C / 2),
                    why=r"$\epsilon\to-\epsilon$ leaves $P_m$ unchanged: $\mathbb E[\epsilon\pi] = \tfrac12\mathbb "
                        r"E[\epsilon(\pi(s)-\pi(-s))] = \tfrac12\mathbb E[\epsilon\epsilon^\top]c$",
                    check=False),
            ps.Step(lhs=r"\mathbb E_m[\pi(\epsilon\cdot c)]", rhs=mean_fixation,
                    why=r"$\epsilon\cdot c\sim\mathcal N(0,\sigma^2\lVert c\rVert^2)$; the odd part averages to 0",
                    check=False),
            ps.Step(lhs=r"\mathbb E[\epsilon\mid\text{fix}]", rhs=per_substitution,
                    why=r"Bayes: $\mathbb E[\epsilon\,\pi]/\mathbb E[\pi]$", check=False),
        ),
        checks=(
            ps.quadrature(exact_ref(0), target=ps.part(0), label="drift per mutation (Moran), quadrature",
                          rtol=1e-11, **exact),
            ps.quadrature(exact_ref(1), target=ps.part(1), label="drift per mutation (Kimura), quadrature",
                          rtol=1e-11, **exact),
            ps.quadrature(exact_ref(2), target=ps.part(2), label="step per substitution, quadrature",
                          rtol=1e-11, **exact),
            ps.order(moran_chain_ref, target=lambda r: r[0] / sigma**2, small=sigma, sweep=(0.02, 0.01, 0.005, 0.0025),
                     order=1, vectorize=False, domains={A: ps.fixed(1.0)}, instances=2,
                     label="diffusion form against the exact Moran chain",
                     describe="drift per mutation / sigma^2 with each mutant's fixation probability from the Moran "
                              "chain's birth-death rates (first-step analysis), N = A/sigma = 50..400, integrated over "
                              "the mutation law like the quadrature checks",
                     tolerance="diffusion approximation: the exact chain's odd part is s/2 - O(s^2), so at fixed "
                               "N sigma the drift differs at relative O(sigma) (4 % at N = 200, sigma|c| = 0.05); "
                               "fitted log-log slope >= 1 - 0.25"),
        ),
        references=(SOURBUT, KIMURA, MORAN, DIECKMANN, SALIMANS),
    )


# --------------------------------------------------------------------------- B9

PATH_STATES = 5
f = sp.symbols(f"f_1:{PATH_STATES + 1}", positive=True)  # fitness of the states along the path


def _barker_ratio(sel, delta):
    r""":math:`P_s(\Delta)/P_s(-\Delta)` for logistic selection, reduced by writing
    :math:`y = e^{\beta x}` for a generic difference x, then :math:`x = \Delta`."""
    x = sp.Dummy("x", real=True)
    y = sp.Dummy("y", positive=True)
    raw = sel.sympy(x) / sel.sympy(-x)
    as_y = raw.rewrite(sp.exp).subs(sp.exp(-beta * x), 1 / y).subs(sp.exp(beta * x), y)
    reduced = sp.cancel(sp.together(as_y)).subs(y, sp.exp(beta * x))
    return raw.subs(x, delta), reduced.subs(x, delta)


def _moran_ratio(sel, r):
    r"""Moran :math:`\rho(\ln r)/\rho(-\ln r)`, reduced with :math:`y = e^{s}`,
    :math:`z = e^{Ns} = y^N` for a generic s, then :math:`y = r`."""
    x = sp.Dummy("x", real=True)
    y, z = sp.Dummy("y", positive=True), sp.Dummy("z", positive=True)
    raw = sel.sympy(x) / sel.sympy(-x)
    as_yz = raw.subs(sp.exp(-N * x), 1 / z).subs(sp.exp(N * x), z).subs(sp.exp(-x), 1 / y).subs(sp.exp(x), y)
    reduced = sp.powsimp(sp.cancel(sp.together(as_yz)).subs(z, y**N))
    return raw.subs(x, sp.log(r)), reduced.subs(y, r)


def _path_fitness(x):
    return np.asarray([x[str(fi)] for fi in f])


def _barker_chain(x):
    fit = _path_fitness(x)
    sel = Logistic(x["beta"])
    return path_chain(sel.jax(np.diff(fit)), sel.jax(-np.diff(fit)))


def _moran_chain(x):
    # Moran origin-fixation: s = ln r with relative fitness r = f_to / f_from.
    log_r = np.diff(np.log(_path_fitness(x)))
    sel = MoranFixation(x["N"])
    return path_chain(sel.jax(log_r), sel.jax(-log_r))


@ps.derivation("selection/stationary")
def stationary() -> ps.Derivation:
    r"""Stationary laws of mutate-and-select chains: Boltzmann and power laws.

    States on a path with fitness :math:`f_1,\dots,f_5`; each round proposes a
    neighbour with probability 1/2 each (off the end: stay) and accepts with
    :math:`P_s`. A chain on a path is reversible, so detailed balance
    :math:`\pi_{i+1}/\pi_i = P_s(\Delta_i)/P_s(-\Delta_i)` gives the stationary law.

    .. math::
        \text{Barker/logistic } P_s(\Delta) = \sigma(\beta\Delta):\quad
        \pi_i = \frac{e^{\beta f_i}}{\sum_j e^{\beta f_j}}, \qquad
        \text{Moran origin-fixation } \rho(f_j/f_i):\quad
        \pi_i = \frac{f_i^{N-1}}{\sum_j f_j^{N-1}},

    since :math:`\sigma(x)/\sigma(-x) = e^{x}` and :math:`\rho(r)/\rho(1/r) = r^{N-1}`
    for :math:`\rho(r) = (1-1/r)/(1-r^{-N})`. Model 1 with logistic selection is
    Barker's MCMC rule: annealing at temperature :math:`1/\beta`. Model 2 samples
    :math:`f^{N-1}`, i.e. the population size plays the role of :math:`\beta` for
    :math:`\ln f` (Sella & Hirsh 2005); the diffusion form would give :math:`f^N`,
    haploid Wright–Fisher :math:`f^{2N-2}`.

    Time is counted in rounds (mutations arising, rejected ones included). Counted
    per substitution (the jump chain), the law is tilted by the acceptance
    probability :math:`Z_i = \tfrac12\sum_{j\sim i}\rho(f_j/f_i)`:
    :math:`\pi^{\rm sub}_i \propto Z_i f_i^{N-1}`.

    References: Barker (1965); Sella & Hirsh (2005); Moran (1958); Sourbut (2022).
    """
    logistic = Logistic(beta)
    moran = MoranFixation(N)
    barker_raw, barker_ratio = _barker_ratio(logistic, f[1] - f[0])
    moran_raw, moran_ratio = _moran_ratio(moran, f[1] / f[0])

    boltzmann = [sp.exp(beta * fi) for fi in f]
    power = [fi ** (N - 1) for fi in f]

    def rho(i, j):
        return moran.sympy(sp.log(f[j] / f[i]))

    acceptance = [sum(rho(i, j) for j in (i - 1, i + 1) if 0 <= j < PATH_STATES) / 2 for i in range(PATH_STATES)]
    tilted = [z * w for z, w in zip(acceptance, power)]

    def normalised(weights):
        total = sp.Add(*weights)
        return sp.ImmutableMatrix([w / total for w in weights])

    result = sp.Tuple(normalised(boltzmann), normalised(power), normalised(tilted))

    def barker_ref(x):
        return stationary_vector(_barker_chain(x))

    def moran_ref(x):
        return stationary_vector(_moran_chain(x))

    def jump_ref(x):
        return stationary_vector(jump_chain(_moran_chain(x)))

    tol = dict(rtol=1e-12, atol=1e-15,
               tolerance="float64 state reduction: rel 1e-12, abs 1e-15 (probabilities <= 1)")
    return ps.Derivation(
        lhs=(r"\pi^{\rm Barker}", r"\pi^{\rm Moran}", r"\pi^{\rm Moran,\,per\ substitution}"),
        result=result,
        symbols={**{fi: ps.uniform(0.5, 2.0) for fi in f}, beta: ps.uniform(0.5, 4.0), N: ps.integers(2, 12)},
        assumptions=(
            r"five states on a path; neighbours proposed with probability $\tfrac12$ each, off the end = stay",
            r"a rejected proposal counts as a step (time = mutations arising), except for $\pi^{\rm sub}$",
            r"Moran: relative fitness $r = f_j/f_i$, $s = \ln r$, fixation $\rho = (1-e^{-s})/(1-e^{-Ns})$",
        ),
        steps=(
            ps.Step(lhs=barker_raw, rhs=barker_ratio, why=r"$\sigma(x)/\sigma(-x) = e^{x}$"),
            ps.Step(lhs=moran_raw, rhs=moran_ratio,
                    why=r"$\rho(r)/\rho(1/r) = r^{N-1}$ (write $y = r$, $z = r^N$ and cancel)"),
            ps.Step(lhs=r"\pi^{\rm Barker}_2/\pi^{\rm Barker}_1", rhs=barker_ratio,
                    why=r"detailed balance across the edge $1 \leftrightarrow 2$ (the proposal probabilities "
                        r"$\tfrac12$ cancel); likewise along every edge", check=False),
            ps.Step(lhs=r"\pi^{\rm Moran}_2/\pi^{\rm Moran}_1", rhs=moran_ratio, why="likewise", check=False),
            ps.Step(lhs=r"\pi^{\rm Moran}_1", rhs=result[1][0],
                    why=r"telescoping the ratios along the path and normalising", check=False),
            ps.Step(lhs="Z_1", rhs=acceptance[0],
                    why=r"acceptance per round at state 1: a proposal off the end is a stay, not a substitution; "
                        r"the jump chain's law is $\propto Z_i\pi_i$", check=False),
        ),
        checks=(
            ps.exact(barker_ref, target=ps.part(0), label="Barker chain", vectorize=False,
                     describe="eigenvector for eigenvalue 1 of the 5x5 transition matrix, "
                              "logistic acceptance (GTH reduction)", **tol),
            ps.exact(moran_ref, target=ps.part(1), label="Moran origin-fixation chain", vectorize=False,
                     describe="eigenvector for eigenvalue 1 of the 5x5 transition matrix, Moran "
                              "fixation acceptance (GTH reduction)", **tol),
            ps.exact(jump_ref, target=ps.part(2), label="per-substitution (jump) chain", vectorize=False,
                     describe="eigenvector for eigenvalue 1 of the jump chain: stays removed, rows "
                              "renormalised (GTH reduction)", **tol),
        ),
        references=(BARKER, SELLA, MORAN, SOURBUT),
    )


# --------------------------------------------------------------------------- B10

K_MAX = 32  # mutations in flight are drawn K_MAX at a time and masked to the instance's K
# The covariance's smallest term, sigma^4 c c^T / 4, is a few per cent of an entry:
# 5e4 replicates put it at 6-10 SE (and a 10% error in the mean at > 30 SE).
REPLICATES = 50_000
REPLICATE_BATCH = 1_000


@jit(static_argnames="k_max")
def _in_flight_kernel(key, sig, n, k, grad, k_max: int = K_MAX):
    r"""``REPLICATES`` net displacements :math:`D = \sum_{j\le K}\epsilon_j\xi_j`: K
    independent mutations, each fixing (:math:`\xi_j = 1`) with probability
    :math:`\pi(\epsilon_j\cdot c)` (Moran diffusion form), independently — what
    horizontal transfer buys. Shape (REPLICATES, 3)."""
    sel = MoranFixation(n, diffusion=True)
    in_flight = (jnp.arange(k_max) < k)[:, None]

    def batch(batch_key):
        k_eps, k_fate = jax.random.split(batch_key)
        eps = sig * jax.random.normal(k_eps, (REPLICATE_BATCH, k_max, 3))
        fixed = jax.random.uniform(k_fate, (REPLICATE_BATCH, k_max)) < sel.jax(eps @ grad)
        return jnp.sum(jnp.where(fixed[..., None] & in_flight, eps, 0.0), axis=1)

    keys = jax.random.split(key, REPLICATES // REPLICATE_BATCH)
    return lax.map(batch, keys).reshape(-1, 3)


def _in_flight_exact(sig, n, k, grad):
    """Mean and covariance of D = sum of K independent ε ξ, from the law of one (quadrature)."""
    num, _ = _selection_law(sig, 0.0, n, grad, "moran")
    mean, second = num[:3], num[3:].reshape(3, 3)
    return k * mean, k * (second - jnp.outer(mean, mean))


@ps.derivation("selection/horizontal-transfer")
def horizontal_transfer() -> ps.Derivation:
    r"""Several mutations in flight with horizontal transfer (model 3).

    :math:`K` mutations :math:`\epsilon_1,\dots,\epsilon_K\sim\mathcal N(0,\sigma^2 I)` are
    in flight at once; recombination or horizontal transfer frees them from
    clonal interference, so each fixes independently with probability
    :math:`\pi(\epsilon_k\cdot c)` and the net displacement is
    :math:`D = \sum_k \epsilon_k\xi_k`, :math:`\xi_k\sim\mathrm{Bernoulli}(\pi)`:

    .. math::
        \mathbb E[D] = \tfrac K2\sigma^2 c, \qquad
        \operatorname{Cov}[D] = K\Big(\sigma^2\Pi_0\, I + \sigma^2(\Pi_2-\Pi_0)\,\hat c\hat c^\top
          - \tfrac14\sigma^4 cc^\top\Big),

    with :math:`\Pi_k = \Pi_k(N, \sigma\lVert c\rVert) = \mathbb E_z[z^k\pi(\sigma\lVert c\rVert z)]`
    (see selection/origin-fixation) and :math:`\hat c = c/\lVert c\rVert`. Off the
    gradient the noise is isotropic, :math:`K\sigma^2\Pi_0` per direction, set by
    mutation and not by any data: this behaves like a minibatch of size :math:`K` of
    independent zeroth-order gradient estimates (relative noise
    :math:`\propto 1/\sqrt K`), but with the noise shape of selection, so the
    contrast of selection/vs-sgd-noise still holds. Without horizontal transfer,
    clonal interference breaks the independence.

    References: Sourbut (2022) (model 3 is a reconstruction, MATH.md B10); Kimura (1962);
    Salimans et al. (2017).
    """
    spread = sigma * C_NORM  # the standard deviation of s = eps.c
    pi0, pi2 = FixationMoment(0, N, spread), FixationMoment(2, N, spread)
    one_mean = mean_displacement(MoranFixation(N, diffusion=True), Gaussian(sigma), C)  # E[eps pi] = sigma^2 c / 2
    c_hat = C / C_NORM
    second_moment = sigma**2 * (pi0 * (sp.eye(3) - c_hat * c_hat.T) + pi2 * c_hat * c_hat.T)
    mean = K * one_mean
    covariance = (K * (sigma**2 * pi0 * sp.eye(3) + sigma**2 * (pi2 - pi0) * c_hat * c_hat.T
                       - one_mean * one_mean.T)).applyfunc(lambda e: K * sp.expand(e / K))
    result = sp.Tuple(sp.ImmutableMatrix(mean), sp.ImmutableMatrix(covariance))

    def mean_ref(x, key):
        return estimate(_in_flight_kernel(key, x["sigma"], x["N"], x["K"], _grad(x)))

    def covariance_ref(x, key):
        return covariance_estimate(_in_flight_kernel(key, x["sigma"], x["N"], x["K"], _grad(x)))

    def exact_ref(which):
        def reference(x):
            mean, cov = _in_flight_exact(x["sigma"], x["N"], x["K"], _grad(x))
            return cov if which else mean

        return reference

    exact = dict(vectorize=False, rtol=1e-11, atol=1e-16,
                 describe="K times the law of one mutation in flight, ε ξ with P(ξ = 1 | ε) = π(ε·c): E[ε π] and "
                          "E[εεᵀ π] (ξ² = ξ) from their defining integrals (gaussian_selection_moments: 192 "
                          "Gauss-Legendre panels along c, 2 Gauss-Hermite nodes across, exact for the quadratic "
                          "statistic); Cov D = K (E[εεᵀπ] - E[επ]E[επ]ᵀ) for independent mutations",
                 tolerance="composite Gauss-Legendre on an integrand analytic in a strip wider than a panel: "
                           "rel 1e-11, abs 1e-16 (entries ~1e-4)")
    return ps.Derivation(
        lhs=(r"\mathbb E[D]", r"\operatorname{Cov}[D]"),
        result=result,
        # sigma|c| <= 0.24 keeps pi(s) <= 1 (a probability) to beyond 4 SD of s.
        symbols={sigma: ps.uniform(0.03, 0.04), N: ps.integers(20, 200), K: ps.integers(10, K_MAX),
                 c[0]: ps.uniform(2, 4), c[1]: ps.uniform(-1, 1), c[2]: ps.uniform(-4, -2)},
        assumptions=(
            r"$K$ mutations in flight, i.i.d. $\mathcal N(0,\sigma^2 I_3)$, linear $s = \epsilon\cdot c$",
            r"independent fates (horizontal transfer, no clonal interference, no epistasis)",
            r"Moran diffusion fixation probability $\pi(s) = s/(1-e^{-Ns})$",
        ),
        steps=(
            ps.Step(lhs=r"\mathbb E[D]", rhs=sp.ImmutableMatrix(mean),
                    why=r"linearity; $\mathbb E[\epsilon\xi] = \mathbb E[\epsilon\pi] = "
                        r"\tfrac12\sigma^2 c$ (selection/origin-fixation)",
                    check=False),
            ps.Step(lhs=r"\operatorname{Cov}[D]", rhs=sp.ImmutableMatrix(K * (sp.Matrix(second_moment) - one_mean * one_mean.T)),
                    why=r"independent terms; $\xi^2 = \xi$, so $\mathbb E[\epsilon\epsilon^\top\xi] = "
                        r"\mathbb E[\epsilon\epsilon^\top\pi]$",
                    check=False),
            ps.Step(lhs=r"\mathbb E[\epsilon\epsilon^\top\pi]", rhs=sp.ImmutableMatrix(second_moment),
                    why=r"$\epsilon = u\hat c + \epsilon_\perp$: $\epsilon_\perp$ is independent of "
                        r"$u$ and of $\pi(\lVert c\rVert u)$",
                    check=False),
        ),
        checks=(
            ps.quadrature(exact_ref(0), target=ps.part(0), label="mean displacement, quadrature", **exact),
            ps.quadrature(exact_ref(1), target=ps.part(1), label="covariance, quadrature", **exact),
            ps.monte_carlo(mean_ref, target=ps.part(0), label="mean displacement", vectorize=False, instances=2,
                           describe="5e4 replicates of K mutations in flight, each fixing "
                                    "independently (Bernoulli fates)"),
            ps.monte_carlo(covariance_ref, target=ps.part(1), label="covariance", vectorize=False,
                           describe="sample covariance of 5e4 replicates of D; SE of each entry "
                                    "from the fourth moment"),
        ),
        references=(SOURBUT, KIMURA, SALIMANS),
    )


# --------------------------------------------------------------------------- C1

v = sp.Symbol("v", positive=True)  # Var z, the spread of the per-example gradients
z = sp.Symbol("z", real=True)  # one example's coefficient
g = sp.Symbol("g", positive=True)  # the gradient norm |grad f| (as in selection/norm-dependence)
a = sp.symbols("a_1:4", positive=True)  # direction of the per-example gradient noise
weights = sp.symbols("x_1:4", real=True)

DATASET = 512  # examples; their z are centred and scaled to population variance v
B_MAX = 16  # minibatch indices are drawn B_MAX at a time and masked to the instance's B


@ps.model
def per_example_loss(np, x, z, c, a):
    """Loss of one example: on average the fitness f = -L is c·x; each example adds z a·x."""
    return -np.dot(c, x) - z * np.dot(a, x)


def _dataset_z(key, var):
    r"""The examples' coefficients: standard normal draws, centred and scaled so the
    population (1/n) variance is exactly ``var`` — the data distribution has
    :math:`\mathbb E z = 0`, :math:`\operatorname{Var} z = v`."""
    raw = jax.random.normal(key, (DATASET,))
    centred = raw - jnp.mean(raw)
    return centred * jnp.sqrt(var / jnp.mean(centred**2))


SGD_STEPS = 40_000
ANNEAL_PROPOSALS = 100_000


@jit
def _sgd_steps(key, lr, batch, var, grad_f, direction):
    r"""``SGD_STEPS`` independent minibatch SGD steps :math:`\Delta x = -\eta\,\frac1B\sum_b\nabla_x\ell(x; z_b)`
    at x = 0: B examples drawn with replacement from the dataset, per-example
    gradients by `jax.grad` of the model. Shape (SGD_STEPS, 3)."""
    k_data, k_batch = jax.random.split(key)
    zs = _dataset_z(k_data, var)
    x0 = jnp.zeros(3)
    per_example = jax.vmap(jax.grad(per_example_loss.jax), in_axes=(None, 0, None, None))(x0, zs, grad_f, direction)
    picks = jax.random.randint(k_batch, (SGD_STEPS, B_MAX), 0, DATASET)
    in_batch = (jnp.arange(B_MAX) < batch)[None, :, None]
    minibatch_grad = jnp.sum(jnp.where(in_batch, per_example[picks], 0.0), axis=1) / batch
    return -lr * minibatch_grad


@jit
def _anneal_probit(key, sig, tau_value, grad_f):
    """``ANNEAL_PROPOSALS`` rounds of annealing model 1 (`pricesym.selection.anneal`)
    at x = 0 on the model's fitness f = c·x."""
    fitness = lambda x: -per_example_loss.jax(x, 0.0, grad_f, jnp.zeros(3))  # noqa: E731  (mean over data: z̄ = 0)
    return anneal(key, fitness, jnp.zeros(3), Probit(tau_value), Gaussian(sig), ANNEAL_PROPOSALS, twin=False)


def _accepted_steps(sample):
    """The winners of the annealing rounds (rejection sampling: keep the accepted proposals)."""
    return np.asarray(sample.steps)[np.asarray(sample.accepted) > 0]


# A small dataset for the exact references: its coefficients are centred and scaled to population
# variance v like `_dataset_z`'s, and few enough that every minibatch can be enumerated.
_SMALL_DATASET = np.array([-1.3, -0.2, 0.4, 1.1])


def _sgd_step_moments(x, grad_f, direction):
    """Exact mean and covariance of one SGD step -eta (1/B) sum_b grad l(0; z_b), B draws with
    replacement from a 4-example dataset with E z = 0, Var z = v: every minibatch with its
    multinomial probability (`minibatch_law`); per-example gradients by jax.grad of the model."""
    raw = _SMALL_DATASET - _SMALL_DATASET.mean()
    zs = raw * math.sqrt(x["v"] / np.mean(raw**2))
    grads = np.asarray(_per_example_grads(jnp.asarray(zs), grad_f, direction))
    counts, prob = minibatch_law(len(zs), int(round(x["B"])), replace=True)
    steps = -x["eta"] * (counts @ grads) / counts.sum(axis=1, keepdims=True)
    mean = prob @ steps
    dev = steps - mean
    return mean, np.einsum("m,mi,mj->ij", prob, dev, dev)


@jit
def _per_example_grads(zs, grad_f, direction):
    return jax.vmap(jax.grad(per_example_loss.jax), in_axes=(None, 0, None, None))(jnp.zeros(3), zs, grad_f, direction)


def _row_from_moments(first, second, gradient_norm):
    """(E[Δx_1]/g, Var Δx_1, Var Δx_2, Cov(Δx_2, Δx_3), ρ(Δx_2, Δx_3)) from a step's first and second moments."""
    cov = np.asarray(second).reshape(3, 3) - np.outer(first, first)
    return np.array([[first[0] / gradient_norm, cov[0, 0], cov[1, 1], cov[1, 2],
                      cov[1, 2] / math.sqrt(cov[1, 1] * cov[2, 2])]])


@ps.derivation("selection/vs-sgd-noise")
def vs_sgd_noise() -> ps.Derivation:
    r"""Minibatch SGD noise is correlated by the data; selection noise is not.

    SGD: per-example gradients :math:`\nabla\ell(x;z) = -(c + z\,a)` with
    :math:`\mathbb E z = 0`, :math:`\operatorname{Var} z = v`, so in two coordinates
    where the true gradient vanishes the minibatch step is :math:`\eta\bar z\,a`:
    rank one, perfectly correlated. Selection (annealing, probit :math:`\tau`,
    :math:`\epsilon\sim\mathcal N(0,\sigma^2 I_3)`, :math:`\nabla f = g\,e_1`): the
    coordinates off the gradient are untouched by selection (selection/step-noise).

    .. math::
        \operatorname{Cov}_{\rm SGD} = \frac{\eta^2 v}{B}\,a a^\top,\quad \rho_{\rm SGD} = 1,
        \qquad
        \operatorname{Cov}_{\rm sel} = \sigma^2 I_2,\quad \rho_{\rm sel} = 0 .

    If SGD moves :math:`x_2` it moves :math:`x_3` with it, in the proportion the
    data dictate; selection moves them independently, whatever the data. Both
    are unbiased about the gradient direction, but the noise shapes differ, so
    selection is not minibatch SGD even where its mean step is a gradient step.

    References: nostalgebraist (2022), comment on Sourbut (2022); Sourbut (2022);
    Li, Tai & E (2017).
    """
    grad_f = sp.Matrix([0, 0, 0])  # the two noisy coordinates carry no true gradient
    loss = per_example_loss.sympy(list(weights), z, list(grad_f), list(a[:2]) + [0])
    fitness_grad = sp.Matrix([-sp.diff(loss, w) for w in weights])  # per-example gradient of f = -L
    zbar = sp.Symbol(r"\bar z", real=True)
    step = sp.Matrix((eta * fitness_grad.subs(z, zbar))[:2])  # minibatch step x += eta grad f_B
    coefficient = sp.Matrix([sp.diff(e, zbar) for e in step])  # step = zbar * coefficient
    var_zbar = v / B  # mean of B draws with replacement
    sgd_cov = sp.ImmutableMatrix(var_zbar * coefficient * coefficient.T)
    sgd_corr = sp.cancel(sgd_cov[0, 1] / sp.sqrt(sgd_cov[0, 0] * sgd_cov[1, 1]))
    sel_cov = sp.ImmutableMatrix(Gaussian(sigma).covariance(2))
    sel_corr = sel_cov[0, 1] / sp.sqrt(sel_cov[0, 0] * sel_cov[1, 1])
    result = sp.Tuple(sgd_cov, sgd_corr, sel_cov, sel_corr)

    def sgd_samples(x, key):
        direction = jnp.asarray([x["a_1"], x["a_2"], 0.0])
        return _sgd_steps(key, x["eta"], x["B"], x["v"], jnp.zeros(3), direction)[:, :2]

    def sgd_cov_ref(x, key):
        return covariance_estimate(sgd_samples(x, key))

    def sgd_corr_ref(x, key):
        # Rank-one steps: the sample correlation is ±1 up to rounding, so no SE.
        r = jnp.corrcoef(sgd_samples(x, key).T)[0, 1]
        return Estimate(r, 0.0)

    def selection_samples(x, key):
        # Accepted steps, coordinates 2 and 3 (off the gradient).
        return _accepted_steps(_anneal_probit(key, x["sigma"], x["tau"], jnp.asarray([x["g"], 0.0, 0.0])))[:, 1:]

    def sel_cov_ref(x, key):
        return covariance_estimate(selection_samples(x, key))

    def sel_corr_ref(x, key):
        return correlation(selection_samples(x, key))

    def sgd_cov_exact(x):
        _, cov = _sgd_step_moments(x, jnp.zeros(3), jnp.asarray([x["a_1"], x["a_2"], 0.0]))
        return cov[:2, :2]

    def sel_cov_exact(x):
        num, z = _selection_law(x["sigma"], x["tau"], 1.0, jnp.asarray([x["g"], 0.0, 0.0]), "probit")
        m = np.asarray(num) / float(z)
        cov = m[3:].reshape(3, 3) - np.outer(m[:3], m[:3])
        return cov[1:, 1:]

    return ps.Derivation(
        lhs=(r"\operatorname{Cov}_{\rm SGD}(\Delta x_1, \Delta x_2)", r"\rho_{\rm SGD}",
             r"\operatorname{Cov}_{\rm sel}(\Delta x_2, \Delta x_3)", r"\rho_{\rm sel}"),
        result=result,
        symbols={eta: ps.uniform(0.01, 0.2), B: ps.integers(1, B_MAX), v: ps.uniform(0.5, 2.0),
                 a[0]: ps.uniform(0.5, 2.0), a[1]: ps.uniform(0.5, 2.0), sigma: ps.uniform(0.05, 0.2),
                 tau: ps.uniform(0.1, 0.4), g: ps.uniform(0.5, 5.0), z: ps.uniform(-2, 2)},
        assumptions=(
            r"SGD: per-example gradient of $f = -L$ is $c + z\,a$, $\mathbb E z = 0$, $\operatorname{Var} z = v$; "
            r"minibatches of $B$ drawn with replacement; here $c_1 = c_2 = 0$ in the two coordinates shown",
            r"selection: annealing (model 1) with probit $P_s = \Phi(\Delta f/\tau)$, "
            r"$\epsilon\sim\mathcal N(0,\sigma^2 I_3)$, $\nabla f = g\,e_1$; coordinates 2 and 3 are off the gradient",
            r"$a_1, a_2 > 0$ (for $a_1a_2 < 0$ the SGD correlation is $-1$)",
        ),
        steps=(
            ps.Step(lhs=sp.Derivative(-loss, weights[0]), rhs=fitness_grad[0],
                    why=r"per-example gradient of $f = -\ell$, differentiated from the model"),
            ps.Step(lhs=r"\Delta x", rhs=step, why=r"minibatch step: the mean of $B$ per-example gradients, times $\eta$",
                    check=False),
            ps.Step(lhs=r"\operatorname{Var}\bar z", rhs=var_zbar, why="mean of $B$ independent draws", check=False),
            ps.Step(lhs=r"\operatorname{Cov}_{12}/\sqrt{\operatorname{Cov}_{11}\operatorname{Cov}_{22}}", rhs=sgd_corr,
                    why=r"a rank-one covariance $\propto aa^\top$: correlation "
                        r"$\operatorname{sign}(a_1a_2)$", check=False),
            ps.Step(lhs=r"\operatorname{Cov}_{\rm sel}", rhs=sel_cov,
                    why=r"off the gradient the accepted step is the mutation itself (selection/step-noise)",
                    check=False),
        ),
        checks=(
            ps.exact(sgd_cov_exact, target=ps.part(0), label="SGD step covariance, every minibatch", vectorize=False,
                     describe="every minibatch of B draws with replacement from a 4-example dataset (E z = 0, "
                              "Var z = v) with its multinomial probability; per-example gradients by jax.grad"),
            ps.quadrature(sel_cov_exact, target=ps.part(2), label="selection step covariance, quadrature",
                          vectorize=False, rtol=1e-11, atol=1e-16,
                          describe="covariance off the gradient of the accepted step from its defining integrals "
                                   "(gaussian_selection_moments, probit acceptance on the model's fitness)",
                          tolerance="aligned product rule, converged to round-off: rel 1e-11, abs 1e-16"),
            ps.monte_carlo(sgd_cov_ref, target=ps.part(0), label="SGD step covariance", vectorize=False,
                           describe="4e4 minibatch SGD steps (per-example gradients by jax.grad, batches drawn with "
                                    "replacement from 512 examples); SE from the fourth moment"),
            ps.monte_carlo(sgd_corr_ref, target=ps.part(1), label="SGD step correlation", vectorize=False,
                           allowance_abs=1e-9,
                           describe="sample correlation of the 4e4 simulated SGD steps",
                           tolerance="1e-9 abs: rank-one steps have sample correlation ±1 up to float64 rounding"),
            ps.monte_carlo(sel_cov_ref, target=ps.part(2), label="selection step covariance", vectorize=False,
                           describe="annealing by rejection: 1e5 proposals, probit acceptance on the real fitness; "
                                    "covariance of the accepted steps off the gradient"),
            ps.monte_carlo(sel_corr_ref, target=ps.part(3), label="selection step correlation", vectorize=False,
                           describe="sample correlation of the accepted steps off the gradient; SE from "
                                    "the covariance's fourth moment"),
        ),
        references=(NOSTALGEBRAIST, SOURBUT, LI_TAI_E),
        model=per_example_loss,
    )


# --------------------------------------------------------------------------- the comparison

COMPARISON_COLUMNS = (r"\eta_{\rm eff}", r"\operatorname{Var}_\parallel", r"\operatorname{Var}_\perp",
                      r"\operatorname{Cov}_{\perp}", r"\rho_\perp")
COMPARISON_ROWS = ("minibatch SGD, per step", "model 1 (annealing, probit), per accepted step",
                   "model 2 (origin-fixation), per mutation arising", "model 2 (origin-fixation), per substitution",
                   "model 3 ($K$ in flight), per round")


@jit
def _figure_points(key, sig, tau_value, n, gv):
    r"""Simulated :math:`\eta_{\rm eff}` at :math:`\nabla f = g e_1` for the figure: model 1
    (annealing by rejection) and model 2 per substitution (mutations weighted by
    their fixation probability), each from antithetic pairs so that small gradients
    are resolved; SEs over pairs."""
    grad_f = jnp.asarray([gv, 0.0, 0.0])
    k_anneal, k_fix = jax.random.split(key)
    fitness = lambda x: -per_example_loss.jax(x, 0.0, grad_f, jnp.zeros(3))  # noqa: E731
    run = anneal(k_anneal, fitness, jnp.zeros(3), Probit(tau_value), Gaussian(sig), ANNEAL_PROPOSALS,
                 antithetic=True, twin=False)
    model1 = accepted_mean(run)
    half = sig * jax.random.normal(k_fix, (DRIFT_SAMPLES // 2, 3))
    fate = MoranFixation(n, diffusion=True)
    up, down = fate.jax(half @ grad_f), fate.jax(-half @ grad_f)
    numerator, weight = half[:, 0] * (up - down), up + down  # per pair: eps pi(s) + (-eps) pi(-s)
    mean = jnp.sum(numerator) / jnp.sum(weight)
    se = jnp.std((numerator - mean * weight) / jnp.mean(weight), ddof=1) / jnp.sqrt(half.shape[0])
    return (Estimate(model1.mean[0] / gv, model1.se[0] / gv), Estimate(mean / gv, se / gv))


def _comparison_figure(path, report=None) -> None:
    """Effective learning rate against the gradient norm, each process relative to its small-gradient value."""
    from matplotlib.figure import Figure  # no pyplot: leaves the user's backend alone

    sig, tau_value, n = 0.05, 0.2, 50
    grid = np.geomspace(1e-2, 1e3, 200)
    model1 = tau_value / np.sqrt(tau_value**2 + sig**2 * grid**2)
    norm = sp.Symbol("g", positive=True)
    mean_fixation = ps.evaluate(FixationMoment(0, n, sig * norm), {norm: grid})
    per_substitution = (1 / n) / np.asarray(mean_fixation)

    # Simulated points (4.5 SE bars): rejection sampling for model 1, fixation-weighted
    # mutations for model 2 per substitution, both with antithetic pairs (eps, -eps).
    norms = np.geomspace(0.03, 300, 9)
    points1, points2 = [], []
    for i, gv in enumerate(norms):
        rate1, rate2 = _figure_points(jax.random.key(20220509 + i), sig, tau_value, float(n), gv)
        scale1, scale2 = math.sqrt(2 / math.pi) * sig**2 / tau_value, n * sig**2 / 2
        points1.append((float(rate1.mean) / scale1, float(rate1.se) / scale1))
        points2.append((float(rate2.mean) / scale2, float(rate2.se) / scale2))

    fig = Figure(figsize=(5.4, 3.6))
    ax = fig.subplots()
    ax.loglog(grid, np.ones_like(grid), color="C0", label="SGD; model 2 per mutation (per generation); model 3")
    ax.loglog(grid, model1, color="C1", label=rf"model 1, probit $\tau = {tau_value:g}$")
    ax.loglog(grid, per_substitution, color="C2", label=rf"model 2 per substitution, $N = {n}$")
    for points, color in ((points1, "C1"), (points2, "C2")):
        mean, se = np.asarray(points).T
        ax.errorbar(norms, mean, yerr=4.5 * se, fmt="o", ms=3, color=color, capsize=2)
    ax.set_xlabel(r"$\|\nabla f\|$")
    ax.set_ylabel(r"$\eta_{\rm eff}\,/\,\eta_{\rm eff}(\nabla f \to 0)$")
    ax.set_title(rf"$\sigma = {sig:g}$; lines: closed forms; points: simulation (4.5 SE)", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, format="pdf", metadata={"CreationDate": None})


@ps.derivation("selection/sgd-comparison")
def sgd_comparison() -> ps.Derivation:
    r"""SGD versus natural selection, side by side.

    One fitness for every process: :math:`f = -L` with per-example loss
    :math:`\ell(x; z) = -c\cdot x - z\,a\cdot x`, :math:`\mathbb E z = 0`,
    :math:`\operatorname{Var} z = v`, at a point where :math:`\nabla f = c = g\,e_1`.
    For each process the row lists the effective learning rate
    :math:`\eta_{\rm eff} = \mathbb E[\Delta x]\cdot\nabla f/\lVert\nabla f\rVert^2`
    (every mean step is :math:`\eta_{\rm eff}\nabla f`), the step variance along
    the gradient, the variance of one coordinate off it, the covariance and the
    correlation of two coordinates off it. With :math:`\Pi_k = \Pi_k(N, \sigma g)`
    (selection/origin-fixation) and :math:`\delta^2 = \sigma^2g^2/(\tau^2+\sigma^2g^2)`:

    .. math::
        \begin{array}{lccccc}
         & \eta_{\rm eff} & \operatorname{Var}_\parallel & \operatorname{Var}_\perp & \operatorname{Cov}_\perp & \rho_\perp\\
        \text{SGD} & \eta & \eta^2 v a_1^2/B & \eta^2 v a_2^2/B & \eta^2 v a_2a_3/B & 1\\
        \text{model 1} & \sqrt{2/\pi}\,\sigma^2/\sqrt{\tau^2+\sigma^2g^2} & \sigma^2(1-2\delta^2/\pi) & \sigma^2 & 0 & 0\\
        \text{model 2, per mutation} & \sigma^2/2 & \sigma^2\Pi_2-\sigma^4g^2/4 & \sigma^2\Pi_0 & 0 & 0\\
        \text{model 2, per substitution} & \sigma^2/(2\Pi_0) & \sigma^2\Pi_2/\Pi_0-\sigma^4g^2/(4\Pi_0^2) & \sigma^2 & 0 & 0\\
        \text{model 3} & K\sigma^2/2 & K(\sigma^2\Pi_2-\sigma^4g^2/4) & K\sigma^2\Pi_0 & 0 & 0
        \end{array}

    Where they agree. Direction: every mean step is a positive multiple of
    :math:`\nabla f` (for selection by the reflection symmetry of mutation). Small
    gradients: every :math:`\eta_{\rm eff}` is a constant — SGD's :math:`\eta`,
    :math:`\sqrt{2/\pi}\,\sigma^2/\tau` for model 1 (:math:`\sigma g\ll\tau`),
    :math:`\sigma^2/2` per mutation (:math:`N\mu\sigma^2/2` per generation: the
    canonical equation) and :math:`N\sigma^2/2` per substitution
    (:math:`N\sigma g\ll1`), :math:`K\sigma^2/2` for model 3 — so to first order
    each is gradient ascent on :math:`f` with some learning rate.

    Where they differ. Noise correlations: SGD noise comes from the data,
    :math:`\propto aa^\top`, rank one with correlation ±1 (selection/vs-sgd-noise);
    selection noise comes from mutation, isotropic off the gradient with
    correlation 0, whatever the data. Noise scale: SGD's shrinks as
    :math:`\eta^2/B`; selection's is :math:`\sigma^2` per accepted step, set by the
    mutation scale that also sets the learning rate, and model 3 only averages it
    like a minibatch of :math:`K` zeroth-order estimates (selection/horizontal-transfer).
    Saturation: model 1's rate falls as :math:`\sigma\sqrt{2/\pi}/g` once
    :math:`\sigma g\gg\tau` (a normalised-gradient step), and so does model 2's
    per-substitution rate, :math:`\to\sigma\sqrt{\pi/2}/g` once :math:`N\sigma g\gg1`;
    SGD never saturates. Counting: model 2 is linear in the gradient per mutation
    or per generation and norm-dependent per substitution — the same process,
    two clocks (selection/origin-fixation); its stationary law also depends on the
    clock (selection/stationary). Along the gradient selection also narrows the
    step (:math:`\operatorname{Var}_\parallel<\sigma^2` in model 1) — SGD's
    parallel noise is whatever the data put there.

    References: Sourbut (2022); nostalgebraist (2022); Kimura (1962); Dieckmann &
    Law (1996); Li, Tai & E (2017).
    """
    gvec = sp.Matrix([g, 0, 0])
    avec = sp.Matrix(a)
    mutation = Gaussian(sigma)
    pi0, pi2 = FixationMoment(0, N, sigma * g), FixationMoment(2, N, sigma * g)

    # SGD: the minibatch step eta (c + zbar a) with Var zbar = v/B.
    sgd_cov = v / B * (eta * avec) * (eta * avec).T
    sgd = [eta, sgd_cov[0, 0], sgd_cov[1, 1], sgd_cov[1, 2], sp.cancel(sgd_cov[1, 2] / sp.sqrt(sgd_cov[1, 1] * sgd_cov[2, 2]))]

    # Model 1: probit annealing (selection/expected-step, selection/step-noise).
    probit_step = expected_step(Probit(tau), mutation, gvec)
    _, probit_parallel_var = skew_normal_moments(sigma, tau, g)
    model1 = [sp.factor(probit_step[0] / g), sp.expand(probit_parallel_var), sigma**2, 0, 0]

    # Model 2 per mutation: E[eps pi] and E[eps eps^T pi] (selection/origin-fixation, horizontal-transfer).
    drift = mean_displacement(MoranFixation(N, diffusion=True), mutation, gvec)
    second = sigma**2 * sp.diag(pi2, pi0, pi0)  # c_hat = e_1
    per_mutation_cov = second - drift * drift.T
    model2 = [drift[0] / g, per_mutation_cov[0, 0], per_mutation_cov[1, 1], per_mutation_cov[1, 2], 0]

    # Model 2 per substitution: condition on fixation, divide by E[pi] = Pi_0.
    fix_mean, fix_second = drift / pi0, second / pi0
    per_substitution_cov = fix_second - fix_mean * fix_mean.T
    model2_sub = [fix_mean[0] / g, per_substitution_cov[0, 0], per_substitution_cov[1, 1], per_substitution_cov[1, 2], 0]

    # Model 3: K independent per-mutation displacements.
    model3 = [K * e for e in model2[:4]] + [0]

    rows = [sgd, model1, model2, model2_sub, model3]
    result = sp.Tuple(*(sp.ImmutableMatrix([row]) for row in rows))

    def fixed_g(x):
        return jnp.asarray([x["g"], 0.0, 0.0])

    def sgd_exact(x):
        mean, cov = _sgd_step_moments(x, fixed_g(x), jnp.asarray([x["a_1"], x["a_2"], x["a_3"]]))
        return _row_from_moments(mean, cov + np.outer(mean, mean), x["g"])

    def selection_exact(which):
        def reference(x):
            kind = "probit" if which == 1 else "moran"
            num, z = (np.asarray(v) for v in _selection_law(x["sigma"], x["tau"], x["N"], fixed_g(x), kind))
            if which in (1, 3):  # per accepted step / per substitution: conditional on acceptance
                return _row_from_moments(num[:3] / z, num[3:] / z, x["g"])
            row = _row_from_moments(num[:3], num[3:], x["g"])  # per mutation: X = ε ξ, E[XXᵀ] = E[εεᵀπ]
            if which == 4:  # K independent mutations in flight: means and covariances add
                row[0, :4] *= x["K"]
            return row

        return reference

    rows_lhs = tuple(rf"\text{{{name}}}:\ ({', '.join(COMPARISON_COLUMNS)})" for name in COMPARISON_ROWS)
    exact = dict(vectorize=False, rtol=1e-10, atol=1e-15,
                 describe="first and second moments of the step from their defining integrals "
                          "(gaussian_selection_moments on the model's fitness: probit acceptance, or the Moran "
                          "diffusion fixation probability; per mutation E[ε π], E[εεᵀ π]; per substitution divided "
                          "by E[π]; model 3: K times per mutation)",
                 tolerance="aligned product rule, converged to round-off: rel 1e-10, abs 1e-15 (the correlation "
                           "off the gradient is 0)")
    return ps.Derivation(
        lhs=rows_lhs,
        result=result,
        symbols={eta: ps.uniform(0.01, 0.2), B: ps.integers(1, B_MAX), v: ps.uniform(0.5, 2.0),
                 a[0]: ps.uniform(0.5, 2.0), a[1]: ps.uniform(0.5, 2.0), a[2]: ps.uniform(0.5, 2.0),
                 # sigma g in [0.15, 0.24]: pi(s) <= 1 to beyond 4 SD of s; sigma g / tau spans 0.4-2.4,
                 # across the bend of model 1's learning rate.
                 sigma: ps.uniform(0.05, 0.06), tau: ps.uniform(0.1, 0.4), g: ps.uniform(3.0, 4.0),
                 N: ps.integers(20, 100), K: ps.integers(10, K_MAX)},
        assumptions=(
            r"one fitness $f = -L$, $L = \mathbb E_z\,\ell(x; z)$, $\ell = -c\cdot x - z\,a\cdot x$; "
            r"$\nabla f = c = g\,e_1$; $\mathbb E z = 0$, $\operatorname{Var} z = v$, $a_i > 0$",
            r"SGD: step $-\eta\nabla\hat L_B$, minibatches of $B$ drawn with replacement",
            r"selection: mutation $\mathcal N(0,\sigma^2 I_3)$; model 1 probit $\Phi(\Delta f/\tau)$; models 2 and 3 "
            r"Moran diffusion fixation $\pi(\Delta f) = \Delta f/(1-e^{-N\Delta f})$ with "
            r"$\Delta f$ the selection coefficient",
            r"linear $f$ (the small-mutation limit); $\perp$ = coordinates 2 and 3",
        ),
        steps=(
            ps.Step(lhs=r"\mathbb E[\Delta x]_{\rm SGD}", rhs=eta * gvec, why="the minibatch gradient is unbiased",
                    check=False),
            ps.Step(lhs=r"\mathbb E[\epsilon]_{\rm model\ 1}", rhs=probit_step,
                    why="Stein's lemma, probit acceptance (selection/expected-step)", check=False),
            ps.Step(lhs=r"\mathbb E[\epsilon\pi]", rhs=drift,
                    why=r"odd part $\pi(s)-\pi(-s) = s$ (selection/origin-fixation)", check=False),
            ps.Step(lhs=r"\mathbb E[\epsilon\epsilon^\top\pi]", rhs=sp.ImmutableMatrix(second),
                    why=r"$\hat c = e_1$: $\Pi_2$ along the gradient, $\Pi_0$ off it (selection/horizontal-transfer)",
                    check=False),
            ps.Step(lhs=r"\mathbb E[\cdot\mid\text{fix}]", rhs=sp.ImmutableMatrix(fix_mean),
                    why=r"divide by $\mathbb E[\pi] = \Pi_0$", check=False),
        ),
        checks=(
            # Each row by the exact law of its process; the processes are simulated in the entries the
            # rows come from (vs-sgd-noise, step-noise, origin-fixation, horizontal-transfer).
            ps.exact(sgd_exact, target=ps.part(0), label="SGD row, every minibatch", vectorize=False,
                     describe="every minibatch of B draws with replacement from a 4-example dataset (E z = 0, "
                              "Var z = v), multinomial probabilities; per-example gradients by jax.grad"),
            ps.quadrature(selection_exact(1), target=ps.part(1), label="model 1 row, quadrature", **exact),
            ps.quadrature(selection_exact(2), target=ps.part(2), label="model 2 per-mutation row, quadrature", **exact),
            ps.quadrature(selection_exact(3), target=ps.part(3), label="model 2 per-substitution row, quadrature", **exact),
            ps.quadrature(selection_exact(4), target=ps.part(4), label="model 3 row, quadrature", **exact),
        ),
        references=(SOURBUT, NOSTALGEBRAIST, KIMURA, DIECKMANN, LI_TAI_E),
        model=per_example_loss,
        figures=(_comparison_figure,),
    )
