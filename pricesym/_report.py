r"""The LaTeX report: derivations and their check results → an appendix.

`write_report` writes, under ``out``:

* ``appendix-body.tex``: the sections only, for ``\input`` into a paper (after
  ``\begin{document}``; it needs the packages of `preamble`);
* ``appendix.tex``: a complete document (title, contents, an introduction on how
  results were verified, a summary, then the same sections inlined);
* ``figures/<name>-<i>.pdf`` (``/`` in the name as ``_``) from each derivation's
  figure functions;
* ``appendix.pdf`` with ``pdf=True``, compiled by ``latexmk`` (TeX Live).

Everything is built in a staging folder inside ``out`` and moved into place
with `os.replace`, so a failure (a figure that raises, a LaTeX error) leaves the
previous files as they were and no partial one. The ``.tex`` text depends only
on the derivations and results: no dates, no absolute paths, no set order, so
the same seed gives byte-identical files.

One section per derivation (`render_section`): title, label ``deriv:<name>``
and the stable name; the docstring prose (reStructuredText: ``.. math::``
blocks, ``:math:`...```, ````literal````, bullet lists); the model rendered by
latexify-py (its Python source when latexify cannot, and the text says so);
assumptions; the steps as an ``align*`` of ``lhs &= rhs && why`` rows; the boxed
result; the verification table; figures; references.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import linecache
import math as _math
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import sympy as sp

from ._check import CheckReport, CheckResult
from ._derivation import Derivation
from ._errors import ReportError
from ._latex import (break_lines, breakable, check_math, escape, inline, latex, math, plain, split_top,
                     visible_width)
from ._namespace import Model

__all__ = ["ReportFiles", "write_report", "render_section", "render_document", "render_body", "preamble"]

INSTALL_TEX = "apt-get install texlive-latex-base texlive-latex-recommended latexmk"

# Glyph widths (`visible_width`) per display line: 6.5in at 11pt is ~79 of them
# (measured 5.9pt each on the catalogue's expressions, spread ±25%). Longer
# expressions are broken to fit (`_latex.break_lines`).
_CAPACITY = 70
# A left side wider than this (glyphs) gets a display of its own, not a row of the
# shared align* (whose first column would push every other row off the page).
_SHORT_LHS = 28
# Justifications longer than this (characters) wrap in a \parbox of _WHY_BOX glyphs.
_SHORT_WHY = 28
_WHY_BOX = 24
_COMPILE_TIMEOUT = 300


@dataclasses.dataclass(frozen=True, slots=True)
class ReportFiles:
    """Paths written by `write_report` (``pdf`` is None unless ``pdf=True``)."""

    tex: Path
    body: Path
    figures: tuple[Path, ...] = ()
    pdf: Path | None = None


# ----------------------------------------------------------------------------- preamble


def preamble() -> str:
    r"""The packages and macros the sections need (all in texlive-latex-base or
    -recommended). A paper that ``\input``s ``appendix-body.tex`` loads these."""
    return "\n".join([
        r"\usepackage{amsmath}",
        r"\usepackage{amssymb}",
        r"\usepackage{array}",
        r"\usepackage{booktabs}",
        r"\usepackage{tabularx}",
        r"\usepackage{graphicx}",
        r"\usepackage{fancyvrb}",
        r"\allowdisplaybreaks",
        "",
    ])


_BODY_HEADER = r"""% pricesym appendix: one section per derivation.
% \input this file after \begin{document}; the preamble needs the packages of
% pricesym's preamble(): amsmath, amssymb, array, booktabs, tabularx, graphicx, fancyvrb.
% Figures are included as figures/<file>.pdf; from another folder set \graphicspath.
\providecommand{\texorpdfstring}[2]{#1}
"""


# ----------------------------------------------------------------------------- docstring prose

_DIRECTIVE = re.compile(r"^(\s*)\.\. ([A-Za-z-]+)::\s*(.*)$")
_BULLET = re.compile(r"^(\s*)[-*+] +(.*)$")
_ROLES = re.compile(r":math:`(?P<math>[^`]*)`|``(?P<literal>[^`]+)``|\*\*(?P<strong>[^*]+)\*\*|\*(?P<emph>[^*\s][^*]*)\*")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _rst_inline(text: str, where: str) -> str:
    """One paragraph of reStructuredText → LaTeX (roles converted, the rest escaped)."""
    out, pos = [], 0
    for m in _ROLES.finditer(text):
        out.append(escape(text[pos:m.start()], where))
        if m["math"] is not None:
            check_math(m["math"], where)
            out.append("$%s$" % math(m["math"], where))
        elif m["literal"] is not None:
            out.append(r"\texttt{%s}" % escape(m["literal"], where))
        elif m["strong"] is not None:
            out.append(r"\textbf{%s}" % escape(m["strong"], where))
        else:
            out.append(r"\emph{%s}" % escape(m["emph"], where))
        pos = m.end()
    out.append(escape(text[pos:], where))
    return "".join(out)


def _display(equations: list[str], where: str) -> str:
    """Display math: one equation → ``equation*``; several, or rows split by ``\\``,
    → ``align*`` when they use ``&``, else ``gather*``. An equation too wide for
    the page that strings formulas together with ``\\qquad`` (or ``\\quad``) gets
    one row each."""
    rows: list[str] = []
    for e in equations:
        e = math(e.strip(), where)
        if not e:
            continue
        check_math(e, where)
        parts = [e]
        for space in (r"\qquad", r"\quad"):
            if r"\\" not in e:
                parts = [q for p in parts for q in (split_top(p, space) if visible_width(p) > _CAPACITY else [p])]
        rows.extend(p.strip().rstrip(",").strip() for p in parts if p.strip())
    if not rows:
        return ""
    if len(rows) == 1 and r"\\" not in rows[0]:
        return "\\begin{equation*}\n%s\n\\end{equation*}" % rows[0]
    env = "align*" if any("&" in r.replace(r"\&", "") for r in rows) else "gather*"
    return "\\begin{%s}\n%s\n\\end{%s}" % (env, " \\\\\n".join(rows), env)


def rst_to_latex(doc: str, where: str) -> str:
    """The prose of a docstring (reStructuredText subset) → LaTeX paragraphs."""
    lines = textwrap.dedent(doc).splitlines()
    blocks: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        m = _DIRECTIVE.match(line)
        if m:
            indent, name, first = len(m[1]), m[2], m[3]
            content = [first] if first.strip() else []
            i += 1
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
                content.append(lines[i])
                i += 1
            body = textwrap.dedent("\n".join(content)).strip("\n").splitlines()
            body = [b for b in body if not re.match(r"^:[a-z-]+:", b.strip())]  # directive options
            if name == "math":
                groups, current = [], []
                for b in body:
                    if b.strip():
                        current.append(b.strip())
                    elif current:
                        groups.append(" ".join(current))
                        current = []
                if current:
                    groups.append(" ".join(current))
                blocks.append(_display(groups, where))
            else:
                label = escape(name.capitalize(), where)
                blocks.append(r"\textbf{%s.} %s" % (label, _rst_inline(" ".join(b.strip() for b in body), where)))
            continue
        if _BULLET.match(line):
            items: list[list[str]] = []
            while i < len(lines):
                b = _BULLET.match(lines[i])
                if b:
                    items.append([b[2]])
                elif lines[i].strip() and items and _indent(lines[i]) > 0:
                    items[-1].append(lines[i].strip())
                else:
                    break
                i += 1
            rows = "\n".join(r"  \item %s" % _rst_inline(" ".join(it), where) for it in items)
            blocks.append("\\begin{itemize}\n%s\n\\end{itemize}" % rows)
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not _DIRECTIVE.match(lines[i]) and not _BULLET.match(lines[i]):
            para.append(lines[i].strip())
            i += 1
        blocks.append(_rst_inline("\n".join(para), where))
    return "\n\n".join(b for b in blocks if b)


def _prose(derivation: Derivation) -> str:
    """The docstring after its title line."""
    lines = textwrap.dedent(derivation.doc or "").strip().splitlines()
    return "\n".join(lines[1:]).strip("\n") if lines else ""


# ----------------------------------------------------------------------------- model (latexify)

# latexify prints unknown function names upright; ours have notation.
_MODEL_FUNCTIONS = MappingProxyType({
    r"\mathrm{sigmoid}": r"\sigma",
    r"\mathrm{softmax}": r"\operatorname{softmax}",
    r"\mathrm{logit}": r"\operatorname{logit}",
    r"\mathrm{dot}": r"\operatorname{dot}",
    r"\mathrm{cosh}": r"\cosh",
    r"\mathrm{sinh}": r"\sinh",
})
_GREEK_NAMES = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau "
    "upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split()
)


def _subscript_digits(m: re.Match) -> str:
    # theta0 → θ_0, W1 → W_1 (latexify prints both upright as one word).
    name, digits = m[1], m[2]
    if name in _GREEK_NAMES:
        return "\\%s_{%s}" % (name, digits)
    if len(name) == 1:
        return "%s_{%s}" % (name, digits)
    return m[0]


def _subscript_word(m: re.Match) -> str:
    # theta_do → θ_do, x_0 → x_0; longer names (bernoulli_policy) stay words.
    name, sub = m[1], m[2]
    sub_tex = sub if len(sub) == 1 or sub.isdigit() else r"\mathrm{%s}" % sub
    if name in _GREEK_NAMES:
        return "\\%s_{%s}" % (name, sub_tex)
    if len(name) == 1:
        return "%s_{%s}" % (name, sub_tex)
    return m[0]


def _without_namespace(fn) -> object:
    """A copy of the model ``fn(np, ...)`` with the namespace argument dropped and
    ``np.f`` written ``f``, defined from source so latexify can read it back."""
    source = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(source)
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef) or not node.args.args:
        raise ValueError("not a function of an array namespace")
    namespace = node.args.args[0].arg
    node.decorator_list = []
    node.args.args = node.args.args[1:]
    node.args.defaults, node.returns = [], None  # evaluated at definition time: not needed to print
    node.args.kw_defaults = [None] * len(node.args.kwonlyargs)
    for a in [*node.args.args, *node.args.kwonlyargs]:
        a.annotation = None

    class Unqualify(ast.NodeTransformer):
        def visit_Attribute(self, n):
            self.generic_visit(n)
            if isinstance(n.value, ast.Name) and n.value.id == namespace:
                return ast.copy_location(ast.Name(id=n.attr, ctx=n.ctx), n)
            return n

    tree = ast.fix_missing_locations(Unqualify().visit(tree))
    text = ast.unparse(tree) + "\n"
    filename = f"<pricesym model {fn.__name__}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope: dict = {}
    exec(compile(text, filename, "exec"), scope)  # a def statement only: the body is not run
    return scope[node.name]


def model_latex(model: Model) -> str:
    """The model's definition as LaTeX (latexify-py); raises if latexify cannot."""
    import latexify

    tex = latexify.get_latex(_without_namespace(model.fn), use_math_symbols=True)
    for name, notation in _MODEL_FUNCTIONS.items():
        tex = tex.replace(name, notation)
    # latexify puts string subscripts (x["rho_G"]) raw into \textrm: escape them.
    tex = re.sub(r'\\textrm\{"?([^{}"]*)"?\}', lambda m: r"\textrm{%s}" % escape(m[1]), tex)
    tex = re.sub(r"\\mathrm\{([A-Za-z]+?)(\d+)\}", _subscript_digits, tex)
    return re.sub(r"\\mathrm\{([A-Za-z]+)\\_([A-Za-z0-9]+)\}", _subscript_word, tex)


def _verbatim(source: str, where: str) -> str:
    """Python source in a ``Verbatim`` block; Unicode typeset as mathematics."""
    specials = {"\\": r"\char92{}", "{": r"\char123{}", "}": r"\char125{}"}
    lines = []
    for line in source.rstrip().splitlines():
        out = []
        for ch in line:
            if ch in specials:
                out.append(specials[ch])
            elif ch.isascii():
                out.append(ch)
            else:
                out.append(r"\ensuremath{%s}" % math(ch, where))
        lines.append("".join(out))
    return "\\begin{Verbatim}[commandchars=\\\\\\{\\}]\n%s\n\\end{Verbatim}" % "\n".join(lines)


def _render_model(model: Model, where: str) -> str:
    doc = inspect.getdoc(model.fn) or ""
    intro = escape(doc.strip().splitlines()[0], where) + " " if doc.strip() else ""
    try:
        tex = model_latex(model)
    except Exception as exc:  # noqa: BLE001 - any latexify failure falls back, and the text says so
        try:
            source = textwrap.dedent(inspect.getsource(model.fn))
        except (OSError, TypeError):
            return (intro + "latexify-py could not render the model \\texttt{%s} (%s), and its source "
                    "is not available." % (escape(model.name, where), escape(_reason(exc), where)))
        return (intro + "latexify-py could not render the model \\texttt{%s} (%s); its Python source:\n%s"
                % (escape(model.name, where), escape(_reason(exc), where), _verbatim(source, where)))
    check_math(tex, where)
    return intro + "\\begin{equation*}\n%s\n\\end{equation*}" % tex


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _models(derivation: Derivation) -> tuple[Model, ...]:
    m = derivation.model
    if m is None:
        return ()
    return tuple(m) if isinstance(m, (tuple, list)) else (m,)


# ----------------------------------------------------------------------------- equations


def _break(expr, width: int, where: str) -> list[str]:
    """Lines of an expression (SymPy: broken to ``width``; LaTeX text: one line)."""
    if isinstance(expr, str):
        tex = math(expr, where)
        check_math(tex, where)
        return [tex]
    return break_lines(expr, max(width, 20))


def _why(why: str, where: str) -> tuple[str, bool]:
    """The justification's LaTeX, and whether it is long enough to wrap in a box."""
    return inline(why, where), len(plain(why)) > _SHORT_WHY


def _why_cell(body: str, boxed_: bool, fraction: float) -> str:
    if not boxed_:
        return r"\text{%s}" % body
    return r"\parbox[t]{%.2f\linewidth}{\raggedright %s}" % (fraction, body)


def _align(rows: list[str]) -> str:
    return "\\begin{align*}\n%s\n\\end{align*}" % " \\\\\n".join(rows)


def _continued(label: str, lines: list[str], op: str = "&= ") -> list[str]:
    """``label &= line_0``, then ``&\\quad line_k``."""
    return [label + " " + op + lines[0] if label else op + lines[0]] + [r"&\quad %s" % x for x in lines[1:]]


def _wide_matrix(rhs, width: int) -> bool:
    return isinstance(rhs, sp.MatrixBase) and visible_width(break_lines(rhs, max(width, 20))[0]) > width


def _entry_rows(lhs, lhs_tex: str, rhs: sp.MatrixBase, where: str) -> list[str]:
    """A matrix too wide for the page, entry by entry: ``[lhs]_{ij} &= ...``, or
    ``lhs_ij &= rhs_ij`` when the left side is a matrix of the same shape. A
    symmetric right side (under a non-matrix left side) lists the entries on and
    above the diagonal."""
    rows: list[str] = []
    same = isinstance(lhs, sp.MatrixBase) and lhs.shape == rhs.shape
    if same:
        for i in range(rhs.rows):
            for j in range(rhs.cols):
                left = break_lines(lhs[i, j], _CAPACITY - 6)
                if len(left) == 1 and visible_width(left[0]) <= _SHORT_LHS:
                    rows += _continued(left[0], _break(rhs[i, j], _CAPACITY - visible_width(left[0]) - 6, where))
                else:
                    rows += ["&" + x if k == 0 else r"&\quad %s" % x for k, x in enumerate(left)]
                    rows += _continued("", _break(rhs[i, j], _CAPACITY - 6, where))
        return rows
    if visible_width(lhs_tex) > _SHORT_LHS:
        rows += ["&" + x for x in _break(lhs, _CAPACITY - 6, where)] if not isinstance(lhs, str) else ["&" + lhs_tex]
        lhs_tex = r"\,\cdot\,"
    symmetric = rhs.is_square and rhs == rhs.T
    wide = max(rhs.shape) >= 10
    for i in range(rhs.rows):
        for j in range(rhs.cols):
            if symmetric and j < i:
                continue
            index = str(i + 1) if rhs.cols == 1 else ("%d,%d" if wide else "%d%d") % (i + 1, j + 1)
            label = r"\left[%s\right]_{%s}" % (lhs_tex, index)
            width = _CAPACITY - min(visible_width(label), _SHORT_LHS) - 6
            rows += _continued(label, _break(rhs[i, j], width, where))
    if symmetric and rhs.rows > 1:
        rows.append(r"&\text{(symmetric: entries below the diagonal are omitted)}")
    return rows


def render_steps(derivation: Derivation) -> str:
    r"""The steps as an ``align*`` of ``lhs &= rhs && \text{why}`` rows.

    A step whose left side is the previous step's right side continues the chain
    (``&= rhs``). Long right sides are broken over ``&\quad`` rows to fit the
    page beside the widest left side and reason. A step with a long left side, or
    a matrix too wide for the page (then listed entry by entry), is set as a
    display of its own with its reason before it."""
    plan = []
    previous = None
    for k, step in enumerate(derivation.steps, 1):
        where = f"step {k} of `{derivation.name}`"
        chained = isinstance(step.lhs, sp.Basic) and previous is not None and step.lhs == previous
        lhs = [""] if chained else _break(step.lhs, _CAPACITY - 6, where)
        plan.append((step, lhs, *_why(step.why, where), where))
        previous = step.rhs if isinstance(step.rhs, sp.Basic) else None
    short = [p for p in plan if len(p[1]) == 1 and visible_width(p[1][0]) <= _SHORT_LHS]
    lhs_col = max((visible_width(p[1][0]) for p in short), default=0)
    why_col = max((_WHY_BOX if p[3] else visible_width(p[2]) for p in short), default=0)
    # Never break into slivers: align* can take a little more than the estimate.
    budget = max(30, _CAPACITY - lhs_col - why_col - 6)
    layout = []  # (kind, step, lhs lines, why, boxed, where, rhs lines)
    for step, lhs, why, long_why, where in plan:
        in_row = len(lhs) == 1 and visible_width(lhs[0]) <= _SHORT_LHS and not _wide_matrix(step.rhs, budget)
        rhs = _break(step.rhs, budget if in_row else _CAPACITY - 6, where)
        layout.append(("row" if in_row else "block", step, lhs, why, long_why, where, rhs))
    rhs_col = max((visible_width(x) for kind, *_, rhs in layout if kind == "row" for x in rhs), default=0)
    fraction = min(0.5, max(0.28, (_CAPACITY - lhs_col - rhs_col - 8) / (_CAPACITY + 9)))
    blocks: list[str] = []
    rows: list[str] = []
    for kind, step, lhs, why, long_why, where, rhs in layout:
        if kind == "row":
            lines = _continued(lhs[0], rhs)
            lines[0] += " && " + _why_cell(why, long_why, fraction)
            rows.extend(lines)
            continue
        if rows:
            blocks.append(_align(rows))
            rows = []
        same_shape = isinstance(step.lhs, sp.MatrixBase) and isinstance(step.rhs, sp.MatrixBase) and \
            step.lhs.shape == step.rhs.shape and lhs != [""]
        if _wide_matrix(step.rhs, _CAPACITY - 6) or (same_shape and _wide_matrix(step.lhs, _CAPACITY - 6)):
            lhs_tex = "" if lhs == [""] else (lhs[0] if len(lhs) == 1 else r"\,\cdot\,")
            body = _entry_rows(step.lhs, lhs_tex, step.rhs, where)
        else:
            body = ["&" + x if k == 0 else r"&\quad %s" % x for k, x in enumerate(lhs) if x]
            body += _continued("", rhs)
        blocks.append("\\noindent %s:\n%s" % (why, _align(body)))
    if rows:
        blocks.append(_align(rows))
    return "\n".join(blocks)


def _result_parts(derivation: Derivation) -> list[tuple[str, object]]:
    lhs_tex = [left for left, _ in derivation.equations()]  # validates lhs against the parts
    parts = list(derivation.result) if isinstance(derivation.result, sp.Tuple) else [derivation.result]
    lhs = derivation.lhs if isinstance(derivation.lhs, (list, tuple)) else [derivation.lhs] * len(parts)
    return list(zip(lhs_tex, parts, lhs))


def boxed(lhs: str, rhs, lhs_expr=None) -> str:
    r"""``\boxed{lhs = rhs}``; a long right side is broken inside an ``aligned``,
    a matrix too wide for the page is listed entry by entry."""
    width = visible_width(lhs)
    if _wide_matrix(rhs, _CAPACITY - 8 - min(width, _SHORT_LHS)):
        rows = _entry_rows(lhs_expr if lhs_expr is not None else lhs, lhs, rhs, "the result")
        return r"\boxed{\begin{aligned}%s\end{aligned}}" % r" \\ ".join(rows)
    if width > _SHORT_LHS:
        rows = ["&" + lhs] + _continued("", _break(rhs, _CAPACITY - 8, "the result"))
        return r"\boxed{\begin{aligned}%s\end{aligned}}" % r" \\ ".join(rows)
    lines = _break(rhs, _CAPACITY - 8 - width, "the result")
    if len(lines) == 1:
        return r"\boxed{%s = %s}" % (lhs, lines[0]) if lhs else r"\boxed{%s}" % lines[0]
    rows = _continued(lhs, lines) if lhs else _continued("", lines, "&")
    return r"\boxed{\begin{aligned}%s\end{aligned}}" % r" \\ ".join(rows)


def render_result(derivation: Derivation) -> str:
    boxes = [boxed(lhs, rhs, expr) for lhs, rhs, expr in _result_parts(derivation)]
    if len(boxes) == 1:
        return "\\begin{equation*}\n%s\n\\end{equation*}" % boxes[0]
    return "\\begin{gather*}\n%s\n\\end{gather*}" % " \\\\\n".join(boxes)


# ----------------------------------------------------------------------------- verification table


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


# ----------------------------------------------------------------------------- sections


def figure_file(name: str, index: int) -> str:
    """The figure's path relative to the appendix: ``figures/<name with / as _>-<i>.pdf``."""
    return "figures/%s-%d.pdf" % (name.replace("/", "_"), index)


def _title(derivation: Derivation, where: str) -> tuple[str, str]:
    """(LaTeX, plain) of the title; :math:`...` allowed, a final full stop dropped."""
    title = (derivation.title or derivation.name).strip()
    if title.endswith(".") and not title.endswith(".."):
        title = title[:-1]
    return _rst_inline(title, where), plain(title)


def render_section(derivation: Derivation, report: CheckReport | None) -> str:
    """One ``\\section`` for a derivation and its check report (None: not checked)."""
    if not isinstance(derivation, Derivation):
        raise ReportError(f"`derivation` must be a `ps.Derivation`, got {derivation!r}.")
    if report is not None and not isinstance(report, CheckReport):
        raise ReportError(f"`report` must be a `ps.CheckReport` (from `Derivation.check()`) or None, got {report!r}.")
    name = derivation.name or "unnamed"
    where = f"`{name}`"
    tex_title, pdf_title = _title(derivation, f"the title of {where}")
    out = [
        "\\section{\\texorpdfstring{%s}{%s}}\\label{deriv:%s}" % (tex_title, pdf_title, name),
        "\\noindent Catalogue name: \\texttt{%s}\\par\\medskip" % escape(name),
    ]
    prose = _prose(derivation)
    if prose:
        out.append(rst_to_latex(prose, f"the docstring of {where}"))
    models = _models(derivation)
    if models:
        out.append("\\paragraph{Model.}")
        out.extend(_render_model(m, f"the model of {where}") for m in models)
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


def render_body(derivations: Sequence[Derivation], results: Mapping[str, CheckReport]) -> str:
    """The fragment: a header comment and one section per derivation."""
    return _BODY_HEADER + "\n" + "\n".join(render_section(d, results.get(d.name)) for d in derivations)


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
    from . import __version__

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


# ----------------------------------------------------------------------------- writing


def _validate(derivations, results) -> list[Derivation]:
    if isinstance(derivations, Derivation):
        derivations = [derivations]
    derivations = list(derivations)
    if not derivations:
        raise ReportError("`derivations` is empty: give at least one derivation to report.")
    for d in derivations:
        if not isinstance(d, Derivation):
            raise ReportError(f"`derivations` must hold `ps.Derivation`s, got {d!r}.")
    names = [d.name for d in derivations]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ReportError(f"`derivations` lists {', '.join(f'`{n}`' for n in twice)} more than once.")
    if not isinstance(results, Mapping):
        raise ReportError(f"`results` must map derivation names to `CheckReport`s, got {results!r}.")
    for key, r in results.items():
        if not isinstance(r, CheckReport):
            raise ReportError(f"`results[{key!r}]` must be a `CheckReport` (from `Derivation.check()`), got {r!r}.")
    return derivations


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def _figures(derivations: Sequence[Derivation], results, staging: Path) -> list[str]:
    written = []
    for d in derivations:
        for i, fig in enumerate(d.figures, 1):
            rel = figure_file(d.name, i)
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fig(path, results.get(d.name))
            except Exception as exc:
                raise ReportError(f"figure {i} of `{d.name}` failed: {_reason(exc)}") from exc
            if not path.is_file() or path.stat().st_size == 0:
                raise ReportError(f"figure {i} of `{d.name}` wrote nothing at the path it was given ({rel}).")
            written.append(rel)
    return written


def write_report(derivations: Sequence[Derivation], results: Mapping[str, CheckReport], out: str | Path, *,
                 pdf: bool = False, title: str = "Derivations and their numerical verification") -> ReportFiles:
    """Write ``out/appendix.tex`` (complete document), ``out/appendix-body.tex``
    (fragment), figures, and with ``pdf=True`` ``out/appendix.pdf`` (latexmk).

    ``results`` maps derivation names to their `CheckReport`s (a missing name is
    reported as not checked). Raises `ReportError` when TeX Live is missing
    (``pdf=True``) or the document does not compile; then no file under ``out``
    has changed."""
    derivations = _validate(derivations, results)
    if pdf and (shutil.which("latexmk") is None or shutil.which("pdflatex") is None):
        raise ReportError(f"`pdf=True` needs latexmk and pdflatex (TeX Live), which were not found; install them "
                          f"(`{INSTALL_TEX}`) or write the .tex only.")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ReportError(f"`out` must be a folder, but {str(out)!r} is a file.")
    body = render_body(derivations, results)
    document = render_document(derivations, results, title=title, body=body)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".appendix-", dir=out))
    try:
        _write(staging / "appendix-body.tex", body)
        _write(staging / "appendix.tex", document)
        figures = _figures(derivations, results, staging)
        if pdf:
            _compile(staging)
        moved = []
        if figures:
            (out / "figures").mkdir(exist_ok=True)
        for rel in figures:
            os.replace(staging / rel, out / rel)
            moved.append(out / rel)
        os.replace(staging / "appendix-body.tex", out / "appendix-body.tex")
        os.replace(staging / "appendix.tex", out / "appendix.tex")
        if pdf:
            os.replace(staging / "appendix.pdf", out / "appendix.pdf")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ReportFiles(tex=out / "appendix.tex", body=out / "appendix-body.tex", figures=tuple(moved),
                       pdf=out / "appendix.pdf" if pdf else None)


def _compile(folder: Path) -> None:
    """latexmk in ``folder``; `ReportError` quoting the LaTeX log on failure."""
    env = dict(os.environ)
    env.setdefault("SOURCE_DATE_EPOCH", "0")  # pdfTeX then writes fixed dates and IDs
    env.setdefault("FORCE_SOURCE_DATE", "1")
    command = ["latexmk", "-norc", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "appendix.tex"]
    try:
        run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, errors="replace",
                             timeout=_COMPILE_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ReportError(f"latexmk did not finish within {_COMPILE_TIMEOUT} s; the .tex may loop.") from None
    except OSError as exc:
        raise ReportError(f"latexmk could not be started ({exc}); install TeX Live (`{INSTALL_TEX}`).") from None
    target = folder / "appendix.pdf"
    if run.returncode == 0 and target.is_file() and target.stat().st_size > 0:
        return
    raise ReportError("LaTeX could not compile the report:\n" + log_excerpt(folder, run.stdout + run.stderr))


def log_excerpt(folder: Path, output: str = "") -> str:
    """The error lines of ``appendix.log`` (lines starting with "!" and the line
    after), and the ``appendix.tex`` line each points at."""
    log = folder / "appendix.log"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.is_file() else []
    source = (folder / "appendix.tex").read_text(encoding="utf-8").splitlines()
    quoted: list[str] = []
    for i, line in enumerate(lines):
        if not line.startswith("!"):
            continue
        quoted.extend(lines[i:i + 2])
        for after in lines[i + 1:i + 12]:
            m = re.match(r"l\.(\d+)", after)
            if m:
                n = int(m[1])
                if 0 < n <= len(source):
                    quoted.append(f"appendix.tex line {n}: {source[n - 1].strip()}")
                break
        if len(quoted) > 12:
            break
    if not quoted:
        quoted = [ln for ln in output.strip().splitlines()[-15:]]
    return "\n".join(quoted)
