"""The answer of `verify`: a `Verdict`, readable as text, LaTeX and JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import sympy as sp

from .._report.printer import latex as _latex
from .evaluate import EXACT_INSTANCES, RTOL
from .parse import Assumption, to_text

__all__ = ["Verdict", "Status"]

Status = Literal["equal", "not equal", "undecided"]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """The answer of `verify`.

    ``status``: "equal", "not equal" or "undecided"; ``method``: "symbolic" or
    "numeric (N instances)" (with the reason when undecided); ``lhs``/``rhs``:
    the two sides as read; ``difference``: lhs − rhs after substitution and
    reduction (0 when symbolic equality was shown; in the observables when
    definitions were given); ``counterexample``: the instance where they differ
    (every sampled symbol and every defined one, by name), with ``lhs_value``
    and ``rhs_value`` there (for matrices, at entry ``entry``); ``instances``:
    how many instances were compared numerically (0 for symbolic); ``seed``."""

    status: Status
    method: str
    lhs: sp.Basic
    rhs: sp.Basic
    difference: sp.Basic
    counterexample: Mapping[str, float] | None = None
    lhs_value: float | None = None
    rhs_value: float | None = None
    instances: int = 0
    seed: int = 0
    assumptions: tuple[Assumption, ...] = ()
    entry: tuple[int, int] | None = None

    def __post_init__(self):
        if self.status not in ("equal", "not equal", "undecided"):
            raise ValueError(f"`status` must be 'equal', 'not equal' or 'undecided', got {self.status!r}.")
        if self.counterexample is not None:
            object.__setattr__(self, "counterexample", MappingProxyType(dict(self.counterexample)))

    @property
    def equal(self) -> bool:
        return self.status == "equal"

    def as_json(self) -> dict:
        """A JSON-ready dict: the sides in `parse` syntax and in LaTeX, the verdict, the counterexample."""
        return {
            "status": self.status,
            "equal": self.equal,
            "method": self.method,
            "lhs": to_text(self.lhs),
            "rhs": to_text(self.rhs),
            "lhs_latex": _latex(self.lhs),
            "rhs_latex": _latex(self.rhs),
            "difference": to_text(self.difference),
            "assumptions": [a.text for a in self.assumptions],
            "counterexample": dict(self.counterexample) if self.counterexample is not None else None,
            "lhs_value": self.lhs_value,
            "rhs_value": self.rhs_value,
            "entry": list(self.entry) if self.entry is not None else None,
            "instances": self.instances,
            "seed": self.seed,
        }

    def latex(self) -> str:
        r"""One line of display math, e.g.
        ``\operatorname{ntvar}\left(\sigma\left(b\right)\right) = p^{2} \left(1 - p\right)^{2}
        \quad \text{given } p = \sigma\left(b\right)``."""
        relation = {"equal": "=", "not equal": r"\neq", "undecided": r"\overset{?}{=}"}[self.status]
        out = f"{_latex(self.lhs)} {relation} {_latex(self.rhs)}"
        if self.assumptions:
            out += r" \quad \text{given } " + r",\ ".join(a.latex() for a in self.assumptions)
        if self.counterexample is not None:
            at = r",\ ".join(f"{_latex(sp.Symbol(k))} = {_number_latex(v)}" for k, v in self.counterexample.items())
            at = rf"\text{{e.g. at }} {at}:\ " if at else r"\text{numerically: }"
            a, b = _distinct(float(self.lhs_value or 0.0), float(self.rhs_value or 0.0))
            out += rf" \quad {at}{_number_latex(a)} \neq {_number_latex(b)}"
        return out

    def __str__(self) -> str:
        relation = {"equal": "=", "not equal": "!=", "undecided": "=?"}[self.status]
        out = f"{self.status} ({self.method}): {to_text(self.lhs)} {relation} {to_text(self.rhs)}"
        if self.assumptions:
            out += ", given " + ", ".join(a.text for a in self.assumptions)
        out += "."
        if self.counterexample is not None:
            at = ", ".join(f"{k} = {v:.6g}" for k, v in self.counterexample.items())
            at = f" at {at}" if at else ""
            entry = f" (entry {self.entry})" if self.entry is not None else ""
            a, b = _distinct(float(self.lhs_value or 0.0), float(self.rhs_value or 0.0), digits=10)
            same = " (equal in float64: the difference is below double precision)" if a == b else ""
            out += (f" Counterexample{at}: lhs = {a}, rhs = {b}{entry}{same}."
                    f" Difference: {to_text(self.difference)}.")
        elif self.status == "equal" and self.instances:
            out += (f" Seed {self.seed}; float64 agreement to {RTOL:g} relative at every instance,"
                    f" and to ~25 digits at the first {min(EXACT_INSTANCES, self.instances)}.")
        return out


def _distinct(a: float, b: float, digits: int = 6) -> tuple[str, str]:
    """The two values with as many digits as it takes to tell them apart."""
    for d in range(digits, 18):
        left, right = f"{a:.{d}g}", f"{b:.{d}g}"
        if left != right:
            break
    return left, right


def _number_latex(value: float | str) -> str:
    text = value if isinstance(value, str) else f"{value:.6g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text
