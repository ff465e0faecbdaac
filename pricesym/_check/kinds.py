"""Kinds of check: a `Check` holds an independent *reference* (a function of one
instance, plus a PRNG key when it simulates) and how to compare it with the closed
form. Constructors: `autodiff`, `exact`, `quadrature`, `ode` (deterministic:
``|ref - closed| <= atol + rtol |ref|``), `monte_carlo` (within k SE plus a stated
allowance), `order` (the residual over a sweep of a small parameter shrinks at
the claimed order, by a log-log fit). `part` selects a part of the result."""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping

import sympy as sp

from .._errors import RegistryError
from .domains import Domain
from .results import Method

__all__ = ["Check", "part", "autodiff", "exact", "quadrature", "ode", "monte_carlo", "order"]


def part(*index) -> Callable[[sp.Basic], sp.Basic]:
    """Target selector: ``part(i)`` picks ``result[i]`` (``part(i, j)`` for matrices)."""

    def select(result):
        return result[index if len(index) > 1 else index[0]]

    select.__name__ = f"part{index}"
    return select


@dataclasses.dataclass(frozen=True, kw_only=True)
class Check:
    """One independent numeric check of (part of) a derivation's closed form.

    Build with the constructors (`autodiff`, `monte_carlo`, `order`, ...)."""

    method: Method
    reference: Callable
    describe: str
    tolerance: str
    label: str = "closed form"
    target: Callable[[sp.Basic], sp.Basic] | None = None
    instances: int = 16
    domains: Mapping[sp.Symbol, Domain] = dataclasses.field(default_factory=dict)
    vectorize: bool = True
    rtol: float = 1e-10
    atol: float = 1e-12
    se_multiple: float = 4.5
    allowance_rel: float = 0.0
    allowance_abs: float = 0.0
    small: sp.Symbol | None = None
    sweep: tuple[float, ...] = ()
    order: float = 0.0
    order_margin: float = 0.25
    floor: float = 1e-13

    def __post_init__(self):
        if not callable(self.reference):
            raise RegistryError(f"`reference` must be callable, got {self.reference!r}.")
        if not self.tolerance.strip():
            raise RegistryError("every check states the reason for its tolerance (`tolerance=`).")
        if self.instances < 1:
            raise RegistryError(f"`instances` must be >= 1, got {self.instances!r}.")
        if self.method == "order":
            if self.small is None or len(self.sweep) < 3:
                raise RegistryError("an order check needs `small` (the symbol) and a `sweep` of >= 3 values.")
        params = [p for p in inspect.signature(self.reference).parameters.values() if p.default is p.empty]
        if len(params) not in (1, 2):
            raise RegistryError(
                f"a reference takes `(x)` or `(x, key)` (one instance, a PRNG key), but "
                f"{getattr(self.reference, '__name__', self.reference)!r} takes {len(params)} arguments."
            )


def _defaults(method: Method, tolerance: str | None, default: str) -> str:
    return tolerance if tolerance else default


def autodiff(reference, *, describe="JAX autodiff of the model", tolerance=None, rtol=1e-10, atol=1e-12, **kw) -> Check:
    """Deterministic reference by `jax.grad`/`jacrev`/`jvp` of the model (float64)."""
    return Check(method="autodiff", reference=reference, describe=describe, rtol=rtol, atol=atol,
                 tolerance=_defaults("autodiff", tolerance, f"float64 round-off: rel {rtol:g}, abs {atol:g}"), **kw)


def exact(reference, *, describe="exact computation", tolerance=None, rtol=1e-10, atol=1e-12, **kw) -> Check:
    """Deterministic reference by exact arithmetic or linear algebra (absorption systems, eigenvectors)."""
    return Check(method="exact", reference=reference, describe=describe, rtol=rtol, atol=atol,
                 tolerance=_defaults("exact", tolerance, f"float64 linear algebra: rel {rtol:g}, abs {atol:g}"), **kw)


def quadrature(reference, *, describe="numerical quadrature", tolerance=None, rtol=1e-8, atol=1e-12, vectorize=False,
               **kw) -> Check:
    """Deterministic reference by numerical integration (SciPy quad)."""
    return Check(method="quadrature", reference=reference, describe=describe, rtol=rtol, atol=atol, vectorize=vectorize,
                 tolerance=_defaults("quadrature", tolerance, f"adaptive quadrature error: rel {rtol:g}"), **kw)


def ode(reference, *, describe="ODE integration of the flow", tolerance=None, rtol=1e-9, atol=1e-12, vectorize=False,
        **kw) -> Check:
    """Deterministic reference by integrating the dynamics (solve_ivp, rtol 1e-12)."""
    return Check(method="ode", reference=reference, describe=describe, rtol=rtol, atol=atol, vectorize=vectorize,
                 tolerance=_defaults("ode", tolerance, f"integrator at rtol 1e-12: agreement {rtol:g}"), **kw)


def monte_carlo(reference, *, describe="Monte-Carlo simulation", se_multiple=4.5, allowance_rel=0.0,
                allowance_abs=0.0, tolerance=None, instances=4, **kw) -> Check:
    """Statistical reference returning an `Estimate`; passes within k SE plus a stated allowance."""
    default = f"{se_multiple:g} SE (false alarm about {2 * _normal_tail(se_multiple):.0e} per scalar)"
    if allowance_rel or allowance_abs:
        default += f" + model error {allowance_rel:.3g} rel / {allowance_abs:.3g} abs"
    return Check(method="monte-carlo", reference=reference, describe=describe, se_multiple=se_multiple,
                 allowance_rel=allowance_rel, allowance_abs=allowance_abs, instances=instances,
                 tolerance=_defaults("monte-carlo", tolerance, default), **kw)


def order(reference, *, small, sweep, order, describe="exact finite step", tolerance=None, order_margin=0.25,
          floor=1e-13, instances=4, **kw) -> Check:
    """Convergence order: the residual |ref - closed| over ``sweep`` values of ``small``
    must shrink like ``small**order`` (log-log slope >= order - margin)."""
    default = f"fitted log-log slope >= {order:g} - {order_margin:g}; residuals below {floor:g} count as round-off"
    return Check(method="order", reference=reference, describe=describe, small=small, sweep=tuple(sweep),
                 order=order, order_margin=order_margin, floor=floor, instances=instances,
                 tolerance=_defaults("order", tolerance, default), **kw)


def _normal_tail(k: float) -> float:
    return 0.5 * math.erfc(k / math.sqrt(2))
