"""The tangent calculus: exact identities of ntcov/ntvar/gcov, the worked numbers of
MATH.md Part A computed through the public API and the catalogue, properties over
random polynomial models, and the shape errors."""

import itertools
import math

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

import pricesym as ps

W = sp.symbols("w1 w2 w3", real=True)
w1, w2, w3 = W
PROPERTY = settings(max_examples=25, deadline=None)


@pytest.fixture(scope="module")
def catalogue():
    return ps.load()


def at(expr, **values):
    """``expr`` with the symbols named in ``values`` replaced (catalogue symbols carry assumptions)."""
    return expr.subs({s: values[str(s)] for s in expr.free_symbols if str(s) in values})


# ----------------------------------------------------------------------------- worked numbers (MATH.md A)


def test_a1_gcov_worked_case():
    g = sp.symbols("g1 g2", real=True)
    G = sp.Matrix([[1, sp.Rational(1, 2)], [sp.Rational(1, 2), 2]])
    beta_x, beta_f = sp.Matrix([2, -1]), sp.Matrix([sp.Rational(1, 2), 1])
    trait, fitness = (beta_x.T * sp.Matrix(g))[0], (beta_f.T * sp.Matrix(g))[0]
    assert ps.gcov(trait, fitness, g, G) == sp.Rational(-1, 4)
    shift = sp.Rational(1, 10) * G * beta_f  # mean genotype after a tilt of duration 0.1
    assert shift == sp.Matrix([sp.Rational(1, 10), sp.Rational(9, 40)])
    assert (beta_x.T * shift)[0] == sp.Rational(-1, 40)


def test_a1_catalogue_entry(catalogue):
    result = catalogue["price/gcov-lande"].result
    value = at(result, G11=1, G12=sp.Rational(1, 2), G22=2, beta_x1=2, beta_x2=-1, beta_f1=sp.Rational(1, 2), beta_f2=1)
    assert value == sp.Rational(-1, 4)


def test_a2_ntcov_of_the_worked_model(catalogue):
    x, U = w1 * w2, -((w1 - 1) ** 2 + 2 * (w2 + 1) ** 2)
    point = {w1: sp.Rational(1, 2), w2: 2}
    assert ps.ntcov(x, U, [w1, w2]).subs(point) == -4
    plain, preconditioned = catalogue["price/gradient-flow"].result
    assert at(plain, w1=sp.Rational(1, 2), w2=2) == -4
    # The identity preconditioner gives back the plain flow.
    assert sp.expand(at(preconditioned, P11=1, P12=0, P22=1) - plain) == 0


def test_a3_fundamental_theorem(catalogue):
    U = -((w1 - 1) ** 2 + 2 * (w2 + 1) ** 2)
    assert ps.ntvar(U, [w1, w2]).subs({w1: sp.Rational(1, 2), w2: 2}) == 145
    assert at(catalogue["price/fundamental-theorem"].result, w1=sp.Rational(1, 2), w2=2) == 145


def test_a4_linear_maps_worked_case():
    w = sp.Matrix(W)
    Jx, Jy = sp.Matrix([[1, 0, 2], [0, 1, -1]]), sp.Matrix([[1, 1, 0], [2, 0, 1]])
    F, G = sp.Matrix([[1, 2], [0, 1]]), sp.Matrix([[3, 0], [1, 1]])
    x, y = Jx * w, Jy * w
    assert ps.ntcov(x, y, W) == sp.Matrix([[1, 4], [1, -1]])
    assert ps.ntcov(F * x, G * y, W) == sp.Matrix([[9, 5], [3, 0]])
    assert F * ps.ntcov(x, y, W) * G.T == sp.Matrix([[9, 5], [3, 0]])


def test_a5_chain_rule_worked_case(catalogue):
    x, y = w1 + w2**2, w1 * w2
    value = ps.ntcov(x**3, sp.sin(y), [w1, w2]).subs({w1: 1, w2: 2})
    assert sp.expand(value - 450 * sp.cos(2)) == 0
    assert float(value) == pytest.approx(-187.266076446214, rel=1e-13)
    scalar, _ = catalogue["ntcov/chain-rule"].result
    assert sp.expand(at(scalar, w1=1, w2=2, x=5, y=2) - 450 * sp.cos(2)) == 0


def test_a5_product_rule_identity():
    x, J, A = w1 * w2 + w3, ps.sigmoid(w1 + w2), ps.sigmoid(w2 + w3)
    lhs = ps.ntcov(x, J * A, W)
    rhs = J * ps.ntcov(x, A, W) + A * ps.ntcov(x, J, W)
    assert sp.expand(lhs - rhs) == 0


def test_a6_juice_worked_cases(catalogue):
    single, shared = catalogue["juice/approach"].result
    assert float(at(single, a=0.3, j=0.5)) == pytest.approx(0.02205, rel=1e-12)
    assert float(at(shared, J=0.5, A=0.3)) == pytest.approx(0.0378, rel=1e-12)
    # The same number straight from the API, at w2 = logit 0.3 and w1 = -w2 (so J = 1/2).
    J, A = ps.sigmoid(w1 + w2), ps.sigmoid(w2)
    b = sp.log(sp.Rational(3, 7))
    assert float(ps.ntcov(A, J * A, [w1, w2]).subs({w1: -b, w2: b})) == pytest.approx(0.0378, rel=1e-12)


def test_a7_table_row_p_03(catalogue):
    b = sp.Symbol("b", real=True)
    p = sp.Symbol("p", positive=True)
    assert float(at(catalogue["bernoulli/ntvar"].result, p=0.3)) == pytest.approx(0.0441, rel=1e-12)
    mean, var, pdot = (float(at(e, p=0.3)) for e in catalogue["bernoulli/reinforce"].result)
    assert (mean, var, pdot) == pytest.approx((0.42, 0.0336, 0.0882), rel=1e-12)
    ntvar_U = ps.in_terms_of(ps.ntvar(2 * ps.sigmoid(b) - 1, [b]), {p: ps.sigmoid(b)})
    assert float(ntvar_U.subs(p, 0.3)) == pytest.approx(0.1764, rel=1e-12)
    two_ntvar, two_pdot = (float(at(e, p=0.3)) for e in catalogue["bernoulli/two-logit"].result)
    assert (two_ntvar, two_pdot) == pytest.approx((0.0882, 0.1764), rel=1e-12)


@pytest.mark.parametrize(("p0", "t", "p_t"), [(0.3, 1, 0.4025921202), (0.3, 5, 0.7968413248), (1e-3, 100, 0.0012493036)])
def test_a7_flow_solution(catalogue, p0, t, p_t):
    invariant = float(at(catalogue["bernoulli/flow-solution"].result, w0=math.log(p0 / (1 - p0)), t=t))
    w_t = brentq(lambda w: w + math.sinh(w) - invariant, -50, 50, xtol=1e-14)
    assert 1 / (1 + math.exp(-w_t)) == pytest.approx(p_t, abs=1e-10)


def test_a7_two_logit_doubles_the_single_bias_ntvar(catalogue):
    single = catalogue["bernoulli/ntvar"].result
    two, _ = catalogue["bernoulli/two-logit"].result
    assert sp.expand(two - 2 * at(single, p=sp.Symbol("p", positive=True))) == 0


def test_unevaluated_forms_compute_on_doit():
    x, y = w1**2 * w2, sp.exp(w1 - w2)
    assert ps.NtCov(x, y, sp.Tuple(w1, w2)).doit() == ps.ntcov(x, y, [w1, w2])
    assert ps.NtVar(x, sp.Tuple(w1, w2)).doit() == ps.ntvar(x, [w1, w2])


# ----------------------------------------------------------------------------- properties


@st.composite
def polynomials(draw, params, degree=2):
    """A polynomial in ``params`` with 1-4 terms, integer coefficients in [-3, 3], each symbol to a power <= ``degree``."""
    terms = []
    for _ in range(draw(st.integers(1, 4))):
        coefficient = draw(st.integers(-3, 3))
        powers = [draw(st.integers(0, degree)) for _ in params]
        terms.append(coefficient * sp.Mul(*(s**k for s, k in zip(params, powers))))
    return sp.Add(*terms)


@st.composite
def models(draw, n_properties=2, length=1):
    """2-3 parameters and ``n_properties`` random polynomial properties (vectors when ``length`` > 1)."""
    params = list(W[: draw(st.integers(2, 3))])
    props = []
    for _ in range(n_properties):
        entries = [draw(polynomials(params)) for _ in range(length)]
        props.append(entries[0] if length == 1 else sp.Matrix(entries))
    return params, props


integer_points = st.lists(st.integers(-3, 3), min_size=3, max_size=3)
small_integers = st.integers(-4, 4)


@PROPERTY
@given(models(n_properties=3), small_integers, small_integers)
def test_bilinear(model, a, b):
    params, (x1, x2, y) = model
    assert sp.expand(ps.ntcov(a * x1 + b * x2, y, params) - a * ps.ntcov(x1, y, params) - b * ps.ntcov(x2, y, params)) == 0
    assert sp.expand(ps.ntcov(y, a * x1 + b * x2, params) - a * ps.ntcov(y, x1, params) - b * ps.ntcov(y, x2, params)) == 0


@PROPERTY
@given(models(length=2))
def test_symmetric(model):
    params, (x, y) = model
    assert (ps.ntcov(y, x, params) - ps.ntcov(x, y, params).T).expand() == sp.zeros(2, 2)
    assert sp.expand(ps.ntcov(x[0], y[1], params) - ps.ntcov(y[1], x[0], params)) == 0


@PROPERTY
@given(models(n_properties=1), integer_points)
def test_ntvar_nonnegative(model, point):
    params, (x,) = model
    assert ps.ntvar(x, params).subs(dict(zip(params, point))) >= 0


@PROPERTY
@given(st.integers(2, 3).flatmap(lambda k: models(n_properties=1, length=k)), integer_points)
def test_ntvar_of_a_vector_is_positive_semidefinite(model, point):
    params, (x,) = model
    gram = ps.ntvar(x, params).subs(dict(zip(params, point)))
    assert gram == gram.T
    # Sylvester: a symmetric matrix is PSD iff every principal minor (not only the leading ones) is >= 0.
    n = gram.rows
    for k in range(1, n + 1):
        for idx in itertools.combinations(range(n), k):
            assert gram.extract(list(idx), list(idx)).det() >= 0


@PROPERTY
@given(models(length=2), st.lists(small_integers, min_size=8, max_size=8))
def test_linear_maps(model, entries):
    params, (x, y) = model
    F, G = sp.Matrix(2, 2, entries[:4]), sp.Matrix(2, 2, entries[4:])
    assert (ps.ntcov(F * x, G * y, params) - F * ps.ntcov(x, y, params) * G.T).expand() == sp.zeros(2, 2)


@PROPERTY
@given(st.data())
def test_chain_rule(data):
    params, (x, y) = data.draw(models())
    z = sp.Symbol("z")
    f, g = data.draw(polynomials([z])), data.draw(polynomials([z]))
    lhs = ps.ntcov(f.subs(z, x), g.subs(z, y), params)
    rhs = sp.diff(f, z).subs(z, x) * sp.diff(g, z).subs(z, y) * ps.ntcov(x, y, params)
    assert sp.expand(lhs - rhs) == 0


@PROPERTY
@given(st.data())
def test_vector_chain_rule(data):
    params, (x,) = data.draw(models(n_properties=1, length=2))
    v = sp.symbols("v1 v2")
    f = sp.Matrix([data.draw(polynomials(list(v), degree=1)) for _ in range(2)])  # multilinear keeps expand cheap
    on_x = dict(zip(v, x))
    lhs = ps.ntvar(f.subs(on_x), params)
    Jf = ps.jacobian(f, list(v)).subs(on_x)
    assert (lhs - Jf * ps.ntvar(x, params) * Jf.T).expand() == sp.zeros(2, 2)


@PROPERTY
@given(st.data())
def test_ntcov_with_metric_is_the_double_sum(data):
    params, (x, y) = data.draw(models())
    d = len(params)
    upper = data.draw(st.lists(small_integers, min_size=d * d, max_size=d * d))
    G = sp.Matrix(d, d, upper)
    G = G + G.T  # any symmetric metric
    double_sum = sum(sp.diff(x, params[i]) * G[i, j] * sp.diff(y, params[j]) for i in range(d) for j in range(d))
    assert sp.expand(ps.ntcov(x, y, params, G=G) - double_sum) == 0


@PROPERTY
@given(st.data())
def test_metric_is_a_reparametrisation(data):
    # Flowing in v with w = L v moves w by L Lᵀ ∇_w: ntcov with G = L Lᵀ is plain ntcov in v.
    params, (x, y) = data.draw(models())
    d = len(params)
    entries = data.draw(st.lists(small_integers, min_size=d * d, max_size=d * d))
    L = sp.Matrix(d, d, lambda i, j: entries[i * d + j] if j < i else (abs(entries[i * d + j]) + 1 if i == j else 0))
    v = sp.symbols(f"v1:{d + 1}", real=True)
    w_of_v = dict(zip(params, L * sp.Matrix(v)))
    in_v = ps.ntcov(x.subs(w_of_v), y.subs(w_of_v), list(v))
    with_metric = ps.ntcov(x, y, params, G=L * L.T).subs(w_of_v)
    assert sp.expand(in_v - with_metric) == 0


@PROPERTY
@given(models(n_properties=3))
def test_product_rule(model):
    params, (x, J, A) = model
    assert sp.expand(ps.ntcov(x, J * A, params) - J * ps.ntcov(x, A, params) - A * ps.ntcov(x, J, params)) == 0


# ----------------------------------------------------------------------------- shape errors


def test_metric_of_the_wrong_size():
    with pytest.raises(ps.ShapeError, match=r"`G` must be 2×2 to match 2 parameters, got 3×3"):
        ps.ntcov(w1, w2, [w1, w2], G=sp.eye(3))


def test_property_that_is_a_matrix():
    with pytest.raises(ps.ShapeError, match=r"a property must be a scalar or a vector, got a \(2, 2\) matrix"):
        ps.ntvar(sp.Matrix([[w1, w2], [w2, w1]]), [w1, w2])


def test_property_given_as_text():
    with pytest.raises(ps.ShapeError, match=r"a property must be a SymPy expression or vector, got 'w1\*\*2'"):
        ps.ntcov("w1**2", w1, [w1])


def test_empty_params():
    with pytest.raises(ps.ShapeError, match=r"`params` is empty"):
        ps.ntvar(w1, [])


def test_params_that_are_not_symbols():
    with pytest.raises(ps.ShapeError, match=r"`params` must hold SymPy symbols, but 2 is a int"):
        ps.ntvar(w1, [w1, 2])
    with pytest.raises(ps.ShapeError, match=r"`params` must be a list of SymPy symbols, got 5"):
        ps.jacobian(w1, 5)


def test_repeated_params():
    with pytest.raises(ps.ShapeError, match=r"`params` repeats a symbol"):
        ps.ntvar(w1, [w1, w1])


def test_gcov_needs_a_covariance():
    with pytest.raises(ps.ShapeError, match=r"`gcov` needs the genotype covariance `G`"):
        ps.gcov(w1, w2, [w1, w2], None)


def test_shape_errors_are_value_errors():
    assert issubclass(ps.ShapeError, ValueError) and issubclass(ps.ShapeError, ps.PricesymError)
