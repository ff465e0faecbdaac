"""Special functions that closed forms produce (Gamma, harmonic numbers, zeta, erfc).

Their LaTeX is SymPy's own (``\\Gamma``, ``H_{n}``, ``\\psi^{(n)}``), which the LaTeX
reader of `ps.parse` does not read back (``latex_readable=False``); in text they
parse by name."""

import mpmath
import numpy as np
import sympy as sp

from .base import Function, lazy

# SciPy is imported on first use, so `import pricesym` stays fast.
_digamma = lazy("scipy.special.digamma")
_erfc = lazy("scipy.special.erfc")
_gamma = lazy("scipy.special.gamma")
_gammaln = lazy("scipy.special.gammaln")
_polygamma = lazy("scipy.special.polygamma")
_zeta = lazy("scipy.special.zeta")


def _jax_gamma(x):
    from .._numeric.backend import jax, jnp

    return jnp.exp(jax.scipy.special.gammaln(x))  # the domain is x > 0


def _jax_harmonic(x):
    from .._numeric.backend import jax

    return jax.scipy.special.digamma(x + 1.0) + np.euler_gamma  # H_x = psi(x + 1) + gamma


ROWS = (
    Function(name="erfc", sympy=sp.erfc, jax=lazy("jax.scipy.special.erfc"), numpy=_erfc,
             mpmath=mpmath.erfc),
    Function(name="gamma", sympy=sp.gamma, jax=_jax_gamma,
             numpy=_gamma, mpmath=mpmath.gamma, domain=(0.5, 6.0), latex_readable=False),
    Function(name="loggamma", sympy=sp.loggamma, jax=lazy("jax.scipy.special.gammaln"), numpy=_gammaln,
             mpmath=mpmath.loggamma, domain=(0.5, 6.0), latex_readable=False),
    Function(name="polygamma", sympy=sp.polygamma, jax=lazy("jax.scipy.special.polygamma"),
             numpy=_polygamma, mpmath=mpmath.polygamma, arity=(2, 2), example=lambda f, x: f(1, x),
             domain=(0.5, 6.0), latex_readable=False),
    # d/dx H_x = zeta(2, x + 1), Hurwitz's zeta
    Function(name="zeta", sympy=sp.zeta, jax=lazy("jax.scipy.special.zeta"), numpy=_zeta, mpmath=mpmath.zeta,
             arity=(2, 2), example=lambda f, x: f(2, x), domain=(0.5, 6.0), latex_readable=False),
    Function(name="harmonic", sympy=sp.harmonic, jax=_jax_harmonic,
             numpy=lambda x: _digamma(x + 1.0) + np.euler_gamma, mpmath=mpmath.harmonic,
             domain=(0.5, 6.0), latex_readable=False),
)
