"""A single-bias Bernoulli policy: the worked example of tailcalled's comments."""

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

import pricesym as ps
from pricesym.numeric import estimate, jit

TAILCALLED = 'tailcalled (2022), "Price\'s equation for neural networks", LessWrong, and its comments.'

b = sp.Symbol("b", real=True)
p = sp.Symbol("p", positive=True)


@ps.model
def bernoulli_policy(np, b):
    """P(do) for a policy whose logit is the single bias b."""
    return np.sigmoid(b)


@ps.derivation("bernoulli/ntvar")
def bernoulli_ntvar() -> ps.Derivation:
    r"""Neural tangent variance of a Bernoulli policy p = σ(b).

    .. math:: \operatorname{ntvar}(p) = \left(\frac{\partial p}{\partial b}\right)^2 = p^2 (1-p)^2

    Not p(1-p): in the tails it vanishes quadratically. Assumes the logit is a
    single free bias b. Reference: tailcalled (2022), comments.
    """
    policy = bernoulli_policy.sympy(b)
    raw = ps.ntvar(policy, [b])
    result = ps.in_terms_of(raw, {p: ps.sigmoid(b)})
    return ps.Derivation(
        lhs=ps.NtVar(p, sp.Tuple(b)),
        result=result,
        symbols={b: ps.uniform(-6, 6)},
        observables={p: ps.sigmoid(b)},
        assumptions=(r"$p = \sigma(b)$ with a single free bias $b$",),
        steps=(
            ps.Step(lhs=sp.Derivative(policy, b), rhs=policy * (1 - policy), why=r"$\sigma' = \sigma(1-\sigma)$"),
            ps.Step(lhs=ps.NtVar(policy, sp.Tuple(b)), rhs=raw, why="one parameter: ntvar is the squared derivative"),
            ps.Step(lhs=raw, rhs=result, why=r"in terms of the observable $p = \sigma(b)$"),
        ),
        checks=(
            ps.autodiff(lambda x: jax.grad(bernoulli_policy.jax)(x["b"]) ** 2,
                        describe="jax.grad of the policy, squared"),
        ),
        references=(TAILCALLED,),
        model=bernoulli_policy,
    )


@ps.derivation("bernoulli/reinforce")
def bernoulli_reinforce() -> ps.Derivation:
    r"""REINFORCE on a Bernoulli policy with rewards ±1.

    Per-sample update :math:`r\,\partial_b \log\pi(a)`: :math:`1-p` for "do"
    (r = +1), :math:`p` for "don't" (r = −1): every sample pushes p up.

    .. math::
        \mathbb E[\text{update}] = 2p(1-p), \qquad
        \operatorname{Var}[\text{update}] = p(1-p)(1-2p)^2, \qquad
        \dot p = \operatorname{ntcov}(p, U) = 2p^2(1-p)^2

    with :math:`U = \mathbb E[r] = 2p - 1` and flow :math:`\dot b = \partial_b U`.
    Reference: tailcalled (2022), comments; Williams (1992).
    """
    policy = bernoulli_policy.sympy(b)
    update_do = sp.diff(sp.log(policy), b)  # r = +1
    update_dont = -sp.diff(sp.log(1 - policy), b)  # r = -1
    mean = policy * update_do + (1 - policy) * update_dont
    var = policy * update_do**2 + (1 - policy) * update_dont**2 - mean**2
    utility = 2 * policy - 1
    pdot = ps.ntcov(policy, utility, [b])
    obs = {p: ps.sigmoid(b)}
    result = sp.Tuple(*(ps.in_terms_of(e, obs) for e in (mean, var, pdot)))

    def sampled_updates(x, key):
        # Sample actions from the model and apply the REINFORCE rule r * d/db log pi(a).
        prob = bernoulli_policy.jax(x["b"])
        a = jax.random.bernoulli(key, prob, (400_000,))
        r = jnp.where(a, 1.0, -1.0)
        log_pi = lambda bb, act: jnp.where(act, jnp.log(bernoulli_policy.jax(bb)), jnp.log1p(-bernoulli_policy.jax(bb)))
        score = jax.vmap(jax.grad(log_pi), in_axes=(None, 0))(x["b"], a)
        return r * score

    def mean_ref(x, key):
        return estimate(sampled_updates(x, key))

    def var_ref(x, key):
        u = sampled_updates(x, key)
        v = (u - u.mean()) ** 2
        return estimate(v)  # SE of the variance from the 4th moment of the samples

    def pdot_ref(x):
        # dp/dt along the flow db/dt = dU/db, U = E[r] computed from the model.
        U = lambda bb: 2 * bernoulli_policy.jax(bb) - 1
        return jax.jvp(bernoulli_policy.jax, (x["b"],), (jax.grad(U)(x["b"]),))[1]

    return ps.Derivation(
        lhs=(r"\mathbb E[\text{update}]", r"\operatorname{Var}[\text{update}]", r"\dot p"),
        result=result,
        symbols={b: ps.uniform(-3, 3)},
        observables=obs,
        assumptions=(r"$p = \sigma(b)$; rewards $r(\text{do}) = 1$, $r(\text{don't}) = -1$",
                     r"flow $\dot b = \partial_b U$ with $U = \mathbb E[r]$"),
        steps=(
            ps.Step(lhs=update_do, rhs=1 - p, why=r"$\partial_b \log\sigma(b) = 1-\sigma(b)$"),
            ps.Step(lhs=update_dont, rhs=p, why=r"$-\partial_b \log(1-\sigma(b)) = \sigma(b)$"),
            ps.Step(lhs=mean, rhs=result[0], why="average over the two actions"),
            ps.Step(lhs=utility.diff(b), rhs=result[0], why="policy-gradient theorem: the mean update is dU/db"),
            ps.Step(lhs=pdot, rhs=result[2], why=r"$\dot p = \operatorname{ntcov}(p, U)$"),
        ),
        checks=(
            ps.monte_carlo(mean_ref, target=ps.part(0), label="expected update",
                           describe="sample 4e5 actions from the policy, average r d/db log pi"),
            ps.monte_carlo(var_ref, target=ps.part(1), label="per-sample variance",
                           describe="sample 4e5 actions, squared deviations (SE from the 4th moment)"),
            ps.autodiff(pdot_ref, target=ps.part(2), label="dp/dt under the flow",
                        describe="jax.jvp of the policy along jax.grad of U"),
        ),
        references=(TAILCALLED,
                    "Williams, R. J. (1992). Simple statistical gradient-following algorithms. Machine Learning 8:229-256."),
        model=bernoulli_policy,
    )


# ----------------------------------------------------------------------------- flow solution

w = sp.Symbol("w", real=True)
w0 = sp.Symbol("w0", real=True)
t = sp.Symbol("t", nonnegative=True)
p0 = sp.Symbol("p0", positive=True)


def _bernoulli_utility(bias):
    return 2 * bernoulli_policy.jax(bias) - 1  # U = E[r] with r = +1 for "do", -1 for "don't"


@jit
def _bernoulli_velocity(bias):
    return jax.grad(_bernoulli_utility)(bias)


@ps.derivation("bernoulli/flow-solution")
def bernoulli_flow_solution() -> ps.Derivation:
    r"""Exact gradient flow of a Bernoulli policy with rewards ±1, as an invariant.

    .. math::
        w(t) + \sinh w(t) = w_0 + \sinh w_0 + t

    Under :math:`\dot w = \partial_w U` with :math:`U = 2\sigma(w) - 1` the velocity is
    :math:`2p(1-p) = 1/(1+\cosh w)`, so :math:`(1+\cosh w)\,\dot w = 1`: the quantity
    :math:`w + \sinh w` grows at unit rate. In observables
    :math:`\operatorname{logit} p + \frac{2p-1}{2p(1-p)}` grows at unit rate
    (p₀ = 0.3, t = 1 gives p = 0.4025921202). For small p it reduces to
    :math:`p(t) \approx p_0/(1 - 2p_0 t)`.
    Assumptions: a single bias w, exact gradient flow, rewards +1 ("do") and −1 ("don't").

    References: tailcalled (2022), comments (the flow; the exact solution is derived here).
    """
    U = 2 * bernoulli_policy.sympy(w) - 1
    rate = sp.diff(U, w)
    inverse_rate = sp.expand(sp.cancel(1 / rate.rewrite(sp.exp)))
    antiderivative = sp.integrate(1 + sp.cosh(w), w)
    result = antiderivative.subs(w, w0) + t
    in_p = ps.logit(p0) + (2 * p0 - 1) / (2 * p0 * (1 - p0)) + t

    def invariant_ref(x):
        # Integrate the model's gradient flow to time t; read w + sinh w at the end point.
        sol = solve_ivp(lambda _, y: [float(_bernoulli_velocity(y[0]))], (0.0, x["t"]), [x["w0"]],
                        method="DOP853", rtol=1e-12, atol=1e-14)
        if not sol.success:
            raise ps.CheckError(f"the Bernoulli gradient-flow integration failed: {sol.message}")
        w_t = sol.y[0, -1]
        return w_t + np.sinh(w_t)

    return ps.Derivation(
        lhs=r"w(t) + \sinh w(t)",
        result=result,
        symbols={w0: ps.uniform(-3, 3), t: ps.uniform(0, 5), w: ps.uniform(-4, 4)},
        observables={p0: ps.sigmoid(w0)},
        assumptions=(r"$p = \sigma(w)$ with a single bias $w$, $w(0) = w_0$",
                     r"rewards $r(\text{do}) = 1$, $r(\text{don't}) = -1$; flow $\dot w = \partial_w U$, $U = 2p - 1$"),
        steps=(
            ps.Step(lhs=sp.Derivative(U, w), rhs=2 * ps.sigmoid(w) * (1 - ps.sigmoid(w)),
                    why=r"$\dot w = \partial_w U = 2\sigma'(w) = 2p(1-p)$"),
            ps.Step(lhs=inverse_rate, rhs=1 + sp.cosh(w),
                    why=r"$1/(2\sigma(1-\sigma)) = (e^{w} + 2 + e^{-w})/2 = 1 + \cosh w$"),
            ps.Step(lhs=(1 + sp.cosh(w)) * rate, rhs=sp.S.One,
                    why=r"$\frac{d}{dt}(w + \sinh w) = (1 + \cosh w)\,\dot w = 1$: separate the variables"),
            ps.Step(lhs=sp.Derivative(antiderivative, w), rhs=1 + sp.cosh(w),
                    why=r"$w + \sinh w$ is an antiderivative of $1 + \cosh w$; integrate from 0 to $t$"),
            ps.Step(lhs=result, rhs=in_p,
                    why=r"in observables: $w_0 = \operatorname{logit} p_0$, $\sinh w_0 = \frac{2p_0-1}{2p_0(1-p_0)}$"),
        ),
        checks=(
            ps.ode(invariant_ref, label="w + sinh w at time t",
                   describe="solve_ivp (DOP853, rtol 1e-12, atol 1e-14) of dw/dt = jax.grad(U)(w) from w0 to t; "
                            "w(t) + sinh w(t) at the end point",
                   tolerance="integrator at rtol 1e-12 over t <= 5: agreement to rel 1e-9"),
        ),
        references=(TAILCALLED,),
        model=bernoulli_policy,
    )


# ----------------------------------------------------------------------------- two logits

theta_do, theta_dont = sp.symbols("theta_do theta_dont", real=True)


@ps.model
def two_logit_policy(np, theta_do, theta_dont):
    """(P(do), P(don't)) = softmax of two free logits."""
    return np.softmax(np.array([theta_do, theta_dont]))


@ps.derivation("bernoulli/two-logit")
def bernoulli_two_logit() -> ps.Derivation:
    r"""The same Bernoulli policy with two free logits: ntcov depends on the parametrisation.

    .. math::
        \operatorname{ntvar}(p) = 2p^2(1-p)^2, \qquad \dot p = \operatorname{ntcov}(p, U) = 4p^2(1-p)^2

    With :math:`(p, 1-p) = \operatorname{softmax}(\theta_{do}, \theta_{dont})` the gradient of p
    is :math:`p(1-p)\,(1, -1)`, twice the squared norm of the single-bias gradient, so ntvar
    and the speed of the flow double (``bernoulli/ntvar``: :math:`p^2(1-p)^2`) although the
    policy family is the same. Utility :math:`U = \mathbb E[r] = 2p - 1` for rewards ±1.
    Assumptions: both logits are free weights; flow :math:`\dot\theta = \nabla_\theta U`.

    References: tailcalled (2022), comments (the Bernoulli example; the two-logit contrast is derived here).
    """
    params = [theta_do, theta_dont]
    pi = two_logit_policy.sympy(theta_do, theta_dont)
    prob, other = pi[0], pi[1]
    utility = prob - other  # E[r] with r = +1, -1
    as_p = lambda e: ps.in_terms_of(e.xreplace({other: 1 - prob}), {p: prob})  # pi_1 = 1 - p
    ntvar_p = as_p(ps.ntvar(prob, params))
    pdot = as_p(ps.ntcov(prob, utility, params))

    def policy_prob(theta):
        return two_logit_policy.jax(theta[0], theta[1])[0]

    def policy_utility(theta):
        return two_logit_policy.jax(theta[0], theta[1]) @ jnp.array([1.0, -1.0])

    def theta(x):
        return jnp.array([x["theta_do"], x["theta_dont"]])

    def ntvar_ref(x):
        g = jax.grad(policy_prob)(theta(x))
        return g @ g

    def pdot_ref(x):
        return jax.jvp(policy_prob, (theta(x),), (jax.grad(policy_utility)(theta(x)),))[1]

    return ps.Derivation(
        lhs=(r"\operatorname{ntvar}(p)", r"\dot p"),
        result=(ntvar_p, pdot),
        symbols={theta_do: ps.uniform(-3, 3), theta_dont: ps.uniform(-3, 3)},
        observables={p: prob},
        assumptions=(r"$(p, 1-p) = \operatorname{softmax}(\theta_{do}, \theta_{dont})$ with both logits free",
                     r"rewards $\pm 1$, $U = 2p - 1$, flow $\dot\theta = \nabla_\theta U$"),
        steps=(
            ps.Step(lhs=other, rhs=1 - p, why=r"probabilities sum to one: $\pi_{dont} = 1 - p$"),
            ps.Step(lhs=ps.jacobian(prob, params).T, rhs=sp.Matrix([p * (1 - p), -p * (1 - p)]),
                    why=r"$\partial\pi_i/\partial\theta_j = \pi_i(\delta_{ij} - \pi_j)$"),
            ps.Step(lhs=ps.NtVar(prob, sp.Tuple(*params)), rhs=ntvar_p,
                    why=r"$\lVert p(1-p)(1, -1)\rVert^2 = 2p^2(1-p)^2$"),
            ps.Step(lhs=utility, rhs=2 * p - 1, why=r"$U = p - (1 - p)$"),
            ps.Step(lhs=ps.NtCov(prob, utility, sp.Tuple(*params)), rhs=pdot,
                    why=r"$\dot p = \operatorname{ntcov}(p, 2p - 1) = 2\operatorname{ntvar}(p)$"),
        ),
        checks=(
            ps.autodiff(ntvar_ref, target=ps.part(0), label="ntvar(p)",
                        describe="jax.grad of the softmax policy, squared norm"),
            ps.autodiff(pdot_ref, target=ps.part(1), label="dp/dt under the flow",
                        describe="jax.jvp of the policy along jax.grad of U"),
        ),
        references=(TAILCALLED,),
        model=two_logit_policy,
    )
