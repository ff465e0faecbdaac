"""The empirical neural tangent kernel is ntcov of two outputs (MATH.md D8, A8),
and the kernel of a one-hidden-layer network of any width as a sum over units."""

import jax
import jax.numpy as jnp
import sympy as sp

import pricesym as ps

JACOT = ("Jacot, A., Gabriel, F. & Hongler, C. (2018). Neural Tangent Kernel: convergence and "
         "generalization in neural networks. NeurIPS; arXiv:1806.07572.")
TAILCALLED = 'tailcalled (2022), "Price\'s equation for neural networks", LessWrong.'

x, xprime = sp.symbols("x xprime", real=True)  # xprime prints as x'
w1, w2 = sp.symbols("w1 w2", real=True)
eta = sp.Symbol("eta", positive=True)
train_x = sp.symbols("x1 x2", real=True)
train_y = sp.symbols("y1 y2", real=True)

m = sp.Symbol("m", integer=True, positive=True)
j = sp.Symbol("j", integer=True, nonnegative=True)
u, b, v = sp.IndexedBase("u", real=True), sp.IndexedBase("b", real=True), sp.IndexedBase("v", real=True)

WIDTHS = (1, 3, 8)  # concrete widths at which the symbolic-width kernel is checked


# ----------------------------------------------------------------------------- ntk/empirical


@ps.model
def tanh_neuron(np, x, w1, w2):
    """f(x; w) = w₂ tanh(w₁ x)."""
    return w2 * np.tanh(w1 * x)


@ps.model
def squared_loss(np, w1, w2, xs, ys):
    """L(w) = ½ Σ_i (f(x_i; w) − y_i)² over the training set."""
    residual = w2 * np.tanh(w1 * np.asarray(xs)) - np.asarray(ys)
    return np.sum(residual * residual) / 2


def _weights(x_):
    return jnp.stack([x_["w1"], x_["w2"]])


def _neuron(w, inp):
    return tanh_neuron.jax(inp, w[0], w[1])


def _loss(w, x_):
    xs = jnp.stack([x_[str(s)] for s in train_x])
    ys = jnp.stack([x_[str(s)] for s in train_y])
    return squared_loss.jax(w[0], w[1], xs, ys)


@ps.derivation("ntk/empirical")
def ntk_empirical() -> ps.Derivation:
    r"""The empirical NTK is ntcov of two outputs, and it drives f under gradient flow.

    .. math::
        \hat\Theta(x, x') = J_w f(x)\, J_w f(x')^\top = \operatorname{ntcov}\big(f(x), f(x')\big),
        \qquad
        \partial_t f(x) = \operatorname{ntcov}(f(x), U)
        = -\sum_i \hat\Theta(x, x_i)\,\partial_f \ell\big(f(x_i), y_i\big).

    Worked case :math:`f(x; w) = w_2\tanh(w_1 x)`:
    :math:`\hat\Theta(x,x') = \tanh(w_1x)\tanh(w_1x') + w_2^2\,x x'\,(1-\tanh^2 w_1x)(1-\tanh^2 w_1x')`,
    trained by gradient flow :math:`\dot w = -\nabla L` on
    :math:`L = \tfrac12\sum_{i=1}^2 (f(x_i) - y_i)^2` (so :math:`\partial_f\ell = f(x_i) - y_i`).
    The kernel is the unnormalised empirical one (no 1/N, no width scaling).
    A gradient-descent step of size η moves f(x) by η ∂_t f(x) + O(η²).
    References: Jacot, Gabriel & Hongler (2018); tailcalled (2022).
    """
    f_x = tanh_neuron.sympy(x, w1, w2)
    f_xp = tanh_neuron.sympy(xprime, w1, w2)
    kernel = ps.ntcov(f_x, f_xp, [w1, w2])
    utility = -squared_loss.sympy(w1, w2, list(train_x), list(train_y))
    flow = ps.ntcov(f_x, utility, [w1, w2])
    dfdl = [tanh_neuron.sympy(xi, w1, w2) - yi for xi, yi in zip(train_x, train_y)]  # ∂ℓ/∂f for ℓ = ½(f-y)²
    kernel_form = -sp.Add(*[kernel.xreplace({xprime: xi}) * d for xi, d in zip(train_x, dfdl)])
    result = sp.Tuple(kernel, kernel_form)

    def kernel_reference(x_):
        w = _weights(x_)
        return jnp.vdot(jax.jacrev(_neuron)(w, x_["x"]), jax.jacrev(_neuron)(w, x_["xprime"]))

    def flow_reference(x_):
        # df(x)/dt along dw/dt = -grad L: jvp of the network along the autodiff loss gradient.
        w = _weights(x_)
        return jax.jvp(lambda ww: _neuron(ww, x_["x"]), (w,), (-jax.grad(_loss)(w, x_),))[1]

    def gd_step_reference(x_):
        # One gradient-descent step of size eta on L; the change of f(x).
        w = _weights(x_)
        stepped = w - x_["eta"] * jax.grad(_loss)(w, x_)
        return _neuron(stepped, x_["x"]) - _neuron(w, x_["x"])

    wide = ps.uniform(-2, 2)
    return ps.Derivation(
        lhs=(r"\hat\Theta(x, x')", r"\partial_t f(x)"),
        result=result,
        symbols={x: wide, xprime: wide, **{xi: wide for xi in train_x}, **{yi: ps.uniform(-1, 1) for yi in train_y},
                 w1: ps.uniform(-1.5, 1.5), w2: ps.uniform(-1.5, 1.5)},
        assumptions=(r"$f(x; w) = w_2\tanh(w_1 x)$ with weights $w = (w_1, w_2)$",
                     r"gradient flow $\dot w = -\nabla_w L$ on $L = \frac12\sum_{i=1}^{2}(f(x_i) - y_i)^2$, $U = -L$"),
        steps=(
            ps.Step(lhs=ps.NtCov(f_x, f_xp, sp.Tuple(w1, w2)), rhs=kernel,
                    why=r"$\hat\Theta(x,x') = J_wf(x)J_wf(x')^\top$ is ntcov of the two outputs; $\tanh' = 1-\tanh^2$"),
            ps.Step(lhs=ps.NtCov(f_x, utility, sp.Tuple(w1, w2)), rhs=flow,
                    why=r"$\partial_t f(x) = \operatorname{ntcov}(f(x), U)$ under $\dot w = \nabla U$ (A2)"),
            ps.Step(lhs=flow, rhs=kernel_form,
                    why=r"chain rule through the outputs (A5): $\nabla U = -\sum_i J_wf(x_i)^\top\,\partial_f\ell_i$"),
        ),
        checks=(
            ps.autodiff(kernel_reference, target=ps.part(0), label="kernel",
                        describe="jax.jacrev of the network at x and x', contracted"),
            ps.autodiff(flow_reference, target=ps.part(1), label="df/dt under the flow",
                        describe="jax.jvp of the network along -jax.grad of the loss"),
            ps.order(gd_step_reference, target=lambda res: eta * res[1], small=eta, sweep=(0.04, 0.02, 0.01),
                     order=2, label="one gradient-descent step",
                     describe="f(x) after one GD step of size eta (autodiff gradient) minus f(x) before",
                     tolerance="GD step minus eta * df/dt is O(eta^2): fitted log-log slope >= 1.75"),
        ),
        references=(JACOT, TAILCALLED),
        model=(tanh_neuron, squared_loss),
    )


# ----------------------------------------------------------------------------- ntk/mlp


@ps.model
def mlp(np, x, u, b, v, m):
    """f(x) = (1/√m) Σ_j v_j tanh(u_j x + b_j): one hidden layer of width m, NTK parametrisation."""
    return np.sum(v * np.tanh(u * x + b)) / np.sqrt(m)


def unit_gradient(model=mlp, inp=x):
    """∇ of unit j's contribution to f(inp) with respect to its parameters (u_j, b_j, v_j).

    f is a sum of units with disjoint parameters, so these are the only nonzero
    entries of ∇_w f for unit j; the kernel is Σ_j of their dot products."""
    unit = model.sympy(inp, [u[j]], [b[j]], [v[j]], m)
    return unit, sp.Matrix([sp.diff(unit, p) for p in (u[j], b[j], v[j])])


def mlp_kernel(model=mlp):
    """Derive the NTK of a width-m one-hidden-layer network from ONE generic unit j.

    Returns ``(hidden, readout, kernel)``: the per-unit contributions of the
    input-layer parameters (u_j, b_j) and of the readout v_j, times m, and the
    kernel (1/m) Σ_j (hidden + readout) with symbolic m. Nothing here depends on
    the width, so the cost is constant; `at_width` expands the sum in O(m)."""
    unit_x, _ = unit_gradient(model, x)
    unit_xp, _ = unit_gradient(model, xprime)
    hidden = sp.factor_terms(ps.ntcov(unit_x, unit_xp, [u[j], b[j]]) * m)
    readout = sp.factor_terms(ps.ntcov(unit_x, unit_xp, [v[j]]) * m)
    return hidden, readout, sp.Sum(readout + hidden, (j, 0, m - 1)) / m


def at_width(expr, width: int):
    """``expr`` with m = width and the sum over units written out (u[0], …, u[width-1])."""
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise ps.AssumptionError(f"`width` must be a positive integer, got {width!r}.")
    return expr.subs(m, width).doit()


def unit_domains(width: int) -> dict:
    """Instance domains for the weights of a network of the given width."""
    out = {}
    for k in range(width):
        out.update({u[k]: ps.uniform(-1.5, 1.5), b[k]: ps.uniform(-1, 1), v[k]: ps.uniform(-1.5, 1.5)})
    return out


def _weight_arrays(x_, width):
    return tuple(jnp.stack([x_[f"{base}[{k}]"] for k in range(width)]) for base in ("u", "b", "v"))


def _kernel_by_autodiff(x_, width):
    """Empirical NTK of the width-`width` network: jax.jacrev over all 3·width weights, contracted."""
    def output(params, inp):
        return mlp.jax(inp, *params, width)

    params = _weight_arrays(x_, width)
    jx = jax.jacrev(output)(params, x_["x"])
    jxp = jax.jacrev(output)(params, x_["xprime"])
    return sum(jnp.vdot(a, c) for a, c in zip(jx, jxp))


def _width_check(width: int) -> ps.Check:
    return ps.autodiff(lambda x_: _kernel_by_autodiff(x_, width), target=lambda res: at_width(res, width),
                       domains=unit_domains(width), label=f"width {width}",
                       describe=f"jax.jacrev of the width-{width} network over all {3 * width} weights, contracted")


@ps.derivation("ntk/mlp")
def ntk_mlp() -> ps.Derivation:
    r"""NTK of a one-hidden-layer tanh network of symbolic width m (NTK parametrisation).

    For :math:`f(x) = \frac{1}{\sqrt m}\sum_{j=0}^{m-1} v_j\,\varphi(u_j x + b_j)` with
    :math:`\varphi = \tanh`, :math:`z_j = u_j x + b_j`, :math:`z_j' = u_j x' + b_j`:

    .. math::
        \Theta(x, x') = \operatorname{ntcov}\big(f(x), f(x')\big)
        = \frac1m\sum_{j=0}^{m-1}\Big[\varphi(z_j)\varphi(z_j')
          + v_j^2\,\varphi'(z_j)\varphi'(z_j')\,(x x' + 1)\Big],
        \qquad \varphi' = 1 - \varphi^2.

    The first term comes from the readout weights :math:`v_j`, the second from
    the input weights and biases :math:`(u_j, b_j)`. Units have disjoint
    parameters, so the kernel is a sum over units: it is derived for one generic
    unit and summed, and the cost of the derivation does not grow with the width
    (writing it out at width m costs O(m)). Scalar input; the derivation works
    for any activation with a derivative rule (tanh, sigmoid, ...).
    References: Jacot, Gabriel & Hongler (2018).
    """
    unit_x, grad_x = unit_gradient(mlp, x)
    unit_xp, _ = unit_gradient(mlp, xprime)
    hidden, readout, kernel = mlp_kernel(mlp)
    params = sp.Tuple(u[j], b[j], v[j])
    network = sp.Sum(unit_x * sp.sqrt(m), (j, 0, m - 1)) / sp.sqrt(m)
    return ps.Derivation(
        lhs=r"\Theta(x, x')",
        result=kernel,
        symbols={x: ps.uniform(-2, 2), xprime: ps.uniform(-2, 2), m: ps.choice(WIDTHS),
                 u[j]: ps.uniform(-1.5, 1.5), b[j]: ps.uniform(-1, 1), v[j]: ps.uniform(-1.5, 1.5)},
        assumptions=(r"$f(x) = \frac{1}{\sqrt m}\sum_{j=0}^{m-1} v_j \tanh(u_j x + b_j)$, scalar input $x$",
                     r"NTK parametrisation: weights of order 1, the width enters only through $1/\sqrt m$",
                     r"all $3m$ weights $(u_j, b_j, v_j)$ are trained; the kernel is the empirical one at these weights"),
        steps=(
            ps.Step(lhs="f(x)", rhs=network, check=False, why="the network: a sum of m units"),
            ps.Step(lhs=sp.Matrix([sp.Derivative(unit_x, p) for p in params]), rhs=grad_x,
                    why=r"gradient of unit $j$ with respect to $(u_j, b_j, v_j)$; $\tanh' = 1 - \tanh^2$"),
            ps.Step(lhs=r"\Theta(x, x')", rhs=sp.Sum(ps.NtCov(unit_x, unit_xp, params), (j, 0, m - 1)), check=False,
                    why=r"units have disjoint parameters: $\partial f/\partial\theta_k$ involves unit $k$ only, "
                        r"so cross-unit products vanish and ntcov is a sum over units"),
            ps.Step(lhs=ps.NtCov(unit_x, unit_xp, sp.Tuple(u[j], b[j])), rhs=hidden / m,
                    why=r"input weight and bias: $\partial_{u_j} = x\,\partial_{b_j}$, giving the factor $x x' + 1$"),
            ps.Step(lhs=ps.NtCov(unit_x, unit_xp, sp.Tuple(v[j])), rhs=readout / m,
                    why=r"readout weight: $\partial_{v_j} f = \varphi(z_j)/\sqrt m$"),
            ps.Step(lhs=r"\Theta(x, x')", rhs=kernel, check=False, why="sum the per-unit kernel over j"),
        ),
        checks=tuple(_width_check(w) for w in WIDTHS),
        references=(JACOT,),
        model=mlp,
    )
