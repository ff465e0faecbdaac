"""Elementary functions: SymPy's own classes, with their JAX, NumPy and mpmath forms."""

import math

import mpmath
import numpy as np
import sympy as sp

from .base import DualKernel, Function, lazy


def _jax_abs(x):
    from .._numeric.backend import jnp

    return x * jnp.sign(x)  # gradient sign(x): 0 at 0, as SymPy's rule


# --- infinite-width dual kernels (MATH.md K2) -------------------------------------
# sin and cos: E[cos(u -+ v)] = exp(-Var(u -+ v)/2) (the Gaussian characteristic function),
# with sin u sin v = (cos(u - v) - cos(u + v))/2 and cos u cos v = (cos(u - v) + cos(u + v))/2.
# exp: the log-normal moment E[e^(u + v)] = exp(Var(u + v)/2). |x| = -x + 2 relu(x): the
# arc-cosine kernel of degree 1 (Cho & Saul 2009) gives E[|u||v|].
PEARCE = ("Pearce, T., Tsuchida, R., Zaki, M., Brintrup, A. & Neely, A. (2020). Expressive priors in Bayesian "
          "neural networks: kernel combinations and periodic functions. UAI 2019, PMLR 115.")
NEURAL_TANGENTS = ("Novak, R., Xiao, L., Hron, J., Lee, J., Alemi, A. A., Sohl-Dickstein, J. & Schoenholz, S. S. (2020). "
                   "Neural Tangents: fast and easy infinite neural networks in Python. ICLR; arXiv:1912.02803.")


def _damping(k11, k22):
    return sp.exp(-(k11 + k22) / 2)


SIN_DUAL = DualKernel(value=lambda k11, k22, k12: _damping(k11, k22) * sp.sinh(k12),
                      derivative=lambda k11, k22, k12: _damping(k11, k22) * sp.cosh(k12),
                      diagonal=lambda k: (1 - sp.exp(-2 * k)) / 2, references=(PEARCE,))
COS_DUAL = DualKernel(value=lambda k11, k22, k12: _damping(k11, k22) * sp.cosh(k12),
                      derivative=lambda k11, k22, k12: _damping(k11, k22) * sp.sinh(k12),
                      diagonal=lambda k: (1 + sp.exp(-2 * k)) / 2, references=(PEARCE,))
EXP_DUAL = DualKernel(value=lambda k11, k22, k12: sp.exp((k11 + k22) / 2 + k12),
                      derivative=lambda k11, k22, k12: sp.exp((k11 + k22) / 2 + k12),
                      diagonal=lambda k: sp.exp(2 * k), references=(NEURAL_TANGENTS,))
ABS_DUAL = DualKernel(
    value=lambda k11, k22, k12: 2 / sp.pi * (sp.sqrt(k11 * k22 - k12**2) + k12 * sp.asin(k12 / sp.sqrt(k11 * k22))),
    derivative=lambda k11, k22, k12: 2 / sp.pi * sp.asin(k12 / sp.sqrt(k11 * k22)),
    diagonal=lambda k: k, references=("Cho, Y. & Saul, L. K. (2009). Kernel methods for deep learning. NeurIPS 22.",))

ROWS = (
    Function(name="exp", sympy=sp.exp, jax=lazy("jax.numpy.exp"), numpy=np.exp, mpmath=mpmath.exp,
             inverse=sp.log, dual=EXP_DUAL),
    Function(name="log", sympy=sp.log, jax=lazy("jax.numpy.log"), numpy=np.log, mpmath=mpmath.log,
             aliases=("ln",), inverse=sp.exp, domain=(0.0, math.inf)),
    Function(name="sqrt", sympy=sp.sqrt, jax=lazy("jax.numpy.sqrt"), numpy=np.sqrt, mpmath=mpmath.sqrt,
             inverse=lambda y: y**2, domain=(0.0, math.inf)),
    Function(name="sin", sympy=sp.sin, jax=lazy("jax.numpy.sin"), numpy=np.sin, mpmath=mpmath.sin, dual=SIN_DUAL),
    Function(name="cos", sympy=sp.cos, jax=lazy("jax.numpy.cos"), numpy=np.cos, mpmath=mpmath.cos, dual=COS_DUAL),
    Function(name="tan", sympy=sp.tan, jax=lazy("jax.numpy.tan"), numpy=np.tan, mpmath=mpmath.tan,
             domain=(-math.pi / 2, math.pi / 2)),
    Function(name="sinh", sympy=sp.sinh, jax=lazy("jax.numpy.sinh"), numpy=np.sinh, mpmath=mpmath.sinh,
             inverse=sp.asinh),
    Function(name="cosh", sympy=sp.cosh, jax=lazy("jax.numpy.cosh"), numpy=np.cosh, mpmath=mpmath.cosh),
    Function(name="tanh", sympy=sp.tanh, jax=lazy("jax.numpy.tanh"), numpy=np.tanh, mpmath=mpmath.tanh,
             inverse=sp.atanh),
    # |x|' = sign(x), 0 at the kink, in SymPy and (x sign x) in JAX alike.
    Function(name="abs", sympy=sp.Abs, jax=_jax_abs, numpy=np.abs, mpmath=mpmath.fabs, kinks=(0.0,), dual=ABS_DUAL),
)
