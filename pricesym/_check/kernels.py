r"""Compiling a network's infinite-width kernels for Gram matrices (`FullyConnected.kernel_fn`).

The closed-form dual kernels of the activation (its `DualKernel`) are lambdified
once, with ``cse``, for arrays of pairs (``k11`` of shape (N1, 1), ``k22`` (1, N2),
``k12`` (N1, N2)); the recursion then runs ``depth`` times inside one `jax.jit`, so
XLA sees and fuses the whole network as one computation. The input kernel is one
matrix product. Activations without a closed form use the Gauss–Hermite rule of
`pricesym._numeric.gaussian_pairs.hermite_gram` instead. The Gram matrix is computed
in blocks of rows (`jax.lax.map`), so that the temporaries of the recursion stay in
cache: on CPU a fresh N1 × N2 temporary costs more in page faults than the
arithmetic of a layer.

Two numerical choices: ``acos``/``asin`` are `pricesym._numeric.fastmath`'s
vectorised ones (XLA's float64 versions cost ≈ 12 ns per element on CPU, ten
times a ``tanh``), and their arguments are clipped to [-1, 1], ``sqrt``'s to ≥ 0:
each is a correlation or a determinant that round-off can push just past its
bound (x = x' gives c = 1 ± ulp).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import sympy as sp

from .._errors import AssumptionError, ShapeError
from .._vocabulary import modules

__all__ = ["kernel_function", "quadrature_error"]
# Diagonal variances are kept above this, so that a zero input without biases gives a
# zero kernel rather than 0/0.
_TINY = 1e-150


def _namespace() -> dict:
    from .._numeric.backend import jnp
    from .._numeric.fastmath import arccos, arcsin

    acos = lambda x: arccos(jnp.clip(x, -1.0, 1.0))
    asin = lambda x: arcsin(jnp.clip(x, -1.0, 1.0))
    return {"acos": acos, "arccos": acos, "asin": asin, "arcsin": asin,
            "sqrt": lambda x: jnp.sqrt(jnp.maximum(x, 0.0))}


def _closed_form_duals(net):
    """(pair function (k11, k22, c) -> (E[φφ], E[φ'φ']), diagonal function k -> E[φ²]).

    The pair function takes the correlation c = k12/sqrt(k11 k22) rather than k12: the
    dual kernels are written with k12 = c sqrt(k11) sqrt(k22), so that arccos(c) and
    sqrt(1 - c²) come from the same (clipped) c. Computed separately they round apart,
    and near c = 1 (x = x') the difference of two roundings, 1e-16, becomes an angle of
    1e-8 that the next layers amplify."""
    k11, k22, k = sp.symbols("k11 k22 k", positive=True)
    c = sp.Symbol("c", real=True)
    k12 = c * sp.sqrt(k11) * sp.sqrt(k22)
    act = net.activation
    spaces = [_namespace(), modules("jax"), "jax"]
    pair = sp.lambdify([k11, k22, c], [act.value(k11, k22, k12), act.derivative(k11, k22, k12)], modules=spaces,
                       cse=True)
    diagonal = sp.lambdify([k], act.diagonal(k), modules=spaces, cse=True)
    return pair, diagonal


def _quadrature_duals(net, nodes: int):
    from .._numeric.backend import jnp
    from .._numeric.gaussian_pairs import elementwise_derivative, hermite_gram
    from .._numeric.quadrature import hermite_rule

    phi = net.activation.jax()
    dphi = elementwise_derivative(phi)
    z, w = (jnp.asarray(a) for a in hermite_rule(nodes))

    def pair(k11, k22, c):
        k12 = c * jnp.sqrt(k11) * jnp.sqrt(k22)
        return hermite_gram(phi, phi, k11, k22, k12, nodes=nodes), hermite_gram(dphi, dphi, k11, k22, k12, nodes=nodes)

    def diagonal(k):
        return jnp.sum(w * phi(jnp.sqrt(k)[..., None] * z) ** 2, axis=-1)

    return pair, diagonal


def _numbers(net) -> tuple[float, float, float, float]:
    """(σ_w², σ_b², biases per unit, width) as floats; `AssumptionError` if any is symbolic."""
    if not net.numeric:
        symbols = sorted({str(s) for v in (net.W_std, net.b_std, net.width, *net.activation.params, net.depth)
                          if isinstance(v, sp.Basic) for s in v.free_symbols
                          if v is not net.width or net.parameterization == "standard"})
        raise AssumptionError(
            f"`kernel_fn` needs numbers, but {', '.join(f'`{s}`' for s in symbols)} "
            f"{'is' if len(symbols) == 1 else 'are'} symbolic; substitute them first: `net.subs({{...}})`."
        )
    w2 = float(net.W_std) ** 2
    b2, bias = (0.0, 0.0) if net.b_std is None else (float(net.b_std) ** 2, 1.0)
    width = float(net.width) if net.parameterization == "standard" else math.nan
    return w2, b2, bias, width


def _block_rows(n1: int, n2: int) -> int:
    """Rows per block: the largest divisor of n1 with at most 2**16 pairs per block (so
    the temporaries stay in cache and no block is left over)."""
    most = max(1, (1 << 16) // max(n2, 1))
    return max(b for b in range(1, min(n1, most) + 1) if n1 % b == 0)


def _compile(net, nodes: int | None) -> Callable:
    from .._numeric.backend import jax, jnp

    w2, b2, bias, width = _numbers(net)
    pair, diagonal = _closed_form_duals(net) if nodes is None else _quadrature_duals(net, nodes)
    standard = net.parameterization == "standard"
    depth = net.depth
    snap = 1.0 - 8 * np.finfo(np.float64).eps  # |c| this close to 1 is 1 to rounding (x' = ±x)

    def diagonals(k):
        out = [k]
        for _ in range(depth):
            out.append(w2 * _diag(diagonal, out[-1]) + b2)
        return out

    def block(x1, x2, k22s, root22s):
        dim = x1.shape[1]
        q12 = x1 @ x2.T / dim
        k11s = diagonals(w2 * jnp.sum(x1 * x1, axis=1) / dim + b2)
        k12 = w2 * q12 + b2
        ntk = dim * q12 + bias if standard else k12
        for l in range(depth):
            k11 = jnp.maximum(k11s[l], _TINY)[:, None]
            c = k12 * (jax.lax.rsqrt(k11) * root22s[l][None, :])
            c = jnp.where(jnp.abs(c) >= snap, jnp.sign(c), c)
            expect, slope = pair(k11, jnp.maximum(k22s[l], _TINY)[None, :], c)
            new = w2 * expect + b2
            ntk = (width * expect + bias if standard else new) + w2 * ntk * slope
            k12 = new
        return k12, jnp.broadcast_to(ntk, k12.shape)

    @jax.jit
    def kernels(x1, x2):
        dim = x1.shape[1]
        k22s = diagonals(w2 * jnp.sum(x2 * x2, axis=1) / dim + b2)
        root22s = [jax.lax.rsqrt(jnp.maximum(k, _TINY)) for k in k22s]
        rows = _block_rows(x1.shape[0], x2.shape[0])
        blocks = x1.reshape(x1.shape[0] // rows, rows, dim)
        nngp, ntk = jax.lax.map(lambda xb: block(xb, x2, k22s, root22s), blocks)
        shape = (x1.shape[0], x2.shape[0])
        return jnp.broadcast_to(nngp.reshape(-1, shape[1]), shape), ntk.reshape(shape)

    return kernels


def _diag(diagonal, k):
    from .._numeric.backend import jnp

    k = jnp.maximum(k, _TINY)
    return jnp.broadcast_to(diagonal(k), k.shape)  # a constant diagonal (sign) keeps its shape


def _validated(x1, x2):
    from .._numeric.backend import is_traced, jnp

    out = []
    for name, x in (("x1", x1), ("x2", x2)):
        if not is_traced(x):
            arr = np.asarray(x)
            if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
                raise ShapeError(f"`{name}` must be a numeric array of shape (N, d), got {type(x).__name__}.")
            if arr.ndim != 2:
                raise ShapeError(f"`{name}` must have shape (N, d), got shape {arr.shape}.")
            if not np.all(np.isfinite(arr)):
                raise AssumptionError(f"`{name}` has non-finite entries; the kernels need finite inputs.")
        elif x.ndim != 2:
            raise ShapeError(f"`{name}` must have shape (N, d), got shape {x.shape}.")
        out.append(jnp.asarray(x, dtype=jnp.float64))
    if out[0].shape[1] != out[1].shape[1]:
        raise ShapeError(f"`x1` and `x2` must have the same input dimension d, got {out[0].shape[1]} and "
                         f"{out[1].shape[1]}.")
    return out


def kernel_function(net, nodes: int | None = None) -> Callable:
    """``kernel_fn(x1, x2=None) -> (nngp, ntk)`` for a `FullyConnected` with numeric parameters."""
    if nodes is None and not net.activation.closed_form:
        nodes = net.quadrature_nodes
    compiled = _compile(net, nodes)

    def kernel_fn(x1, x2=None):
        a, b = _validated(x1, x1 if x2 is None else x2)
        return compiled(a, b)

    kernel_fn.__doc__ = (f"Infinite-width (NNGP, NTK) Gram matrices of {net!r}"
                         + (f", dual kernels by {nodes}x{nodes} Gauss–Hermite quadrature." if nodes else "."))
    kernel_fn.compiled = compiled  # type: ignore[attr-defined]
    return kernel_fn


def quadrature_error(net, x1, x2=None) -> float:
    """Largest |difference| between the NNGP/NTK Gram matrices from the quadrature rule
    `kernel_fn` uses and from one with twice the nodes (0.0 for a closed form)."""
    if net.activation.closed_form:
        return 0.0
    coarse = net.kernel_fn(x1, x2)
    fine = kernel_function(net, 2 * net.quadrature_nodes)(x1, x2)
    return float(max(np.max(np.abs(np.asarray(a) - np.asarray(b))) for a, b in zip(coarse, fine)))
