"""A single-bias Bernoulli policy: the worked example of tailcalled's comments."""

import jax
import jax.numpy as jnp
import sympy as sp

import pricesym as ps
from pricesym.numeric import estimate

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
        references=(TAILCALLED, "Williams, R. J. (1992). Simple statistical gradient-following algorithms. Machine Learning 8:229-256."),
        model=bernoulli_policy,
    )
