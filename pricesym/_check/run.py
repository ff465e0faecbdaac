"""Running checks: draw instances from the domains, evaluate the closed form
(compiled: lambdify + jit + vmap), compute the reference, compare."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import numpy as np
import sympy as sp

from .._errors import CheckError, PricesymError
from .._numeric.estimators import Estimate
from .compile import evaluate
from .domains import draw, seed_for
from .kinds import Check
from .results import CheckResult

__all__ = ["run_check", "run_steps"]


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
