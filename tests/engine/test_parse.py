"""Reading user text: the allowed vocabulary, the refusals, and that nothing is executed."""

import builtins
import math
import time

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pricesym as ps
from pricesym._verify.parse import Assumption, parse, parse_assumption, to_text

x, y, b, p, q, eta, sigma, w1, w2, u0, N = sp.symbols("x y b p q eta sigma w1 w2 u0 N", real=True)

FAST = 1.0  # seconds; a refusal must not depend on how expensive the input would be to build


# ------------------------------------------------------------------- text

@pytest.mark.parametrize(
    "text, expected",
    [
        ("p**2*(1-p)**2", p**2 * (1 - p) ** 2),
        ("p^2*(1-p)^2", p**2 * (1 - p) ** 2),  # ^ is power, with the precedence of **
        ("-x^2", -(x**2)),
        ("x^2 + 1", x**2 + 1),
        ("0.1*x", x / 10),  # decimal literals are exact
        ("1e-3", sp.Rational(1, 1000)),
        ("e**x", sp.exp(x)),
        ("E", sp.E),
        ("pi/2", sp.pi / 2),
        ("sigmoid(b)", ps.sigmoid(b)),
        ("logit(p)", ps.logit(p)),
        ("ln(x) + log(y)", sp.log(x) + sp.log(y)),
        ("abs(x) + sqrt(x)", sp.Abs(x) + sp.sqrt(x)),
        ("tanh(x) + sinh(x) + cosh(x) + sin(x) + cos(x) + tan(x)",
         sp.tanh(x) + sp.sinh(x) + sp.cosh(x) + sp.sin(x) + sp.cos(x) + sp.tan(x)),
        ("eta*sigma + u0 + N", eta * sigma + u0 + N),
        ("[a1, a2]", sp.ImmutableMatrix(sp.symbols("a1 a2", real=True))),
        ("[[x, y], [y, x]]", sp.ImmutableMatrix([[x, y], [y, x]])),
        ("2*[x, y]", sp.ImmutableMatrix([2 * x, 2 * y])),
        ("softmax([x, y])", ps.softmax([x, y])),
    ],
)
def test_text_reads_as_mathematics(text, expected):
    assert parse(text) == expected


def test_same_name_same_real_symbol():
    left, right = parse("x + y"), parse("y*x")
    assert left.free_symbols == right.free_symbols == {x, y}
    assert all(s.is_real for s in left.free_symbols)


def test_operators_stay_unevaluated_until_doit():
    v = parse("ntvar(sigmoid(b), [b])")
    assert v == ps.NtVar(ps.sigmoid(b), sp.Tuple(b))
    assert v.doit() == ps.ntvar(ps.sigmoid(b), [b])
    c = parse("ntcov(sigmoid(w1), tanh(w2), [w1, w2])")
    assert c.doit() == ps.ntcov(ps.sigmoid(w1), sp.tanh(w2), [w1, w2])
    d = parse("diff(tanh(x), x)")
    assert isinstance(d, sp.Derivative) and d.doit() == 1 - sp.tanh(x) ** 2
    assert parse("diff(x**3*y, x, 2, y)").doit() == 6 * x


def test_vector_ntvar_is_a_matrix():
    v = parse("ntvar([sigmoid(w1), tanh(w2)], [w1, w2])").doit()
    assert v.shape == (2, 2) and v[0, 1] == 0


@pytest.mark.parametrize(
    "text",
    ["ntvar(sigmoid(b), [b])", "ntcov(x, y, [w1, w2])", "diff(x**3, x, 2)", "abs(x) + sqrt(x)/2", "[x, y]",
     "[[x, y], [y, x]]", "pi*exp(-x) + E", "sigmoid(b)*(1 - sigmoid(b))"],
)
def test_to_text_reads_back(text):
    value = parse(text)
    assert parse(to_text(value)) == value


# --------------------------------------------------------------- refusals

HOSTILE = [
    ("__import__('os').system('true')", "attribute access|name `__import__`"),
    ("__import__('os')", "name `__import__` is not allowed"),
    ("().__class__", "attribute access"),
    ("x.__class__.__bases__", "attribute access"),
    ("lambda: 1", "`lambda` is not allowed"),
    ("[x for x in y]", "comprehension"),
    ("(x for x in y)", "generator"),
    ("f'{x}'", "f-string"),
    ("'abc'", "string"),
    ("open('f')", "string"),
    ("open(x)", "unknown function `open`"),
    ("eval(x)", "unknown function `eval`"),
    ("exec(x)", "unknown function `exec`"),
    ("x[0]", "indexing"),
    ("{x: 1}", "dict"),
    ("x if y else 1", "if"),
    ("x and y", "and"),
    ("(x := 1)", ":="),
    ("sigmoid(*x)", "unpacking"),
    ("sigmoid(b=1)", "keyword"),
    ("x % 2", "operator `%`"),
    ("x // 2", "operator `//`"),
    ("x @ y", "operator `@`"),
    ("~x", "operator `~`"),
    ("x < y", "comparison"),
    ("True", "literal True"),
    ("1j", "literal 1j"),
    ("x_", "name `x_` is not allowed"),
    ("_x", "name `_x` is not allowed"),
    ("9**9**9**9", "too large"),
    ("2**10**10", "too large"),
    ("((99**99)**99)**99", "more than 1000 digits"),
    ("x**1000", "too large"),
    ("1e999", "too large"),
    ("1" * 150, "150 digits"),
    ("x+" * 1200 + "x", "characters long"),
    ("(" * 300 + "x" + ")" * 300, "nested|not a valid expression|cannot be read"),
    ("-" * 1500 + "x", "nested|cannot be read|parts"),
    ("+".join(["x"] * 600), "more than 500 parts"),
    ("x\x00", "not allowed"),
    ("η*x", "character 'η'"),
    ("", "empty"),
    ("2x", "write products with `\\*`"),
    ("1/0", "division by zero"),
    ("log(0)", "infinite or undefined"),
    ("sqrt(-1)", "not real"),
]


@pytest.mark.parametrize("text, message", HOSTILE)
def test_hostile_text_is_refused_quickly_in_one_line(text, message):
    start = time.perf_counter()
    with pytest.raises(ps.ParseError, match=message) as info:
        parse(text)
    assert time.perf_counter() - start < FAST
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("sigmoud(b)", "unknown function `sigmoud`: did you mean `sigmoid`\\?"),
        ("ntvr(x, [b])", "did you mean `ntvar`"),
        ("x(1-x)", r"for a product write `x\*\(\.\.\.\)`"),
        ("e(x)", "`e` is a constant, not a function"),
        ("sigmoid + 1", "`sigmoid` is a function: call it"),
        ("exp(x, y)", "`exp` takes 1 argument; got 2"),
        ("ntvar(sigmoid(b))", r"property and its parameters, e.g. `ntvar\(sigmoid\(b\), \[b\]\)`"),
        ("ntvar(x, [1])", "must be distinct symbols"),
        ("ntvar(x, [b, b])", "must be distinct symbols"),
        ("diff(x)", "the symbol\\(s\\) to differentiate by"),
        ("diff(x, 2)", "differentiates by symbols"),
        ("diff(x**9, x, 9)", "total order 9"),
        ("(sin(x))(y)", "only named functions can be called"),
    ],
)
def test_error_messages_teach(text, message):
    with pytest.raises(ps.ParseError, match=message):
        parse(text)


@pytest.mark.parametrize(
    "text, message",
    [("[x, y] + 1", "combines a 2×1 matrix with a scalar"), ("1/[x, y]", "divides by a 2×1 matrix"),
     ("[[x, y], z]", "rows must all be the same length"), ("exp([x, y])", "`exp` takes a scalar")],
)
def test_shape_errors(text, message):
    with pytest.raises(ps.ShapeError, match=message):
        parse(text)


def test_no_eval_exec_or_parse_expr(monkeypatch):
    """parse works with eval, exec, sympify-of-strings and parse_expr all disabled."""
    import sympy.parsing.sympy_parser as sympy_parser

    def forbidden(*args, **kwargs):
        raise AssertionError("user text reached an evaluator")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(sympy_parser, "parse_expr", forbidden)
    assert parse("ntvar(sigmoid(b), [b])") == ps.NtVar(ps.sigmoid(b), sp.Tuple(b))
    assert parse(r"\frac{1}{1+e^{-b}}", latex=True) == 1 / (1 + sp.exp(-b))
    assert parse_assumption("p = sigmoid(b)").definition == ps.sigmoid(b)
    with pytest.raises(ps.ParseError):
        parse("__import__('os')")


_SOUP = [
    "__import__", "(", ")", "'os'", ".", "__class__", "lambda", ":", "[", "]", "for", "in", "**", "9", "x", "sigmoid",
    ",", "f'", "{", "}", "open", "*", "/", "-", "^", "e", "0", "1e308", "ntvar", "ntcov", "diff", "softmax", "exp",
    " ", "=", "<", "\\frac", "\\sigma", "\\left(", "\\right)", "_", "\\sqrt", "d", "\\partial", "|", "\\cdot", "2",
    "0.5", "b", "[b]", "**10", "-1", "\\mathrm{d}", "\\ln", "pi", "x_{1}", "\\operatorname{ntvar}", "\n", "\\",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(st.lists(st.sampled_from(_SOUP), max_size=25).map("".join), st.text(max_size=40)),
    latex=st.booleans(),
)
def test_any_text_gives_a_value_or_a_pricesym_error(text, latex):
    start = time.perf_counter()
    try:
        value = parse(text, latex=latex)
    except ps.PricesymError as err:
        assert "\n" not in str(err)
    else:
        assert isinstance(value, sp.Basic | sp.MatrixBase)
    assert time.perf_counter() - start < FAST


# ------------------------------------------------------------------ LaTeX

@pytest.mark.parametrize(
    "text, expected",
    [
        (r"e^{x} e^{y}", sp.exp(x) * sp.exp(y)),
        (r"e^{x+y}", sp.exp(x + y)),
        (r"p^{2}(1-p)^{2}", p**2 * (1 - p) ** 2),
        (r"2pq", 2 * p * q),
        (r"\sigma(b)", ps.sigmoid(b)),
        (r"\sigma\left(b\right)", ps.sigmoid(b)),
        (r"\sigma^{2}\left(b\right)", ps.sigmoid(b) ** 2),
        (r"\sigma \left(x + y\right)", sigma * (x + y)),  # spaced: the symbol sigma times a group
        (r"\sigma x", sigma * x),
        (r"\frac{1}{1+e^{-b}}", 1 / (1 + sp.exp(-b))),
        (r"\frac12 x", x / 2),
        (r"x^23", 3 * x**2),  # TeX: one character after ^
        (r"\eta_{0} + u_{0} + w_1 + x_{max}", sp.Symbol("eta0", real=True) + u0 + w1 + sp.Symbol("x_max", real=True)),
        (r"\operatorname{logit}\left(p\right)", ps.logit(p)),
        (r"\operatorname{ntvar}(\sigma(b), [b])", ps.NtVar(ps.sigmoid(b), sp.Tuple(b))),
        (r"\mathrm{sigmoid}(b)", ps.sigmoid(b)),
        (r"sigmoid(b)", ps.sigmoid(b)),
        (r"\frac{d}{dx} \tanh{\left(x \right)}", sp.Derivative(sp.tanh(x), x)),
        (r"\frac{\mathrm{d}}{\mathrm{d}x}\left(x^{3}\right)", sp.Derivative(x**3, x)),
        (r"\frac{\partial^{2}}{\partial x^{2}} x y", sp.Derivative(x * y, (x, 2))),
        (r"\sqrt[3]{x} + \sqrt{y}", sp.cbrt(x) + sp.sqrt(y)),
        (r"\ln{\left(x \right)} + \log x", 2 * sp.log(x)),
        (r"\sin^{2}{\left(x \right)} + \cos(x)^2", sp.sin(x) ** 2 + sp.cos(x) ** 2),
        (r"\sin 2x", sp.sin(2 * x)),
        (r"\left|{x}\right|", sp.Abs(x)),
        (r"\pi r^2", sp.pi * sp.Symbol("r", real=True) ** 2),
        (r"x \cdot y \times 2 \div 4", x * y / 2),
        (r"$\mathrm{e}^{x}$", sp.exp(x)),
    ],
)
def test_latex_reads_as_mathematics(text, expected):
    assert parse(text, latex=True) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("eta", r"write `\\eta`"),
        ("pi", r"write `\\pi`"),
        (r"\foo", r"unknown LaTeX command `\\foo`"),
        (r"\sigmaa", r"did you mean `\\sigma`"),
        (r"\frac{dy}{dx}", "looks like a derivative"),
        (r"x^-1", r"write e.g. `x\^\{-1\}`"),
        (r"x^{2}^{3}", "double superscript"),
        (r"\infty", "not allowed"),
        (r"\operatorname{ntvar}\left(\sigma\left(b\right)\right)", "its parameters"),
        (r"\operatorname{exp} x", "is a function"),
        (r"\frac{x}{0}", "division by zero"),
        (r"x $ y", "unexpected character `\\$`"),
        (r"(x", r"expected `\)`"),
        (r"\frac{d^{2}}{dx}", "orders differ"),
    ],
)
def test_latex_errors(text, message):
    with pytest.raises(ps.ParseError, match=message) as info:
        parse(text, latex=True)
    assert "\n" not in str(info.value)


_NAMES = [sp.Symbol(n, real=True) for n in ("x", "y", "p", "b", "eta", "sigma", "w1", "u0", "N", "x_max")]
_FUNCTIONS = [sp.exp, sp.log, sp.sin, sp.cos, sp.tanh, sp.sinh, ps.sigmoid, ps.logit, sp.sqrt, sp.Abs]


def _expressions():
    leaf = st.one_of(st.sampled_from(_NAMES), st.integers(-5, 9).map(sp.Integer), st.just(sp.pi),
                     st.just(sp.Rational(1, 2)))

    def extend(children):
        return st.one_of(
            st.tuples(children, children).map(lambda t: t[0] + t[1]),
            st.tuples(children, children).map(lambda t: t[0] * t[1]),
            st.tuples(children, children).map(lambda t: t[0] - t[1]),
            st.tuples(children, children.filter(lambda e: e != 0)).map(lambda t: t[0] / t[1]),
            st.tuples(children, st.integers(-3, 4)).map(lambda t: t[0] ** t[1]),
            st.tuples(st.sampled_from(_FUNCTIONS), children).map(lambda t: t[0](t[1])),
        )

    return st.recursive(leaf, extend, max_leaves=8).filter(
        lambda e: not e.has(sp.zoo, sp.nan, sp.I, sp.oo, -sp.oo)
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_expressions())
def test_printed_forms_read_back(expr):
    """What pricesym prints (LaTeX and text), parse reads back as the same expression."""
    for text, latex in ((ps.latex(expr), True), (to_text(expr), False)):
        back = parse(text, latex=latex)
        assert back == expr or sp.expand(back - expr) == 0, text


# ------------------------------------------------------------ assumptions

inf = float("inf")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("p = sigmoid(b)", dict(symbol=p, definition=ps.sigmoid(b))),
        ("p == sigmoid(b)", dict(symbol=p, definition=ps.sigmoid(b))),
        ("sigmoid(b) = p", dict(symbol=p, definition=ps.sigmoid(b))),
        ("0 < p < 1", dict(symbol=p, lower=0.0, upper=1.0, lower_strict=True, upper_strict=True)),
        ("1 > p >= 0", dict(symbol=p, lower=0.0, upper=1.0, lower_strict=False, upper_strict=True)),
        ("x > 0", dict(symbol=x, lower=0.0, lower_strict=True, upper=inf)),
        ("N >= 1", dict(symbol=N, lower=1.0, lower_strict=False)),
        ("x <= pi/2", dict(symbol=x, upper=float(sp.pi / 2))),
        ("x positive", dict(symbol=x, lower=0.0, lower_strict=True)),
        ("x is negative", dict(symbol=x, upper=0.0, upper_strict=True)),
        ("x nonnegative", dict(symbol=x, lower=0.0, lower_strict=False)),
        ("N integer", dict(symbol=N, integer=True)),
        ("b real", dict(symbol=b, lower=-inf, upper=inf)),
    ],
)
def test_assumptions(text, expected):
    a = parse_assumption(text)
    assert isinstance(a, Assumption) and a.text == text
    for field, value in expected.items():
        assert getattr(a, field) == value, field


def test_latex_assumptions():
    assert parse_assumption(r"p = \sigma(b)", latex=True).definition == ps.sigmoid(b)
    a = parse_assumption(r"0 < p \le 1", latex=True)
    assert (a.lower, a.upper, a.lower_strict, a.upper_strict) == (0.0, 1.0, True, False)
    assert a.latex() == r"0 < p \le 1"


@pytest.mark.parametrize(
    "text, message",
    [
        ("x + y > 0", "bounds one symbol by numbers"),
        ("0 < p < q", "bounds one symbol by numbers"),
        ("0 < p < 1 < q", "bounds both `p` and `q`"),
        ("p = p + 1", "does not contain `p`"),
        ("x + 1 = y + 2", "must define a symbol"),
        ("x = [a, b]", "scalar expression"),
        ("x = 1 < y", "mixes `=` with inequalities"),
        ("x positve", "did you mean `positive`"),
        ("pi positive", "assumptions are about symbols"),
        ("x != 0", "operator `!=`"),
        ("x", "not an assumption"),
        ("2 < x < 1", "leaves no value"),
        ("1 < x > 2", "two lower bounds"),
        ("__import__('os') = 1", "name `__import__`"),
    ],
)
def test_assumption_errors(text, message):
    with pytest.raises(ps.ParseError, match=message):
        parse_assumption(text)


# ------------------------------------------------------------------ issue 8: decimal exponents, unevaluated calls

@pytest.mark.parametrize(
    "text, expected",
    [
        ("1e-300", sp.Rational(1, 10**300)),
        ("2.5e-3", sp.Rational(1, 400)),
        ("123.456e2", sp.Rational(61728, 5)),
        ("1_000.5", sp.Rational(2001, 2)),
        ("x*0e999999999", sp.S.Zero),
        ("0.000e-999999", sp.S.Zero),
    ],
)
def test_decimal_literals_are_exact_and_bounded_before_they_are_built(text, expected):
    start = time.perf_counter()
    assert parse(text) == expected
    assert time.perf_counter() - start < FAST


@pytest.mark.parametrize(
    "text, message",
    [
        ("1e-1000000000", "too small: decimal exponents are limited to ±300"),
        ("1e301", "too large"),
        ("1.5e-301", "too small"),
        ("1e" + "9" * 1000, "too large"),
        ("x + 1e-99999999999", "too small"),
    ],
)
def test_decimal_exponents_are_bounded_like_integers(text, message):
    start = time.perf_counter()
    with pytest.raises(ps.ParseError, match=message):
        parse(text)
    with pytest.raises(ps.ParseError, match=message):
        parse_assumption(f"x > {text}")
    assert time.perf_counter() - start < FAST


def test_assumption_bounds_round_into_the_domain():
    """``x >= 0.1`` is x >= 1/10: a float at the bound must satisfy it as written."""
    from fractions import Fraction

    low, high = parse_assumption("x >= 0.1"), parse_assumption("x <= 0.1")
    assert Fraction(low.lower) >= Fraction(1, 10) and Fraction(high.upper) <= Fraction(1, 10)
    assert parse_assumption("x > pi").lower > math.pi


def test_parse_has_a_time_budget():
    with pytest.raises(ps.AssumptionError, match="`timeout` must be a positive number"):
        parse("x", timeout=0)
