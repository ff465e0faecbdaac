"""Throughput of the annealing simulator and the control-variate gain (not a test).

    /work/venv/bin/python tests/benchmarks/bench_selection.py

Reports, after compilation: proposals per second of `anneal` (3-D linear fitness,
probit selection, Gaussian mutation), with and without antithetic pairs and
vmapped over instances; winners per second of `anneal_until_accepted`; and the
variance reduction of the linearised-twin control variate on a quadratic fitness."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

import pricesym.numeric  # noqa: F401  (float64)
from pricesym.selection import (
    Gaussian,
    Probit,
    accepted_mean,
    accepted_mean_cv,
    anneal,
    anneal_until_accepted,
    gaussian_linear_moments,
)


def timed(fn, *args, repeat=5):
    jax.block_until_ready(fn(*args))  # compile
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t)
    return best


def main():
    c = jnp.array([3.0, 0.0, 4.0])
    f = lambda y: jnp.dot(c, y)  # noqa: E731
    sel, law = Probit(0.2), Gaussian(0.1)
    M = 1_000_000
    key = jax.random.key(0)
    for anti in (False, True):
        fn = jax.jit(lambda k: accepted_mean(anneal(k, f, jnp.zeros(3), sel, law, M, antithetic=anti)))
        dt = timed(fn, key)
        print(f"anneal (3-D, probit, antithetic={anti}): {M / dt:.3g} proposals/s  ({dt * 1e3:.0f} ms per 1e6)")
    keys = jax.random.split(key, 4)
    fn = jax.jit(jax.vmap(lambda k: accepted_mean(anneal(k, f, jnp.zeros(3), sel, law, M // 4, antithetic=True))))
    dt = timed(fn, keys)
    print(f"anneal vmapped over 4 instances: {M / dt:.3g} proposals/s")
    W = 200_000
    fn = jax.jit(lambda k: anneal_until_accepted(k, f, jnp.zeros(3), sel, law, W)[0].sum())
    dt = timed(fn, key)
    print(f"anneal_until_accepted: {W / dt:.3g} accepted steps/s (about {2 * W / dt:.3g} rounds/s)")

    # Control variate on a quadratic fitness (B7 worked case, sigma = 0.03 and 0.1).
    H = jnp.array([[1.0, 0.3], [0.3, -0.5]])
    g2 = jnp.array([1.0, 0.5])
    fq = lambda y: jnp.dot(g2, y) + y @ H @ y / 2  # noqa: E731
    for s in (0.01, 0.03, 0.1):
        run = jax.jit(lambda k: anneal(k, fq, jnp.zeros(2), sel, Gaussian(s), 400_000))(key)
        num, z = gaussian_linear_moments(sel, s**2 * jnp.eye(2), g2)
        plain, cv = accepted_mean(run), accepted_mean_cv(run, num, z)
        reduction = np.round((np.asarray(plain.se) / np.asarray(cv.se)) ** 2, 1)
        print(f"control variate at sigma = {s:g}: variance reduction {reduction} "
              "(per component)")


if __name__ == "__main__":
    main()
