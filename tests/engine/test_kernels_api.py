"""Infinite-width kernels (pricesym.kernels, MATH.md Part K): the vectorised arccos,
the symbolic recursion, the compiled kernel function, the quadratures and finite
networks behind the catalogue's checks, and the errors on bad input."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import numpy as np
import pytest
import sympy as sp
from sympy.core.cache import clear_cache

import pricesym as ps
import pricesym.numeric  # noqa: F401  (float64 JAX)
from pricesym._check.kernels import quadrature_error
from pricesym._numeric import fastmath
from pricesym._numeric.backend import jax, jnp
from pricesym._symbolic.kernels import activation, fully_connected, known
from pricesym._vocabulary import rows

K = ps.kernels
Q11, Q22, Q12 = K.INPUTS
W, B = K.SIGMA_W, K.SIGMA_B
K3_X = np.array([[1.0, 0.0], [0.6, 0.8]])  # MATH.md K3: d = 2, sigma_w^2 = 2, sigma_b = 0
K3 = {("relu", 1): (0.677547567766513, 1.100447226585993), ("relu", 2): (0.733433785825563, 1.544416300677211),
      ("erf", 1): (0.523959521737819, 1.079646816172104), ("erf", 2): (0.477955870570610, 1.511834923108048)}
CLOSED = ("relu", "erf", "gelu", "sin", "cos", "sign", "identity", "abs", "heaviside", "exp", ("leaky_relu", 0.1, 0.9))


def _at(expr, q11, q22, q12, digits=30):
    return float(sp.re(expr.xreplace({Q11: sp.Float(q11, digits), Q22: sp.Float(q22, digits),
                                      Q12: sp.Float(q12, digits)}).evalf(digits)))


# ----------------------------------------------------------------------------- vectorised arccos / arcsin


def _ulps(got, want):
    err = np.abs(got - want)
    return np.where(want == 0, err / np.finfo(float).tiny, err / np.spacing(np.abs(want)))


@pytest.mark.parametrize(("fast", "exact"), [(fastmath.arccos, np.arccos), (fastmath.arcsin, np.arcsin)])
def test_fast_inverse_trig_within_one_ulp_over_the_whole_domain(fast, exact):
    one = np.nextafter(1.0, 0.0)
    special = [-1.0, 1.0, one, -one, 0.5, -0.5, np.nextafter(0.5, 0), np.nextafter(0.5, 1), -np.nextafter(0.5, 1),
               0.975, np.nextafter(0.975, 0), 0.0, -0.0, 1e-300, -1e-20, 1e-8, 5e-324]
    x = np.concatenate([np.linspace(-1, 1, 2_000_001), np.random.default_rng(0).uniform(-1, 1, 500_000),
                        1 - np.geomspace(1e-16, 1, 10_000), np.asarray(special)])
    got = np.asarray(jax.jit(fast)(jnp.asarray(x)))
    want = exact(x)
    assert np.max(_ulps(got[want != 0], want[want != 0])) <= 1.0
    assert np.all(got[want == 0] == 0)
    assert np.all(np.isnan(np.asarray(fast(jnp.asarray([1.0 + 1e-15, -1.5, np.nan])))))


# ----------------------------------------------------------------------------- MATH.md K3 through the API


@pytest.mark.parametrize(("name", "depth"), sorted(K3))
def test_k3_worked_numbers(name, depth):
    net = fully_connected(name, depth, sp.sqrt(2), 0)
    want_nngp, want_ntk = K3[(name, depth)]
    assert abs(_at(net.nngp, 0.5, 0.5, 0.3) - want_nngp) < 1e-12
    assert abs(_at(net.ntk, 0.5, 0.5, 0.3) - want_ntk) < 1e-12
    nngp, ntk = net.kernel_fn(K3_X)
    assert abs(float(nngp[0, 1]) - want_nngp) < 1e-12 and abs(float(ntk[0, 1]) - want_ntk) < 1e-12
    assert abs(float(nngp[1, 0]) - want_nngp) < 1e-12


# ----------------------------------------------------------------------------- kernel_fn = the closed form


@pytest.mark.parametrize("name", CLOSED, ids=str)
def test_kernel_fn_is_the_closed_form(name):
    net = fully_connected(name, 2, 1.3, 0.2)
    x1 = np.random.default_rng(1).normal(size=(5, 3))
    x2 = np.random.default_rng(2).normal(size=(4, 3))
    nngp, ntk = (np.asarray(a) for a in net.kernel_fn(x1, x2))
    assert nngp.shape == ntk.shape == (5, 4) and nngp.dtype == np.float64
    for i in range(5):
        for j in range(4):
            q = (x1[i] @ x1[i] / 3, x2[j] @ x2[j] / 3, x1[i] @ x2[j] / 3)
            assert nngp[i, j] == pytest.approx(_at(net.nngp, *q), rel=1e-12, abs=1e-14)
            assert ntk[i, j] == pytest.approx(_at(net.ntk, *q), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("name", ["relu", "erf", "gelu", "sign", ("leaky_relu", -0.2, 1.1)], ids=str)
def test_kernel_fn_on_the_diagonal_is_exact(name):
    # x = x': c = 1 exactly, where arccos is ill-conditioned; the diagonal recursion is the truth.
    act = activation(name)
    x = np.random.default_rng(3).normal(size=(6, 4))
    net = fully_connected(name, 3, 1.4, 0.3)
    nngp, ntk = (np.asarray(a) for a in net.kernel_fn(x))
    k = sp.Symbol("k", positive=True)
    diag = sp.lambdify([k], act.diagonal(k), "mpmath")
    slope = sp.lambdify([k], act.derivative(k, k, k), "mpmath")
    for i in range(6):
        kk = 1.4**2 * (x[i] @ x[i]) / 4 + 0.3**2
        theta = kk
        for _ in range(3):
            new = 1.4**2 * float(diag(kk)) + 0.3**2
            theta = new + 1.4**2 * theta * float(sp.re(slope(kk)))
            kk = new
        assert nngp[i, i] == pytest.approx(kk, rel=1e-14)
        assert ntk[i, i] == pytest.approx(theta, rel=1e-14)


def test_kernel_fn_blocks_and_odd_sizes():
    net = fully_connected("relu", 2, 1.2, 0.1)
    x1 = np.random.default_rng(4).normal(size=(37, 5))  # prime: one row per block
    x2 = np.random.default_rng(5).normal(size=(300, 5))
    full = net.kernel_fn(x1, x2)
    rows_ = net.kernel_fn(x1[:7], x2)
    for a, b in zip(full, rows_):
        np.testing.assert_allclose(np.asarray(a)[:7], np.asarray(b), rtol=1e-15)
    assert np.allclose(np.asarray(net.kernel_fn(x2, x1)[1]), np.asarray(full[1]).T, rtol=1e-13)


def test_zero_input_without_biases_gives_zero_kernel_not_nan():
    net = fully_connected("relu", 2, 1.4, 0)
    nngp, ntk = net.kernel_fn(np.array([[0.0, 0.0], [1.0, 2.0]]))
    assert np.all(np.isfinite(nngp)) and np.all(np.isfinite(ntk))
    assert float(nngp[0, 1]) == pytest.approx(0.0, abs=1e-60)


def test_kernel_fn_runs_under_jit_and_is_one_computation():
    net = fully_connected("relu", 3, 1.4, 0.1)
    x = jnp.asarray(np.random.default_rng(6).normal(size=(8, 4)))
    out = jax.jit(lambda a: net.kernel_fn(a)[1].sum())(x)
    assert np.isfinite(float(out))
    hlo = net.kernel_fn.compiled.lower(x, x).as_text()
    assert hlo.count("func.func public") == 1  # one jitted XLA computation for the whole network


# ----------------------------------------------------------------------------- the symbolic recursion


def test_recursion_matches_layer_by_layer_definition():
    act = activation("erf")
    net = fully_connected("erf", 2, W, B)
    k1 = [W**2 * Q11 + B**2, W**2 * Q22 + B**2, W**2 * Q12 + B**2]
    e = act.value(*k1)
    k2 = [W**2 * act.diagonal(k1[0]) + B**2, W**2 * act.diagonal(k1[1]) + B**2, W**2 * e + B**2]
    t2 = k2[2] + W**2 * k1[2] * act.derivative(*k1)
    k3 = W**2 * act.value(*k2) + B**2
    t3 = k3 + W**2 * t2 * act.derivative(*k2)
    assert sp.simplify(net.nngp - k3) == 0 or net.nngp == k3
    assert net.ntk == t3
    assert [layer.index for layer in net.layers] == [1, 2, 3]


def test_symbolic_depth_recursion_and_substitution():
    L = K.DEPTH
    net = fully_connected("relu", L, W, B)
    assert len(net.recursion) == 8 and net.layers == ()
    with pytest.raises(ps.AssumptionError, match="symbolic"):
        net.kernel_fn  # noqa: B018
    three = net.subs({L: 3, W: 1.3, B: 0.2})
    assert three.depth == 3 and three.ntk == fully_connected("relu", 3, sp.Float(1.3), sp.Float(0.2)).ntk
    assert "K^{(L + 1)}" in ps.latex(net.nngp) or "K^{(L+1)}" in ps.latex(net.nngp).replace(" ", "")


def test_identity_recursion_is_solved_for_a_symbolic_depth():
    L = K.DEPTH
    deep_linear = fully_connected("identity", L, W, B)
    for depth in (1, 2, 4):
        unrolled = fully_connected("identity", depth, W, B)
        assert sp.simplify(deep_linear.nngp.subs(L, depth).doit() - unrolled.nngp) == 0
        assert sp.simplify(deep_linear.ntk.subs(L, depth).doit() - unrolled.ntk) == 0


def test_derivation_cost_is_linear_in_depth():
    def cost(depth):
        best = np.inf
        for _ in range(3):
            clear_cache()
            start = time.perf_counter()
            fully_connected("gelu", depth, W, B)
            best = min(best, time.perf_counter() - start)
        return best

    small, large = cost(4), cost(16)
    assert large < 8 * small, f"4x the depth cost {large / small:.1f}x the time (quadratic growth would be 16x)"


def test_standard_parameterization_ntk():
    # stax, standard: each dense layer of fan-in n adds n E[phi phi] + 1 (its W and b); input layer d q12 + 1.
    m, d = K.WIDTH, K.DIM
    act = activation("relu")
    net = fully_connected("relu", 1, W, B, "standard")
    k1 = [W**2 * Q11 + B**2, W**2 * Q22 + B**2, W**2 * Q12 + B**2]
    assert net.nngp == fully_connected("relu", 1, W, B).nngp
    assert sp.expand(net.ntk - (m * act.value(*k1) + 1 + W**2 * (d * Q12 + 1) * act.derivative(*k1))) == 0
    no_bias = fully_connected("relu", 1, W, None, "standard", width=64)
    assert sp.expand(no_bias.ntk - (64 * act.value(*[W**2 * Q11, W**2 * Q22, W**2 * Q12])
                                    + W**2 * d * Q12 * act.derivative(W**2 * Q11, W**2 * Q22, W**2 * Q12))) == 0


@pytest.mark.slow
def test_standard_parameterization_against_finite_networks():
    width, seeds = 512, 256
    net = fully_connected("erf", 2, 1.3, 0.4, "standard", width=width)
    x = np.array([[0.9, 0.3, -0.2], [0.1, 1.1, 0.4]])
    _, ntk = net.kernel_fn(x)
    samples = np.asarray(K.empirical_kernels(K.activation("erf").jax(), jnp.asarray(x), 1.3, 0.4, jax.random.key(0),
                                             depth=2, width=width, seeds=seeds, parameterization="standard")[1])[:, 2]
    se = samples.std(ddof=1) / np.sqrt(seeds)
    # O(1/m) finite-width bias: the NTK is O(m) here, so its relative bias is what is O(1/m).
    assert abs(samples.mean() - float(ntk[0, 1])) < 4.5 * se + 2 / width * float(ntk[0, 1])


# ----------------------------------------------------------------------------- quadrature and finite networks


def test_dual_kernels_of_the_vocabulary_rows():
    k11, k22, k = sp.symbols("k11 k22 k", positive=True)
    k12 = sp.Symbol("k12", real=True)
    values = {k11: sp.Float(1.3), k22: sp.Float(0.7), k12: sp.Float(0.4)}
    covered = [r.name for r in rows() if r.dual is not None]
    assert {"relu", "leaky_relu", "erf", "gelu", "sin", "cos"} <= set(covered)
    for name in [*covered, "sign", "identity"]:
        act = activation(name)
        phi = act.jax()
        dphi = K.elementwise_derivative(phi)
        quad = [float(K.polar_expectation(f, f, 1.3, 0.7, 0.4)) for f in (phi, dphi)]
        closed = [float(sp.re(e.xreplace(values).evalf(20))) for e in (act.value(k11, k22, k12), act.derivative(k11, k22, k12))]
        np.testing.assert_allclose(closed, quad, rtol=1e-10, atol=1e-13, err_msg=name)
        diag = float(act.diagonal(k).subs(k, 0.9).evalf(20))
        assert diag == pytest.approx(float(K.polar_expectation(phi, phi, 0.9, 0.9, 0.9)), rel=1e-10), name
        if name not in ("sign", "heaviside"):  # Price's theorem; not for the a.e. derivative of a jump
            price = sp.diff(act.value(k11, k22, k12), k12).xreplace(values).evalf(20)
            assert float(sp.re(price)) == pytest.approx(closed[1], rel=1e-12), name


def test_polar_quadrature_against_scipy():
    from scipy import integrate

    k11, k22, k12 = 2.0, 0.7, 0.9
    chol = np.linalg.cholesky([[k11, k12], [k12, k22]])
    want = integrate.dblquad(lambda z2, z1: np.tanh(chol[0, 0] * z1) * np.tanh(chol[1, 0] * z1 + chol[1, 1] * z2)
                             * np.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * np.pi), -12, 12, -12, 12, epsabs=1e-14,
                             epsrel=1e-13)[0]
    assert float(K.polar_expectation(jnp.tanh, jnp.tanh, k11, k22, k12)) == pytest.approx(want, rel=1e-11)


def test_quadrature_activation_kernel_fn_and_its_stated_error():
    net = fully_connected("tanh", 2, 1.2, 0.3)
    assert not net.activation.closed_form and "mathbb{E}" in ps.latex(net.ntk)
    x = np.random.default_rng(7).normal(size=(4, 3))
    nngp, ntk = (np.asarray(a) for a in net.kernel_fn(x))
    error = net.quadrature_error(x)
    assert 0 < error < 1e-5  # tanh: ~2e-6 relative at 48 nodes (its poles at i pi/2 slow Gauss-Hermite down)
    assert fully_connected("sigmoid", 2, 1.2, 0.3).quadrature_error(x) < 1e-11
    phi = jnp.tanh
    q = x @ x.T / 3
    ref_nngp, ref_ntk = K.kernels_by_quadrature(phi, q[0, 0], q[1, 1], q[0, 1], 1.2, 0.3, 2)
    assert abs(nngp[0, 1] - float(ref_nngp[-1])) < 2 * error + 1e-12
    assert abs(ntk[0, 1] - float(ref_ntk[-1])) < 2 * error + 1e-12
    assert quadrature_error(fully_connected("relu", 1, 1.0, 0.0), x) == 0.0


@pytest.mark.slow
def test_any_activation_against_empirical_ntk_of_wide_networks():
    # tanh (quadrature) at depth 3: the mean empirical NTK Gram matrix of wide networks.
    x = np.random.default_rng(8).normal(size=(3, 2))
    net = fully_connected("tanh", 3, 1.3, 0.3)
    _, ntk = net.kernel_fn(x)
    grams = np.stack([np.asarray(K.empirical_gram(jnp.tanh, jnp.asarray(x), jnp.asarray(x), 1.3, 0.3, jax.random.key(s),
                                                  depth=3, width=256)) for s in range(48)])
    se = grams.std(axis=0, ddof=1) / np.sqrt(len(grams))
    assert np.all(np.abs(grams.mean(axis=0) - np.asarray(ntk)) < 4.5 * se + 3 / 256 * np.abs(np.asarray(ntk)))


@pytest.mark.parametrize("width", [16, 48, 512, 24])
def test_pooled_networks_summed_by_granules_as_unit_by_unit(width):
    """A pool's per-network sums go through granules of up to 16 units (dense) before the
    segment sum: the same kernels, Price flows and trained outputs as one unit at a time."""
    from pricesym._numeric import networks as nets

    units, networks = 1536, 64  # 1536 / 24 = 64 whole networks; 1536 / 48 = 32, then partial rows
    granule = nets._granule(units, width)
    assert granule == math.gcd(width, 16) and units % granule == 0
    phi, key = K.activation("tanh").jax(), jax.random.key(3)
    xs = jnp.asarray([[1.1, 0.2], [0.4, -0.9]])
    whole = units // width
    for fn, args in (
        (nets._pool_kernels, (phi, xs, 1.3, 0.3, width, key)),
        (nets._pool_price_flow, (phi, xs[0], xs, jnp.asarray([0.3, -0.2]), 1.3, 0.3, width, key)),
        (nets._pool_train, (phi, xs, jnp.asarray([0.5, -0.4]), xs[:1], 1.3, 0.3, 0.5, 1.0, width, key)),
    ):
        extra = {"steps": 5} if fn is nets._pool_train else {}
        fast = fn(*args, units=units, networks=networks, granule=granule, **extra)
        slow = fn(*args, units=units, networks=networks, granule=1, **extra)
        for a, b in zip(jax.tree_util.tree_leaves(fast), jax.tree_util.tree_leaves(slow)):
            np.testing.assert_allclose(np.asarray(a)[:whole], np.asarray(b)[:whole], rtol=1e-12, atol=1e-13)
    # a traced width cannot be inspected: one unit at a time
    assert jax.jit(lambda w: jnp.asarray(nets._granule(units, w)))(width) == 1


def test_network_weights_are_standard_normal_and_independent():
    """The initialisation's own sampler (both halves of every threefry block): its law against
    the normal CDF, and the two halves uncorrelated (neither repeats nor mirrors the other)."""
    import scipy.stats

    from pricesym._numeric.networks import _normal

    n = 1 << 20
    z = np.asarray(_normal(jax.random.key(7), (n + 1,)))  # odd: the last block is half used
    assert z.dtype == np.float64 and np.isfinite(z).all()
    # KS distance to N(0, 1): ~0.9/sqrt(n) typical, 1.95/sqrt(n) at p = 1e-3; a variance off by
    # 1 % moves it by ~2.4e-3 (= 2.5/sqrt(n)), so this also pins the scale
    assert scipy.stats.kstest(z, "norm").statistic < 1.95 / np.sqrt(n)
    assert abs(z.mean()) < 5 / np.sqrt(n) and abs(z.var() - 1) < 5 * np.sqrt(2 / n)  # 5 SE
    half = (n + 2) // 2
    first, second = z[:half - 1], z[half:2 * half - 1]
    assert abs(np.corrcoef(first, second)[0, 1]) < 5 / np.sqrt(half)  # 5 SE of a null correlation
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 5 / np.sqrt(n)
    other = np.asarray(_normal(jax.random.key(8), (n,)))
    assert abs(np.corrcoef(z[:n], other)[0, 1]) < 5 / np.sqrt(n)


def test_antithetic_readout_flips_the_output_and_keeps_the_kernel():
    from pricesym._numeric.networks import _flip_readout

    params = K.init_network(jax.random.key(1), 2, 16, 2)
    x = jnp.asarray([0.3, -1.2])
    f = lambda p: K.apply_network(p, x, jnp.tanh, 1.2, 0.3)
    assert float(f(_flip_readout(params))) == pytest.approx(-float(f(params)), rel=1e-14)
    from jax.flatten_util import ravel_pytree

    g1, g2 = (ravel_pytree(jax.grad(f)(p))[0] for p in (params, _flip_readout(params)))
    assert float(g1 @ g1) == pytest.approx(float(g2 @ g2), rel=1e-13)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: fully_connected("relux", 1, 1, 0), ps.UnknownNameError, r"no activation named `relux`; known: abs, .*relu"),
    (lambda: fully_connected("softmax", 1, 1, 0), ps.UnknownNameError, "no activation named `softmax`"),
    (lambda: fully_connected(42, 1, 1, 0), ps.UnknownNameError, "must be a name"),
    (lambda: fully_connected("relu", 0, 1, 0), ps.AssumptionError, r"`depth` must be an integer >= 1"),
    (lambda: fully_connected("relu", -2, 1, 0), ps.AssumptionError, r"`depth` must be an integer >= 1"),
    (lambda: fully_connected("relu", 1.5, 1, 0), ps.AssumptionError, "`depth`"),
    (lambda: fully_connected("relu", True, 1, 0), ps.AssumptionError, "`depth`"),
    (lambda: fully_connected("relu", 1, -1.0, 0), ps.AssumptionError, r"`W_std` must be >= 0"),
    (lambda: fully_connected("relu", 1, 1.0, -0.1), ps.AssumptionError, r"`b_std` must be >= 0"),
    (lambda: fully_connected("relu", 1, sp.Symbol("w", negative=True), 0), ps.AssumptionError, "declared negative"),
    (lambda: fully_connected("relu", 1, float("nan"), 0), ps.AssumptionError, "finite"),
    (lambda: fully_connected("relu", 1, "1.0", 0), ps.AssumptionError, "`W_std` must be a number"),
    (lambda: fully_connected("relu", 1, 1, 0, "mean-field"), ps.AssumptionError, "`parameterization`"),
    (lambda: fully_connected("relu", 1, 1, 0, "standard", width=0), ps.AssumptionError, "`width`"),
    (lambda: fully_connected(("relu", 2.0), 1, 1, 0), ps.AssumptionError, "takes no parameters"),
    (lambda: fully_connected(("leaky_relu", 1, 2, 3), 1, 1, 0), ps.AssumptionError, "slopes"),
    (lambda: fully_connected("relu", 1, 1, 0).kernel_fn(np.ones((3, 2)), np.ones((3, 4))), ps.ShapeError,
     "same input dimension"),
    (lambda: fully_connected("relu", 1, 1, 0).kernel_fn(np.ones(3)), ps.ShapeError, r"shape \(N, d\)"),
    (lambda: fully_connected("relu", 1, 1, 0).kernel_fn(np.array([[np.nan, 1.0]])), ps.AssumptionError, "non-finite"),
    (lambda: fully_connected("relu", 1, W, 0).kernel_fn, ps.AssumptionError, "`sigma_w` is symbolic"),
])
def test_bad_input_is_a_one_line_error(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_known_activations_and_names():
    names = known()
    assert names == tuple(sorted(names))
    assert {"relu", "erf", "tanh", "sigmoid", "softplus", "silu", "gelu", "sign", "identity", "leaky_relu"} <= set(names)
    assert activation(ps.relu).name == "relu" and activation(sp.erf).name == "erf" and activation(sp.Abs).name == "abs"
    assert activation(("leaky_relu", 0.2)).params == (sp.Float(0.2), 1)


def test_kernels_is_reachable_without_importing_jax_at_import_time():
    code = ("import sys, pricesym as ps; assert 'jax' not in sys.modules; "
            "k = ps.kernels; from pricesym import kernels; assert k is kernels and 'jax' in sys.modules; "
            "print(k.fully_connected('relu', 1, 1, 0).ntk.func.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip()


def test_every_public_submodule_is_an_attribute_of_the_package():
    code = ("import importlib, sys, pricesym as ps; assert 'jax' not in sys.modules; "
            "names = ('dynamics', 'kernels', 'numeric', 'popgen', 'selection'); "
            "assert all(getattr(ps, n) is importlib.import_module('pricesym.' + n) for n in names); "
            "assert set(names) <= set(dir(ps)); print(ps.selection.anneal_until_accepted.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "anneal_until_accepted"


def test_kernel_fn_agrees_with_neural_tangents():
    """Gram matrices of neural-tangents 0.6.5's stax.serial(Dense, φ, ..., Dense) kernel_fn,
    computed in a side environment (tests/benchmarks/neural_tangents_reference.py): relu,
    erf, leaky relu (0.1), exact gelu, sin and abs; depths 1-3; three (W_std, b_std); both
    parametrisations (width 512 for the standard one). Two float64 evaluations of the same
    closed forms in different orders: 1e-9 relative."""
    import json
    from pathlib import Path

    import numpy as np

    import pricesym as ps

    cases = json.loads((Path(__file__).parent / "data" / "neural_tangents_0.6.5.json").read_text())
    assert len(cases) == 108
    for c in cases:
        act = ("leaky_relu", 0.1) if c["act"] == "leaky_relu" else c["act"]
        net = ps.kernels.fully_connected(act, c["depth"], c["W_std"], c["b_std"], parameterization=c["param"],
                                         width=512 if c["param"] == "standard" else None)
        nngp, ntk = net.kernel_fn(np.array(c["x1"]), np.array(c["x2"]))
        np.testing.assert_allclose(nngp, c["nngp"], rtol=1e-9, err_msg=str({k: c[k] for k in ("act", "depth", "param")}))
        np.testing.assert_allclose(ntk, c["ntk"], rtol=1e-9, err_msg=str({k: c[k] for k in ("act", "depth", "param")}))
