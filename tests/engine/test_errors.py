"""Each error path of the engine and its message: clear, naming the argument, and
never a traceback from inside SymPy or JAX."""

from __future__ import annotations

import jax
import pytest
import sympy as sp

import pricesym as ps

w1, w2 = sp.symbols("w1 w2", real=True)
CHECK = ps.autodiff(lambda v: jax.grad(lambda t: t**2)(v["w1"]))


def test_ntcov_shape_errors():
    with pytest.raises(ps.ShapeError, match="`params` is empty"):
        ps.ntcov(w1, w2, [])
    with pytest.raises(ps.ShapeError, match=r"`params` must hold SymPy symbols, but 2\*w1 is a Mul"):
        ps.ntcov(w1, w2, [2 * w1])
    with pytest.raises(ps.ShapeError, match="`G` must be 2×2"):
        ps.ntcov(w1, w2, [w1, w2], G=sp.eye(3))
    with pytest.raises(ps.ShapeError, match="repeats a symbol"):
        ps.ntvar(w1, [w1, w1])
    with pytest.raises(ps.ShapeError, match="a property must be a scalar or a vector"):
        ps.ntvar(sp.Matrix([[w1, w2], [w2, w1]]), [w1, w2])
    with pytest.raises(ps.ShapeError, match="needs the genotype covariance"):
        ps.gcov(w1, w2, [w1, w2], None)
    assert issubclass(ps.ShapeError, ValueError)


def test_derivation_needs_a_check():
    with pytest.raises(ps.RegistryError, match="has no check"):
        ps.Derivation(result=w1, symbols={w1: ps.uniform(0, 1)}, checks=())


def test_bad_derivation_names():
    with pytest.raises(ps.RegistryError, match="is not valid"):
        ps.derivation("Bad Name")
    with pytest.raises(ps.RegistryError, match="is not valid"):
        ps.derivation("a//b")


def test_docstring_is_required():
    with pytest.raises(ps.RegistryError, match="needs a docstring"):
        ps.derivation("user/nodoc")(lambda: None)


def test_undeclared_symbol_is_named(tmp_path):
    (tmp_path / "undeclared.py").write_text(
        '''
import jax, sympy as sp, pricesym as ps
x, y = sp.symbols("x y", real=True)

@ps.derivation("user/undeclared")
def f():
    """Uses y without a domain.

    .. math:: 2x + y
    """
    return ps.Derivation(result=2 * x + y, symbols={x: ps.uniform(0, 1)},
                         checks=(ps.autodiff(lambda v: 2 * v["x"]),))
'''
    )
    cat = ps.load(tmp_path / "undeclared.py")
    with pytest.raises(ps.RegistryError, match="uses `y` with no domain"):
        cat["user/undeclared"]


def test_duplicate_names_across_files(tmp_path):
    body = '''
import sympy as sp, pricesym as ps
x = sp.Symbol("x", real=True)

@ps.derivation("user/same")
def f():
    """Twice.

    .. math:: x
    """
    return ps.Derivation(result=x, symbols={x: ps.uniform(0, 1)}, checks=(ps.autodiff(lambda v: v["x"]),))
'''
    (tmp_path / "one.py").write_text(body)
    (tmp_path / "two.py").write_text(body)
    with pytest.raises(ps.RegistryError, match="registered twice"):
        ps.load(tmp_path)


def test_unknown_name_suggests(catalogue):
    with pytest.raises(ps.UnknownNameError, match="Did you mean `bernoulli/ntvar`"):
        catalogue["bernoulli/ntvarr"]


def test_domains_validate():
    with pytest.raises(ps.AssumptionError, match="lo <= hi"):
        ps.uniform(2, 1)
    with pytest.raises(ps.AssumptionError, match="lo > 0"):
        ps.log_uniform(0, 1)
    with pytest.raises(ps.AssumptionError, match="finite values"):
        ps.choice([])


def test_symbols_must_map_to_domains():
    with pytest.raises(ps.RegistryError, match="maps SymPy symbols to domains"):
        ps.Derivation(result=w1, symbols={w1: (0, 1)}, checks=(CHECK,))


def test_a_reference_that_raises_is_a_check_error():
    def broken(v):
        raise ValueError("nope")

    d = ps.Derivation(name="user/broken", result=w1, symbols={w1: ps.uniform(0, 1)}, checks=(ps.autodiff(broken),))
    with pytest.raises(ps.CheckError, match="could not run: ValueError: nope"):
        d.check()
