"""SymPy expressions as Python functions: `sympy.lambdify` (with common
subexpressions shared), its generated source kept between runs.

Printing a large closed form and finding its common subexpressions takes about as long
as checking it, and the result depends only on the expression, the argument list, the
target (``"numpy"`` or ``"jax"``), SymPy's version and pricesym's source. So the
generated source is kept in ``$XDG_CACHE_HOME/pricesym/lambdify``, keyed by those
exactly (the file holds the full key and is used only if it matches), and compiled again
in the namespace lambdify would have built (`pricesym._cache.remembered`). Nothing
computed from the expression's values is kept. Expressions containing a ``Dummy``
(whose identity changes from run to run) are not kept.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import inspect
import pickle
from collections.abc import Callable, Sequence

import sympy as sp

from .._cache import remembered, source_digest
from .._vocabulary import modules

__all__ = ["lambdified"]

_NAME = "_lambdifygenerated"


def _lambdify(args: Sequence[sp.Symbol], expr, space: str, cse: bool) -> Callable:
    # docstring_limit=0: lambdify otherwise prints the whole expression a second time for the docstring
    return sp.lambdify(list(args), expr, modules=[modules(space), space], cse=cse, dummify=True, docstring_limit=0)


@functools.cache
def _namespace(space: str) -> dict:
    """The globals lambdify gives every function for ``space``: the vocabulary, then the module."""
    return _lambdify((), 0, space, False).__globals__


def _globals_needed(code) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _globals_needed(const)
    return names


def _imports(fn: Callable, space: str) -> tuple[tuple[str, str], ...] | None:
    """(module, name) of each global the printer imported beyond the base namespace
    (``reduce``, ``maximum``, ...), or None when one cannot be named again."""
    base, extra = _namespace(space), []
    for name in sorted(_globals_needed(fn.__code__)):
        if name in base or name not in fn.__globals__:
            continue
        obj = fn.__globals__[name]
        module = getattr(obj, "__module__", None)
        try:
            if module is None or getattr(importlib.import_module(module), name) is not obj:
                return None
        except (ImportError, AttributeError):
            return None
        extra.append((module, name))
    return tuple(extra)


def _rebuild(source: str, imports, space: str) -> Callable | None:
    namespace = _namespace(space)
    if imports:
        namespace = dict(namespace)
        for module, name in imports:
            try:
                namespace.setdefault(name, getattr(importlib.import_module(module), name))
            except (ImportError, AttributeError):
                return None
    local: dict = {}
    exec(compile(source, f"<lambdify-cached {space}>", "exec"), namespace, local)  # noqa: S102 - lambdify's own source
    fn = local[_NAME]
    return None if _globals_needed(fn.__code__) - set(namespace) - set(vars(builtins)) else fn


def _generate(args, expr, space: str, cse: bool, made: dict):
    """(source, imports) of lambdify's function (the function itself goes in ``made``),
    or None when it cannot be rebuilt from them."""
    fn = made["fn"] = _lambdify(args, expr, space, cse)
    imports = _imports(fn, space)
    try:
        return None if imports is None else (inspect.getsource(fn), imports)
    except (OSError, TypeError):
        return None


def lambdified(args: Sequence[sp.Symbol], expr, space: str, *, cse: bool = True) -> Callable:
    """``lambdify(args, expr, modules=[vocabulary, space], cse=cse, dummify=True)``,
    rebuilt from the kept source when this exact expression was lambdified before."""
    args = tuple(args)
    try:
        key = pickle.dumps((sp.__version__, source_digest(), space, cse, args, expr), protocol=5)
    except Exception:  # noqa: BLE001 - an expression that cannot be pickled is just not kept
        key = b"Dummy"
    made: dict = {}
    kept = None if b"Dummy" in key else remembered("lambdify", key, lambda: _generate(args, expr, space, cse, made))
    fn = made.get("fn") or (None if kept is None else _rebuild(kept[0], kept[1], space))
    return _lambdify(args, expr, space, cse) if fn is None else fn
