"""Origin-fixation, stationary laws, mutations in flight, selection noise against
SGD noise, and the side-by-side comparison (derivations/selection_fixation.py).

Worked numbers of MATH.md B8-B10 and C1 go through the derivations' closed forms
and helpers; statistical tests state their SE multiple (4.5 SE: a false alarm
about 7e-6 per scalar)."""

from __future__ import annotations

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad

import helpers
import pricesym as ps
from helpers import CATALOGUE
from pricesym.numeric import correlation, covariance_estimate, jump_chain, stationary_vector
from pricesym.popgen import FixationMoment, moran_fates
from pricesym.selection import MoranFixation

MOD = helpers.module("selection_fixation")
SE_MULTIPLE = 4.5


def at(expr, observables=None, **values):
    """Evaluate a closed form at one instance (by symbol name) through the engine's compiler;
    ``observables`` (a derivation's) are substituted first."""
    if observables:
        expr = expr.subs(dict(observables))
    symbols = {s for s in getattr(expr, "free_symbols", set())}
    columns = {s: np.array([float(values[str(s)])]) for s in symbols}
    return np.asarray(ps.evaluate(expr, columns))[0]


def grad_values(c1, c2, c3):
    return {"c_1": c1, "c_2": c2, "c_3": c3}


# --------------------------------------------------------------------------- fixation moments


def test_mean_fixation_worked_number():
    # MATH.md B8: E[pi] = E[(s/2) coth(Ns/2)] = 0.0205910 for N = 200, sigma|c| = 0.01 * 5.
    assert float(FixationMoment(0, 200, 0.05).evalf()) == pytest.approx(0.0205910, abs=5e-8)


@pytest.mark.parametrize("k", [0, 2])
@pytest.mark.parametrize("n,a", [(200, 0.05), (50, 0.3), (20, 0.01), (500, 0.5), (3, 2.0), (100, 1e-4)])
def test_fixation_moment_jax_matches_scipy(k, n, a):
    N, spread = sp.symbols("N a", positive=True)
    jax_value = at(FixationMoment(k, N, spread), N=n, a=a)
    assert jax_value == pytest.approx(float(FixationMoment(k, n, a).evalf()), rel=1e-12)


def test_fixation_moment_closed_cases():
    spread, N = sp.symbols("a N", positive=True)
    # Odd k: only the odd part s/2 survives.
    assert FixationMoment(1, N, spread) == spread / 2
    assert FixationMoment(3, N, spread) == 3 * spread / 2
    # Neutral: pi = 1/N.
    assert FixationMoment(0, N, 0) == 1 / N
    assert FixationMoment(2, 7, 0) == sp.Rational(1, 7)


def test_fixation_moment_limits():
    # Near neutrality x coth x = 1 + x^2/3 - x^4/45 + ..., so Pi_0 = 1/N + N a^2/12 - N^3 a^4/240 + O(N^5 a^6).
    n, a = 100, 1e-3
    assert float(FixationMoment(0, n, a).evalf()) == pytest.approx(1 / n + n * a**2 / 12 - n**3 * a**4 / 240, rel=1e-8)
    # Strong selection: pi ~ max(s, 0), so Pi_0 -> a / sqrt(2 pi) and Pi_2 -> a sqrt(2/pi).
    n, a = 100_000, 0.1
    assert float(FixationMoment(0, n, a).evalf()) == pytest.approx(a / math.sqrt(2 * math.pi), rel=1e-6)
    assert float(FixationMoment(2, n, a).evalf()) == pytest.approx(a * math.sqrt(2 / math.pi), rel=1e-6)


@pytest.mark.parametrize(
    "args, message",
    [
        ((-1, 10, 0.1), r"`k` \(the moment order\) must be an integer >= 0, got -1\."),
        ((1.5, 10, 0.1), r"`k` \(the moment order\) must be an integer >= 0, got 1\.5"),
        ((0, 0, 0.1), r"`N` must be an integer >= 1 \(a population size\), got 0\."),
        ((0, 2.5, 0.1), r"`N` must be an integer >= 1 \(a population size\), got 2\.5"),
        ((2, 10, -0.1), r"`a` \(the spread sigma\*\|c\| of the selection coefficient\) must be >= 0, got -0\.1"),
        ((0, 10, sp.I), r"`a` .* must be >= 0, got I\."),
    ],
)
def test_fixation_moment_bad_input(args, message):
    with pytest.raises(ps.AssumptionError, match=message):
        FixationMoment(*args)


# --------------------------------------------------------------------------- B8


def test_origin_fixation_odd_parts_reduce():
    d = CATALOGUE["selection/origin-fixation"]
    s = sp.Symbol("s", real=True)
    assert d.steps[0].rhs == s
    assert d.steps[1].rhs == 2 * s


def test_origin_fixation_worked_numbers():
    d = CATALOGUE["selection/origin-fixation"]
    case = dict(sigma=0.01, N=200, **grad_values(3, 0, 4))
    np.testing.assert_allclose(at(d.result[0], **case).ravel(), [1.5e-4, 0, 2e-4], rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(at(d.result[1], **case).ravel(), [3e-4, 0, 4e-4], rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(at(d.result[2], d.observables, **case).ravel(), [0.00728475, 0, 0.00971300], rtol=2e-6,
                               atol=1e-15)
    # Larger effects: per substitution close to the strong-selection limit sigma sqrt(pi/2) = 0.125331.
    # The closed form gives 0.1246772 (1-D quadrature of E[eps pi]/E[pi] agrees to 1e-15); MATH.md
    # quotes 0.124743, 0.05 % higher.
    step = at(d.result[2], d.observables, sigma=0.1, N=50, **grad_values(3, 0, 4)).ravel()
    assert np.linalg.norm(step) == pytest.approx(0.12467720, abs=5e-9)
    assert np.linalg.norm(step) == pytest.approx(0.124743, rel=1e-3)
    assert np.linalg.norm(step) < 0.1 * math.sqrt(math.pi / 2) == pytest.approx(0.125331, abs=5e-7)


def _exact_moran_drift_ratio(n, spread):
    """E[z pi_exact(a z)] / (a/2): the exact Moran drift relative to the diffusion closed form."""
    exact = MoranFixation(n)

    def integrand(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi) * z * float(exact.jax(spread * z))

    return quad(integrand, -12, 12, points=[0.0], limit=200, epsabs=1e-15)[0] / (spread / 2)


def test_exact_moran_drift_is_about_four_percent_lower():
    # MATH.md B8: with the exact Moran pi the drift is (1.43985, ., 1.92126)e-4 (Monte Carlo, SE about
    # 2.2e-7), about 4 % lower; quadrature gives (1.44195, ., 1.92260)e-4, within 1 SE of it.
    drift = _exact_moran_drift_ratio(200, 0.05) * np.array([1.5e-4, 2e-4])
    np.testing.assert_allclose(drift, [1.44195e-4, 1.92260e-4], rtol=1e-5)
    assert np.all(np.abs(drift - [1.43985e-4, 1.92126e-4]) < SE_MULTIPLE * 2.2e-7)


def test_exact_moran_shortfall_is_first_order_in_sigma_at_fixed_n_sigma():
    # The chain check fits the diffusion form's error against the exact Moran chain at order 1 in
    # sigma with N sigma fixed: the shortfall halves with sigma (quadrature with the exact pi).
    shortfall = [1 - _exact_moran_drift_ratio(round(1 / sig), 5 * sig) for sig in (0.02, 0.01, 0.005)]
    assert 0 < shortfall[2] < shortfall[1] < shortfall[0]
    assert shortfall[0] / shortfall[1] == pytest.approx(2, rel=0.05)
    assert shortfall[1] / shortfall[2] == pytest.approx(2, rel=0.05)


def test_exact_moran_chain_reference_matches_the_moran_fixation_probability():
    # The chain check's reference integrates the chain's own fixation probability (birth-death
    # rates, first-step analysis) against the mutation law: it is the 1-D quadrature above.
    d = CATALOGUE["selection/origin-fixation"]
    check = next(c for c in d.checks if "exact Moran chain" in c.label)
    grad = np.array([3.0, 0.0, 4.0])
    got = np.asarray(check.reference({"sigma": 0.01, "A": 1.0, **grad_values(*grad)}))
    want = _exact_moran_drift_ratio(100, 0.05) * grad / 2
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)


def test_moran_chain_simulator_matches_the_exact_fixation_probability():
    # MATH.md D5: N = 10, r = 1.1 gives 0.1479503590; N = 100, r = 1.01 gives 0.0157086566.
    for n, r, rho, trials in ((10, 1.1, 0.1479503590, 100_000), (100, 1.01, 0.0157086566, 100_000)):
        s = jnp.full(trials, math.log(r))
        fixed = np.asarray(jax.jit(moran_fates)(jax.random.key(n), s, float(n)), dtype=float)
        se = fixed.std(ddof=1) / math.sqrt(trials)
        assert abs(fixed.mean() - rho) < SE_MULTIPLE * se


def test_origin_fixation_quadrature_worked_case():
    # MATH.md B8 worked case through the checks' reference: the defining integrals over the mutation
    # law of each fixation probability (drift per mutation, step per substitution).
    grad = jnp.asarray([3.0, 0.0, 4.0])
    moran, z = MOD._selection_law(0.01, 0.0, 200.0, grad, "moran")
    kimura, _ = MOD._selection_law(0.01, 0.0, 200.0, grad, "kimura")
    np.testing.assert_allclose(np.asarray(moran[:3]), [1.5e-4, 0, 2e-4], rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(np.asarray(kimura[:3]), [3e-4, 0, 4e-4], rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(np.asarray(moran[:3] / z), [0.00728475, 0, 0.00971300], rtol=2e-6, atol=1e-15)


# --------------------------------------------------------------------------- B9

PATH = dict(f_1=1.0, f_2=1.3, f_3=0.8, f_4=1.6, f_5=1.2)
BARKER = [0.120418, 0.219417, 0.080719, 0.399803, 0.179643]
MORAN_N5 = [0.077562, 0.221525, 0.031769, 0.508311, 0.160833]


def test_stationary_worked_case():
    d = CATALOGUE["selection/stationary"]
    np.testing.assert_allclose(at(d.result[0], beta=2, **PATH).ravel(), BARKER, atol=5e-7)
    np.testing.assert_allclose(at(d.result[1], N=5, **PATH).ravel(), MORAN_N5, atol=5e-7)


def test_stationary_worked_case_by_eigenvector():
    # The references: eigenvector for eigenvalue 1 of the 5-state transition matrices.
    barker = stationary_vector(MOD._barker_chain({**PATH, "beta": 2.0}))
    moran = stationary_vector(MOD._moran_chain({**PATH, "N": 5.0}))
    np.testing.assert_allclose(barker, BARKER, atol=5e-7)
    np.testing.assert_allclose(moran, MORAN_N5, atol=5e-7)
    P = MOD._moran_chain({**PATH, "N": 5.0})
    np.testing.assert_allclose(moran @ P, moran, rtol=1e-13)
    values, vectors = np.linalg.eig(P.T)
    dense = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    np.testing.assert_allclose(moran, dense / dense.sum(), rtol=1e-10)


def test_stationary_per_substitution_differs_from_per_round():
    # Counting per substitution tilts the law by the acceptance probability Z_i.
    d = CATALOGUE["selection/stationary"]
    per_round = at(d.result[1], N=5, **PATH).ravel()
    per_sub = at(d.result[2], N=5, **PATH).ravel()
    jump = stationary_vector(jump_chain(MOD._moran_chain({**PATH, "N": 5.0})))
    np.testing.assert_allclose(per_sub, jump, rtol=1e-12)
    assert np.max(np.abs(per_sub - per_round)) > 0.01


def test_stationary_ratios_reduce():
    d = CATALOGUE["selection/stationary"]
    beta, N = sp.Symbol("beta", positive=True), sp.Symbol("N", integer=True, positive=True)
    f1, f2 = sp.symbols("f_1 f_2", positive=True)
    assert d.steps[0].rhs == sp.exp(beta * (f2 - f1))
    assert d.steps[1].rhs == (f2 / f1) ** (N - 1)


# --------------------------------------------------------------------------- B10

B10_CASE = dict(K=100, sigma=0.01, N=200, **grad_values(3, 0, 4))


def test_horizontal_transfer_worked_numbers():
    d = CATALOGUE["selection/horizontal-transfer"]
    np.testing.assert_allclose(at(d.result[0], **B10_CASE).ravel(), [0.015, 0, 0.02], rtol=1e-12, atol=1e-18)
    cov = at(d.result[1], d.observables, **B10_CASE)
    # Var D_2 = K sigma^2 E[pi] = 100 * 1e-4 * 0.0205910 (MATH.md quotes ~2.055e-4).
    assert cov[1, 1] == pytest.approx(2.05910e-4, rel=1e-5)
    assert cov[1, 1] == pytest.approx(2.055e-4, rel=3e-3)
    np.testing.assert_allclose(cov, cov.T, rtol=1e-14)
    assert cov[0, 1] == pytest.approx(0, abs=1e-18)


@pytest.mark.slow
def test_horizontal_transfer_mc_worked_case():
    # MATH.md B10: K = 100 mutations in flight, 5e4 replicates; variance SE from the 4th moment.
    d = CATALOGUE["selection/horizontal-transfer"]
    D = MOD._in_flight_kernel(jax.random.key(3), 0.01, 200.0, 100.0, jnp.asarray([3.0, 0.0, 4.0]), k_max=100)
    mean = ps.estimate(D)
    cov = covariance_estimate(D)
    assert np.all(np.abs(np.asarray(mean.mean) - [0.015, 0, 0.02]) < SE_MULTIPLE * np.asarray(mean.se))
    want = at(d.result[1], d.observables, **B10_CASE)
    assert np.all(np.abs(cov.mean - want) < SE_MULTIPLE * cov.se)


@pytest.mark.slow
def test_horizontal_transfer_dropped_terms_are_caught():
    # The covariance is K (...) entry by entry: drop each matrix term of the sum inside.
    d = CATALOGUE["selection/horizontal-transfer"]
    check = next(c for c in d.checks if c.label == "covariance")
    sigma, K, N = (sp.Symbol("sigma", positive=True), sp.Symbol("K", integer=True, positive=True),
                   sp.Symbol("N", integer=True, positive=True))
    C = sp.Matrix(MOD.c)
    spread = sigma * MOD.C_NORM
    pi0, pi2 = FixationMoment(0, N, spread), FixationMoment(2, N, spread)
    c_hat = C / MOD.C_NORM
    terms = [sigma**2 * pi0 * sp.eye(3), sigma**2 * (pi2 - pi0) * c_hat * c_hat.T, -sigma**4 * C * C.T / 4]
    assert d.run(check, closed=sp.ImmutableMatrix(K * (terms[0] + terms[1] + terms[2]))).passed
    for i in range(3):
        wrong = sp.ImmutableMatrix(K * sum((t for j, t in enumerate(terms) if j != i), sp.zeros(3)))
        assert not d.run(check, closed=wrong).passed, f"dropping term {i} passed"


# --------------------------------------------------------------------------- C1


def test_vs_sgd_noise_worked_numbers():
    d = CATALOGUE["selection/vs-sgd-noise"]
    case = dict(a_1=1, a_2=2, v=1, B=4, eta=0.1, sigma=0.1)
    np.testing.assert_allclose(at(d.result[0], **case), [[0.0025, 0.005], [0.005, 0.01]], rtol=1e-12)
    assert d.result[1] == 1 and d.result[3] == 0
    np.testing.assert_allclose(at(d.result[2], **case), 0.01 * np.eye(2), rtol=1e-12)


def test_vs_sgd_noise_simulations_worked_case():
    # SGD steps are rank one (correlation 1 to rounding); selection steps off the gradient
    # are uncorrelated: |rho| <= 4.5 SE with SE from the covariance's fourth moment (~1/sqrt(n)).
    steps = np.asarray(MOD._sgd_steps(jax.random.key(0), 0.1, 4.0, 1.0, jnp.zeros(3), jnp.asarray([1.0, 2.0, 0.0])))
    cov = covariance_estimate(steps[:, :2])
    assert np.all(np.abs(cov.mean - [[0.0025, 0.005], [0.005, 0.01]]) < SE_MULTIPLE * cov.se)
    assert np.corrcoef(steps[:, :2].T)[0, 1] == pytest.approx(1.0, abs=1e-9)
    sample = MOD._anneal_probit(jax.random.key(1), 0.1, 0.2, jnp.asarray([1.0, 0.0, 0.0]))
    accepted = np.asarray(sample.steps)[np.asarray(sample.accepted) > 0]
    rho = correlation(accepted[:, 1:])
    assert abs(rho.mean) < SE_MULTIPLE * rho.se
    assert rho.se == pytest.approx(1 / math.sqrt(len(accepted)), rel=0.05)


# --------------------------------------------------------------------------- the comparison


def _row(d, i, **values):
    return at(d.result[i], d.observables, **values).ravel()


def test_comparison_learning_rates_across_regimes():
    d = CATALOGUE["selection/sgd-comparison"]
    base = dict(eta=0.1, B=4, v=1, a_1=1, a_2=1, a_3=1, sigma=0.05, tau=0.2, N=50, K=20)
    # SGD: eta at every gradient norm; model 2 per mutation sigma^2/2; model 3 K sigma^2/2.
    for g in (0.01, 1.0, 100.0):
        assert _row(d, 0, g=g, **base)[0] == pytest.approx(0.1)
        assert _row(d, 2, g=g, **base)[0] == pytest.approx(0.05**2 / 2)
        assert _row(d, 4, g=g, **base)[0] == pytest.approx(20 * 0.05**2 / 2)
    # Model 1: sqrt(2/pi) sigma^2 / tau for small g, sigma sqrt(2/pi) / g for large g.
    assert _row(d, 1, g=1e-4, **base)[0] == pytest.approx(math.sqrt(2 / math.pi) * 0.05**2 / 0.2, rel=1e-6)
    assert _row(d, 1, g=1e4, **base)[0] * 1e4 == pytest.approx(0.05 * math.sqrt(2 / math.pi), rel=1e-6)
    # Model 2 per substitution: N sigma^2 / 2 near neutrality, sigma sqrt(pi/2) / g under strong selection.
    assert _row(d, 3, g=1e-4, **base)[0] == pytest.approx(50 * 0.05**2 / 2, rel=1e-4)
    assert _row(d, 3, g=100.0, **base)[0] * 100 == pytest.approx(0.05 * math.sqrt(math.pi / 2), rel=1e-3)


def test_comparison_noise_shapes():
    d = CATALOGUE["selection/sgd-comparison"]
    values = dict(eta=0.1, B=4, v=1, a_1=1, a_2=2, a_3=3, sigma=0.05, tau=0.2, N=50, K=20, g=3.0)
    sgd = _row(d, 0, **values)
    np.testing.assert_allclose(sgd[1:], [0.0025, 0.01, 0.015, 1.0], rtol=1e-12)
    for i in range(1, 5):
        row = _row(d, i, **values)
        assert row[3] == 0 and row[4] == 0
    # Model 1's parallel variance is below sigma^2 (selection narrows the step along the gradient).
    assert _row(d, 1, **values)[1] < 0.05**2 == _row(d, 1, **values)[2]


def test_comparison_refers_to_registered_entries():
    d = CATALOGUE["selection/sgd-comparison"]
    named = set(re.findall(r"selection/[a-z-]+", d.doc))
    assert {"selection/origin-fixation", "selection/horizontal-transfer", "selection/vs-sgd-noise",
            "selection/stationary"} <= named
    md = helpers.SHARED / "CATALOGUE.md"
    known = set(CATALOGUE) | (set(re.findall(r"`(selection/[a-z-]+)`", md.read_text())) if md.exists() else set())
    assert named <= known


@pytest.mark.slow
def test_comparison_each_nonzero_entry_is_checked():
    # Every nonzero entry of every row, changed by 10 % on its own, is caught by that row's exact check
    # (1 % too: tests/engine/test_mutation_score.py).
    d = CATALOGUE["selection/sgd-comparison"]
    assert len(d.checks) == len(d.result)
    for i, check in enumerate(d.checks):  # one check per row, in order
        row = d.result[i]
        for j in range(row.cols):
            if row[0, j] in (0, 1):
                continue
            wrong = sp.Matrix(row)
            wrong[0, j] = wrong[0, j] * sp.Float(1.1)
            assert not d.run(check, closed=sp.ImmutableMatrix(wrong)).passed, f"row {i}, column {j}"
