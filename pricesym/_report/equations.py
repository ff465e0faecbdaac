r"""Equations of a derivation as LaTeX: the steps as one ``align*`` and the boxed
result, broken to fit the page."""

from __future__ import annotations

import sympy as sp

from .breaking import break_lines, visible_width
from .rst import capacity
from .text import check_math, inline, math, plain

__all__ = ["render_steps", "render_result", "boxed"]

# As shares of the line (`capacity`, 70 glyphs on a full page): a left side wider than
# _SHORT_LHS gets a display of its own, not a row of the shared align* (whose first
# column would push every other row off the page); a justification longer than
# _SHORT_WHY characters wraps in a \parbox of _WHY_BOX glyphs.
_SHORT_LHS = 0.4
_SHORT_WHY = 0.4
_WHY_BOX = 0.35


def _share(fraction: float) -> int:
    return int(fraction * capacity())


def _break(expr, width: int, where: str) -> list[str]:
    """Lines of an expression (SymPy: broken to ``width``; LaTeX text: one line)."""
    if isinstance(expr, str):
        tex = math(expr, where)
        check_math(tex, where)
        return [tex]
    return break_lines(expr, max(width, 20))


def _why(why: str, where: str) -> tuple[str, bool]:
    """The justification's LaTeX, and whether it is long enough to wrap in a box."""
    return inline(why, where), len(plain(why)) > _share(_SHORT_WHY)


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
                left = break_lines(lhs[i, j], capacity() - 6)
                if len(left) == 1 and visible_width(left[0]) <= _share(_SHORT_LHS):
                    rows += _continued(left[0], _break(rhs[i, j], capacity() - visible_width(left[0]) - 6, where))
                else:
                    rows += ["&" + x if k == 0 else r"&\quad %s" % x for k, x in enumerate(left)]
                    rows += _continued("", _break(rhs[i, j], capacity() - 6, where))
        return rows
    if visible_width(lhs_tex) > _share(_SHORT_LHS):
        rows += ["&" + x for x in _break(lhs, capacity() - 6, where)] if not isinstance(lhs, str) else ["&" + lhs_tex]
        lhs_tex = r"\,\cdot\,"
    symmetric = rhs.is_square and rhs == rhs.T
    wide = max(rhs.shape) >= 10
    for i in range(rhs.rows):
        for j in range(rhs.cols):
            if symmetric and j < i:
                continue
            index = str(i + 1) if rhs.cols == 1 else ("%d,%d" if wide else "%d%d") % (i + 1, j + 1)
            label = r"\left[%s\right]_{%s}" % (lhs_tex, index)
            width = capacity() - min(visible_width(label), _share(_SHORT_LHS)) - 6
            rows += _continued(label, _break(rhs[i, j], width, where))
    if symmetric and rhs.rows > 1:
        rows.append(r"&\text{(symmetric: entries below the diagonal are omitted)}")
    return rows


def render_steps(derivation) -> str:
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
        lhs = [""] if chained else _break(step.lhs, capacity() - 6, where)
        plan.append((step, lhs, *_why(step.why, where), where))
        previous = step.rhs if isinstance(step.rhs, sp.Basic) else None
    short = [p for p in plan if len(p[1]) == 1 and visible_width(p[1][0]) <= _share(_SHORT_LHS)]
    lhs_col = max((visible_width(p[1][0]) for p in short), default=0)
    why_col = max((_share(_WHY_BOX) if p[3] else visible_width(p[2]) for p in short), default=0)
    # Never break into slivers: align* can take a little more than the estimate.
    budget = max(int(0.43 * capacity()), capacity() - lhs_col - why_col - 6)
    layout = []  # (kind, step, lhs lines, why, boxed, where, rhs lines)
    for step, lhs, why, long_why, where in plan:
        in_row = len(lhs) == 1 and visible_width(lhs[0]) <= _share(_SHORT_LHS) and not _wide_matrix(step.rhs, budget)
        rhs = _break(step.rhs, budget if in_row else capacity() - 6, where)
        layout.append(("row" if in_row else "block", step, lhs, why, long_why, where, rhs))
    rhs_col = max((visible_width(x) for kind, *_, rhs in layout if kind == "row" for x in rhs), default=0)
    fraction = min(0.5, max(0.28, (capacity() - lhs_col - rhs_col - 8) / (capacity() + 9)))
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
        if _wide_matrix(step.rhs, capacity() - 6) or (same_shape and _wide_matrix(step.lhs, capacity() - 6)):
            lhs_tex = "" if lhs == [""] else (lhs[0] if len(lhs) == 1 else r"\,\cdot\,")
            body = _entry_rows(step.lhs, lhs_tex, step.rhs, where)
        else:
            body = ["&" + x if k == 0 else r"&\quad %s" % x for k, x in enumerate(lhs) if x]
            body += _continued("", rhs)
        blocks.append("\\noindent %s:\n%s" % (why, _align(body)))
    if rows:
        blocks.append(_align(rows))
    return "\n".join(blocks)


def _result_parts(derivation) -> list[tuple[str, object, object]]:
    lhs_tex = [left for left, _ in derivation.equations()]  # validates lhs against the parts
    parts = list(derivation.result) if isinstance(derivation.result, sp.Tuple) else [derivation.result]
    lhs = derivation.lhs if isinstance(derivation.lhs, (list, tuple)) else [derivation.lhs] * len(parts)
    return list(zip(lhs_tex, parts, lhs))


def boxed(lhs: str, rhs, lhs_expr=None) -> str:
    r"""``\boxed{lhs = rhs}``; a long right side is broken inside an ``aligned``,
    a matrix too wide for the page is listed entry by entry."""
    width = visible_width(lhs)
    if _wide_matrix(rhs, capacity() - 8 - min(width, _share(_SHORT_LHS))):
        rows = _entry_rows(lhs_expr if lhs_expr is not None else lhs, lhs, rhs, "the result")
        return r"\boxed{\begin{aligned}%s\end{aligned}}" % r" \\ ".join(rows)
    if width > _share(_SHORT_LHS):
        rows = ["&" + lhs] + _continued("", _break(rhs, capacity() - 8, "the result"))
        return r"\boxed{\begin{aligned}%s\end{aligned}}" % r" \\ ".join(rows)
    lines = _break(rhs, capacity() - 8 - width, "the result")
    if len(lines) == 1:
        return r"\boxed{%s = %s}" % (lhs, lines[0]) if lhs else r"\boxed{%s}" % lines[0]
    rows = _continued(lhs, lines) if lhs else _continued("", lines, "&")
    return r"\boxed{\begin{aligned}%s\end{aligned}}" % r" \\ ".join(rows)


def render_result(derivation) -> str:
    # Broken to the line already; \psfit (pricesym.sty) shrinks what still overflows.
    boxes = [r"\psfit{%s}" % boxed(lhs, rhs, expr) for lhs, rhs, expr in _result_parts(derivation)]
    if len(boxes) == 1:
        return "\\begin{equation*}\n%s\n\\end{equation*}" % boxes[0]
    return "\\begin{gather*}\n%s\n\\end{gather*}" % " \\\\\n".join(boxes)
