r"""Which activations the kernels know, and how each gives its dual kernels.

An activation is named as text (``"relu"``), by its vocabulary function
(``ps.relu``, ``sympy.erf``), or with parameters as a tuple
(``("leaky_relu", a)`` or ``("leaky_relu", a, b)``: slope a for x < 0, b for
x > 0, neural-tangents' ``ABRelu``). Every one-argument real function of the
vocabulary is an activation; its row's ``dual`` (`DualKernel`) gives the closed
forms, and without one the expectations are integrated numerically (2-D
Gauss–Hermite). Two activations have no vocabulary row and live here:
``identity`` (a deep linear network) and ``sign``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import sympy as sp

from ..._errors import AssumptionError, UnknownNameError
from ..._safe import to_sympy, to_sympy_mapping
from ..._vocabulary import Notation, lookup, rows
from ..._vocabulary.base import DualKernel, Function
from ..._vocabulary.piecewise import CHO_SAUL

__all__ = ["Activation", "activation", "known", "DualExpectation"]

LEE_2018 = ("Lee, J., Bahri, Y., Novak, R., Schoenholz, S. S., Pennington, J. & Sohl-Dickstein, J. (2018). "
            "Deep neural networks as Gaussian processes. ICLR; arXiv:1711.00165.")

IDENTITY_DUAL = DualKernel(value=lambda k11, k22, k12: k12, derivative=lambda k11, k22, k12: sp.S.One,
                           diagonal=lambda k: k, references=(LEE_2018,))
# sign: E[sign u sign v] = 1 - 2 theta/pi = (2/pi) arcsin c (arc-cosine kernel of degree 0, rescaled).
# Its derivative is 0 almost everywhere: autodiff of the model and neural-tangents' `Sign`
# (which sets the NTK to zero) both use that, not the distribution 2 delta(x).
SIGN_DUAL = DualKernel(value=lambda k11, k22, k12: 2 / sp.pi * sp.asin(k12 / sp.sqrt(k11 * k22)),
                       derivative=lambda k11, k22, k12: sp.S.Zero, diagonal=lambda k: sp.S.One, references=(CHO_SAUL,))


def _jax_identity(x):
    return x


def _jax_sign(x):
    from ..._numeric.backend import jnp

    return jnp.sign(x)


_EXTRA = {"identity": (IDENTITY_DUAL, _jax_identity, lambda x: x),
          "sign": (SIGN_DUAL, _jax_sign, sp.sign)}


def _is_activation(row: Function) -> bool:
    return (row.domain == (-math.inf, math.inf) and not row.vector and row.arity[0] == 1 and row.name not in _EXTRA)


def known() -> tuple[str, ...]:
    """Every name `activation` accepts, sorted."""
    return tuple(sorted({r.name for r in rows() if _is_activation(r)} | set(_EXTRA)))


class DualExpectation(Notation):
    r""":math:`\mathbb E[\varphi(u)\varphi(v)]` (or of φ') of an activation without a closed
    form, as a function of (k11, k22, k12): kept unevaluated; `pricesym.kernels`
    integrates it numerically. Subclassed once per activation and kind."""

    nargs = 3
    activation_name = ""
    derivative = False


@functools.cache
def _expectation_class(name: str, latex_name: str, derivative: bool) -> type:
    prime = "'" if derivative else ""
    notation = r"\mathbb{E}\left[%s%s(u)\,%s%s(v)\right]" % (latex_name, prime, latex_name, prime)
    cls_name = f"E_{name}{'_prime' if derivative else ''}"
    return type(cls_name, (DualExpectation,), {"notation": notation, "activation_name": name, "derivative": derivative})


@dataclasses.dataclass(frozen=True)
class Activation:
    """One activation with its parameters (SymPy numbers or symbols).

    ``dual`` is its closed-form `DualKernel`, or None (then ``value`` and
    ``derivative`` build `DualExpectation` applications to be integrated numerically)."""

    name: str
    params: tuple = ()
    dual: DualKernel | None = None
    row: Function | None = None

    @property
    def closed_form(self) -> bool:
        return self.dual is not None

    def value(self, k11, k22, k12):
        if self.dual is None:
            return _expectation_class(self.name, self.latex_name, False)(k11, k22, k12)
        return self.dual.value(k11, k22, k12, *self.params)

    def derivative(self, k11, k22, k12):
        if self.dual is None:
            return _expectation_class(self.name, self.latex_name, True)(k11, k22, k12)
        return self.dual.derivative(k11, k22, k12, *self.params)

    def diagonal(self, k):
        if self.dual is None:
            return self.value(k, k, k)
        return self.dual.diagonal(k, *self.params)

    @property
    def latex_name(self) -> str:
        word = self.row.latex_word if self.row is not None else None
        return r"\operatorname{%s}" % (word or self.name)

    @property
    def references(self) -> tuple[str, ...]:
        return self.dual.references if self.dual is not None else ()

    def sympy(self, x):
        """φ(x) as a SymPy expression."""
        if self.name in _EXTRA:
            return _EXTRA[self.name][2](x)
        if self.name == "leaky_relu":
            a, b = self.params
            assert self.row is not None
            return b * self.row.sympy(x, a / b) if b != 1 else self.row.sympy(x, a)
        assert self.row is not None
        return self.row.apply(x)

    def subs(self, mapping) -> Activation:
        mapping = to_sympy_mapping(mapping, "mapping", AssumptionError)
        return dataclasses.replace(self, params=tuple(sp.sympify(p).subs(mapping) for p in self.params))

    @property
    def numeric(self) -> bool:
        return all(sp.sympify(p).is_number for p in self.params)

    def jax(self) -> Callable:
        """φ for JAX arrays, element-wise (parameters must be numbers)."""
        if not self.numeric:
            raise AssumptionError(
                f"activation `{self.name}` has symbolic parameters {self.params!r}; substitute numbers first "
                "(`.subs({...})`)."
            )
        if self.name in _EXTRA:
            return _EXTRA[self.name][1]
        if self.name == "leaky_relu":
            a, b = (float(p) for p in self.params)
            return functools.partial(_jax_ab_relu, a=a, b=b)
        return self.row.jax  # type: ignore[union-attr]

    def __str__(self):
        return self.name if not self.params else f"{self.name}({', '.join(map(str, self.params))})"


def _jax_ab_relu(x, a, b):
    from ..._numeric.backend import jnp

    return jnp.where(x > 0, b * x, a * x)  # derivative a at 0, the vocabulary's left derivative


def _param(value, what: str):
    try:
        out = to_sympy(value, error=sp.SympifyError)
    except (sp.SympifyError, TypeError):
        raise AssumptionError(f"{what} must be a number or a SymPy expression, got {value!r}.") from None
    if out.is_number and not out.is_real:
        raise AssumptionError(f"{what} must be real, got {value!r}.")
    return out


def activation(spec) -> Activation:
    """The `Activation` for a name, a vocabulary function, an `Activation`, or a tuple
    ``(name, *params)``; `UnknownNameError` listing the known names otherwise."""
    if isinstance(spec, Activation):
        return spec
    params: tuple = ()
    if isinstance(spec, tuple):
        if not spec:
            raise AssumptionError("`activation` is an empty tuple; give a name, e.g. 'relu' or ('leaky_relu', 0.1).")
        spec, params = spec[0], spec[1:]
    if isinstance(spec, type) and issubclass(spec, sp.Basic):
        spec = getattr(spec, "__name__", "")
        spec = {"Abs": "abs"}.get(spec, spec)
    if not isinstance(spec, str):
        raise UnknownNameError(f"`activation` must be a name such as 'relu', got {spec!r}; known: {', '.join(known())}.")
    name = spec
    dual: DualKernel | None
    if name in _EXTRA:
        dual, row = _EXTRA[name][0], None
    else:
        try:
            row = lookup(name)
        except UnknownNameError:
            row = None
        if row is None or not _is_activation(row):
            raise UnknownNameError(f"no activation named `{name}`; known: {', '.join(known())}.")
        name, dual = row.name, row.dual
    params = tuple(_param(p, f"parameter {i + 1} of `{name}`") for i, p in enumerate(params))
    if name == "leaky_relu":
        if len(params) > 2:
            raise AssumptionError(f"`leaky_relu` takes slopes (a, b), got {len(params)} parameters.")
        params = params + (sp.Rational(1, 100), sp.S.One)[len(params):]  # the vocabulary's default slope; b = 1
    elif params:
        raise AssumptionError(f"activation `{name}` takes no parameters, got {params!r}.")
    return Activation(name=name, params=params, dual=dual, row=row)
