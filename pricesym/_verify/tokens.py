r"""Tokens of the LaTeX front end of `ps.parse`, and its tables of commands."""

from __future__ import annotations

import dataclasses
import re

from .._errors import ParseError
from .build import MAX_NODES

__all__ = ["Token", "tokenize", "GREEK_ALIASES", "LATEX_FUNCTIONS", "TIMES", "OVER", "RELATIONS", "NAMING"]

_TOKEN = re.compile(
    r"(?P<space>\s+|~|\\[,;:! ]|\\q?quad\b|\\displaystyle\b|\\textstyle\b)"
    r"|(?P<size>\\(?:left|right|[bB]igg?[lr]?)(?![A-Za-z]))"
    r"|(?P<cmd>\\[A-Za-z]+)"
    r"|(?P<num>\d+(?:\.\d+)?|\.\d+)"
    r"|(?P<letter>[A-Za-z])"
    r"|(?P<op>[-+*/^_()\[\]{}|,=<>])"
)
GREEK_ALIASES = {"varepsilon": "epsilon", "vartheta": "theta", "varrho": "rho", "varphi": "phi", "varsigma": "sigma"}
LATEX_FUNCTIONS = {
    "exp": "exp", "log": "log", "ln": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
}
TIMES = ("*", r"\cdot", r"\times")
OVER = ("/", r"\div")
RELATIONS = {"=": "=", "<": "<", ">": ">", r"\lt": "<", r"\gt": ">", r"\le": "<=", r"\leq": "<=",
              r"\leqslant": "<=", r"\ge": ">=", r"\geq": ">=", r"\geqslant": ">="}
NAMING = (r"\operatorname", r"\mathrm", r"\mathit", r"\text", r"\textrm", r"\mathbf")


@dataclasses.dataclass(frozen=True, slots=True)
class Token:
    kind: str      # "cmd", "num", "letter", "op", "end"
    text: str
    start: int
    spaced: bool   # whitespace (or \left) separated it from the previous token


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position, spaced = 0, False
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise ParseError(f"unexpected character `{text[position]}` at column {position + 1} of the LaTeX input.")
        kind = match.lastgroup
        if kind == "space":
            spaced = True
        elif kind == "size":
            pass  # \left( reads as (; `spaced` is kept, so \sigma\left( still touches its parenthesis
        else:
            tokens.append(Token(kind or "", match.group(), match.start(), spaced))
            spaced = False
        position = match.end()
    if len(tokens) > 2 * MAX_NODES:
        raise ParseError(f"the expression has more than {2 * MAX_NODES} LaTeX tokens; split it up.")
    tokens.append(Token("end", "", len(text), False))
    return tokens
