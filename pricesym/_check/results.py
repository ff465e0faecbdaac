"""What a check produces: one `CheckResult` per check, a `CheckReport` per derivation."""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Mapping
from typing import Literal

__all__ = ["Method", "CheckResult", "CheckReport"]

Method = Literal["autodiff", "exact", "quadrature", "ode", "monte-carlo", "order", "steps"]


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
        rows = [f"{'PASS' if r.passed else 'FAIL'} {r.label} [{r.method}] {_error(r)} ({r.tolerance})" for r in self.results]
        return f"CheckReport({self.name!r}, passed={self.passed})\n  " + "\n  ".join(rows)

    def _repr_html_(self) -> str:
        """A table for notebooks: what was checked, how, on how many instances, the
        error, the tolerance with its reason, and the verdict."""
        head = ("check", "method", "reference", "n", "seed", "max abs error", "max rel error", "tolerance (reason)",
                "verdict")
        rows = []
        for r in self.results:
            verdict = '<b style="color:#1a7f37">PASS</b>' if r.passed else '<b style="color:#cf222e">FAIL</b>'
            cells = (r.label, r.method, r.reference, str(r.instances), str(r.seed), f"{r.max_abs_error:.3g}",
                     f"{r.max_rel_error:.3g}", r.tolerance)
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + f"<td>{verdict}</td></tr>")
        status = "all checks passed" if self.passed else f"{sum(not r.passed for r in self.results)} failed"
        return (f"<p><code>{html.escape(self.name)}</code>: {status}</p><table><thead><tr>"
                + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _error(r: CheckResult) -> str:
    """The error, labelled absolute or relative (order checks have no relative error)."""
    if math.isfinite(r.max_rel_error):
        return f"max rel err {r.max_rel_error:.3g}"
    return f"max abs err {r.max_abs_error:.3g}"
