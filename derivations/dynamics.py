"""Training dynamics beyond gradient flow (MATH.md D9-D12).

Price's equation for networks, dx/dt = ntcov(x, U), assumes exact, continuous-time,
full-batch gradients. These entries measure what that idealisation leaves out:
finite steps, the implicit regulariser they carry, minibatch noise and the
stationary spread it causes, the exactly solvable deep linear network, and the
expected SGD step with every O(eta^2) term named.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import scipy.linalg
import sympy as sp

import pricesym as ps
from pricesym.dynamics import (
    ETA,
    flow_series,
    gd_minus_flow,
    gd_step_series,
    lyapunov_stationary,
    minibatch_covariance,
    modified_loss,
    series_coefficients,
)
from pricesym.numeric import estimate, jit, minibatch_law, taylor_coefficients

TAILCALLED = 'tailcalled (2022), "Price\'s equation for neural networks", LessWrong.'
BARRETT_DHERIN = "Barrett, D. G. T. & Dherin, B. (2021). Implicit gradient regularization. ICLR; arXiv:2009.11162."
LI_TAI_E = ("Li, Q., Tai, C. & E, W. (2017). Stochastic modified equations and adaptive stochastic gradient "
            "algorithms. ICML; extended in JMLR 20 (2019).")
MANDT = ("Mandt, S., Hoffman, M. D. & Blei, D. M. (2017). Stochastic gradient descent as approximate Bayesian "
         "inference. JMLR 18.")
SAXE = ("Saxe, A. M., McClelland, J. L. & Ganguli, S. (2014). Exact solutions to the nonlinear dynamics of learning "
        "in deep linear neural networks. ICLR; arXiv:1312.6120.")

eta = ETA
w1, w2 = sp.symbols("w1 w2", real=True)
W = [w1, w2]
a = sp.Symbol("a", real=True)  # the hidden unit tanh(w1) on the training input
ACTIVATION = {a: sp.tanh(w1)}

# Every ODE reference integrates with the protocol of MATH.md 0.3.
ODE = dict(method="DOP853", rtol=1e-12, atol=1e-14)


def _weights(x):
    return jnp.stack([x["w1"], x["w2"]])


def _named(table: dict, name: str, tex: str, definition) -> sp.Symbol:
    """A named quantity of a step: a symbol printed as ``tex`` (the derivation's
    ``notation``) and evaluated through ``definition`` (an observable), so the step
    reads compactly and is still spot-checked on the model's full formula."""
    symbol = sp.Symbol(name, real=True)
    table[symbol] = (definition, tex)
    return symbol


def _identity(lhs, rhs, what: str) -> None:
    """A rewrite the derivation relies on, proved symbolically when the entry is built."""
    if sp.cancel(lhs - rhs) != 0 and sp.cancel(sp.expand(lhs - rhs)) != 0:  # the fast canonical form first
        raise ps.RegistryError(f"{what}: the symbolic identity left a remainder {sp.expand(lhs - rhs)!r}.")


def _observables(table: dict) -> dict:
    return {s: d for s, (d, _) in table.items()}


def _notation(table: dict) -> dict:
    return {s: t for s, (_, t) in table.items()}


# ============================================================================ models


@ps.model
def unit(np, w1, w2, z):
    """A one-unit tanh network, f(z) = w2 tanh(w1 z)."""
    return w2 * np.tanh(w1 * z)


@ps.model
def fit_one(np, w1, w2):
    """Utility U = -L: minus half the squared error of the unit on the pair (z, y) = (1, 1)."""
    return -(w2 * np.tanh(w1) - 1) ** 2 / 2


@ps.model
def deep_linear_loss(np, w1, w2, s):
    """Scalar two-layer linear network y = w2 w1 x on whitened inputs (E x^2 = 1, E xy = s):
    the expected loss (1/2) E (y - w2 w1 x)^2, up to the constant (1/2) E y^2."""
    return (w2 * w1) ** 2 / 2 - s * w2 * w1


# ---- JAX side of the finite-step entries (jit once; the ODE references call these per RHS)


def _property(w):
    return unit.jax(w[0], w[1], 1.0)


def _utility(w):
    return fit_one.jax(w[0], w[1])


@jit
def _grad_utility(w):
    return jax.grad(_utility)(w)


_property_jit = jit(_property)


def _gd_change(w, step):
    """Change of the property under one real gradient step of size ``step``."""
    return _property(w + step * jax.grad(_utility)(w)) - _property(w)


_gd_change_jit = jit(_gd_change)


def _flow_change(w, time):
    """Change of the property along the gradient flow dw/dt = grad U over ``time`` (solve_ivp)."""
    w = np.asarray(w, dtype=np.float64)
    sol = scipy.integrate.solve_ivp(lambda t, v: np.asarray(_grad_utility(v)), (0.0, time), w, **ODE)
    return float(_property_jit(sol.y[:, -1])) - float(_property_jit(w))


# ============================================================================ gd/finite-step


def _flow_map3(w, time):
    """The flow of grad U to third order in time: w + tF + t^2/2 DF[F] + t^3/6 (D^2F[F,F] + DF[DF[F]])."""
    field = jax.grad(_utility)
    second = lambda v: jax.jvp(field, (v,), (field(v),))[1]
    f = field(w)
    return w + time * f + time**2 / 2 * second(w) + time**3 / 6 * jax.jvp(second, (w,), (f,))[1]


@jit
def _step_and_flow_coefficients(w):
    """Taylor coefficients in eta, to eta^3, of the property's change under one real GD step and
    along the flow (Taylor-mode autodiff, taylor_coefficients)."""
    gd = taylor_coefficients(lambda h: _gd_change(w, h), 3)
    flow = taylor_coefficients(lambda h: _property(_flow_map3(w, h)) - _property(w), 3)
    return gd, flow


def _residual_figure(coefficients):
    """Figure: |real GD step - series to O(eta^k)| against eta for k = 1, 2, 3."""

    values = sp.lambdify([w1, w2], [c.subs(ACTIVATION) for c in coefficients], modules="numpy")

    def figure(path, report=None):
        """Residual of the series for Δx cut after η, η², η³ against real GD steps (dotted: slopes 2, 3, 4)."""
        from matplotlib.figure import Figure  # no pyplot: leaves the user's backend alone

        # A fixed point where all four coefficients are of order 1, so every curve stays
        # well above round-off over the whole range of eta.
        point = np.array([0.5, -1.0])
        c = [float(v) for v in values(*point)]
        etas = np.geomspace(2e-3, 0.2, 15)
        real = np.array([float(_gd_change_jit(jnp.asarray(point), h)) for h in etas])
        fig = Figure(figsize=(4.8, 3.6))
        ax = fig.add_subplot()
        for k, marker in zip((1, 2, 3), "os^"):
            series = sum(etas**j / math.factorial(j) * c[j - 1] for j in range(1, k + 1))
            residual = np.abs(real - series)
            ax.loglog(etas, residual, marker=marker, ms=3.5, lw=1, label=rf"series to $O(\eta^{k})$")
            anchor = residual[len(etas) // 2] / etas[len(etas) // 2] ** (k + 1)
            ax.loglog(etas, anchor * etas ** (k + 1), ls=":", lw=0.8, color="0.4")
            ax.annotate(rf"$\eta^{k + 1}$", (etas[0], anchor * etas[0] ** (k + 1)), fontsize=8,
                        xytext=(-4, 0), textcoords="offset points", va="center", ha="right")
        ax.set_xlim(etas[0] / 2.5, etas[-1] * 1.3)  # room for the slope labels
        ax.set_xlabel(r"learning rate $\eta$")
        ax.set_ylabel(r"$|\Delta x_{\mathrm{GD}} - \mathrm{series}|$")
        ax.set_title(rf"one GD step at $w = ({point[0]:g}, {point[1]:g})$", fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        fig.savefig(path, format="pdf", metadata={"CreationDate": None})

    figure.__name__ = "gd_finite_step_residuals"
    return figure


@ps.derivation("gd/finite-step")
def gd_finite_step() -> ps.Derivation:
    r"""Finite learning rate: a gradient step to O(η³), and how it differs from the flow.

    .. math::
        \Delta x_{\mathrm{GD}} = \eta\,\nabla x\cdot\nabla U + \frac{\eta^2}{2}\nabla U^\top H_x\nabla U
        + \frac{\eta^3}{6} D^3x[\nabla U,\nabla U,\nabla U] + O(\eta^4),
        \qquad
        \Delta x_{\mathrm{GD}} - \Delta x_{\mathrm{flow}} = -\frac{\eta^2}{2}\nabla x^\top H_U \nabla U + O(\eta^3)

    for one step :math:`w^+ = w + \eta\nabla U` (Taylor series along the straight
    step) against the flow :math:`\dot w = \nabla U` over time :math:`\eta` (Lie
    series :math:`\sum_k \eta^k \mathcal L^k x / k!`, :math:`\mathcal L = \nabla U\cdot\nabla`).
    Both start with Price's :math:`\eta\operatorname{ntcov}(x, U)`; the step misses
    the flow's turning of the gradient, :math:`\nabla x^\top H_U\nabla U`.

    Shown on a one-unit tanh network :math:`f(z) = w_2\tanh(w_1 z)` trained on
    :math:`(z, y) = (1, 1)` with :math:`U = -\frac12 (f(1) - 1)^2`; the property is
    the trained output :math:`x = f(1)`, and :math:`a = \tanh w_1`.
    References: MATH.md D9; Barrett & Dherin (2021).
    """
    x = unit.sympy(w1, w2, 1)
    U = fit_one.sympy(w1, w2)
    gd_c = series_coefficients(x, U, W, 3, kind="gd")
    flow_c = series_coefficients(x, U, W, 3, kind="flow")
    tidy = lambda e: ps.in_terms_of(e, ACTIVATION)
    gd3 = sp.Add(*[eta**k / sp.factorial(k) * tidy(c) for k, c in enumerate(gd_c, start=1)])
    flow3 = sp.Add(*[eta**k / sp.factorial(k) * tidy(c) for k, c in enumerate(flow_c, start=1)])
    gap = tidy(gd_minus_flow(x, U, W, 2))

    gx = sp.Matrix([x]).jacobian(W).T
    gu = sp.Matrix([U]).jacobian(W).T
    hx, hu = sp.hessian(x, W), sp.hessian(U, W)
    d3x = sp.derive_by_array(sp.derive_by_array(sp.derive_by_array(x, W), W), W)
    third = sp.Add(*[d3x[i, j, k] * gu[i] * gu[j] * gu[k] for i in range(2) for j in range(2) for k in range(2)])

    symbols = {w1: ps.uniform(-1.2, 1.2), w2: ps.uniform(-1.5, 1.5), eta: ps.log_uniform(1e-3, 0.1)}
    sweep = (0.02, 0.01, 0.005, 0.0025)
    named: dict = {}

    def gd_ref(v):
        return float(_gd_change_jit(jnp.array([v["w1"], v["w2"]]), v["eta"]))

    def flow_ref(v):
        return _flow_change([v["w1"], v["w2"]], v["eta"])

    def gap_ref(v):
        w = np.array([v["w1"], v["w2"]])
        return float(_gd_change_jit(jnp.asarray(w), v["eta"])) - _flow_change(w, v["eta"])

    def series_ref(which):
        def reference(v):
            gd, flow = (np.asarray(c) for c in _step_and_flow_coefficients(jnp.array([v["w1"], v["w2"]])))
            powers = v["eta"] ** np.arange(4)
            if which == 2:
                return (gd[2] - flow[2]) * v["eta"] ** 2
            return float((gd if which == 0 else flow) @ powers)

        return reference

    steps = (
        ps.Step(lhs=r"\Delta x_{\mathrm{GD}}", rhs=(r"\sum_k \frac{\eta^k}{k!} D^k x[\nabla U, \dots]"),
                why=r"Taylor series of $x(w + \eta\nabla U)$ in $\eta$: the direction $\nabla U$ is frozen at $w$",
                check=False),
        ps.Step(lhs=_named(named, "ntcov_xU", r"\operatorname{ntcov}(x, U)", ps.NtCov(x, U, sp.Tuple(*W))),
                rhs=tidy(gd_c[0]),
                why=r"first order: Price's equation, $\eta\,\operatorname{ntcov}(x, U)$; here $a = \tanh w_1$"),
        ps.Step(lhs=_named(named, "curv_x", r"\nabla U^\top H_x \nabla U", (gu.T * hx * gu)[0, 0]),
                rhs=tidy(gd_c[1]),
                why="second order: the curvature of x along the step"),
        ps.Step(lhs=_named(named, "d3x", r"D^3x[\nabla U, \nabla U, \nabla U]", third), rhs=tidy(gd_c[2]),
                why=r"third order: $D^3x$ contracted with $\nabla U$ three times"),
        ps.Step(lhs=_named(named, "lie2_x", r"\mathcal L^2 x = \nabla U^\top H_x \nabla U + \nabla x^\top H_U \nabla U",
                           (gu.T * hx * gu + gx.T * hu * gu)[0, 0]),
                rhs=tidy(flow_c[1]),
                why=r"the flow's second Lie derivative also differentiates the field $\nabla U$"),
        ps.Step(lhs=-eta**2 / 2 * _named(named, "turn_x", r"\nabla x^\top H_U\nabla U", (gx.T * hu * gu)[0, 0]),
                rhs=gap,
                why=r"first-order terms cancel; at $\eta^2$ only the flow's turning of $\nabla U$ is left"),
    )
    return ps.Derivation(
        lhs=(r"\Delta x_{\mathrm{GD}}", r"\Delta x_{\mathrm{flow}}", r"\Delta x_{\mathrm{GD}} - \Delta x_{\mathrm{flow}}"),
        result=sp.Tuple(gd3, flow3, gap),
        symbols=symbols,
        observables={**ACTIVATION, **_observables(named)},
        notation=_notation(named),
        assumptions=(
            r"one step $w^+ = w + \eta\nabla U$ against the flow $\dot w = \nabla U$ run for time $\eta$",
            r"$x$ and $U$ smooth; the series are asymptotic in $\eta$ (remainders $O(\eta^4)$ and $O(\eta^3)$)",
            r"model: $f(z) = w_2\tanh(w_1 z)$, $U = -\frac12(f(1)-1)^2$, $x = f(1)$, $a = \tanh w_1$",
        ),
        steps=steps,
        checks=(
            ps.autodiff(series_ref(0), target=ps.part(0), label="GD step, Taylor coefficients", vectorize=False,
                        describe="Taylor coefficients to eta^3 at eta = 0 (Taylor-mode autodiff) of the real step's "
                                 "change x(w + eta grad U) - x(w)"),
            ps.autodiff(series_ref(1), target=ps.part(1), label="flow, Taylor coefficients", vectorize=False,
                        describe="Taylor coefficients to eta^3 of x along the third-order flow map w + tF + "
                                 "t^2/2 DF[F] + t^3/6 (D^2F[F,F] + DF[DF[F]]), F = jax.grad U, derivatives by jax.jvp "
                                 "(it agrees with the flow to O(t^4))"),
            ps.autodiff(series_ref(2), target=ps.part(2), label="GD minus flow, eta^2 coefficient", vectorize=False,
                        describe="difference of the two eta^2 Taylor coefficients above"),
            ps.order(gd_ref, small=eta, sweep=sweep, order=4, target=ps.part(0), label="GD step to O(eta^3)",
                     vectorize=False,
                     describe="real gradient steps w + eta grad U on the model (JAX); residual against the series",
                     tolerance="fitted log-log slope >= 4 - 0.25 over eta = 0.02..0.0025 (remainder O(eta^4)); "
                               "residuals below 1e-13 count as round-off"),
            ps.order(flow_ref, small=eta, sweep=sweep, order=4, target=ps.part(1), label="flow to O(eta^3)",
                     vectorize=False,
                     describe="gradient flow integrated by solve_ivp (DOP853, rtol 1e-12, atol 1e-14) for time eta",
                     tolerance="fitted log-log slope >= 4 - 0.25 (remainder O(eta^4)); integrator error ~1e-13 "
                               "is below the smallest residual"),
            ps.order(gap_ref, small=eta, sweep=sweep, order=3, target=ps.part(2), label="GD minus flow",
                     vectorize=False,
                     describe="real GD step minus the solve_ivp flow over the same time",
                     tolerance="fitted log-log slope >= 3 - 0.25 (the O(eta^2) gap is exact, remainder O(eta^3))"),
        ),
        references=("MATH.md D9.", BARRETT_DHERIN, TAILCALLED),
        model=(unit, fit_one),
        figures=(_residual_figure(gd_c),),
    )


# ============================================================================ gd/implicit-regularization

s = sp.Symbol("s", positive=True)


def _deep_linear_L(w, s_):
    return deep_linear_loss.jax(w[0], w[1], s_)


_deep_linear_grad = jax.grad(_deep_linear_L)


@jit
def _deep_linear_grad_jit(w, s_):
    return _deep_linear_grad(w, s_)


def _gd_step(w, step, s_):
    """One real gradient step w - step grad L (JAX gradient of the model)."""
    return w - step * _deep_linear_grad(w, s_)


def _flow_field(w, s_):
    """The field of the flow of L, dw/dt = -grad L."""
    return -_deep_linear_grad(w, s_)


def _interpolating_field(w, step, s_):
    r"""The field F = f0 + step f1 whose flow matches real GD steps to O(step^3), built
    from GD and the flow of L only (backward error analysis, no modified loss): f0 is
    the flow's field, and f1 = (step^2 coefficient of the GD step) - (t^2 coefficient
    of the flow of L), both Taylor coefficients by autodiff (the flow's is
    (1/2) Df0[f0], its second time derivative over 2)."""
    f0 = _flow_field(w, s_)
    gd_second = taylor_coefficients(lambda h: _gd_step(w, h, s_), 2)[2]
    flow_second = jax.jvp(lambda v: _flow_field(v, s_), (w,), (f0,))[1] / 2
    return f0 + step * (gd_second - flow_second)


def _flow_taylor(w, time, step, s_):
    """The flow of the interpolating field (at ``step``) for ``time``, to third order in
    ``time``: w + t F + t^2/2 DF[F] + t^3/6 (D^2F[F, F] + DF[DF[F]]), derivatives by jvp."""
    field = lambda v: _interpolating_field(v, step, s_)
    second = lambda v: jax.jvp(field, (v,), (field(v),))[1]
    f = field(w)
    return w + time * f + time**2 / 2 * second(w) + time**3 / 6 * jax.jvp(second, (w,), (f,))[1]


_CHEBYSHEV = 0.5 * np.cos(np.pi * (2 * np.arange(7) + 1) / 14)


def _modified_flow_change(w, step, s_):
    """Phi_step(w) - w for the interpolating field, truncated at step^3. The third-order
    flow map at time h with the field at step h is a polynomial of degree 6 in h (the
    field is affine in the step), so its coefficients come exactly from 7 Chebyshev
    samples (a 7x7 Vandermonde solve); the terms of degree 1 to 3 are kept."""
    h = jnp.asarray(_CHEBYSHEV)
    samples = jax.vmap(lambda h_: _flow_taylor(w, h_, h_, s_))(h)
    coefficients = jnp.linalg.solve(jnp.vander(h, 7, increasing=True), samples)
    return sum(coefficients[k] * step**k for k in range(1, 4))


_GAUSS_LEGENDRE = np.polynomial.legendre.leggauss(8)


def _modified_loss_by_line_integral(w, step, s_):
    r"""The potential of the interpolating field: L(w*) - \int_0^1 F(w* + t(w - w*)) . (w - w*) dt
    from a minimiser w* = (sqrt s, sqrt s) of L (where the constant is fixed: the modified loss
    equals L where GD stands still). F is a polynomial of degree 5 along the segment, so 8-point
    Gauss-Legendre is exact."""
    start = jnp.sqrt(s_) * jnp.ones(2)
    nodes, weights = (jnp.asarray(a) for a in _GAUSS_LEGENDRE)
    t_ = (nodes + 1) / 2
    points = start + t_[:, None] * (w - start)
    field = jax.vmap(lambda v: _interpolating_field(v, step, s_))(points)
    return _deep_linear_L(start, s_) - jnp.sum(weights / 2 * (field @ (w - start)))


@jit
def _iterate_velocity(w, step, s_):
    """Velocity at w of the curve through three real GD iterates w0, w1, w2 taken at times
    0, step, 2 step: the one-sided difference (-3 w0 + 4 w1 - w2)/(2 step), error O(step^2)."""
    w1_ = _gd_step(w, step, s_)
    w2_ = _gd_step(w1_, step, s_)
    return (-3 * w + 4 * w1_ - w2_) / (2 * step)


_interpolating_field_jit = jit(_interpolating_field)


@jit
def _implicit_references(w, step, s_):
    """(modified loss by line integral, interpolating field, flow expansion to step^3) at one point."""
    return (_modified_loss_by_line_integral(w, step, s_), _interpolating_field(w, step, s_),
            _modified_flow_change(w, step, s_))


def _through_eta2(result):
    """Check target: the flow expansion's terms in eta and eta^2 (what one GD step determines)."""
    return result[2].applyfunc(lambda e: sp.expand(e).coeff(eta, 1) * eta + sp.expand(e).coeff(eta, 2) * eta**2)


@ps.kept
def _truncate(expr, var, order: int):
    """The terms of a polynomial in ``var`` up to ``var**order``, collected by power."""
    expr = sp.expand(expr)
    return sp.Add(*[sp.factor(expr.coeff(var, k)) * var**k for k in range(order + 1)])


@ps.derivation("gd/implicit-regularization")
def gd_implicit_regularization() -> ps.Derivation:
    r"""Implicit regularisation: a gradient step follows the flow of a modified loss to O(η²).

    .. math::
        \tilde L = L + \frac{\eta}{4}\lVert\nabla L\rVert^2,
        \qquad -\nabla\tilde L = -\nabla L - \frac{\eta}{2}H_L\nabla L,
        \qquad w - \eta\nabla L = \Phi^{\tilde L}_\eta(w) + O(\eta^3),

    where :math:`\Phi^{\tilde L}_\eta` is the flow :math:`\dot w = -\nabla\tilde L`
    run for time :math:`\eta` (backward error analysis). Derived, not assumed: with
    the ansatz :math:`L + c\,\eta\lVert\nabla L\rVert^2` the :math:`\eta^2` terms of
    step and flow agree only for :math:`c = 1/4`, so the modified flow's expansion
    :math:`\Phi^{\tilde L}_\eta(w) - w` has no :math:`\eta^2` term, like the step.

    On the scalar two-layer linear network (:math:`L = \frac12(s - w_1w_2)^2` up to a
    constant) the penalty is :math:`\frac{\eta}{4}(s-u)^2(w_1^2+w_2^2)` with
    :math:`w_1^2 + w_2^2 = \operatorname{ntvar}(u)`: finite steps favour balanced,
    small weights. References: Barrett & Dherin (2021); MATH.md D9.
    """
    L = deep_linear_loss.sympy(w1, w2, s)
    U = -L
    weights = sp.Matrix(W)
    grad_l = sp.Matrix([sp.diff(L, p) for p in W])
    # Ansatz: find c so that the modified flow reproduces the step's eta^2 term.
    c = sp.Symbol("c")
    ansatz = L + c * eta * sp.Add(*[g**2 for g in grad_l])
    gap = (flow_series(weights, -ansatz, W, 2) - gd_step_series(weights, U, W, 2)).applyfunc(sp.expand)
    at_eta2 = [g.coeff(eta, 2) for g in gap]
    solutions = {sp.cancel(-e.subs(c, 0) / e.coeff(c, 1)) for e in at_eta2}
    (c_value,) = solutions  # the same for both weights: 1/4
    modified = modified_loss(L, W, eta)
    field = (-sp.Matrix([sp.diff(modified, p) for p in W])).applyfunc(sp.factor)
    # The flow's change to O(eta^3): the Lie series to third order, truncated at eta^3
    # (the field itself depends on eta; the fourth Lie term starts at eta^4).
    expansion = flow_series(weights, -modified, W, 3).applyfunc(lambda e: _truncate(e, eta, 3))
    tilde_l = L + eta / 4 * sp.factor(sp.Add(*[g**2 for g in grad_l]))

    symbols = {w1: ps.uniform(-1.5, 1.5), w2: ps.uniform(-1.5, 1.5), s: ps.uniform(0.5, 2),
               eta: ps.log_uniform(1e-3, 0.1)}

    def velocity_ref(v):
        return np.asarray(_iterate_velocity(jnp.array([v["w1"], v["w2"]]), v["eta"], v["s"]))

    def ode_ref(v):
        # The flow of the interpolating field (from GD and the flow of L, no 1/4 anywhere).
        w0 = np.array([v["w1"], v["w2"]])
        rhs = lambda _, w: np.asarray(_interpolating_field_jit(jnp.asarray(w), v["eta"], v["s"]))
        sol = scipy.integrate.solve_ivp(rhs, (0.0, v["eta"]), w0, **ODE)
        return sol.y[:, -1] - w0

    def gd_ref(v):
        return -v["eta"] * np.asarray(_deep_linear_grad_jit(jnp.array([v["w1"], v["w2"]]), v["s"]))

    def exact_ref(which):
        # One compiled program gives the three exact references of an instance.
        def reference(v):
            return np.asarray(_implicit_references(_weights(v), v["eta"], v["s"])[which])

        return reference

    return ps.Derivation(
        lhs=(r"\tilde L", r"-\nabla\tilde L", r"\Phi^{\tilde L}_\eta(w) - w"),
        result=sp.Tuple(tilde_l, field, expansion),
        symbols=symbols,
        assumptions=(
            r"one step $w^+ = w - \eta\nabla L$; $L$ smooth; agreement up to $O(\eta^3)$ per step",
            r"model: $L = \frac12(w_1w_2)^2 - s\,w_1w_2$, the scalar two-layer linear network on whitened inputs",
        ),
        steps=(
            ps.Step(lhs="c", rhs=c_value, check=False,
                    why=r"ansatz $\tilde L = L + c\eta\lVert\nabla L\rVert^2$: matching the $\eta^2$ terms of the "
                        r"step and of the modified flow (both weights) forces $c = 1/4$"),
            ps.Step(lhs=ansatz.subs(c, c_value), rhs=tilde_l,
                    why=r"$\lVert\nabla L\rVert^2 = (s - w_1w_2)^2 (w_1^2 + w_2^2)$; the same as `modified_loss`"),
            ps.Step(lhs=field, rhs=-grad_l - eta / 2 * sp.hessian(L, W) * grad_l,
                    why=r"$-\nabla\tilde L = -\nabla L - \frac{\eta}{2} H_L\nabla L$: the penalty's flow supplies the "
                        r"step's missing $-\frac{\eta^2}{2}H_L\nabla L$"),
            ps.Step(lhs=expansion.applyfunc(lambda e: e.coeff(eta, 1)), rhs=-grad_l,
                    why=r"first order: the step $-\eta\nabla L$; the $\eta^2$ coefficient is 0, like the step's"),
        ),
        checks=(
            ps.order(velocity_ref, small=eta, sweep=(0.04, 0.02, 0.01, 0.005), order=2, target=ps.part(1),
                     label="GD iterates", vectorize=False,
                     describe="velocity of the real GD iterates: (-3 w0 + 4 w1 - w2)/(2 eta) from two JAX gradient "
                              "steps, against the modified field",
                     tolerance="fitted log-log slope >= 2 - 0.25: the iterates' velocity is the modified field up to "
                               "O(eta^2) (the plain field -grad L, c = 0, gives slope 1 and fails)"),
            ps.autodiff(exact_ref(1), target=ps.part(1), label="interpolating field", vectorize=False,
                        describe="f0 + eta f1 with f0 = -jax.grad L (the flow of L) and f1 = (eta^2 coefficient of "
                                 "the real GD step) - (t^2 coefficient of the flow of L), both by autodiff: the field "
                                 "whose flow matches GD to O(eta^3), built without the modified loss"),
            ps.autodiff(exact_ref(0), target=ps.part(0), label="potential of the field", vectorize=False,
                        describe="L(w*) minus the line integral of the interpolating field from a minimiser "
                                 "w* = (sqrt s, sqrt s) of L (8-point Gauss-Legendre, exact for this polynomial)",
                        tolerance="float64 round-off: rel 1e-10, abs 1e-12 (the modified loss is defined up to a "
                                  "constant, fixed by equality with L where grad L = 0)"),
            ps.autodiff(exact_ref(2), target=ps.part(2), label="flow expansion to eta^3", vectorize=False,
                        describe="the third-order flow map w + tF + t^2/2 DF[F] + t^3/6 (D^2F[F,F] + DF[DF[F]]) "
                                 "of the interpolating field (derivatives by jax.jvp) at t = eta, a polynomial of "
                                 "degree 6 in eta: its coefficients from 7 Chebyshev samples, kept to eta^3"),
            ps.order(ode_ref, small=eta, sweep=(0.08, 0.04, 0.02, 0.01), order=4, target=ps.part(2),
                     label="flow by ODE", vectorize=False,
                     describe="solve_ivp (DOP853, rtol 1e-12, atol 1e-14) of the interpolating field, run for "
                              "time eta",
                     tolerance="fitted log-log slope >= 4 - 0.25 (expansion to eta^3: remainder O(eta^4))"),
            ps.exact(gd_ref, target=_through_eta2, label="against one GD step, through eta^2", vectorize=False,
                     describe="one real gradient step (w - eta jax.grad L(w)) - w, against the expansion's terms "
                              "in eta and eta^2: the modified flow is GD up to O(eta^3)",
                     tolerance="float64 round-off: rel 1e-10, abs 1e-12 (a GD step is linear in eta, so the "
                               "eta^2 terms must vanish)"),
        ),
        references=(BARRETT_DHERIN, "MATH.md D9.", SAXE),
        model=deep_linear_loss,
    )


# ============================================================================ sgd/noise-covariance

B = sp.Symbol("B", positive=True, integer=True)
# A linear-regression dataset: inputs z_i in R^2 and targets y_i (MATH.md D10's vectors as inputs).
REGRESSION_Z = ((1, 0), (0, 1), (1, 1), (2, -1))
REGRESSION_Y = (1, -1, 0, 2)
_BATCH_MAX = 8  # largest batch of the with-replacement check (batches may exceed n)


@ps.model
def regression_utility(np, w1, w2, z1, z2, y):
    """U_i = -(1/2)(w . z_i - y_i)^2: minus the squared error of a linear model on one example."""
    return -(w1 * z1 + w2 * z2 - y) ** 2 / 2


def _regression_grads(w):
    """Per-example gradients of U_i from the model, shape (n, 2)."""
    z = jnp.asarray(REGRESSION_Z, dtype=jnp.float64)
    y = jnp.asarray(REGRESSION_Y, dtype=jnp.float64)
    grad = jax.grad(lambda v, zi, yi: regression_utility.jax(v[0], v[1], zi[0], zi[1], yi))
    return jax.vmap(grad, in_axes=(None, 0, 0))(w, z, y)


_regression_grads_jit = jit(_regression_grads)


@ps.derivation("sgd/noise-covariance")
def sgd_noise_covariance() -> ps.Derivation:
    r"""Minibatch gradient noise: covariance Σ/B, and the finite-population factor without replacement.

    .. math::
        \operatorname{Cov}(\hat g_B) = \frac{\Sigma}{B}\ \text{(with replacement)},\qquad
        \operatorname{Cov}(\hat g_B) = \frac{\Sigma}{B}\,\frac{n-B}{n-1}\ \text{(without)},\qquad
        \Sigma = \frac1n\sum_i (g_i - \bar g)(g_i - \bar g)^\top

    for the mean :math:`\hat g_B` of :math:`B` per-example gradients drawn from a
    dataset of :math:`n` examples. Shown for linear regression on :math:`n = 4`
    examples, where :math:`\Sigma` is quadratic in the weights. References: MATH.md D10.
    """
    examples = [regression_utility.sympy(w1, w2, z1, z2, y) for (z1, z2), y in zip(REGRESSION_Z, REGRESSION_Y)]
    grads = [sp.Matrix([sp.diff(u, p) for p in W]) for u in examples]
    n = len(grads)
    with_repl = minibatch_covariance(grads, B, replace=True)
    without = minibatch_covariance(grads, B, replace=False)
    sigma = minibatch_covariance(grads, 1, replace=True)
    mean = sum(grads[1:], grads[0]) / n
    second_moment = sum((g * g.T for g in grads[1:]), grads[0] * grads[0].T) / n

    def enumerated_ref(replace):
        def ref(v):
            # Every minibatch with its probability: the exact law of the minibatch mean.
            counts, prob = minibatch_law(n, int(round(v["B"])), replace=replace)
            g = np.asarray(_regression_grads_jit(jnp.array([v["w1"], v["w2"]])))
            ghat = counts @ g / counts.sum(axis=1, keepdims=True)
            mean = prob @ ghat
            dev = ghat - mean
            return np.einsum("m,mi,mj->ij", prob, dev, dev)

        return ref

    return ps.Derivation(
        lhs=(r"\operatorname{Cov}(\hat g_B)\ \text{with replacement}", r"\operatorname{Cov}(\hat g_B)\ \text{without}"),
        result=sp.Tuple(with_repl, without),
        symbols={w1: ps.uniform(-2, 2), w2: ps.uniform(-2, 2), B: ps.integers(1, n)},
        assumptions=(
            r"$\hat g_B$ is the mean of $B$ per-example gradients $g_i = \nabla U_i$, drawn uniformly",
            r"with replacement any $B \ge 1$; without replacement $1 \le B \le n$",
            r"model: $U_i = -\frac12(w\cdot z_i - y_i)^2$ on $n = 4$ examples",
        ),
        steps=(
            ps.Step(lhs=second_moment - mean * mean.T,
                    rhs=sigma,
                    why=r"$\Sigma = \mathbb E[gg^\top] - \bar g\bar g^\top$ over the dataset"),
            ps.Step(lhs=r"\operatorname{Cov}\big(\tfrac1B\textstyle\sum_{b} g_{i_b}\big)", rhs=(r"\Sigma/B"),
                    why="independent draws: the covariance of a mean of B i.i.d. draws", check=False),
            ps.Step(lhs=without, rhs=with_repl * (n - B) / (n - 1),
                    why=r"without replacement draws are negatively correlated, $\operatorname{Cov}(g_{i_b}, "
                        r"g_{i_c}) = -\Sigma/(n-1)$: finite-population factor $\frac{n-B}{n-1}$"),
        ),
        checks=(
            ps.exact(enumerated_ref(True), target=ps.part(0), label="every minibatch, with replacement",
                     domains={B: ps.integers(1, _BATCH_MAX)}, vectorize=False,
                     describe="all multisets of B examples with their multinomial probabilities "
                              "(minibatch_law); per-example gradients by jax.grad of the model; covariance of "
                              "the minibatch mean under that law"),
            # B = n is left out: every batch is then the whole dataset and the covariance 0, so a
            # relative comparison has nothing to compare (the steps evaluate that case).
            ps.exact(enumerated_ref(False), target=ps.part(1), label="every minibatch, without replacement",
                     domains={B: ps.integers(1, n - 1)}, vectorize=False,
                     describe="all C(n, B) subsets, equally likely (minibatch_law); covariance of the minibatch "
                              "mean under that law"),
        ),
        references=("MATH.md D10.", LI_TAI_E),
        model=regression_utility,
    )


# ============================================================================ sgd/sde-stationary

h1, h2 = sp.symbols("h1 h2", positive=True)
c11, c22 = sp.symbols("c11 c22", positive=True)
c12 = sp.Symbol("c12", real=True)
dt = sp.Symbol("dt", positive=True)  # Euler-Maruyama step of the SDE (a check's own symbol)
_CHAINS = 20_000
_CHAIN_STEPS = 120


@ps.model
def quadratic_example(np, w1, w2, h1, h2, e1, e2):
    """Per-example loss (1/2) w^T H w + zeta_i . w with H = diag(h1, h2) and an offset zeta_i
    (mean 0 over the dataset): the gradient noise is the offsets'."""
    return (h1 * w1**2 + h2 * w2**2) / 2 + e1 * w1 + e2 * w2


def _sde_offsets(v):
    """The dataset's gradient offsets: +-sqrt(2) times the Cholesky columns of C (4 examples,
    mean 0, covariance C)."""
    chol = jnp.linalg.cholesky(jnp.array([[v["c11"], v["c12"]], [v["c12"], v["c22"]]]))
    return jnp.sqrt(2.0) * jnp.stack([chol[:, 0], -chol[:, 0], chol[:, 1], -chol[:, 1]])


def _example_gradient(w, e, v):
    return jax.grad(lambda w_: quadratic_example.jax(w_[0], w_[1], v["h1"], v["h2"], e[0], e[1]))(w)


def _stationary_moments(maps, offsets):
    r"""Stationary mean and covariance of the chain w' = A_i w + b_i, i uniform over the rows of
    ``maps`` (A_i) and ``offsets`` (b_i): the exact law of its first two moments. The state
    (1, m, vec M) moves by a linear map (its matrix by jax.jacfwd of one step of the moments);
    its 2^48-th power, by squaring, is the stationary limit from w = 0."""
    def moments(x):
        m, M = x[1:3], x[3:].reshape(2, 2)
        Am = maps @ m
        b = x[0] * offsets  # the constant 1 carries the affine part, so one step is linear in x
        second = (jnp.einsum("kij,jl,kml->im", maps, M, maps) + jnp.einsum("ki,kj->ij", Am, offsets)
                  + jnp.einsum("ki,kj->ij", offsets, Am) + jnp.einsum("ki,kj->ij", b, offsets)) / len(offsets)
        return jnp.concatenate([x[:1], jnp.mean(Am + b, axis=0), second.reshape(-1)])

    start = jnp.zeros(7).at[0].set(1.0)
    power = jax.lax.fori_loop(0, 48, lambda _, P: P @ P, jax.jacfwd(moments)(start))
    x = power @ start
    m, M = x[1:3], x[3:].reshape(2, 2)
    return M - jnp.outer(m, m)


def _sgd_chain_covariance(v, step):
    """Stationary covariance of real SGD (batch 1) at learning rate ``step``: each example's
    step w - step grad l_i(w) is affine, read off by autodiff (A_i its Jacobian, b_i its value at 0)."""
    offsets = _sde_offsets(v)
    zero = jnp.zeros(2)
    one_step = lambda w, e: w - step * _example_gradient(w, e, v)
    maps = jax.vmap(lambda e: jax.jacfwd(one_step)(zero, e))(offsets)
    return _stationary_moments(maps, jax.vmap(lambda e: one_step(zero, e))(offsets))


def _sde_pieces(v):
    """Drift matrix H = Hessian of the dataset's mean loss and the covariance of the per-example
    gradients at w = 0 (both by autodiff of the model)."""
    offsets = _sde_offsets(v)
    zero = jnp.zeros(2)
    mean_loss = lambda w: jnp.mean(jax.vmap(lambda e: quadratic_example.jax(w[0], w[1], v["h1"], v["h2"], e[0], e[1]))(offsets))
    grads = jax.vmap(lambda e: _example_gradient(zero, e, v))(offsets)
    centred = grads - grads.mean(axis=0)
    return jax.hessian(mean_loss)(zero), centred.T @ centred / len(offsets)


def _euler_maruyama_covariance(v, dt):
    """Stationary covariance of the Euler-Maruyama chain of dW = -grad L dt + sqrt(eta C) dB with
    step ``dt``: W' = (I - dt H) W + sqrt(dt) xi, xi with mean 0 and covariance eta C (a 4-point
    law: only the first two moments of xi enter the second moments of W)."""
    H, C = _sde_pieces(v)
    chol = jnp.linalg.cholesky(v["eta"] * dt * C)
    noise = jnp.sqrt(2.0) * jnp.stack([chol[:, 0], -chol[:, 0], chol[:, 1], -chol[:, 1]])
    maps = jnp.broadcast_to(jnp.eye(2) - dt * H, (4, 2, 2))
    return _stationary_moments(maps, noise)


def _sde_params(v) -> dict:
    """The instance values the SDE references read (one pytree shape, so one compilation)."""
    return {k: v[k] for k in ("h1", "h2", "c11", "c22", "c12")}


@jit
def _sde_references(params, step, dt_):
    """Every exact reference of sgd/sde-stationary at once (one compiled program): the SGD chain's
    stationary covariance at ``step``, the Euler-Maruyama chain's at ``dt_``, and (H, C)."""
    return (_sgd_chain_covariance(params, step), _euler_maruyama_covariance({**params, "eta": step}, dt_),
            *_sde_pieces(params))


@ps.derivation("sgd/sde-stationary")
def sgd_sde_stationary() -> ps.Derivation:
    r"""Stationary covariance of SGD on a quadratic loss: the SDE against the exact discrete recursion.

    .. math::
        \text{SDE: } HS + SH = \eta C,\quad S_{ij} = \frac{\eta\,C_{ij}}{h_i + h_j};
        \qquad
        \text{discrete: } S - (I-\eta H)S(I-\eta H) = \eta^2 C,\quad
        S_{ij} = \frac{\eta\,C_{ij}}{h_i + h_j - \eta h_i h_j}

    for :math:`L = \frac12 w^\top H w` in the eigenbasis of :math:`H`
    (:math:`H = \operatorname{diag}(h_1, h_2)`; any symmetric :math:`H` is brought
    there by rotating :math:`C`) with constant gradient-noise covariance :math:`C`
    (:math:`\Sigma/B`). The SDE misses the relative correction :math:`\eta h_ih_j/(h_i+h_j)`:
    in one dimension :math:`\eta C/(2h)` against :math:`\eta C/(h(2-\eta h))`.
    References: MATH.md D11; Mandt, Hoffman & Blei (2017); Li, Tai & E (2017).
    """
    H = sp.diag(h1, h2)
    C = sp.Matrix([[c11, c12], [c12, c22]])
    st = lyapunov_stationary(H, C, eta)
    A = sp.eye(2) - eta * H
    gap = (st.discrete - st.sde).applyfunc(sp.factor)

    symbols = {h1: ps.uniform(0.5, 2), h2: ps.uniform(0.5, 2), c11: ps.uniform(0.5, 1.5), c22: ps.uniform(0.5, 1.5),
               c12: ps.uniform(-0.4, 0.4), eta: ps.uniform(0.1, 0.4)}

    def chains_ref(v, key):
        # Real SGD: batch size 1 from a dataset of 4 examples whose gradient offsets are
        # +-sqrt(2) times the Cholesky columns of C (mean 0, covariance C).
        chol = jnp.linalg.cholesky(jnp.array([[v["c11"], v["c12"]], [v["c12"], v["c22"]]]))
        offsets = jnp.sqrt(2.0) * jnp.stack([chol[:, 0], -chol[:, 0], chol[:, 1], -chol[:, 1]])
        # The chains are independent, so the gradient of the summed loss is each chain's own.
        total = lambda w, e: jnp.sum(quadratic_example.jax(w[:, 0], w[:, 1], v["h1"], v["h2"], e[:, 0], e[:, 1]))
        grad = jax.grad(total)

        def step(w, k):
            i = jax.random.randint(k, (_CHAINS,), 0, 4)
            return w - v["eta"] * grad(w, offsets[i]), None

        w, _ = jax.lax.scan(step, jnp.zeros((_CHAINS, 2)), jax.random.split(key, _CHAIN_STEPS))
        return estimate(w[:, :, None] * w[:, None, :])  # E w = 0 exactly: start at 0, offsets of mean 0

    def discrete_ref(v):
        return np.asarray(_sde_references(_sde_params(v), v["eta"], 0.01)[0])

    def sde_ref(v):
        # Variation of constants and the Ito isometry: the stationary law of the SDE has
        # covariance int_0^inf e^{-Ht} (eta C) e^{-Ht} dt; adaptive quadrature (quad_vec).
        H, C = (np.asarray(m) for m in _sde_references(_sde_params(v), v["eta"], 0.01)[2:])
        vals, vecs = np.linalg.eigh(H)

        def integrand(time):
            decay = (vecs * np.exp(-vals * time)) @ vecs.T
            return (decay @ (v["eta"] * C) @ decay.T).reshape(-1)

        return scipy.integrate.quad_vec(integrand, 0.0, np.inf, epsabs=1e-16, epsrel=1e-13)[0].reshape(2, 2)

    def euler_maruyama_ref(v):
        return np.asarray(_sde_references(_sde_params(v), v["eta"], v["dt"])[1])

    return ps.Derivation(
        lhs=(r"S_{\mathrm{SDE}}", r"S_{\mathrm{disc}}"),
        result=sp.Tuple(st.sde, st.discrete),
        symbols=symbols,
        assumptions=(
            r"$L = \frac12 w^\top H w$, $H = \operatorname{diag}(h_1, h_2)$ with $h_i > 0$ and $0 < \eta h_i < 2$",
            r"gradient noise of constant covariance $C$ (the minibatch $\Sigma/B$), independent across steps",
            r"SDE: $dW = -HW\,dt + \sqrt{\eta C}\,dB_t$ with $t = k\eta$ (weak order 1)",
        ),
        steps=(
            ps.Step(lhs=H * st.sde + st.sde * H, rhs=eta * C,
                    why=r"Itô: $\frac{d}{dt}\mathbb E[WW^\top] = -HS - SH + \eta C = 0$ at stationarity"),
            ps.Step(lhs=st.discrete - A * st.discrete * A.T, rhs=eta**2 * C,
                    why=r"$w^+ = (I-\eta H)w - \eta\xi$: $S = ASA^\top + \eta^2 C$ at stationarity"),
            ps.Step(lhs=st.discrete - st.sde, rhs=gap,
                    why=r"the SDE is off by $O(\eta^2)$, i.e. relative order $\eta h$"),
        ),
        checks=(
            ps.monte_carlo(chains_ref, target=ps.part(1), label="SGD chains",
                           describe=f"{_CHAINS:.0e} real SGD chains (batch 1 from a 4-example dataset with gradient "
                                    f"covariance C; gradients by jax.grad of the model) run {_CHAIN_STEPS} steps from 0",
                           tolerance=f"4.5 SE; the start at 0 leaves a relative bias "
                                     f"(1 - eta h)^(2*{_CHAIN_STEPS}) <= 5e-6"),
            ps.exact(discrete_ref, target=ps.part(1), label="SGD chain, exact moments", vectorize=False,
                     describe="the real SGD chain's first two moments propagated exactly to stationarity: each "
                              "example's step is affine (Jacobian and offset by autodiff of the model), the moment "
                              "map's matrix by jax.jacfwd, its limit by repeated squaring"),
            ps.quadrature(sde_ref, target=ps.part(0), label="SDE, Ito isometry", rtol=1e-10,
                          describe="int_0^inf e^{-Ht} eta C e^{-Ht} dt by scipy quad_vec, H the Hessian of the mean "
                                   "loss and C the per-example gradient covariance (autodiff of the model)",
                          tolerance="adaptive quadrature at epsrel 1e-13 of a sum of decaying exponentials: rel 1e-10"),
            ps.order(euler_maruyama_ref, small=dt, sweep=(0.04, 0.02, 0.01, 0.005), order=1, target=ps.part(0),
                     label="SDE as the Euler-Maruyama limit", domains={dt: ps.fixed(0.04)}, vectorize=False,
                     describe="stationary covariance of the Euler-Maruyama chain of the SDE at step dt, its moments "
                              "propagated exactly (drift by autodiff of the model)",
                     tolerance="fitted log-log slope >= 1 - 0.25: Euler-Maruyama's stationary law converges at weak "
                               "order 1 in dt"),
            ps.order(discrete_ref, small=eta, sweep=(0.08, 0.04, 0.02, 0.01), order=2, target=ps.part(0),
                     label="SDE vs the SGD chain", vectorize=False,
                     describe="exact stationary covariance of the real SGD chain (moments propagated) over an "
                              "eta sweep",
                     tolerance="fitted log-log slope >= 2 - 0.25: the SDE covariance is O(eta) and misses "
                               "O(eta^2); it is not within SE of the chains at these eta"),
        ),
        references=("MATH.md D11.", MANDT, LI_TAI_E),
        model=quadratic_example,
    )


# ============================================================================ deep-linear/saxe

tau = sp.Symbol("tau", positive=True)
t = sp.Symbol("t", nonnegative=True)
u0 = sp.Symbol("u0", positive=True)
u = sp.Symbol("u", real=True)
q = sp.Symbol("q", real=True)


def _saxe_solve(w0, s_, tau_, t_end, **kw):
    """tau dw/dt = -grad L from the model (JAX gradient), by solve_ivp."""
    rhs = lambda _, w: -np.asarray(_deep_linear_grad_jit(w, s_)) / tau_
    return scipy.integrate.solve_ivp(rhs, (0.0, t_end), np.asarray(w0, dtype=np.float64), dense_output=False,
                                     **ODE, **kw)


@ps.kept
def _saxe_balanced(balanced, u, s, tau, t, u0):
    """(v(t), the half-time) of tau du/dt = ``balanced`` through v = 1/u, which makes it linear:
    SymPy's dsolve with v(0) = 1/u0, then v = 2/s solved for e^{-2st/tau}."""
    vv = sp.Symbol("v", positive=True)
    v_rate = sp.expand(sp.cancel((-balanced / u**2).subs(u, 1 / vv)))  # tau dv/dt = -tau u'/u^2
    v_fn = sp.Function("v")
    general = sp.dsolve(sp.Eq(tau * v_fn(t).diff(t), v_rate.subs(vv, v_fn(t))), v_fn(t), hint="1st_linear",
                        simplify=False).rhs
    (constant,) = sp.solve(sp.Eq(general.subs(t, 0), 1 / u0), sp.Symbol("C1"))  # v(0) = 1/u0
    v_sol = general.subs(sp.Symbol("C1"), constant)
    decay = sp.Symbol("E", positive=True)  # e^{-2st/tau}: u = s/2 is linear in it
    (at_half,) = sp.solve(sp.Eq(v_sol.subs(sp.exp(-2 * s * t / tau), decay), 2 / s), decay)
    return v_sol, -tau / (2 * s) * sp.log(at_half)


@ps.derivation("deep-linear/saxe")
def deep_linear_saxe() -> ps.Derivation:
    r"""Scalar two-layer linear network: conserved quantity, logistic solution, half-time, ntvar view.

    .. math::
        w_1^2 - w_2^2 = \text{const},\qquad
        u(t) = \frac{s\,e^{2st/\tau}}{e^{2st/\tau} - 1 + s/u_0},\qquad
        t_{1/2} = \frac{\tau}{2s}\ln\!\Big(\frac{s}{u_0} - 1\Big),

    .. math::
        \operatorname{ntvar}(u) = w_1^2 + w_2^2 = \sqrt{q^2 + 4u^2},\qquad
        \tau\dot u = \operatorname{ntcov}(u, U) = (s - u)\sqrt{q^2 + 4u^2}

    for :math:`\hat y = w_2w_1x` with whitened input (:math:`\mathbb E x^2 = 1`,
    :math:`s = \mathbb E xy`), :math:`\tau\dot w = -\nabla L`, product
    :math:`u = w_1w_2` and conserved :math:`q = w_1^2 - w_2^2`. Balanced
    (:math:`q = 0`): :math:`\operatorname{ntvar}(u) = 2u` and :math:`\tau\dot u = 2u(s-u)`,
    logistic growth like selection on a frequency. References: Saxe, McClelland &
    Ganguli (2014); MATH.md D12.
    """
    L = deep_linear_loss.sympy(w1, w2, s)
    U = -L
    field = [-sp.diff(L, p) / tau for p in W]  # tau dw/dt = -grad L
    conserved = w1**2 - w2**2
    observables = {u: w1 * w2, q: w1**2 - w2**2}
    # du/dt along the flow by the chain rule, and ntvar(u) by the engine; then both in the
    # observables: (w1^2 + w2^2)^2 = q^2 + 4u^2, and w1^2 + w2^2 >= 0 takes the root.
    rate = sp.factor(sum(sp.diff(w1 * w2, p) * f for p, f in zip(W, field)))
    ntvar_u = ps.ntvar(w1 * w2, W)
    ntvar_obs = sp.sqrt(q**2 + 4 * u**2)
    _identity(ntvar_u**2, (ntvar_obs**2).subs(observables), "deep-linear/saxe: ntvar(u)^2 = q^2 + 4u^2")
    _identity(rate, (s - w1 * w2) * ntvar_u / tau, "deep-linear/saxe: du/dt = (s - u) ntvar(u) / tau")
    price = (s - u) * ntvar_obs / tau

    # Balanced start (q = 0, w1 = w2 = sqrt(u)): tau du/dt = 2u(s - u), and v = 1/u turns it
    # linear; SymPy solves that with v(0) = 1/u0, and u = s/2 for the half-time.
    balanced = sp.factor((tau * rate).subs({w1: sp.sqrt(u), w2: sp.sqrt(u)}))
    v_sol, half = _saxe_balanced(balanced, u, s, tau, t, u0)
    e = sp.exp(2 * s * t / tau)
    u_t = s * e / (e - 1 + s / u0)  # 1/v, multiplied through by s e
    _identity(1 / v_sol, u_t, "deep-linear/saxe: u(t)")
    t_half = tau / (2 * s) * sp.log(s / u0 - 1)
    _identity(sp.exp(2 * s * half / tau), sp.exp(2 * s * t_half / tau), "deep-linear/saxe: half-time")

    symbols = {w1: ps.uniform(-1.5, 1.5), w2: ps.uniform(-1.5, 1.5), s: ps.uniform(1, 3), tau: ps.uniform(0.5, 2),
               t: ps.uniform(0, 3), u0: ps.uniform(0.005, 0.4)}

    def conserved_ref(v):
        sol = _saxe_solve([v["w1"], v["w2"]], v["s"], v["tau"], v["t"])
        w_end = sol.y[:, -1]
        return w_end[0] ** 2 - w_end[1] ** 2

    def u_ref(v):
        root = math.sqrt(v["u0"])  # balanced start w1 = w2 = sqrt(u0)
        w_end = _saxe_solve([root, root], v["s"], v["tau"], v["t"]).y[:, -1]
        return w_end[0] * w_end[1]

    def t_half_ref(v):
        root = math.sqrt(v["u0"])
        half = lambda _, w: w[0] * w[1] - v["s"] / 2
        half.terminal = True
        # Longer than any half-time in the domain; the event stops the integration.
        sol = _saxe_solve([root, root], v["s"], v["tau"], 50.0 * v["tau"], events=half)
        return sol.t_events[0][0]

    def ntvar_ref(v):
        product = lambda w: w[0] * w[1]
        return jnp.sum(jax.grad(product)(_weights(v)) ** 2)

    def price_ref(v):
        w = _weights(v)
        wdot = -_deep_linear_grad(w, v["s"]) / v["tau"]
        return jax.jvp(lambda w_: w_[0] * w_[1], (w,), (wdot,))[1]

    named: dict = {}
    dq_dt = _named(named, "dq_dt", r"\frac{d}{dt}\left(w_1^2 - w_2^2\right)",
                   sp.expand(sp.diff(conserved, w1) * field[0] + sp.diff(conserved, w2) * field[1]))
    return ps.Derivation(
        lhs=(r"w_1(t)^2 - w_2(t)^2", r"u(t)", r"t_{1/2}", r"\operatorname{ntvar}(u)", r"\dot u"),
        result=sp.Tuple(conserved, u_t, t_half, ntvar_obs, price),
        symbols=symbols,
        observables={**observables, **_observables(named)},
        notation=_notation(named),
        assumptions=(
            r"$\hat y = w_2 w_1 x$, $\mathbb E x^2 = 1$, $s = \mathbb E xy > 0$; flow $\tau\dot w = -\nabla L$",
            r"$w_1, w_2$ in the first part are the weights at $t = 0$",
            r"$u(t)$ and $t_{1/2}$: balanced start $w_1 = w_2 = \sqrt{u_0}$ with $0 < u_0 < s/2$",
        ),
        steps=(
            ps.Step(lhs=sp.Matrix(field), rhs=sp.Matrix([w2 * (s - u), w1 * (s - u)]) / tau,
                    why=r"$\tau\dot w_1 = w_2(s - w_1w_2)$, $\tau\dot w_2 = w_1(s - w_1w_2)$"),
            ps.Step(lhs=dq_dt, rhs=sp.S.Zero,
                    why=r"$\frac{d}{dt}(w_1^2 - w_2^2) = 2w_1\dot w_1 - 2w_2\dot w_2 = 0$"),
            ps.Step(lhs=ntvar_u, rhs=ntvar_obs,
                    why=r"$\operatorname{ntvar}(u) = w_1^2 + w_2^2$ and $(w_1^2+w_2^2)^2 = q^2 + 4u^2$"),
            ps.Step(lhs=ps.NtCov(w1 * w2, U, sp.Tuple(*W)) / tau, rhs=rate,
                    why=r"Price's equation: $\tau\dot u = \operatorname{ntcov}(u, U)$ is the chain rule "
                        r"$\nabla u\cdot\tau\dot w$ along the flow"),
            ps.Step(lhs=rate, rhs=price,
                    why=r"$\tau\dot u = (s-u)(w_1^2 + w_2^2) = (s-u)\operatorname{ntvar}(u)$, in the observables"),
            ps.Step(lhs=balanced, rhs=2 * u * (s - u),
                    why=r"balanced ($q = 0$, $w_1 = w_2 = \sqrt u$): $\operatorname{ntvar}(u) = 2u$"),
            ps.Step(lhs=tau * sp.diff(v_sol, t), rhs=2 - 2 * s * v_sol,
                    why=r"$v = 1/u$ obeys $\tau\dot v = 2 - 2sv$, linear: solved with $v(0) = 1/u_0$"),
            ps.Step(lhs=1 / v_sol, rhs=u_t, why=r"$u = 1/v$, multiplied through by $s\,e^{2st/\tau}$"),
            ps.Step(lhs=u_t.subs(t, t_half), rhs=s / 2,
                    why=r"$u(t_{1/2}) = s/2 \iff e^{2st_{1/2}/\tau} = s/u_0 - 1$"),
        ),
        checks=(
            ps.ode(conserved_ref, target=ps.part(0), label="conserved", instances=8, atol=1e-10,
                   describe="solve_ivp (DOP853, rtol 1e-12, atol 1e-14) of tau dw/dt = -jax.grad L from a random start",
                   tolerance="integrator at rtol 1e-12: rel 1e-9, abs 1e-10 (w1^2 - w2^2 may be near 0)"),
            ps.ode(u_ref, target=ps.part(1), label="u(t)", instances=8,
                   describe="solve_ivp of the two weights from the balanced start, u = w1 w2 at time t"),
            ps.ode(t_half_ref, target=ps.part(2), label="half-time", instances=8,
                   describe="solve_ivp with an event at w1 w2 = s/2"),
            ps.autodiff(ntvar_ref, target=ps.part(3), label="ntvar(u)", describe="|jax.grad(w1 w2)|^2"),
            ps.autodiff(price_ref, target=ps.part(4), label="du/dt", describe="jax.jvp of u along -jax.grad L / tau"),
        ),
        references=(SAXE, "MATH.md D12.", TAILCALLED),
        model=deep_linear_loss,
    )


# ============================================================================ price/sgd-corrections

NET_Z = (-1, sp.Rational(1, 2), 1, sp.Rational(3, 2))
NET_Y = (sp.Rational(-1, 2), sp.Rational(1, 2), sp.Rational(3, 4), 1)
_HELD_OUT = 2  # the property is the output on this input


# The named terms of the result, printed by their formulas (`notation`).
ntcov_xU, curv_x, noise_x = sp.symbols("ntcov_xU curv_x noise_x", real=True)
TERMS = {ntcov_xU: r"\operatorname{ntcov}(x, U)", curv_x: r"\nabla U^\top H_x \nabla U",
         noise_x: r"\operatorname{tr}(H_x \Sigma)"}


@ps.model
def net_example_utility(np, w1, w2, z, y):
    """U_i = -(1/2)(w2 tanh(w1 z_i) - y_i)^2 for one training example."""
    return -(w2 * np.tanh(w1 * z) - y) ** 2 / 2


def _net_grads(w):
    z = jnp.asarray([float(v) for v in NET_Z])
    y = jnp.asarray([float(v) for v in NET_Y])
    grad = jax.grad(lambda v, zi, yi: net_example_utility.jax(v[0], v[1], zi, yi))
    return jax.vmap(grad, in_axes=(None, 0, 0))(w, z, y)


def _held_out(w):
    return unit.jax(w[0], w[1], float(_HELD_OUT))


_held_out_jit = jit(_held_out)


@jit
def _enumerated_change(w, step, subsets, weights):
    """Exact E[dx] over minibatches: rows of ``subsets`` are 0/1 memberships, ``weights``
    their probabilities (padding rows weigh 0, so every batch size shares one shape)."""
    g = _net_grads(w)
    ghat = subsets @ g / jnp.maximum(subsets.sum(axis=1, keepdims=True), 1.0)
    after = jax.vmap(lambda gh: _held_out(w + step * gh))(ghat)
    return weights @ after - _held_out(w)


@jit
def _mean_change_taylor(w, subsets, weights):
    return taylor_coefficients(lambda h: _enumerated_change(w, h, subsets, weights), 2)


def _all_minibatches(n: int, batch: int):
    """Every subset of size ``batch``, padded to C(n, n//2) rows, with uniform weights."""
    rows = [[1.0 if i in c else 0.0 for i in range(n)] for c in itertools.combinations(range(n), batch)]
    size = math.comb(n, n // 2)
    weights = [1.0 / len(rows)] * len(rows) + [0.0] * (size - len(rows))
    rows += [[0.0] * n] * (size - len(rows))
    return jnp.asarray(rows), jnp.asarray(weights)


@ps.derivation("price/sgd-corrections")
def price_sgd_corrections() -> ps.Derivation:
    r"""Price's equation for one SGD step: the O(η²) terms the idealised equation drops.

    .. math::
        \mathbb E[\Delta x] = \eta\operatorname{ntcov}(x, U)
        + \frac{\eta^2}{2}\nabla U^\top H_x\nabla U
        + \frac{\eta^2}{2}\operatorname{tr}(H_x C) + O(\eta^3),
        \qquad C = \frac{\Sigma}{B}\frac{n-B}{n-1}

    for :math:`w^+ = w + \eta\hat g_B`, :math:`\hat g_B` the mean utility gradient
    of a minibatch of :math:`B` out of :math:`n` examples drawn without replacement.
    The idealised :math:`\dot x = \operatorname{ntcov}(x, U)` keeps the first term;
    the second is the finite step's curvature (D9), the third the minibatch noise
    (D10) acting through the curvature of :math:`x`. Against the flow over time
    :math:`\eta`, the step also lacks :math:`\frac{\eta^2}{2}\nabla x^\top H_U\nabla U`.

    Shown on :math:`f(z) = w_2\tanh(w_1z)` trained on four examples; :math:`x = f(2)`
    is a held-out prediction. References: MATH.md D9-D11; tailcalled (2022).
    """
    examples = [net_example_utility.sympy(w1, w2, z, y) for z, y in zip(NET_Z, NET_Y)]
    n = len(examples)
    U = sp.Add(*examples) / n
    x = unit.sympy(w1, w2, _HELD_OUT)
    grads = [sp.Matrix([sp.diff(e, p) for p in W]) for e in examples]
    gx = sp.Matrix([x]).jacobian(W).T
    gu = sp.Matrix([U]).jacobian(W).T
    hx = sp.hessian(x, W)
    sigma = minibatch_covariance(grads, 1, replace=True)
    cov = minibatch_covariance(grads, B, replace=False)
    factor = (n - B) / (B * (n - 1))

    definitions = {
        ntcov_xU: ps.ntcov(x, U, W),
        curv_x: (gu.T * hx * gu)[0, 0],
        noise_x: (hx * sigma).trace(),
    }
    result = eta * ntcov_xU + eta**2 / 2 * curv_x + eta**2 / 2 * factor * noise_x

    # The derivation proper: the step series along a symbolic minibatch gradient g_B
    # (the gradient of the linear utility g_B . w), then its mean over minibatches by
    # the moments E g_B = grad U and E g_B g_B^T = grad U grad U^T + C.
    ghat = sp.symbols("g_B1:3", real=True)
    along = sp.Poly(sp.expand(gd_step_series(x, sp.Add(*[g * p for g, p in zip(ghat, W)]), W, 2)), *ghat)

    def moment(powers):
        idx = [i for i, k in enumerate(powers) for _ in range(k)]
        if len(idx) == 1:
            return gu[idx[0]]
        return gu[idx[0]] * gu[idx[1]] + cov[idx[0], idx[1]]

    expected = sp.Add(*[coeff * moment(powers) for powers, coeff in along.terms()])

    symbols = {w1: ps.uniform(0.2, 1.5), w2: ps.uniform(-1.5, 1.5), B: ps.integers(1, n),
               eta: ps.uniform(1e-4, 2e-4)}

    def exact_ref(v):
        subsets, weights = _all_minibatches(n, int(round(v["B"])))
        return float(_enumerated_change(jnp.array([v["w1"], v["w2"]]), v["eta"], subsets, weights))

    def taylor_ref(v):
        # The exact mean change over every minibatch as a function of the step, expanded to
        # eta^2 by autodiff at eta = 0: the series' own coefficients, not only its remainder.
        subsets, weights = _all_minibatches(n, int(round(v["B"])))
        w = jnp.array([v["w1"], v["w2"]])
        c = _mean_change_taylor(w, subsets, weights)
        return float(c[1] * v["eta"] + c[2] * v["eta"] ** 2)

    flow2 = flow_series(x, U, W, 2)
    named: dict = {}
    steps = (
        ps.Step(lhs=r"\Delta x",
                rhs=(r"\eta\nabla x\cdot\hat g_B + \tfrac{\eta^2}{2}\hat g_B^\top H_x\hat g_B + O(\eta^3)"),
                why=r"Taylor along the step (gd/finite-step with $\nabla U$ replaced by $\hat g_B$)", check=False),
        ps.Step(lhs=r"\mathbb E[\hat g_B^\top H_x\hat g_B]",
                rhs=(r"\nabla U^\top H_x\nabla U + \operatorname{tr}(H_x C)"),
                why=r"$\mathbb E[\hat g\hat g^\top] = \nabla U\nabla U^\top + C$", check=False),
        ps.Step(lhs=_named(named, "mean_step", r"\mathbb E_B\big[\eta\nabla x\cdot\hat g_B + \tfrac{\eta^2}{2}"
                                                 r"\hat g_B^\top H_x\hat g_B\big]", expected),
                rhs=result,
                why=r"the series along a symbolic $\hat g_B$, averaged by its first two moments, with "
                    r"$C = \Sigma(n-B)/(B(n-1))$ (sgd/noise-covariance)"),
        ps.Step(lhs=result - _named(named, "flow_x", r"\Delta x_{\mathrm{flow}}", flow2),
                rhs=eta**2 / 2 * (factor * noise_x
                                  - _named(named, "turn_x", r"\nabla x^\top H_U\nabla U",
                                           (gx.T * sp.hessian(U, W) * gu)[0, 0])),
                why=r"against the flow over time $\eta$ (to $O(\eta^3)$): the noise term is added, the "
                    r"gradient's turning is missing"),
    )
    return ps.Derivation(
        lhs=r"\mathbb E[\Delta x]",
        result=result,
        symbols=symbols,
        observables={**definitions, **_observables(named)},
        notation={**TERMS, **_notation(named)},
        assumptions=(
            r"one SGD step $w^+ = w + \eta\hat g_B$; minibatch of $B$ of $n$ examples without replacement",
            r"$\mathbb E\hat g_B = \nabla U$, $\operatorname{Cov}\hat g_B = C$ (sgd/noise-covariance)",
            r"model: $f(z) = w_2\tanh(w_1z)$, $U = \frac1n\sum_i U_i$ on $n = 4$ examples, $x = f(2)$",
        ),
        steps=steps,
        checks=(
            ps.exact(taylor_ref, vectorize=False, domains={B: ps.integers(1, n)}, label="series coefficients",
                     describe="Taylor coefficients at eta = 0 (Taylor-mode autodiff) of the exact expectation over "
                              "every minibatch of real SGD steps, to eta^2",
                     rtol=1e-9, atol=1e-15,
                     tolerance="float64 round-off of the autodiff coefficients: rel 1e-9, abs 1e-15 "
                               "(the terms are of order eta ~ 1e-4)"),
            ps.order(exact_ref, small=eta, sweep=(0.01, 0.005, 0.0025), order=3, vectorize=False,
                     label="remainder", describe="exact expectation over every minibatch (all C(n, B) subsets) of "
                                                "real SGD steps",
                     tolerance="fitted log-log slope >= 3 - 0.25 (remainder O(eta^3))"),
        ),
        references=("MATH.md D9-D11.", TAILCALLED, LI_TAI_E),
        model=(unit, net_example_utility),
    )
