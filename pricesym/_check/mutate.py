"""Deliberately wrong closed forms, to show what a check can tell apart.

`mutants` makes, from one closed form, every variant that is wrong by a little:
each numeric constant scaled by ``1 + delta`` in turn, each term of every sum (at
any depth) scaled by ``1 + delta`` or dropped, and each symbol's power changed by
one. `mutation_report` runs a derivation's checks on every mutant of every result
part against the references computed once (`run.reference`), and says which are
caught: the checks' resolving power, part by part.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import sympy as sp

from .._errors import CheckError, PricesymError
from .._safe import to_sympy

__all__ = ["perturb", "Mutant", "mutants", "PartScore", "mutation_report"]


def perturb(expr, delta: float = 0.1):
    """A deliberately wrong closed form: every nonzero entry scaled by (1 + delta),
    zero entries replaced by delta. Used to show that a check can fail."""
    def one(e):
        e = to_sympy(e, "expr")
        return delta if e == 0 else e * (1 + sp.Float(delta))

    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(one)
    if isinstance(expr, sp.Tuple):
        return sp.Tuple(*[perturb(e, delta) for e in expr])
    return one(expr)


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One wrong closed form: ``kind`` is "constant", "term", "dropped" or "power";
    ``where`` says what changed."""

    kind: str
    where: str
    expr: sp.Basic


def _sites(expr, path=()) -> Iterator[tuple[tuple[int, ...], sp.Basic]]:
    yield path, expr
    if isinstance(expr, (sp.Derivative, sp.Integral, sp.Sum)):  # variables and limits are not constants
        yield from _sites(expr.args[0], (*path, 0))
        return
    if isinstance(expr, (sp.Indexed, sp.MatrixSymbol)):  # indices and shapes are not constants
        return
    if isinstance(expr, sp.Inverse):  # its -1 is part of the notation, not a constant
        yield from _sites(expr.args[0], (*path, 0))
        return
    for i, arg in enumerate(expr.args):
        yield from _sites(arg, (*path, i))


def _replace(expr, path: tuple[int, ...], new):
    if not path:
        return new
    args = list(expr.args)
    args[path[0]] = _replace(args[path[0]], path[1:], new)
    return expr.func(*args)


def _in_exponent(expr, path) -> bool:
    node = expr
    for i in path:
        if isinstance(node, sp.Pow) and i == 1:
            return True
        node = node.args[i]
    return False


def mutants(expr, delta: float = 0.01) -> list[Mutant]:
    """Every small mutation of a scalar closed form (see the module docstring). Mutants
    equal to the original (e.g. scaling a zero) are left out."""
    factor = 1 + sp.Float(delta)
    out: list[Mutant] = [Mutant("constant", f"the whole expression × {factor}", expr * factor)]
    for path, node in _sites(expr):
        try:
            out += _at(expr, path, node, factor)
        except (TypeError, ValueError, ArithmeticError, PricesymError):
            continue  # an argument that must stay as it is (an integer order, an index): no mutant there
    if isinstance(expr, sp.Add):
        for k, term in enumerate(expr.args):
            rest = [t for j, t in enumerate(expr.args) if j != k]
            out.append(Mutant("dropped", f"term {term} dropped", sp.Add(*rest)))
            out.append(Mutant("term", f"term {term} × {factor}", sp.Add(*rest, term * factor)))
    seen, unique = set(), []
    for m in out:
        if m.expr != expr and m.expr not in seen:
            seen.add(m.expr)
            unique.append(m)
    return unique


def _at(expr, path, node, factor) -> list[Mutant]:
    """The mutants made at one site of the tree."""
    out: list[Mutant] = []
    if not path:
        return out
    if node.is_Number and node != 0 and not _in_exponent(expr, path):
        out.append(Mutant("constant", f"constant {node} × {factor}", _replace(expr, path, node * factor)))
    elif isinstance(node, sp.Add):
        for k, term in enumerate(node.args):
            rest = [t for j, t in enumerate(node.args) if j != k]
            out.append(Mutant("dropped", f"term {term} dropped", _replace(expr, path, sp.Add(*rest))))
            out.append(Mutant("term", f"term {term} × {factor}",
                              _replace(expr, path, sp.Add(*rest, term * factor))))
    elif isinstance(node, sp.Pow) and node.base.is_Symbol and node.exp.is_Integer:
        for step in (1, -1):
            out.append(Mutant("power", f"{node} → {node.base}**{node.exp + step}",
                              _replace(expr, path, node.base ** (node.exp + step))))
    elif node.is_Symbol and not _in_exponent(expr, path) and not isinstance(_parent(expr, path), sp.Pow):
        out.append(Mutant("power", f"{node} → {node}**2", _replace(expr, path, node**2)))
    return out


def _parent(expr, path):
    node = expr
    for i in path[:-1]:
        node = node.args[i]
    return node


@dataclasses.dataclass(frozen=True)
class PartScore:
    """Which mutants of one result part (entry ``entry`` of a matrix) one check catches."""

    part: str
    check: str
    caught: tuple[Mutant, ...]
    missed: tuple[Mutant, ...]

    @property
    def score(self) -> float:
        total = len(self.caught) + len(self.missed)
        return len(self.caught) / total if total else 1.0


def _parts(result) -> list[tuple[str, tuple, sp.Basic]]:
    """(label, index path into the result, scalar) for every scalar part."""
    out = []
    tops = list(enumerate(result)) if isinstance(result, sp.Tuple) else [(None, result)]
    for i, top in tops:
        prefix = () if i is None else (i,)
        label = "" if i is None else f"part {i}"
        if isinstance(top, sp.MatrixBase):
            for r in range(top.rows):
                for c in range(top.cols):
                    out.append((f"{label} [{r},{c}]".strip(), (*prefix, (r, c)), top[r, c]))
        else:
            out.append((label or "result", prefix, top))
    return out


def _with(result, index: tuple, value):
    if not index:
        return value
    if isinstance(result, sp.Tuple):
        parts = list(result)
        parts[index[0]] = _with(parts[index[0]], index[1:], value)
        return sp.Tuple(*parts)
    m = sp.Matrix(result)
    m[index[0]] = value
    return sp.ImmutableMatrix(m)


def mutation_report(derivation, delta: float = 0.01, *, instances=None, seed: int = 0) -> list[PartScore]:
    """For every scalar part of the result and every check that sees it: which mutants
    (`mutants`) the check catches. A check that refuses a mutant outright (non-finite
    on its instances) counts it as caught."""
    scores = []
    for label, index, scalar in _parts(derivation.result):
        wrong = mutants(scalar, delta)
        for check in derivation.checks:
            right = check.target(derivation.result) if check.target else derivation.result
            sees = [m for m in wrong if _changes(check, derivation.result, index, m.expr, right)]
            if not sees:
                continue
            caught: list[Mutant] = []
            missed: list[Mutant] = []
            for m in sees:
                candidate = _with(derivation.result, index, m.expr)
                closed = check.target(candidate) if check.target else candidate
                try:
                    failed = not derivation.run(check, instances=instances, seed=seed, closed=closed).passed
                except CheckError:
                    failed = True
                (caught if failed else missed).append(m)
            scores.append(PartScore(label, check.label, tuple(caught), tuple(missed)))
    return scores


def _changes(check, result, index, mutant, right) -> bool:
    """Does the check's target see this part? (It does when the mutant changes it.)"""
    target = check.target(_with(result, index, mutant)) if check.target else _with(result, index, mutant)
    return target != right
