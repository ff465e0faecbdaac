"""Infinite-width kernels (derivations/kernels.py, MATH.md Part K), through the public
API: the worked numbers of K3, the entries against `ps.kernels`, the fitted orders,
that a closed form 1 % off fails its entry's checks, and the figure."""

import numpy as np
import pytest
import sympy as sp

import helpers
import pricesym as ps
from helpers import CATALOGUE, caught

K = ps.kernels
NAMES = ("kernels/relu", "kernels/erf", "kernels/duals", "kernels/recursion", "kernels/gradient-flow-mse",
         "price/infinite-width")
# MATH.md K3: x = (1, 0), x' = (0.6, 0.8), d = 2, sigma_w^2 = 2, sigma_b = 0 (typed from MATH.md).
K3 = {("relu", 1): (0.677547567766513, 1.100447226585993), ("relu", 2): (0.733433785825563, 1.544416300677211),
      ("erf", 1): (0.523959521737819, 1.079646816172104), ("erf", 2): (0.477955870570610, 1.511834923108048)}
K3_POINT = {"q11": 0.5, "q22": 0.5, "q12": 0.3, "sigma_w": 2**0.5, "sigma_b": 0.0}


@pytest.fixture(scope="module")
def kernels_module():
    return helpers.module("kernels")


def _evaluate(d, expr, values):
    """``expr`` of an entry at named values, its observables evaluated from their definitions in order."""
    columns = {s: np.array([float(values[str(s)])]) for s in d.symbols if str(s) in values}
    for symbol, definition in d.observables.items():
        if str(symbol) in values:
            columns[symbol] = np.array([float(values[str(symbol)])])
        else:
            columns[symbol] = ps.evaluate(definition, columns)
    return float(np.asarray(ps.evaluate(expr, columns)).ravel()[0])


def test_entries_are_registered():
    assert set(NAMES) <= set(CATALOGUE)


@pytest.mark.parametrize(("name", "depth"), sorted(K3))
def test_k3_worked_numbers_through_the_api(name, depth):
    want_nngp, want_ntk = K3[(name, depth)]
    net = K.fully_connected(name, depth, sp.sqrt(2), 0)
    q11, q22, q12 = K.INPUTS
    at = {q11: sp.Rational(1, 2), q22: sp.Rational(1, 2), q12: sp.Rational(3, 10)}
    assert abs(float(net.nngp.xreplace(at).evalf(30)) - want_nngp) < 1e-12
    assert abs(float(net.ntk.xreplace(at).evalf(30)) - want_ntk) < 1e-12
    nngp, ntk = net.kernel_fn(np.array([[1.0, 0.0], [0.6, 0.8]]))
    assert abs(float(nngp[0, 1]) - want_nngp) < 1e-12
    assert abs(float(ntk[0, 1]) - want_ntk) < 1e-12


@pytest.mark.parametrize("name", ["relu", "erf"])
def test_k3_worked_numbers_from_the_entries(name):
    d = CATALOGUE[f"kernels/{name}"]
    values = {**K3_POINT, "r": 0.6, "k11": 1.0, "k22": 1.0, "rho": 0.0}
    for depth, (nngp_part, ntk_part) in ((1, (2, 3)), (2, (4, 5))):
        want_nngp, want_ntk = K3[(name, depth)]
        assert abs(_evaluate(d, d.result[nngp_part], values) - want_nngp) < 1e-12
        assert abs(_evaluate(d, d.result[ntk_part], values) - want_ntk) < 1e-12


def test_recursion_entry_is_the_api_at_depth_3():
    d = CATALOGUE["kernels/recursion"]
    values = {"q11": 0.9, "q22": 1.3, "r": 0.4, "sigma_w": 1.2, "sigma_b": 0.3}
    net = K.fully_connected("gelu", 3, 1.2, 0.3)
    q12 = 0.4 * (0.9 * 1.3) ** 0.5
    x = np.array([[np.sqrt(2 * 0.9), 0.0], [q12 * 2 / np.sqrt(2 * 0.9), 0.0]])
    x[1, 1] = np.sqrt(2 * 1.3 - x[1, 0] ** 2)
    nngp, ntk = net.kernel_fn(x)
    assert _evaluate(d, d.result[0], values) == pytest.approx(float(nngp[0, 1]), rel=1e-12)
    assert _evaluate(d, d.result[1], values) == pytest.approx(float(ntk[0, 1]), rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_a_one_percent_wrong_closed_form_fails_the_entry(name):
    # The criterion: a closed form with a coefficient 1 % off must fail its entry's checks.
    d = CATALOGUE[name]
    wrong = ps.perturb(d.result, 0.01)
    assert any(caught(d, c, c.target(wrong) if c.target else wrong) for c in d.checks)


def test_one_percent_off_in_a_single_part_is_caught_by_quadrature():
    d = CATALOGUE["kernels/relu"]
    check = next(c for c in d.checks if c.method == "quadrature")
    for k in range(len(d.result)):
        parts = list(d.result)
        parts[k] = parts[k] * sp.Float(1.01)
        assert caught(d, check, sp.Tuple(*parts)), f"part {k}"
    # and a single constant of the arc-cosine kernel: the 2 pi of E[H(u)H(v)] off by 1 %
    slope = d.result[1]
    parts = list(d.result)
    parts[1] = slope.xreplace({sp.pi: sp.pi * sp.Float(1.01)})
    assert caught(d, check, sp.Tuple(*parts))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kernels/relu", "kernels/gradient-flow-mse", "price/infinite-width"])
def test_fitted_fluctuation_order_is_one_half(name):
    d = CATALOGUE[name]
    check = next(c for c in d.checks if c.method == "order")
    result = d.run(check)
    assert result.passed
    assert 0.3 <= result.detail["fitted_order"] <= 0.9


@pytest.mark.slow
def test_finite_width_checks_catch_ten_percent_but_not_noise(kernels_module):
    d = CATALOGUE["kernels/erf"]
    for check in d.checks:
        if check.method in ("monte-carlo", "order"):
            assert d.run(check).passed
            assert caught(d, check, ps.perturb(check.target(d.result)))


@pytest.mark.slow
def test_figure_is_written(tmp_path):
    d = CATALOGUE["kernels/gradient-flow-mse"]
    path = tmp_path / "kernels.pdf"
    d.figures[0](path)
    assert path.read_bytes().startswith(b"%PDF")
