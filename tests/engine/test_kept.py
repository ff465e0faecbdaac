"""What is kept between runs besides compiled XLA: traced programs (`jit`), lambdify's
generated source and the results of pure symbolic functions. Each is keyed by all that
decides it, read back only on an exact key, ignored when damaged, off with
PRICESYM_NO_CACHE, and never holds a value computed from a check's inputs."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import pricesym as ps
from pricesym._cache import code_digest
from pricesym._check import lambdified as lam
from pricesym._numeric import fixation, programs
from pricesym._numeric.backend import jax, jnp
from pricesym._numeric.estimators import Estimate, estimate
from pricesym._vocabulary import modules


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PRICESYM_NO_CACHE", raising=False)
    return tmp_path / "pricesym"


def _files(folder):
    return sorted(folder.glob("*.pickle")) if folder.exists() else []


# ----------------------------------------------------------------------------- traced programs


def test_a_kept_program_computes_what_jax_jit_computes_and_is_read_back(cache, monkeypatch):
    samples = jnp.asarray(np.random.default_rng(0).normal(size=(50, 3)))
    want = jax.jit(estimate)(samples)
    got = programs.jit(estimate, static_argnames="axis")(samples)
    assert isinstance(got, Estimate)  # the output's structure survives the round trip
    np.testing.assert_array_equal(got.mean, want.mean)
    np.testing.assert_array_equal(got.se, want.se)
    (kept,) = _files(cache / "programs")

    def no_export(*args, **kwargs):
        raise AssertionError("traced again although the program was kept")

    monkeypatch.setattr(programs.jax.export, "export", no_export)
    fresh = programs.jit(estimate, static_argnames="axis")  # as in a new process: nothing in memory
    other = jnp.asarray(np.random.default_rng(1).normal(size=(50, 3)))  # other values, same shapes
    np.testing.assert_array_equal(fresh(other).mean, jax.jit(estimate)(other).mean)  # computed, not remembered
    kept.write_bytes(b"half a fi")  # a run killed while writing, or another JAX's file
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache.parent))
    np.testing.assert_array_equal(programs.jit(estimate, static_argnames="axis")(samples).mean, want.mean)  # exported again


def test_each_shape_and_static_value_has_its_own_program(cache):
    kernel = fixation._moran_kernel  # a pricesym factory: closures over (trials, lanes, timed)
    first, second = kernel(64, 8, False), kernel(128, 8, False)
    assert first._key != second._key  # the closure's values are in the key
    f = programs.jit(estimate, static_argnames="axis")
    f(jnp.ones((4, 2)))
    f(jnp.ones((5, 2)))
    f(jnp.ones((5, 2), dtype=jnp.int32))
    assert len(_files(cache / "programs")) == 3


def test_code_outside_pricesym_is_traced_as_by_jax_jit(cache):
    def mine(x):
        return jnp.sin(x) * 2

    assert code_digest(__file__) is None  # a user's module may import code no digest covers
    f = programs.jit(mine)
    np.testing.assert_array_equal(f(jnp.arange(3.0)), jnp.sin(jnp.arange(3.0)) * 2)
    assert not _files(cache / "programs")


def test_under_a_trace_a_kept_program_is_inlined(cache):
    f = programs.jit(estimate, static_argnames="axis")
    batched = jax.vmap(lambda s: f(s).mean)(jnp.arange(24.0).reshape(2, 6, 2))
    np.testing.assert_allclose(batched, [[5.0, 6.0], [17.0, 18.0]], rtol=1e-15)
    assert not _files(cache / "programs")  # nothing exported from inside a trace


def test_no_cache_keeps_no_program(cache, monkeypatch):
    monkeypatch.setenv("PRICESYM_NO_CACHE", "1")
    programs.jit(estimate, static_argnames="axis")(jnp.ones((3, 2)))
    assert not _files(cache / "programs")


# ----------------------------------------------------------------------------- lambdify's source

a, b = sp.symbols("a b", positive=True)
CLOSED = [sp.exp(-a) * sp.sin(b) + sp.Max(a, b) + ps.sigmoid(a * b), sp.erf(a) / (1 + b**2)]


def _numbers(fn):
    return np.asarray(fn(np.array([0.3, 1.7]), np.array([2.0, 0.4])), dtype=float)


def test_lambdify_source_is_kept_and_rebuilds_the_same_function(cache, monkeypatch):
    want = _numbers(sp.lambdify([a, b], CLOSED, modules=[modules("numpy"), "numpy"]))
    np.testing.assert_array_equal(_numbers(lam.lambdified([a, b], CLOSED, "numpy")), want)
    (kept,) = _files(cache / "lambdify")
    monkeypatch.setattr(lam, "_lambdify", lambda *args: pytest.fail("printed again although kept"))
    np.testing.assert_array_equal(_numbers(lam.lambdified([a, b], CLOSED, "numpy")), want)  # read back
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache.parent))
    kept.write_bytes(b"\x80\x05garbage")
    np.testing.assert_array_equal(_numbers(lam.lambdified([a, b], CLOSED, "numpy")), want)
    np.testing.assert_array_equal(_numbers(lam.lambdified([a, b], [2 * c for c in CLOSED], "numpy")), 2 * want)
    assert len(_files(cache / "lambdify")) == 2  # its own entry: the exact expression is the key


def test_an_expression_with_a_dummy_is_not_kept(cache):
    d = sp.Dummy("d")
    fn = lam.lambdified([a, d], [a + d], "numpy")
    assert fn(1.0, 2.0) == [3.0]
    assert not _files(cache / "lambdify")


# ----------------------------------------------------------------------------- symbolic results


def test_a_symbolic_result_is_kept_and_equal(cache, monkeypatch):
    eta, h = sp.symbols("eta h", positive=True)
    expr = -1 / (eta * h - 2) + 1 / (eta * h - 2) ** 2
    want = ps.tidy(expr)
    (kept,) = _files(cache / "kept")
    again = ps.tidy(expr)
    assert again == want and sp.srepr(again) == sp.srepr(want)
    with pytest.raises(ps.ParseError):
        ps.tidy("eta*h")  # text is refused before anything is keyed or kept
    assert _files(cache / "kept") == [kept]


def test_a_jax_transform_of_user_code_is_not_kept(cache):
    def mine(x):
        return jnp.sum(jnp.sin(x))

    assert programs.function_key(jax.grad(mine)) is None  # JAX's wrapper holds `mine`, which no digest covers
    np.testing.assert_allclose(programs.jit(jax.grad(mine))(jnp.arange(3.0)), jnp.cos(jnp.arange(3.0)), rtol=1e-15)
    assert not _files(cache / "programs")
    tanh = ps.kernels.activation("tanh").jax()  # pricesym's wrapper of jax.numpy.tanh, resolved on its first call
    np.testing.assert_allclose(tanh(jnp.asarray(0.5)), np.tanh(0.5), rtol=1e-15)
    assert programs.function_key(tanh) is not None  # pricesym's and JAX's code: decided by their digest and version


def test_a_jax_transform_of_pricesym_code_is_kept_per_function(cache):
    """The activation derivatives of the kernels' quadrature (jnp.vectorize of jax.grad of a
    vocabulary function) are keyed through JAX's wrappers, each by the function it holds."""
    from pricesym._numeric.gaussian_pairs import elementwise_derivative

    gelu, erf = (elementwise_derivative(ps.kernels.activation(name).jax()) for name in ("gelu", "erf"))
    keys = programs.function_key(gelu), programs.function_key(erf)
    assert None not in keys and keys[0] != keys[1]
    assert programs.function_key(elementwise_derivative(ps.kernels.activation("gelu").jax())) == keys[0]
    x = jnp.linspace(-2.0, 2.0, 5)
    got = programs.jit(lambda x: gelu(x) + 0.0 * erf(x))(x)
    np.testing.assert_allclose(got, jax.vmap(jax.grad(ps.kernels.activation("gelu").jax()))(x), rtol=1e-14)
