r"""Vectorised float64 ``arccos`` and ``arcsin``.

XLA's float64 ``acos``/``asin`` on CPU are not vectorised (≈ 12 ns per element,
against ≈ 1 ns for ``tanh`` and 0.5 ns for ``sqrt``, measured in
`tests/benchmarks/bench_kernels.py`), and the arc-cosine and arcsine kernels of
`pricesym.kernels` evaluate one per input pair and layer. These are fdlibm's
(``e_acos.c``, ``e_asin.c``; Sun Microsystems 1993, as in musl and Go's math
package) with their branches turned into selects, so that every element runs the
same straight-line code: one rational function
:math:`R(z) = z\,P(z)/Q(z)` of degree (6, 4), one square root, one division.

* :math:`|x| < \tfrac12`: :math:`\arcsin x = x + x R(x^2)`,
  :math:`\arccos x = \tfrac\pi2 - (x + x R(x^2))`;
* :math:`|x| \ge \tfrac12`: with :math:`z = (1-|x|)/2` and :math:`s = \sqrt z`,
  :math:`\arccos x = 2(s + sR(z))` for :math:`x > 0` and :math:`\pi - 2(s + sR(z))`
  for :math:`x < 0`; :math:`\arcsin|x| = \tfrac\pi2 - 2(s + sR(z))`, with fdlibm's
  split of :math:`s` into a 26-bit head and a tail to keep the rounding error
  below one ulp.

Error: at most 1 ulp against NumPy over [-1, 1], including ±1, ±0.5 and their
neighbours (`tests/engine/test_kernels_api.py`). Outside [-1, 1] the result is NaN,
as NumPy's.
"""

from __future__ import annotations

from .backend import jax, jnp

__all__ = ["arccos", "arcsin"]

_PIO2_HI = 1.57079632679489655800e00  # pi/2 to 53 bits
_PIO2_LO = 6.12323399573676603587e-17  # pi/2 - _PIO2_HI
_P = (1.66666666666666657415e-01, -3.25565818622400915405e-01, 2.01212532134862925881e-01,
      -4.00555345006794114027e-02, 7.91534994289814532176e-04, 3.47933107596021167570e-05)
_Q = (-2.40339491173441421878e00, 2.02094576023350569471e00, -6.88283971605453293030e-01,
      7.70381505559019352791e-02)


def _rational(z):
    """fdlibm's R(z) = z P(z) / Q(z): arcsin(x) = x + x R(x^2) on [0, 1/2]."""
    p = z * (_P[0] + z * (_P[1] + z * (_P[2] + z * (_P[3] + z * (_P[4] + z * _P[5])))))
    q = 1.0 + z * (_Q[0] + z * (_Q[1] + z * (_Q[2] + z * _Q[3])))
    return p / q


def _head(s):
    """``s`` with its low 32 bits cleared (fdlibm's SET_LOW_WORD(s, 0)): s*s is then exact."""
    bits = jax.lax.bitcast_convert_type(s, jnp.uint64) & jnp.uint64(0xFFFFFFFF00000000)
    return jax.lax.bitcast_convert_type(bits, jnp.float64)


def _reduce(x):
    x = jnp.asarray(x, dtype=jnp.float64)
    a = jnp.abs(x)
    small = a < 0.5
    z = jnp.where(small, x * x, (1.0 - a) * 0.5)
    return x, a, small, z, _rational(z), jnp.sqrt(z)


def arccos(x):
    """Element-wise float64 arccos, within 1 ulp of NumPy's; NaN outside [-1, 1]."""
    x, a, small, z, r, s = _reduce(x)
    inner = _PIO2_HI - (x - (_PIO2_LO - x * r))
    negative = 2.0 * (_PIO2_HI - (s + (r * s - _PIO2_LO)))
    head = _head(s)
    tail = (z - head * head) / (s + head + 1e-300)  # 1e-300: 0/0 at x = 1 (where z = s = 0)
    positive = 2.0 * (head + (r * s + tail))
    out = jnp.where(small, inner, jnp.where(x < 0, negative, positive))
    return jnp.where(a > 1.0, jnp.nan, out)


def arcsin(x):
    """Element-wise float64 arcsin, within 1 ulp of NumPy's; NaN outside [-1, 1]."""
    x, a, small, z, r, s = _reduce(x)
    inner = x + x * r
    near_one = _PIO2_HI - (2.0 * (s + s * r) - _PIO2_LO)
    head = _head(s)
    tail = (z - head * head) / (s + head + 1e-300)
    middle = 0.5 * _PIO2_HI - (2.0 * s * r - (_PIO2_LO - 2.0 * tail) - (0.5 * _PIO2_HI - 2.0 * head))
    outer = jnp.where(a >= 0.975, near_one, middle)
    out = jnp.where(small, inner, jnp.sign(x) * outer)
    return jnp.where(a > 1.0, jnp.nan, out)
