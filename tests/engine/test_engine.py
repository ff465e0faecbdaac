"""The check machinery on small derivations with known answers: each kind of check
passes the right closed form and catches a wrong one (a changed coefficient, a
dropped term)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import sympy as sp

import pricesym as ps
from pricesym.numeric import estimate

a = sp.Symbol("a", positive=True)
x = sp.Symbol("x", real=True)
eta = sp.Symbol("eta", positive=True)


@ps.model
def cubic(np, x):
    return x**3 + 2 * x


def _derivation(result, check, symbols):
    return ps.Derivation(name="test/toy", title="toy", result=result, symbols=symbols, checks=(check,))


CASES = {
    # kind: (correct closed form, check, domains)
    "autodiff": (3 * x**2 + 2, ps.autodiff(lambda v: jax.grad(cubic.jax)(v["x"])), {x: ps.uniform(-2, 2)}),
    "exact": (
        a**2 + 1,  # the largest eigenvalue of diag(a**2 + 1, 1), a >= 0.5
        ps.exact(lambda v: np.max(np.linalg.eigvalsh(np.array([[v["a"] ** 2 + 1, 0.0], [0.0, 1.0]]))), vectorize=False),
        {a: ps.uniform(0.5, 2)},
    ),
    "quadrature": (
        1 / a + 1,
        ps.quadrature(lambda v: scipy.integrate.quad(lambda t: np.exp(-v["a"] * t), 0, np.inf, epsabs=1e-13)[0] + 1),
        {a: ps.uniform(0.5, 2)},
    ),
    "ode": (
        sp.exp(-a) + a,
        ps.ode(lambda v: scipy.integrate.solve_ivp(lambda t, y: -v["a"] * y, (0, 1), [1.0], rtol=1e-12,
                                                   atol=1e-14).y[0, -1] + v["a"]),
        {a: ps.uniform(0.5, 2)},
    ),
    "monte-carlo": (
        1 / a + a,
        ps.monte_carlo(lambda v, key: estimate(jax.random.exponential(key, (200_000,)) / v["a"] + v["a"])),
        {a: ps.uniform(0.5, 2)},
    ),
    # exp(eta*a) to second order: the residual of the truncated series is O(eta^3).
    "order": (
        1 + eta * a + eta**2 * a**2 / 2,
        ps.order(lambda v: jnp.exp(v["eta"] * v["a"]), small=eta, sweep=(0.1, 0.05, 0.025, 0.0125), order=3),
        {a: ps.uniform(0.5, 2)},
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_right_closed_form_passes(kind):
    result, check, symbols = CASES[kind]
    d = _derivation(result, check, symbols)
    r = d.run(check)
    assert r.passed, r
    assert r.method == kind


@pytest.mark.parametrize("kind", sorted(CASES))
def test_changed_coefficient_fails(kind):
    result, check, symbols = CASES[kind]
    d = _derivation(result, check, symbols)
    assert not d.run(check, closed=ps.perturb(result)).passed


@pytest.mark.parametrize("kind", sorted(CASES))
def test_dropped_term_fails(kind):
    result, check, symbols = CASES[kind]
    d = _derivation(result, check, symbols)
    for k in range(len(result.args)):
        wrong = sp.Add(*(t for j, t in enumerate(result.args) if j != k))
        assert not d.run(check, closed=wrong).passed, wrong


def test_order_check_reports_the_fitted_order():
    result, check, symbols = CASES["order"]
    d = _derivation(result, check, symbols)
    r = d.run(check)
    assert r.detail["fitted_order"] == pytest.approx(3, abs=0.15)
    # One order too few: the residual is O(eta^2), and the check says so.
    low = d.run(check, closed=1 + eta * a)
    assert not low.passed and low.detail["fitted_order"] == pytest.approx(2, abs=0.15)


def test_same_seed_same_result_and_other_seed_other_instances():
    result, check, symbols = CASES["monte-carlo"]
    d = _derivation(result, check, symbols)
    one, two, other = d.run(check, seed=3), d.run(check, seed=3), d.run(check, seed=4)
    assert one == two
    assert one.worst_instance != other.worst_instance


def test_monte_carlo_records_its_se_multiple():
    result, check, symbols = CASES["monte-carlo"]
    r = _derivation(result, check, symbols).run(check)
    assert 0 <= r.detail["max_se_multiple"] <= check.se_multiple


def test_steps_are_spot_checked_and_a_wrong_step_fails():
    good = ps.Step(lhs=sp.diff(x**3 + 2 * x, x), rhs=3 * x**2 + 2, why="power rule")
    bad = ps.Step(lhs=sp.diff(x**3 + 2 * x, x), rhs=3 * x**2, why="power rule, forgetting 2x")
    result, check, symbols = CASES["autodiff"]
    ok = ps.Derivation(name="t/ok", result=result, symbols=symbols, checks=(check,), steps=(good,)).check()
    assert ok.passed and ok[-1].method == "steps"
    wrong = ps.Derivation(name="t/bad", result=result, symbols=symbols, checks=(check,), steps=(good, bad)).check()
    assert not wrong.passed and not wrong[-1].passed


def test_non_finite_instances_are_a_clear_error():
    check = ps.autodiff(lambda v: jnp.log(v["x"]))
    d = _derivation(sp.log(x), check, {x: ps.uniform(-2, -1)})
    with pytest.raises(ps.CheckError, match="non-finite value"):
        d.run(check)


def test_reference_signature_is_validated():
    with pytest.raises(ps.RegistryError, match=r"takes `\(x\)` or `\(x, key\)`"):
        ps.autodiff(lambda: 1.0)
    with pytest.raises(ps.RegistryError, match="states the reason"):
        ps.autodiff(lambda v: 1.0, tolerance=" ")


def test_a_candidate_closed_form_is_checked_against_the_entrys_own_references(catalogue):
    d = catalogue["bernoulli/reinforce"]
    right = ("2*p*(1 - p)", "p*(1 - 2*p)**2*(1 - p)", "2*p**2*(1 - p)**2")
    assert d.check(result=right).passed  # text, read by ps.parse, symbols matched by name
    for i in range(3):  # one part 1 % off: caught by that part's check
        wrong = list(right)
        wrong[i] = f"1.01*({right[i]})"
        assert not d.check(result=tuple(wrong)).passed, i
    with pytest.raises(ps.ShapeError, match="tuple of a scalar, a scalar, a scalar"):
        d.check(result="2*p*(1 - p)")


def test_a_closed_form_that_is_not_real_fails_and_keeps_its_imaginary_part(catalogue):
    """Casting to float64 would drop an imaginary part, and p²(1-p)² + i·p passed as right."""
    from pricesym._check.compile import compile_expr, evaluate

    d = catalogue["bernoulli/ntvar"]
    p = next(s for s in d.result.free_symbols if s.name == "p")
    for wrong in (d.result + sp.I * p, d.result + 1e-3 * sp.I * p):
        assert not d.check(result=wrong).passed, wrong
    x = sp.Symbol("x", real=True)
    assert evaluate(x**2, {x: np.array([1.0, 2.0])}).dtype == np.float64  # real stays real
    assert np.array_equal(evaluate(x + sp.I * x, {x: np.array([1.0, 2.0])}), [1 + 1j, 2 + 2j])  # NumPy route
    assert np.array_equal(np.asarray(compile_expr(x + sp.I * x, [x])(jnp.array([1.0, 2.0]))), [1 + 1j, 2 + 2j])  # JAX


def test_reference_values_are_computed_once_and_reused_for_candidates(catalogue):
    from pricesym._check.run import reference

    d = catalogue["bernoulli/ntvar"]
    check = d.checks[0]
    first = reference(check, name=d.name, symbols=d.symbols, observables=d.observables)
    d.check(result=d.result * 1.01)
    assert reference(check, name=d.name, symbols=d.symbols, observables=d.observables) is first
