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

* functions ``exp log ln sqrt sin cos tan sinh cosh tanh abs sigmoid logit``
  (one argument each), ``softmax([z0, z1, …])`` (a column), ``diff(f, x[, n])``
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
import collections
import dataclasses
import difflib
import math
import re
import warnings
from collections.abc import Callable, Sequence
from fractions import Fraction

import sympy as sp
from sympy.printing.str import StrPrinter

from ._errors import ParseError, PricesymError, ShapeError
from ._functions import logit, sigmoid, softmax
from ._tangent import NtCov, NtVar

__all__ = ["parse", "parse_assumption", "Assumption", "to_text", "FUNCTIONS", "CONSTANTS"]

MAX_LENGTH = 2000
MAX_NODES = 500
MAX_DEPTH = 50
MAX_EXPONENT = 100
MAX_INTEGER_DIGITS = 1000
MAX_LITERAL_DIGITS = 100
MAX_DIFF_ORDER = 4

CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E, "E": sp.E}

_UNARY: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt,
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
    "abs": sp.Abs, "sigmoid": sigmoid, "logit": logit,
}
FUNCTIONS: tuple[str, ...] = (*_UNARY, "softmax", "diff", "ntcov", "ntvar")

_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?\Z")
_KINDS = ("real", "positive", "negative", "nonnegative", "integer")


# ---------------------------------------------------------------- the builder
# Both front ends call these; they hold every rule about what may be built.

def _snip(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shape(value) -> str:
    if isinstance(value, sp.MatrixBase):
        return f"a {value.rows}×{value.cols} matrix"
    return "a scalar"


def _symbol(name: str) -> sp.Basic:
    if name in CONSTANTS:
        return CONSTANTS[name]
    if name in FUNCTIONS:
        raise ParseError(f"`{name}` is a function: call it, e.g. `{name}(x)`.")
    if not _NAME.match(name):
        raise ParseError(
            f"name `{_snip(name)}` is not allowed: names are letters, digits and `_`, "
            "starting with a letter and not ending with `_`."
        )
    return sp.Symbol(name, real=True)


def _number(literal: str) -> sp.Rational:
    digits = sum(ch.isdigit() for ch in literal)
    if digits > MAX_LITERAL_DIGITS:
        raise ParseError(f"number `{_snip(literal)}` has {digits} digits; the limit is {MAX_LITERAL_DIGITS}.")
    fraction = Fraction(literal)  # a decimal numeral (checked by the front end); exact, no evaluation
    value = sp.Rational(fraction.numerator, fraction.denominator)
    _check_size(value, literal)
    return value


def _digits(value: sp.Rational) -> float:
    return max(abs(value.p).bit_length(), abs(value.q).bit_length()) * math.log10(2)


def _check_size(value, where: str):
    if isinstance(value, sp.Rational) and _digits(value) > MAX_INTEGER_DIGITS:
        raise ParseError(f"`{_snip(where)}` gives a number of more than {MAX_INTEGER_DIGITS} digits.")


def _pow(base, exponent, where: str):
    if isinstance(exponent, sp.MatrixBase):
        raise ShapeError(f"the exponent in `{_snip(where)}` is {_shape(exponent)}; it must be a scalar.")
    if exponent.is_Number:
        if abs(exponent) > MAX_EXPONENT:
            raise ParseError(
                f"exponent {exponent} in `{_snip(where)}` is too large: numeric exponents are "
                f"limited to ±{MAX_EXPONENT} so that evaluation stays cheap."
            )
        if isinstance(base, sp.Rational) and exponent.is_Integer:
            if _digits(base) * abs(int(exponent)) > MAX_INTEGER_DIGITS:
                raise ParseError(f"`{_snip(where)}` gives a number of more than {MAX_INTEGER_DIGITS} digits.")
    if isinstance(base, sp.MatrixBase):
        if not (exponent.is_Integer and base.is_square):
            raise ShapeError(f"`{_snip(where)}` raises {_shape(base)} to {exponent}; only square matrices to integer powers.")
    return _arith(lambda a, b: a**b, base, exponent, where)


def _arith(op, a, b, where: str):
    try:
        out = op(a, b)
    except (TypeError, ValueError, ArithmeticError) as err:
        if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
            raise ShapeError(
                f"`{_snip(where)}` combines {_shape(a)} with {_shape(b)}, which is not defined."
            ) from None
        raise ParseError(f"cannot build `{_snip(where)}`: {err}.") from None
    if isinstance(out, sp.Rational):
        _check_size(out, where)
    return out


def _div(a, b, where: str):
    if isinstance(b, sp.MatrixBase):
        raise ShapeError(f"`{_snip(where)}` divides by {_shape(b)}; only division by a scalar is defined.")
    if b == 0:
        raise ParseError(f"division by zero in `{_snip(where)}`.")
    return _arith(lambda x, y: x / y, a, b, where)


def _column(items: Sequence, where: str):
    """``[a, b]`` → a column; ``[[a, b], [c, d]]`` → a matrix with those rows."""
    if not items:
        raise ParseError(f"empty list `{_snip(where)}`.")
    if all(not isinstance(item, sp.MatrixBase) for item in items):
        return sp.ImmutableMatrix([[item] for item in items])
    rows = [item for item in items if isinstance(item, sp.MatrixBase) and item.cols == 1]
    if len(rows) != len(items) or len({row.rows for row in rows}) != 1:
        raise ShapeError(f"`{_snip(where)}` mixes scalars and lists of different lengths; rows must all be the same length.")
    return sp.ImmutableMatrix([list(row) for row in rows])


def _params(value, name: str, where: str) -> tuple[sp.Symbol, ...]:
    items = list(value) if isinstance(value, sp.MatrixBase) else [value]
    bad = [item for item in items if not isinstance(item, sp.Symbol)]
    if bad or len(set(items)) != len(items):
        raise ParseError(
            f"the parameters of `{name}` in `{_snip(where)}` must be distinct symbols, e.g. `[b]` or `[w1, w2]`."
        )
    return tuple(items)


def _scalar(value, name: str, where: str):
    if isinstance(value, sp.MatrixBase):
        raise ShapeError(f"`{name}` takes a scalar, got {_shape(value)} in `{_snip(where)}`.")
    return value


def _call(name: str, args: list, where: str):
    """Apply an allowed function. ``name`` has already been checked against FUNCTIONS."""

    def arity(count: int):
        if len(args) != count:
            example = {"ntvar": ": the property and its parameters, e.g. `ntvar(sigmoid(b), [b])`",
                       "ntcov": ": two properties and the parameters, e.g. `ntcov(x, y, [w1, w2])`"}.get(name, "")
            raise ParseError(
                f"`{name}` takes {count} argument{'s' if count > 1 else ''}{example}; got {len(args)} in `{_snip(where)}`."
            )

    if name in _UNARY:
        arity(1)
        return _arith(lambda a, _: _UNARY[name](a), _scalar(args[0], name, where), None, where)
    if name == "softmax":
        arity(1)
        logits = list(args[0]) if isinstance(args[0], sp.MatrixBase) else args
        return softmax(logits)
    if name == "ntvar":
        arity(2)
        return NtVar(args[0], sp.Tuple(*_params(args[1], name, where)))
    if name == "ntcov":
        arity(3)
        return NtCov(args[0], args[1], sp.Tuple(*_params(args[2], name, where)))
    # diff(f, x[, n]) or diff(f, x, y, ...): symbols, each optionally followed by its order
    if len(args) < 2:
        raise ParseError(
            f"`diff` takes an expression and the symbol(s) to differentiate by, e.g. `diff(f, x)`; got `{_snip(where)}`."
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
                f"got `{arg}` in `{_snip(where)}`."
            )
    order = sum(n for _, n in variables)
    if order > MAX_DIFF_ORDER:
        raise ParseError(f"derivative of total order {order} in `{_snip(where)}`; the limit is {MAX_DIFF_ORDER}.")
    return sp.Derivative(args[0], *[(x, n) for x, n in variables])


def _unknown_function(name: str) -> ParseError:
    if name in CONSTANTS:
        return ParseError(f"`{name}` is a constant, not a function; for a product write `{name}*(...)`.")
    close = difflib.get_close_matches(name, FUNCTIONS, n=3, cutoff=0.6)
    hint = (
        "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
        if close else f"for a product write `{name}*(...)`."
    )
    return ParseError(f"unknown function `{_snip(name)}`: {hint} Allowed functions: {', '.join(FUNCTIONS)}.")


def _finish(value, text: str):
    """Reject results outside the real numbers (``1/0`` → zoo, ``sqrt(-1)`` → I)."""
    entries = list(value) if isinstance(value, sp.MatrixBase) else [value]
    for entry in entries:
        if entry.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise ParseError(f"`{_snip(text)}` is infinite or undefined (a division by zero or log(0)).")
        if entry.has(sp.I):
            raise ParseError(f"`{_snip(text)}` is not real; expressions are real-valued.")
    return value


def _precheck(text, what: str = "expression") -> str:
    if not isinstance(text, str):
        raise ParseError(f"the {what} must be a string, got {type(text).__name__} {_snip(repr(text))}.")
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


# ------------------------------------------------------------ text front end

_OPERATORS = {
    ast.Add: lambda a, b, w: _arith(lambda x, y: x + y, a, b, w),
    ast.Sub: lambda a, b, w: _arith(lambda x, y: x - y, a, b, w),
    ast.Mult: lambda a, b, w: _arith(lambda x, y: x * y, a, b, w),
    ast.Div: _div,
    ast.Pow: _pow,
}
_NAMED_NODES = {
    ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "`lambda`",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator", ast.JoinedStr: "an f-string", ast.FormattedValue: "an f-string",
    ast.Dict: "a dict", ast.Set: "a set", ast.IfExp: "`if … else`", ast.BoolOp: "`and`/`or`",
    ast.NamedExpr: "`:=`", ast.Starred: "`*` unpacking", ast.Await: "`await`", ast.Yield: "`yield`",
    ast.YieldFrom: "`yield`", ast.Slice: "a slice", ast.keyword: "a keyword argument",
    ast.Compare: "a comparison (give it as an assumption)",
}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "="}
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.List,
            ast.Tuple, ast.Load, ast.USub, ast.UAdd, *_OPERATORS)
_ALLOWED_TEXT = "numbers, names, + - * / ** (or ^), calls of the allowed functions, and lists [a, b]"


def _read_python(text: str, compare: bool = False) -> tuple[ast.expr, str]:
    """`ast.parse` the text, then reject every node outside the allow-list
    before anything is built. Only parsing happens here, never compilation."""
    source = text.replace("^", "**")  # ^ is power in mathematics; nothing allowed spells it otherwise
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escapes in string literals, refused below anyway
            tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        where = f" at column {err.offset}" if err.offset else ""
        raise ParseError(
            f"`{_snip(text)}` is not a valid expression{where} ({err.msg}); write products with `*`, e.g. `2*x`."
        ) from None
    except (ValueError, RecursionError, MemoryError):
        raise ParseError(f"`{_snip(text)}` cannot be read as an expression (too deeply nested or malformed).") from None

    allowed = _ALLOWED + ((ast.Compare, *_COMPARE) if compare else ())
    count = 0
    queue = collections.deque([(tree, 0)])  # breadth first: the outermost offence is the one reported
    while queue:
        node, depth = queue.popleft()
        if not isinstance(node, allowed):
            piece = ast.get_source_segment(source, node) if hasattr(node, "lineno") else None
            raise ParseError(_refusal(node, piece))
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, (int, float))):
            kind = "a string" if isinstance(node.value, (str, bytes)) else f"the literal {_snip(repr(node.value))}"
            raise ParseError(f"{kind} is not allowed in an expression; allowed: {_ALLOWED_TEXT}.")
        if isinstance(node, ast.Call) and node.keywords:
            raise ParseError(f"keyword arguments are not allowed: `{_snip(ast.get_source_segment(source, node) or '')}`.")
        if isinstance(node, ast.expr):
            count += 1
            if count > MAX_NODES:
                raise ParseError(f"the expression has more than {MAX_NODES} parts; split it up.")
            if depth > MAX_DEPTH:
                raise ParseError(f"the expression is nested more than {MAX_DEPTH} deep.")
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in CONSTANTS:
            _symbol(node.id)  # refuses dunders and other odd names before anything is built
        for child in ast.iter_child_nodes(node):
            # a + b + c nests to the left in the tree; a long sum is long, not deep
            chained = isinstance(node, ast.BinOp) and child is node.left and _chain(child) == _chain(node)
            queue.append((child, depth if chained else depth + 1))
    return tree.body, source


def _chain(node: ast.AST):
    """Operators that fold left to right in one chain: additive or multiplicative."""
    if isinstance(node, ast.BinOp):
        return {ast.Add: "+", ast.Sub: "+", ast.Mult: "*", ast.Div: "*"}.get(type(node.op))
    return None


def _refusal(node: ast.AST, piece: str | None) -> str:
    if isinstance(node, ast.operator | ast.unaryop | ast.cmpop):
        symbol = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
                  ast.LShift: "<<", ast.RShift: ">>", ast.Not: "not", ast.Invert: "~", ast.NotEq: "!=",
                  ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}.get(type(node), type(node).__name__)
        return f"operator `{symbol}` is not allowed; allowed: {_ALLOWED_TEXT}."
    what = _NAMED_NODES.get(type(node), f"`{type(node).__name__}`")
    shown = f": `{_snip(piece)}`" if piece else ""
    return f"{what} is not allowed{shown}. Allowed: {_ALLOWED_TEXT}."


def _build_python(node: ast.expr, source: str):
    where = ast.get_source_segment(source, node) or ""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, int):
            return _number(str(node.value))
        if not math.isfinite(node.value):
            raise ParseError(f"number `{_snip(where)}` is too large.")
        try:  # the digits as written: 3.14159265358979323846 keeps more than a float holds
            Fraction(where)
            return _number(where)
        except ValueError:  # 1_000.5 and the like: the float is exact enough
            return _number(repr(node.value))
    if isinstance(node, ast.Name):
        return _symbol(node.id)
    if isinstance(node, ast.UnaryOp):
        operand = _build_python(node.operand, source)
        return _arith(lambda a, _: -a, operand, None, where) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        # walk down a chain (a + b - c ...) iteratively, then fold it from the left
        spine = [node]
        while _chain(spine[-1].left) is not None and _chain(spine[-1].left) == _chain(node):
            spine.append(spine[-1].left)
        value = _build_python(spine[-1].left, source)
        for link in reversed(spine):
            build = _OPERATORS[type(link.op)]
            value = build(value, _build_python(link.right, source), ast.get_source_segment(source, link) or "")
        return value
    if isinstance(node, ast.List | ast.Tuple):
        return _column([_build_python(item, source) for item in node.elts], where)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ParseError(f"only named functions can be called: `{_snip(where)}`.")
        if node.func.id not in FUNCTIONS:
            raise _unknown_function(node.func.id)
        return _call(node.func.id, [_build_python(arg, source) for arg in node.args], where)
    raise ParseError(_refusal(node, where))  # unreachable after _read_python; kept as a guard


# ----------------------------------------------------------- LaTeX front end

_TOKEN = re.compile(
    r"(?P<space>\s+|~|\\[,;:! ]|\\q?quad\b|\\displaystyle\b|\\textstyle\b)"
    r"|(?P<size>\\(?:left|right|[bB]igg?[lr]?)(?![A-Za-z]))"
    r"|(?P<cmd>\\[A-Za-z]+)"
    r"|(?P<num>\d+(?:\.\d+)?|\.\d+)"
    r"|(?P<letter>[A-Za-z])"
    r"|(?P<op>[-+*/^_()\[\]{}|,=<>])"
)
_GREEK = frozenset(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi rho sigma tau upsilon "
    "phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split()
)
_GREEK_ALIASES = {"varepsilon": "epsilon", "vartheta": "theta", "varrho": "rho", "varphi": "phi", "varsigma": "sigma"}
_LATEX_FUNCTIONS = {
    "exp": "exp", "log": "log", "ln": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
}
_TIMES = ("*", r"\cdot", r"\times")
_OVER = ("/", r"\div")
_RELATIONS = {"=": "=", "<": "<", ">": ">", r"\lt": "<", r"\gt": ">", r"\le": "<=", r"\leq": "<=",
              r"\leqslant": "<=", r"\ge": ">=", r"\geq": ">=", r"\geqslant": ">="}
_NAMING = (r"\operatorname", r"\mathrm", r"\mathit", r"\text", r"\textrm", r"\mathbf")


@dataclasses.dataclass(frozen=True, slots=True)
class _Token:
    kind: str      # "cmd", "num", "letter", "op", "end"
    text: str
    start: int
    spaced: bool   # whitespace (or \left) separated it from the previous token


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
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
            tokens.append(_Token(kind, match.group(), match.start(), spaced))
            spaced = False
        position = match.end()
    if len(tokens) > 2 * MAX_NODES:
        raise ParseError(f"the expression has more than {2 * MAX_NODES} LaTeX tokens; split it up.")
    tokens.append(_Token("end", "", len(text), False))
    return tokens


class _Latex:
    """Recursive descent over the tokens; every rule builds through the builder."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    # -- token helpers
    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.peek()
        self.i += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.peek().kind != "end" and self.peek().text in texts

    def expect(self, text: str, context: str) -> _Token:
        if not self.at(text):
            token = self.peek()
            found = f"`{token.text}`" if token.kind != "end" else "the end"
            raise ParseError(f"expected `{text}` {context} at column {token.start + 1} of the LaTeX input, found {found}.")
        return self.take()

    def since(self, start: int) -> str:
        return self.text[start: self.peek().start].strip() or self.text[start:]

    def nest(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"the expression is nested more than {MAX_DEPTH} deep.")

    # -- grammar
    def whole(self):
        value = self.expr()
        if self.peek().kind != "end":
            token = self.peek()
            raise ParseError(f"unexpected `{token.text}` at column {token.start + 1} of the LaTeX input.")
        return value

    def relation(self):
        exprs, ops = [self.expr()], []
        while self.peek().text in _RELATIONS and self.peek().kind in ("op", "cmd"):
            ops.append(_RELATIONS[self.take().text])
            exprs.append(self.expr())
        if self.peek().kind != "end":
            token = self.peek()
            raise ParseError(f"unexpected `{token.text}` at column {token.start + 1} of the LaTeX assumption.")
        return exprs, ops

    def expr(self):
        self.nest()
        start = self.peek().start
        value = self.term()
        while self.at("+", "-"):
            op = self.take().text
            right = self.term()
            value = _arith((lambda a, b: a + b) if op == "+" else (lambda a, b: a - b), value, right, self.since(start))
        self.depth -= 1
        return value

    def term(self):
        start = self.peek().start
        value = self.signed()  # a leading sign belongs to the first factor: -x^2 is -(x^2)
        while True:
            if self.at(*_TIMES):
                self.take()
                value = _arith(lambda a, b: a * b, value, self.signed(), self.since(start))
            elif self.at(*_OVER):
                self.take()
                value = _div(value, self.signed(), self.since(start))
            elif self.starts_factor():
                value = _arith(lambda a, b: a * b, value, self.factor(), self.since(start))
            else:
                return value

    def signed(self):
        if not self.at("-", "+"):
            return self.factor()
        self.nest()
        start = self.peek().start
        negative = self.take().text == "-"
        value = self.signed()
        self.depth -= 1
        return _arith(lambda a, _: -a, value, None, self.since(start)) if negative else value

    def starts_factor(self) -> bool:
        token = self.peek()
        if token.kind in ("num", "letter"):
            return True
        if token.kind == "op":
            return token.text in ("(", "[", "{") or (token.text == "|" and not self.closing_bar)
        return token.kind == "cmd" and token.text not in (*_TIMES, *_OVER, *_RELATIONS)

    closing_bar = False

    def factor(self):
        self.nest()
        start = self.peek().start
        value = self.primary()
        if self.at("^"):
            self.take()
            value = _pow(value, self.script(), self.since(start))
            if self.at("^"):
                raise ParseError(f"double superscript in `{_snip(self.since(start))}`; add braces: `{{x^{{a}}}}^{{b}}`.")
        self.depth -= 1
        return value

    def script(self):
        """The argument of ^, \\frac or \\sqrt: a braced group or one token (``x^2``, ``\\frac12``)."""
        token = self.peek()
        if token.kind == "op" and token.text == "{":
            return self.group()
        if token.kind == "num":
            self.take()
            if len(token.text) > 1:  # TeX takes one character: x^23 is x^2 * 3
                self.tokens.insert(self.i, _Token("num", token.text[1:], token.start + 1, False))
            return _number(token.text[0])
        if token.kind == "letter" or (token.kind == "cmd" and token.text[1:] in (*_GREEK, *_GREEK_ALIASES, "pi")):
            return self.primary(allow_call=False)
        found = f"`{token.text}`" if token.kind != "end" else "the end"
        raise ParseError(
            f"expected a braced group or a single character at column {token.start + 1} of the LaTeX input, "
            f"found {found}; write e.g. `x^{{-1}}`."
        )

    def group(self):
        self.expect("{", "to open a group")
        value = self.expr()
        self.expect("}", "to close the group")
        return value

    def primary(self, allow_call: bool = True):
        token = self.peek()
        if token.kind == "num":
            self.take()
            return _number(token.text)
        if token.kind == "letter":
            return self.letters(allow_call)
        if token.kind == "op":
            if token.text == "(":
                self.take()
                value = self.expr()
                self.expect(")", "to close the parenthesis")
                return value
            if token.text == "{":
                return self.group()
            if token.text == "[":
                return self.listing()
            if token.text == "|":
                self.take()
                outer, self.closing_bar = self.closing_bar, True
                value = self.expr()
                self.closing_bar = outer
                self.expect("|", "to close the absolute value")
                return _call("abs", [value], self.since(token.start))
        if token.kind == "cmd":
            return self.command(allow_call)
        found = f"`{token.text}`" if token.kind != "end" else "the end of the input"
        raise ParseError(f"expected a number, symbol or group at column {token.start + 1} of the LaTeX input, found {found}.")

    def letters(self, allow_call: bool):
        """A letter. Adjacent letters multiply (``pq`` is p·q), except a run that
        spells an allowed function followed by ``(`` (``sigmoid(b)``)."""
        run = ""
        while self.peek(len(run)).kind == "letter" and (not run or not self.peek(len(run)).spaced):
            run += self.peek(len(run)).text
        following = self.peek(len(run))
        if allow_call and len(run) > 1 and run in FUNCTIONS and following.text == "(":
            self.i += len(run)
            return self.arguments(run, self.tokens[self.i - len(run)].start)
        if len(run) > 1 and (run in _GREEK or run in FUNCTIONS or run == "pi"):
            hint = f"\\{run}" if run in _GREEK or run == "pi" else f"\\operatorname{{{run}}}(…)"
            raise ParseError(
                f"`{run}` in LaTeX reads as a product of letters; write `{hint}` "
                f"(or separate the letters with spaces if a product is meant)."
            )
        self.take()
        return self.subscripted(run[0])

    def subscripted(self, name: str):
        if self.at("_"):
            self.take()
            start = self.peek().start
            if self.at("{"):
                self.take()
                parts = []
                while not self.at("}"):
                    token = self.take()
                    if token.kind in ("letter", "num"):
                        parts.append(token.text)
                    elif token.kind == "cmd" and token.text[1:] in (*_GREEK, *_GREEK_ALIASES):
                        parts.append(_GREEK_ALIASES.get(token.text[1:], token.text[1:]))
                    else:
                        raise ParseError(f"subscript `{_snip(self.since(start))}` must be letters and digits, e.g. `w_{{1}}`.")
                self.take()
                sub = "".join(parts)
            else:
                token = self.take()
                if token.kind not in ("letter", "num"):
                    raise ParseError(f"subscript at column {token.start + 1} must be a letter or digit, e.g. `u_0`.")
                sub = token.text[0]
                if len(token.text) > 1:
                    self.i -= 1
                    self.tokens[self.i] = _Token("num", token.text[1:], token.start + 1, False)
            if not sub:
                raise ParseError(f"empty subscript at column {start + 1} of the LaTeX input.")
            name = name + sub if sub.isdigit() else f"{name}_{sub}"
        if name == "e":
            return sp.E
        return _symbol(name)

    def command(self, allow_call: bool):
        token = self.take()
        name = token.text[1:]
        if name == "pi":
            return sp.pi
        if name == "sigma" and allow_call:
            # σ touching a parenthesis is the sigmoid, also as a power: \sigma^{2}\left(b\right)
            saved = self.i
            power = self.power_prefix()
            if self.at("(") and not self.peek().spaced:
                value = _call("sigmoid", [self.parenthesized()], self.since(token.start))
                return value if power is None else _pow(value, power, self.since(token.start))
            self.i = saved
        if name in _GREEK or name in _GREEK_ALIASES:
            return self.subscripted(_GREEK_ALIASES.get(name, name))
        if name in ("frac", "dfrac", "tfrac"):
            return self.fraction(token.start)
        if name == "sqrt":
            if self.at("["):
                self.take()
                index = self.expr()
                self.expect("]", "to close the root's index")
                return _pow(self.script(), _div(sp.Integer(1), index, "root index"), self.since(token.start))
            return _call("sqrt", [self.script()], self.since(token.start))
        if name in _LATEX_FUNCTIONS:
            return self.applied(_LATEX_FUNCTIONS[name], token.start)
        if token.text in _NAMING:
            self.expect("{", f"after `{token.text}`")
            word = ""
            while self.peek().kind in ("letter", "num") or self.at("_"):
                word += self.take().text
            self.expect("}", f"to close `{token.text}{{…}}`")
            if word in FUNCTIONS:
                power = self.power_prefix()
                if not self.at("("):
                    raise ParseError(
                        f"`{word}` is a function: write `{token.text}{{{word}}}(…)` with its arguments in parentheses."
                    )
                value = self.arguments(word, token.start)
                return value if power is None else _pow(value, power, self.since(token.start))
            if word in CONSTANTS:
                return CONSTANTS[word]
            return self.subscripted(word)
        if name == "infty":
            raise ParseError("`\\infty` is not allowed: expressions are finite and real.")
        if name == "begin":
            raise ParseError("matrices are not read from LaTeX; write them as text lists, e.g. `[[a, b], [c, d]]`.")
        close = difflib.get_close_matches(name, [*_GREEK, *_LATEX_FUNCTIONS, "frac", "cdot", "operatorname", "pi"], n=2)
        hint = " did you mean " + " or ".join(f"`\\{c}`" for c in close) + "?" if close else ""
        raise ParseError(f"unknown LaTeX command `{token.text}` at column {token.start + 1}.{hint}")

    def power_prefix(self):
        r"""A power written between a function's name and its argument: ``\sin^{2} x``."""
        if not self.at("^"):
            return None
        self.take()
        return self.script()

    def parenthesized(self):
        self.expect("(", "to open the argument")
        value = self.expr()
        self.expect(")", "to close the argument")
        return value

    def arguments(self, name: str, start: int):
        self.expect("(", f"after `{name}`")
        args = [self.expr()]
        while self.at(","):
            self.take()
            args.append(self.expr())
        self.expect(")", f"to close the arguments of `{name}`")
        return _call(name, args, self.since(start))

    def applied(self, name: str, start: int):
        r"""``\sin x``, ``\sin(x)``, ``\sin{\left(x \right)}``, ``\sin^{2}(x)``."""
        power = self.power_prefix()
        if self.at("("):
            argument = self.parenthesized()
        elif self.at("{"):
            argument = self.group()
        else:  # \sin 2x is sin(2x): the argument runs over adjacent numbers and letters
            argument = self.factor()
            while self.peek().kind in ("num", "letter") or self.peek().text[1:] in (*_GREEK, *_GREEK_ALIASES):
                argument = _arith(lambda a, b: a * b, argument, self.factor(), self.since(start))
        value = _call(name, [argument], self.since(start))
        return value if power is None else _pow(value, power, self.since(start))

    def listing(self):
        start = self.take().start
        items = [self.expr()]
        while self.at(","):
            self.take()
            items.append(self.expr())
        self.expect("]", "to close the list")
        return _column(items, self.since(start))

    def fraction(self, start: int):
        operator = self.derivative_operator()
        if operator is not None:
            variable, order = operator
            operand = self.term()
            if order > MAX_DIFF_ORDER:
                raise ParseError(f"derivative of order {order}; the limit is {MAX_DIFF_ORDER}.")
            return sp.Derivative(operand, (variable, order))
        numerator_first = self.peek(1).text if self.at("{") else None
        numerator = self.script()
        denominator_first = self.peek(1).text if self.at("{") else None
        denominator = self.script()
        if numerator_first == denominator_first == "d":
            raise ParseError(
                f"`{_snip(self.since(start))}` looks like a derivative; write it as an operator, "
                "e.g. `\\frac{d}{dx} f` or `\\frac{d}{dx}\\left(x^2\\right)`."
            )
        return _div(numerator, denominator, self.since(start))

    def derivative_operator(self) -> tuple[sp.Symbol, int] | None:
        r"""``{d}{dx}``, ``{d^{2}}{dx^{2}}``, ``{\partial}{\partial x}``,
        ``{\mathrm{d}}{\mathrm{d}x}`` → (x, order); None for any other fraction."""
        saved = self.i

        def d_mark() -> bool:
            if self.at("d") and self.peek().kind == "letter":
                self.take()
                return True
            if self.at(r"\partial"):
                self.take()
                return True
            upright_d = [self.peek(k).text for k in range(1, 4)] == ["{", "d", "}"]
            if self.at(r"\mathrm", r"\text") and upright_d:
                self.i += 4
                return True
            return False

        def order() -> int:
            if not self.at("^"):
                return 1
            self.take()
            value = self.script()
            if not (isinstance(value, sp.Integer) and value > 0):
                raise ParseError(f"a derivative's order must be a positive integer, got `{value}`.")
            return int(value)

        def opened_by_d() -> bool:
            if not self.at("{"):
                return False
            self.take()
            return d_mark()

        if not opened_by_d():
            self.i = saved
            return None
        n = order()
        if not self.at("}"):
            self.i = saved
            return None
        self.take()
        if not opened_by_d():
            self.i = saved
            return None
        variable = self.primary(allow_call=False)
        if not isinstance(variable, sp.Symbol):
            raise ParseError(f"a derivative is taken with respect to a symbol, got `{variable}`.")
        m = order()
        self.expect("}", "to close the derivative's denominator")
        if m != n:
            raise ParseError(f"derivative orders differ: d^{n} over d{variable}^{m}.")
        return variable, n


# ------------------------------------------------------------------ the API

def parse(text: str, *, latex: bool = False):
    r"""Read user text into a SymPy expression or matrix, without executing it.

    ``latex=False`` reads Python syntax (``ntvar(sigmoid(b), [b])``,
    ``p**2*(1-p)**2``, ``x^2``); ``latex=True`` reads LaTeX (``e^{x}``,
    ``\frac{1}{1+e^{-b}}``, ``\sigma(b)``). Raises `ParseError` (one line, naming
    the offending piece) for anything outside the allowed vocabulary, and
    `ShapeError` for arithmetic between a matrix and a scalar that is not defined.
    """
    text = _precheck(text)
    try:
        if latex:
            value = _Latex(_strip_dollars(text)).whole()
        else:
            node, source = _read_python(text)
            value = _build_python(node, source)
    except PricesymError:
        raise
    except RecursionError:
        raise ParseError(f"`{_snip(text)}` is nested too deeply.") from None
    except Exception as err:  # a SymPy failure on odd but allowed input; keep it one line
        raise ParseError(f"cannot read `{_snip(text)}`: {type(err).__name__}: {_snip(str(err), 80)}.") from None
    return _finish(value, text)


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
            raise ParseError(f"the assumption `{_snip(self.text)}` leaves no value for `{self.symbol}`.")

    def __str__(self) -> str:
        return self.text

    def latex(self) -> str:
        from ._latex import latex

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
    text = _precheck(text, "assumption")
    kind = re.fullmatch(r"\s*([A-Za-z][A-Za-z0-9_]*)\s+(?:is\s+)?([a-z]+)\s*", text)
    if kind:
        name, word = kind.groups()
        if word not in _KINDS:
            close = difflib.get_close_matches(word, _KINDS, n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            raise ParseError(f"unknown kind `{word}` in `{_snip(text)}`: {hint}allowed: {', '.join(_KINDS)}.")
        symbol = _symbol(name)
        if not isinstance(symbol, sp.Symbol):
            raise ParseError(f"`{name}` is a constant; assumptions are about symbols.")
        bounds = {"positive": {"lower": 0.0, "lower_strict": True}, "negative": {"upper": 0.0, "upper_strict": True},
                  "nonnegative": {"lower": 0.0}, "integer": {"integer": True}, "real": {}}[word]
        return Assumption(text=text.strip(), symbol=symbol, **bounds)
    try:
        if latex:
            exprs, ops = _Latex(_strip_dollars(text)).relation()
        else:
            node, source = _read_python(re.sub(r"(?<![<>=!])=(?!=)", "==", text), compare=True)
            if not isinstance(node, ast.Compare):
                raise ParseError(
                    f"`{_snip(text)}` is not an assumption: write `p = sigmoid(b)`, `0 < p < 1`, `x > 0` or `x positive`."
                )
            exprs = [_build_python(part, source) for part in (node.left, *node.comparators)]
            ops = [_COMPARE[type(op)] for op in node.ops]
    except PricesymError:
        raise
    except RecursionError:
        raise ParseError(f"the assumption `{_snip(text)}` is nested too deeply.") from None
    except Exception as err:
        raise ParseError(f"cannot read the assumption `{_snip(text)}`: {type(err).__name__}.") from None
    for value in exprs:
        _finish(value, text)
    return _assumption(text.strip(), exprs, ops)


def _assumption(text: str, exprs: list, ops: list[str]) -> Assumption:
    if not ops:
        raise ParseError(f"`{_snip(text)}` is not an assumption: write `p = sigmoid(b)`, `0 < p < 1`, `x > 0` or `x positive`.")
    if "=" in ops:
        if ops != ["="]:
            raise ParseError(f"`{_snip(text)}` mixes `=` with inequalities; give them as separate assumptions.")
        left, right = exprs
        if not isinstance(left, sp.Symbol) and isinstance(right, sp.Symbol):
            left, right = right, left
        if not isinstance(left, sp.Symbol):
            raise ParseError(f"`{_snip(text)}` must define a symbol: write `p = sigmoid(b)` with the symbol on the left.")
        if isinstance(right, sp.MatrixBase) or right.has(left):
            raise ParseError(f"`{_snip(text)}` must define `{left}` by a scalar expression that does not contain `{left}`.")
        return Assumption(text=text, symbol=left, definition=right)
    symbol, bounds = None, {}
    for (a, b), op in zip(zip(exprs, exprs[1:]), ops):
        if op in (">", ">="):
            a, b, op = b, a, op.replace(">", "<")
        strict = op == "<"
        # now a < b (or <=): exactly one side is the symbol, the other a number
        if isinstance(b, sp.Symbol) and _constant(a) is not None:
            this, side, value = b, "lower", _constant(a)
        elif isinstance(a, sp.Symbol) and _constant(b) is not None:
            this, side, value = a, "upper", _constant(b)
        else:
            raise ParseError(
                f"`{_snip(text)}`: an inequality bounds one symbol by numbers, e.g. `0 < p < 1` or `x >= 1`."
            )
        if symbol is not None and this != symbol:
            raise ParseError(f"`{_snip(text)}` bounds both `{symbol}` and `{this}`; give one assumption per symbol.")
        if side in bounds:
            raise ParseError(f"`{_snip(text)}` gives two {side} bounds for `{this}`.")
        symbol, bounds[side], bounds[f"{side}_strict"] = this, value, strict
    return Assumption(text=text, symbol=symbol, **bounds)


def _constant(value) -> float | None:
    if isinstance(value, sp.MatrixBase) or value.free_symbols:
        return None
    number = float(value.evalf(20))
    return number if math.isfinite(number) else None


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

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_MatrixBase(self, expr):
        if expr.cols == 1:
            return self._print_list(list(expr))
        return "[" + ", ".join(self._print_list(list(expr.row(i))) for i in range(expr.rows)) + "]"

    _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _print_MatrixBase


def to_text(expr) -> str:
    """The text form of a SymPy object, in the syntax `parse` reads."""
    return _TextPrinter().doprint(expr)
