"""What a check produces: one `CheckResult` per check, a `CheckReport` per derivation."""

from __future__ import annotations

import dataclasses
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
        rows = [f"{'PASS' if r.passed else 'FAIL'} {r.label} [{r.method}] max rel err {r.max_rel_error:.3g} ({r.tolerance})"
                for r in self.results]
        return f"CheckReport({self.name!r}, passed={self.passed})\n  " + "\n  ".join(rows)
