r"""pricesym's LaTeX printer: SymPy's, with the project's settings.

Notation is defined once per class, by SymPy's own extension point: each of
pricesym's functions carries ``_latex(printer, exp=None)`` (from its
``notation``, `pricesym._vocabulary.Notation`), so plain ``sympy.latex`` prints
it too. The printer adds only settings (a misspelt setting raises) and the
breaking of wide matrices inside their cells.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

from sympy.printing.latex import LatexPrinter

from .._safe import to_sympy

__all__ = ["Printer", "latex", "symbol_names", "with_names"]

# The names a derivation gives its symbols (`Derivation.notation`), while one is printed.
_NAMES: ContextVar[Mapping] = ContextVar("symbol_names", default={})


@contextlib.contextmanager
def symbol_names(names: Mapping) -> Iterator[None]:
    """Print symbols by these LaTeX names (SymPy's ``symbol_names`` setting) inside the block."""
    token = _NAMES.set({**_NAMES.get(), **names})
    try:
        yield
    finally:
        _NAMES.reset(token)


def with_names(settings: dict) -> dict:
    """Printer settings, with the symbol names in force."""
    names = _NAMES.get()
    if names and "symbol_names" not in settings:
        return {**settings, "symbol_names": dict(names)}
    return settings


class Printer(LatexPrinter):
    r"""SymPy's LaTeX printer with pricesym's settings: matrices in parentheses,
    ``\ln`` for the natural log, and ``max_width`` (set by `break_lines`): a matrix
    wider than this many glyphs breaks its entries over lines inside their cells."""

    printmethod = "_latex"
    _default_settings = {**LatexPrinter._default_settings, "mat_delim": "(", "ln_notation": True, "max_width": None}

    def _print_ImmutableDenseMatrix(self, expr):
        return self._print_MatrixBase(expr)

    def _print_MatrixBase(self, expr):
        from .breaking import fill, tokens, visible_width

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
                lines = fill(tokens(expr[i, j], self, cell), cell) if visible_width(entry) > cell else [entry]
                cells.append(lines[0] if len(lines) == 1 else
                             r"\begin{aligned}&%s\end{aligned}" % r" \\ &\quad ".join(lines))
            rows.append(" & ".join(cells))
        left, right = {"(": (r"\left(", r"\right)"), "[": (r"\left[", r"\right]")}.get(self._settings["mat_delim"], ("", ""))
        return r"%s\begin{matrix}%s\end{matrix}%s" % (left, r"\\".join(rows), right)


def _sympify(expr):
    # user text goes through the parser, never here: `to_sympy` refuses it at any depth
    return to_sympy(expr, "expr")


def latex(expr, **settings) -> str:
    """LaTeX for a SymPy object (expression, Matrix, Tuple, relation)."""
    return Printer(with_names(settings)).doprint(_sympify(expr))
