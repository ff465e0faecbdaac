r"""Breaking long formulas over lines: a rough measure of a formula's printed width
(`visible_width`) and a line filler that breaks between the terms of sums and the
factors of products, at any depth (`break_lines`)."""

from __future__ import annotations

import re
from types import MappingProxyType

import sympy as sp

from .._vocabulary import Notation
from .printer import Printer, _sympify, with_names

__all__ = ["break_lines", "visible_width", "breakable", "split_top", "tokens", "fill"]


_INVISIBLE = re.compile(r"\\(?:left|right|[bB]igg?[lr]?)(?![A-Za-z])|\\math(?:open|close)\{\}")
_OPERATOR_NAMES = frozenset("log ln exp sin cos tan sinh cosh tanh det max min lim sup inf arg dim ker tr".split())
_WIDE = MappingProxyType({"quad": 2.0, "qquad": 4.0, ",": 0.3, ";": 0.5, ":": 0.4, "!": -0.3, " ": 0.5})
_RELATIONS = frozenset("cdot times leq geq approx to neq equiv propto sim pm mp mapsto coloneqq in".split())
_TEXTUAL_COMMANDS = frozenset("operatorname mathrm text mathbb mathbf mathcal mathit boxed".split())


def breakable(tex: str) -> str:
    """Allow line breaks in long identifiers of escaped text: after ``\\_``, ``/``,
    a dot between letters, and a colon before a non-space (``arXiv:2009.11162``)."""
    tex = tex.replace(r"\_", r"\_\allowbreak{}").replace("/", r"/\allowbreak{}")
    tex = re.sub(r"(?<=[A-Za-z])\.(?=[A-Za-z])", r".\\allowbreak{}", tex)
    return re.sub(r":(?=[^\s}])", r":\\allowbreak{}", tex)


def _argument(t: str, i: int) -> tuple[str, int]:
    """The braced group (or single token) starting at ``t[i]``, and the index after it."""
    while i < len(t) and t[i].isspace():
        i += 1
    if i >= len(t):
        return "", i
    if t[i] != "{":
        m = re.match(r"\\[A-Za-z]+|\\.|.", t[i:], re.S)
        assert m is not None  # "." with re.S matches any character
        return m[0], i + len(m[0])
    depth = 0
    for j in range(i, len(t)):
        depth += {"{": 1, "}": -1}.get(t[j], 0) if t[j - 1:j] != "\\" or j == i else 0
        if depth == 0:
            return t[i + 1:j], j + 1
    return t[i + 1:], len(t)


def _measure(t: str) -> float:
    w, i = 0.0, 0
    while i < len(t):
        ch = t[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", t[i:], re.S)
            assert m is not None  # a backslash is followed by something, or "." matches it
            name = m[1]
            i += len(m[0])
            if name in ("frac", "dfrac", "tfrac", "binom"):
                a, i = _argument(t, i)
                b, i = _argument(t, i)
                w += max(_measure(a), _measure(b)) + 0.5
            elif name in _TEXTUAL_COMMANDS:
                a, i = _argument(t, i)
                w += _measure(a)
            elif name == "begin":  # an array-like environment: its widest row
                _, i = _argument(t, i)
                body, i = _environment_body(t, i)
                w += max((sum(_measure(c) + 1 for c in split_top(row, "&")) for row in split_top(body, "\\\\")),
                         default=0)
            elif name == "end":
                _, i = _argument(t, i)
            elif name == "sqrt":
                a, i = _argument(t, i)
                w += _measure(a) + 1
            elif name in _OPERATOR_NAMES:
                w += len(name)
            elif name in _WIDE:
                w += _WIDE[name]
            elif name in _RELATIONS:
                w += 2
            elif name == "\\":
                pass
            else:
                w += 1
        elif ch in "^_":
            a, i = _argument(t, i + 1)
            w += 0.7 * _measure(a)
        elif ch in "{}&" or ch.isspace():
            i += 1
        elif ch in "+-=<>":
            w += 2
            i += 1
        else:
            w += 1
            i += 1
    return w


_ENV_TOKEN = re.compile(r"\\(begin|end)\s*\{[^{}]*\}")


def _environment_body(t: str, i: int) -> tuple[str, int]:
    """From just after ``\\begin{env}``: the body and the index after its ``\\end{env}``."""
    depth = 1
    for m in _ENV_TOKEN.finditer(t, i):
        depth += 1 if m[1] == "begin" else -1
        if depth == 0:
            return t[i:m.start()], m.end()
    return t[i:], len(t)


def split_top(t: str, sep: str) -> list[str]:
    """Split at ``sep`` outside braces and nested environments."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(t):
        if t.startswith("\\begin", i) or t.startswith("\\end", i):
            depth += 1 if t.startswith("\\begin", i) else -1
            i += 4
        elif t[i] == "\\" and not t.startswith(sep, i):
            i += 2
        elif t[i] in "{}":
            depth += 1 if t[i] == "{" else -1
            i += 1
        elif depth == 0 and t.startswith(sep, i):
            parts.append(t[start:i])
            i += len(sep)
            start = i
        else:
            i += 1
    parts.append(t[start:])
    return parts


def visible_width(tex: str) -> int:
    """About how many glyph widths ``tex`` takes in a display (fractions count
    their wider part, scripts 0.7, binary operators and relations with their
    spacing 2; sizing commands nothing): enough to decide where to break lines."""
    return round(_measure(_INVISIBLE.sub("", tex)))


def break_lines(expr, width: int = 70, **settings) -> list[str]:
    """LaTeX of ``expr`` as lines of at most about ``width`` visible glyphs, for
    an ``align*``. Breaks fall between the terms of a sum and the factors of a
    product, at any depth; a line that ends inside ``\\left( ... \\right)`` is
    closed with ``\\right.`` and the next reopened with ``\\left.``. Terms and
    factors are ordered and signed as SymPy prints them; what cannot be broken
    (a fraction's denominator, a power, a function's argument, a matrix) stays
    whole. Something that fits is one line, identical to `latex`."""
    printer = Printer(with_names({"max_width": width, **settings}))
    expr = _sympify(expr)
    whole = printer.doprint(expr)
    if visible_width(whole) <= width or isinstance(expr, sp.MatrixBase):
        return [whole]  # a matrix has broken its entries inside their cells
    return fill(tokens(expr, printer, width), width)


def tokens(expr, printer: Printer, width: int) -> list[tuple[str, str]]:
    """``[(kind, tex)]`` with kind "atom", "open" or "close"; a line may break
    between any two tokens."""
    tex = printer._print(expr)
    if visible_width(tex) <= width // 2:
        return [("atom", tex)]
    if isinstance(expr, sp.Add):
        out: list[tuple[str, str]] = []
        for i, term in enumerate(printer._as_ordered_terms(expr)):
            sign = ""
            if i and term.could_extract_minus_sign():
                sign, term = "- ", -term
            elif i:
                sign = "+ "
            sub = tokens(term, printer, width)
            if printer._needs_add_brackets(term):
                sub = [("open", r"\left(")] + sub + [("close", r"\right)")]
            out += _signed(sign, sub)
        return out
    if isinstance(expr, sp.Mul):
        sign = ""
        if expr.could_extract_minus_sign():
            sign, expr = "- ", -expr
        numer, denom = sp.fraction(expr, exact=True)
        out = []
        head = ""
        if denom != 1:
            head, expr = r"\frac{1}{%s} " % printer._print(denom), numer
        factors = expr.as_ordered_factors() if isinstance(expr, sp.Mul) else [expr]
        for i, f in enumerate(factors):
            sub = tokens(f, printer, width)
            if isinstance(f, sp.Add) or printer._needs_mul_brackets(f, first=(i == 0 and not head),
                                                                     last=(i == len(factors) - 1)):
                sub = [("open", r"\left(")] + sub + [("close", r"\right)")]
            out += sub
        return _signed(sign + head, out)
    if isinstance(expr, sp.Pow) and isinstance(expr.base, sp.Add) and expr.exp.is_Integer and expr.exp > 1:
        return [("open", r"\left(")] + tokens(expr.base, printer, width) + [
            ("close", r"\right)^{%s}" % printer._print(expr.exp))]
    if isinstance(expr, Notation) and type(expr)._latex is Notation._latex:  # f(a, b): break between arguments
        out = [("open", expr.notation + r"\left(")]
        shown = expr.args[: expr.shown]
        for k, arg in enumerate(shown):
            sub = tokens(arg, printer, width)
            out += _signed(", ", sub) if k else sub
        return out + [("close", r"\right)")]
    if isinstance(expr, sp.Sum) and len(expr.limits) == 1 and len(expr.limits[0]) == 3:
        var, lo, hi = (printer._print(a) for a in expr.limits[0])
        body = tokens(expr.function, printer, width)
        if isinstance(expr.function, sp.Add):
            body = [("open", r"\left(")] + body + [("close", r"\right)")]
        return _signed(r"\sum_{%s=%s}^{%s} " % (var, lo, hi), body)
    return [("atom", tex)]


def _signed(sign: str, tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if not sign or not tokens:
        return tokens
    kind, tex = tokens[0]
    return [(kind, sign + tex)] + tokens[1:]


def fill(tokens: list[tuple[str, str]], width: int) -> list[str]:
    """Greedy line filling; each line balanced with ``\\left.``/``\\right.``. A
    line neither starts with a closing bracket nor ends with an opening one."""
    lines: list[str] = []
    current: list[tuple[str, str]] = []
    used = depth = 0

    def close_line(carry: list[tuple[str, str]]):
        start = depth - sum((k == "open") - (k == "close") for k, _ in current) - sum(k == "open" for k, _ in carry)
        end = depth - sum(k == "open" for k, _ in carry)
        lines.append(r"\left." * start + " ".join(t for _, t in current) + r"\right." * end)

    for kind, tex in tokens:
        w = visible_width(tex)
        if current and used + w > width and kind != "close":
            carry: list[tuple[str, str]] = []
            while current and current[-1][0] == "open" and len(current) > 1:
                carry.insert(0, current.pop())
            close_line(carry)
            current, used = carry, sum(visible_width(t) for _, t in carry)
        current.append((kind, tex))
        used += w
        depth += (kind == "open") - (kind == "close")
    close_line([])
    return lines
