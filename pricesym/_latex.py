"""Our LaTeX printer: SymPy's, with notation for pricesym's objects and settings
checked (a misspelt setting raises)."""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["latex", "Printer"]


class Printer(LatexPrinter):
    """SymPy's LaTeX printer with pricesym notation. Add notation by adding a
    ``_print_<ClassName>`` method."""

    printmethod = "_latex"
    _default_settings = {**LatexPrinter._default_settings, "mat_delim": "(", "ln_notation": True}

    def _print_ImmutableDenseMatrix(self, expr):
        return self._print_MatrixBase(expr)


def latex(expr, **settings) -> str:
    """LaTeX for a SymPy object (expression, Matrix, Tuple, relation)."""
    return Printer(settings).doprint(sp.sympify(expr) if not isinstance(expr, (sp.Basic, sp.MatrixBase)) else expr)
