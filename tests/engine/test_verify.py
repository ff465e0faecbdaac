"""verify: equal (symbolic or numeric), not equal with a counterexample, undecided, bad input."""

import dataclasses
import json
import math
import time

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import pricesym as ps
from pricesym._verify.parse import parse_assumption
from pricesym._verify.verdict import Verdict
from pricesym._verify.verify import verify

BRIEF = dict(lhs="ntvar(sigmoid(b), [b])", assume=["p = sigmoid(b)"])


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# ------------------------------------------------------------ the examples

def test_ntvar_of_a_bernoulli_policy_is_p2_1mp2():
    v = verify(BRIEF["lhs"], "p**2*(1-p)**2", assume=BRIEF["assume"])
    assert v.equal and v.status == "equal" and v.method == "symbolic"
    assert v.difference == 0 and v.counterexample is None and v.instances == 0


def test_ntvar_is_not_p_1mp_and_the_counterexample_is_real():
    v = verify(BRIEF["lhs"], "p*(1-p)", assume=BRIEF["assume"])
    assert v.status == "not equal" and not v.equal
    assert set(v.counterexample) == {"b", "p"}
    bias = v.counterexample["b"]
    assert v.counterexample["p"] == pytest.approx(_sigmoid(bias), rel=1e-12)
    # independent of verify: the squared derivative of σ at b by central differences
    h = 1e-5
    slope = (_sigmoid(bias + h) - _sigmoid(bias - h)) / (2 * h)
    assert v.lhs_value == pytest.approx(slope**2, rel=1e-8)
    pp = _sigmoid(bias)
    assert v.rhs_value == pytest.approx(pp * (1 - pp), rel=1e-12)
    # lhs - rhs in the observable: p²(1-p)² - p(1-p) = -p(1-p)(p² - p + 1)
    P = sp.Symbol("p", real=True)
    assert sp.expand(v.difference - (P**2 * (1 - P) ** 2 - P * (1 - P))) == 0


def test_derivative_of_tanh():
    assert verify("diff(tanh(x), x)", "1 - tanh(x)**2").method == "symbolic"


def test_latex_exponentials():
    v = verify(r"e^{x} e^{y}", r"e^{x+y}", latex=True)
    assert v.equal and v.method == "symbolic"


@pytest.mark.parametrize(
    "lhs, rhs, assume",
    [
        ("sigmoid(b)", "exp(b)/(1+exp(b))", []),
        ("tanh(x)", "(exp(2*x)-1)/(exp(2*x)+1)", []),
        ("cosh(x)**2 - sinh(x)**2", "1", []),
        ("logit(p)", "b", ["p = sigmoid(b)"]),
        ("diff(sigmoid(b), b)", "p*(1-p)", ["p = sigmoid(b)"]),
        ("sqrt(x**2)", "x", ["x > 0"]),
        ("softmax([a, c])", "[sigmoid(a - c), sigmoid(c - a)]", []),
        ("ntvar(q, [b])", "p**4*(1-p)**2*4", ["q = p**2", "p = sigmoid(b)"]),  # definitions chain
    ],
)
def test_symbolic_equalities(lhs, rhs, assume):
    v = verify(lhs, rhs, assume=assume)
    assert v.status == "equal" and v.method == "symbolic", str(v)


@pytest.mark.parametrize(
    "lhs, rhs, assume",
    [
        ("sin(x)**2 + cos(x)**2", "1", []),
        ("abs(x - 1)", "x - 1", ["x > 1"]),
        ("sin(2*x)", "2*sin(x)*cos(x)", []),
        ("cos(x)**2", "(1 + cos(2*x))/2", ["-pi < x < pi"]),
        ("sin(pi*N/2)**2", "(1 - (-1)**N)/2", ["N integer"]),
    ],
)
def test_numeric_equalities(lhs, rhs, assume):
    v = verify(lhs, rhs, assume=assume, instances=100)
    assert v.status == "equal" and v.method == "numeric (100 instances)" and v.instances == 100, str(v)


@pytest.mark.parametrize(
    "lhs, rhs, assume, inside",
    [
        ("sqrt(x**2)", "x", [], lambda c: c["x"] < 0),
        ("sqrt(x**2*y**2)", "x*y", ["x < 0", "y >= 1"], lambda c: c["x"] < 0 and c["y"] >= 1),
        ("(-1)**N", "1", ["N integer"], lambda c: c["N"] % 2 == 1),
        ("abs(x - 1)", "x - 1", ["x > 0"], lambda c: 0 < c["x"] < 1),
        ("1e-12*x", "0", [], lambda c: True),  # tiny but real: stable under doubled precision
    ],
)
def test_counterexamples_lie_inside_the_assumptions(lhs, rhs, assume, inside):
    v = verify(lhs, rhs, assume=assume)
    assert v.status == "not equal", str(v)
    assert inside(v.counterexample)
    assert v.lhs_value != v.rhs_value


def test_differences_below_float_resolution_are_found():
    """A truncated series on a tiny interval agrees to ~1e-10 in float64; at high
    precision the difference x**3/6 is stable, so it is a counterexample."""
    v = verify("exp(x)", "1 + x + x**2/2", assume=["-1e-3 < x < 1e-3"])
    assert v.status == "not equal"
    assert verify("pi", "3.141592653589793").status == "not equal"  # pi rounded to a double
    assert "equal in float64" in str(verify("pi", "3.141592653589793"))
    assert verify("x", "x*(1 + 1e-12)").status == "not equal"


def test_constants_use_one_instance():
    v = verify("exp(1)**2", "exp(2)*1")
    assert v.equal
    v = verify("sqrt(2)*sqrt(3)", "sqrt(6)")
    assert v.equal
    v = verify("sin(1)**2 + cos(1)**2", "1")
    assert v.equal and v.method == "numeric (1 instance)"


def test_rounding_is_not_a_counterexample():
    """Both sides are ~0 with float64 rounding noise; high precision shows they agree."""
    v = verify("sin(x)**2 + cos(x)**2 - 1", "0", instances=50)
    assert v.status == "equal"


def test_undecided_when_nothing_is_finite():
    v = verify("log(-x**2 - 1)", "0")
    assert v.status == "undecided" and not v.equal and "finite" in v.method


def test_matrices_compare_entrywise():
    ok = verify("ntvar([sigmoid(w1), tanh(w2)], [w1, w2])", "[[p**2*(1-p)**2, 0], [0, (1-q**2)**2]]",
                assume=["p = sigmoid(w1)", "q = tanh(w2)"])
    assert ok.equal
    bad = verify("ntvar([sigmoid(w1), tanh(w2)], [w1, w2])", "[[p**2*(1-p)**2, 0], [0, 1-q**2]]",
                 assume=["p = sigmoid(w1)", "q = tanh(w2)"])
    assert bad.status == "not equal" and bad.entry == (1, 1)


def test_sympy_objects_match_text_by_name():
    """A derivation's positive p and a typed p are the same variable."""
    p, b = sp.Symbol("p", positive=True), sp.Symbol("b")
    v = verify(p**2 * (1 - p) ** 2, ps.NtVar(ps.sigmoid(b), sp.Tuple(b)), assume=["p = sigmoid(b)"])
    assert v.equal


def test_a_catalogue_result_verifies():
    entry = ps.load("derivations")["bernoulli/ntvar"]
    assert verify(entry.result, "ntvar(sigmoid(b), [b])", assume=["p = sigmoid(b)"]).equal


def test_definitions_may_carry_bounds():
    v = verify("p", "1/2", assume=["p = sigmoid(b)", "0.4 < p < 0.6"], instances=50)
    assert v.status == "not equal" and 0.4 < v.counterexample["p"] < 0.6


@settings(max_examples=15, deadline=None)
@given(c=st.floats(-5, 5), strict=st.booleans())
def test_instances_respect_one_sided_bounds(c, strict):
    """abs(x - c) = x - c exactly when x >= c; a bound one below c must find x in (c - 1, c)."""
    op = ">" if strict else ">="
    assert verify(f"abs(x - ({c!r}))", f"x - ({c!r})", assume=[f"x {op} {c!r}"], instances=40).equal
    v = verify(f"abs(x - ({c!r}))", f"x - ({c!r})", assume=[f"x {op} {c - 1!r}"], instances=200)
    assert v.status == "not equal" and c - 1 <= v.counterexample["x"] < c


def test_floats_mean_their_decimals():
    x = sp.Symbol("x")
    assert verify(sp.Float(0.1) * x, "x/10").equal
    assert verify(0.1, "1/10").equal
    assert verify(sp.Matrix([sp.Float(0.25) * x]), "[x/4]").equal


def test_seed_reproduces():
    one = verify("sqrt(x**2)", "x", seed=3)
    assert one.counterexample == verify("sqrt(x**2)", "x", seed=3).counterexample
    assert one.counterexample != verify("sqrt(x**2)", "x", seed=4).counterexample
    assert one.seed == 3


# ------------------------------------------------------------------ output

def test_verdict_is_a_frozen_value_with_readable_output():
    v = verify(BRIEF["lhs"], "p*(1-p)", assume=BRIEF["assume"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.status = "equal"
    record = json.loads(json.dumps(v.as_json()))
    assert record["status"] == "not equal" and record["equal"] is False
    assert record["lhs"] == "ntvar(sigmoid(b), [b])" and record["assumptions"] == ["p = sigmoid(b)"]
    assert set(record["counterexample"]) == {"b", "p"}
    text = str(v)
    assert "\n" not in text and text.startswith("not equal") and "Counterexample at b = " in text
    tex = v.latex()
    assert r"\neq" in tex and r"\text{given } p = \sigma\left(b\right)" in tex and r"\text{e.g. at } b = " in tex


def test_equal_output():
    v = verify(BRIEF["lhs"], "p**2*(1-p)**2", assume=BRIEF["assume"])
    assert str(v) == "equal (symbolic): ntvar(sigmoid(b), [b]) = p**2*(1 - p)**2, given p = sigmoid(b)."
    assert v.latex() == (
        r"\operatorname{ntvar}\left(\sigma\left(b\right)\right) = p^{2} \left(1 - p\right)^{2}"
        r" \quad \text{given } p = \sigma\left(b\right)"
    )
    assert verify("log(-x**2 - 1)", "0").latex().startswith(r"\ln{\left(- x^{2} - 1 \right)} \overset{?}{=} 0")


def test_close_values_are_printed_apart():
    v = verify("pi", "3.14159")
    assert "lhs = 3.141592654, rhs = 3.14159" in str(v)
    assert r"3.141593 \neq 3.14159" in v.latex()


def test_assumption_objects_are_accepted():
    assert verify(BRIEF["lhs"], "p**2*(1-p)**2", assume=[parse_assumption("p = sigmoid(b)")]).equal
    assert verify("sqrt(x**2)", "x", assume="x > 0").equal  # a single string is one assumption


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(lhs="[x, y]", rhs="x"), ps.ShapeError, "`lhs` is a 2×1 matrix but `rhs` is a scalar"),
        (dict(lhs="ntvar([x, y], [x, y])", rhs="[x, y]"), ps.ShapeError, "2×2 matrix but `rhs` is a 2×1"),
        (dict(lhs="x", rhs="y", assume=["x > 2", "x < 1"]), ps.AssumptionError,
         "exclude every instance: `x > 2` and `x < 1` leave no value for `x`"),
        (dict(lhs="p", rhs="1", assume=["p = sigmoid(b)", "p > 2"]), ps.AssumptionError,
         "exclude every instance: no drawn value satisfies `p > 2`"),
        (dict(lhs="x", rhs="y", assume=["N integer", "0.2 < N < 0.8"]), ps.AssumptionError, "leave no value for `N`"),
        (dict(lhs="p", rhs="q", assume=["p = q", "q = p"]), ps.AssumptionError, "refers to itself"),
        (dict(lhs="p", rhs="q", assume=["p = 1", "p = 2"]), ps.AssumptionError, "defined twice"),
        (dict(lhs="ntvar(p, [p])", rhs="1", assume=["p = sigmoid(b)"]), ps.AssumptionError,
         "`p` is defined as `sigmoid\\(b\\)`, so `lhs` cannot differentiate by it"),
        (dict(lhs="1", rhs="diff(q, p)", assume=["p = sigmoid(b)"]), ps.AssumptionError, "`rhs` cannot differentiate"),
        (dict(lhs="__import__('os')", rhs="1"), ps.ParseError, "name `__import__` is not allowed"),
        (dict(lhs="x", rhs="().__class__"), ps.ParseError, "attribute access"),
        (dict(lhs="x", rhs="sigmoud(x)"), ps.ParseError, "did you mean `sigmoid`"),
        (dict(lhs="x", rhs="x", assume=["x positve"]), ps.ParseError, "did you mean `positive`"),
        (dict(lhs=object(), rhs="x"), ps.ParseError, "`lhs` must be a string or a SymPy expression"),
        (dict(lhs="x", rhs="x", assume=[3]), ps.ParseError, "each of `assume` must be a string"),
        (dict(lhs="x", rhs="x", instances=0), ps.AssumptionError, "`instances` must be an integer from 1"),
        (dict(lhs="x", rhs="x", seed=-1), ps.AssumptionError, "`seed` must be a non-negative integer"),
    ],
)
def test_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        verify(**kwargs)


def test_hostile_input_is_refused_quickly():
    start = time.perf_counter()
    for text in ("9**9**9**9", "x+" * 1500, "(" * 500 + ")" * 500, "lambda: 1"):
        with pytest.raises(ps.ParseError):
            verify(text, "0")
    assert time.perf_counter() - start < 1.0


def test_large_inputs_skip_the_symbolic_stage_and_stay_fast():
    start = time.perf_counter()
    v = verify("(a + c + d + f + g)**40", "(a + c + d + f + g)**40 + 1e-6", instances=50)
    assert v.status == "not equal"
    v = verify("(a + c + d + f + g)**40 * (a - c)", "(a + c + d + f + g)**40 * a - c*(a + c + d + f + g)**40",
               instances=50)
    assert v.equal
    assert time.perf_counter() - start < 5.0


def test_verdict_checks_its_status():
    with pytest.raises(ValueError, match="`status` must be"):
        Verdict(status="maybe", method="symbolic", lhs=sp.S.One, rhs=sp.S.One, difference=sp.S.Zero)


IDENTITIES = [
    ("ntvar(sigmoid(b), [b])", "p**2 - 2*p**3 + p**4", ["p = sigmoid(b)"]),
    ("diff(tanh(x), x)", "1 - tanh(x)**2", []),
    ("sin(2*x)", "2*sin(x)*cos(x)", []),
    ("ntcov(sigmoid(w1) + w2, sigmoid(w1) - w2, [w1, w2])", "p**2*(1-p)**2 - 1", ["p = sigmoid(w1)"]),
    ("diff(log(x), x, 2)", "-1/x**2 + 0*x", ["x > 0"]),
]


@pytest.mark.parametrize("lhs, rhs, assume", IDENTITIES)
def test_a_wrong_right_side_is_caught(lhs, rhs, assume):
    """Like every check in the catalogue, verify must be able to fail: a 10 %
    changed coefficient and a dropped term are both "not equal"."""
    from pricesym._verify.parse import parse

    right = parse(rhs)
    assert verify(lhs, right, assume=assume).equal
    assert verify(lhs, ps.perturb(right), assume=assume).status == "not equal"
    if isinstance(right, sp.Add):
        for term in right.args:
            assert verify(lhs, right - term, assume=assume).status == "not equal", term
