r"""The Gaussian family: the error function and the exact GELU.

:math:`\operatorname{erf}'(x) = \tfrac{2}{\sqrt\pi}e^{-x^2}`;
:math:`\operatorname{GELU}(x) = x\,\Phi(x) = \tfrac x2\big(1 + \operatorname{erf}(x/\sqrt2)\big)`
(the exact form, not the tanh approximation), with derivative
:math:`\Phi(x) + x\,\varphi(x)`.
"""

import mpmath
import sympy as sp

from .base import Function, Notation, lazy

# SciPy is imported on first use, so `import pricesym` stays fast.
_erf = lazy("scipy.special.erf")


class gelu(Notation):  # noqa: N801 - SymPy functions are lower case
    r""":math:`\operatorname{GELU}(x) = x\,\Phi(x)` (exact, erf form)."""

    nargs = 1
    notation = r"\operatorname{GELU}"

    def fdiff(self, argindex=1):
        x = self.args[0]
        return (1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.Zero
        if x.is_Float:
            return x * (1 + sp.erf(x / sp.sqrt(2))) / 2
        return None

    def _eval_rewrite_as_erf(self, x, **kwargs):
        return x * (1 + sp.erf(x / sp.sqrt(2))) / 2

    def _eval_is_real(self):
        return self.args[0].is_real


def _jax_gelu(x):
    from .._numeric.backend import jax

    return jax.nn.gelu(x, approximate=False)


ROWS = (
    Function(name="erf", sympy=sp.erf, jax=lazy("jax.scipy.special.erf"), numpy=_erf, mpmath=mpmath.erf,
             inverse=sp.erfinv),
    Function(name="gelu", sympy=gelu, jax=_jax_gelu,
             numpy=lambda x: x * (1 + _erf(x / 2**0.5)) / 2,
             mpmath=lambda x: x * (1 + mpmath.erf(x / mpmath.sqrt(2))) / 2),
)
