"""`ps.tidy` and `in_terms_of`: targeted rewrites, constraints used where they shorten."""

import sympy as sp

import pricesym as ps

theta = sp.symbols("theta0:3", real=True)
pi = sp.symbols("pi0:3", positive=True)
p, q, tau = sp.symbols("p q tau", positive=True)


def test_softmax_results_use_that_the_probabilities_sum_to_one():
    observables = {pi[i]: ps.Softmax(i, *theta) for i in range(3)}
    entropy_term = tau - tau * sum(ps.Softmax(i, *theta) for i in range(3))  # zero, since sum(pi) = 1
    assert ps.in_terms_of(entropy_term + ps.Softmax(0, *theta) ** 2, observables) == pi[0] ** 2


def test_constraints_are_used_only_where_they_shorten():
    assert ps.tidy(p * q + q**2 - q, [p + q - 1]) == 0
    assert ps.tidy(p * (1 - p), [p + q - 1]) == p * (1 - p)
    assert ps.tidy(-2 * p * (p - 1)) == 2 * p * (1 - p)


def test_in_terms_of_keeps_one_factored_term_per_unit():
    u = sp.symbols("u0:3", real=True)
    v = sp.symbols("v0:3", real=True)
    x, y = sp.symbols("x y", real=True)
    h = sp.symbols("h0:3", real=True)
    k = sp.symbols("k0:3", real=True)
    kernel = sum(v[j] ** 2 * x * y * (1 - sp.tanh(u[j] * x) ** 2) * (1 - sp.tanh(u[j] * y) ** 2)
                 + sp.tanh(u[j] * x) * sp.tanh(u[j] * y) for j in range(3))
    observables = {**{h[j]: sp.tanh(u[j] * x) for j in range(3)}, **{k[j]: sp.tanh(u[j] * y) for j in range(3)}}
    out = ps.in_terms_of(kernel, observables)
    assert isinstance(out, sp.Add) and len(out.args) == 6  # one kernel term and one product term per unit
    assert not out.has(*u)
