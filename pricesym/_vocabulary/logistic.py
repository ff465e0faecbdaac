r"""The logistic family: sigmoid, logit, softplus, SiLU and softmax.

Each derivative is written through the functions themselves, so results stay in
observables: :math:`\sigma' = \sigma(1-\sigma)`, :math:`\operatorname{softplus}' = \sigma`,
:math:`\operatorname{SiLU}'(x) = \sigma(x)(1 + x(1-\sigma(x)))`,
:math:`\partial\pi_i/\partial\theta_j = \pi_i(\delta_{ij}-\pi_j)`.
"""

import mpmath
import numpy as np
import sympy as sp

from .._errors import NotSupportedError
from .base import Function, Notation, lazy

# SciPy is imported on first use, so `import pricesym` stays fast.
_expit = lazy("scipy.special.expit")
_logit = lazy("scipy.special.logit")


class sigmoid(Notation):  # noqa: N801 - SymPy functions are lower case
    r"""The logistic function :math:`\sigma(z) = 1/(1+e^{-z})`, with
    :math:`\sigma'(z) = \sigma(z)(1-\sigma(z))`."""

    nargs = 1
    notation = r"\sigma"

    def fdiff(self, argindex=1):
        return self * (1 - self)

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.Half
        if isinstance(z, logit):
            return z.args[0]
        if z.is_Float:
            return 1 / (1 + sp.exp(-z))
        if z.could_extract_minus_sign():
            return 1 - cls(-z)
        return None

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return True if self.args[0].is_real else None


class logit(Notation):  # noqa: N801
    r"""The inverse of the sigmoid, :math:`\operatorname{logit}(p) = \ln\frac{p}{1-p}`."""

    nargs = 1
    notation = r"\operatorname{logit}"

    def fdiff(self, argindex=1):
        p = self.args[0]
        return 1 / (p * (1 - p))

    @classmethod
    def eval(cls, p):
        if isinstance(p, sigmoid):
            return p.args[0]
        if p == sp.S.Half:
            return sp.S.Zero
        if p.is_Float:
            return sp.log(p / (1 - p))
        return None

    def _eval_rewrite_as_log(self, p, **kwargs):
        return sp.log(p / (1 - p))


class softplus(Notation):  # noqa: N801
    r""":math:`\operatorname{softplus}(x) = \ln(1+e^{x})`, with derivative :math:`\sigma(x)`."""

    nargs = 1
    notation = r"\operatorname{softplus}"

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.log(2)
        if x.is_Float:
            return sp.log(1 + sp.exp(x))
        return None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return True if self.args[0].is_real else None


class silu(Notation):  # noqa: N801
    r""":math:`\operatorname{SiLU}(x) = x\,\sigma(x)` (swish), with derivative
    :math:`\sigma(x)\,(1 + x(1-\sigma(x)))`."""

    nargs = 1
    notation = r"\operatorname{SiLU}"

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sigmoid(x) * (1 + x * (1 - sigmoid(x)))

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.Zero
        if x.is_Float:
            return x / (1 + sp.exp(-x))
        return None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return x / (1 + sp.exp(-x))

    def _eval_rewrite_as_sigmoid(self, x, **kwargs):
        return x * sigmoid(x)

    def _eval_is_real(self):
        return self.args[0].is_real


class Softmax(Notation):
    r"""Component ``i`` of the softmax of the logits ``(θ_0, …, θ_{k-1})``:
    :math:`\pi_i = e^{\theta_i}/\sum_j e^{\theta_j}`, with
    :math:`\partial\pi_i/\partial\theta_j = \pi_i(\delta_{ij} - \pi_j)`.

    Arguments are ``(i, θ_0, …, θ_{k-1})`` with ``i`` a 0-based integer."""

    notation = r"\operatorname{softmax}"

    @classmethod
    def eval(cls, i, *logits):
        if not (i.is_Integer and 0 <= int(i) < len(logits)):
            raise NotSupportedError(
                f"`Softmax` index {i!r} must be an integer in [0, {len(logits)}); "
                "build components with `ps.softmax(logits)`."
            )
        return None

    def fdiff(self, argindex=1):
        if argindex == 1:
            raise NotSupportedError("`Softmax` is not differentiable in its index.")
        i = int(self.args[0])
        j = argindex - 2
        logits = self.args[1:]
        return self * ((1 if i == j else 0) - Softmax(j, *logits))

    def _eval_rewrite_as_exp(self, i, *logits, **kwargs):
        return sp.exp(logits[int(i)]) / sp.Add(*[sp.exp(t) for t in logits])

    def _eval_is_positive(self):
        return True if all(t.is_real for t in self.args[1:]) else None

    def _latex(self, printer, exp=None):
        logits = ", ".join(printer._print(t) for t in self.args[1:])
        power = "" if exp is None else "^{%s}" % exp
        return r"%s\left(%s\right)_{%s}%s" % (self.notation, logits, printer._print(self.args[0]), power)


def softmax(logits, index=None):
    """The softmax of a sequence of logits, as a column of `Softmax` components
    (component ``index`` alone, when given)."""
    logits = list(logits)
    if index is not None:
        return Softmax(index, *logits)
    return sp.ImmutableMatrix([Softmax(i, *logits) for i in range(len(logits))])


def _jax_logit(p):
    from .._numeric.backend import jnp

    return jnp.log(p) - jnp.log1p(-p)


def _jax_softmax(i, *logits):
    from .._numeric.backend import jax, jnp

    return jax.nn.softmax(jnp.stack(logits))[int(i)]


def _numpy_softmax(i, *logits):
    z = np.stack(np.broadcast_arrays(*logits))
    from scipy.special import softmax as scipy_softmax

    return scipy_softmax(z, axis=0)[int(i)]


def _mpmath_softmax(i, *logits):
    top = max(logits)
    return mpmath.exp(logits[int(i)] - top) / mpmath.fsum(mpmath.exp(t - top) for t in logits)


ROWS = (
    Function(name="sigmoid", sympy=sigmoid, jax=lazy("jax.nn.sigmoid"), numpy=_expit,
             mpmath=lambda x: 1 / (1 + mpmath.exp(-x)), inverse=lambda y: sp.log(y / (1 - y))),
    Function(name="logit", sympy=logit, jax=_jax_logit, numpy=_logit,
             mpmath=lambda p: mpmath.log(p / (1 - p)), inverse=sigmoid, domain=(0.0, 1.0)),
    Function(name="softplus", sympy=softplus, jax=lazy("jax.nn.softplus"), numpy=lambda x: np.logaddexp(0.0, x),
             mpmath=lambda x: mpmath.log1p(mpmath.exp(x)), inverse=lambda y: sp.log(sp.exp(y) - 1)),
    Function(name="silu", sympy=silu, jax=lazy("jax.nn.silu"), numpy=lambda x: x * _expit(x),
             mpmath=lambda x: x / (1 + mpmath.exp(-x)), aliases=("swish",)),
    Function(name="softmax", sympy=Softmax, jax=_jax_softmax, numpy=_numpy_softmax, mpmath=_mpmath_softmax,
             build=softmax, arity=(1, 2), example=lambda f, x: f([x, 2 * x, 0 * x])[0], vector=True),
)
