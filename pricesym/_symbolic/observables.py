"""Results in observables: `in_terms_of` renames function values (p = sigmoid(b))
and rewrites leftover parameters through the vocabulary's inverses (b = logit p)."""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from .._cache import kept
from .._errors import ParseError
from .._safe import to_sympy
from .._vocabulary import Softmax, rows
from .tidy import tidy

__all__ = ["in_terms_of"]


@kept
def in_terms_of(expr, observables: Mapping[sp.Symbol, sp.Expr]):
    """Rewrite ``expr`` through observables, e.g. ``{p: sigmoid(b)}``.

    Each occurrence of the defining expression becomes the observable's symbol;
    where the definition is an invertible function of a single symbol (its row in
    the vocabulary has an ``inverse``: sigmoid, tanh, exp, softplus, ...), leftover
    occurrences of that symbol are replaced through the inverse (b → log(p/(1-p))),
    so exp(b) becomes p/(1-p). The result is tidied (`tidy`); for a sum, term by
    term too, and the shorter of the two is kept: a sum that factors (p(1-p) +
    p(1-p)(1-2p)...) comes out factored, and a sum that does not (one factored term
    per unit of a network) keeps its structure instead of expanding into monomials.
    `sympy.simplify` is never called.
    """
    if isinstance(expr, (str, bytes)):
        raise ParseError(f"`expr` must be a SymPy expression, not the string {expr!r}; read text with `ps.parse`.")
    if not isinstance(expr, (sp.Basic, sp.MatrixBase)):
        try:  # strict: a number converts, a string (also inside a list) is refused, never read as Python
            expr = to_sympy(expr, error=sp.SympifyError)
        except sp.SympifyError:
            raise ParseError(f"`expr` must be a SymPy expression, got {type(expr).__name__} {expr!r:.60}; "
                             "read text with `ps.parse`.") from None
    _check_observables(observables)
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: in_terms_of(e, observables))
    whole = _rewrite(expr, observables)
    if isinstance(expr, sp.Add):
        termwise = sp.Add(*[_rewrite(term, observables) for term in expr.args])
        if sp.count_ops(termwise) < sp.count_ops(whole):
            return termwise
    return whole


def _rewrite(expr, observables):
    forward = {definition: symbol for symbol, definition in observables.items()}
    out = expr.xreplace(forward)
    for symbol, definition in observables.items():
        found = _inverse(definition, symbol)
        if found is not None and out.has(found[0]):
            out = out.rewrite(sp.exp).xreplace(forward).subs(*found)
    return tidy(out, _sums_to_one(observables))


def _sums_to_one(observables) -> list:
    """Σπ = 1 for every softmax whose components are all observables."""
    by_logits: dict[tuple, dict[int, sp.Symbol]] = {}
    for symbol, definition in observables.items():
        if isinstance(definition, Softmax):
            by_logits.setdefault(definition.args[1:], {})[int(definition.args[0])] = symbol
    return [sp.Add(*components.values()) - 1 for logits, components in by_logits.items()
            if len(components) == len(logits)]


def _inverse(definition, value) -> tuple[sp.Symbol, sp.Expr] | None:
    """``(x, expression)`` when ``definition`` is a vocabulary function of one symbol
    ``x`` with an inverse (sqrt(x), sigmoid(x), ...), so that ``x = expression``."""
    free = definition.free_symbols
    if len(free) != 1:
        return None
    (arg,) = free
    for row in rows():
        if row.inverse is not None and row.apply(arg) == definition:
            return arg, row.inverse(value)
    return None


def _check_observables(observables) -> None:
    """Symbols to SymPy expressions; a string would reach SymPy's parser through `subs`."""
    if not isinstance(observables, Mapping):
        raise ParseError(f"`observables` must map symbols to their definitions, e.g. {{p: sigmoid(b)}}, "
                         f"got {type(observables).__name__} {observables!r:.60}.")
    for symbol, definition in observables.items():
        if not isinstance(symbol, (sp.Symbol, sp.Indexed)) or not isinstance(definition, sp.Basic):
            raise ParseError(f"`observables` must map SymPy symbols to SymPy expressions, e.g. {{p: sigmoid(b)}}, "
                             f"got {symbol!r:.30}: {definition!r:.60}; read text with `ps.parse`.")
