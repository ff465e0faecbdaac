r"""The Gaussian family: the error function and the exact GELU.

:math:`\operatorname{erf}'(x) = \tfrac{2}{\sqrt\pi}e^{-x^2}`;
:math:`\operatorname{GELU}(x) = x\,\Phi(x) = \tfrac x2\big(1 + \operatorname{erf}(x/\sqrt2)\big)`
(the exact form, not the tanh approximation), with derivative
:math:`\Phi(x) + x\,\varphi(x)`.
"""

import mpmath
import sympy as sp

from .base import DualKernel, Function, Notation, lazy

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


# --- infinite-width dual kernels (MATH.md K2) -------------------------------------
# erf (Williams 1997): (4/pi) E[exp(-u^2 - v^2)] = (4/pi)/sqrt(det(I + 2K)) is E[erf' erf'],
# and integrating it in k12 from 0 (Price's theorem) gives the arcsine kernel.
# GELU x Phi(x) (Tsuchida et al. 2021): with a = 1 + k11, b = 1 + k22, D = ab - k12^2,
# Stein's lemma and Gaussian reweighting give the forms below (derived step by step in
# the catalogue entry `kernels/duals`).
WILLIAMS = "Williams, C. K. I. (1997). Computing with infinite networks. NeurIPS 9."
TSUCHIDA_GELU = ("Tsuchida, R., Pearce, T., van der Heide, C., Roosta, F. & Gallagher, M. (2021). Avoiding kernel "
                 "fixed points: computing with ELU and GELU infinite networks. AAAI; arXiv:2002.08517.")


def _erf_value(k11, k22, k12):
    return 2 / sp.pi * sp.asin(2 * k12 / sp.sqrt((1 + 2 * k11) * (1 + 2 * k22)))


def _erf_derivative(k11, k22, k12):
    return 4 / sp.pi / sp.sqrt((1 + 2 * k11) * (1 + 2 * k22) - 4 * k12**2)


def _gelu_value(k11, k22, k12):
    a, b = 1 + k11, 1 + k22
    det = a * b - k12**2
    return (k12 / 4 + k12 * sp.asin(k12 / sp.sqrt(a * b)) / (2 * sp.pi)
            + (k11 * k22 * det + k12**2) / (2 * sp.pi * a * b * sp.sqrt(det)))


def _gelu_derivative(k11, k22, k12):
    a, b = 1 + k11, 1 + k22
    det = a * b - k12**2
    return (sp.Rational(1, 4) + sp.asin(k12 / sp.sqrt(a * b)) / (2 * sp.pi)
            + k12 * (a + b) / (2 * sp.pi * a * b * sp.sqrt(det)) + k12 / (2 * sp.pi * det ** sp.Rational(3, 2)))


def _gelu_diagonal(k):
    return k / 4 + k * sp.asin(k / (1 + k)) / (2 * sp.pi) + k**2 / (sp.pi * (1 + k) * sp.sqrt(1 + 2 * k))


ERF_DUAL = DualKernel(value=_erf_value, derivative=_erf_derivative,
                      diagonal=lambda k: 2 / sp.pi * sp.asin(2 * k / (1 + 2 * k)), references=(WILLIAMS,))
GELU_DUAL = DualKernel(value=_gelu_value, derivative=_gelu_derivative, diagonal=_gelu_diagonal,
                       references=(TSUCHIDA_GELU,))

ROWS = (
    Function(name="erf", sympy=sp.erf, jax=lazy("jax.scipy.special.erf"), numpy=_erf, mpmath=mpmath.erf,
             inverse=sp.erfinv, dual=ERF_DUAL),
    Function(name="gelu", sympy=gelu, jax=_jax_gelu,
             numpy=lambda x: x * (1 + _erf(x / 2**0.5)) / 2,
             mpmath=lambda x: x * (1 + mpmath.erf(x / mpmath.sqrt(2))) / 2, dual=GELU_DUAL),
)
