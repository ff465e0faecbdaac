"""The verification table of a derivation: one row per check result, then notes."""

from __future__ import annotations

import math as _math
from collections.abc import Mapping
from types import MappingProxyType

import sympy as sp

from .._check.results import CheckReport, CheckResult
from .breaking import breakable
from .printer import latex
from .text import escape, inline

__all__ = ["number", "render_table"]


def number(x: float) -> str:
    """A float for a table, deterministically: 3 significant digits, powers of ten in math."""
    x = float(x)
    if _math.isnan(x):
        return "--"
    if _math.isinf(x):
        return r"$\infty$" if x > 0 else r"$-\infty$"
    text = "%.3g" % x
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return r"$%s\times 10^{%d}$" % (mantissa, int(exponent))


_DETAIL_NAMES = MappingProxyType({
    "max_se_multiple": "largest error in standard errors",
    "max_se": "largest standard error",
    "fitted_order": "fitted order (worst instance)",
    "claimed_order": "claimed order",
})

_L = r">{\raggedright\arraybackslash}"
_TABLE_HEAD = (
    r"\begingroup\footnotesize\setlength{\tabcolsep}{3pt}%" "\n"
    r"\noindent\begin{tabularx}{\linewidth}{@{}" + _L + "p{2.1cm}" + _L + "p{1.65cm}" + _L + "X rrrr" + _L + "X"
    + _L + r"p{1.05cm}@{}}" "\n"
    r"\toprule" "\n"
    r"Check & Method & Reference (how computed) & $n$ & Seed & \shortstack[r]{Max abs.\\error} & "
    r"\shortstack[r]{Max rel.\\error} & Tolerance (reason) & Verdict \\" "\n"
    r"\midrule" "\n"
)


def _instance(values: Mapping[str, float]) -> str:
    parts = []
    for key in sorted(values):
        parts.append("%s = %s" % (latex(sp.Symbol(key)), "%.4g" % float(values[key])))
    return "$" + ",\\ ".join(parts) + "$" if parts else "--"


def _note(r: CheckResult, where: str) -> str:
    items = ["worst instance " + _instance(r.worst_instance)]
    for key, value in r.detail.items():
        items.append("%s %s" % (escape(_DETAIL_NAMES.get(key, key.replace("_", " ")), where), number(value)))
    return r"\textit{%s}: %s." % (escape(r.label, where), "; ".join(items))


def render_table(report: CheckReport, where: str) -> str:
    """The verification table: one row per `CheckResult`, then notes (worst instance, details)."""
    rows = []
    for r in report.results:
        verdict = "PASS" if r.passed else r"\textbf{FAIL}"
        cells = [escape(r.label, where), escape(r.method, where), breakable(inline(r.reference, where)),
                 str(r.instances), str(r.seed), number(r.max_abs_error), number(r.max_rel_error),
                 breakable(inline(r.tolerance, where)), verdict]
        rows.append(" & ".join(cells) + r" \\")
    notes = "\n".join("\\noindent %s\\par" % _note(r, where) for r in report.results)
    return _TABLE_HEAD + "\n".join(rows) + "\n\\bottomrule\n\\end{tabularx}\n\\smallskip\n" + notes + "\n\\endgroup"
