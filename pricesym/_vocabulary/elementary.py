"""Elementary functions: SymPy's own classes, with their JAX, NumPy and mpmath forms."""

import math

import mpmath
import numpy as np
import sympy as sp

from .base import Function, lazy


def _jax_abs(x):
    from .._numeric.backend import jnp

    return x * jnp.sign(x)  # gradient sign(x): 0 at 0, as SymPy's rule


ROWS = (
    Function(name="exp", sympy=sp.exp, jax=lazy("jax.numpy.exp"), numpy=np.exp, mpmath=mpmath.exp,
             inverse=sp.log),
    Function(name="log", sympy=sp.log, jax=lazy("jax.numpy.log"), numpy=np.log, mpmath=mpmath.log,
             aliases=("ln",), inverse=sp.exp, domain=(0.0, math.inf)),
    Function(name="sqrt", sympy=sp.sqrt, jax=lazy("jax.numpy.sqrt"), numpy=np.sqrt, mpmath=mpmath.sqrt,
             inverse=lambda y: y**2, domain=(0.0, math.inf)),
    Function(name="sin", sympy=sp.sin, jax=lazy("jax.numpy.sin"), numpy=np.sin, mpmath=mpmath.sin),
    Function(name="cos", sympy=sp.cos, jax=lazy("jax.numpy.cos"), numpy=np.cos, mpmath=mpmath.cos),
    Function(name="tan", sympy=sp.tan, jax=lazy("jax.numpy.tan"), numpy=np.tan, mpmath=mpmath.tan,
             domain=(-math.pi / 2, math.pi / 2)),
    Function(name="sinh", sympy=sp.sinh, jax=lazy("jax.numpy.sinh"), numpy=np.sinh, mpmath=mpmath.sinh,
             inverse=sp.asinh),
    Function(name="cosh", sympy=sp.cosh, jax=lazy("jax.numpy.cosh"), numpy=np.cosh, mpmath=mpmath.cosh),
    Function(name="tanh", sympy=sp.tanh, jax=lazy("jax.numpy.tanh"), numpy=np.tanh, mpmath=mpmath.tanh,
             inverse=sp.atanh),
    # |x|' = sign(x), 0 at the kink, in SymPy and (x sign x) in JAX alike.
    Function(name="abs", sympy=sp.Abs, jax=_jax_abs, numpy=np.abs, mpmath=mpmath.fabs, kinks=(0.0,)),
)
