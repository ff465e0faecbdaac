"""Running checks: draw instances from the domains, evaluate the closed form
(compiled: lambdify + jit + vmap), compute the reference, compare."""

from __future__ import annotations

import collections
import dataclasses
import inspect
from collections.abc import Mapping

import numpy as np
import sympy as sp

from .._errors import CheckError, PricesymError
from .._numeric.estimators import Estimate
from .compile import evaluate, evaluate_all
from .domains import draw, seed_for
from .kinds import Check
from .results import CheckResult

__all__ = ["Reference", "reference", "run_check", "run_steps"]


def _with_observables(columns, observables):
    out = dict(columns)
    for sym, definition in observables.items():
        out[sym] = evaluate(definition, out)
    return out


def _run_reference(check: Check, columns: Mapping[sp.Symbol, np.ndarray], seed: int, n: int):
    import jax
    import jax.numpy as jnp

    names = {str(s): v for s, v in columns.items()}
    takes_key = len([p for p in inspect.signature(check.reference).parameters.values() if p.default is p.empty]) == 2
    key = jax.random.key(int(seed_for(seed, "key", check.label).generate_state(1)[0]))
    keys = jax.random.split(key, n)
    if check.vectorize:
        args = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in names.items()}
        out = _vectorized(check, takes_key)(args, keys)
        return jax.tree_util.tree_map(np.asarray, out)
    rows = []
    for i in range(n):
        x = {k: float(v[i]) for k, v in names.items()}
        rows.append(check.reference(x, keys[i]) if takes_key else check.reference(x))
    if isinstance(rows[0], Estimate):
        return Estimate(np.stack([np.asarray(r.mean, float) for r in rows]), np.stack([np.asarray(r.se, float) for r in rows]))
    return np.stack([np.asarray(r, dtype=np.float64) for r in rows])


_VECTORIZED: dict = {}


def _vectorized(check: Check, takes_key: bool):
    """``jit(vmap(reference))``, one per check: traced once, not once per sweep value, and
    kept between runs when the reference's code and closure can be keyed."""
    from .._numeric.backend import jax
    from .._numeric.programs import function_key, jit

    hit = _VECTORIZED.get(id(check))
    if hit is None or hit[0] is not check:
        ref = check.reference
        fn = (lambda x, k: ref(x, k)) if takes_key else (lambda x, k: ref(x))
        key = function_key(ref)
        hit = _VECTORIZED[id(check)] = (check, jit(jax.vmap(fn), key=key and f"vmap({key}, key={takes_key})"))
        if len(_VECTORIZED) > _CACHED:
            _VECTORIZED.pop(next(iter(_VECTORIZED)))
    return hit[1]


def _worst(columns, i) -> dict[str, float]:
    return {str(s): float(v[i]) for s, v in columns.items()}


@dataclasses.dataclass(frozen=True)
class Reference:
    """A check's reference values on its instances: computed once per (check,
    instances, seed), since they never depend on the closed form, and compared with
    any number of candidate closed forms."""

    columns: tuple[dict, ...]  # the instances (one set per sweep value for order checks)
    values: tuple  # reference values (ndarray or Estimate) per set of columns


_REFERENCES: collections.OrderedDict = collections.OrderedDict()
_CACHED = 256


def reference(check: Check, *, name: str, symbols, observables, instances=None, seed=0) -> Reference:
    """The reference values of ``check`` (cached: the same check, instances and seed give
    the same values, so candidates are compared without re-simulating)."""
    n = instances or check.instances
    key = (id(check), name, n, seed)
    hit = _REFERENCES.get(key)
    if hit is not None and hit[0] is check:
        _REFERENCES.move_to_end(key)
        return hit[1]
    domains = {**symbols, **check.domains}
    try:
        if check.method == "order":
            base = draw(domains, n, seed, name, check.label)
            sets = []
            for h in check.sweep:
                cols = dict(base)
                cols[check.small] = np.full(n, float(h))
                sets.append(_with_observables(cols, observables))
        else:
            sets = [_with_observables(draw(domains, n, seed, name, check.label), observables)]
        values = tuple(_run_reference(check, cols, seed, n) for cols in sets)
    except PricesymError:
        raise
    except Exception as exc:  # a reference failure is reported, not a traceback
        raise CheckError(f"check {check.label!r} of `{name}` could not run: {type(exc).__name__}: {exc}") from exc
    ref = Reference(tuple(sets), values)
    _REFERENCES[key] = (check, ref)
    if len(_REFERENCES) > _CACHED:
        _REFERENCES.popitem(last=False)
    return ref


def run_check(check: Check, *, name: str, result, symbols, observables, instances=None, seed=0, closed=None) -> CheckResult:
    """Run one check of a derivation. ``closed`` replaces the closed form (a candidate,
    or a deliberately wrong one); the reference is the same either way."""
    if closed is None:
        closed = check.target(result) if check.target else result
    ref = reference(check, name=name, symbols=symbols, observables=observables, instances=instances, seed=seed)
    n = len(next(iter(ref.columns[0].values()))) if ref.columns[0] else (instances or check.instances)
    try:
        wants = [evaluate(closed, cols) for cols in ref.columns]
    except PricesymError:
        raise
    except Exception as exc:  # a compile failure of the closed form is reported, not a traceback
        raise CheckError(f"check {check.label!r} of `{name}`: the closed form cannot be evaluated: "
                         f"{type(exc).__name__}: {exc}") from exc
    if check.method == "order":
        return _compare_order(check, name=name, ref=ref, wants=wants, n=n, seed=seed)
    return _compare(check, name=name, columns=ref.columns[0], ref=ref.values[0], want=wants[0], n=n, seed=seed)


def _compare(check: Check, *, name, columns, ref, want, n, seed) -> CheckResult:
    if isinstance(ref, Estimate):
        mean = np.asarray(ref.mean, dtype=np.float64).reshape(want.shape)
        se = np.asarray(ref.se, dtype=np.float64).reshape(want.shape)
        err = np.abs(mean - want)
        allowed = check.se_multiple * se + check.allowance_abs + check.allowance_rel * np.abs(want)
        z = err / np.where(se > 0, se, np.inf)
        detail = {"max_se_multiple": float(np.max(z)) if z.size else 0.0, "max_se": float(np.max(se))}
        scale = np.abs(mean)
    else:
        mean = np.asarray(ref, dtype=np.float64).reshape(want.shape)
        err = np.abs(mean - want)
        allowed = check.atol + check.rtol * np.abs(mean)
        detail = {}
        scale = np.abs(mean)
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


def _compare_order(check: Check, *, name, ref: Reference, wants, n, seed) -> CheckResult:
    sweep = np.asarray(check.sweep, dtype=np.float64)
    residuals = np.empty((n, len(sweep)))
    for j, (values, want) in enumerate(zip(ref.values, wants)):
        values = np.asarray(values, dtype=np.float64).reshape(want.shape)
        residuals[:, j] = np.abs(values - want).reshape(n, -1).max(axis=1)
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
    base = ref.columns[0]
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
    todo = [s for s in steps if s.check]
    if not todo:
        return None
    columns = _with_observables(draw(symbols, instances, seed, name, "steps"), observables)
    worst_err, worst_rel, worst_i, passed = 0.0, 0.0, 0, True
    try:
        sides = evaluate_all([side for step in todo for side in (step.lhs, step.rhs)], columns)
    except PricesymError:
        sides = None  # found again below, step by step, to name the step
    for k, step in enumerate(todo):
        try:
            lhs, rhs = (sides[2 * k], sides[2 * k + 1]) if sides else (evaluate(step.lhs, columns), evaluate(step.rhs, columns))
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
