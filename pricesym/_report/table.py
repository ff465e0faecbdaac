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

# Two columns that wrap at any text width (a paper's column, 5.5 in, a full page): the
# check and its verdict, then how it was checked, in sentences.
_TABLE_HEAD = (
    r"\begingroup\footnotesize\setlength{\tabcolsep}{4pt}%" "\n"
    r"\noindent\begin{tabularx}{\linewidth}{@{}>{\raggedright\arraybackslash}p{0.26\linewidth}"
    r">{\raggedright\arraybackslash}X@{}}" "\n"
    r"\toprule" "\n"
    r"Check & How it was checked: reference; instances; largest errors; tolerance and its reason \\" "\n"
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
        verdict = r"\textbf{PASS}" if r.passed else r"\textbf{FAIL}"
        check = r"%s\newline %s\newline \textit{%s}" % (verdict, breakable(escape(r.label, where)), escape(r.method, where))
        how = (r"%s; $n = %d$, seed %d; max.\ abs.\ error %s, max.\ rel.\ error %s; tolerance: %s."
               % (breakable(inline(r.reference, where)), r.instances, r.seed, number(r.max_abs_error),
                  number(r.max_rel_error), breakable(inline(r.tolerance, where))))
        rows.append(check + " & " + how + r" \\")
    notes = "\n".join("\\noindent %s\\par" % _note(r, where) for r in report.results)
    return (_TABLE_HEAD + "\n\\addlinespace\n".join(rows) + "\n\\bottomrule\n\\end{tabularx}\n\\smallskip\n" + notes
            + "\n\\endgroup")
