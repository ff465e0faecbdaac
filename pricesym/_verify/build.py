r"""The builder both front ends of `ps.parse` call: every rule about what may be
built from user text (names, numbers, the vocabulary's functions, ``diff``,
``ntcov``, ``ntvar``) and the limits that keep hostile input cheap."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence

import sympy as sp

from .._errors import ParseError, ShapeError
from .._symbolic.tangent import NtCov, NtVar
from .._vocabulary import VOCABULARY, Function, rows

__all__ = ["FUNCTIONS", "CONSTANTS", "call", "function_for_word", "symbol", "number", "power", "arith", "divide",
           "column", "finish", "precheck", "snip", "shape", "GREEK"]

MAX_LENGTH = 2000
MAX_NODES = 500
MAX_DEPTH = 50
MAX_EXPONENT = 100
MAX_INTEGER_DIGITS = 1000
MAX_LITERAL_DIGITS = 100
MAX_DECIMAL_EXPONENT = 300
MAX_DIFF_ORDER = 4
MAX_EVALUATED_ARGUMENT = 300
"""Largest numeric argument of the functions SymPy evaluates exactly at numbers (see `_apply`)."""
EXACT_AT_NUMBERS = frozenset({"gamma", "loggamma", "polygamma", "zeta", "harmonic"})


CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E, "E": sp.E}
_OPERATORS = ("diff", "ntcov", "ntvar")
FUNCTIONS: tuple[str, ...] = (*VOCABULARY, *_OPERATORS)

_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?\Z")
GREEK = frozenset(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi rho sigma tau upsilon "
    "phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split()
)


def snip(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shape(value) -> str:
    if isinstance(value, sp.MatrixBase):
        return f"a {value.rows}×{value.cols} matrix"
    return "a scalar"


def symbol(name: str) -> sp.Basic:
    if name in CONSTANTS:
        return CONSTANTS[name]
    if name in FUNCTIONS and name not in GREEK:  # gamma and zeta are also symbols when not called
        raise ParseError(f"`{name}` is a function: call it, e.g. `{name}(x)`.")
    if not _NAME.match(name):
        raise ParseError(
            f"name `{snip(name)}` is not allowed: names are letters, digits and `_`, "
            "starting with a letter and not ending with `_`."
        )
    return sp.Symbol(name, real=True)


_DECIMAL = re.compile(r"(?P<whole>\d*)(?:\.(?P<frac>\d*))?(?:[eE](?P<exp>[+-]?\d+))?\Z")


def number(literal: str) -> sp.Rational:
    """A decimal numeral as an exact rational (``0.1`` is 1/10). The size of the
    result is bounded *before* it is built: ``1e-1000000000`` would otherwise ask
    for a denominator of a billion digits."""
    match = _DECIMAL.match(literal.replace("_", ""))
    if not match or not (match["whole"] or match["frac"]):
        raise ParseError(f"`{snip(literal)}` is not a decimal number.")
    mantissa = (match["whole"] or "") + (match["frac"] or "")
    if len(mantissa) > MAX_LITERAL_DIGITS:
        raise ParseError(f"number `{snip(literal)}` has {len(mantissa)} digits; the limit is {MAX_LITERAL_DIGITS}.")
    significant = mantissa.lstrip("0").rstrip("0")
    if not significant:
        return sp.S.Zero  # 0e999999999 is 0, whatever the exponent
    exponent = match["exp"] or "0"
    # value = significant * 10**scale, with `significant` free of trailing zeros; the exponent's own
    # length is checked first, so that a billion-digit exponent is never even converted to an int
    scale = None if len(exponent.lstrip("+-").lstrip("0")) > 6 else \
        int(exponent) - len(match["frac"] or "") + (len(mantissa.lstrip("0")) - len(significant))
    if scale is None or abs(scale + len(significant) - 1) > MAX_DECIMAL_EXPONENT:
        size = "small" if exponent.startswith("-") else "large"
        raise ParseError(f"number `{snip(literal)}` is too {size}: decimal exponents are limited to "
                         f"±{MAX_DECIMAL_EXPONENT} (the range of float64); rescale the claim.")
    if scale >= 0:
        return sp.Integer(int(significant) * 10**scale)
    return sp.Rational(int(significant), 10**-scale)


def digits(value: sp.Rational) -> float:
    return max(abs(value.p).bit_length(), abs(value.q).bit_length()) * math.log10(2)


def check_size(value, where: str):
    if isinstance(value, sp.Rational) and digits(value) > MAX_INTEGER_DIGITS:
        raise ParseError(f"`{snip(where)}` gives a number of more than {MAX_INTEGER_DIGITS} digits.")


def power(base, exponent, where: str):
    if isinstance(exponent, sp.MatrixBase):
        raise ShapeError(f"the exponent in `{snip(where)}` is {shape(exponent)}; it must be a scalar.")
    if exponent.is_Number:
        if abs(exponent) > MAX_EXPONENT:
            raise ParseError(
                f"exponent {exponent} in `{snip(where)}` is too large: numeric exponents are "
                f"limited to ±{MAX_EXPONENT} so that evaluation stays cheap."
            )
        if isinstance(base, sp.Rational) and exponent.is_Integer:
            if digits(base) * abs(int(exponent)) > MAX_INTEGER_DIGITS:
                raise ParseError(f"`{snip(where)}` gives a number of more than {MAX_INTEGER_DIGITS} digits.")
    if isinstance(base, sp.MatrixBase):
        if not (exponent.is_Integer and base.is_square):
            raise ShapeError(f"`{snip(where)}` raises {shape(base)} to {exponent}; only square matrices to integer powers.")
    return arith(lambda a, b: a**b, base, exponent, where)


def arith(op, a, b, where: str):
    try:
        out = op(a, b)
    except (TypeError, ValueError, ArithmeticError) as err:
        if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
            raise ShapeError(
                f"`{snip(where)}` combines {shape(a)} with {shape(b)}, which is not defined."
            ) from None
        raise ParseError(f"cannot build `{snip(where)}`: {err}.") from None
    if isinstance(out, sp.Rational):
        check_size(out, where)
    return out


def divide(a, b, where: str):
    if isinstance(b, sp.MatrixBase):
        raise ShapeError(f"`{snip(where)}` divides by {shape(b)}; only division by a scalar is defined.")
    if b == 0:
        raise ParseError(f"division by zero in `{snip(where)}`.")
    return arith(lambda x, y: x / y, a, b, where)


def column(items: Sequence, where: str):
    """``[a, b]`` → a column; ``[[a, b], [c, d]]`` → a matrix with those rows."""
    if not items:
        raise ParseError(f"empty list `{snip(where)}`.")
    if all(not isinstance(item, sp.MatrixBase) for item in items):
        return sp.ImmutableMatrix([[item] for item in items])
    rows = [item for item in items if isinstance(item, sp.MatrixBase) and item.cols == 1]
    if len(rows) != len(items) or len({row.rows for row in rows}) != 1:
        raise ShapeError(f"`{snip(where)}` mixes scalars and lists of different lengths; rows must all be the same length.")
    return sp.ImmutableMatrix([list(row) for row in rows])


def _params(value, name: str, where: str) -> tuple[sp.Symbol, ...]:
    items = list(value) if isinstance(value, sp.MatrixBase) else [value]
    bad = [item for item in items if not isinstance(item, sp.Symbol)]
    if bad or len(set(items)) != len(items):
        raise ParseError(
            f"the parameters of `{name}` in `{snip(where)}` must be distinct symbols, e.g. `[b]` or `[w1, w2]`."
        )
    return tuple(items)


def _scalar(value, name: str, where: str):
    if isinstance(value, sp.MatrixBase):
        raise ShapeError(f"`{name}` takes a scalar, got {shape(value)} in `{snip(where)}`.")
    return value


def function_for_word(word: str) -> str | None:
    r"""The text name for a word in ``\operatorname{word}``: a name, or the word of a
    function's notation (``ReLU`` for ``relu``)."""
    if word in FUNCTIONS:
        return word
    for row in rows():
        if row.latex_word == word:
            return row.name
    return None


def _apply(row: Function, args: list, where: str):
    if row.vector and args and not isinstance(args[0], sp.MatrixBase):
        return row(args)  # softmax(z0, z1, ...), as LaTeX writes it: the column
    least, most = row.arity
    if not least <= len(args) <= most:
        count = str(least) if least == most else f"{least} to {most}"
        raise ParseError(f"`{row.name}` takes {count} argument{'s' if most > 1 else ''}; got {len(args)} in `{snip(where)}`.")
    if row.vector:  # softmax([z0, z1, ...]) is a column; softmax([z0, z1, ...], i) its component i
        if len(args) == 2 and not (isinstance(args[1], sp.Integer) and 0 <= args[1] < len(args[0])):
            raise ParseError(f"the index of `{row.name}` must be an integer from 0 to {len(args[0]) - 1}; "
                             f"got `{args[1]}` in `{snip(where)}`.")
        return row(list(args[0]), *args[1:])
    scalars = [_scalar(a, row.name, where) for a in args]
    if row.name in EXACT_AT_NUMBERS and any(a.is_Number and not -MAX_EVALUATED_ARGUMENT <= a <= MAX_EVALUATED_ARGUMENT
                                            for a in scalars):
        # SymPy evaluates gamma(10**100) or harmonic(10**5) exactly, which never ends, and it does so again
        # whenever an unevaluated call is rebuilt or asked whether it is an integer: refuse such numbers
        raise ParseError(f"`{snip(where)}`: {row.name} of a number beyond ±{MAX_EVALUATED_ARGUMENT} is refused, "
                         "since SymPy would evaluate it exactly; use a symbol with a bound, e.g. `x > 1e6`.")
    return arith(lambda a, _: row(*scalars), scalars[0], None, where)


def call(name: str, args: list, where: str):
    """Apply an allowed function. ``name`` has already been checked against FUNCTIONS."""
    if name in VOCABULARY:
        return _apply(VOCABULARY[name], args, where)

    def arity(count: int):
        if len(args) != count:
            example = {"ntvar": ": the property and its parameters, e.g. `ntvar(sigmoid(b), [b])`",
                       "ntcov": ": two properties and the parameters, e.g. `ntcov(x, y, [w1, w2])`"}[name]
            raise ParseError(
                f"`{name}` takes {count} arguments{example}; got {len(args)} in `{snip(where)}`."
            )

    if name == "ntvar":
        arity(2)
        return NtVar(args[0], sp.Tuple(*_params(args[1], name, where)))
    if name == "ntcov":
        arity(3)
        return NtCov(args[0], args[1], sp.Tuple(*_params(args[2], name, where)))
    # diff(f, x[, n]) or diff(f, x, y, ...): symbols, each optionally followed by its order
    if len(args) < 2:
        raise ParseError(
            f"`diff` takes an expression and the symbol(s) to differentiate by, e.g. `diff(f, x)`; got `{snip(where)}`."
        )
    variables: list[list] = []
    for arg in args[1:]:
        if isinstance(arg, sp.Symbol):
            variables.append([arg, 1])
        elif isinstance(arg, sp.Integer) and variables and variables[-1][1] == 1 and arg > 0:
            variables[-1][1] = int(arg)
        else:
            raise ParseError(
                f"`diff` differentiates by symbols (each optionally followed by a positive order); "
                f"got `{arg}` in `{snip(where)}`."
            )
    order = sum(n for _, n in variables)
    if order > MAX_DIFF_ORDER:
        raise ParseError(f"derivative of total order {order} in `{snip(where)}`; the limit is {MAX_DIFF_ORDER}.")
    return sp.Derivative(args[0], *[(x, n) for x, n in variables])


def unknown_function(name: str) -> ParseError:
    if name in CONSTANTS:
        return ParseError(f"`{name}` is a constant, not a function; for a product write `{name}*(...)`.")
    close = difflib.get_close_matches(name, FUNCTIONS, n=3, cutoff=0.6)
    hint = (
        "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
        if close else f"for a product write `{name}*(...)`."
    )
    return ParseError(f"unknown function `{snip(name)}`: {hint} Allowed functions: {', '.join(FUNCTIONS)}.")


def finish(value, text: str):
    """Reject results outside the real numbers (``1/0`` → zoo, ``sqrt(-1)`` → I)."""
    entries = list(value) if isinstance(value, sp.MatrixBase) else [value]
    for entry in entries:
        if entry.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise ParseError(f"`{snip(text)}` is infinite or undefined (a division by zero or log(0)).")
        if entry.has(sp.I):
            raise ParseError(f"`{snip(text)}` is not real; expressions are real-valued.")
    return value


def precheck(text, what: str = "expression") -> str:
    if not isinstance(text, str):
        raise ParseError(f"the {what} must be a string, got {type(text).__name__} {snip(repr(text))}.")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the {what} is {len(text)} characters long; the limit is {MAX_LENGTH}.")
    for column, ch in enumerate(text, 1):
        if not (ch.isascii() and (ch.isprintable() or ch in "\t\n\r")):
            raise ParseError(
                f"character {ch!r} at column {column} is not allowed: use ASCII "
                "(Greek letters by name: eta, sigma; or LaTeX with \\eta)."
            )
    if not text.strip():
        raise ParseError(f"the {what} is empty.")
    return text
