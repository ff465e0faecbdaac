"""The text front end of `ps.parse`: Python syntax read by `ast.parse` and walked
with an allow-list of node types; nothing is compiled or executed."""

from __future__ import annotations

import ast
import collections
import math
import warnings

from .._errors import ParseError
from .build import (
    CONSTANTS,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_NODES,
    arith,
    call,
    column,
    divide,
    number,
    power,
    snip,
    symbol,
    unknown_function,
)

__all__ = ["read_python", "build_python", "COMPARE"]

_OPERATORS = {
    ast.Add: lambda a, b, w: arith(lambda x, y: x + y, a, b, w),
    ast.Sub: lambda a, b, w: arith(lambda x, y: x - y, a, b, w),
    ast.Mult: lambda a, b, w: arith(lambda x, y: x * y, a, b, w),
    ast.Div: divide,
    ast.Pow: power,
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
COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "="}
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.List,
            ast.Tuple, ast.Load, ast.USub, ast.UAdd, *_OPERATORS)
_ALLOWED_TEXT = "numbers, names, + - * / ** (or ^), calls of the allowed functions, and lists [a, b]"


def read_python(text: str, compare: bool = False) -> tuple[ast.expr, str]:
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
            f"`{snip(text)}` is not a valid expression{where} ({err.msg}); write products with `*`, e.g. `2*x`."
        ) from None
    except (ValueError, RecursionError, MemoryError):
        raise ParseError(f"`{snip(text)}` cannot be read as an expression (too deeply nested or malformed).") from None

    allowed = _ALLOWED + ((ast.Compare, *COMPARE) if compare else ())
    count = 0
    # breadth first: the outermost offence is the one reported
    queue: collections.deque[tuple[ast.AST, int]] = collections.deque([(tree, 0)])
    while queue:
        node, depth = queue.popleft()
        if not isinstance(node, allowed):
            piece = ast.get_source_segment(source, node) if hasattr(node, "lineno") else None
            raise ParseError(_refusal(node, piece))
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, (int, float))):
            kind = "a string" if isinstance(node.value, (str, bytes)) else f"the literal {snip(repr(node.value))}"
            raise ParseError(f"{kind} is not allowed in an expression; allowed: {_ALLOWED_TEXT}.")
        if isinstance(node, ast.Call) and node.keywords:
            raise ParseError(f"keyword arguments are not allowed: `{snip(ast.get_source_segment(source, node) or '')}`.")
        if isinstance(node, ast.expr):
            count += 1
            if count > MAX_NODES:
                raise ParseError(f"the expression has more than {MAX_NODES} parts; split it up.")
            if depth > MAX_DEPTH:
                raise ParseError(f"the expression is nested more than {MAX_DEPTH} deep.")
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in CONSTANTS:
            symbol(node.id)  # refuses dunders and other odd names before anything is built
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
    shown = f": `{snip(piece)}`" if piece else ""
    return f"{what} is not allowed{shown}. Allowed: {_ALLOWED_TEXT}."


def build_python(node: ast.expr, source: str):
    where = ast.get_source_segment(source, node) or ""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, int):
            return number(str(node.value))
        if not isinstance(node.value, float) or not math.isfinite(node.value):
            raise ParseError(f"number `{snip(where)}` is too large.")
        # the digits as written (3.14159265358979323846 keeps more than a float holds), size-checked
        # before anything is built: 1e-1000000000 is refused, not turned into a billion-digit integer
        return number(where if where else repr(node.value))
    if isinstance(node, ast.Name):
        return symbol(node.id)
    if isinstance(node, ast.UnaryOp):
        operand = build_python(node.operand, source)
        return arith(lambda a, _: -a, operand, None, where) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        # walk down a chain (a + b - c ...) iteratively, then fold it from the left
        spine: list[ast.BinOp] = [node]
        while _chain(spine[-1].left) is not None and _chain(spine[-1].left) == _chain(node):
            spine.append(spine[-1].left)  # type: ignore[arg-type]  # a BinOp: _chain said so
        value = build_python(spine[-1].left, source)
        for link in reversed(spine):
            build = _OPERATORS[type(link.op)]
            value = build(value, build_python(link.right, source), ast.get_source_segment(source, link) or "")
        return value
    if isinstance(node, ast.List | ast.Tuple):
        return column([build_python(item, source) for item in node.elts], where)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ParseError(f"only named functions can be called: `{snip(where)}`.")
        if node.func.id not in FUNCTIONS:
            raise unknown_function(node.func.id)
        return call(node.func.id, [build_python(arg, source) for arg in node.args], where)
    raise ParseError(_refusal(node, where))  # unreachable after _read_python; kept as a guard
