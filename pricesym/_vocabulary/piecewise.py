r"""Piecewise-linear activations: ReLU, leaky ReLU, and the step that is their derivative.

At the kink (x = 0) pricesym uses the *left* derivative, in SymPy and in JAX alike:
:math:`\operatorname{ReLU}'(0) = \theta(0) = 0` (`heaviside`, 0 at 0) and
:math:`\operatorname{LeakyReLU}'(0) = a`. Random instances are drawn away from kinks
(`Function.kinks`), where no identity between derivatives is checkable anyway.
"""

import mpmath
import numpy as np
import sympy as sp

from .base import DualKernel, Function, Notation


class heaviside(Notation):  # noqa: N801 - SymPy functions are lower case
    r"""The step :math:`H(x) = 1` for :math:`x > 0`, 0 for :math:`x \le 0` (so
    :math:`H(0) = 0`, the left limit). Its derivative is 0 away from the kink, and
    that is the rule here: the Dirac mass at 0 is where instances never go."""

    nargs = 1
    notation = r"\operatorname{H}"

    def fdiff(self, argindex=1):
        return sp.S.Zero

    @classmethod
    def eval(cls, x):
        if x.is_positive:
            return sp.S.One
        if x.is_nonpositive:
            return sp.S.Zero
        return None

    def _eval_rewrite_as_Heaviside(self, x, **kwargs):
        return sp.Heaviside(x, 0)

    def _eval_is_real(self):
        return self.args[0].is_real



class relu(Notation):  # noqa: N801 - SymPy functions are lower case
    r""":math:`\operatorname{ReLU}(x) = \max(x, 0)`, derivative :math:`\theta(x)` (0 at 0)."""

    nargs = 1
    notation = r"\operatorname{ReLU}"

    def fdiff(self, argindex=1):
        return heaviside(self.args[0])

    @classmethod
    def eval(cls, x):
        if x.is_number and x.is_real:
            return sp.Max(x, 0)
        if x.is_nonnegative:
            return x
        if x.is_nonpositive:
            return sp.S.Zero
        return None

    def _eval_rewrite_as_Heaviside(self, x, **kwargs):
        return x * sp.Heaviside(x, 0)

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(x, 0)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_nonnegative(self):
        return True if self.args[0].is_real else None


class leaky_relu(Notation):  # noqa: N801
    r""":math:`\operatorname{LeakyReLU}(x, a) = x` for :math:`x > 0`, :math:`a x` otherwise;
    derivative :math:`a + (1-a)\,\theta(x)` (``a`` at 0)."""

    nargs = 2
    notation = r"\operatorname{LeakyReLU}"

    def fdiff(self, argindex=1):
        x, a = self.args
        if argindex == 1:
            return a + (1 - a) * heaviside(x)
        return x * (1 - heaviside(x))

    @classmethod
    def eval(cls, x, a):
        if x.is_number and x.is_real:
            return x if x > 0 else a * x
        if x.is_positive:
            return x
        if x.is_nonpositive:
            return a * x
        return None

    def _eval_rewrite_as_Heaviside(self, x, a, **kwargs):
        return a * x + (1 - a) * x * sp.Heaviside(x, 0)

    def _eval_is_real(self):
        return (self.args[0].is_real and self.args[1].is_real) or None


def _jax_relu(x):
    from .._numeric.backend import jnp

    return jnp.where(x > 0, x, 0.0)  # gradient 0 at 0, as relu'(0) = 0


def _jax_leaky_relu(x, a):
    from .._numeric.backend import jnp

    return jnp.where(x > 0, x, a * x)  # gradient a at 0, the left derivative


def _jax_step(x):
    from .._numeric.backend import jnp

    return jnp.where(x > 0, 1.0, 0.0)


# --- infinite-width dual kernels (MATH.md K2) -------------------------------------
# With c = k12/sqrt(k11 k22) and theta = arccos c, Cho & Saul's arc-cosine kernels of
# degree 1 and 0 are E[relu(u) relu(v)] = sqrt(k11 k22) (sin theta + (pi - theta) cos theta)/(2 pi)
# and E[H(u) H(v)] = (pi - theta)/(2 pi). A piecewise-linear a min(x, 0) + b max(x, 0) is
# a x + (b - a) relu(x), and E[u relu(v)] = k12/2, which gives the leaky ReLU's.
CHO_SAUL = "Cho, Y. & Saul, L. K. (2009). Kernel methods for deep learning. NeurIPS 22."
TSUCHIDA = ("Tsuchida, R., Roosta-Khorasani, F. & Gallagher, M. (2018). Invariance of weight distributions in "
            "rectified MLPs. ICML; arXiv:1711.09090.")


def _angle(k11, k22, k12):
    return sp.acos(k12 / sp.sqrt(k11 * k22))


def _relu_value(k11, k22, k12, a=0, b=1):
    theta = _angle(k11, k22, k12)
    arc = sp.sqrt(k11 * k22) * (sp.sin(theta) + (sp.pi - theta) * sp.cos(theta)) / (2 * sp.pi)
    return a * b * k12 + (b - a) ** 2 * arc


def _relu_derivative(k11, k22, k12, a=0, b=1):
    return a * b + (b - a) ** 2 * (sp.pi - _angle(k11, k22, k12)) / (2 * sp.pi)


RELU_DUAL = DualKernel(value=_relu_value, derivative=_relu_derivative,
                       diagonal=lambda k, a=0, b=1: (a**2 + b**2) * k / 2, references=(CHO_SAUL, TSUCHIDA))
STEP_DUAL = DualKernel(value=lambda k11, k22, k12: (sp.pi - _angle(k11, k22, k12)) / (2 * sp.pi),
                       derivative=lambda k11, k22, k12: sp.S.Zero, diagonal=lambda k: sp.S.Half, references=(CHO_SAUL,))

ROWS = (
    Function(name="relu", sympy=relu, jax=_jax_relu, numpy=lambda x: np.maximum(x, 0.0),
             mpmath=lambda x: x if x > 0 else mpmath.mpf(0), kinks=(0.0,), dual=RELU_DUAL),
    Function(name="leaky_relu", sympy=leaky_relu, jax=_jax_leaky_relu,
             numpy=lambda x, a: np.where(x > 0, x, a * x), mpmath=lambda x, a: x if x > 0 else a * x,
             build=lambda x, a=sp.Rational(1, 100): leaky_relu(x, a), arity=(1, 2),
             example=lambda f, x: f(x, 0.1), kinks=(0.0,), dual=RELU_DUAL),
    # The derivative of the two above.
    Function(name="heaviside", sympy=heaviside, jax=_jax_step, numpy=lambda x: np.heaviside(x, 0.0),
             mpmath=lambda x: mpmath.mpf(1) if x > 0 else mpmath.mpf(0), kinks=(0.0,), dual=STEP_DUAL),
)
