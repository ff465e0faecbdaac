r"""The LaTeX front end of `ps.parse`: a recursive-descent reader of the notation
pricesym itself prints. Every rule builds through `build`."""

from __future__ import annotations

import difflib

import sympy as sp

from .._errors import ParseError
from .build import (
    CONSTANTS,
    FUNCTIONS,
    GREEK,
    MAX_DEPTH,
    MAX_DIFF_ORDER,
    arith,
    call,
    column,
    divide,
    function_for_word,
    number,
    power,
    snip,
    symbol,
)
from .tokens import GREEK_ALIASES, LATEX_FUNCTIONS, NAMING, OVER, RELATIONS, TIMES, Token, tokenize

__all__ = ["LatexReader"]

class LatexReader:
    """Recursive descent over the tokens; every rule builds through the builder."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # -- token helpers
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.peek().kind != "end" and self.peek().text in texts

    def expect(self, text: str, context: str) -> Token:
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
        while self.peek().text in RELATIONS and self.peek().kind in ("op", "cmd"):
            ops.append(RELATIONS[self.take().text])
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
            value = arith((lambda a, b: a + b) if op == "+" else (lambda a, b: a - b), value, right, self.since(start))
        self.depth -= 1
        return value

    def term(self):
        start = self.peek().start
        value = self.signed()  # a leading sign belongs to the first factor: -x^2 is -(x^2)
        while True:
            if self.at(*TIMES):
                self.take()
                value = arith(lambda a, b: a * b, value, self.signed(), self.since(start))
            elif self.at(*OVER):
                self.take()
                value = divide(value, self.signed(), self.since(start))
            elif self.starts_factor():
                value = arith(lambda a, b: a * b, value, self.factor(), self.since(start))
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
        return arith(lambda a, _: -a, value, None, self.since(start)) if negative else value

    def starts_factor(self) -> bool:
        token = self.peek()
        if token.kind in ("num", "letter"):
            return True
        if token.kind == "op":
            return token.text in ("(", "[", "{") or (token.text == "|" and not self.closing_bar)
        return token.kind == "cmd" and token.text not in (*TIMES, *OVER, *RELATIONS)

    closing_bar = False

    def factor(self):
        self.nest()
        start = self.peek().start
        value = self.primary()
        if self.at("^"):
            self.take()
            value = power(value, self.script(), self.since(start))
            if self.at("^"):
                raise ParseError(f"double superscript in `{snip(self.since(start))}`; add braces: `{{x^{{a}}}}^{{b}}`.")
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
                self.tokens.insert(self.i, Token("num", token.text[1:], token.start + 1, False))
            return number(token.text[0])
        if token.kind == "letter" or (token.kind == "cmd" and token.text[1:] in (*GREEK, *GREEK_ALIASES, "pi")):
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
            return number(token.text)
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
                return call("abs", [value], self.since(token.start))
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
        if len(run) > 1 and (run in GREEK or run in FUNCTIONS or run == "pi"):
            hint = f"\\{run}" if run in GREEK or run == "pi" else f"\\operatorname{{{run}}}(…)"
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
                    elif token.kind == "cmd" and token.text[1:] in (*GREEK, *GREEK_ALIASES):
                        parts.append(GREEK_ALIASES.get(token.text[1:], token.text[1:]))
                    else:
                        raise ParseError(f"subscript `{snip(self.since(start))}` must be letters and digits, e.g. `w_{{1}}`.")
                self.take()
                sub = "".join(parts)
            else:
                token = self.take()
                if token.kind not in ("letter", "num"):
                    raise ParseError(f"subscript at column {token.start + 1} must be a letter or digit, e.g. `u_0`.")
                sub = token.text[0]
                if len(token.text) > 1:
                    self.i -= 1
                    self.tokens[self.i] = Token("num", token.text[1:], token.start + 1, False)
            if not sub:
                raise ParseError(f"empty subscript at column {start + 1} of the LaTeX input.")
            name = name + sub if sub.isdigit() else f"{name}_{sub}"
        if name == "e":
            return sp.E
        return symbol(name)

    def command(self, allow_call: bool):
        token = self.take()
        name = token.text[1:]
        if name == "pi":
            return sp.pi
        if name == "sigma" and allow_call:
            # σ touching a parenthesis is the sigmoid, also as a power: \sigma^{2}\left(b\right)
            saved = self.i
            exponent = self.power_prefix()
            if self.at("(") and not self.peek().spaced:
                value = call("sigmoid", [self.parenthesized()], self.since(token.start))
                return value if exponent is None else power(value, exponent, self.since(token.start))
            self.i = saved
        if name in GREEK or name in GREEK_ALIASES:
            return self.subscripted(GREEK_ALIASES.get(name, name))
        if name in ("frac", "dfrac", "tfrac"):
            return self.fraction(token.start)
        if name == "sqrt":
            if self.at("["):
                self.take()
                index = self.expr()
                self.expect("]", "to close the root's index")
                return power(self.script(), divide(sp.Integer(1), index, "root index"), self.since(token.start))
            return call("sqrt", [self.script()], self.since(token.start))
        if name in LATEX_FUNCTIONS:
            return self.applied(LATEX_FUNCTIONS[name], token.start)
        if token.text in NAMING:
            self.expect("{", f"after `{token.text}`")
            word = ""
            while self.peek().kind in ("letter", "num") or self.at("_"):
                word += self.take().text
            self.expect("}", f"to close `{token.text}{{…}}`")
            named = function_for_word(word)
            if named is not None:
                word = named
                exponent = self.power_prefix()
                if self.at("{"):  # SymPy prints \operatorname{erf}{\left(x \right)}
                    value = call(word, [self.group()], self.since(token.start))
                elif self.at("("):
                    value = self.arguments(word, token.start)
                    if isinstance(value, sp.MatrixBase) and self.at("_"):  # softmax(...)_{i}: component i
                        self.take()
                        index = self.script()
                        if not (isinstance(index, sp.Integer) and 0 <= index < len(value)):
                            raise ParseError(f"component `{index}` of `{word}` must be an integer from 0 to {len(value) - 1}.")
                        value = value[int(index)]
                else:
                    raise ParseError(
                        f"`{word}` is a function: write `{token.text}{{{word}}}(…)` with its arguments in parentheses."
                    )
                return value if exponent is None else power(value, exponent, self.since(token.start))
            if word in CONSTANTS:
                return CONSTANTS[word]
            if token.text == r"\operatorname" and self.at("("):
                raise ParseError(
                    f"unknown function `\\operatorname{{{snip(word)}}}` at column {token.start + 1}; known: "
                    f"{', '.join(FUNCTIONS)}."
                )
            return self.subscripted(word)
        if name == "infty":
            raise ParseError("`\\infty` is not allowed: expressions are finite and real.")
        if name == "begin":
            raise ParseError("matrices are not read from LaTeX; write them as text lists, e.g. `[[a, b], [c, d]]`.")
        close = difflib.get_close_matches(name, [*GREEK, *LATEX_FUNCTIONS, "frac", "cdot", "operatorname", "pi"], n=2)
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
        return call(name, args, self.since(start))

    def applied(self, name: str, start: int):
        r"""``\sin x``, ``\sin(x)``, ``\sin{\left(x \right)}``, ``\sin^{2}(x)``."""
        exponent = self.power_prefix()
        if self.at("("):
            argument = self.parenthesized()
        elif self.at("{"):
            argument = self.group()
        else:  # \sin 2x is sin(2x): the argument runs over adjacent numbers and letters
            argument = self.factor()
            while self.peek().kind in ("num", "letter") or self.peek().text[1:] in (*GREEK, *GREEK_ALIASES):
                argument = arith(lambda a, b: a * b, argument, self.factor(), self.since(start))
        value = call(name, [argument], self.since(start))
        return value if exponent is None else power(value, exponent, self.since(start))

    def listing(self):
        start = self.take().start
        items = [self.expr()]
        while self.at(","):
            self.take()
            items.append(self.expr())
        self.expect("]", "to close the list")
        return column(items, self.since(start))

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
                f"`{snip(self.since(start))}` looks like a derivative; write it as an operator, "
                "e.g. `\\frac{d}{dx} f` or `\\frac{d}{dx}\\left(x^2\\right)`."
            )
        return divide(numerator, denominator, self.since(start))

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
