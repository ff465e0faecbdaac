r"""Safe parsing of user expressions: text and LaTeX, never ``eval``.

User text (a command-line argument, a notebook string) is untrusted. It is read
by one of two front ends and turned into SymPy by one builder that knows the
allowed vocabulary; nothing in the text is ever executed, and neither `eval`,
`sympify` nor `parse_expr` sees it.

* **Text** (``parse(text)``): Python syntax, read by `ast.parse` and walked with
  an allow-list of node types — numbers, names, ``+ - * / **`` (``^`` is read
  as ``**``), unary ``±``, calls of the functions below, and lists ``[a, b]``
  (vectors, or the parameters of ``ntcov``/``ntvar``). Attribute access,
  indexing, lambdas, comprehensions, strings, keywords and every other node
  raise `ParseError` naming the piece.
* **LaTeX** (``parse(text, latex=True)``): a small recursive-descent reader of
  the notation pricesym itself prints (``\frac``, ``^{}``, ``_{}``,
  ``\left(…\right)``, ``\cdot``, implicit products, Greek letters,
  ``\exp \ln \log \sqrt \sin \cos \tan \sinh \cosh \tanh``,
  ``\operatorname{name}(…)``, ``\frac{d}{dx}``). ``e`` is Euler's number, so
  ``e^{x}`` is ``exp(x)``; ``\sigma(b)`` (σ directly followed by a
  parenthesis, as `ps.latex` prints it) is the sigmoid, while ``\sigma`` on its
  own, or followed by a space, is the symbol ``sigma``. SymPy's own
  ``parse_latex(backend="lark")`` was tried first and set aside: in SymPy 1.14
  it rejects ``e^{x} e^{y}``, ``p^{2}(1-p)^{2}``, ``\sigma`` and ``\pi``, and
  returns unresolved ambiguity trees for ``p(1-p)`` and ``\tanh(x)``.

Vocabulary (both front ends):

* every function of the vocabulary (`pricesym._vocabulary`: ``exp log ln sqrt
  sin cos tan sinh cosh tanh abs sigmoid logit softplus silu relu leaky_relu
  heaviside erf gelu …``; ``softmax([z0, z1, …])`` gives a column), ``diff(f, x[, n])``
  (also ``diff(f, x, y, …)``), ``ntcov(x, y, [w1, w2, …])`` and
  ``ntvar(x, [w1, …])``. ``diff``, ``ntcov`` and ``ntvar`` stay unevaluated
  (`sympy.Derivative`, `NtCov`, `NtVar`) so the input reads back as written;
  ``.doit()`` evaluates them.
* constants ``pi``, and ``e`` = ``E`` = Euler's number (a bare ``e`` is never a
  symbol: in this field it is always the exponential's base).
* every other name ``[A-Za-z][A-Za-z0-9_]*`` (not ending in ``_``) is a real
  symbol, ``Symbol(name, real=True)``; the same name is always the same
  symbol. In LaTeX, ``u_{0}`` is ``u0`` (digits join, as SymPy prints ``u0``)
  and ``x_{max}`` is ``x_max``.
* decimal literals are exact: ``0.1`` is 1/10.

Limits keep hostile input cheap: at most `MAX_LENGTH` characters, `MAX_NODES`
nodes, nesting `MAX_DEPTH`, numeric exponents up to `MAX_EXPONENT` in size (so
``9**9**9**9`` is refused instead of computed), integers up to
`MAX_INTEGER_DIGITS` digits, derivative order up to `MAX_DIFF_ORDER`.

Assumptions (``parse_assumption``): ``p = sigmoid(b)`` defines ``p``;
``0 < p < 1``, ``x > 0``, ``N >= 1`` bound a symbol by numbers; ``x real``,
``x positive``, ``x negative``, ``x nonnegative``, ``N integer`` state a kind.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import math
import re

import mpmath
import sympy as sp
from sympy.printing.str import StrPrinter

from .._errors import ParseError, PricesymError
from .budget import DEFAULT_TIMEOUT, Budget
from .build import finish, precheck, snip
from .build import symbol as make_symbol
from .latex import LatexReader
from .text import COMPARE, build_python, read_python

__all__ = ["parse", "parse_assumption", "Assumption", "to_text"]

_KINDS = ("real", "positive", "negative", "nonnegative", "integer")


def parse(text: str, *, latex: bool = False, timeout: float = DEFAULT_TIMEOUT):
    r"""Read user text into a SymPy expression or matrix, without executing it.

    ``latex=False`` reads Python syntax (``ntvar(sigmoid(b), [b])``,
    ``p**2*(1-p)**2``, ``x^2``); ``latex=True`` reads LaTeX (``e^{x}``,
    ``\frac{1}{1+e^{-b}}``, ``\sigma(b)``). Raises `ParseError` (one line, naming
    the offending piece) for anything outside the allowed vocabulary, and
    `ShapeError` for arithmetic between a matrix and a scalar that is not defined.
    Ends within ``timeout`` seconds (`BudgetExceeded` naming the stage otherwise;
    the limits keep it far below).
    """
    text = precheck(text)
    try:
        with Budget(timeout, "parse") as budget:
            budget.check("reading the expression")
            if latex:
                value = LatexReader(_strip_dollars(text)).whole()
            else:
                node, source = read_python(text)
                value = build_python(node, source)
    except PricesymError:
        raise
    except RecursionError:
        raise ParseError(f"`{snip(text)}` is nested too deeply.") from None
    except Exception as err:  # a SymPy failure on odd but allowed input; keep it one line
        raise ParseError(f"cannot read `{snip(text)}`: {type(err).__name__}: {snip(str(err), 80)}.") from None
    return finish(value, text)


def _strip_dollars(text: str) -> str:
    stripped = text.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if stripped.startswith(left) and stripped.endswith(right) and len(stripped) >= len(left) + len(right):
            return stripped[len(left): len(stripped) - len(right)]
    return text


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Assumption:
    r"""One assumption about one symbol.

    * a definition ``p = sigmoid(b)``: ``definition`` holds the expression, and
      verifying substitutes it for ``p``;
    * bounds ``0 < p < 1``: ``lower``/``upper`` (±inf when absent), with
      ``lower_strict``/``upper_strict`` telling < from <=;
    * ``integer=True`` for ``N integer``.

    ``text`` is what the user wrote."""

    text: str
    symbol: sp.Symbol
    definition: sp.Basic | None = None
    lower: float = -math.inf
    upper: float = math.inf
    lower_strict: bool = False
    upper_strict: bool = False
    integer: bool = False

    def __post_init__(self):
        if not isinstance(self.symbol, sp.Symbol):
            raise ParseError(f"`symbol` of an assumption must be a SymPy Symbol, got {self.symbol!r}.")
        if self.lower > self.upper or (self.lower == self.upper and (self.lower_strict or self.upper_strict)):
            raise ParseError(f"the assumption `{snip(self.text)}` leaves no value for `{self.symbol}`.")

    def __str__(self) -> str:
        return self.text

    def latex(self) -> str:
        from .._report.printer import latex

        s = latex(self.symbol)
        if self.definition is not None:
            return f"{s} = {latex(self.definition)}"
        parts = []
        less = {True: "<", False: r"\le"}
        if self.lower > -math.inf:
            parts.append(f"{self.lower:g} {less[self.lower_strict]} ")
        parts.append(s)
        if self.upper < math.inf:
            parts.append(f" {less[self.upper_strict]} {self.upper:g}")
        if self.integer:
            parts.append(r" \in \mathbb{Z}")
        return "".join(parts) if len(parts) > 1 else rf"{s} \in \mathbb{{R}}"


def parse_assumption(text: str, *, latex: bool = False) -> Assumption:
    r"""Read one assumption.

    * ``p = sigmoid(b)`` (also ``p == …``; in LaTeX ``p = \sigma(b)``): defines ``p``;
    * ``0 < p < 1``, ``x > 0``, ``N >= 1``, ``1/2 <= s`` (LaTeX ``\le``, ``\ge``):
      bounds one symbol by numbers (which may be written ``pi``, ``1/3``, …);
    * ``x real``, ``x positive``, ``x negative``, ``x nonnegative``, ``N integer``.
    """
    if isinstance(text, Assumption):
        return text
    text = precheck(text, "assumption")
    kind = re.fullmatch(r"\s*([A-Za-z][A-Za-z0-9_]*)\s+(?:is\s+)?([a-z]+)\s*", text)
    if kind:
        name, word = kind.groups()
        if word not in _KINDS:
            close = difflib.get_close_matches(word, _KINDS, n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            raise ParseError(f"unknown kind `{word}` in `{snip(text)}`: {hint}allowed: {', '.join(_KINDS)}.")
        symbol = make_symbol(name)
        if not isinstance(symbol, sp.Symbol):
            raise ParseError(f"`{name}` is a constant; assumptions are about symbols.")
        kinds: dict[str, dict] = {"positive": {"lower": 0.0, "lower_strict": True},
                                  "negative": {"upper": 0.0, "upper_strict": True},
                                  "nonnegative": {"lower": 0.0}, "integer": {"integer": True}, "real": {}}
        bounds = kinds[word]
        return Assumption(text=text.strip(), symbol=symbol, **bounds)
    try:
        if latex:
            exprs, ops = LatexReader(_strip_dollars(text)).relation()
        else:
            node, source = read_python(re.sub(r"(?<![<>=!])=(?!=)", "==", text), compare=True)
            if not isinstance(node, ast.Compare):
                raise ParseError(
                    f"`{snip(text)}` is not an assumption: write `p = sigmoid(b)`, `0 < p < 1`, `x > 0` or `x positive`."
                )
            exprs = [build_python(part, source) for part in (node.left, *node.comparators)]
            ops = [COMPARE[type(op)] for op in node.ops]
    except PricesymError:
        raise
    except RecursionError:
        raise ParseError(f"the assumption `{snip(text)}` is nested too deeply.") from None
    except Exception as err:
        raise ParseError(f"cannot read the assumption `{snip(text)}`: {type(err).__name__}.") from None
    for value in exprs:
        finish(value, text)
    return _assumption(text.strip(), exprs, ops)


def _assumption(text: str, exprs: list, ops: list[str]) -> Assumption:
    if not ops:
        raise ParseError(f"`{snip(text)}` is not an assumption: write `p = sigmoid(b)`, `0 < p < 1`, `x > 0` or `x positive`.")
    if "=" in ops:
        if ops != ["="]:
            raise ParseError(f"`{snip(text)}` mixes `=` with inequalities; give them as separate assumptions.")
        left, right = exprs
        if not isinstance(left, sp.Symbol) and isinstance(right, sp.Symbol):
            left, right = right, left
        if not isinstance(left, sp.Symbol):
            raise ParseError(f"`{snip(text)}` must define a symbol: write `p = sigmoid(b)` with the symbol on the left.")
        if isinstance(right, sp.MatrixBase) or right.has(left):
            raise ParseError(f"`{snip(text)}` must define `{left}` by a scalar expression that does not contain `{left}`.")
        return Assumption(text=text, symbol=left, definition=right)
    symbol = None
    bounds: dict = {}
    for (a, b), op in zip(zip(exprs, exprs[1:]), ops):
        if op in (">", ">="):
            a, b, op = b, a, op.replace(">", "<")
        strict = op == "<"
        # now a < b (or <=): exactly one side is the symbol, the other a number
        if isinstance(b, sp.Symbol) and _constant(a, "lower") is not None:
            this, side, value = b, "lower", _constant(a, "lower")
        elif isinstance(a, sp.Symbol) and _constant(b, "upper") is not None:
            this, side, value = a, "upper", _constant(b, "upper")
        else:
            other = a if isinstance(b, sp.Symbol) else b if isinstance(a, sp.Symbol) else None
            if other is not None and not isinstance(other, sp.MatrixBase) and not other.free_symbols:
                raise ParseError(f"`{snip(text)}`: the bound `{snip(str(other))}` is not a finite real number "
                                 "within float64's range; give a bound that is.")
            raise ParseError(
                f"`{snip(text)}`: an inequality bounds one symbol by numbers, e.g. `0 < p < 1` or `x >= 1`."
            )
        if symbol is not None and this != symbol:
            raise ParseError(f"`{snip(text)}` bounds both `{symbol}` and `{this}`; give one assumption per symbol.")
        if side in bounds:
            raise ParseError(f"`{snip(text)}` gives two {side} bounds for `{this}`.")
        symbol, bounds[side], bounds[f"{side}_strict"] = this, value, strict
    return Assumption(text=text, symbol=symbol, **bounds)


def _constant(value, side: str) -> float | None:
    """A bound as a float rounded *into* the domain (up for a lower bound, down for an
    upper one), so that a float at the bound satisfies the bound as written:
    ``x >= 0.1`` is x >= 0.1000000000000000055…, the double just above 1/10.
    Evaluated by the guarded mpmath walk of `verify` (``exp(exp(exp(9)))`` is refused)."""
    from .evaluate import precise

    if isinstance(value, sp.MatrixBase) or value.free_symbols:
        return None
    exact = value.is_Rational
    reading = precise(value, {}, 40)
    if reading.value is None:
        return None
    number = float(reading.value)
    if not math.isfinite(number):
        return None
    with mpmath.workdps(60):
        target = mpmath.mpf(int(value.p)) / int(value.q) if exact else precise(value, {}, 60).value
        if target is None:
            return None
        if side == "lower" and mpmath.mpf(number) < target:
            number = math.nextafter(number, math.inf)
        elif side == "upper" and mpmath.mpf(number) > target:
            number = math.nextafter(number, -math.inf)
    return number


class _TextPrinter(StrPrinter):
    """SymPy's str printer, spelled so that `parse` reads the output back:
    ``ntvar(x, [b])``, ``diff(f, x, 2)``, ``abs(x)``, ``[a, b]``."""

    def _print_NtVar(self, expr):
        return f"ntvar({self._print(expr.args[0])}, {self._print_list(list(expr.args[1]))})"

    def _print_NtCov(self, expr):
        x, y, params = expr.args
        return f"ntcov({self._print(x)}, {self._print(y)}, {self._print_list(list(params))})"

    def _print_Derivative(self, expr):
        parts = [self._print(expr.expr)]
        for variable, count in expr.variable_count:
            parts.append(self._print(variable))
            if count != 1:
                parts.append(self._print(count))
        return f"diff({', '.join(parts)})"

    def _print_Softmax(self, expr):
        logits = self._print_list(list(expr.args[1:]))
        return f"softmax({logits}, {self._print(expr.args[0])})"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_MatrixBase(self, expr):
        if expr.cols == 1:
            return self._print_list(list(expr))
        return "[" + ", ".join(self._print_list(list(expr.row(i))) for i in range(expr.rows)) + "]"

    _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _print_MatrixBase


def to_text(expr) -> str:
    """The text form of a SymPy object, in the syntax `parse` reads."""
    try:
        return _TextPrinter().doprint(expr)
    except (ArithmeticError, ValueError, TypeError):  # ordering the terms of erfc(1e300) + 1 evaluates them
        return _TextPrinter({"order": "none"}).doprint(expr)
