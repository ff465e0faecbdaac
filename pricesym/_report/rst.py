r"""Docstring prose (a reStructuredText subset) to LaTeX: ``.. math::`` blocks,
``:math:`...```, ````literal````, emphasis, bullet lists."""

from __future__ import annotations

import contextlib
import re
import textwrap
from collections.abc import Iterator
from contextvars import ContextVar

from .breaking import split_top, visible_width
from .text import check_math, escape, math

__all__ = ["rst_inline", "rst_to_latex", "prose", "capacity", "text_width"]

# Glyph widths (`visible_width`) per display line: 6.5in at 11pt is ~79 of them
# (measured 5.9pt each on the catalogue's expressions, spread ±25%); 70 leaves room.
# Longer expressions are broken to fit (`break_lines`).
_GLYPHS_PER_INCH = 70 / 6.5
_WIDTH: ContextVar[float] = ContextVar("text_width", default=6.5)


def capacity() -> int:
    """Glyphs per display line at the text width in force (`text_width`)."""
    return int(_GLYPHS_PER_INCH * _WIDTH.get())


@contextlib.contextmanager
def text_width(inches: float) -> Iterator[None]:
    """Break formulas for a text width of ``inches`` inside the block (6.5 for a full
    page at 11 pt, about 3.3 for a column of a two-column paper)."""
    token = _WIDTH.set(float(inches))
    try:
        yield
    finally:
        _WIDTH.reset(token)


_DIRECTIVE = re.compile(r"^(\s*)\.\. ([A-Za-z-]+)::\s*(.*)$")
_BULLET = re.compile(r"^(\s*)[-*+] +(.*)$")
_ROLES = re.compile(r":math:`(?P<math>[^`]*)`|``(?P<literal>[^`]+)``|\*\*(?P<strong>[^*]+)\*\*|\*(?P<emph>[^*\s][^*]*)\*")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rst_inline(text: str, where: str) -> str:
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
                parts = [q for p in parts for q in (split_top(p, space) if visible_width(p) > capacity() else [p])]
        rows.extend(p.strip().rstrip(",").strip() for p in parts if p.strip())
    if not rows:
        return ""
    if any("&" in r.replace(r"\&", "") for r in rows):
        return "\\begin{align*}\n%s\n\\end{align*}" % " \\\\\n".join(rows)
    # Hand-written formulas cannot be broken by us: each row shrinks to the line if it
    # is wider (\psfit, pricesym.sty), so a narrow column gets no overfull box.
    if all(r"\\" not in r for r in rows):
        rows = [r"\psfit{%s}" % r for r in rows]
    if len(rows) == 1:
        return "\\begin{equation*}\n%s\n\\end{equation*}" % rows[0]
    return "\\begin{gather*}\n%s\n\\end{gather*}" % " \\\\\n".join(rows)


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
                blocks.append(r"\textbf{%s.} %s" % (label, rst_inline(" ".join(b.strip() for b in body), where)))
            continue
        if _BULLET.match(line):
            items: list[list[str]] = []
            while i < len(lines):
                bullet = _BULLET.match(lines[i])
                if bullet:
                    items.append([bullet[2]])
                elif lines[i].strip() and items and _indent(lines[i]) > 0:
                    items[-1].append(lines[i].strip())
                else:
                    break
                i += 1
            rows = "\n".join(r"  \item %s" % rst_inline(" ".join(it), where) for it in items)
            blocks.append("\\begin{itemize}\n%s\n\\end{itemize}" % rows)
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not _DIRECTIVE.match(lines[i]) and not _BULLET.match(lines[i]):
            para.append(lines[i].strip())
            i += 1
        blocks.append(rst_inline("\n".join(para), where))
    return "\n\n".join(b for b in blocks if b)


def prose(derivation) -> str:
    """The docstring after its title line."""
    lines = textwrap.dedent(derivation.doc or "").strip().splitlines()
    return "\n".join(lines[1:]).strip("\n") if lines else ""
