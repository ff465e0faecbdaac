r"""Document assembly: one section per derivation, the fragment for ``\input`` and
the complete document, and the packages they need."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence

from .._check.results import CheckReport
from .._derivation.derivation import Derivation
from .._errors import ReportError
from .breaking import breakable
from .equations import render_result, render_steps
from .model import models, render_model
from .printer import symbol_names
from .rst import prose as docstring_prose
from .rst import rst_inline, rst_to_latex, text_width
from .table import render_table
from .text import escape, inline, plain

__all__ = ["SECTION_LEVELS", "preamble", "style", "figure_file", "render_section", "render_body", "render_document"]


_PACKAGES = ("amsmath", "amssymb", "array", "booktabs", "tabularx", "graphicx", "fancyvrb")


# \psfit{formula}: the formula in display style, shrunk to the line when it is wider.
_MACROS = (
    r"\allowdisplaybreaks",
    r"\newcommand{\psfit}[1]{\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{$\displaystyle #1$}}",
)


def preamble() -> str:
    r"""The packages and macros the sections need (all in texlive-latex-base or
    -recommended): what ``\usepackage{pricesym}`` loads."""
    return "\n".join([*(r"\usepackage{%s}" % p for p in _PACKAGES), *_MACROS, ""])


def style() -> str:
    r"""``pricesym.sty``: a paper needs only ``\usepackage{pricesym}`` and
    ``\input{appendix-body}``. Every package the body uses, and the macros it needs."""
    return "\n".join([
        r"\NeedsTeXFormat{LaTeX2e}",
        r"\ProvidesPackage{pricesym}[2026/12/01 pricesym appendix support]",
        *(r"\RequirePackage{%s}" % p for p in _PACKAGES),
        *_MACROS,
        r"\providecommand{\texorpdfstring}[2]{#1}",
        r"\endinput",
        "",
    ])


_BODY_HEADER = r"""% pricesym appendix: one section per derivation.
% In a paper: \usepackage{pricesym} in the preamble (pricesym.sty is written beside
% this file), then \input{appendix-body} after \begin{document}.
% Figures are included as figures/<file>.pdf; from another folder set \graphicspath.
\providecommand{\texorpdfstring}[2]{#1}
"""



def figure_file(name: str, index: int) -> str:
    """The figure's path relative to the appendix: ``figures/<name with / as _>-<i>.pdf``."""
    return "figures/%s-%d.pdf" % (name.replace("/", "_"), index)


def _title(derivation: Derivation, where: str) -> tuple[str, str]:
    """(LaTeX, plain) of the title; :math:`...` allowed, a final full stop dropped."""
    title = (derivation.title or derivation.name).strip()
    if title.endswith(".") and not title.endswith(".."):
        title = title[:-1]
    return rst_inline(title, where), plain(title)


SECTION_LEVELS = ("section", "subsection", "subsubsection")


def render_section(derivation: Derivation, report: CheckReport | None, *, level: str = "section",
                   names: bool = True, width: float = 6.5) -> str:
    """One ``\\section`` (or ``level``) for a derivation and its check report (None: not
    checked). ``names=False`` leaves out the catalogue name, for a paper; formulas are
    broken for a text ``width`` in inches (6.5: a full page; about 3.3: one column of
    a two-column paper)."""
    if not isinstance(derivation, Derivation):
        raise ReportError(f"`derivation` must be a `ps.Derivation`, got {derivation!r}.")
    if level not in SECTION_LEVELS:
        raise ReportError(f"`level` must be one of {', '.join(SECTION_LEVELS)}, got {level!r}.")
    if not 1.0 <= width <= 20.0:
        raise ReportError(f"`width` is a text width in inches from 1 to 20, got {width!r}.")
    with symbol_names(derivation.notation), text_width(width):
        return _section(derivation, report, level, names)


def _section(derivation: Derivation, report: CheckReport | None, level: str, names: bool) -> str:
    if not isinstance(derivation, Derivation):
        raise ReportError(f"`derivation` must be a `ps.Derivation`, got {derivation!r}.")
    if report is not None and not isinstance(report, CheckReport):
        raise ReportError(f"`report` must be a `ps.CheckReport` (from `Derivation.check()`) or None, got {report!r}.")
    name = derivation.name or "unnamed"
    where = f"`{name}`"
    tex_title, pdf_title = _title(derivation, f"the title of {where}")
    out = ["\\%s{\\texorpdfstring{%s}{%s}}\\label{deriv:%s}" % (level, tex_title, pdf_title, name)]
    if names:
        out.append("\\noindent Catalogue name: \\texttt{%s}\\par\\medskip" % escape(name))
    prose = docstring_prose(derivation)
    if prose:
        out.append(rst_to_latex(prose, f"the docstring of {where}"))
    shown = models(derivation)
    if shown:
        out.append("\\paragraph{Model.}")
        out.extend(render_model(m, f"the model of {where}") for m in shown)
    if derivation.assumptions:
        items = "\n".join(r"  \item %s" % inline(a, f"assumption {k} of {where}")
                          for k, a in enumerate(derivation.assumptions, 1))
        out.append("\\paragraph{Assumptions.}\n\\begin{itemize}\n%s\n\\end{itemize}" % items)
    if derivation.steps:
        out.append("\\paragraph{Derivation.}\n" + render_steps(derivation))
    out.append("\\paragraph{Result.}\n" + render_result(derivation))
    out.append("\\paragraph{Verification.}")
    if report is None:
        out.append("Not checked in this run.")
    else:
        verdict = "All checks passed." if report.passed else "\\textbf{%d of %d checks failed.}" % (
            sum(not r.passed for r in report.results), len(report.results))
        out.append(verdict + "\n\n" + render_table(report, f"the check results of {where}"))
    for i, fig in enumerate(derivation.figures, 1):
        doc = inspect.getdoc(fig) or ""
        caption = escape(doc.strip().splitlines()[0], where) if doc.strip() else "Figure %d of \\texttt{%s}." % (i, escape(name))
        out.append(
            "\\begin{figure}[htbp]\n\\centering\n\\includegraphics[width=.8\\linewidth]{%s}\n"
            "\\caption{%s}\\label{fig:%s-%d}\n\\end{figure}" % (figure_file(name, i), caption, name, i)
        )
    if derivation.references:
        items = "\n".join(r"  \item %s" % breakable(inline(ref, f"reference {k} of {where}"))
                          for k, ref in enumerate(derivation.references, 1))
        out.append("\\paragraph{References.}\n\\begin{enumerate}\n%s\n\\end{enumerate}" % items)
    return "\n\n".join(out) + "\n"


def render_body(derivations: Sequence[Derivation], results: Mapping[str, CheckReport], *, level: str = "section",
                names: bool = True, width: float = 6.5) -> str:
    """The fragment: a header comment and one section (or ``level``) per derivation."""
    return _BODY_HEADER + "\n" + "\n".join(render_section(d, results.get(d.name), level=level, names=names,
                                                          width=width) for d in derivations)


_INTRO = r"""Each section below states a closed form derived symbolically (SymPy) from a
model definition, with its assumptions and the chain of steps that leads to it,
each step with its justification.
Every closed form was compared numerically with an \emph{independent} reference
computed from the same model by another route: automatic differentiation of the
model (JAX), simulation of the process (Monte Carlo), numerical quadrature,
integration of the dynamics, or exact linear algebra. The reference never
evaluates the derived expression or any step of it.

Each verification table lists, per check: what was checked; the method; how the
reference was computed; the number $n$ of random instances drawn from the stated
symbol domains; the seed (the same seed reproduces every number); the largest
absolute and relative error over the instances; the tolerance with its reason;
and the verdict. Deterministic references must agree to float64 round-off;
Monte-Carlo references within a stated multiple of the estimator's own standard
error, plus a stated model-error allowance where the closed form is an
approximation; order checks fit the convergence order in a small parameter on a
log-log sweep. The notes under a table give the worst instance and the details
of each check. A ``steps'' row evaluates the two sides of every step at random
instances: a consistency check of the algebra, not an independent reference."""


def _summary(derivations: Sequence[Derivation], results: Mapping[str, CheckReport]) -> str:
    rows = []
    for d in derivations:
        r = results.get(d.name)
        if r is None:
            verdict = "not checked"
        elif r.passed:
            verdict = "all %d passed" % len(r.results)
        else:
            verdict = r"\textbf{%d of %d failed}" % (sum(not x.passed for x in r.results), len(r.results))
        rows.append(r"\ref{deriv:%s} & \texttt{%s} & %s \\" % (d.name, escape(d.name), verdict))
    return ("\\begin{center}\\small\n\\begin{tabular}{@{}rll@{}}\n\\toprule\nSection & Derivation & Checks \\\\\n"
            "\\midrule\n%s\n\\bottomrule\n\\end{tabular}\n\\end{center}" % "\n".join(rows))


def render_document(derivations: Sequence[Derivation], results: Mapping[str, CheckReport], *,
                    title: str, body: str | None = None) -> str:
    """The complete document; ``body`` is `render_body`'s text (inlined, not ``\\input``)."""
    from .. import __version__

    body = render_body(derivations, results) if body is None else body
    return "\n".join([
        "%% Generated by pricesym %s (`pricesym report`); rerun it rather than editing this file." % __version__,
        r"\documentclass[11pt]{article}",
        r"\usepackage[margin=1in]{geometry}",
        preamble(),
        r"\usepackage[hidelinks]{hyperref}",
        r"\setlength{\emergencystretch}{2em}",
        "",
        r"\title{%s}" % escape(title, "the report title"),
        r"\author{}",
        r"\date{}",
        "",
        r"\begin{document}",
        r"\maketitle",
        r"\tableofcontents",
        "",
        r"\section*{How these results were verified}",
        _INTRO,
        "",
        _summary(derivations, results),
        "",
        body,
        r"\end{document}",
        "",
    ])
