r"""The annealing model of mutate-and-select (Sourbut 2022), simulated.

One round draws a mutation :math:`\epsilon \sim P_m` and lets the mutant replace the
parent with probability :math:`P_s(f(x+\epsilon) - f(x))` of the *real* fitness
difference. `anneal` runs independent rounds (with a linearised twin for control
variates); `anneal_until_accepted` runs the process itself, round after round until
a mutant wins. Selection functions and mutation laws are passed in and used only
through their ``.jax`` forms and samplers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from .._errors import AssumptionError
from .backend import jax, jnp
from .estimators import Estimate, influence_se, weighted_mean

__all__ = ["Annealing", "anneal", "anneal_until_accepted", "acceptance_rate", "rounds_per_step",
           "accepted_mean", "accepted_mean_cv"]


class Annealing(NamedTuple):
    """Proposals of the annealing model and which were accepted.

    steps:            (M, n) proposed mutations ε.
    accepted:         (M,) float 0/1: accepted with P_s of the real Δf.
    accepted_linear:  (M,) float 0/1: accepted with P_s(ε·∇f) under the same uniform
                      (the linearised twin, for control variates).
    count:            number accepted (the acceptance count).
    pairs:            True when proposals come in antithetic pairs (ε, −ε) sharing a
                      uniform: rows i and i + M/2; estimators then treat a pair as one unit.
    """

    steps: Any
    accepted: Any
    accepted_linear: Any
    count: Any
    pairs: bool = False


def anneal(key, f: Callable, x, sel, mutation, proposals: int,
           antithetic: bool = False, twin: bool = True) -> Annealing:
    r"""Simulate ``proposals`` rounds of the annealing model at genome ``x``.

    Each round draws :math:`\epsilon\sim P_m` and a uniform :math:`u`, and accepts
    when :math:`u < P_s(f(x+\epsilon) - f(x))` — the real fitness, not its
    linearisation. Rounds are independent, so the accepted steps are draws from the
    transition law and ``proposals / count`` estimates :math:`\alpha_s`.

    ``antithetic``: the second half of the rounds replays the first with
    :math:`-\epsilon` and the same :math:`u` (each round still has the right law, as
    :math:`P_m` is symmetric); for a nearly linear fitness the pair's two verdicts
    differ only when :math:`u` falls between :math:`P_s(\Delta)` and :math:`P_s(-\Delta)`,
    which removes most of the noise of a weak-selection mean.

    ``twin=False`` skips the linearised twin (``accepted_linear`` is then the real
    acceptance): for a linear fitness it adds nothing but compile time. JAX, jit- and
    vmap-able; ``key`` is a PRNG key."""
    x = jnp.atleast_1d(jnp.asarray(x, dtype=jnp.float64))
    k_eps, k_u = jax.random.split(key)
    if antithetic:
        if proposals % 2:
            raise AssumptionError(f"`proposals` must be even for antithetic pairs, got {proposals!r}.")
        half = mutation.sample(k_eps, (proposals // 2,), x.shape[0])
        eps = jnp.concatenate([half, -half])
        u = jnp.tile(jax.random.uniform(k_u, (proposals // 2,), dtype=jnp.float64), 2)
    else:
        eps = mutation.sample(k_eps, (proposals,), x.shape[0])
        u = jax.random.uniform(k_u, (proposals,), dtype=jnp.float64)
    fx = f(x)
    delta = jax.vmap(lambda e: f(x + e) - fx)(eps)
    acc = (u < sel.jax(delta)).astype(jnp.float64)
    acc_lin = (u < sel.jax(eps @ jax.grad(f)(x))).astype(jnp.float64) if twin else acc
    return Annealing(eps, acc, acc_lin, jnp.sum(acc), antithetic)


def acceptance_rate(sample: Annealing) -> Estimate:
    """`Estimate` of Z: the fraction of rounds a mutant wins (binomial SE)."""
    z = jnp.mean(sample.accepted)
    return Estimate(z, influence_se(sample.accepted - z, sample.pairs))


def rounds_per_step(sample: Annealing) -> Estimate:
    r"""`Estimate` of :math:`\alpha_s`, the mean number of rounds per accepted step
    (renewal estimate: proposals / acceptances; delta-method SE)."""
    z = jnp.mean(sample.accepted)
    return Estimate(1.0 / z, influence_se(sample.accepted - z, sample.pairs) / z**2)


def accepted_mean(sample: Annealing, fn: Callable | None = None) -> Estimate:
    r"""`Estimate` of :math:`\mathbb E[h(\epsilon)\mid\text{accepted}]` (default
    :math:`h(\epsilon) = \epsilon`): the mean over accepted proposals, a ratio of means."""
    h = sample.steps if fn is None else jax.vmap(fn)(sample.steps)
    return weighted_mean(h, sample.accepted, pairs=sample.pairs)


def accepted_mean_cv(sample: Annealing, linear_numerator, linear_rate, fn: Callable | None = None) -> Estimate:
    r"""`Estimate` of :math:`\mathbb E[h(\epsilon)\mid\text{accepted}]` with the
    linearised twin as control variate.

    With :math:`a` the real and :math:`a_\ell` the linearised acceptance (same
    :math:`\epsilon`, same uniform) and the twin's exact moments
    :math:`\nu_\ell = \mathbb E[h a_\ell]`, :math:`Z_\ell = \mathbb E[a_\ell]`
    (``linear_numerator``, ``linear_rate``, e.g. from `gaussian_linear_moments`):

    .. math:: \hat\mu = \frac{\overline{h(a-a_\ell)} + \nu_\ell}{\overline{a-a_\ell} + Z_\ell}.

    Only the rounds where the two acceptances differ carry noise, so the variance
    falls by the inverse of their share. SE by the delta method."""
    h = sample.steps if fn is None else jax.vmap(fn)(sample.steps)
    d = (sample.accepted - sample.accepted_linear).reshape((-1,) + (1,) * (h.ndim - 1))
    num = jnp.mean(h * d, axis=0) + linear_numerator
    den = jnp.mean(d) + linear_rate
    mean = num / den
    influence = (h - mean) * d / den
    return Estimate(mean, influence_se(influence, sample.pairs))



_WALKERS_PER_LANE = 16


def anneal_until_accepted(key, f: Callable, x, sel, mutation, walkers: int):
    r"""The annealing process itself, once per walker: propose, accept with
    :math:`P_s(f(x+\epsilon)-f(x))`, and repeat until a mutant wins.

    Returns ``(steps, rounds)``: the winning mutation of each walker, shape
    (walkers, n), and how many rounds it took (geometric, mean :math:`\alpha_s`).

    The walkers are independent, so each of ``walkers`` / 16 vectorised lanes (`jax.vmap` of
    a `jax.lax.while_loop`) runs 16 of them one after another. A lane of one walker would
    run, like every lane, until the slowest of all walkers wins: about ln(walkers) / Z
    rounds for a mean of 1/Z (11× the work at 50,000 walkers); a lane's 16 walkers take
    16/Z rounds on average, and the slowest lane about twice that."""
    x = jnp.atleast_1d(jnp.asarray(x, dtype=jnp.float64))
    fx = f(x)
    each = _WALKERS_PER_LANE
    lanes = -(-walkers // each)

    def lane(k):
        def body(state):
            k, done, rounds, steps, counts = state
            k, k_eps, k_u = jax.random.split(k, 3)
            eps = mutation.sample(k_eps, (), x.shape[0])
            won = jax.random.uniform(k_u, dtype=jnp.float64) < sel.jax(f(x + eps) - fx)
            rounds = rounds + 1
            slot = jnp.minimum(done, each - 1)
            steps = steps.at[slot].set(jnp.where(won, eps, steps[slot]))
            counts = counts.at[slot].set(jnp.where(won, rounds, counts[slot]))
            return k, done + won, jnp.where(won, 0, rounds), steps, counts

        init = (k, jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32), jnp.zeros((each, *x.shape)),
                jnp.zeros(each, jnp.int32))
        _, _, _, steps, counts = jax.lax.while_loop(lambda s: s[1] < each, body, init)
        return steps, counts

    steps, rounds = jax.vmap(lane)(jax.random.split(key, lanes))
    return steps.reshape(lanes * each, -1)[:walkers], rounds.reshape(-1)[:walkers]

