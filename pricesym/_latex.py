r"""Our LaTeX printer (SymPy's, with pricesym notation; a misspelt setting raises),
and the text side of LaTeX: escaping, Unicode mapping, ``$...$`` handling.

Everything here must compile under plain ``pdflatex`` with the packages of
texlive-latex-base/recommended, so Unicode never reaches the ``.tex`` file raw
(except Latin-1 letters, which ``inputenc`` handles): `UNICODE` maps each
character we know to LaTeX, and an unknown one raises `ReportError` saying where
it was and how to fix it.
"""

from __future__ import annotations

import re
from types import MappingProxyType

import sympy as sp
from sympy.printing.latex import LatexPrinter

from ._errors import ParseError, ReportError

__all__ = [
    "latex", "Printer", "UNICODE", "escape", "math", "inline", "plain", "break_lines", "visible_width",
    "check_math", "breakable", "split_top",
]


class Printer(LatexPrinter):
    """SymPy's LaTeX printer with pricesym notation. Add notation by adding a
    ``_print_<ClassName>`` method.

    Our own ``_print_<ClassName>`` methods win over an object's ``_latex``
    method (SymPy's ``printmethod``): those cannot take ``exp=`` and so broke on
    powers (``sigmoid(b)**2`` raised TypeError)."""

    printmethod = "_latex"
    # max_width: when set (by `break_lines`), a matrix wider than this many glyphs
    # breaks its entries over lines inside their cells.
    _default_settings = {**LatexPrinter._default_settings, "mat_delim": "(", "ln_notation": True, "max_width": None}

    def _print(self, expr, **kwargs) -> str:
        own = _own_method(type(self), type(expr))
        if own is None:
            if kwargs.get("exp") is not None and _latex_without_exp(expr):
                # SymPy prints a power of a function as f^{n}(x) and passes exp=; a
                # class's `_latex(printer)` that does not take it gets (f(x))^{n}.
                return r"\left(%s\right)^{%s}" % (expr._latex(self), kwargs["exp"])
            return super()._print(expr, **kwargs)
        self._print_level += 1
        try:
            return own(self, expr, **kwargs)
        finally:
            self._print_level -= 1

    def _print_ImmutableDenseMatrix(self, expr):
        return self._print_MatrixBase(expr)

    def _print_MatrixBase(self, expr):
        tex = super()._print_MatrixBase(expr)
        width = self._settings["max_width"]
        if width is None or expr.cols == 0 or visible_width(tex) <= width:
            return tex
        cell = width // expr.cols - 2
        if cell < 20:  # entries this narrow read worse broken than whole; the report lists them instead
            return tex
        rows = []
        for i in range(expr.rows):
            cells = []
            for j in range(expr.cols):
                entry = self._print(expr[i, j])
                lines = _fill(_tokens(expr[i, j], self, cell), cell) if visible_width(entry) > cell else [entry]
                cells.append(lines[0] if len(lines) == 1 else
                             r"\begin{aligned}&%s\end{aligned}" % r" \\ &\quad ".join(lines))
            rows.append(" & ".join(cells))
        left, right = {"(": (r"\left(", r"\right)"), "[": (r"\left[", r"\right]")}.get(self._settings["mat_delim"], ("", ""))
        return r"%s\begin{matrix}%s\end{matrix}%s" % (left, r"\\".join(rows), right)

    def _function(self, name: str, args: str, exp=None, sub: str = "") -> str:
        """``name_{sub}^{exp}(args)``: a power of a function goes on the name (σ²(b))."""
        power = "" if exp is None else "^{%s}" % exp
        if sub:
            return r"%s\left(%s\right)_{%s}%s" % (name, args, sub, power)
        return r"%s%s\left(%s\right)" % (name, power, args)

    def _print_sigmoid(self, expr, exp=None):
        return self._function(r"\sigma", self._print(expr.args[0]), exp)

    def _print_logit(self, expr, exp=None):
        return self._function(r"\operatorname{logit}", self._print(expr.args[0]), exp)

    def _print_Softmax(self, expr, exp=None):
        logits = ", ".join(self._print(t) for t in expr.args[1:])
        return self._function(r"\operatorname{softmax}", logits, exp, sub=self._print(expr.args[0]))

    def _print_NtCov(self, expr, exp=None):
        x, y, _ = expr.args
        return self._function(r"\operatorname{ntcov}", "%s, %s" % (self._print(x), self._print(y)), exp)

    def _print_NtVar(self, expr, exp=None):
        return self._function(r"\operatorname{ntvar}", self._print(expr.args[0]), exp)


def _latex_without_exp(expr) -> bool:
    import inspect

    method = getattr(expr, "_latex", None)
    if method is None or isinstance(expr, type):
        return False
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return not any(p.name == "exp" or p.kind is p.VAR_KEYWORD for p in params)


def _own_method(printer: type, cls: type):
    """The ``_print_<Class>`` that a pricesym printer class itself defines for ``cls``."""
    for klass in printer.__mro__:
        if klass is LatexPrinter:
            return None
        method = klass.__dict__.get("_print_" + cls.__name__)
        if method is not None:
            return method
    return None


def _sympify(expr):
    if isinstance(expr, (sp.Basic, sp.MatrixBase)):
        return expr
    if isinstance(expr, str):
        # sympify(str) evaluates Python code: user text goes through the parser, not here.
        raise ParseError(f"`expr` must be a SymPy object or a number, got the string {expr!r}; build it with SymPy.")
    try:
        return sp.sympify(expr, strict=True)
    except sp.SympifyError:
        raise ParseError(f"`expr` must be a SymPy object or a number, got {expr!r}.") from None


def latex(expr, **settings) -> str:
    """LaTeX for a SymPy object (expression, Matrix, Tuple, relation)."""
    return Printer(settings).doprint(_sympify(expr))


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
    printer = Printer({"max_width": width, **settings})
    expr = _sympify(expr)
    whole = printer.doprint(expr)
    if visible_width(whole) <= width or isinstance(expr, sp.MatrixBase):
        return [whole]  # a matrix has broken its entries inside their cells
    return _fill(_tokens(expr, printer, width), width)


def _tokens(expr, printer: Printer, width: int) -> list[tuple[str, str]]:
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
            sub = _tokens(term, printer, width)
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
            sub = _tokens(f, printer, width)
            if isinstance(f, sp.Add) or printer._needs_mul_brackets(f, first=(i == 0 and not head),
                                                                     last=(i == len(factors) - 1)):
                sub = [("open", r"\left(")] + sub + [("close", r"\right)")]
            out += sub
        return _signed(sign + head, out)
    if isinstance(expr, sp.Pow) and isinstance(expr.base, sp.Add) and expr.exp.is_Integer and expr.exp > 1:
        return [("open", r"\left(")] + _tokens(expr.base, printer, width) + [
            ("close", r"\right)^{%s}" % printer._print(expr.exp))]
    if type(expr).__name__ in ("NtCov", "NtVar"):
        name = r"\operatorname{%s}\left(" % type(expr).__name__.lower()
        shown = expr.args[:2] if type(expr).__name__ == "NtCov" else expr.args[:1]
        out = [("open", name)]
        for k, arg in enumerate(shown):
            sub = _tokens(arg, printer, width)
            out += _signed(", ", sub) if k else sub
        return out + [("close", r"\right)")]
    if isinstance(expr, sp.Sum) and len(expr.limits) == 1 and len(expr.limits[0]) == 3:
        var, lo, hi = (printer._print(a) for a in expr.limits[0])
        body = _tokens(expr.function, printer, width)
        if isinstance(expr.function, sp.Add):
            body = [("open", r"\left(")] + body + [("close", r"\right)")]
        return _signed(r"\sum_{%s=%s}^{%s} " % (var, lo, hi), body)
    return [("atom", tex)]


def _signed(sign: str, tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if not sign or not tokens:
        return tokens
    kind, tex = tokens[0]
    return [(kind, sign + tex)] + tokens[1:]


def _fill(tokens: list[tuple[str, str]], width: int) -> list[str]:
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
            carry = []
            while current and current[-1][0] == "open" and len(current) > 1:
                carry.insert(0, current.pop())
            close_line(carry)
            current, used = carry, sum(visible_width(t) for _, t in carry)
        current.append((kind, tex))
        used += w
        depth += (kind == "open") - (kind == "close")
    close_line([])
    return lines


# ----------------------------------------------------------------------------- Unicode

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "varepsilon", "ϵ": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ϑ": "vartheta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu",
    "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "ς": "varsigma", "τ": "tau", "υ": "upsilon", "φ": "varphi",
    "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda",
    "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma", "Υ": "Upsilon", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}
_SYMBOLS = {
    "∇": r"\nabla", "∂": r"\partial", "≥": r"\geq", "≤": r"\leq", "≠": r"\neq", "≈": r"\approx",
    "∝": r"\propto", "√": r"\surd", "‖": r"\|", "∥": r"\parallel", "⊙": r"\odot", "⊗": r"\otimes",
    "→": r"\to", "←": r"\leftarrow", "⇒": r"\Rightarrow", "⇔": r"\Leftrightarrow", "↔": r"\leftrightarrow",
    "↦": r"\mapsto", "×": r"\times", "·": r"\cdot", "⋅": r"\cdot", "∘": r"\circ", "−": "-", "±": r"\pm",
    "∓": r"\mp", "∞": r"\infty", "∈": r"\in", "∉": r"\notin", "⊂": r"\subset", "⊆": r"\subseteq",
    "∪": r"\cup", "∩": r"\cap", "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "∼": r"\sim", "≡": r"\equiv",
    "≔": r"\coloneqq", "⟨": r"\langle", "⟩": r"\rangle", "∀": r"\forall", "∃": r"\exists", "⊤": r"\top",
    "⊥": r"\perp", "ℝ": r"\mathbb{R}", "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}", "𝔼": r"\mathbb{E}",
    "ℓ": r"\ell", "ħ": r"\hbar", "⋯": r"\cdots", "′": "'", "″": "''", "≪": r"\ll", "≫": r"\gg", "∧": r"\wedge",
    "∨": r"\vee", "¬": r"\neg", "∅": r"\emptyset", "⌊": r"\lfloor", "⌋": r"\rfloor", "⌈": r"\lceil",
    "⌉": r"\rceil", "÷": r"\div", "°": r"^{\circ}", "½": r"\tfrac{1}{2}", "¼": r"\tfrac{1}{4}",
    "¾": r"\tfrac{3}{4}", "ᵀ": r"^{\top}",
}
_SUPERSCRIPTS = {
    "⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9",
    "⁺": "+", "⁻": "-", "⁼": "=", "⁽": "(", "⁾": ")", "ⁿ": "n", "ⁱ": "i",
}
_SUBSCRIPTS = {
    "₀": "0", "₁": "1", "₂": "2", "₃": "3", "₄": "4", "₅": "5", "₆": "6", "₇": "7", "₈": "8", "₉": "9",
    "₊": "+", "₋": "-", "₌": "=", "₍": "(", "₎": ")", "ₐ": "a", "ₑ": "e", "ᵢ": "i", "ⱼ": "j", "ₖ": "k",
    "ₗ": "l", "ₘ": "m", "ₙ": "n", "ₚ": "p", "ₛ": "s", "ₜ": "t", "ₓ": "x",
}
# Characters that are text, not mathematics: (text form, math form).
_TEXTUAL = {
    "–": ("--", "-"), "—": ("---", "-"), "‘": ("`", "'"), "’": ("'", "'"), "“": ("``", "''"),
    "”": ("''", "''"), "…": (r"\ldots{}", r"\ldots"), "\u00a0": ("~", "~"), "\u2009": (r"\,", r"\,"),
}

#: Unicode character → its LaTeX in math mode (frozen). Text mode wraps runs of
#: these in ``\(...\)``; ``_TEXTUAL`` characters have their own text form.
UNICODE = MappingProxyType({
    **{c: "\\" + name for c, name in _GREEK.items()},
    **_SYMBOLS,
    **{c: "^{%s}" % s for c, s in _SUPERSCRIPTS.items()},
    **{c: "_{%s}" % s for c, s in _SUBSCRIPTS.items()},
    **{c: m for c, (_, m) in _TEXTUAL.items()},
})

# Latin-1 letters: pdflatex's utf8 input encoding typesets them in text (not math).
_LATIN = frozenset(chr(c) for c in range(0xC0, 0x100)) - {"×", "÷"}

_TEXT_SPECIALS = MappingProxyType({
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%", "#": r"\#",
    "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
    ">": r"\textgreater{}", "|": r"\textbar{}",
})


def _unknown(char: str, where: str) -> ReportError:
    return ReportError(
        f"character {char!r} (U+{ord(char):04X}) in {where} has no LaTeX form that pdflatex can typeset; "
        "write it as LaTeX (inside $...$ or :math:`...`), or add it to `pricesym._latex.UNICODE`."
    )


# Combining accents (r̄ = "r" + U+0304) put a math accent on the character before.
_ACCENTS = MappingProxyType({
    "\u0302": r"\hat", "\u0303": r"\tilde", "\u0304": r"\bar", "\u0305": r"\overline", "\u0307": r"\dot",
    "\u0308": r"\ddot", "\u20d7": r"\vec",
})


def _units(text: str) -> list[str]:
    """Characters with their combining accents attached."""
    units: list[str] = []
    for ch in text:
        if ch in _ACCENTS and units:
            units[-1] += ch
        else:
            units.append(ch)
    return units


def _math_char(ch: str, where: str) -> str:
    if ch.isascii():
        return ch
    if ch in UNICODE:
        return UNICODE[ch]
    if ch in _LATIN:
        return r"\text{%s}" % ch
    raise _unknown(ch, where)


def math(text: str, where: str = "a formula") -> str:
    """Math-mode LaTeX with Unicode replaced: ``σ²`` → ``\\sigma^{2}``, ``x⁻¹`` → ``x^{-1}``,
    ``r̄`` → ``\\bar{r}``. A command is followed by a space when a letter comes next
    (``σb`` → ``\\sigma b``)."""
    if text.isascii():
        return text
    items: list[list[str]] = []  # [kind, text]; kind "^"/"_" for merged runs of super/subscripts
    for unit in _units(text):
        base, marks = unit[0], unit[1:]
        if not marks and base in _SUPERSCRIPTS:
            kind, piece = "^", _SUPERSCRIPTS[base]
        elif not marks and base in _SUBSCRIPTS:
            kind, piece = "_", _SUBSCRIPTS[base]
        else:
            kind, piece = "", _math_char(base, where)
            for mark in marks:
                piece = "%s{%s}" % (_ACCENTS[mark], piece)
        if kind and items and items[-1][0] == kind:
            items[-1][1] += piece
        else:
            items.append([kind, piece])
    out: list[str] = []
    for kind, piece in items:
        piece = "%s{%s}" % (kind, piece) if kind else piece
        if out and re.search(r"\\[A-Za-z]+$", out[-1]) and piece[:1].isalpha():
            out.append(" ")
        out.append(piece)
    return "".join(out)


def escape(text: str, where: str = "text") -> str:
    """Text-mode LaTeX for plain text: specials escaped (``_ % & # { } $ \\ ~ ^ < > |``),
    ``"quoted"`` pairs as ````quoted''``, Unicode mapped (runs of mathematical
    characters as one ``\\(...\\)``)."""
    out: list[str] = []
    pending: list[str] = []  # a run of mathematical characters, emitted as one \(...\)

    def flush():
        if pending:
            out.append(r"\(%s\)" % math("".join(pending), where))
            pending.clear()

    paired = text.count('"') % 2 == 0  # an odd count: every quote is a closing one
    quotes = 0
    for ch in _units(text):
        if len(ch) > 1 or (ch in UNICODE and ch not in _TEXTUAL):
            pending.append(ch)
            continue
        flush()
        if ch == '"':
            out.append("``" if paired and quotes % 2 == 0 else "''")
            quotes += 1
        elif ch in _TEXT_SPECIALS:
            out.append(_TEXT_SPECIALS[ch])
        elif ch.isascii() or ch in _LATIN:
            out.append(ch)
        elif ch in _TEXTUAL:
            out.append(_TEXTUAL[ch][0])
        else:
            raise _unknown(ch, where)
    flush()
    return "".join(out)


_DOLLAR = re.compile(r"(?<!\\)\$")


def inline(text: str, where: str = "text") -> str:
    """Text with ``$...$`` math: text parts escaped, math parts kept (Unicode
    mapped, checked for balance); ``\\$`` is a literal dollar."""
    parts = _DOLLAR.split(text)
    if len(parts) % 2 == 0:
        raise ReportError(f"{where} has an unbalanced `$`: {text!r}; close the formula or write a literal dollar as `\\$`.")
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            check_math(part, where)
            out.append("$%s$" % math(part, where))
        else:
            out.append(escape(part.replace(r"\$", "$"), where))
    return "".join(out)


def plain(text: str) -> str:
    """A plain-text rendering for PDF bookmarks (``\\texorpdfstring``): math markers
    and commands dropped, specials escaped; Unicode stays (hyperref maps it)."""
    text = re.sub(r":math:`([^`]*)`", r"\1", text).replace("$", "")
    text = re.sub(r"\\[A-Za-z]+\s*", "", text)
    text = text.replace("\\", "").replace("{", "").replace("}", "")
    return "".join(
        _TEXT_SPECIALS.get(ch, ch) if ch.isascii() else ch if ch in UNICODE or ch in _LATIN else "" for ch in text
    )


_ENV = re.compile(r"\\(begin|end)\s*\{([^{}]*)\}")


def check_math(tex: str, where: str = "a formula") -> None:
    """Raise `ReportError` if ``tex`` has unbalanced braces or ``\\begin``/``\\end``:
    caught here it names its source; caught by LaTeX it names a line of the output."""
    depth = 0
    stripped = re.sub(r"\\[{}\\$]", "", tex)
    for ch in stripped:
        depth += ch == "{"
        depth -= ch == "}"
        if depth < 0:
            break
    if depth != 0:
        raise ReportError(f"{where} has unbalanced braces: {tex!r}.")
    stack: list[str] = []
    for kind, env in _ENV.findall(stripped):
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            raise ReportError(f"{where} has `\\end{{{env}}}` without a matching `\\begin{{{env}}}`: {tex!r}.")
    if stack:
        raise ReportError(f"{where} has `\\begin{{{stack[-1]}}}` without `\\end{{{stack[-1]}}}`: {tex!r}.")
