r"""What a row of the vocabulary holds, and the base class of pricesym's own functions.

A `Function` row is everything the engine knows about one function: its SymPy
class (with a derivative written through itself where one exists), its JAX,
NumPy and mpmath implementations, its LaTeX (the class's ``notation``), its
names in the parsers, its inverse for `in_terms_of`, and where it is not smooth.
The rows live in the family modules beside this one (`elementary`, `logistic`,
`piecewise`, `gaussian`); `pricesym._vocabulary` collects them.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable
from typing import Any, ClassVar

import sympy as sp

from .._errors import ParseError
from .._safe import to_sympy

__all__ = ["Function", "Notation", "DualKernel", "lazy"]


def lazy(path: str) -> Callable:
    """A function named by its import path (``"jax.nn.softplus"``), imported on first
    call, so that the table costs no JAX import."""
    module, _, attr = path.rpartition(".")
    cache: list[Callable] = []

    def call(*args):
        if not cache:
            if module.startswith("jax"):
                importlib.import_module("pricesym._numeric.backend")  # float64 before any JAX use
            cache.append(getattr(importlib.import_module(module), attr))
        return cache[0](*args)

    call.__name__ = attr
    call.__qualname__ = path
    return call


class Notation(sp.Function):
    r"""Base of pricesym's SymPy functions: ``notation`` is the LaTeX operator, printed
    by `_latex` both by pricesym's printer and by plain ``sympy.latex``; a power goes
    on the name (:math:`\sigma^{2}(b)`). Strings are refused: SymPy would parse them
    as Python."""

    notation: ClassVar[str] = ""
    shown: ClassVar[int | None] = None  # how many leading arguments are printed (None: all)

    def __new__(cls, *args, **options):
        checked = []
        for arg in args:
            if isinstance(arg, (str, bytes)):
                raise ParseError(
                    f"`{cls.__name__}` takes SymPy expressions or numbers, not the string {arg!r}; "
                    "read user text with `ps.parse`."
                )
            try:  # strict: numbers convert; a string at any depth (inside a list) is refused, never run
                checked.append(to_sympy(arg, error=sp.SympifyError))
            except sp.SympifyError:
                raise ParseError(
                    f"`{cls.__name__}` takes SymPy expressions or numbers, got {type(arg).__name__} {arg!r:.60}; "
                    "read user text with `ps.parse`."
                ) from None
        return super().__new__(cls, *checked, **options)

    def _latex(self, printer, exp=None):
        args = ", ".join(printer._print(a) for a in self.args[: self.shown])
        name = self.notation if exp is None else "%s^{%s}" % (self.notation, exp)
        return r"%s\left(%s\right)" % (name, args)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DualKernel:
    r"""The infinite-width dual kernels of an activation φ, in closed form.

    For :math:`(u, v) \sim \mathcal N\big(0, \big[\begin{smallmatrix}k_{11} & k_{12}\\
    k_{12} & k_{22}\end{smallmatrix}\big]\big)`, each field builds a SymPy expression from
    SymPy arguments (and the activation's extra parameters, e.g. a leaky ReLU's slopes):

      value:       ``(k11, k22, k12, *params)`` → :math:`\mathbb E[\varphi(u)\varphi(v)]`;
      derivative:  ``(k11, k22, k12, *params)`` → :math:`\mathbb E[\varphi'(u)\varphi'(v)]`
                   (φ' the derivative almost everywhere, as autodiff of the model sees it);
      diagonal:    ``(k, *params)`` → :math:`\mathbb E[\varphi(u)^2]`, :math:`u \sim \mathcal N(0, k)`
                   (``value`` at :math:`k_{11} = k_{22} = k_{12} = k`, written where it simplifies);
      references:  where the closed forms come from.

    `pricesym.kernels` composes them into the NNGP and NTK recursion; the catalogue
    (`kernels/...`) checks each against quadrature of the expectations.
    """

    value: Callable[..., Any]
    derivative: Callable[..., Any]
    diagonal: Callable[..., Any]
    references: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Function:
    """One function of the vocabulary (a row of the table).

    Fields:
      name:     the name in text (``ps.parse``), in a model's namespace (``np.name``)
                and in the JAX/NumPy/mpmath module dictionaries for lambdify.
      sympy:    the SymPy class (``sympy(x)`` builds an application).
      jax, numpy, mpmath: implementations taking the same arguments; ``jax`` is
                usually a `lazy` path.
      aliases:  further text names (``ln`` for ``log``).
      build:    what a call in text or in a model builds (default: the class);
                ``arity`` its (least, most) number of arguments.
      inverse:  ``y -> x`` with ``f(x) = y`` (for `in_terms_of`), or None.
      example:  how to call the function on one variable, given the callable
                (the row, ``np.name`` in a model...): ``lambda f, x: f(x, 0.1)``
                for a leaky ReLU; default ``f(x)``. For tests and docs.
      domain:   the open interval where the function is real, finite and (apart
                from ``kinks``) differentiable, for drawing instances.
      kinks:    points where the first derivative jumps. There pricesym uses the
                *left* derivative (relu'(0) = 0), in SymPy (``Heaviside(x, 0)``)
                and in JAX alike; instances are drawn away from them.
      vector:   the function maps a vector to a vector (softmax).
      latex_readable: the LaTeX reader of `ps.parse` reads the notation back.
      dual:     its infinite-width dual kernels in closed form (`DualKernel`), when
                known; `pricesym.kernels` integrates the others by quadrature.
    """

    name: str
    sympy: Any
    jax: Callable
    numpy: Callable
    mpmath: Callable
    aliases: tuple[str, ...] = ()
    build: Callable[..., Any] | None = None
    arity: tuple[int, int] = (1, 1)
    inverse: Callable[[sp.Expr], sp.Expr] | None = None
    example: Callable[[Callable, Any], Any] | None = None
    domain: tuple[float, float] = (-math.inf, math.inf)
    kinks: tuple[float, ...] = ()
    vector: bool = False
    latex_readable: bool = True
    dual: DualKernel | None = None

    @property
    def key(self) -> str:
        """The name lambdify prints for an application (the SymPy class's name)."""
        return self.sympy.__name__

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def latex_word(self) -> str | None:
        r"""The word inside ``\operatorname{...}`` of the notation, if it has one."""
        notation = getattr(self.sympy, "notation", "")
        prefix = r"\operatorname{"
        return notation[len(prefix):-1] if notation.startswith(prefix) else None

    def __call__(self, *args):
        """Build the SymPy expression for a call with these arguments."""
        return (self.build or self.sympy)(*args)

    def apply(self, x, f: Callable | None = None):
        """``f`` (default: this row's SymPy builder) called on one variable as ``example`` says."""
        f = self if f is None else f
        return self.example(f, x) if self.example is not None else f(x)
