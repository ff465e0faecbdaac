"""Population genetics (MATH.md D1–D6): worked numbers through the closed-form
functions and the exact solves, the simulators against exact references with
stated SE multiples, the catalogue entries' closed forms at the worked cases,
and bad input."""

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy as sp

import helpers
import pricesym as ps
from pricesym import popgen as pg
from pricesym.numeric import ratio_of_means

K_SE = 4.5  # SE multiple for statistical tests: two-sided false alarm about 7e-6 per scalar


def within(estimate, expected, k=K_SE, allowance=0.0):
    mean, se = float(estimate.mean), float(estimate.se)
    assert abs(mean - expected) <= k * se + allowance, f"{mean} ± {se} vs {expected} ({abs(mean - expected) / se:.2f} SE)"


def printed(text: str):
    """An expected value as MATH.md prints it: equal up to half a unit in its last printed digit."""
    mantissa = text.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(text.lower().split("e")[1]) if "e" in text.lower() else 0
    return pytest.approx(float(text), abs=0.5 * 10.0 ** (exponent - decimals) * (1 + 1e-9), rel=0)


# ----------------------------------------------------------------------------- worked numbers (MATH.md)


@pytest.mark.parametrize(("N", "s", "p", "u"), [
    (100, 0.01, 1 / 200, "0.0201707672"),
    (100, -0.01, 1 / 200, "3.769037e-4"),
    (1000, 0.001, 1 / 2000, "0.0020352788"),
    (50, 0.005, 0.1, "0.1505450"),
])
def test_kimura_worked_numbers(N, s, p, u):
    assert pg.kimura_fixation(N, s, p) == printed(u)


def test_kimura_limits():
    assert pg.kimura_fixation(100, 0.0, 0.3) == 0.3
    assert pg.kimura_fixation(100, 1e-12, 0.3) == pytest.approx(0.3, rel=1e-9)
    # the weak-selection series of MATH.md D4 gives 0.145 at N = 50, s = 0.005, p = 0.1
    assert 0.1 + 2 * 50 * 0.005 * 0.1 * 0.9 == pytest.approx(0.145)
    # no overflow for strongly deleterious alleles (4N|s| = 200): against 40-digit arithmetic
    mpmath.mp.dps = 40
    for p in (1 / 2000, 0.3):
        exact = mpmath.expm1(-mpmath.mpf(-200) * p) / mpmath.expm1(mpmath.mpf(200))
        assert pg.kimura_fixation(1000, -0.05, p) == pytest.approx(float(exact), rel=1e-12)


@pytest.mark.parametrize(("N", "r", "rho"), [(10, 1.1, "0.1479503590"), (10, 1 / 1.1, "0.0627453949"),
                                             (100, 1.01, "0.0157086566")])
def test_moran_worked_numbers(N, r, rho):
    assert pg.moran_fixation(N, r) == printed(rho)
    assert pg.moran_absorption_system(N, r).phi[1] == pytest.approx(pg.moran_fixation(N, r), rel=1e-12)


def test_moran_limits_and_no_overflow():
    assert pg.moran_fixation(10, 1.0, 3) == 0.3
    assert pg.moran_fixation(10, 1 + 1e-9) == pytest.approx(0.1, rel=1e-7)
    assert pg.moran_fixation(10_000, 1.5) == pytest.approx(1 - 1 / 1.5, rel=1e-12)
    tiny = pg.moran_fixation(2000, 0.5)
    assert 0 < tiny < 1e-300 or tiny == 0.0  # underflows gracefully, never NaN or inf


def test_moran_solve_is_componentwise_accurate():
    """Elimination without pivoting keeps tiny fixation probabilities accurate
    (against 40-digit arithmetic), where a pivoting solver would only be
    accurate relative to 1."""
    mpmath.mp.dps = 40
    for N, r in [(100, 0.5), (100, 2.0), (60, 0.8), (37, 1.0001)]:
        phi = pg.moran_absorption_system(N, r).phi
        R = mpmath.mpf(r)
        for i in (1, 2, N // 2, N - 1):
            exact = (1 - R ** (-i)) / (1 - R ** (-N))
            assert abs(phi[i] - float(exact)) <= 1e-12 * float(exact)


def test_diffusion_times_worked_numbers():
    t1, t = pg.kimura_times(100, 0.5)
    assert t1 == printed("277.258872") and t == printed("277.258872")
    assert t == pytest.approx(400 * math.log(2), rel=1e-14)
    t1, t = pg.kimura_times(100, 0.005)
    assert t1 == printed("398.998329")
    assert t == printed("12.5916264")


def test_moran_times_worked_numbers():
    assert pg.moran_neutral_times(10, 1) == (90.0, printed("28.2896825"))
    assert pg.moran_neutral_times(10, 3)[1] == printed("56.3968254")
    assert pg.moran_neutral_times(100, 1) == (9900.0, printed("517.737752"))
    neutral = pg.moran_absorption_system(10, 1.0)
    assert neutral.time_fixed[1] == pytest.approx(90.0, rel=1e-12)
    assert neutral.time[1] == printed("28.2896825")
    assert neutral.time[3] == printed("56.3968254")
    for i in range(11):
        assert neutral.time[i] == pytest.approx(pg.moran_neutral_times(10, i)[1], rel=1e-12, abs=1e-12)


def test_selected_moran_conditional_time_and_symmetry():
    forward = pg.moran_absorption_system(10, 1.1).time_fixed[1]
    backward = pg.moran_absorption_system(10, 1 / 1.1).time_fixed[1]
    assert forward == printed("88.8441033")
    assert backward == pytest.approx(forward, rel=1e-12)


def test_absorption_edge_cases():
    one = pg.moran_absorption_system(1, 2.0)
    assert one.phi.tolist() == [0.0, 1.0] and one.time.tolist() == [0.0, 0.0]
    two = pg.moran_absorption_system(2, 1.0)
    assert two.phi[1] == 0.5 and two.time[1] == pytest.approx(2.0)
    assert np.isnan(pg.moran_absorption_system(5, 1.3).time_fixed[0])


def test_neutral_wright_fisher_is_a_martingale():
    chain = pg.wright_fisher_absorption_system(20, 0.0)
    assert chain.phi == pytest.approx(np.arange(41) / 40, abs=1e-13)


def test_wright_fisher_exact_close_to_kimura():
    """The diffusion error is small on the catalogue's domain (the entry fits its order, O(1/N), instead)."""
    for N in (25, 50, 100):
        for s in (-0.01, 0.005, 0.02):
            chain = pg.wright_fisher_absorption_system(N, s)
            for k in (1, round(0.3 * 2 * N), N):
                u = pg.kimura_fixation(N, s, k / (2 * N))
                assert chain.phi[k] == pytest.approx(u, rel=0.0145)


def test_wright_fisher_neutral_times_close_to_diffusion():
    chain = pg.wright_fisher_absorption_system(100, 0.0)
    t1, t = pg.kimura_times(100, 0.5)
    assert chain.time_fixed[100] == pytest.approx(t1, rel=0.01)
    assert chain.time[100] == pytest.approx(t, rel=0.01)


# ----------------------------------------------------------------------------- simulators


def test_simulate_moran_matches_exact_solve():
    est = pg.simulate_moran(jax.random.key(1), 10, 1.1, 1, 100_000)
    within(est, pg.moran_absorption_system(10, 1.1).phi[1])
    est = pg.simulate_moran(2, 20, 0.95, 4, 100_000)
    within(est, pg.moran_absorption_system(20, 0.95).phi[4])


@pytest.mark.slow  # compiles several kernels (trial and lane counts are static)
def test_restart_and_drain_runs_exactly_the_quota():
    """Every started trial is finished and counted; few lanes and many restarts
    stay unbiased (trials that fix take longer than trials that are lost)."""
    for trials, lanes in [(1, 1), (7, 3), (20_000, 7), (5_000, 4096)]:
        step = pg.moran_step(12.0, 1.2, timed=True)
        fates = pg.restart_and_drain(jax.random.key(3), step, 2, 12, trials, lanes, timed=True)
        assert fates.fixed.shape == (trials,) and bool(jnp.all(fates.time > 0))  # every trial ran and was recorded
    est = pg.simulate_moran(4, 12, 1.2, 2, 40_000, lanes=5)
    within(est, pg.moran_absorption_system(12, 1.2).phi[2])


def test_simulate_moran_times_neutral():
    times = pg.simulate_moran_times(5, 10, 1.0, 1, 100_000)
    within(times.absorption, 28.2896825)
    within(times.fixation, 90.0)
    times = pg.simulate_moran_times(6, 10, 1.0, 3, 100_000)
    within(times.absorption, 56.3968254)


def test_simulate_moran_times_selected():
    times = pg.simulate_moran_times(7, 10, 1.1, 1, 100_000)
    within(times.fixation, 88.8441033)
    within(times.absorption, pg.moran_absorption_system(10, 1.1).time[1])


@pytest.mark.slow  # compiles several kernels (trial and lane counts are static)
def test_simulators_start_absorbed():
    assert float(pg.simulate_moran(0, 5, 1.3, 5, 10).mean) == 1.0
    assert float(pg.simulate_moran(0, 5, 1.3, 0, 10).mean) == 0.0
    assert float(pg.simulate_moran_times(0, 1, 1.3, 1, 10).absorption.mean) == 0.0
    assert float(pg.simulate_wright_fisher(0, 10, 0.1, 1.0, 10).mean) == 1.0


def test_simulate_moran_under_vmap():
    run = jax.jit(jax.vmap(lambda key, N, r, i: pg.simulate_moran(key, N, r, i, 50_000)))
    keys = jax.random.split(jax.random.key(8), 2)
    est = run(keys, jnp.array([10.0, 20.0]), jnp.array([1.1, 0.95]), jnp.array([1.0, 4.0]))
    within(ps.Estimate(est.mean[0], est.se[0]), pg.moran_fixation(10, 1.1))
    within(ps.Estimate(est.mean[1], est.se[1]), pg.moran_fixation(20, 0.95, 4))


def test_simulate_wright_fisher_matches_exact_chain():
    est = pg.simulate_wright_fisher(9, 25, 0.02, 0.3, 30_000)
    within(est, pg.wright_fisher_absorption_system(25, 0.02).phi[15])
    # a padded table (max_N > N) samples the same chain
    est = pg.simulate_wright_fisher(10, 25, 0.02, 0.3, 30_000, max_N=50)
    within(est, pg.wright_fisher_absorption_system(25, 0.02).phi[15])


@pytest.mark.slow
def test_simulate_wright_fisher_new_mutant_math_case():
    """MATH.md D4: N = 100, s = 0.01, one copy, 2e5 replicates (against the exact
    chain, 4.5 SE; against Kimura, 4.5 SE + 2%)."""
    est = pg.simulate_wright_fisher(11, 100, 0.01, 1 / 200, 200_000)
    within(est, pg.wright_fisher_absorption_system(100, 0.01).phi[1])
    within(est, 0.0201707672, allowance=0.02 * 0.0201707672)


def test_simulate_offspring_price_worked_case():
    """MATH.md D1: q = (0.2, 0.5, 0.3) as counts (2, 5, 3); w̄Δz̄ = -0.185, Δz̄ = -0.16818..."""
    est = pg.simulate_offspring(12, [2, 5, 3], [1, 1.5, 0.5], [1, 2, 3], [1.1, 2.0, 2.7], 50_000)
    within(est, -0.185)
    assert -0.185 / 1.1 == pytest.approx(-0.16818181818)


def test_simulate_gaussian_selection_breeder_worked_case():
    """MATH.md D2: V_A = V_E = 0.5, z̄ = 1, θ = 0, ω² = 4: S = -0.2, R = -0.1;
    D3: w̄ = 0.8093112."""
    fitness = lambda P: jnp.exp(-(P**2) / 8)
    sel = pg.simulate_gaussian_selection(13, 1.0, 0.5, 0.5, fitness, 1_000_000)
    within(sel.S, -0.2)
    within(sel.R, -0.1)
    within(sel.h2, 0.5)
    within(sel.wbar, 0.8093112, allowance=5e-8)  # printed to 7 decimals


def test_simulate_gaussian_selection_exponential_tilt_is_lande():
    """A fitness tilt w = exp(βᵀz) on Gaussian phenotypes moves the mean breeding
    value by exactly Gβ: MATH.md D3's G = [[1, .5], [.5, 2]], β = (0.1, -0.2) give (0, -0.35)."""
    G = np.array([[1.0, 0.5], [0.5, 2.0]])
    beta = jnp.array([0.1, -0.2])
    sel = pg.simulate_gaussian_selection(14, np.zeros(2), G, 0.5 * np.eye(2), lambda P: jnp.exp(P @ beta), 1_000_000)
    for j, expected in enumerate((0.0, -0.35)):
        within(ps.Estimate(sel.R.mean[j], sel.R.se[j]), expected)
    assert np.isnan(float(sel.h2.mean))


def test_ratio_of_means_se_matches_replication():
    keys = jax.random.split(jax.random.key(15), 400)
    def one(k):
        a, b = jax.random.normal(k, (2, 2000)) + jnp.array([[1.0], [2.0]])
        return ratio_of_means(a * b, b)
    est = jax.vmap(one)(keys)
    spread = float(jnp.std(est.mean))
    assert float(jnp.mean(est.se)) == pytest.approx(spread, rel=0.15)


# ----------------------------------------------------------------------------- catalogue entries at the worked cases


@pytest.fixture(scope="module")
def catalogue():
    return helpers.entries("genetics")


def _at(d, part, **values):
    expr = d.result[part] if isinstance(d.result, sp.Tuple) else d.result
    by_name = {str(s): s for s in list(d.symbols) + list(d.observables)}
    expr = expr.subs(dict(d.observables))
    return expr.subs({by_name[k]: v for k, v in values.items()}).evalf(30)


def test_entries_build(catalogue):
    names = {"price/discrete", "genetics/breeder", "genetics/lande", "fixation/kimura", "fixation/moran",
             "fixation/times"}
    assert names <= set(catalogue)
    for name in names:
        d = catalogue[name]
        assert d.checks and d.references and d.assumptions and d.steps


def test_price_discrete_worked_case(catalogue):
    value = _at(catalogue["price/discrete"], 0, n_1=2, n_2=5, n_3=3, w_1=1, w_2=1.5, w_3=0.5, z_1=1, z_2=2, z_3=3,
                **{"z'_1": 1.1, "z'_2": 2.0, "z'_3": 2.7})
    assert float(value) == pytest.approx(-0.185, abs=1e-15)


def test_breeder_and_lande_worked_cases(catalogue):
    case = dict(V_A=0.5, V_E=0.5, zbar=1, theta=0, omega=2)
    assert float(_at(catalogue["genetics/breeder"], 0, **case)) == pytest.approx(-0.2, abs=1e-15)
    assert float(_at(catalogue["genetics/breeder"], 1, **case)) == pytest.approx(-0.1, abs=1e-15)
    lande = catalogue["genetics/lande"]
    case = dict(zbar=1, theta=0, omega=2, P=1, G=0.5)
    assert float(_at(lande, 0, **case)) == printed("0.8093112")
    assert float(_at(lande, 1, **case)) == pytest.approx(-0.2, abs=1e-15)
    assert float(_at(lande, 2, **case)) == pytest.approx(-0.1, abs=1e-15)


def test_fixation_entries_worked_cases(catalogue):
    kimura = catalogue["fixation/kimura"]
    assert float(_at(kimura, 1, N=100, s=0.01)) == printed("0.0201707672")
    assert float(_at(kimura, 0, N=50, s=0.005, p=0.1)) == printed("0.1505450")
    moran = catalogue["fixation/moran"]
    assert float(_at(moran, 0, N=10, r=1.1)) == printed("0.1479503590")
    assert float(_at(moran, 1, N=100, r=1.01, i=1)) == printed("0.0157086566")
    times = catalogue["fixation/times"]
    assert float(_at(times, 0, N=100, p=0.5)) == printed("277.258872")
    assert float(_at(times, 1, N=100, p=0.005)) == printed("12.5916264")
    assert float(_at(times, 2, N=10)) == 90.0
    assert float(_at(times, 3, N=10, i=3)) == printed("56.3968254")
    assert float(_at(times, 3, N=100, i=1)) == printed("517.737752")


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("call", "message"), [
    (lambda: pg.moran_fixation(0, 1.1), r"`N` must be an integer population size >= 1, got 0\."),
    (lambda: pg.moran_fixation(2.5, 1.1), r"`N` must be an integer population size >= 1, got 2\.5\."),
    (lambda: pg.moran_fixation(True, 1.1), r"`N` must be an integer population size >= 1, got True\."),
    (lambda: pg.moran_fixation(10, 0.0), r"`r` is a relative fitness and must be > 0, got 0\.0\."),
    (lambda: pg.moran_fixation(10, float("nan")), r"`r` must be finite, got nan\."),
    (lambda: pg.moran_fixation(10, 1.1, 11), r"`i` must be an integer number of mutants in \[0, N\] = \[0, 10\], got 11\."),
    (lambda: pg.kimura_fixation(100, 0.01, 1.5),
     r"`p` is a probability \(an allele frequency\) and must lie in \[0, 1\], got 1\.5\."),
    (lambda: pg.kimura_fixation(100, "0.01", 0.5), r"`s` must be a real number, got '0\.01'\."),
    (lambda: pg.kimura_times(100, 0.0), r"`p` must lie strictly inside \(0, 1\) for absorption times, got 0\.0\."),
    (lambda: pg.wright_fisher_absorption_system(10, -1.5),
     r"`s` must be > -1 so that the allele's fitness 1 \+ s is positive, got -1\.5\."),
    (lambda: pg.simulate_wright_fisher(0, 100, 0.01, 0.013, 10),
     r"`p` must be a whole number of gene copies out of 2N = 200 \(p = k/200\), got 0\.013\."),
    (lambda: pg.simulate_wright_fisher(0, 100, 0.01, 0.5, 10, max_N=50), r"`max_N` must be at least `N` = 100, got 50\."),
    (lambda: pg.simulate_moran(0, 10, 1.1, 1, 0), r"`trials` must be an integer number of trials >= 1, got 0\."),
    (lambda: pg.simulate_moran(0, 10, 1.1, 1, 10, lanes=-2),
     r"`lanes` must be an integer number of parallel lanes >= 1, got -2\."),
    (lambda: pg.simulate_moran("seed", 10, 1.1), r"`key` must be a JAX PRNG key \(jax\.random\.key\(seed\)\) or an integer seed"),
    (lambda: pg.simulate_gaussian_selection(0, np.zeros(2), np.eye(3), np.eye(2), lambda P: 1.0, 10),
     r"`G` must be a 2x2 covariance matrix \(matching `zbar`\), got shape \(3, 3\)\."),
    (lambda: pg.simulate_gaussian_selection(0, np.zeros(2), np.eye(2), -np.eye(2), lambda P: 1.0, 10),
     r"`E` must be a symmetric positive semi-definite covariance"),
    (lambda: pg.simulate_gaussian_selection(0, 0.0, -1.0, 1.0, lambda P: 1.0, 10),
     r"`G` must be a variance >= 0 \(a scalar, like `zbar`\), got"),
    (lambda: pg.simulate_gaussian_selection(0, 0.0, 1.0, 1.0, "w", 10),
     r"`fitness` must be a function of one phenotype, got 'w'\."),
    (lambda: pg.simulate_offspring(0, [2, 5], [1, 1], [1, 2, 3], [1, 2, 3], 10),
     r"`counts`, `fitness`, `z` and `z_offspring` must be vectors of one length"),
    (lambda: pg.simulate_offspring(0, [2, -1], [1, 1], [1, 2], [1, 2], 10),
     r"`counts` must be whole numbers >= 0 with at least one parent, got \[2\.0, -1\.0\]\."),
    (lambda: pg.simulate_offspring(0, [2, 1], [1, -1], [1, 2], [1, 2], 10),
     r"`fitness` is a mean offspring number and must be >= 0"),
])
def test_bad_input(call, message):
    with pytest.raises(ps.AssumptionError, match=message) as info:
        call()
    assert isinstance(info.value, ValueError)


def test_traced_wright_fisher_needs_max_N():
    with pytest.raises(ps.AssumptionError, match=r"`max_N` is required when `N` is traced"):
        jax.jit(lambda N: pg.simulate_wright_fisher(0, N, 0.01, 0.5, 10).mean)(10.0)


def test_birth_death_fixation_is_the_absorption_solve():
    # First-step analysis of the rates against the tridiagonal absorption solve (MATH.md D5), also
    # with the rates padded beyond the population (one compiled program for every N).
    for n, r in ((10, 1.1), (50, 0.9), (7, 2.0)):
        up, down = pg.moran_transitions(n, r)
        exact = pg.moran_absorption_system(n, r).phi
        np.testing.assert_allclose(np.asarray(pg.birth_death_fixation(up[1:n], down[1:n])), exact, rtol=1e-13)
        pad = 60 - (n - 1)
        padded = pg.birth_death_fixation(np.r_[up[1:n], np.full(pad, 0.3)], np.r_[down[1:n], np.full(pad, 0.7)], top=n)
        np.testing.assert_allclose(np.asarray(padded)[: n + 1], exact, rtol=1e-13)
        np.testing.assert_allclose(np.asarray(padded)[n:], 1.0, rtol=1e-15)
