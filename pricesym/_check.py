"""Numeric checks: an independent reference against the closed form.

A `Check` holds a *reference* — a function of one instance (a dict from symbol
name to value, plus a PRNG key when it simulates) that recomputes the quantity
from the model by autodiff, simulation, quadrature or exact linear algebra. It
never sees the derived expression. The engine draws instances from the declared
domains, evaluates the closed form (lambdify + jit + vmap) and compares.

Kinds of comparison:

* deterministic (``autodiff``, ``exact``, ``quadrature``, ``ode``):
  ``|ref - closed| <= atol + rtol |ref|``;
* statistical (``monte_carlo``): the reference returns an `Estimate` (mean, SE);
  ``|mean - closed| <= k SE + allowance``;
* convergence order (``order``): the residual ``|ref - closed|`` over a sweep of a
  small parameter is fitted on log-log axes; the slope must reach the claimed order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

import numpy as np
import sympy as sp

from ._domains import Domain
from ._errors import CheckError, PricesymError, RegistryError

__all__ = [
    "Estimate",
    "Check",
    "CheckResult",
    "CheckReport",
    "autodiff",
    "exact",
    "quadrature",
    "ode",
    "monte_carlo",
    "order",
    "part",
    "perturb",
    "estimate",
]

Method = Literal["autodiff", "exact", "quadrature", "ode", "monte-carlo", "order", "steps"]
_DETERMINISTIC = ("autodiff", "exact", "quadrature", "ode")


class Estimate(NamedTuple):
    """A Monte-Carlo estimate and its standard error (same shapes)."""

    mean: Any
    se: Any


def estimate(samples, axis: int = 0) -> Estimate:
    """Mean and standard error of i.i.d. samples along ``axis`` (works in JAX and NumPy)."""
    import jax.numpy as jnp

    samples = jnp.asarray(samples)
    n = samples.shape[axis]
    return Estimate(jnp.mean(samples, axis=axis), jnp.std(samples, axis=axis, ddof=1) / jnp.sqrt(n))


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class CheckResult:
    """The outcome of one check. ``tolerance`` states the reason for the threshold."""

    name: str
    label: str
    method: Method
    reference: str
    instances: int
    seed: int
    max_abs_error: float
    max_rel_error: float
    tolerance: str
    worst_instance: Mapping[str, float]
    passed: bool
    detail: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "method": self.method,
            "reference": self.reference,
            "instances": self.instances,
            "seed": self.seed,
            "max_abs_error": _json_float(self.max_abs_error),
            "max_rel_error": _json_float(self.max_rel_error),
            "tolerance": self.tolerance,
            "worst_instance": {k: _json_float(v) for k, v in self.worst_instance.items()},
            "passed": self.passed,
            "detail": {k: _json_float(v) for k, v in self.detail.items()},
        }


def _json_float(x):
    x = float(x)
    return x if math.isfinite(x) else str(x)


@dataclasses.dataclass(frozen=True, slots=True)
class CheckReport:
    """All check results of one derivation (iterable); ``passed`` when all passed."""

    name: str
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def __iter__(self):
        return iter(self.results)

    def __len__(self):
        return len(self.results)

    def __getitem__(self, i):
        return self.results[i]

    def __repr__(self):
        rows = [f"{'PASS' if r.passed else 'FAIL'} {r.label} [{r.method}] max rel err {r.max_rel_error:.3g} ({r.tolerance})" for r in self.results]
        return f"CheckReport({self.name!r}, passed={self.passed})\n  " + "\n  ".join(rows)


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


def quadrature(reference, *, describe="numerical quadrature", tolerance=None, rtol=1e-8, atol=1e-12, vectorize=False, **kw) -> Check:
    """Deterministic reference by numerical integration (SciPy quad)."""
    return Check(method="quadrature", reference=reference, describe=describe, rtol=rtol, atol=atol, vectorize=vectorize,
                 tolerance=_defaults("quadrature", tolerance, f"adaptive quadrature error: rel {rtol:g}"), **kw)


def ode(reference, *, describe="ODE integration of the flow", tolerance=None, rtol=1e-9, atol=1e-12, vectorize=False, **kw) -> Check:
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


def perturb(expr, delta: float = 0.1):
    """A deliberately wrong closed form: every nonzero entry scaled by (1 + delta),
    zero entries replaced by delta. Used to show that a check can fail."""
    def one(e):
        e = sp.sympify(e, strict=True)
        return delta if e == 0 else e * (1 + sp.Float(delta))

    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(one)
    if isinstance(expr, sp.Tuple):
        return sp.Tuple(*[perturb(e, delta) for e in expr])
    return one(expr)


# --------------------------------------------------------------------------- running


def _seed_for(seed: int, *labels: str) -> np.random.SeedSequence:
    digest = hashlib.sha256("\0".join(labels).encode()).digest()
    return np.random.SeedSequence([seed, int.from_bytes(digest[:8], "little")])


def draw(domains: Mapping[sp.Symbol, Domain], n: int, seed: int, *labels: str) -> dict[sp.Symbol, np.ndarray]:
    """Instance columns drawn from ``domains`` (reproducible for a seed and labels)."""
    rng = np.random.default_rng(_seed_for(seed, *labels))
    return {s: d.sample(rng, n) for s, d in sorted(domains.items(), key=lambda kv: str(kv[0]))}


def _with_observables(columns, observables):
    from ._numeric import evaluate

    out = dict(columns)
    for sym, definition in observables.items():
        out[sym] = evaluate(definition, out)
    return out


def _run_reference(check: Check, columns: Mapping[sp.Symbol, np.ndarray], seed: int, n: int):
    import jax
    import jax.numpy as jnp

    names = {str(s): v for s, v in columns.items()}
    takes_key = len([p for p in inspect.signature(check.reference).parameters.values() if p.default is p.empty]) == 2
    key = jax.random.key(int(_seed_for(seed, "key", check.label).generate_state(1)[0]))
    keys = jax.random.split(key, n)
    if check.vectorize:
        args = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in names.items()}
        fn = (lambda x, k: check.reference(x, k)) if takes_key else (lambda x, k: check.reference(x))
        out = jax.jit(jax.vmap(fn))(args, keys)
        return jax.tree_util.tree_map(np.asarray, out)
    rows = []
    for i in range(n):
        x = {k: float(v[i]) for k, v in names.items()}
        rows.append(check.reference(x, keys[i]) if takes_key else check.reference(x))
    if isinstance(rows[0], Estimate):
        return Estimate(np.stack([np.asarray(r.mean, float) for r in rows]), np.stack([np.asarray(r.se, float) for r in rows]))
    return np.stack([np.asarray(r, dtype=np.float64) for r in rows])


def _worst(columns, i) -> dict[str, float]:
    return {str(s): float(v[i]) for s, v in columns.items()}


def run_check(check: Check, *, name: str, result, symbols, observables, instances=None, seed=0, closed=None) -> CheckResult:
    """Run one check of a derivation. ``closed`` overrides the closed form (to show a
    wrong one fails)."""
    from ._numeric import evaluate

    n = instances or check.instances
    domains = {**symbols, **check.domains}
    if closed is None:
        closed = check.target(result) if check.target else result
    try:
        if check.method == "order":
            return _run_order(check, name=name, closed=closed, domains=domains, observables=observables, n=n, seed=seed)
        columns = _with_observables(draw(domains, n, seed, name, check.label), observables)
        want = evaluate(closed, columns)
        ref = _run_reference(check, columns, seed, n)
    except PricesymError:
        raise
    except Exception as exc:  # a reference or compile failure is reported, not a traceback
        raise CheckError(f"check {check.label!r} of `{name}` could not run: {type(exc).__name__}: {exc}") from exc
    if isinstance(ref, Estimate):
        mean = np.asarray(ref.mean, dtype=np.float64).reshape(want.shape)
        se = np.asarray(ref.se, dtype=np.float64).reshape(want.shape)
        err = np.abs(mean - want)
        allowed = check.se_multiple * se + check.allowance_abs + check.allowance_rel * np.abs(want)
        z = err / np.where(se > 0, se, np.inf)
        detail = {"max_se_multiple": float(np.max(z)) if z.size else 0.0, "max_se": float(np.max(se))}
        scale = np.abs(mean)
    else:
        ref = np.asarray(ref, dtype=np.float64).reshape(want.shape)
        err = np.abs(ref - want)
        allowed = check.atol + check.rtol * np.abs(ref)
        detail = {}
        scale = np.abs(ref)
        mean = ref
    finite = np.isfinite(want) & np.isfinite(mean)
    if not finite.all():
        bad = int(np.argwhere(~finite.reshape(n, -1).all(axis=1))[0, 0])
        raise CheckError(
            f"check {check.label!r} of `{name}` produced a non-finite value at instance {_worst(columns, bad)!r}; "
            "narrow the symbol domains so the model and closed form are finite there."
        )
    rel = err / np.maximum(scale, np.finfo(float).tiny)
    per_instance = (err - allowed).reshape(n, -1).max(axis=1)
    worst = int(np.argmax(per_instance))
    return CheckResult(
        name=name, label=check.label, method=check.method, reference=check.describe, instances=n, seed=seed,
        max_abs_error=float(err.max()), max_rel_error=float(rel.max()), tolerance=check.tolerance,
        worst_instance=_worst(columns, worst), passed=bool(np.all(err <= allowed)), detail=detail,
    )


def _run_order(check: Check, *, name, closed, domains, observables, n, seed) -> CheckResult:
    from ._numeric import evaluate

    base = draw(domains, n, seed, name, check.label)
    sweep = np.asarray(check.sweep, dtype=np.float64)
    residuals = np.empty((n, len(sweep)))
    for j, h in enumerate(sweep):
        cols = dict(base)
        cols[check.small] = np.full(n, h)
        cols = _with_observables(cols, observables)
        want = evaluate(closed, cols)
        ref = np.asarray(_run_reference(check, cols, seed, n), dtype=np.float64).reshape(want.shape)
        residuals[:, j] = np.abs(ref - want).reshape(n, -1).max(axis=1)
    slopes = np.empty(n)
    for i in range(n):
        r = residuals[i]
        above = r > check.floor
        if above.sum() < 2:
            slopes[i] = np.inf  # exact to round-off over the sweep
            continue
        slopes[i] = np.polyfit(np.log(sweep[above]), np.log(r[above]), 1)[0]
    worst = int(np.argmin(slopes))
    passed = bool(np.all(slopes >= check.order - check.order_margin))
    return CheckResult(
        name=name, label=check.label, method="order", reference=check.describe, instances=n, seed=seed,
        max_abs_error=float(residuals.max()), max_rel_error=float("nan"), tolerance=check.tolerance,
        worst_instance={str(s): float(v[worst]) for s, v in base.items() if s != check.small},
        passed=passed,
        detail={"fitted_order": float(slopes[worst]), "claimed_order": float(check.order),
                **{f"residual@{h:g}": float(residuals[worst, j]) for j, h in enumerate(sweep)}},
    )


def run_steps(steps, *, name: str, symbols, observables, instances: int = 8, seed: int = 0) -> CheckResult | None:
    """Spot-check each checkable step ``lhs = rhs`` at random instances. This is a
    consistency check of the algebra (not an independent reference)."""
    from ._numeric import evaluate

    todo = [s for s in steps if s.check]
    if not todo:
        return None
    columns = _with_observables(draw(symbols, instances, seed, name, "steps"), observables)
    worst_err, worst_rel, worst_i, passed = 0.0, 0.0, 0, True
    for step in todo:
        try:
            lhs = evaluate(step.lhs, columns)
            rhs = evaluate(step.rhs, columns)
        except PricesymError as exc:
            raise CheckError(f"step {step.why!r} of `{name}` cannot be evaluated: {exc}") from exc
        err = np.abs(lhs - rhs).reshape(instances, -1).max(axis=1)
        scale = np.maximum(np.abs(lhs), np.abs(rhs)).reshape(instances, -1).max(axis=1)
        ok = err <= 1e-12 + 1e-9 * scale
        passed &= bool(ok.all())
        if err.max() > worst_err:
            worst_err, worst_i = float(err.max()), int(np.argmax(err))
        worst_rel = max(worst_rel, float((err / np.maximum(scale, 1e-300)).max()))
    return CheckResult(
        name=name, label=f"{len(todo)} steps", method="steps", reference="each step's two sides evaluated numerically",
        instances=instances, seed=seed, max_abs_error=worst_err, max_rel_error=worst_rel,
        tolerance="float64 round-off of two evaluation orders: rel 1e-9", worst_instance=_worst(columns, worst_i),
        passed=passed,
    )
