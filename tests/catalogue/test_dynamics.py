"""Training dynamics beyond gradient flow: MATH.md D9-D12 through `pricesym.dynamics`,
the catalogue entries of derivations/dynamics.py, and the error paths."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import scipy.linalg
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import helpers
import pricesym as ps
from pricesym.dynamics import (
    ETA,
    flow_series,
    gd_minus_flow,
    gd_step_series,
    lyapunov_stationary,
    minibatch_covariance,
    modified_loss,
    series_coefficients,
)

w1, w2 = sp.symbols("w1 w2", real=True)
W = [w1, w2]
eta = ETA

# MATH.md D9 worked case.
D9_X = w1**2 * w2
D9_U = -(w1 - 1) ** 2 - (w2 - 2) ** 2
D9_AT = {w1: sp.Rational(3, 2), w2: sp.Rational(1, 2)}

# MATH.md D10 worked case.
D10_G = [(1, 0), (0, 1), (1, 1), (2, -1)]


@pytest.fixture(scope="module")
def dynamics():
    return helpers.entries("dynamics")


# ----------------------------------------------------------------------------- D9: finite steps


def test_d9_gd_step_series_worked_case():
    series = sp.expand(gd_step_series(D9_X, D9_U, W, 3).subs(D9_AT))
    assert series == sp.Rational(21, 4) * eta - sp.Rational(17, 2) * eta**2 + 3 * eta**3
    values = [series.subs(eta, h) for h in (sp.Rational(1, 10), sp.Rational(1, 20), sp.Rational(1, 40))]
    assert values == [sp.Rational(443, 1000), sp.Rational(241625, 10**6), sp.Rational(125984375, 10**9)]


def test_d9_cubic_property_makes_the_third_order_series_exact():
    step = {w1: w1 + eta * sp.diff(D9_U, w1), w2: w2 + eta * sp.diff(D9_U, w2)}
    exact = sp.expand(D9_X.subs(step, simultaneous=True) - D9_X)
    assert sp.expand(gd_step_series(D9_X, D9_U, W, 3) - exact) == 0
    # to second order the residual is the eta^3 term, 3 eta^3 at the worked point
    residual = sp.expand((exact - gd_step_series(D9_X, D9_U, W, 2)).subs(D9_AT))
    assert residual == 3 * eta**3


def test_d9_flow_and_gd_minus_flow():
    flow = sp.expand(flow_series(D9_X, D9_U, W, 2).subs(D9_AT))
    assert flow == sp.Rational(21, 4) * eta - sp.Rational(55, 4) * eta**2
    assert sp.expand(gd_minus_flow(D9_X, D9_U, W, 2).subs(D9_AT)) == sp.Rational(21, 4) * eta**2


def test_gd_minus_flow_is_minus_half_eta_squared_grad_x_h_u_grad_u():
    gx = sp.Matrix([D9_X]).jacobian(W).T
    gu = sp.Matrix([D9_U]).jacobian(W).T
    expected = -eta**2 / 2 * (gx.T * sp.hessian(D9_U, W) * gu)[0, 0]
    assert sp.expand(gd_minus_flow(D9_X, D9_U, W, 2) - expected) == 0


def test_first_order_is_price_equation():
    x, U = w2 * sp.tanh(w1), -(w2 * sp.tanh(w1) - 1) ** 2 / 2
    assert sp.expand(gd_step_series(x, U, W, 1) - eta * ps.ntcov(x, U, W)) == 0
    assert sp.expand(flow_series(x, U, W, 1) - eta * ps.ntcov(x, U, W)) == 0


def test_series_of_a_vector_property_is_entrywise():
    vec = gd_step_series(sp.Matrix([D9_X, w1]), D9_U, W, 2)
    assert isinstance(vec, sp.MatrixBase) and vec.shape == (2, 1)
    assert sp.expand(vec[0] - gd_step_series(D9_X, D9_U, W, 2)) == 0
    assert sp.expand(vec[1] - eta * sp.diff(D9_U, w1)) == 0  # a weight moves along a straight line


def test_series_coefficients_match_the_series():
    coefficients = series_coefficients(D9_X, D9_U, W, 3, kind="flow")
    total = sum(eta**k / sp.factorial(k) * c for k, c in enumerate(coefficients, start=1))
    assert sp.expand(total - flow_series(D9_X, D9_U, W, 3)) == 0


def test_eta_may_be_a_number():
    assert sp.expand(gd_step_series(D9_X, D9_U, W, 3, eta=sp.Rational(1, 10)).subs(D9_AT)) == sp.Rational(443, 1000)


@given(coefficients=st.lists(st.integers(-3, 3), min_size=7, max_size=7))
def test_gd_series_is_the_taylor_series_of_the_real_step(coefficients):
    # For a cubic x the series to third order is the exact change over one step, for any quadratic U.
    a, b, c, d, e, f, g = coefficients
    x = a * w1**3 + b * w1**2 * w2 + c * w2**2 + d * w1
    U = -(w1 - e) ** 2 - f * w1 * w2 - (w2 - g) ** 2
    step = {p: p + eta * sp.diff(U, p) for p in W}
    exact = sp.expand(x.subs(step, simultaneous=True) - x)
    assert sp.expand(gd_step_series(x, U, W, 3) - exact) == 0


# ----------------------------------------------------------------------------- D9: implicit regularisation


def test_modified_loss_is_gradient_norm_penalty():
    L = (w1 * w2 - 1) ** 2 / 2
    penalty = sp.diff(L, w1) ** 2 + sp.diff(L, w2) ** 2
    assert sp.expand(modified_loss(L, W) - L - eta / 4 * penalty) == 0


def test_modified_flow_has_no_eta_squared_term():
    # GD moves a weight by -eta grad L exactly; the modified flow must agree to O(eta^2).
    L = (w1 * w2 - 1) ** 2 / 2 + sp.tanh(w1)
    change = flow_series(sp.Matrix(W), -modified_loss(L, W), W, 2).applyfunc(sp.expand)
    for entry, p in zip(change, W):
        assert sp.expand(entry.coeff(eta, 1) + sp.diff(L, p)) == 0
        assert entry.coeff(eta, 2) == 0


def test_implicit_regularization_entry_derives_one_quarter(dynamics):
    d = dynamics["gd/implicit-regularization"]
    assert d.steps[0].rhs == sp.Rational(1, 4)


# ----------------------------------------------------------------------------- D10: minibatch noise


def test_d10_minibatch_covariance_worked_case():
    sigma = minibatch_covariance(D10_G, 1)
    assert sigma == sp.Matrix([[sp.Rational(1, 2), -sp.Rational(1, 2)], [-sp.Rational(1, 2), sp.Rational(11, 16)]])
    assert minibatch_covariance(D10_G, 2) == sp.Matrix([[sp.Rational(1, 4), -sp.Rational(1, 4)],
                                                       [-sp.Rational(1, 4), sp.Rational(11, 32)]])
    without = minibatch_covariance(D10_G, 2, replace=False)
    assert without == sp.Matrix([[sp.Rational(1, 6), -sp.Rational(1, 6)], [-sp.Rational(1, 6), sp.Rational(11, 48)]])
    assert float(without[1, 1]) == pytest.approx(0.2291667, abs=1e-7)


def test_minibatch_covariance_accepts_rows_and_symbolic_batch():
    B = sp.Symbol("B", positive=True, integer=True)
    from_rows = minibatch_covariance(sp.Matrix(D10_G), B, replace=False)
    assert (from_rows.subs(B, 2) - minibatch_covariance(D10_G, 2, replace=False)).applyfunc(sp.cancel) == sp.zeros(2, 2)
    assert minibatch_covariance(D10_G, 4, replace=False) == sp.zeros(2, 2)  # the batch is the whole dataset
    assert minibatch_covariance(D10_G, 9) == minibatch_covariance(D10_G, 1) / 9  # with replacement B may exceed n


def test_minibatch_covariance_of_symbolic_gradients():
    g = sp.symbols("g1:4", real=True)
    cov = minibatch_covariance([[gi] for gi in g], 1)
    mean = sum(g) / 3
    assert sp.expand(cov[0, 0] - sum((gi - mean) ** 2 for gi in g) / 3) == 0


# ----------------------------------------------------------------------------- D11: stationary covariance


def test_d11_one_dimension_worked_case():
    st_ = lyapunov_stationary(2, 1, sp.Rational(1, 10))
    assert st_.sde[0, 0] == sp.Rational(1, 40)
    assert st_.discrete[0, 0] == sp.Rational(1, 36)
    h, C = sp.symbols("h C", positive=True)
    sym = lyapunov_stationary(h, C)
    assert sp.cancel(sym.sde[0, 0] - eta * C / (2 * h)) == 0
    assert sp.cancel(sym.discrete[0, 0] - eta * C / (h * (2 - eta * h))) == 0


def test_lyapunov_stationary_general_symmetric_h_matches_scipy():
    h11, h12, h22, c11, c12, c22 = sp.symbols("h11 h12 h22 c11 c12 c22", real=True)
    H = sp.Matrix([[h11, h12], [h12, h22]])
    C = sp.Matrix([[c11, c12], [c12, c22]])
    st_ = lyapunov_stationary(H, C)
    rng = np.random.default_rng(3)
    for _ in range(3):
        values = dict(zip((h11, h12, h22, c11, c12, c22, eta),
                          (rng.uniform(1, 2), rng.uniform(-0.3, 0.3), rng.uniform(1, 2),
                           rng.uniform(0.5, 1.5), rng.uniform(-0.3, 0.3), rng.uniform(0.5, 1.5), rng.uniform(0.05, 0.3))))
        Hn = np.array(H.subs(values), dtype=float)
        Cn = np.array(C.subs(values), dtype=float)
        h_ = values[eta]
        sde = np.array(st_.sde.subs(values), dtype=float)
        disc = np.array(st_.discrete.subs(values), dtype=float)
        np.testing.assert_allclose(sde, scipy.linalg.solve_continuous_lyapunov(Hn, h_ * Cn), rtol=1e-12)
        A = np.eye(2) - h_ * Hn
        np.testing.assert_allclose(disc, scipy.linalg.solve_discrete_lyapunov(A, h_**2 * Cn), rtol=1e-12)


def test_lyapunov_stationary_diagonal_form():
    h1, h2 = sp.symbols("h1 h2", positive=True)
    c = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"c{min(i, j) + 1}{max(i, j) + 1}"))
    st_ = lyapunov_stationary(sp.diag(h1, h2), c)
    h = (h1, h2)
    for i in range(2):
        for j in range(2):
            assert sp.cancel(st_.sde[i, j] - eta * c[i, j] / (h[i] + h[j])) == 0
            assert sp.cancel(st_.discrete[i, j] - eta * c[i, j] / (h[i] + h[j] - eta * h[i] * h[j])) == 0


# ----------------------------------------------------------------------------- D12: deep linear network


def _saxe_values(d, **at):
    s, tau, t, u0 = sp.symbols("s tau t u0", positive=True)
    values = {s: at["s"], tau: at["tau"], u0: at["u0"], sp.Symbol("t", nonnegative=True): at["t"]}
    return [float(part.subs(values)) for part in d.result[1:3]]


def test_d12_worked_case(dynamics):
    d = dynamics["deep-linear/saxe"]
    u_1, t_half = _saxe_values(d, s=2, tau=1, u0=0.01, t=1)
    assert u_1 == pytest.approx(0.430587921, abs=1e-9)
    assert t_half == pytest.approx(1.32332621, abs=1e-8)


def test_d12_unbalanced_start_conserves_the_difference(dynamics):
    d = dynamics["deep-linear/saxe"]
    conserved = d.checks[0].reference
    assert float(d.result[0].subs({w1: 0.3, w2: 0.05})) == pytest.approx(0.0875, abs=1e-15)
    assert conserved({"w1": 0.3, "w2": 0.05, "s": 2.0, "tau": 1.0, "t": 3.0}) == pytest.approx(0.0875, abs=1e-12)


def test_d12_balanced_ntvar_is_two_u(dynamics):
    d = dynamics["deep-linear/saxe"]
    u, q = sp.symbols("u q", real=True)
    assert d.result[3].subs({q: 0, u: sp.Symbol("v", positive=True)}) == 2 * sp.Symbol("v", positive=True)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("order", [0, -1, 1.5, True, "2"])
def test_order_must_be_a_positive_integer(order):
    with pytest.raises(ps.AssumptionError, match=r"`order` must be an integer >= 1.*got " + repr(order).replace(".", r"\.")):
        gd_step_series(D9_X, D9_U, W, order)


@pytest.mark.parametrize("bad", [0, -0.1, sp.Symbol("e", negative=True)])
def test_eta_must_be_positive(bad):
    with pytest.raises(ps.AssumptionError, match=r"`eta` must be > 0"):
        flow_series(D9_X, D9_U, W, 2, eta=bad)
    with pytest.raises(ps.AssumptionError, match=r"`eta`"):
        modified_loss(D9_U, W, bad)
    with pytest.raises(ps.AssumptionError, match=r"`eta`"):
        lyapunov_stationary(1, 1, bad)


def test_eta_text_is_refused_not_parsed():
    with pytest.raises(ps.AssumptionError, match=r"`eta` must be a positive number or a SymPy symbol .*got '0\.1'"):
        gd_step_series(D9_X, D9_U, W, 2, eta="0.1")


@pytest.mark.parametrize("B", [0, -2])
def test_batch_size_at_least_one(B):
    with pytest.raises(ps.AssumptionError, match=rf"`B` must be >= 1 \(the batch size\), got {B}\."):
        minibatch_covariance(D10_G, B)


@pytest.mark.parametrize("B", [0, 5])
def test_batch_size_without_replacement_at_most_n(B):
    with pytest.raises(ps.AssumptionError, match=rf"`B` must be in 1\.\.4 when sampling without replacement .*got {B}\."):
        minibatch_covariance(D10_G, B, replace=False)


def test_batch_size_must_be_an_integer():
    with pytest.raises(ps.AssumptionError, match=r"`B` must be an integer batch size .*got 2\.5"):
        minibatch_covariance(D10_G, 2.5)
    with pytest.raises(ps.AssumptionError, match=r"`B` must be a positive integer"):
        minibatch_covariance(D10_G, sp.Symbol("B", negative=True))


def test_gradient_shapes():
    with pytest.raises(ps.ShapeError, match=r"`per_example_grads` is empty"):
        minibatch_covariance([], 1)
    with pytest.raises(ps.ShapeError, match=r"`per_example_grads` must all have the same length"):
        minibatch_covariance([(1, 0), (1,)], 1)
    with pytest.raises(ps.ShapeError, match=r"`per_example_grads` must be a sequence"):
        minibatch_covariance(3, 1)


def test_lyapunov_shapes_and_symmetry():
    with pytest.raises(ps.ShapeError, match=r"`H` must be square"):
        lyapunov_stationary(sp.Matrix([[1, 2, 3], [4, 5, 6]]), sp.eye(2))
    with pytest.raises(ps.ShapeError, match=r"`H` and `C` must have the same shape"):
        lyapunov_stationary(sp.eye(2), sp.eye(3))
    with pytest.raises(ps.AssumptionError, match=r"`C` must be symmetric"):
        lyapunov_stationary(sp.eye(2), sp.Matrix([[1, 2], [0, 1]]))
    with pytest.raises(ps.AssumptionError, match=r"no unique stationary covariance \(sde form\)"):
        lyapunov_stationary(sp.diag(1, -1), sp.eye(2))


def test_utility_must_be_scalar_and_params_symbols():
    with pytest.raises(ps.ShapeError, match=r"`U` must be a scalar expression"):
        gd_step_series(D9_X, sp.Matrix([D9_U, D9_U]), W, 2)
    with pytest.raises(ps.ShapeError, match=r"`params`"):
        gd_step_series(D9_X, D9_U, [w1, 2], 2)
    with pytest.raises(ps.AssumptionError, match=r"`kind` must be 'gd' or 'flow'"):
        series_coefficients(D9_X, D9_U, W, 2, kind="euler")


# ----------------------------------------------------------------------------- catalogue entries

NAMES = ["gd/finite-step", "gd/implicit-regularization", "sgd/noise-covariance", "sgd/sde-stationary",
         "deep-linear/saxe", "price/sgd-corrections"]


def test_entries_are_registered(dynamics):
    assert sorted(dynamics) == sorted(NAMES)


@pytest.mark.slow
def test_plain_flow_fails_the_implicit_regularization_check(dynamics):
    # Dropping the regulariser (c = 0) leaves the field -grad L: the iterates' velocity
    # then differs at O(eta), slope 1, and the check says so.
    d = dynamics["gd/implicit-regularization"]
    s = sp.Symbol("s", positive=True)
    L = (w2 * w1) ** 2 / 2 - s * w2 * w1
    plain = -sp.Matrix([sp.diff(L, p) for p in W])
    result = d.run(d.checks[0], closed=plain)
    assert not result.passed
    assert result.detail["fitted_order"] == pytest.approx(1.0, abs=0.1)


@pytest.mark.slow
def test_sde_covariance_is_not_passed_off_as_the_chains(dynamics):
    # The SDE stationary covariance is off by relative eta h / 2: at eta ~ 0.1-0.4 the
    # simulated chains reject it; it is checked by its order in eta instead.
    d = dynamics["sgd/sde-stationary"]
    assert not d.run(d.checks[0], closed=d.result[0]).passed


@pytest.mark.slow
def test_sgd_corrections_drop_noise_or_curvature_is_caught(dynamics):
    d = dynamics["price/sgd-corrections"]
    terms = d.result.args
    for k in range(len(terms)):
        wrong = sp.Add(*(t for j, t in enumerate(terms) if j != k))
        for check in d.checks:
            assert not d.run(check, closed=wrong).passed, (k, check.label)


def test_finite_step_figure_is_deterministic(dynamics, tmp_path):
    d = dynamics["gd/finite-step"]
    (figure,) = d.figures
    digests = []
    for i in range(2):
        path = tmp_path / f"residuals-{i}.pdf"
        figure(path, None)
        data = path.read_bytes()
        assert data.startswith(b"%PDF")
        digests.append(hashlib.sha256(data).hexdigest())
    assert digests[0] == digests[1]


# ----------------------------------------------------------------------------- exact references


def test_minibatch_law_is_the_sampling_law():
    # With replacement: the multinomial law of B i.i.d. uniform draws (brute force over sequences).
    import itertools
    from collections import Counter

    from pricesym.numeric import minibatch_law

    n, B = 3, 4
    counts, prob = minibatch_law(n, B, replace=True)
    seen = Counter(tuple(np.bincount(seq, minlength=n)) for seq in itertools.product(range(n), repeat=B))
    assert len(counts) == len(seen) and prob.sum() == pytest.approx(1, abs=1e-15)
    for row, p in zip(counts, prob):
        assert p == pytest.approx(seen[tuple(int(k) for k in row)] / n**B, rel=1e-14)
    subsets, uniform = minibatch_law(4, 2, replace=False)
    assert subsets.shape == (6, 4) and np.all(subsets.sum(axis=1) == 2) and np.allclose(uniform, 1 / 6)
    # MATH.md D10: the exact covariance of the minibatch mean over the law is Sigma/B and its
    # finite-population version.
    g = np.asarray(D10_G, dtype=float)
    for replace, want in ((True, [[0.25, -0.25], [-0.25, 0.34375]]), (False, [[1 / 6, -1 / 6], [-1 / 6, 0.2291667]])):
        counts, prob = minibatch_law(4, 2, replace=replace)
        ghat = counts @ g / 2
        dev = ghat - prob @ ghat
        np.testing.assert_allclose(np.einsum("m,mi,mj->ij", prob, dev, dev), want, atol=5e-8)


@pytest.mark.parametrize(("n", "batch", "replace", "message"), [
    (0, 1, True, r"`n` must be an integer >= 1, got 0\."),
    (4, 5, False, r"without replacement `batch` must be <= n = 4, got 5\."),
    (4, 1.5, True, r"`batch` must be an integer >= 1, got 1\.5\."),
])
def test_minibatch_law_bad_input(n, batch, replace, message):
    from pricesym.numeric import minibatch_law

    with pytest.raises(ps.AssumptionError, match=message):
        minibatch_law(n, batch, replace=replace)


def test_taylor_coefficients_of_a_real_gd_step_are_the_series():
    # MATH.md D9 worked case: Delta x = 21/4 eta - 17/2 eta^2 + 3 eta^3 exactly (a cubic step).
    import jax.numpy as jnp

    from pricesym.numeric import taylor_coefficients

    def change(h):
        w = jnp.array([1.5, 0.5])
        grad_u = jnp.array([-2 * (w[0] - 1), -2 * (w[1] - 2)])
        v = w + h * grad_u
        return v[0] ** 2 * v[1] - w[0] ** 2 * w[1]

    np.testing.assert_allclose(np.asarray(taylor_coefficients(change, 4)), [0, 21 / 4, -17 / 2, 3, 0], atol=1e-13)
    with pytest.raises(ps.AssumptionError, match=r"`order` must be an integer >= 0, got -1\."):
        taylor_coefficients(change, -1)
