r"""The NNGP and NTK recursion of a fully connected network (MATH.md K1), symbolic.

For inputs with :math:`q_{11} = x\cdot x/d`, :math:`q_{22} = x'\cdot x'/d`,
:math:`q_{12} = x\cdot x'/d`, NTK parametrisation (neural-tangents' ``stax``):

.. math::
    K^{(1)} = \sigma_w^2 q + \sigma_b^2, \qquad \Theta^{(1)} = K^{(1)}(x, x'),

    K^{(l+1)} = \sigma_w^2\,\mathbb E[\varphi(u)\varphi(v)] + \sigma_b^2, \qquad
    \Theta^{(l+1)} = K^{(l+1)}(x,x') + \sigma_w^2\,\Theta^{(l)}\,\mathbb E[\varphi'(u)\varphi'(v)],

:math:`(u, v) \sim \mathcal N(0, K^{(l)})` on {x, x'}. In the standard
parametrisation a dense layer of fan-in n adds :math:`n\,\mathbb E[\varphi\varphi] + 1`
(:math:`d\,q_{12} + 1` for the input layer) to the NTK instead of :math:`K^{(l+1)}`; the
NNGP is the same. A network of ``depth`` hidden layers has NNGP :math:`K^{(L+1)}`
and NTK :math:`\Theta^{(L+1)}`.

`unroll` builds each layer from the previous one by calling the dual kernels on
its expressions: no substitution into the growing expression, no simplification,
so the cost is linear in the depth. With a symbolic depth, `symbolic_depth` states
the recursion as equations between unevaluated :math:`K^{(l)}`, :math:`\Theta^{(l)}`
(solved in closed form for the identity activation, where it is linear).
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from ..._vocabulary import Notation
from .activations import Activation

__all__ = ["Layer", "input_layer", "next_layer", "unroll", "symbolic_depth", "LayerKernel", "LayerNtk"]


@dataclasses.dataclass(frozen=True)
class Layer:
    """Layer ``index`` (1 = the input dense layer): the NNGP on {x, x'} and the NTK at (x, x')."""

    index: int
    k11: sp.Expr
    k22: sp.Expr
    k12: sp.Expr
    ntk: sp.Expr


def _bias(b_std):
    """(σ_b², number of bias parameters per unit): b_std=None means no bias (stax's default)."""
    return (sp.S.Zero, sp.S.Zero) if b_std is None else (b_std**2, sp.S.One)


def input_layer(W_std, b_std, inputs, *, parameterization: str = "ntk", dim=None) -> Layer:
    """Layer 1, the input dense layer: K¹ = σ_w² q + σ_b², Θ¹ = K¹(x, x') (standard: d·q12 + 1)."""
    w2 = W_std**2
    b2, bias = _bias(b_std)
    q11, q22, q12 = inputs
    k12 = w2 * q12 + b2
    return Layer(1, w2 * q11 + b2, w2 * q22 + b2, k12, dim * q12 + bias if parameterization == "standard" else k12)


def next_layer(act: Activation, layer: Layer, W_std, b_std, *, parameterization: str = "ntk", width=None) -> Layer:
    """One step of the recursion: an activation then a dense layer, from any expressions
    (or symbols) for the previous layer's K(x,x), K(x',x'), K(x,x') and Θ(x,x')."""
    w2 = W_std**2
    b2, bias = _bias(b_std)
    expect, slope = act.value(layer.k11, layer.k22, layer.k12), act.derivative(layer.k11, layer.k22, layer.k12)
    k12 = w2 * expect + b2
    gained = width * expect + bias if parameterization == "standard" else k12
    return Layer(layer.index + 1, w2 * act.diagonal(layer.k11) + b2, w2 * act.diagonal(layer.k22) + b2, k12,
                 gained + w2 * layer.ntk * slope)


def unroll(act: Activation, depth: int, W_std, b_std, inputs, *, parameterization: str = "ntk", width=None,
           dim=None) -> tuple[Layer, ...]:
    """Layers 1 … depth + 1 of the recursion, in the input symbols ``inputs = (q11, q22, q12)``."""
    layers = [input_layer(W_std, b_std, inputs, parameterization=parameterization, dim=dim)]
    for _ in range(depth):
        layers.append(next_layer(act, layers[-1], W_std, b_std, parameterization=parameterization, width=width))
    return tuple(layers)


class LayerKernel(Notation):
    r""":math:`K^{(l)}` at (x, x) (``which`` = 1), (x', x') (2) or (x, x') (3), unevaluated."""

    nargs = 2

    def _latex(self, printer, exp=None):
        l, which = self.args
        pair = {1: "x, x", 2: "x', x'", 3: "x, x'"}[int(which)]
        power = "" if exp is None else "^{%s}" % exp
        return r"K^{(%s)}\left(%s\right)%s" % (printer._print(l), pair, power)


class LayerNtk(Notation):
    r""":math:`\Theta^{(l)}(x, x')`, unevaluated."""

    nargs = 1

    def _latex(self, printer, exp=None):
        power = "" if exp is None else "^{%s}" % exp
        return r"\Theta^{(%s)}\left(x, x'\right)%s" % (printer._print(self.args[0]), power)


def symbolic_depth(act: Activation, depth: sp.Expr, W_std, b_std, inputs, *, parameterization: str = "ntk",
                   width=None, dim=None) -> tuple[tuple[sp.Eq, ...], sp.Expr, sp.Expr]:
    """``(equations, nngp, ntk)`` for a symbolic depth L: the recursion as equations in
    l, and :math:`K^{(L+1)}(x, x')`, :math:`\\Theta^{(L+1)}`. For the identity activation
    the linear recursion is solved: nngp and ntk are then closed forms in L."""
    l = sp.Symbol("l", integer=True, positive=True)
    w2 = W_std**2
    b2, bias = _bias(b_std)
    first = input_layer(W_std, b_std, inputs, parameterization=parameterization, dim=dim)
    K = lambda at, which: LayerKernel(at, which)
    expect = act.value(K(l, 1), K(l, 2), K(l, 3))
    slope = act.derivative(K(l, 1), K(l, 2), K(l, 3))
    gained = width * expect + bias if parameterization == "standard" else K(l + 1, 3)
    equations = (
        sp.Eq(K(1, 1), first.k11, evaluate=False), sp.Eq(K(1, 2), first.k22, evaluate=False),
        sp.Eq(K(1, 3), first.k12, evaluate=False), sp.Eq(LayerNtk(1), first.ntk, evaluate=False),
        sp.Eq(K(l + 1, 1), w2 * act.diagonal(K(l, 1)) + b2, evaluate=False),
        sp.Eq(K(l + 1, 2), w2 * act.diagonal(K(l, 2)) + b2, evaluate=False),
        sp.Eq(K(l + 1, 3), w2 * expect + b2, evaluate=False),
        sp.Eq(LayerNtk(l + 1), gained + w2 * LayerNtk(l) * slope, evaluate=False),
    )
    if act.name == "identity" and parameterization == "ntk":
        return equations, *_linear_solution(depth, w2, b2, inputs[2])
    return equations, K(depth + 1, 3), LayerNtk(depth + 1)


def _linear_solution(depth, w2, b2, q12):
    r"""Identity activation: :math:`K^{(l)} = \sigma_w^{2l} q + \sigma_b^2\sum_{i<l}\sigma_w^{2i}` and
    :math:`\Theta^{(l)} = \sum_{j=1}^{l}\sigma_w^{2(l-j)} K^{(j)}`, at l = L + 1."""
    i, j = sp.symbols("i j", integer=True, nonnegative=True)
    kernel = lambda at: w2**at * q12 + b2 * sp.Sum(w2**i, (i, 0, at - 1))
    top = depth + 1
    return kernel(top), sp.Sum(w2 ** (top - j) * kernel(j), (j, 1, top))
