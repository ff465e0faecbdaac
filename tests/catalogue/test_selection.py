"""Selection as a gradient method (pricesym.selection, derivations/selection.py).

Worked numbers of MATH.md B4–B8 and D4–D5 are recomputed through the module (never
typed in as references for the checks); statistical tests state their SE multiple."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

import helpers
import pricesym as ps
from pricesym import selection as sel
from pricesym.selection import (
    AnisotropicGaussian,
    Custom,
    Gaussian,
    Hard,
    KimuraFixation,
    Linear,
    Logistic,
    MoranFixation,
    Probit,
    Radial,
)

DELTA = sel.DELTA
N = sp.Symbol("N", integer=True, positive=True)
sigma, tau = sp.symbols("sigma tau", positive=True)


def _num(expr) -> np.ndarray:
    return np.asarray(sp.Matrix(expr).evalf(20).tolist() if isinstance(expr, sp.MatrixBase) else sp.N(expr, 20),
                      dtype=float)


# ----------------------------------------------------------------------------- worked numbers


def test_probit_expected_step_worked_case():
    # MATH.md B4: n = 3, sigma = 0.1, tau = 0.2, grad f = (3, 0, 4).
    step = sel.expected_step(Probit(0.2), Gaussian(0.1), [3, 0, 4])
    np.testing.assert_allclose(_num(step).ravel(), [0.04444903, 0, 0.05926538], rtol=1e-7, atol=1e-12)
    assert float(sel.learning_rate(Probit(0.2), 0.1, 5)) == pytest.approx(0.0148163443, abs=5e-11)
    assert float(sel.acceptance(Probit(0.2), Gaussian(0.1), [3, 0, 4])) == 0.5
    eta0 = sel.weak_limit(Probit(0.2), Gaussian(0.1), [1])[0]
    assert float(eta0) == pytest.approx(0.0398942280, abs=5e-11)
    hard = sel.expected_step(Hard(), Gaussian(0.1), [3, 0, 4])
    assert float(sp.sqrt(sum(e**2 for e in hard))) == pytest.approx(0.0797884561, abs=5e-11)


def test_logistic_table():
    # MATH.md B4 logistic table, beta = 10, sigma = 0.1 (1-D quadrature).
    table = {0.1: 0.0498756, 1: 0.0413242, 5: 0.0150290, 50: 0.00159472, 500: 1.59576e-4}
    for g, eta in table.items():
        assert sel.learning_rate_quadrature(Logistic(10.0), 0.1, g) == pytest.approx(eta, rel=5e-6)
    assert float(sel.weak_limit(Logistic(10), Gaussian(0.1), [1])[0]) == pytest.approx(0.05)


def test_skew_normal_variance_worked_case():
    mean, var = sel.skew_normal_moments(0.1, 0.2, 5)
    assert float(var) == pytest.approx(0.0045118985, abs=5e-11)
    # The parallel mean is the length of the expected step.
    step = sel.expected_step(Probit(0.2), Gaussian(0.1), [3, 0, 4])
    assert float(mean) == pytest.approx(float(sp.sqrt(sum(e**2 for e in step))), rel=1e-12)


def test_anisotropic_worked_case():
    Sigma = [[0.02, 0.01, 0], [0.01, 0.03, 0], [0, 0, 0.01]]
    step = sel.expected_step(Probit(0.2), AnisotropicGaussian(Sigma), [1, 2, 0.5])
    np.testing.assert_allclose(_num(step).ravel(), [0.0676605, 0.1184058, 0.0084576], rtol=0, atol=5e-8)


def test_fixation_probabilities_worked_cases():
    # D4 (Kimura, new mutant) and D5 (Moran, s = ln r) through both interpreters.
    kim = KimuraFixation(100)
    assert float(kim.jax(0.01)) == pytest.approx(0.0201707672, abs=5e-11)
    assert float(kim.jax(-0.01)) == pytest.approx(3.769037e-4, rel=1e-6)
    assert float(KimuraFixation(1000).jax(0.001)) == pytest.approx(0.0020352788, abs=5e-11)
    moran = MoranFixation(10)
    assert float(moran.jax(math.log(1.1))) == pytest.approx(0.1479503590, abs=5e-11)
    assert float(moran.jax(-math.log(1.1))) == pytest.approx(0.0627453949, abs=5e-11)
    assert float(MoranFixation(100).jax(math.log(1.01))) == pytest.approx(0.0157086566, abs=5e-11)
    assert float(moran.sympy().subs(DELTA, sp.log(sp.Rational(11, 10)))) == pytest.approx(0.1479503590, abs=5e-11)


@pytest.mark.slow
def test_weak_selection_slopes_of_fixation():
    # B8: pi(0) = 1/N, P_s'(0)/P_s(0) = (N-1)/2 (Moran); 1/(2N) and 2N - 1 (Kimura).
    moran, kimura = MoranFixation(N), KimuraFixation(N)
    assert sp.simplify(moran.at_zero() - 1 / N) == 0
    assert sp.simplify(moran.derivative_at_zero(1) / moran.at_zero() - (N - 1) / 2) == 0
    assert sp.simplify(kimura.at_zero() - 1 / (2 * N)) == 0
    assert sp.simplify(kimura.derivative_at_zero(1) / kimura.at_zero() - (2 * N - 1)) == 0


def test_odd_part_identities_and_drift():
    s = sp.Symbol("s", real=True)
    moran = MoranFixation(N, diffusion=True).sympy(s)
    kimura = KimuraFixation(N, diffusion=True).sympy(s)
    assert sp.simplify(moran - moran.subs(s, -s) - s) == 0
    assert sp.simplify(kimura - kimura.subs(s, -s) - 2 * s) == 0
    c = sp.symbols("c_1:4", real=True)
    assert sel.mean_displacement(MoranFixation(N, diffusion=True), Gaussian(sigma), c) == sigma**2 * sp.Matrix(c) / 2
    assert sel.mean_displacement(KimuraFixation(N, diffusion=True), Gaussian(sigma), c) == sigma**2 * sp.Matrix(c)
    # B8 worked number: sigma = 0.01, c = (3, 0, 4): E[eps pi] = (1.5, 0, 2) 1e-4.
    d = sel.mean_displacement(MoranFixation(200, diffusion=True), Gaussian(0.01), [3, 0, 4])
    np.testing.assert_allclose(_num(d).ravel(), [1.5e-4, 0, 2e-4], rtol=1e-12)


@pytest.mark.slow
def test_curvature_worked_residuals():
    # B7 worked test: quadratic f, tau = 0.2, grad f = (1, 0.5), H = [[1, .3], [.3, -.5]]:
    # the O(sigma^4) formula misses the quadrature by 6.48e-6, 1.04e-7, 1.64e-9 at sigma = .04, .02, .01.
    H = [[1.0, 0.3], [0.3, -0.5]]
    f = lambda y: jnp.dot(jnp.array([1.0, 0.5]), y) + y @ jnp.array(H) @ y / 2  # noqa: E731
    for s, want in ((0.04, 6.48e-6), (0.02, 1.04e-7), (0.01, 1.64e-9)):
        step, _ = sel.gaussian_quadrature(f, jnp.zeros(2), Probit(0.2), s**2 * jnp.eye(2), nodes=48)
        formula = _num(sel.curvature_step(Probit(0.2), s, [1, 0.5], H, [0, 0])).ravel()
        assert np.max(np.abs(np.asarray(step) - formula)) == pytest.approx(want, rel=0.02)


# ----------------------------------------------------------------------------- the selection functions


FUNCTIONS = [Linear(0.3, 0.5), Hard(), Probit(0.2), Logistic(3.0), MoranFixation(10), MoranFixation(10, diffusion=True),
             KimuraFixation(20), KimuraFixation(20, diffusion=True), Custom(sp.atan(DELTA) / sp.pi + sp.S.Half)]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f"{type(f).__name__}{getattr(f, 'diffusion', '')}")
def test_jax_and_sympy_forms_agree(fn):
    grid = np.array([-1.5, -0.7, -0.1, -1e-3, 1e-3, 0.1, 0.7, 1.5])
    symbolic = np.array([float(fn.sympy(DELTA).subs(DELTA, v)) for v in grid])
    np.testing.assert_allclose(np.asarray(fn.jax(jnp.asarray(grid))), symbolic, rtol=1e-12)
    # The diffusion forms s/(1 - e^{-Ns}) are small-s approximations: probabilities only for |s| < ~1.
    reach = 0.5 if getattr(fn, "diffusion", False) else 20
    values = np.asarray(fn.jax(jnp.linspace(-reach, reach, 2001)))
    assert np.all(np.diff(values) >= 0) and values.min() >= 0 and values.max() <= 1


@pytest.mark.slow
def test_fixation_jax_is_stable_far_out():
    # Both branches of the stable form: no overflow to nan at |s| of hundreds, the neutral limit at 0.
    for fn in (MoranFixation(50), KimuraFixation(50), MoranFixation(50, diffusion=True)):
        v = np.asarray(fn.jax(jnp.array([-800.0, -1e-12, 0.0, 1e-12, 800.0])))
        assert np.all(np.isfinite(v))
        assert v[0] == 0 and v[-1] == pytest.approx(1.0 if not getattr(fn, "diffusion", False) else 800.0)
        assert v[2] == pytest.approx(float(fn.at_zero()), rel=1e-12)


def test_derivatives_at_zero():
    assert Probit(tau).derivative_at_zero(1) == 1 / (sp.sqrt(2 * sp.pi) * tau)
    assert Probit(tau).derivative_at_zero(3) == -1 / (sp.sqrt(2 * sp.pi) * tau**3)
    beta = sp.Symbol("beta", positive=True)
    assert Logistic(beta).derivative_at_zero(1) == beta / 4
    assert Logistic(beta).derivative_at_zero(3) == -beta**3 / 8
    assert Linear(0.25, 0.5).derivative_at_zero(2) == 0


def test_symmetry_flags():
    assert Probit(0.2).symmetric and Logistic(1.0).symmetric and Hard().symmetric and Linear(0.1, 0.5).symmetric
    assert not Linear(0.1, 0.3).symmetric and not MoranFixation(5).symmetric and not KimuraFixation(5).symmetric
    assert Custom(sp.atan(DELTA) / sp.pi + sp.S.Half).symmetric
    assert not Custom(sp.Heaviside(DELTA - 1, 1)).symmetric


def test_acceptance_is_half_for_symmetric_selection():
    c = sp.symbols("c_1:3", real=True)
    for fn in (Probit(tau), Logistic(2), Hard()):
        assert sel.acceptance(fn, Gaussian(sigma), c) == sp.S.Half
    assert sel.acceptance(Linear(0.1, 0.3), Gaussian(sigma), c) == sp.Float(0.3)


def test_radial_laws():
    R = sp.Symbol("R", positive=True)
    ball = Radial.ball(R, 3)
    assert ball.moment(1) == 3 * R / 4 and ball.moment(2) == 3 * R**2 / 5
    c = sp.symbols("c_1:4", real=True)
    norm = sp.sqrt(sum(e**2 for e in c))
    assert (sel.expected_step(Hard(), ball, c) - 3 * R / 8 * sp.Matrix(c) / norm).applyfunc(sp.simplify) == sp.zeros(3, 1)
    # A Gaussian written as a radial law gives the Gaussian answer through the radius/angle integral.
    via_radial = sel.expected_step(Hard(), Radial.gaussian(sigma, 3), c)
    via_gauss = sel.expected_step(Hard(), Gaussian(sigma), c)
    assert (via_radial - via_gauss).applyfunc(sp.simplify) == sp.zeros(3, 1)


@pytest.mark.slow
def test_small_mutation_series_matches_b7():
    x = sp.symbols("x_1:3", real=True)
    c1, c2, h11, h12, h22, k3 = sp.symbols("c_1 c_2 h_11 h_12 h_22 k_3", real=True)
    f = c1 * x[0] + c2 * x[1] + (h11 * x[0] ** 2 + 2 * h12 * x[0] * x[1] + h22 * x[1] ** 2) / 2 + k3 * x[0] ** 3
    for fn in (Probit(tau), Logistic(sp.Symbol("beta", positive=True))):
        Z, step = sel.small_mutation_series(fn, f, x, sigma)
        b7 = sel.curvature_step(fn, sigma, [c1, c2], [[h11, h12], [h12, h22]], [6 * k3, 0])
        assert (step - b7).applyfunc(sp.expand) == sp.zeros(2, 1)
        assert sp.expand(Z - sel.acceptance_small_mutation(fn, sigma, [c1, c2], [[h11, h12], [h12, h22]])) == 0


def test_selection_functions_cross_jit_as_pytrees():
    f = jax.jit(lambda fn, d: fn.jax(d))
    assert float(f(Probit(0.2), 0.1)) == pytest.approx(0.6914624612740131, rel=1e-14)
    assert float(f(MoranFixation(10), math.log(1.1))) == pytest.approx(0.1479503590, abs=5e-11)
    g = jax.jit(lambda law, key: law.sample(key, (4,), 2))
    assert g(Gaussian(0.5), jax.random.key(0)).shape == (4, 2)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("make,match", [
    (lambda: Probit(0.0), r"`tau` must be > 0 and finite, got 0\.0"),
    (lambda: Probit(-1), r"`tau` must be > 0"),
    (lambda: Logistic(float("nan")), r"`beta` must be > 0 and finite, got nan"),
    (lambda: Gaussian(0), r"`sigma` must be > 0 and finite, got 0"),
    (lambda: MoranFixation(0), r"`N` must be an integer >= 1 \(a population size\), got 0"),
    (lambda: KimuraFixation(2.5), r"`N` must be an integer >= 1 \(a population size\), got 2\.5"),
    (lambda: MoranFixation(sp.Symbol("N")), r"declare a symbolic size"),
    (lambda: Linear(0.1, 1.5), r"`base` is a probability and must lie in \[0, 1\], got 1\.5"),
    (lambda: Linear(-0.1), r"`slope` must be >= 0 \(P_s must be non-decreasing\)"),
    (lambda: Custom(sp.exp(-DELTA**2)), r"`p_s` = exp\(-Delta\*\*2\) must be non-decreasing"),
    (lambda: Custom(2 * sp.atan(DELTA) / sp.pi), r"`p_s` = .* must be a probability in \[0, 1\]"),
    (lambda: Custom(sp.Symbol("q") * DELTA), r"`p_s` may depend only on `delta`"),
    (lambda: AnisotropicGaussian([[1, 2], [2, 1]]), r"`Sigma` must be positive semi-definite"),
    (lambda: AnisotropicGaussian([[1, 0.1], [0, 1]]), r"`Sigma` must be symmetric"),
    (lambda: Radial(density=sp.S.One, upper=1, n=3), r"`density` must integrate to 1"),
    (lambda: Radial.ball(1, n=1), r"`n` \(the dimension\) must be an integer >= 2"),
])
def test_bad_parameters_name_the_parameter(make, match):
    with pytest.raises(ps.AssumptionError, match=match):
        make()


def test_shape_errors():
    with pytest.raises(ps.ShapeError, match=r"`Sigma` must be square, got shape \(2, 3\)"):
        AnisotropicGaussian([[1, 0, 0], [0, 1, 0]])
    with pytest.raises(ps.ShapeError, match=r"`Sigma` is 2x2 but the gradient has 3 components"):
        sel.expected_step(Probit(0.2), AnisotropicGaussian([[1, 0], [0, 1]]), [1, 2, 3])


def test_missing_rules_say_where_to_add_them():
    with pytest.raises(ps.NotSupportedError, match=r"no closed-form rule for `mean_displacement` with Logistic.*"
                                                   r"`@pricesym\.selection\.mean_displacement\.register`"):
        sel.expected_step(Logistic(1.0), Gaussian(0.1), [1, 2])
    with pytest.raises(ps.NotSupportedError, match="hard selection `Hard\\(\\)` is a step"):
        Hard().derivative_at_zero(1)
    with pytest.raises(ps.NotSupportedError, match="exact MoranFixation form has no closed `mean_displacement`"):
        sel.mean_displacement(MoranFixation(10), Gaussian(0.1), [1])
    with pytest.raises(ps.NotSupportedError, match="no closed-form rule for `acceptance` with MoranFixation"):
        sel.acceptance(MoranFixation(10, diffusion=True), Gaussian(0.1), [1])
    with pytest.raises(ps.NotSupportedError, match="assumes a symmetric P_s"):
        sel.curvature_step(MoranFixation(10), 0.1, [1], [[0]], [0])
    with pytest.raises(ps.NotSupportedError, match="needs a smooth P_s"):
        sel.gaussian_linear_moments(Hard(), jnp.eye(2), jnp.ones(2))


def test_symbolic_parameter_refused_by_jax_side():
    with pytest.raises(ps.AssumptionError, match=r"`tau` is the symbol tau; `.jax` needs a number"):
        Probit(tau).jax(0.1)


# ----------------------------------------------------------------------------- simulation


def _linear(c):
    c = jnp.asarray(c, dtype=jnp.float64)
    return lambda y: jnp.dot(c, y)


@pytest.mark.slow
def test_rejection_sampling_reproduces_worked_case():
    # MATH.md B4 check: 4e5 antithetic proposals, sigma = 0.1, tau = 0.2, grad f = (3, 0, 4); 4.5 SE.
    run = jax.jit(lambda k: sel.anneal(k, _linear([3.0, 0.0, 4.0]), jnp.zeros(3), Probit(0.2), Gaussian(0.1),
                                       400_000, antithetic=True))(jax.random.key(7))
    mean = sel.accepted_mean(run)
    want = _num(sel.expected_step(Probit(0.2), Gaussian(0.1), [3, 0, 4])).ravel()
    assert np.all(np.abs(np.asarray(mean.mean) - want) <= 4.5 * np.asarray(mean.se))
    rate = sel.acceptance_rate(run)
    assert abs(float(rate.mean) - 0.5) <= 4.5 * float(rate.se)
    rounds = sel.rounds_per_step(run)
    assert abs(float(rounds.mean) - 2.0) <= 4.5 * float(rounds.se)


@pytest.mark.slow
def test_annealing_until_accepted_rounds_are_geometric():
    # Mean rounds per step = alpha_s = 2; P(rounds = 1) = Z = 1/2 (linear f, probit).
    steps, rounds = jax.jit(lambda k: sel.anneal_until_accepted(k, _linear([1.0, 2.0]), jnp.zeros(2), Probit(0.3),
                                                               Gaussian(0.1), 100_000))(jax.random.key(3))
    r = np.asarray(rounds, dtype=float)
    assert abs(r.mean() - 2.0) <= 4.5 * r.std(ddof=1) / math.sqrt(r.size)
    one = (r == 1).astype(float)
    assert abs(one.mean() - 0.5) <= 4.5 * one.std(ddof=1) / math.sqrt(r.size)
    assert steps.shape == (100_000, 2)


def test_annealing_until_accepted_returns_each_walker_once():
    # 37 walkers in lanes of 16: 37 winners, each with its own rounds (>= 1) and a nonzero step,
    # and no two walkers the same draw (the lanes' walkers are independent).
    steps, rounds = sel.anneal_until_accepted(jax.random.key(5), _linear([1.0, 2.0]), jnp.zeros(2), Probit(0.3),
                                              Gaussian(0.1), 37)
    assert steps.shape == (37, 2) and rounds.shape == (37,)
    assert np.all(np.asarray(rounds) >= 1)
    assert np.all(np.abs(np.asarray(steps)).sum(axis=1) > 0)
    assert len({tuple(np.asarray(s)) for s in steps}) == 37


@pytest.mark.slow
def test_control_variate_cuts_the_variance():
    # Quadratic f at sigma = 0.03: the linearised twin (exact moments by quadrature) removes most of the
    # noise; both estimators agree with the quadrature of the real f within 4.5 SE.
    H = jnp.array([[1.0, 0.3], [0.3, -0.5]])
    f = lambda y: jnp.dot(jnp.array([1.0, 0.5]), y) + y @ H @ y / 2  # noqa: E731
    fn, law = Probit(0.2), Gaussian(0.03)
    run = jax.jit(lambda k: sel.anneal(k, f, jnp.zeros(2), fn, law, 400_000))(jax.random.key(11))
    plain = sel.accepted_mean(run)
    num, z = sel.gaussian_linear_moments(fn, 0.03**2 * jnp.eye(2), jnp.array([1.0, 0.5]))
    cv = sel.accepted_mean_cv(run, num, z)
    truth, _ = sel.gaussian_quadrature(f, jnp.zeros(2), fn, 0.03**2 * jnp.eye(2), nodes=48)
    for est in (plain, cv):
        assert np.all(np.abs(np.asarray(est.mean) - np.asarray(truth)) <= 4.5 * np.asarray(est.se))
    reduction = (np.asarray(plain.se) / np.asarray(cv.se)) ** 2
    assert reduction.min() > 20


# ----------------------------------------------------------------------------- the entries


NAMES = ["selection/transition", "selection/expected-step", "selection/step-noise", "selection/anisotropic",
         "selection/curvature", "selection/norm-dependence"]


@pytest.fixture(scope="module")
def entries():
    return helpers.entries("selection")


@pytest.mark.slow
def test_entries_are_registered_with_symbol_names(entries):
    assert sorted(entries) == sorted(NAMES)
    for name in NAMES:
        d = entries[name]
        names = {str(s) for s in d.symbols}
        assert names & {"sigma", "tau", "beta", "g"}, name
        assert d.references and d.assumptions and d.checks


@pytest.mark.slow
def test_curvature_remainder_bound(entries):
    # The model-error allowance of the curvature entry's Monte-Carlo check: the O(sigma^6) remainder at
    # sigma = 0.03 stays below it over the symbol domains (quadrature of the real f, 500 draws).
    d = entries["selection/curvature"]
    module = helpers.module("selection")
    rng = np.random.default_rng(2)
    cols = {s: dom.sample(rng, 500) for s, dom in d.symbols.items()}
    cols[next(s for s in d.symbols if str(s) == "sigma")] = np.full(500, 0.03)
    want = ps.evaluate(d.result, cols).reshape(500, 2)
    x = {str(s): jnp.asarray(v) for s, v in cols.items()}
    quad = jax.vmap(lambda v: module._quadrature(module._grad(v, 2), module._hessian(v, 2), v["kappa"],
                                                 Probit(v["tau"]), v["sigma"] ** 2 * jnp.eye(2), 48)[0])(x)
    assert np.abs(np.asarray(quad) - want).max() < module.REMAINDER_AT_003


@pytest.mark.slow
def test_norm_dependence_figure_is_deterministic(entries, tmp_path):
    fig = entries["selection/norm-dependence"].figures[0]
    fig(tmp_path / "a.pdf", None)
    fig(tmp_path / "b.pdf", None)
    data = (tmp_path / "a.pdf").read_bytes()
    assert data.startswith(b"%PDF") and data == (tmp_path / "b.pdf").read_bytes()


# ----------------------------------------------------------------------------- exact references


@pytest.mark.parametrize("make", [lambda: Probit(0.1), lambda: Hard(), lambda: Logistic(8.0)])
def test_aligned_quadrature_matches_the_one_dimensional_integrals(make):
    # E[eps | accepted] for a linear f is parallel to the gradient, with the learning rate of the
    # 1-D adaptive quadrature; off the gradient the accepted step keeps variance sigma^2.
    s, cv = 0.2, jnp.asarray([1.5, -2.0, 0.7])
    num, z = sel.gaussian_selection_moments(lambda y: cv @ y, jnp.zeros(3), make(), s**2 * jnp.eye(3),
                                            lambda e: jnp.concatenate([e, jnp.outer(e, e).reshape(-1)]))
    mean, second = np.asarray(num[:3] / z), np.asarray(num[3:] / z).reshape(3, 3)
    g = float(jnp.linalg.norm(cv))
    rate = sel.learning_rate_quadrature(make(), s, g)
    np.testing.assert_allclose(mean, rate * np.asarray(cv), rtol=1e-11)
    perp = np.cross(np.asarray(cv), [0.0, 0.0, 1.0])
    perp /= np.linalg.norm(perp)
    assert perp @ second @ perp == pytest.approx(s**2, rel=1e-12)
