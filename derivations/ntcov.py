"""Rules of the neural tangent covariance: linear maps, the exact chain rule, the
product rule, and the juice example that the product rule explains."""

import jax
import jax.numpy as jnp
import sympy as sp

import pricesym as ps
from pricesym.numeric import jax_ntcov, jax_ntvar

TAILCALLED = 'tailcalled (2022), "Price\'s equation for neural networks", LessWrong, and its comments.'
TAILCALLED_JACOBIAN = ("tailcalled (2022), comment ww9hFZnj6CqopNdW3 on \"Price's equation for neural networks\" "
                       "(the Jacobian strengthening), LessWrong.")
TAILCALLED_JUICE = ('tailcalled (2022), comment fXzSfo65KFbMguCav on "Positive values seem more robust and lasting '
                    'than prohibitions" ("policy-caused variance"), LessWrong.')

w1, w2, w3 = sp.symbols("w1 w2 w3", real=True)


def _gradient(expr, params):
    """The gradient as a column of unevaluated derivatives (a step's left side shows what is differentiated)."""
    return sp.Matrix([sp.Derivative(expr, s) for s in params])


def _weights(x, n):
    return jnp.array([x[f"w{i + 1}"] for i in range(n)])


def _matrix(prefix, rows, cols):
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{prefix}{i + 1}{j + 1}", real=True))


def _jax_matrix(x, prefix, rows, cols):
    return jnp.array([[x[f"{prefix}{i + 1}{j + 1}"] for j in range(cols)] for i in range(rows)])


# ----------------------------------------------------------------------------- A4: linear maps


@ps.model
def property_x(np, w1, w2, w3):
    """A vector property x(w) in R², nonlinear in the weights w in R³."""
    return np.stack([w1 * w2, w2 + w3**2])


@ps.model
def property_y(np, w1, w2, w3):
    """A second vector property y(w) in R²."""
    return np.stack([w1 + w3, np.sin(w2)])


def _x_of(w):
    return property_x.jax(*w)


def _y_of(w):
    return property_y.jax(*w)


@ps.derivation("ntcov/linear-maps")
def ntcov_linear_maps() -> ps.Derivation:
    r"""Covariance niceties of the neural tangent covariance: linear maps, symmetry, positivity.

    .. math::
        \operatorname{ntcov}(Fx, Gy) = F\,\operatorname{ntcov}(x, y)\,G^{\top}, \qquad
        \operatorname{ntcov}(y, x) = \operatorname{ntcov}(x, y)^{\top}, \qquad
        \operatorname{ntvar}(x) = J_x J_x^{\top} \succeq 0

    with :math:`\operatorname{ntcov}(x, y) = J_x J_y^\top` for vector properties
    :math:`x = (w_1w_2, w_2 + w_3^2)` and :math:`y = (w_1 + w_3, \sin w_2)` of weights
    :math:`w \in \mathbb R^3` and constant 2×2 matrices F, G.
    Positivity is shown for the 2×2 case by its trace :math:`\lVert J_x\rVert_F^2` and its
    determinant, a sum of squared 2×2 minors of :math:`J_x` (Cauchy–Binet).
    Assumptions: F and G do not depend on w; x and y are differentiable (here nonlinear).

    References: tailcalled (2022).
    """
    w = [w1, w2, w3]
    F, G = _matrix("F", 2, 2), _matrix("G", 2, 2)
    x, y = property_x.sympy(*w), property_y.sympy(*w)
    Jx, Jy = ps.jacobian(x, w), ps.jacobian(y, w)
    N = ps.ntcov(x, y, w)
    gram = ps.ntvar(x, w)
    column_pairs = [(0, 1), (0, 2), (1, 2)]
    trace = sp.Add(*(e**2 for e in Jx))
    det = sp.Add(*((Jx[0, i] * Jx[1, j] - Jx[0, j] * Jx[1, i]) ** 2 for i, j in column_pairs))
    result = (sp.MatMul(F, N, G.T, evaluate=False), N.T, sp.ImmutableMatrix([trace, det]))

    def mapped_ref(xx):
        Fn, Gn = _jax_matrix(xx, "F", 2, 2), _jax_matrix(xx, "G", 2, 2)
        return jax_ntcov(lambda v: Fn @ _x_of(v), lambda v: Gn @ _y_of(v), _weights(xx, 3))

    def swapped_ref(xx):
        return jax_ntcov(_y_of, _x_of, _weights(xx, 3))

    def gram_ref(xx):
        gram_num = jax_ntvar(_x_of, _weights(xx, 3))
        return jnp.array([jnp.trace(gram_num), jnp.linalg.det(gram_num)])

    return ps.Derivation(
        lhs=(r"\operatorname{ntcov}(Fx, Gy)", r"\operatorname{ntcov}(y, x)",
             r"\big(\operatorname{tr}, \det\big)\operatorname{ntvar}(x)"),
        result=result,
        symbols={**{s: ps.uniform(-1.5, 1.5) for s in w}, **{s: ps.uniform(-2, 2) for s in (*F, *G)}},
        assumptions=(
            r"$F, G \in \mathbb R^{2\times 2}$ constant (independent of $w$)",
            r"$x, y: \mathbb R^3 \to \mathbb R^2$ differentiable; $\operatorname{ntcov}(x, y) = J_x J_y^\top$",
        ),
        steps=(
            ps.Step(lhs=ps.jacobian(F * x, w), rhs=sp.MatMul(F, Jx, evaluate=False),
                    why=r"$J_{Fx} = F J_x$ since $F$ is constant"),
            ps.Step(lhs=ps.NtCov(F * x, G * y, sp.Tuple(*w)), rhs=sp.MatMul(F, Jx, Jy.T, G.T, evaluate=False),
                    why=r"$J_{Fx} J_{Gy}^\top = F J_x J_y^\top G^\top$"),
            ps.Step(lhs=ps.NtCov(x, y, sp.Tuple(*w)), rhs=N, why=r"$\operatorname{ntcov}(x, y) = J_x J_y^\top$"),
            ps.Step(lhs=ps.NtCov(y, x, sp.Tuple(*w)), rhs=N.T, why=r"$J_y J_x^\top = (J_x J_y^\top)^\top$"),
            ps.Step(lhs=sp.Trace(gram), rhs=trace, why=r"$\operatorname{tr} J J^\top = \lVert J\rVert_F^2 \ge 0$"),
            ps.Step(lhs=sp.Determinant(gram), rhs=det,
                    why=r"Cauchy--Binet: $\det J J^\top$ is the sum of squared $2\times2$ minors, $\ge 0$; "
                        r"with a nonnegative trace the symmetric $2\times 2$ matrix is positive semidefinite"),
        ),
        checks=(
            ps.autodiff(mapped_ref, target=ps.part(0), label="ntcov(Fx, Gy)",
                        describe="jax.jacrev of w -> F x(w) and w -> G y(w), J_Fx J_Gy^T"),
            ps.autodiff(swapped_ref, target=ps.part(1), label="ntcov(y, x)",
                        describe="jax.jacrev of y and x, J_y J_x^T"),
            ps.autodiff(gram_ref, target=ps.part(2), label="trace and determinant of ntvar(x)",
                        describe="jax.jacrev of x, then trace and numerical determinant of J_x J_x^T"),
        ),
        references=(TAILCALLED,),
        model=(property_x, property_y),
    )


# ----------------------------------------------------------------------------- A5: chain rule

x_, y_ = sp.symbols("x y", real=True)


@ps.model
def inner_properties(np, w1, w2):
    """The inner properties x = w1 + w2² and y = w1 w2."""
    return np.stack([w1 + w2**2, w1 * w2])


@ps.model
def outer_scalar(np, x, y):
    """The scalar maps of the worked case: f(x) = x³ and g(y) = sin y."""
    return x**3, np.sin(y)


@ps.model
def outer_f(np, x, y):
    """A vector map of v = (x, y): f(v) = (x y, sin x)."""
    return np.stack([x * y, np.sin(x)])


@ps.model
def outer_g(np, x, y):
    """A vector map of v = (x, y): g(v) = (x + y², exp y)."""
    return np.stack([x + y**2, np.exp(y)])


@ps.derivation("ntcov/chain-rule")
def ntcov_chain_rule() -> ps.Derivation:
    r"""The exact chain rule of the neural tangent covariance.

    .. math::
        \operatorname{ntcov}\big(f(x), g(y)\big) = J_f(x)\,\operatorname{ntcov}(x, y)\,J_g(y)^{\top},
        \qquad \text{scalars: } f'(x)\,g'(y)\,\operatorname{ntcov}(x, y)

    Exact, not a first-order (delta-method) approximation as for statistical covariances,
    because :math:`J_{f\circ x} = J_f(x) J_x` holds pointwise. Worked case: weights
    :math:`w = (w_1, w_2)`, :math:`x = w_1 + w_2^2`, :math:`y = w_1 w_2`, :math:`f(x) = x^3`,
    :math:`g(y) = \sin y`, giving :math:`3x^2\cos(y)\,w_2(2w_1+1)` (:math:`450\cos 2` at w = (1, 2)).
    Vector case: :math:`v = (x, y)`, :math:`f(v) = (xy, \sin x)`, :math:`g(v) = (x + y^2, e^{y})`.
    Assumptions: f, g, x, y differentiable.

    References: tailcalled (2022), the Jacobian comment.
    """
    w = [w1, w2]
    inner = inner_properties.sympy(*w)
    x_w, y_w = inner
    f_x, g_y = outer_scalar.sympy(x_, y_)
    scalar = sp.diff(f_x, x_) * sp.diff(g_y, y_) * sp.factor(ps.ntcov(x_w, y_w, w))
    Jf, Jg = ps.jacobian(outer_f.sympy(x_, y_), [x_, y_]), ps.jacobian(outer_g.sympy(x_, y_), [x_, y_])
    vector = sp.MatMul(Jf, ps.ntvar(inner, w), Jg.T, evaluate=False)
    at_w = {x_: x_w, y_: y_w}
    composed_f, composed_g = outer_f.sympy(x_w, y_w), outer_g.sympy(x_w, y_w)

    def scalar_ref(xx):
        f_of_w = lambda ww: outer_scalar.jax(*inner_properties.jax(*ww))[0]
        g_of_w = lambda ww: outer_scalar.jax(*inner_properties.jax(*ww))[1]
        return jax_ntcov(f_of_w, g_of_w, _weights(xx, 2))[0, 0]

    def vector_ref(xx):
        f_of_w = lambda ww: outer_f.jax(*inner_properties.jax(*ww))
        g_of_w = lambda ww: outer_g.jax(*inner_properties.jax(*ww))
        return jax_ntcov(f_of_w, g_of_w, _weights(xx, 2))

    return ps.Derivation(
        lhs=(r"\operatorname{ntcov}\big(x^3, \sin y\big)", r"\operatorname{ntcov}\big(f(v), g(v)\big)"),
        result=(scalar, vector),
        symbols={w1: ps.uniform(-2, 2), w2: ps.uniform(-2, 2)},
        observables={x_: x_w, y_: y_w},
        assumptions=(r"$x = w_1 + w_2^2$, $y = w_1 w_2$; $f$ and $g$ differentiable",),
        steps=(
            ps.Step(lhs=_gradient(f_x.xreplace(at_w), w), rhs=sp.diff(f_x, x_) * _gradient(x_w, w),
                    why=r"chain rule $\nabla f(x) = f'(x) \nabla x$, pointwise"),
            ps.Step(lhs=ps.NtCov(f_x.xreplace(at_w), g_y.xreplace(at_w), sp.Tuple(*w)),
                    rhs=sp.diff(f_x, x_) * sp.diff(g_y, y_) * ps.NtCov(x_w, y_w, sp.Tuple(*w)),
                    why=r"$J_{f\circ x} J_{g\circ y}^\top = f'(x)\, J_x J_y^\top\, g'(y)$"),
            ps.Step(lhs=ps.NtCov(x_w, y_w, sp.Tuple(*w)), rhs=sp.factor(ps.ntcov(x_w, y_w, w)),
                    why=r"$\nabla x = (1, 2w_2)$, $\nabla y = (w_2, w_1)$"),
            ps.Step(lhs=ps.jacobian(composed_f, w), rhs=sp.MatMul(Jf, ps.jacobian(inner, w), evaluate=False),
                    why=r"vector chain rule $J_{f\circ v} = J_f(v) J_v$"),
            ps.Step(lhs=ps.NtCov(composed_f, composed_g, sp.Tuple(*w)), rhs=vector,
                    why=r"$J_{f\circ v} J_{g\circ v}^\top = J_f\, J_v J_v^\top\, J_g^\top$"),
        ),
        checks=(
            ps.autodiff(scalar_ref, target=ps.part(0), label="ntcov(x^3, sin y)",
                        describe="jax.jacrev of the composed maps w -> x(w)^3 and w -> sin y(w)"),
            ps.autodiff(vector_ref, target=ps.part(1), label="ntcov(f(v), g(v))",
                        describe="jax.jacrev of the composed vector maps w -> f(v(w)), w -> g(v(w))"),
        ),
        references=(TAILCALLED_JACOBIAN,),
        model=(inner_properties, outer_scalar, outer_f, outer_g),
    )


# ----------------------------------------------------------------------------- A5: product rule

J_, A_ = sp.symbols("J A", positive=True)


@ps.model
def product_properties(np, w1, w2, w3):
    """A property x = w1 w2 + w3 and two factors J = σ(w1 + w2), A = σ(w2 + w3)."""
    return w1 * w2 + w3, np.sigmoid(w1 + w2), np.sigmoid(w2 + w3)


@ps.derivation("ntcov/product-rule")
def ntcov_product_rule() -> ps.Derivation:
    r"""The product rule of the neural tangent covariance.

    .. math::
        \operatorname{ntcov}(x, J A) = J\,\operatorname{ntcov}(x, A) + A\,\operatorname{ntcov}(x, J)

    The chain rule applied to :math:`g(J, A) = JA` with :math:`J_g = (A, J)`. Worked model:
    :math:`x = w_1w_2 + w_3`, :math:`J = \sigma(w_1+w_2)`, :math:`A = \sigma(w_2+w_3)`, so
    :math:`\operatorname{ntcov}(x, A) = A(1-A)(w_1+1)` and
    :math:`\operatorname{ntcov}(x, J) = J(1-J)(w_1+w_2)`.
    Assumptions: x, J, A differentiable scalar properties of the same weights.

    References: tailcalled (2022), the Jacobian comment (product rule derived from it).
    """
    w = [w1, w2, w3]
    x, J, A = product_properties.sympy(*w)
    obs = {J_: J, A_: A}
    cov_A = ps.in_terms_of(ps.ntcov(x, A, w), obs)
    cov_J = ps.in_terms_of(ps.ntcov(x, J, w), obs)
    result = J_ * cov_A + A_ * cov_J
    params = sp.Tuple(*w)

    def product_ref(xx):
        prop = lambda ww: product_properties.jax(*ww)[0]
        reward = lambda ww: product_properties.jax(*ww)[1] * product_properties.jax(*ww)[2]
        return jax_ntcov(prop, reward, _weights(xx, 3))[0, 0]

    return ps.Derivation(
        lhs=r"\operatorname{ntcov}(x, JA)",
        result=result,
        symbols={w1: ps.uniform(-2, 2), w2: ps.uniform(-2, 2), w3: ps.uniform(-2, 2)},
        observables=obs,
        assumptions=(r"$x$, $J$, $A$ differentiable scalar properties of the weights $w$",),
        steps=(
            ps.Step(lhs=_gradient(J * A, w),
                    rhs=sp.MatAdd(sp.MatMul(J_, ps.in_terms_of(ps.jacobian(A, w).T, obs)),
                                  sp.MatMul(A_, ps.in_terms_of(ps.jacobian(J, w).T, obs)), evaluate=False),
                    why=r"Leibniz: $\nabla(JA) = J\nabla A + A\nabla J$ (the chain rule with $J_g = (A, J)$)"),
            ps.Step(lhs=ps.NtCov(x, J * A, params), rhs=J * ps.NtCov(x, A, params) + A * ps.NtCov(x, J, params),
                    why=r"bilinearity of $\nabla x^\top(\cdot)$"),
            ps.Step(lhs=ps.NtCov(x, A, params), rhs=cov_A, why=r"$\sigma' = \sigma(1-\sigma)$, $\nabla x = (w_2, w_1, 1)$"),
            ps.Step(lhs=ps.NtCov(x, J, params), rhs=cov_J, why=r"$\sigma' = \sigma(1-\sigma)$"),
        ),
        checks=(
            ps.autodiff(product_ref, describe="jax.jacrev of x and of the product J A, J_x J_JA^T"),
        ),
        references=(TAILCALLED_JACOBIAN,),
        model=product_properties,
    )


# ----------------------------------------------------------------------------- A6: juice

w, j = sp.Symbol("w", real=True), sp.Symbol("j", nonnegative=True)
a_ = sp.Symbol("a", positive=True)


@ps.model
def approach_policy(np, w):
    """a = P(approach) = σ(w) for a policy whose logit is the single bias w."""
    return np.sigmoid(w)


@ps.model
def juice_and_approach(np, w1, w2):
    """Shared weights: J = P(juice seen) = σ(w1 + w2), A = P(approach) = σ(w2)."""
    return np.sigmoid(w1 + w2), np.sigmoid(w2)


@ps.derivation("juice/approach")
def juice_approach() -> ps.Derivation:
    r"""The juice example: reward R = J·A teaches approach in proportion to policy-caused variance.

    .. math::
        \dot a = \operatorname{ntcov}(a, j a) = j\,\operatorname{ntvar}(a) = j\,a^2(1-a)^2,
        \qquad
        \dot A = \operatorname{ntcov}(A, JA) = J\,\operatorname{ntvar}(A) + A\,\operatorname{ntcov}(A, J)

    Reward :math:`R = J\cdot A` (J: juice present or seen, A: the agent approaches),
    utility :math:`U = \mathbb E[R]`, flow :math:`\dot w = \nabla U`. First case: J does not
    depend on the weights, :math:`j = \mathbb E[J]`, and :math:`a = \sigma(w)` has a single
    bias, so the linear-map rule gives :math:`j\operatorname{ntvar}(a)` (0.02205 at a = 0.3,
    j = 0.5; no learning when j = 0). Second case: shared weights, :math:`J = \sigma(w_1+w_2)`,
    :math:`A = \sigma(w_2)`, by the product rule:
    :math:`JA^2(1-A)^2 + A^2(1-A)J(1-J)` (0.0378 at J = 0.5, A = 0.3).
    Assumptions: J and A are conditionally independent given w, so :math:`U = \mathbb E[J]\,\mathbb E[A]`.
    The set-up is a reconstruction of the post's example (MATH.md F).

    References: tailcalled (2022), the post and the "policy-caused variance" comment.
    """
    a_model = approach_policy.sympy(w)
    rate_single = ps.in_terms_of(ps.ntcov(a_model, j * a_model, [w]), {a_: ps.sigmoid(w)})
    ww = [w1, w2]
    J, A = juice_and_approach.sympy(*ww)
    obs_shared = {J_: J, A_: A}
    var_A = ps.in_terms_of(ps.ntvar(A, ww), obs_shared)
    cov_AJ = ps.in_terms_of(ps.ntcov(A, J, ww), obs_shared)
    rate_shared = J_ * var_A + A_ * cov_AJ
    params = sp.Tuple(*ww)

    def single_ref(xx):
        U = lambda b: xx["j"] * approach_policy.jax(b)
        return jax.jvp(approach_policy.jax, (xx["w"],), (jax.grad(U)(xx["w"]),))[1]

    def shared_ref(xx):
        U = lambda v: juice_and_approach.jax(*v)[0] * juice_and_approach.jax(*v)[1]
        A_of_w = lambda v: juice_and_approach.jax(*v)[1]
        v0 = _weights(xx, 2)
        return jax.jvp(A_of_w, (v0,), (jax.grad(U)(v0),))[1]

    return ps.Derivation(
        lhs=(r"\dot a", r"\dot A"),
        result=(rate_single, rate_shared),
        symbols={w: ps.uniform(-4, 4), j: ps.uniform(0, 1), w1: ps.uniform(-3, 3), w2: ps.uniform(-3, 3)},
        observables={a_: ps.sigmoid(w), **obs_shared},
        assumptions=(
            r"reward $R = J\cdot A$, utility $U = \mathbb E[R]$, flow $\dot w = \nabla_w U$",
            r"case 1: $J$ independent of the policy, $j = \mathbb E[J]$, $a = \sigma(w)$",
            r"case 2: $J = \sigma(w_1 + w_2)$ and $A = \sigma(w_2)$ share $w_2$",
            r"$J$ and $A$ conditionally independent given $w$, so $\mathbb E[JA] = \mathbb E[J]\,\mathbb E[A]$",
        ),
        steps=(
            ps.Step(lhs=ps.NtCov(a_model, j * a_model, sp.Tuple(w)), rhs=j * ps.NtVar(a_model, sp.Tuple(w)),
                    why=r"$\dot a = \operatorname{ntcov}(a, U)$ with $U = ja$; $j$ is a constant linear map"),
            ps.Step(lhs=ps.NtVar(a_model, sp.Tuple(w)), rhs=a_**2 * (1 - a_) ** 2,
                    why=r"single bias: $\operatorname{ntvar}(\sigma(w)) = a^2(1-a)^2$"),
            ps.Step(lhs=ps.NtCov(A, J * A, params), rhs=J * ps.NtVar(A, params) + A * ps.NtCov(A, J, params),
                    why="product rule"),
            ps.Step(lhs=ps.NtVar(A, params), rhs=var_A, why=r"$\nabla A = A(1-A)(0, 1)$"),
            ps.Step(lhs=ps.NtCov(A, J, params), rhs=cov_AJ, why=r"$\nabla J = J(1-J)(1, 1)$"),
        ),
        checks=(
            ps.autodiff(single_ref, target=ps.part(0), label="da/dt, policy-independent juice",
                        describe="jax.jvp of the policy along jax.grad of U = j sigma(w)"),
            ps.autodiff(shared_ref, target=ps.part(1), label="dA/dt, shared weights",
                        describe="jax.jvp of A along jax.grad of U = J A"),
        ),
        references=(TAILCALLED, TAILCALLED_JUICE),
        model=(approach_policy, juice_and_approach),
    )
