"""The one front door: `pricesym/__init__.py` re-exports exactly `__all__`."""

import sympy as sp

import pricesym as ps


def test_all_matches_public_names():
    public = {n for n in vars(ps) if not n.startswith("_")}
    modules = {"numeric"}  # public submodule for writing references
    assert set(ps.__all__) == public - modules - {n for n in public if type(getattr(ps, n)).__name__ == "module"}


def test_issue_example_in_observables():
    b = sp.Symbol("b", real=True)
    assert ps.ntvar(ps.sigmoid(b), [b]) == ps.sigmoid(b) ** 2 * (1 - ps.sigmoid(b)) ** 2
    p = sp.Symbol("p", positive=True)
    assert ps.in_terms_of(sp.cosh(b / 2) ** -4 / 16, {p: ps.sigmoid(b)}) == p**2 * (1 - p) ** 2


def test_sigmoid_and_logit_rules():
    z = sp.Symbol("z", real=True)
    assert sp.diff(ps.sigmoid(z), z) == ps.sigmoid(z) * (1 - ps.sigmoid(z))
    assert ps.sigmoid(0) == sp.S.Half
    assert ps.logit(ps.sigmoid(z)) == z and ps.sigmoid(ps.logit(z)) == z
    assert ps.sigmoid(-z) == 1 - ps.sigmoid(z)


def test_softmax_derivative_through_itself():
    t = sp.symbols("t0:3", real=True)
    pi = ps.softmax(t)
    assert sp.diff(pi[0], t[1]) == -pi[0] * pi[1]
    assert sp.diff(pi[0], t[0]) == pi[0] * (1 - pi[0])


def test_derivation_renders_itself_in_jupyter(catalogue):
    tex = catalogue["bernoulli/ntvar"]._repr_latex_()
    assert tex.startswith(r"$$\begin{aligned}\operatorname{ntvar}\left(p\right) &= p^{2} \left(1 - p\right)^{2}")
    assert r"\text{where } p = \sigma\left(b\right)" in tex  # the observable's definition
    report = catalogue["bernoulli/ntvar"].check()
    html = report._repr_html_()
    assert html.count("<tr>") == len(report) + 1 and "PASS" in html and "float64 round-off" in html


def test_model_has_two_interpreters():
    @ps.model
    def f(np, w):
        return np.tanh(w[0]) * w[1]

    w = sp.symbols("w0 w1", real=True)
    assert f.sympy(list(w)) == sp.tanh(w[0]) * w[1]
    import jax.numpy as jnp

    assert float(f.jax(jnp.array([0.0, 2.0]))) == 0.0
    try:
        f(w)
    except TypeError as exc:
        assert ".sympy(" in str(exc)
    else:
        raise AssertionError("calling a model directly must say which interpreter to use")
