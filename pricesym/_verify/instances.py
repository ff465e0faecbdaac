"""The numeric stage of `verify`: instances drawn inside the assumptions (random
draws from the shared sampler, then the domain's edges), a float64 screen, and a
decision per instance (`decide`) until one differs or all are decided."""

from __future__ import annotations

import math
import time

import numpy as np
import sympy as sp

from .._errors import AssumptionError
from .budget import Budget
from .decide import TIME_SHORT, Outcome, Side, decide, describe_delta, distinct, float_rounding
from .evaluate import RTOL, Evaluator, point_of

__all__ = ["compare", "draw_instances"]

MIN_AGREED = 10
"""When the time budget runs short, "equal" still needs this many instances decided."""
SOFT_SHARE = 0.2
"""The numeric stage stops starting new instances when less than this share of the
time budget is left, so that the verdict (with what was done) arrives in time."""


def draw_instances(free: list[sp.Symbol], bounds: dict, n: int, seed: int) -> tuple[list[np.ndarray], int]:
    """Columns of instance values, one per symbol: ``n`` random draws from each
    symbol's `Domain`, then rows at the domain's edges (`Domain.edge_points`: each
    symbol at each of its edge points with the others random, then all of them at
    their edges together), at most ``n`` of those. Returns (columns, number of edge rows)."""
    rng = np.random.default_rng(seed)
    columns = [bounds[s.name].sample(rng, n, s.name) for s in free]
    if not free:
        return columns, 0
    edges = [bounds[s.name].edges(s.name) for s in free]
    rows: list[list[float]] = []
    for i, points in enumerate(edges):
        for k, value in enumerate(points):
            row = [float(c[k % n]) for c in columns]
            row[i] = float(value)
            rows.append(row)
    if len(free) > 1:
        longest = max(len(points) for points in edges)
        rows += [[float(points[k % len(points)]) if len(points) else float(c[k % n]) for points, c in zip(edges, columns)]
                 for k in range(longest)]
    rows = rows[:n]
    if rows:
        extra = np.asarray(rows, dtype=np.float64).T
        columns = [np.concatenate([c, e]) for c, e in zip(columns, extra)]
    return columns, len(rows)


def compare(open_pairs, free, columns, shown, n_edges: int, budget: Budget) -> dict:
    """Decide the open entries on the instances; the Verdict fields that follow."""
    n = len(columns[0]) if columns else 1
    totals = {"exact": 0, "numeric": 0}
    agreed_at: set[int] = set()
    unusable: dict[int, str] = {}
    unresolved: dict[int, str] = {}
    digits, worst = [], 0.0
    stopped = False
    flagged_open = False
    until = budget.deadline - SOFT_SHARE * budget.seconds  # no new instance (or precision) after this
    for index, a, b in open_pairs:
        try:
            lhs, rhs = Side.of(a), Side.of(b)
            order, flagged = _screen(a, b, free, columns, n)
        except (RecursionError, TypeError, ValueError, AttributeError, KeyError) as err:  # SymPy on an odd tree
            return dict(status="undecided", method="numeric",
                        evidence=f"undecided: the sides could not be prepared for evaluation ({type(err).__name__})")
        for position, k in enumerate(order):
            point = point_of(free, [c[k] for c in columns])
            outcome = decide(lhs, rhs, point, budget, until) if time.monotonic() <= until else None
            if outcome is None or (outcome.kind == "unresolved" and outcome.reason == TIME_SHORT):
                stopped, flagged_open = True, flagged_open or bool(flagged & set(order[position:]))
                break
            if outcome.kind == "differs":
                return _counterexample(outcome, k, n, free, shown, index)
            if outcome.kind == "agrees":
                agreed_at.add(k)
                totals[outcome.method] += 1
                if outcome.method == "numeric":
                    digits.append(outcome.digits)
                    worst = max(worst, outcome.bound)
            elif outcome.kind == "unusable":
                unusable.setdefault(k, outcome.reason)
            else:
                unresolved.setdefault(k, outcome.reason)
                flagged_open = flagged_open or (k in flagged and not float_rounding(lhs, rhs, point))
        if stopped:
            break
    decided = agreed_at - set(unusable) - set(unresolved)
    if not decided:
        reasons = list(unresolved.values()) or list(unusable.values())
        why = f" ({reasons[0]})" if reasons else ""
        if unresolved and not unusable:
            what = f"no instance could be decided{why}"
        else:
            what = f"neither side is a finite real number at any of {n} instances{why}"
        return dict(status="undecided", method="numeric", evidence=f"undecided: {what}")
    if stopped and len(decided) < MIN_AGREED:
        return dict(status="undecided", method="numeric",
                    evidence=f"undecided: the time budget ran short after {len(decided)} of {n} instances agreed")
    if flagged_open:
        reason = next(iter(unresolved.values()), TIME_SHORT)
        return dict(status="undecided", method="numeric",
                    evidence=f"undecided: float64 sees a difference that high precision could not settle ({reason})")
    return dict(status="equal", method="numeric" if totals["numeric"] else "exact", instances=len(decided),
                evidence=_agreement(len(decided), n, n_edges, totals, digits, worst, unusable, unresolved, stopped))


def _screen(a, b, free, columns, n) -> tuple[list[int], set[int]]:
    """Instances in the order to decide them: first where float64 sees a difference."""
    a_values = Evaluator(a, free).floats(columns, n)
    b_values = Evaluator(b, free).floats(columns, n)
    with np.errstate(all="ignore"):
        differ = np.abs(a_values - b_values) > RTOL * np.maximum(np.abs(a_values), np.abs(b_values))
    differ &= np.isfinite(a_values) & np.isfinite(b_values)
    flagged = [int(k) for k in np.flatnonzero(differ)]
    rest = [int(k) for k in np.flatnonzero(~differ)]
    return flagged + rest, set(flagged)


def _counterexample(outcome: Outcome, k: int, n: int, free, shown, index) -> dict:
    left, right = distinct(outcome.lhs, outcome.rhs)
    where = f" at instance {k + 1} of {n}" if free else ""
    how = "exactly" if outcome.method == "exact" else "numerically"
    stable = f" (stable from {outcome.checked} to {outcome.digits} digits)" if outcome.method == "numeric" else ""
    evidence = f"{how}: lhs - rhs = {describe_delta(outcome)}{where}{stable}"
    if not free:
        evidence = f"{how}: lhs - rhs is the nonzero constant {describe_delta(outcome)}{stable}"
    return dict(status="not equal", method=outcome.method, evidence=evidence,
                counterexample={name: float(values[k]) for name, values in shown.items()},
                lhs_value=_float(outcome.lhs), rhs_value=_float(outcome.rhs), lhs_digits=left, rhs_digits=right,
                delta=describe_delta(outcome), instances=int(k + 1), entry=index)


def _float(value) -> float:
    try:
        return float(value)
    except (OverflowError, ValueError):
        return math.inf if value > 0 else -math.inf


def _agreement(count, n, n_edges, totals, digits, worst, unusable, unresolved, stopped) -> str:
    out = "numerically: " if totals["numeric"] else "exactly: "
    out += f"all {n} instances agree" if count == n else f"{count} of {n} instances agree"
    if n_edges:
        out += f" ({n_edges} at the domain's edges)"
    if totals["exact"]:
        out += ", " + ("" if not totals["numeric"] else f"{totals['exact']} ") + "in rational arithmetic"
    if totals["numeric"]:
        span = f"{min(digits)}" if min(digits) == max(digits) else f"{min(digits)}-{max(digits)}"
        bound = f"{worst:.0e}" if worst > 0 else "0"
        some = "" if not totals["exact"] else f"{totals['numeric']} "
        out += f", {some}at {span} digits with |lhs - rhs| <= {bound} * max(1, |lhs|, |rhs|)"
    if unusable:
        out += f"; at {len(unusable)} more a side is not a finite real number"
    if unresolved:
        out += f"; {len(unresolved)} more left undecided ({next(iter(unresolved.values()))})"
    if stopped:
        out += "; the time budget ran short before the rest"
    return out


def defined_values(definitions, bounds, free, columns, n, assumptions) -> tuple[dict, np.ndarray]:
    """The defined symbols' values at each instance (for the counterexample), and
    which instances keep every defined symbol inside its own bounds."""
    shown = {s.name: column for s, column in zip(free, columns)}
    keep = np.ones(n, dtype=bool)
    for symbol, definition in definitions.items():
        shown[symbol.name] = Evaluator(definition, free).floats(columns, n)
        keep &= np.isfinite(shown[symbol.name]) & bounds[symbol.name].holds(shown[symbol.name])
    if not keep.any():
        restricted = [f"`{a.text}`" for a in assumptions if a.definition is None and a.symbol.name in
                      {s.name for s in definitions}]
        because = "no drawn value satisfies " + " and ".join(restricted) if restricted else \
            "no drawn value gives the defined symbols a finite value"
        raise AssumptionError(f"the assumptions exclude every instance: {because}.")
    return shown, keep
