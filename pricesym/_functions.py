"""Functions whose derivatives are written through themselves.

Differentiating ``sigmoid(b)`` gives ``sigmoid(b)*(1 - sigmoid(b))`` rather than a
quotient of exponentials, so results stay in observables (p(1-p), not
cosh(b/2)**-4). `in_terms_of` then renames the function values (p = sigmoid(b))
and rewrites any leftover parameter through the inverse link (b = logit p).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import singledispatch

import sympy as sp

from ._errors import NotSupportedError

__all__ = ["sigmoid", "logit", "Softmax", "softmax", "in_terms_of"]


class sigmoid(sp.Function):  # noqa: N801 - SymPy functions are lower case
    r"""The logistic function :math:`\sigma(z) = 1/(1+e^{-z})`, with
    :math:`\sigma'(z) = \sigma(z)(1-\sigma(z))`."""

    nargs = 1

    def fdiff(self, argindex=1):
        return self * (1 - self)

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.Half
        if isinstance(z, logit):
            return z.args[0]
        if z.is_Float:
            return 1 / (1 + sp.exp(-z))
        if z.could_extract_minus_sign():
            return 1 - cls(-z)
        return None

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return True if self.args[0].is_real else None

    def _latex(self, printer):
        return r"\sigma\left(%s\right)" % printer._print(self.args[0])


class logit(sp.Function):  # noqa: N801
    r"""The inverse of the sigmoid, :math:`\operatorname{logit}(p) = \ln\frac{p}{1-p}`."""

    nargs = 1

    def fdiff(self, argindex=1):
        p = self.args[0]
        return 1 / (p * (1 - p))

    @classmethod
    def eval(cls, p):
        if isinstance(p, sigmoid):
            return p.args[0]
        if p == sp.S.Half:
            return sp.S.Zero
        if p.is_Float:
            return sp.log(p / (1 - p))
        return None

    def _eval_rewrite_as_log(self, p, **kwargs):
        return sp.log(p / (1 - p))

    def _latex(self, printer):
        return r"\operatorname{logit}\left(%s\right)" % printer._print(self.args[0])


class Softmax(sp.Function):
    r"""Component ``i`` of the softmax of the logits ``(θ_0, …, θ_{k-1})``:
    :math:`\pi_i = e^{\theta_i}/\sum_j e^{\theta_j}`, with
    :math:`\partial\pi_i/\partial\theta_j = \pi_i(\delta_{ij} - \pi_j)`.

    Arguments are ``(i, θ_0, …, θ_{k-1})`` with ``i`` a 0-based integer."""

    @classmethod
    def eval(cls, i, *logits):
        if not (i.is_Integer and 0 <= int(i) < len(logits)):
            raise NotSupportedError(
                f"`Softmax` index {i!r} must be an integer in [0, {len(logits)}); "
                "build components with `ps.softmax(logits)`."
            )
        return None

    def fdiff(self, argindex=1):
        if argindex == 1:
            raise NotSupportedError("`Softmax` is not differentiable in its index.")
        i = int(self.args[0])
        j = argindex - 2
        logits = self.args[1:]
        pi_j = Softmax(j, *logits)
        return self * ((1 if i == j else 0) - pi_j)

    def _eval_rewrite_as_exp(self, i, *logits, **kwargs):
        return sp.exp(logits[int(i)]) / sp.Add(*[sp.exp(t) for t in logits])

    def _eval_is_positive(self):
        return True if all(t.is_real for t in self.args[1:]) else None

    def _latex(self, printer):
        logits = ", ".join(printer._print(t) for t in self.args[1:])
        return r"\operatorname{softmax}\left(%s\right)_{%d}" % (logits, int(self.args[0]))


def softmax(logits) -> sp.ImmutableMatrix:
    """The softmax of a sequence of logits, as a column of `Softmax` components."""
    logits = list(logits)
    return sp.ImmutableMatrix([Softmax(i, *logits) for i in range(len(logits))])


@singledispatch
def _inverse(fn: sp.Function, value: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """``(argument, expression)`` such that ``fn(argument) = value`` means
    ``argument = expression``. One rule per function class; add one with
    ``@_inverse.register``."""
    raise NotSupportedError(
        f"no inverse rule for {type(fn).__name__!r}; register one with "
        "`pricesym._functions._inverse.register`."
    )


@_inverse.register
def _(fn: sigmoid, value):
    return fn.args[0], sp.log(value / (1 - value))


@_inverse.register
def _(fn: sp.tanh, value):
    return fn.args[0], sp.atanh(value)


@_inverse.register
def _(fn: sp.exp, value):
    return fn.args[0], sp.log(value)


def in_terms_of(expr, observables: Mapping[sp.Symbol, sp.Expr]):
    """Rewrite ``expr`` through observables, e.g. ``{p: sigmoid(b)}``.

    Each occurrence of the defining expression becomes the observable's symbol;
    where the definition is an invertible function of a single symbol (sigmoid,
    tanh, exp), leftover occurrences of that symbol are replaced through the
    inverse (b → log(p/(1-p))), so exp(b) becomes p/(1-p). The result is
    factored term by term; `sympy.simplify` is never called.
    """
    expr = sp.sympify(expr) if not isinstance(expr, sp.Basic) else expr
    forward = {definition: symbol for symbol, definition in observables.items()}
    out = expr.xreplace(forward)
    for symbol, definition in observables.items():
        if isinstance(definition, sp.Function) and definition.args[0].is_Symbol:
            try:
                arg, inverse = _inverse(definition, symbol)
            except NotSupportedError:
                continue
            if out.has(arg):
                out = out.rewrite(sp.exp).xreplace(forward).subs(arg, inverse)
    if isinstance(out, sp.MatrixBase):
        return out.applyfunc(_tidy)
    return _tidy(out)


def _tidy(expr):
    """Factor, and write factors with a leading minus the other way round:
    ``-2*p*(p - 1)`` becomes ``2*p*(1 - p)``."""
    expr = sp.factor(sp.cancel(expr))
    if not isinstance(expr, sp.Mul):
        return expr
    sign, factors = 1, []
    for f in expr.args:
        base, exp = f.as_base_exp()
        if isinstance(base, sp.Add) and base.as_coeff_add()[0].is_negative and exp.is_Integer:
            sign *= -1 if int(exp) % 2 else 1
            factors.append((-base) ** exp)
        else:
            factors.append(f)
    return sp.Mul(sign, *factors)
