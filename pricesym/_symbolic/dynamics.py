r"""Training dynamics beyond gradient flow.

Price's equation for networks, :math:`\dot x = \operatorname{ntcov}(x, U)`,
describes exact, continuous-time, full-batch gradients. The functions here give
the terms that idealisation leaves out, symbolically:

* a discrete step :math:`w^+ = w + \eta\nabla U` moves a property by the Taylor
  series along the step (`gd_step_series`), the flow for time :math:`\eta` by the
  Lie series (`flow_series`); their difference starts at :math:`\eta^2`
  (`gd_minus_flow`);
* backward error analysis: the step follows the flow of a modified loss
  (`modified_loss`);
* minibatches add noise with covariance :math:`\Sigma/B`, times the finite-population
  factor without replacement (`minibatch_covariance`);
* on a quadratic loss the noise settles into a stationary covariance, given by a
  Lyapunov equation (`lyapunov_stationary`, SDE and exact discrete forms).

Everything is SymPy with targeted rewrites (`expand`, `cancel`, `factor`), never
`simplify`. References: Barrett & Dherin (2021); Li, Tai & E (2017); Mandt,
Hoffman & Blei (2017).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import sympy as sp

from .._cache import kept
from .._errors import AssumptionError, ShapeError
from .tangent import _column, _params
from .tidy import tidy

__all__ = [
    "ETA",
    "Stationary",
    "flow_series",
    "gd_minus_flow",
    "gd_step_series",
    "lyapunov_stationary",
    "minibatch_covariance",
    "modified_loss",
    "series_coefficients",
]

#: The learning rate, as CATALOGUE.md names it.
ETA = sp.Symbol("eta", positive=True)


# ----------------------------------------------------------------------------- validation


def _check_order(order) -> int:
    if isinstance(order, bool) or not isinstance(order, (numbers.Integral, sp.Integer)) or int(order) < 1:
        raise AssumptionError(
            f"`order` must be an integer >= 1 (the highest power of eta kept), got {order!r}."
        )
    return int(order)


def _check_eta(eta) -> sp.Expr:
    """``eta`` as a SymPy expression that is not known to be <= 0."""
    if eta is None:
        return ETA
    if isinstance(eta, bool) or not isinstance(eta, (numbers.Real, sp.Expr)):
        raise AssumptionError(
            f"`eta` must be a positive number or a SymPy symbol (e.g. `sympy.Symbol('eta', positive=True)`), "
            f"got {eta!r}."
        )
    value = sp.sympify(eta)  # a number or a SymPy expression here, never user text
    if value.is_positive is False or (value.is_number and not value.is_positive):
        raise AssumptionError(f"`eta` must be > 0 (a learning rate), got {eta!r}.")
    return value


def _check_scalar(name: str, value) -> sp.Expr:
    expr, scalar = _column(value)
    if not scalar:
        raise ShapeError(f"`{name}` must be a scalar expression, got a vector of length {expr.rows}: {value!r}.")
    return expr[0, 0]


def _property(x):
    """A scalar property, or a vector of them (each entry handled alike)."""
    col, scalar = _column(x)
    return list(col), scalar


def _assemble(parts: list[sp.Expr], scalar: bool):
    return parts[0] if scalar else sp.ImmutableMatrix(parts)


# ----------------------------------------------------------------------------- finite steps


def _taylor_coefficients(x: sp.Expr, U: sp.Expr, params: list, order: int) -> list[sp.Expr]:
    r""":math:`[D^k x[\nabla U, \dots, \nabla U]]_{k=1..order}`, the direction held fixed.

    The direction is a tuple of dummies while differentiating (it must not be
    differentiated: the step is a straight line), replaced by ∇U at the end."""
    d = [sp.Dummy(f"d{i}") for i in range(len(params))]
    grad_u = [sp.diff(U, p) for p in params]
    out, cur = [], x
    for _ in range(order):
        cur = sp.Add(*[di * sp.diff(cur, p) for di, p in zip(d, params)])
        out.append(cur.xreplace(dict(zip(d, grad_u))))
    return out


@kept
def _lie_coefficients(x: sp.Expr, U: sp.Expr, params: list, order: int) -> list[sp.Expr]:
    r""":math:`[\mathcal L^k x]_{k=1..order}` with :math:`\mathcal L = \nabla U\cdot\nabla`
    (the field is differentiated too: it changes along the flow)."""
    grad_u = [sp.diff(U, p) for p in params]
    out, cur = [], x
    for _ in range(order):
        cur = sp.Add(*[g * sp.diff(cur, p) for g, p in zip(grad_u, params)])
        out.append(cur)
    return out


def _series(coefficients: list[sp.Expr], eta: sp.Expr) -> sp.Expr:
    return sp.Add(*[eta**k / sp.factorial(k) * c for k, c in enumerate(coefficients, start=1)])


@kept
def series_coefficients(x, U, params, order: int, *, kind: str = "gd") -> list:
    r"""The coefficients :math:`c_k` of :math:`\Delta x = \sum_k \eta^k c_k / k!`.

    ``kind="gd"``: :math:`c_k = D^k x[\nabla U, \dots, \nabla U]` (Taylor along the
    straight step); ``kind="flow"``: :math:`c_k = \mathcal L^k x` (Lie series)."""
    order = _check_order(order)
    params = _params(params)
    U = _check_scalar("U", U)
    if kind not in ("gd", "flow"):
        raise AssumptionError(f"`kind` must be 'gd' or 'flow', got {kind!r}.")
    rule = _taylor_coefficients if kind == "gd" else _lie_coefficients
    xs, scalar = _property(x)
    per_x = [rule(xi, U, params, order) for xi in xs]
    return [_assemble([c[k] for c in per_x], scalar) for k in range(order)]


def gd_step_series(x, U, params, order: int, eta=None):
    r"""Change of ``x`` under one gradient step :math:`w^+ = w + \eta\nabla U`, to
    :math:`O(\eta^{\text{order}})`:

    .. math::
        \Delta x = \sum_{k=1}^{\text{order}} \frac{\eta^k}{k!}\,
        D^k x[\nabla U, \dots, \nabla U] + O(\eta^{\text{order}+1}),

    the Taylor series of :math:`x(w + \eta\nabla U)` along the step. The first term
    is :math:`\eta\operatorname{ntcov}(x, U)`; the second
    :math:`\frac{\eta^2}{2}\nabla U^\top H_x \nabla U`.

    ``x`` is a scalar or vector property, ``U`` the utility (:math:`-L`), ``params``
    the weights, ``eta`` the learning rate (default the symbol ``eta``).
    """
    eta = _check_eta(eta)
    coefficients = series_coefficients(x, U, params, order, kind="gd")
    return _combine(coefficients, eta)


def flow_series(x, U, params, order: int, eta=None):
    r"""Change of ``x`` along the gradient flow :math:`\dot w = \nabla U` over time
    :math:`\eta`, to :math:`O(\eta^{\text{order}})` (the Lie series):

    .. math::
        x(w(\eta)) - x(w(0)) = \sum_{k=1}^{\text{order}} \frac{\eta^k}{k!}\,\mathcal L^k x
        + O(\eta^{\text{order}+1}), \qquad \mathcal L = \nabla U\cdot\nabla .

    The first term is Price's :math:`\eta\operatorname{ntcov}(x, U)`; the second
    :math:`\frac{\eta^2}{2}(\nabla U^\top H_x\nabla U + \nabla x^\top H_U\nabla U)`.
    """
    eta = _check_eta(eta)
    coefficients = series_coefficients(x, U, params, order, kind="flow")
    return _combine(coefficients, eta)


def gd_minus_flow(x, U, params, order: int, eta=None):
    r"""One gradient step minus the flow over the same time :math:`\eta`, to
    :math:`O(\eta^{\text{order}})`:

    .. math::
        \Delta x_{\text{GD}} - \Delta x_{\text{flow}}
        = -\frac{\eta^2}{2}\nabla x^\top H_U \nabla U + O(\eta^3).

    The :math:`\eta` terms cancel exactly; each coefficient is expanded so that
    cancellations are carried out (`expand`, not `simplify`).
    """
    eta = _check_eta(eta)
    gd = series_coefficients(x, U, params, order, kind="gd")
    flow = series_coefficients(x, U, params, order, kind="flow")
    diff = [_expand(g - f) for g, f in zip(gd, flow)]
    return _combine(diff, eta)


def _expand(e):
    return e.applyfunc(sp.expand) if isinstance(e, sp.MatrixBase) else sp.expand(e)


def _combine(coefficients: list, eta: sp.Expr):
    if isinstance(coefficients[0], sp.MatrixBase):
        rows = [[c[i] for c in coefficients] for i in range(coefficients[0].rows)]
        return sp.ImmutableMatrix([_series(r, eta) for r in rows])
    return _series(coefficients, eta)


def modified_loss(L, params, eta=None) -> sp.Expr:
    r"""The loss whose gradient flow one GD step on ``L`` follows to :math:`O(\eta^2)`
    (backward error analysis; Barrett & Dherin 2021):

    .. math:: \tilde L = L + \frac{\eta}{4}\lVert\nabla L\rVert^2 .

    Over one step :math:`w^+ = w - \eta\nabla L` agrees with the flow
    :math:`\dot w = -\nabla\tilde L` at time :math:`\eta` up to :math:`O(\eta^3)`:
    the step's missing :math:`-\frac{\eta^2}{2}H_L\nabla L` is the flow of the
    gradient-norm penalty.
    """
    eta = _check_eta(eta)
    params = _params(params)
    L = _check_scalar("L", L)
    return L + eta / 4 * sp.Add(*[sp.diff(L, p) ** 2 for p in params])


# ----------------------------------------------------------------------------- minibatch noise


def _gradient_rows(per_example_grads) -> list[sp.Matrix]:
    if isinstance(per_example_grads, sp.MatrixBase):
        rows = [per_example_grads.row(i).T for i in range(per_example_grads.rows)]
    else:
        try:
            rows = [_column(g)[0] for g in per_example_grads]
        except TypeError:
            raise ShapeError(
                f"`per_example_grads` must be a sequence of gradient vectors (one per example) or an n×d "
                f"Matrix with one example per row, got {per_example_grads!r}."
            ) from None
    if not rows:
        raise ShapeError("`per_example_grads` is empty: give one gradient vector per example.")
    sizes = {r.rows for r in rows}
    if len(sizes) != 1:
        raise ShapeError(
            f"`per_example_grads` must all have the same length, got lengths {sorted(sizes)!r}."
        )
    return rows


def _check_batch(B, n: int, replace: bool):
    if isinstance(B, sp.Symbol):
        if B.is_positive is False or B.is_integer is False:
            raise AssumptionError(
                f"`B` must be a positive integer (the batch size), got the symbol {B!r} declared otherwise."
            )
        return B
    if isinstance(B, bool) or not isinstance(B, (numbers.Integral, sp.Integer)):
        raise AssumptionError(f"`B` must be an integer batch size or a SymPy symbol, got {B!r}.")
    B = int(B)
    if replace and B < 1:
        raise AssumptionError(f"`B` must be >= 1 (the batch size), got {B!r}.")
    if not replace and not 1 <= B <= n:
        raise AssumptionError(
            f"`B` must be in 1..{n} when sampling without replacement from n = {n} examples, got {B!r}."
        )
    return sp.Integer(B)


def minibatch_covariance(per_example_grads, B, replace: bool = True) -> sp.ImmutableMatrix:
    r"""Covariance of the minibatch mean gradient over a dataset of ``n`` examples.

    With :math:`\bar g = \frac1n\sum_i g_i` and the per-example covariance
    :math:`\Sigma = \frac1n\sum_i (g_i-\bar g)(g_i-\bar g)^\top`:

    .. math::
        \operatorname{Cov}(\hat g_B) = \frac{\Sigma}{B} \quad\text{(with replacement)},
        \qquad
        \operatorname{Cov}(\hat g_B) = \frac{\Sigma}{B}\,\frac{n-B}{n-1}
        \quad\text{(without)}.

    ``per_example_grads``: n gradient vectors (SymPy expressions), or an n×d Matrix
    with one example per row. ``B``: an integer (1..n without replacement, >= 1
    with) or a SymPy symbol. Returns a d×d ImmutableMatrix.
    """
    rows = _gradient_rows(per_example_grads)
    n = len(rows)
    B = _check_batch(B, n, replace)
    mean = sum(rows[1:], rows[0]) / n
    centred = [g - mean for g in rows]
    sigma = sum((c * c.T for c in centred[1:]), centred[0] * centred[0].T) / n
    # Polynomial entries (linear models) are expanded so the centring cancels; others
    # (tanh, sigmoid) are left as built, since expanding them only grows them.
    sigma = sigma.applyfunc(lambda e: sp.expand(e) if e.is_polynomial() else e)
    if replace:
        factor = 1 / B
    elif n == 1:
        factor = sp.S.Zero  # B = 1 = n: the batch is the whole dataset
    else:
        factor = (n - B) / (B * (n - 1))
    return sp.ImmutableMatrix(sigma * factor)


# ----------------------------------------------------------------------------- stationary covariance


class Stationary(NamedTuple):
    """Stationary covariance of SGD on a quadratic loss: the SDE approximation, and exact."""

    sde: sp.ImmutableMatrix
    """Of the SDE :math:`dW = -HW\\,dt + \\sqrt{\\eta C}\\,dB_t`: :math:`HS + SH^\\top = \\eta C`."""
    discrete: sp.ImmutableMatrix
    """Of the SGD recursion :math:`w^+ = (I-\\eta H)w - \\eta\\xi`, exactly: :math:`S - ASA^\\top = \\eta^2 C`."""


def _square(name: str, M) -> sp.Matrix:
    if not isinstance(M, sp.MatrixBase):
        if isinstance(M, (list, tuple)):
            M = sp.Matrix(M)
        else:
            M = sp.Matrix([[M]])  # a scalar is the one-dimensional case
    if M.rows != M.cols:
        raise ShapeError(f"`{name}` must be square, got a {M.rows}×{M.cols} matrix.")
    return sp.Matrix(M)


def lyapunov_stationary(H, C, eta=None) -> Stationary:
    r"""Stationary covariance of SGD on :math:`L = \frac12 w^\top H w` with constant
    gradient-noise covariance :math:`C` (e.g. :math:`\Sigma/B`), in both forms:

    .. math::
        \text{SDE:}\quad H S + S H^\top = \eta C, \qquad
        \text{discrete:}\quad S - (I-\eta H) S (I-\eta H)^\top = \eta^2 C .

    In one dimension :math:`S_{\rm SDE} = \eta C/(2h)` and
    :math:`S_{\rm disc} = \eta C/(h(2-\eta h))`: they differ at relative order
    :math:`\eta h/2`. Each is solved exactly as a linear system in the entries of
    the symmetric :math:`S`, then factored entrywise. ``H`` and ``C`` are square
    (scalars for one dimension), ``C`` symmetric; ``eta`` > 0.
    """
    eta = _check_eta(eta)
    H = _square("H", H)
    C = _square("C", C)
    if H.shape != C.shape:
        raise ShapeError(f"`H` and `C` must have the same shape, got {H.shape} and {C.shape}.")
    if (C - C.T).is_zero_matrix is False:
        raise AssumptionError(f"`C` must be symmetric (a covariance), got {C!r}.")
    d = H.rows
    unknowns = {(i, j): sp.Dummy(f"s{i}{j}") for i in range(d) for j in range(i, d)}
    S = sp.Matrix(d, d, lambda i, j: unknowns[(min(i, j), max(i, j))])
    A = sp.eye(d) - eta * H
    residuals = {
        "sde": H * S + S * H.T - eta * C,
        "discrete": S - A * S * A.T - eta**2 * C,
    }
    solved = {}
    for form, R in residuals.items():
        equations = [sp.expand(R[i, j]) for i in range(d) for j in range(i, d)]
        system, rhs = sp.linear_eq_to_matrix(equations, list(unknowns.values()))
        # Cramer's rule on expanded polynomials: one cancel per entry. LUsolve builds
        # nested quotients whose cancellation took minutes for a symbolic 2x2 H.
        det = sp.expand(system.det(method="berkowitz"))
        if det == 0:
            raise AssumptionError(
                f"no unique stationary covariance ({form} form) for `H` = {H!r}: H must be stable "
                "(eigenvalues with positive real part; for the discrete form also 0 < eta*lambda < 2)."
            )
        numerators = system.adjugate(method="berkowitz") * rhs
        entry = {u: tidy(sp.expand(v) / det) for u, v in zip(unknowns.values(), numerators)}
        solved[form] = sp.ImmutableMatrix(S.xreplace(entry))
    return Stationary(sde=solved["sde"], discrete=solved["discrete"])
