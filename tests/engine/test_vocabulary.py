"""Every function of the vocabulary works in every stage: one table-driven test,
so a new row is tested by being added.

For each row, at points inside its domain and away from its kinks:
* a model written against the namespace gives the row's SymPy expression, and its
  JAX value agrees with the NumPy and mpmath implementations (three independent
  implementations of one function);
* `ps.ntvar` of it equals the square of `jax.grad` of the model (the SymPy
  derivative rule against autodiff of the JAX implementation);
* `ps.verify` proves the text form equal to the expression and refuses it times 1.01;
* `ps.parse` reads back its text form and (where the row says so) its LaTeX;
* `sympy.latex` and `ps.latex` print powers and products of it;
* `in_terms_of` eliminates the argument through the row's inverse, where it has one.
"""

from __future__ import annotations

import math

import jax
import mpmath
import numpy as np
import pytest
import sympy as sp

import pricesym as ps
from pricesym._verify.parse import to_text
from pricesym._vocabulary import VOCABULARY, lookup, modules, rows

x = sp.Symbol("x", real=True)
ROWS = rows()


def _points(row, n: int = 7) -> np.ndarray:
    """Points inside the row's domain (clipped to [-3, 3]), at least 0.1 from every kink."""
    lo, hi = row.domain
    lo = max(lo, -3.0) + (0.05 if math.isfinite(row.domain[0]) else 0.0)
    hi = min(hi, 3.0) - (0.05 if math.isfinite(row.domain[1]) else 0.0)
    grid = np.linspace(lo, hi, 4 * n)
    keep = np.all([np.abs(grid - k) > 0.1 for k in row.kinks], axis=0) if row.kinks else np.ones(grid.size, bool)
    return grid[keep][:: max(1, keep.sum() // n)]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_every_function_works_in_every_stage(row):
    expr = row.apply(x)
    points = _points(row)

    # @ps.model: both interpreters
    fn = ps.model(lambda np, v: row.apply(v, getattr(np, row.name)))
    assert fn.sympy(x) == expr
    jax_values = np.asarray([float(fn.jax(v)) for v in points])
    numpy_values = np.asarray(sp.lambdify(x, expr, modules=[modules("numpy"), "numpy"])(points), float)
    np.testing.assert_allclose(jax_values, numpy_values * np.ones_like(points), rtol=1e-12, atol=1e-14)
    precise = sp.lambdify(x, expr, modules=[modules("mpmath"), "mpmath"])
    with mpmath.workdps(30):
        mp_values = np.asarray([float(precise(mpmath.mpf(float(v)))) for v in points])
    np.testing.assert_allclose(jax_values, mp_values, rtol=1e-12, atol=1e-14)

    # ps.ntvar (the derivative rule) against autodiff of the JAX implementation
    grads = np.asarray([float(jax.grad(fn.jax)(v)) for v in points])
    ntvar = ps.evaluate(ps.ntvar(expr, [x]), {x: points})
    np.testing.assert_allclose(ntvar, grads**2, rtol=1e-10, atol=1e-12)

    # ps.verify of text, and a 1 % error refused
    lo, hi = float(points.min()), float(points.max())
    bounds = [f"{lo!r} < x < {hi!r}"]
    assert ps.verify(to_text(expr), expr, assume=bounds).equal
    wrong = ps.verify(to_text(expr), f"1.01*({to_text(expr)})", assume=bounds)
    assert wrong.status == "not equal" or not np.any(numpy_values)

    # ps.parse: text, and LaTeX where the notation is one the reader knows
    assert ps.verify(ps.parse(to_text(expr)), expr, assume=bounds).equal
    if row.latex_readable:
        assert ps.verify(ps.parse(ps.latex(expr), latex=True), expr, assume=bounds).equal

    # LaTeX: powers and products, by pricesym's printer and by plain sympy.latex
    for e in (expr**2, expr * sp.diff(expr, x), expr**3 / (1 + expr**2)):
        assert sp.latex(e) and ps.latex(e)
    notation = getattr(row.sympy, "notation", "")
    if notation:
        assert notation in sp.latex(expr**2) and notation in ps.latex(expr)

    # in_terms_of through the inverse
    if row.inverse is not None:
        y = sp.Symbol("y", real=True)
        rewritten = ps.in_terms_of(sp.diff(expr, x), {y: expr})
        assert x not in rewritten.free_symbols, rewritten


def test_names_and_aliases_resolve_to_one_row():
    assert lookup("ln") is lookup("log") and lookup("swish") is lookup("silu")
    assert set(VOCABULARY) >= {"sigmoid", "logit", "softmax", "tanh", "exp", "log", "softplus", "erf", "relu",
                               "leaky_relu", "gelu", "silu"}
    with pytest.raises(ps.UnknownNameError, match="known: exp, log"):
        lookup("mish")


def test_derivatives_are_written_through_the_functions_themselves():
    assert sp.diff(ps.softplus(x), x) == ps.sigmoid(x)
    assert sp.diff(ps.relu(x), x) == ps.heaviside(x)
    assert sp.diff(ps.silu(x), x).has(ps.sigmoid)
    b = sp.Symbol("b", real=True)
    assert ps.ntvar(ps.softplus(b), [b]) == ps.sigmoid(b) ** 2


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "abs"])
def test_kinks_use_one_rule_in_sympy_and_jax(name):
    """At the kink, the SymPy derivative rule and JAX's gradient give the same value."""
    row = lookup(name)
    fn = ps.model(lambda np, v: row.apply(v, getattr(np, row.name)))
    for kink in row.kinks:
        symbolic = float(sp.diff(row.apply(x), x).subs(x, kink))
        assert symbolic == float(jax.grad(fn.jax)(float(kink)))


def test_vocabulary_functions_refuse_strings():
    for cls in (ps.sigmoid, ps.logit, ps.softplus, ps.relu, ps.gelu, ps.silu):
        with pytest.raises(ps.ParseError, match="not the string"):
            cls("__import__('os')")
