r"""Fixation of mutants in finite populations, simulated trial by trial.

Every simulator here runs on one driver, `restart_and_drain`: a fixed number of
lanes each run one trial at a time; a lane whose trial is absorbed starts the
next trial while the quota lasts, and once the quota is handed out the lanes
finish (drain) the trials they hold. Every started trial is completed, so the
estimate is unbiased (stopping at a fixed time instead would over-count short
trials), and the lanes stay busy (tests/benchmarks/bench_popgen.py measures the
gain over running all trials side by side). Each trial's fate (and time) is
kept, so estimates are ordinary sample means and ratios of means.

Chains: the Moran process move by move (`moran_step`, idle birth-death steps
drawn as one geometric count, 16 moves per iteration), its jump chain with one selection coefficient per
trial (`moran_jump_step`, several moves per iteration), and Wright-Fisher
generations (`wright_fisher_step`, exact binomial sampling by inversion).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

from .._errors import AssumptionError
from . import validate
from .backend import is_traced, jax, jnp, prng_key
from .estimators import Estimate, estimate, ratio_of_means
from .programs import jit

__all__ = ["Fates", "MoranTimes", "restart_and_drain", "moran_step", "moran_jump_step", "wright_fisher_step",
           "simulate_moran", "simulate_moran_times", "simulate_wright_fisher", "moran_fates"]


class Fates(NamedTuple):
    """Outcome of every trial, in trial order."""

    fixed: Any  # (trials,) bool: absorbed at the top (fixation)
    time: Any  # (trials,) float64: time to absorption (zeros unless timed)


class MoranTimes(NamedTuple):
    """Mean times of a Moran chain, in birth-death steps (N steps = one generation).

    absorption: mean number of steps until fixation or loss.
    fixation:   mean number of steps until fixation, among trials that fix
                (a ratio of means; its SE by the delta method).
    """

    absorption: Estimate
    fixation: Estimate


def restart_and_drain(key, step: Callable, start, top, trials: int, lanes: int, *, timed: bool = False) -> Fates:
    """Run ``trials`` absorbing chains on ``lanes`` parallel lanes.

    ``step(key, k, trial) -> (k', dt)`` advances every lane's copy number ``k`` (an
    int array, one per lane) by one move (or several, stopping at a boundary) taking
    ``dt`` time units; ``trial`` is each lane's trial index, for per-trial
    parameters. ``0`` and ``top`` absorb. Times are kept only when ``timed``."""
    lanes = min(lanes, trials)
    start = jnp.asarray(start, jnp.int32)
    top = jnp.asarray(top, jnp.int32)
    zeros = jnp.zeros(lanes, jnp.float64)
    state = (jnp.full(lanes, start, jnp.int32), zeros, jnp.arange(lanes, dtype=jnp.int32),
             jnp.asarray(lanes, jnp.int32), jnp.asarray(0, jnp.int32), jnp.zeros(trials, bool),
             jnp.zeros(trials if timed else 1, jnp.float64))

    def body(state):
        k, t, trial, handed_out, it, fixed, time = state
        absorbed = (trial >= 0) & ((k <= 0) | (k >= top))
        slot = jnp.where(absorbed, trial, trials)  # out of range: dropped
        fixed = fixed.at[slot].set(k >= top, mode="drop")
        if timed:
            time = time.at[slot].set(t, mode="drop")
        # Hand the remaining quota to the absorbed lanes in lane order.
        candidate = handed_out + jnp.cumsum(absorbed, dtype=jnp.int32) - 1
        trial = jnp.where(absorbed, jnp.where(candidate < trials, candidate, -1), trial)
        handed_out = handed_out + jnp.sum(absorbed, dtype=jnp.int32)
        k = jnp.where(absorbed, start, k)
        t = jnp.where(absorbed, 0.0, t)
        moving = (trial >= 0) & (k > 0) & (k < top)
        k_new, dt = step(jax.random.fold_in(key, it), k, jnp.maximum(trial, 0))
        k = jnp.where(moving, k_new, k)
        if timed:
            t = t + jnp.where(moving, dt, 0.0)
        return k, t, trial, handed_out, it + 1, fixed, time

    *_, fixed, time = jax.lax.while_loop(lambda s: jnp.any(s[2] >= 0), body, state)
    return Fates(fixed, time if timed else jnp.zeros(trials, jnp.float64))


# --------------------------------------------------------------------------- Moran


def moran_step(N, r, *, timed: bool, block: int = 16) -> Callable:
    """``block`` moves of the Moran chain per call, each with its idle steps skipped, a
    lane stopping at the first boundary it reaches: from ``k`` mutants the chain changes
    state with probability ``q = T+ + T-`` per birth-death step, so the number of steps
    to the next change is Geometric(q); the change is up with probability ``T+/q``.
    (Several moves per call spread the driver's bookkeeping over them: 2.5-6x faster
    than one move per call at 16.)"""
    def step(key, k, trial):
        u = jax.random.uniform(key, (2 if timed else 1, block) + k.shape, jnp.float64)
        steps = jnp.zeros(k.shape, jnp.float64)
        for j in range(block):
            kf = k.astype(jnp.float64)
            total = r * kf + N - kf  # total fitness: reproducer chosen in proportion to fitness
            up = r * kf / total * (N - kf) / N  # mutant reproduces, resident dies
            down = (N - kf) / total * kf / N  # resident reproduces, mutant dies
            q = up + down
            moving = (k > 0) & (kf < N)
            if timed:  # Geometric(q) on {1, 2, ...} by inversion; 1 - u lies in (0, 1]
                qs = jnp.clip(q, 1e-300, 1.0)
                dt = jnp.where(qs >= 1.0, 1.0, jnp.floor(jnp.log1p(-u[1, j]) / jnp.log1p(-qs)) + 1.0)
                steps = steps + jnp.where(moving, dt, 0.0)
            k = jnp.where(moving, jnp.where(u[0, j] * q < up, k + 1, k - 1), k)
        return k, steps

    return step


def moran_jump_step(s, top, block: int = 16) -> Callable:
    r"""The Moran jump chain with selection coefficient ``s[trial]`` per trial
    (relative fitness :math:`r = e^s`): at every interior state the count moves up
    with probability :math:`T^+/(T^++T^-) = r/(1+r)`, independent of the state.
    ``block`` moves per call, stopping at the first boundary hit. No times."""
    up = jax.nn.sigmoid(s)

    def step(key, k, trial):
        moves = jnp.where(jax.random.uniform(key, (k.shape[0], block)) < up[trial][:, None], 1, -1)
        path = k[:, None] + jnp.cumsum(moves.astype(jnp.int32), axis=1, dtype=jnp.int32)
        hit = (path <= 0) | (path >= top)
        first = jnp.take_along_axis(path, jnp.argmax(hit, axis=1)[:, None], axis=1)[:, 0]
        return jnp.where(jnp.any(hit, axis=1), first, path[:, -1]), jnp.zeros(k.shape, jnp.float64)

    return step


@functools.cache
def _moran_kernel(trials: int, lanes: int, timed: bool):
    def run(key, N, r, i):
        N = jnp.asarray(N, jnp.float64)
        r = jnp.asarray(r, jnp.float64)
        return restart_and_drain(key, moran_step(N, r, timed=timed), jnp.asarray(i).astype(jnp.int32),
                                 N.astype(jnp.int32), trials, lanes, timed=timed)

    return jit(run)


def _moran_inputs(key, N, r, i, trials, lanes):
    if not is_traced(N, r, i):
        N = validate.population(N)
        r = validate.fitness(r)
        i = validate.mutants(i, N)
    return prng_key(key), N, r, i, validate.count("trials", trials), validate.count("lanes", lanes, noun="parallel lanes")


def simulate_moran(key, N, r, i=1, trials: int = 100_000, *, lanes: int = 2048) -> Estimate:
    r"""Monte-Carlo fixation probability of ``i`` mutants of relative fitness ``r`` in
    a Moran population of ``N`` (MATH.md D5): the chain move by move (idle steps,
    which cannot change the outcome, skipped), restart and drain over ``lanes``.
    Returns `Estimate` (fraction fixed, binomial SE). Works under `jax.jit`/`jax.vmap`."""
    key, N, r, i, trials, lanes = _moran_inputs(key, N, r, i, trials, lanes)
    fates = _moran_kernel(trials, lanes, False)(key, N, r, i)
    return estimate(fates.fixed.astype(jnp.float64))


def simulate_moran_times(key, N, r, i=1, trials: int = 100_000, *, lanes: int = 2048) -> MoranTimes:
    r"""Monte-Carlo mean absorption and conditional fixation times of the Moran chain
    from ``i`` mutants, in birth-death steps (MATH.md D6). The steps between two moves
    are drawn at once as a Geometric(:math:`T^+_k + T^-_k`) count, which has exactly
    the law of simulating them one by one."""
    key, N, r, i, trials, lanes = _moran_inputs(key, N, r, i, trials, lanes)
    fates = _moran_kernel(trials, lanes, True)(key, N, r, i)
    fixed = fates.fixed.astype(jnp.float64)
    return MoranTimes(estimate(fates.time), ratio_of_means(fates.time * fixed, fixed))


def moran_fates(key, s, n, lanes: int = 2048, block: int = 16):
    """Fate (True: fixed) of one new mutant per trial in a Moran population of ``n``,
    trial ``j`` with selection coefficient ``s[j]``: the jump chain from one copy,
    restart and drain. JAX; works under jit and vmap (``n`` may be traced)."""
    top = jnp.asarray(n).astype(jnp.int32)
    return restart_and_drain(key, moran_jump_step(s, top, block), 1, top, s.shape[0], lanes).fixed


# --------------------------------------------------------------------------- Wright-Fisher


def wright_fisher_step(N, s, max_copies: int) -> Callable:
    """One Wright–Fisher generation on M = 2N gene copies: genic selection
    p' = p(1+s)/(1+ps), then the next count ~ Binomial(M, p').

    The binomial is sampled exactly by inversion: the count only takes the
    values 0..M, so the CDF of Binomial(M, p'_k) for every current count k is
    tabulated once (rows padded to ``max_copies``), and each draw is a binary
    search of one uniform in its row."""
    M = 2 * N
    size = max_copies + 1
    k = jnp.arange(size, dtype=jnp.float64)
    p = jnp.minimum(k / M, 1.0)
    # Rows 0 and M absorb and are never sampled; clipping keeps their logs finite.
    selected = jnp.clip(p * (1 + s) / (1 + p * s), 1e-300, 1 - 1e-16)
    j = k[None, :]
    valid = j <= M
    # log pmf(j) = M log(1-p') + sum_{l<j} log[(M-l)/(l+1) * p'/(1-p')]: the binomial
    # coefficients by a running sum of logs (cheaper to compile than log-gamma).
    step_log = jnp.log(jnp.maximum(M - k, 1.0)) - jnp.log(k + 1)
    log_coefficient = jnp.concatenate([jnp.zeros(1), jnp.cumsum(step_log)[:-1]])
    logpmf = (log_coefficient[None, :] + M * jnp.log1p(-selected)[:, None]
              + j * (jnp.log(selected) - jnp.log1p(-selected))[:, None])
    cdf = jnp.cumsum(jnp.where(valid, jnp.exp(logpmf), 0.0), axis=1)
    cdf = jnp.where(j >= M, 1.0, cdf)  # exactly 1 from the top count on: a draw never exceeds M
    steps = max(1, math.ceil(math.log2(size + 1)))  # halves hi - lo, from size to 1

    def step(key, k, trial):
        u = jax.random.uniform(key, k.shape, jnp.float64)
        row = jnp.clip(k, 0, max_copies)
        lo = jnp.full(k.shape, -1, jnp.int32)  # cdf[lo] < u (virtually, cdf[-1] = 0)
        hi = jnp.full(k.shape, size - 1, jnp.int32)  # cdf[hi] >= u
        for _ in range(steps):
            mid = (lo + hi + 1) // 2  # lo < mid <= hi while hi - lo >= 1
            below = cdf[row, mid] < u
            lo = jnp.where(below, mid, lo)
            hi = jnp.where(below, hi, mid)
        return hi, jnp.ones(k.shape, jnp.float64)

    return step


@functools.cache
def _wf_kernel(trials: int, lanes: int, max_copies: int):
    def run(key, N, s, k0):
        N = jnp.asarray(N, jnp.float64)
        s = jnp.asarray(s, jnp.float64)
        return restart_and_drain(key, wright_fisher_step(N, s, max_copies), jnp.asarray(k0).astype(jnp.int32),
                                 (2 * N).astype(jnp.int32), trials, lanes)

    return jit(run)


def simulate_wright_fisher(key, N, s, p, trials: int = 100_000, *, lanes: int = 1024, max_N: int | None = None) -> Estimate:
    r"""Monte-Carlo fixation probability in a Wright–Fisher population of ``N``
    diploids (``2N`` gene copies) with genic selection ``s``, starting from
    frequency ``p`` (a whole number ``2Np`` of copies; MATH.md D4).

    Each generation: selection :math:`p' = p(1+s)/(1+ps)`, then the next
    generation's count is Binomial(2N, p') (exact inversion sampling). Restart
    and drain over ``lanes``. Returns `Estimate` (fraction fixed, binomial SE).

    Under `jax.jit`/`jax.vmap` (traced ``N``) pass ``max_N``, an upper bound of
    ``N`` that fixes the array shapes; ``p`` is then rounded to the nearest
    whole number of copies.
    """
    if not is_traced(N, s, p):
        N = validate.population(N)
        s = validate.wf_selection(s)
        k0 = validate.copies(N, validate.frequency(p))
        if max_N is None:
            max_N = N
        max_N = validate.integer("max_N", max_N, minimum=1, what="an integer upper bound of `N` (>= 1)")
        if max_N < N:
            raise AssumptionError(f"`max_N` must be at least `N` = {N}, got {max_N!r}.")
    else:
        if max_N is None:
            raise AssumptionError(
                "`max_N` is required when `N` is traced (under jax.jit/jax.vmap): pass an upper bound of N, "
                "e.g. the largest value of its domain."
            )
        max_N = validate.integer("max_N", max_N, minimum=1, what="an integer upper bound of `N` (>= 1)")
        k0 = jnp.round(2 * jnp.asarray(N, jnp.float64) * p)  # type: ignore[assignment]
    kernel = _wf_kernel(validate.count("trials", trials), validate.count("lanes", lanes, noun="parallel lanes"), 2 * max_N)
    fates = kernel(prng_key(key), N, s, k0)
    return estimate(fates.fixed.astype(jnp.float64))
