r"""The text side of LaTeX: escaping, Unicode mapping, ``$...$`` handling.

Everything here must compile under plain ``pdflatex`` with the packages of
texlive-latex-base/recommended, so Unicode never reaches the ``.tex`` file raw
(except Latin-1 letters, which ``inputenc`` handles): `UNICODE` maps each
character we know to LaTeX, and an unknown one raises `ReportError` saying where
it was and how to fix it.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from .._errors import ReportError

__all__ = ["UNICODE", "escape", "math", "inline", "plain", "check_math"]


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
        "write it as LaTeX (inside $...$ or :math:`...`), or add it to `pricesym._report.text.UNICODE`."
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
