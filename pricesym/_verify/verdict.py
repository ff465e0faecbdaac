"""The answer of `verify`: a `Verdict`, readable as text, LaTeX and JSON."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import sympy as sp

from .._report.printer import latex as _printer_latex
from .parse import Assumption, to_text

__all__ = ["Verdict", "Status"]

Status = Literal["equal", "not equal", "undecided"]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """The answer of `verify`.

    ``status``: "equal", "not equal" or "undecided". ``method``: how it was
    decided — "symbolic" (a proof: lhs − rhs reduces to 0), "exact" (rational
    arithmetic at the instances), "numeric" (mpmath at a precision grown until
    the difference settled) or "budget" (the time ran out). ``evidence``: that in
    words, e.g. "numerically: 200 of 230 instances … at 60 digits, max |lhs - rhs|
    <= 1e-55 relative" or "undecided: …". ``lhs``/``rhs``: the two sides as read;
    ``difference``: lhs − rhs after substitution and reduction (0 when proved; in
    the observables when definitions were given); ``counterexample``: the instance
    where they differ (every sampled symbol and every defined one, by name), with
    ``lhs_value``/``rhs_value`` there as floats (±inf beyond float64), the same to
    as many digits as tell them apart (``lhs_digits``/``rhs_digits``) and their
    difference ``delta`` (for matrices, at entry ``entry``); ``instances``: how
    many instances were compared (0 for a proof); ``seed``."""

    status: Status
    method: str
    lhs: sp.Basic
    rhs: sp.Basic
    difference: sp.Basic
    evidence: str = ""
    counterexample: Mapping[str, float] | None = None
    lhs_value: float | None = None
    rhs_value: float | None = None
    lhs_digits: str | None = None
    rhs_digits: str | None = None
    delta: str | None = None
    instances: int = 0
    seed: int = 0
    assumptions: tuple[Assumption, ...] = ()
    entry: tuple[int, int] | None = None

    def __post_init__(self):
        if self.status not in ("equal", "not equal", "undecided"):
            raise ValueError(f"`status` must be 'equal', 'not equal' or 'undecided', got {self.status!r}.")
        if self.counterexample is not None:
            object.__setattr__(self, "counterexample", MappingProxyType(dict(self.counterexample)))
        if not self.evidence:
            object.__setattr__(self, "evidence", self.method)

    @property
    def equal(self) -> bool:
        return self.status == "equal"

    def as_json(self) -> dict:
        """A JSON-ready dict: the sides in `parse` syntax and in LaTeX, the verdict and its evidence, the counterexample."""
        return {
            "status": self.status,
            "equal": self.equal,
            "method": self.method,
            "evidence": self.evidence,
            "lhs": to_text(self.lhs),
            "rhs": to_text(self.rhs),
            "lhs_latex": _latex(self.lhs),
            "rhs_latex": _latex(self.rhs),
            "difference": to_text(self.difference),
            "assumptions": [a.text for a in self.assumptions],
            "counterexample": dict(self.counterexample) if self.counterexample is not None else None,
            "lhs_value": _json_float(self.lhs_value),
            "rhs_value": _json_float(self.rhs_value),
            "lhs_digits": self.lhs_digits,
            "rhs_digits": self.rhs_digits,
            "delta": self.delta,
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
            at = r",\ ".join(f"{_latex(sp.Symbol(k))} = {_number_latex(f'{v:.6g}')}" for k, v in self.counterexample.items())
            at = rf"\text{{e.g. at }} {at}:\ " if at else r"\text{numerically: }"
            a, b = self._shown_values(6)
            out += rf" \quad {at}{_number_latex(a)} \neq {_number_latex(b)}"
        return out

    def _shown_values(self, digits: int) -> tuple[str, str]:
        """As floats when float64 tells the values apart; else the high-precision digits."""
        a, b = float(self.lhs_value or 0.0), float(self.rhs_value or 0.0)
        if math.isfinite(a) and math.isfinite(b) and a != b or self.lhs_digits is None or self.rhs_digits is None:
            return _distinct(a, b, digits)
        return self.lhs_digits, self.rhs_digits

    def __repr__(self) -> str:
        """The readable verdict (the fields are attributes: ``status``, ``counterexample``...)."""
        return f"Verdict: {self}"

    def _repr_latex_(self) -> str:
        """For notebooks: the claim with its relation (=, ≠, =?), the assumptions and the
        counterexample, as one display."""
        return f"$${self.latex()}$$"

    def __str__(self) -> str:
        relation = {"equal": "=", "not equal": "!=", "undecided": "=?"}[self.status]
        out = f"{self.status} ({self.evidence}): {to_text(self.lhs)} {relation} {to_text(self.rhs)}"
        if self.assumptions:
            out += ", given " + ", ".join(a.text for a in self.assumptions)
        out += "."
        if self.counterexample is not None:
            at = ", ".join(f"{k} = {v:.6g}" for k, v in self.counterexample.items())
            at = f" at {at}" if at else ""
            entry = f" (entry {self.entry})" if self.entry is not None else ""
            a, b = self._shown_values(10)
            apart = f" (lhs - rhs = {self.delta})" if a == b and self.delta else ""
            out += (f" Counterexample{at}: lhs = {a}, rhs = {b}{apart}{entry}."
                    f" Difference: {to_text(self.difference)}.")
        elif self.status == "equal" and self.instances:
            out += f" Seed {self.seed}."
        return out


def _latex(expr) -> str:
    """pricesym's LaTeX; SymPy evaluates some numbers to order a sum and can fail doing so."""
    try:
        return _printer_latex(expr)
    except (ArithmeticError, ValueError, TypeError):
        return sp.latex(expr, order="none")


def _json_float(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _distinct(a: float, b: float, digits: int = 6) -> tuple[str, str]:
    """The two values with as many digits as it takes to tell them apart."""
    for d in range(digits, 18):
        left, right = f"{a:.{d}g}", f"{b:.{d}g}"
        if left != right:
            break
    return left, right


def _number_latex(text: str) -> str:
    if "e" in text and text not in ("±huge",):
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text
