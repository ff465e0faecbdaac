"""Softmax policy gradients and neural tangent kernels (derivations/softmax.py,
derivations/ntk.py): MATH.md D7/D8 worked numbers through the API, the
symbolic-width kernel against autodiff, the cost of the derivation in the
width, and that every check catches a wrong closed form."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from sympy.core.cache import clear_cache

import helpers
import pricesym as ps


@pytest.fixture(scope="module")
def ntk():
    return helpers.module("ntk")


@pytest.fixture(scope="module")
def softmax():
    return helpers.module("softmax")


def _value(d, expr, values):
    """``expr`` at ``values`` (symbol name -> number), observables evaluated from their definitions."""
    subs = {s: sp.Float(values[str(s)], 30) for s in d.symbols if str(s) in values}
    for symbol, definition in d.observables.items():
        subs[symbol] = definition.xreplace(subs).rewrite(sp.exp).evalf(30)
    out = expr.xreplace(subs).doit()
    return np.asarray(sp.N(out, 20).tolist() if isinstance(out, sp.MatrixBase) else float(out), dtype=float)


# ----------------------------------------------------------------------------- MATH.md worked numbers

D7 = {"theta0": 0.0, "theta1": 1.0, "theta2": -1.0, "r0": 1.0, "r1": 0.0, "r2": 2.0, "b": 1.0}
D7_GRADIENT = [0.14077036, -0.28258745, 0.14181709]
D7_PIDOT = [0.06890103, -0.09434254, 0.02544151]


def test_d7_policy_and_gradient(catalogue, softmax):
    d = catalogue["softmax/reinforce"]
    pi = _value(d, sp.Matrix(softmax.pi), D7).ravel()
    np.testing.assert_allclose(pi, [0.24472847, 0.66524096, 0.09003057], atol=5e-9)
    np.testing.assert_allclose(_value(d, softmax.rbar, D7), 0.42478962, atol=5e-9)
    gradient = _value(d, d.result, D7).ravel()
    np.testing.assert_allclose(gradient, D7_GRADIENT, atol=5e-9)
    assert abs(gradient.sum()) < 1e-15


def test_d7_logit_flow_is_not_replicator(catalogue):
    d = catalogue["softmax/natural-gradient"]
    logit_flow, natural = (_value(d, part, D7).ravel() for part in d.result)
    np.testing.assert_allclose(logit_flow, D7_PIDOT, atol=5e-9)
    np.testing.assert_allclose(natural, D7_GRADIENT, atol=5e-9)  # replicator: pi-dot = grad J
    assert np.max(np.abs(logit_flow - natural)) > 0.05


def test_two_actions_recover_bernoulli(catalogue, softmax):
    # Two actions (pi2 = 0), rewards +1/-1, p = pi0 = sigmoid(theta0 - theta1): the update
    # on theta0 is A7's 2p(1-p), since d/dtheta0 acts on p like d/db on sigmoid(b).
    d = catalogue["softmax/reinforce"]
    p = sp.Symbol("p")
    entry = d.result[0].xreplace({softmax.r[0]: 1, softmax.r[1]: -1, softmax.r[2]: 0, softmax.pi[2]: 0})
    entry = entry.xreplace({softmax.rbar: softmax.pi[0] - softmax.pi[1]}).xreplace({softmax.pi[0]: p, softmax.pi[1]: 1 - p})
    assert sp.expand(entry - 2 * p * (1 - p)) == 0


D8_W = {"w1": 0.5, "w2": -1.5}


@pytest.mark.parametrize(("a", "c", "want"), [(1, 1, 1.60517735), (1, 2, 1.83824114), (2, 2, 2.16743169)])
def test_d8_kernel_values(catalogue, a, c, want):
    d = catalogue["ntk/empirical"]
    assert abs(_value(d, d.result[0], {**D8_W, "x": a, "xprime": c}) - want) < 5e-9


def test_d8_flow_on_one_example(catalogue, ntk):
    w1, w2 = ntk.w1, ntk.w2
    f = lambda inp: ntk.tanh_neuron.sympy(inp, w1, w2)  # noqa: E731
    at = {w1: sp.Rational(1, 2), w2: sp.Rational(-3, 2)}
    assert abs(float(f(1).xreplace(at)) - (-0.69317574)) < 5e-9
    # Through the API: d f(2)/dt = ntcov(f(2), U) with U = -(1/2) (f(1) - 0)^2.
    flow = ps.ntcov(f(2), -f(1) ** 2 / 2, [w1, w2])
    assert abs(float(flow.xreplace(at)) - 1.27422415) < 5e-9
    # The registered two-example form with both examples at (1, 0) doubles it.
    d = catalogue["ntk/empirical"]
    both = {**D8_W, "x": 2, "x1": 1, "x2": 1, "y1": 0, "y2": 0}
    assert abs(_value(d, d.result[1], both) - 2 * 1.27422415) < 1e-8


def test_d8_gd_step_matches_to_second_order(ntk):
    # MATH.md: one GD step with eta = 1e-4 moves f(2) by 1.274330e-4 against 1.274224e-4 predicted.
    w = jnp.array([0.5, -1.5])
    loss = lambda ww: 0.5 * ntk.tanh_neuron.jax(1.0, ww[0], ww[1]) ** 2  # noqa: E731
    stepped = w - 1e-4 * jax.grad(loss)(w)
    change = float(ntk.tanh_neuron.jax(2.0, *stepped) - ntk.tanh_neuron.jax(2.0, *w))
    assert abs(change - 1.274330e-4) < 5e-10
    assert abs(change - 1.27422415e-4) < 2e-8  # the O(eta^2) gap


# ----------------------------------------------------------------------------- ntk/mlp


def _kernel_autodiff(ntk, model, width, weights, a, c):
    def out(params, inp):
        return model.jax(inp, *params, width)

    ja, jc = jax.jacrev(out)(weights, a), jax.jacrev(out)(weights, c)
    return float(sum(jnp.vdot(p, q) for p, q in zip(ja, jc)))


def _kernel_closed(ntk, kernel, width, weights, a, c):
    subs = {ntk.x: a, ntk.xprime: c}
    for base, values in zip((ntk.u, ntk.b, ntk.v), weights):
        subs.update({base[k]: float(values[k]) for k in range(width)})
    return float(ntk.at_width(kernel, width).xreplace(subs))


@ps.model
def sigmoid_mlp(np, x, u, b, v, m):
    """A sigmoid network, to show the derivation takes any activation with a derivative rule."""
    return np.sum(v * np.sigmoid(u * x + b)) / np.sqrt(m)


@pytest.mark.parametrize("width", [1, 2, 5])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_mlp_kernel_at_concrete_widths(ntk, width, activation):
    model = ntk.mlp if activation == "tanh" else sigmoid_mlp
    kernel = ntk.mlp_kernel(model)[2]
    rng = np.random.default_rng(width)
    weights = tuple(jnp.asarray(rng.normal(0, 1, width)) for _ in range(3))
    for a, c in rng.uniform(-2, 2, (3, 2)):
        want = _kernel_autodiff(ntk, model, width, weights, a, c)
        got = _kernel_closed(ntk, kernel, width, weights, a, c)
        assert abs(got - want) <= 1e-12 + 1e-10 * abs(want)


def test_mlp_kernel_form(catalogue, ntk):
    # (1/m) sum_j [tanh(z) tanh(z') + v^2 (x x' + 1)(1 - tanh^2 z)(1 - tanh^2 z')]
    j, x, xp = ntk.j, ntk.x, ntk.xprime
    z, zp = ntk.u[j] * x + ntk.b[j], ntk.u[j] * xp + ntk.b[j]
    summand = sp.tanh(z) * sp.tanh(zp) + ntk.v[j] ** 2 * (x * xp + 1) * (1 - sp.tanh(z) ** 2) * (1 - sp.tanh(zp) ** 2)
    want = sp.Sum(summand, (j, 0, ntk.m - 1)) / ntk.m
    got = catalogue["ntk/mlp"].result
    (unit_sum,) = got.atoms(sp.Sum)
    assert sp.expand(unit_sum.function - summand) == 0
    assert sp.expand(ntk.at_width(got, 3) - ntk.at_width(want, 3)) == 0


def test_mlp_derivation_never_calls_simplify(ntk, monkeypatch):
    simplify_module = importlib.import_module("sympy.simplify.simplify")

    def refuse(*args, **kwargs):
        raise AssertionError("sympy.simplify was called on the main path")

    monkeypatch.setattr(sp, "simplify", refuse)
    monkeypatch.setattr(simplify_module, "simplify", refuse)
    clear_cache()
    catalogue = ps.load()
    for name in ("ntk/mlp", "ntk/empirical"):
        catalogue[name]  # builds the derivation
    for width in (1, 4, 16):
        ntk.at_width(ntk.mlp_kernel()[2], width)


def test_mlp_expression_grows_linearly_with_width(ntk):
    kernel = ntk.mlp_kernel()[2]
    ops = {w: sp.count_ops(ntk.at_width(kernel, w)) for w in (2, 4, 8, 16)}
    per_unit = (ops[4] - ops[2]) // 2
    assert per_unit > 0
    for w, n in ops.items():
        assert n == ops[2] + (w - 2) * per_unit  # exactly affine in the width: one more copy of the unit


def test_generic_unit_has_no_width(ntk):
    hidden, readout, kernel = ntk.mlp_kernel()
    assert ntk.m not in hidden.free_symbols | readout.free_symbols
    (unit_sum,) = kernel.atoms(sp.Sum)
    assert unit_sum.limits == ((ntk.j, 0, ntk.m - 1),)


@pytest.mark.parametrize("width", [0, -1, 2.5, True])
def test_at_width_rejects_bad_width(ntk, width):
    with pytest.raises(ps.AssumptionError, match=r"`width` must be a positive integer, got " + repr(width).replace(".", r"\.")):
        ntk.at_width(ntk.mlp_kernel()[2], width)


# ----------------------------------------------------------------------------- checks pass and can fail
