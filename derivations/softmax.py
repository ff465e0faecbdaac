"""A softmax policy over three actions: REINFORCE, and why gradient flow on the
logits is not replicator dynamics (MATH.md D7)."""

import jax
import jax.numpy as jnp
import sympy as sp

import pricesym as ps
from pricesym.numeric import estimate

WILLIAMS = ("Williams, R. J. (1992). Simple statistical gradient-following algorithms for connectionist "
            "reinforcement learning. Machine Learning 8:229-256.")
AMARI = "Amari, S. (1998). Natural gradient works efficiently in learning. Neural Computation 10:251-276."
HOFBAUER = ("Hofbauer, J. & Sigmund, K. (1998). Evolutionary Games and Population Dynamics. Cambridge UP "
            "(replicator dynamics as the Shahshahani gradient).")

K = 3  # actions; every expression below is written for general K, the symbols fix K = 3
theta = sp.symbols(f"theta0:{K}", real=True)
r = sp.symbols(f"r0:{K}", real=True)
pi = sp.symbols(f"pi0:{K}", positive=True)
rbar = sp.Symbol("rbar", real=True)
b = sp.Symbol("b", real=True)  # a constant baseline

# 10% of a gradient component of size 0.1 is 0.01; 4e5 samples give SE of about
# 1.5e-3 per component, so a perturbed closed form is off by more than 4.5 SE.
SAMPLES = 400_000


@ps.model
def softmax_policy(np, theta):
    """Action probabilities π = softmax(θ)."""
    return np.softmax(theta)


@ps.model
def expected_reward(np, theta, r):
    """J(θ) = E_{a∼π}[r(a)] = πᵀr."""
    return np.dot(np.softmax(theta), r)


def _observables():
    """π_i = softmax(θ)_i and r̄ = πᵀr: the quantities the results are written in."""
    components = list(ps.softmax(theta))
    obs = {p: c for p, c in zip(pi, components)}
    obs[rbar] = sp.Add(*[c * ri for c, ri in zip(components, r)])
    return obs


def _in_pi(expr):
    """Rename softmax components to π_i (an xreplace: nothing is expanded)."""
    forward = {c: p for p, c in zip(pi, ps.softmax(theta))}
    return expr.xreplace(forward)


def _in_rbar(expr):
    """Targeted rewrite: the sum πᵀr, wherever it appears, becomes r̄."""
    return expr.subs(sp.Add(*[p * ri for p, ri in zip(pi, r)]), rbar)


def _score():
    """Rows ∇_θ log π(a) for each action a, differentiated through the model."""
    policy = softmax_policy.sympy(list(theta))
    return sp.Matrix([[sp.diff(sp.log(policy[a]), t) for t in theta] for a in range(K)])


def _symbols():
    return {**{t: ps.uniform(-1.5, 1.5) for t in theta}, **{ri: ps.uniform(-1, 2) for ri in r}}


def _log_policy(th, a):
    return jnp.log(softmax_policy.jax(th))[a]


def _theta(x):
    return jnp.stack([x[str(t)] for t in theta])


def _rewards(x):
    return jnp.stack([x[str(ri)] for ri in r])


@ps.derivation("softmax/reinforce")
def softmax_reinforce() -> ps.Derivation:
    r"""REINFORCE for a softmax policy: the expected update is π ⊙ (r − r̄).

    .. math::
        \nabla_\theta \mathbb E_{a\sim\pi}[r(a)]
        = \mathbb E\big[(r(a) - b)\,\nabla_\theta\log\pi(a)\big]
        = \pi \odot (r - \bar r\,\mathbf 1), \qquad \bar r = \pi^\top r,

    for any constant baseline :math:`b`, because :math:`\nabla_\theta\log\pi(a) = e_a - \pi`
    has mean zero under π. Assumes π = softmax(θ) over three actions with free
    logits θ and fixed rewards r. With two actions it is A7's 2p(1−p) (r = ±1).
    Reference: Williams (1992).
    """
    score = _score()
    policy = list(softmax_policy.sympy(list(theta)))
    expected = sum((policy[a] * r[a] * score[a, :] for a in range(K)), sp.zeros(1, K)).T
    baseline_term = sum((policy[a] * score[a, :] for a in range(K)), sp.zeros(1, K)).T
    grad_pi = _in_pi(expected).applyfunc(lambda e: sp.factor_terms(sp.expand(e)))
    result = grad_pi.applyfunc(_in_rbar)
    normalisation = _in_pi(baseline_term).applyfunc(lambda e: sp.factor_terms(sp.expand(e)))

    def sampled_update(x, key, baseline):
        # Draw actions from the model policy, apply the REINFORCE rule (r(a) - b) grad log pi(a).
        th, rw = _theta(x), _rewards(x)
        a = jax.random.categorical(key, jnp.log(softmax_policy.jax(th)), shape=(SAMPLES,))
        score_a = jax.vmap(jax.grad(_log_policy), in_axes=(None, 0))(th, a)
        return estimate((rw[a] - baseline)[:, None] * score_a)

    def grad_reference(x):
        return jax.grad(expected_reward.jax)(_theta(x), _rewards(x))

    return ps.Derivation(
        lhs=r"\nabla_\theta \mathbb E_{a\sim\pi}[r(a)]",
        result=result,
        symbols={**_symbols(), b: ps.uniform(-2, 3)},
        observables=_observables(),
        assumptions=(r"$\pi = \operatorname{softmax}(\theta)$ over $K = 3$ actions with free logits $\theta$",
                     r"fixed rewards $r$; any constant baseline $b$"),
        steps=(
            ps.Step(lhs=_in_pi(score), rhs=sp.Matrix(K, K, lambda a, i: (1 if a == i else 0) - pi[i]),
                    why=r"score $\nabla_\theta\log\pi(a) = e_a - \pi$ (row $a$)"),
            ps.Step(lhs=_in_pi(expected), rhs=grad_pi,
                    why=r"$\sum_a \pi_a r_a (e_a - \pi) = \pi\odot r - \pi\,(\pi^\top r)$"),
            ps.Step(lhs=grad_pi, rhs=result, why=r"in terms of $\bar r = \pi^\top r$"),
            ps.Step(lhs=_in_pi(baseline_term), rhs=normalisation,
                    why=r"a baseline adds $-b\sum_a \pi_a (e_a - \pi) = -b\,\pi\,(1 - \sum_a \pi_a)$"),
            ps.Step(lhs=normalisation, rhs=sp.zeros(K, 1), why=r"$\sum_a \pi_a = 1$: the baseline term vanishes"),
            ps.Step(lhs=_in_pi(sp.Matrix([sp.diff(expected_reward.sympy(list(theta), list(r)), t) for t in theta])),
                    rhs=_in_pi(expected), why=r"policy-gradient theorem: the mean update is $\nabla_\theta (\pi^\top r)$"),
        ),
        checks=(
            ps.monte_carlo(lambda x, key: sampled_update(x, key, 0.0), label="sampled updates",
                           describe=f"sample {SAMPLES:.0e} actions from the policy, average r(a) grad log pi(a) (jax.grad)"),
            ps.monte_carlo(lambda x, key: sampled_update(x, key, x["b"]), label="sampled updates with baseline",
                           describe=f"sample {SAMPLES:.0e} actions, average (r(a) - b) grad log pi(a)"),
            ps.autodiff(grad_reference, label="gradient of E[r]", describe="jax.grad of pi(theta)^T r"),
        ),
        references=(WILLIAMS,),
        model=(softmax_policy, expected_reward),
    )


@ps.derivation("softmax/natural-gradient")
def softmax_natural_gradient() -> ps.Derivation:
    r"""Gradient flow on softmax logits vs the natural-gradient (replicator) flow.

    Under the logit flow :math:`\dot\theta = \nabla J`, :math:`J = \pi^\top r`,

    .. math::
        \dot\pi = \operatorname{ntcov}(\pi, J) = (\operatorname{diag}\pi - \pi\pi^\top)\,\nabla J,
        \qquad \nabla J = \pi\odot(r - \bar r\mathbf 1),

    which is *not* replicator dynamics. The Fisher matrix of the policy is
    :math:`F = \mathbb E[\nabla\log\pi\,\nabla\log\pi^\top] = \operatorname{diag}\pi - \pi\pi^\top`,
    the softmax Jacobian itself; its null space is :math:`\mathbf 1` and
    :math:`\nabla J \perp \mathbf 1`, so the natural-gradient (Fisher/Shahshahani)
    flow :math:`\dot\theta = F^+\nabla J` gives

    .. math:: \dot\pi = F F^+ \nabla J = \nabla J = \pi\odot(r - \bar r\mathbf 1),

    the replicator equation. Assumes π = softmax(θ) over three actions, all
    :math:`\pi_i > 0`, fixed rewards. References: Amari (1998); Hofbauer & Sigmund (1998).
    """
    policy = softmax_policy.sympy(list(theta))
    J = expected_reward.sympy(list(theta), list(r))
    grad_J = sp.Matrix([sp.diff(J, t) for t in theta])
    grad_J_obs = _in_pi(grad_J).applyfunc(lambda e: _in_rbar(sp.factor_terms(sp.expand(e))))
    jac = _in_pi(ps.jacobian(policy, list(theta)))  # entries pi_i (delta_ij - pi_j)
    # ntcov(pi, J) = J_pi grad J; written with both factors already in observables.
    logit_flow = (jac * grad_J_obs).applyfunc(sp.factor_terms)

    score = _in_pi(_score())
    fisher_raw = sum((pi[a] * score[a, :].T * score[a, :] for a in range(K)), sp.zeros(K, K))
    fisher_gap = (fisher_raw - jac).applyfunc(lambda e: sp.factor(sp.expand(e)))  # stays pi_i pi_j (sum pi - 1)
    ones = sp.ones(K, 1)
    projector = sp.eye(K) - ones * ones.T / K  # F F^+: orthogonal projector onto range(F) = 1-perp
    natural = grad_J_obs
    result = sp.Tuple(logit_flow, natural)

    def logit_flow_reference(x):
        # d pi/dt along d theta/dt = grad J: jvp of the model policy along jax.grad of J.
        th, rw = _theta(x), _rewards(x)
        return jax.jvp(softmax_policy.jax, (th,), (jax.grad(expected_reward.jax)(th, rw),))[1]

    def natural_flow_reference(x):
        # Fisher matrix from autodiff of log pi, its pseudo-inverse, then jvp of the policy.
        th, rw = _theta(x), _rewards(x)
        probs = softmax_policy.jax(th)
        scores = jax.jacrev(lambda t: jnp.log(softmax_policy.jax(t)))(th)  # row a: grad log pi(a)
        fisher = scores.T @ (probs[:, None] * scores)
        velocity = jnp.linalg.pinv(fisher, hermitian=True) @ jax.grad(expected_reward.jax)(th, rw)
        return jax.jvp(softmax_policy.jax, (th,), (velocity,))[1]

    return ps.Derivation(
        lhs=(r"\dot\pi\ \text{under}\ \dot\theta = \nabla J", r"\dot\pi\ \text{under}\ \dot\theta = F^{+}\nabla J"),
        result=result,
        symbols=_symbols(),
        observables=_observables(),
        assumptions=(r"$\pi = \operatorname{softmax}(\theta)$ over $K = 3$ actions, all $\pi_i > 0$",
                     r"$J = \pi^\top r$ with fixed rewards $r$",
                     r"flows $\dot\theta = \nabla J$ (logit gradient flow) and $\dot\theta = F^{+}\nabla J$ (natural gradient)"),
        steps=(
            ps.Step(lhs=_in_pi(grad_J), rhs=grad_J_obs, why=r"$\nabla J = \pi\odot(r - \bar r\mathbf 1)$ (softmax/reinforce)"),
            ps.Step(lhs=ps.jacobian(policy, list(theta)), rhs=sp.diag(*pi) - sp.Matrix(pi) * sp.Matrix(pi).T,
                    why=r"softmax Jacobian $\partial\pi_i/\partial\theta_j = \pi_i(\delta_{ij} - \pi_j)$"),
            ps.Step(lhs=ps.NtCov(policy, J, sp.Tuple(*theta)), rhs=logit_flow,
                    why=r"$\dot\pi = \operatorname{ntcov}(\pi, J) = J_\pi\nabla J$ (the Jacobian is symmetric)"),
            ps.Step(lhs=fisher_raw - jac, rhs=fisher_gap,
                    why=r"$F = \sum_a \pi_a (e_a - \pi)(e_a - \pi)^\top = J_\pi + \pi\pi^\top(\sum_a\pi_a - 1)$"),
            ps.Step(lhs=fisher_gap, rhs=sp.zeros(K, K),
                why=r"$\sum_a \pi_a = 1$, so $F = J_\pi = \operatorname{diag}\pi - \pi\pi^\top$"),
            ps.Step(lhs=jac * ones, rhs=sp.zeros(K, 1),
                    why=r"$F\mathbf 1 = \pi(1 - \sum_a\pi_a) = 0$: with all $\pi_i > 0$, $F$ has rank $K-1$, "
                        r"null space $\mathbf 1$"),
            ps.Step(lhs=(ones.T * grad_J_obs)[0, 0], rhs=sp.S.Zero,
                    why=r"$\mathbf 1^\top\nabla J = \bar r\,(1 - \sum_a\pi_a) = 0$: $\nabla J$ lies in the range of $F$"),
            ps.Step(lhs=jac * projector, rhs=jac,
                    why=r"$F(I - \mathbf 1\mathbf 1^\top/K) = F$: the projector onto the range of $F$ is $FF^{+}$"),
            ps.Step(lhs=projector * grad_J_obs, rhs=natural,
                    why=r"$\dot\pi = J_\pi F^{+}\nabla J = FF^{+}\nabla J = \nabla J$: replicator dynamics"),
        ),
        checks=(
            ps.autodiff(logit_flow_reference, target=ps.part(0), label="logit gradient flow",
                        describe="jax.jvp of softmax along jax.grad of J"),
            ps.autodiff(natural_flow_reference, target=ps.part(1), label="natural-gradient flow",
                        describe="Fisher from jax.jacrev of log pi, jnp.linalg.pinv, then jax.jvp of softmax",
                        rtol=1e-9, tolerance="rel 1e-9: pseudo-inverse of the rank-2 Fisher matrix "
                                             "(round-off grows with its condition number, below 1e3 here)"),
        ),
        references=(AMARI, HOFBAUER, WILLIAMS),
        model=(softmax_policy, expected_reward),
    )
