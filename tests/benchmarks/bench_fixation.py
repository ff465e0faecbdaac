"""Throughput of the simulators behind derivations/selection_fixation.py (not a test).

Run: ``python tests/benchmarks/bench_fixation.py``. Prints trials (or samples) per
second after compilation, best of three runs:

* the Moran jump chain with restart-and-drain (one mutant per trial, each with
  its own selection coefficient s ~ N(0, 0.05^2), as in selection/origin-fixation);
* the origin-fixation estimators (mutations weighted by their fixation probability);
* K mutations in flight with Bernoulli fates (selection/horizontal-transfer).
"""

from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp

import pricesym as ps
from pricesym.popgen import moran_fates

ps.load()["selection/origin-fixation"]  # runs the catalogue's modules
MOD = sys.modules["pricesym.catalogue.selection_fixation"]


def best_of(fn, repeats=3):
    jax.block_until_ready(fn(0))  # compile
    times = []
    for i in range(1, repeats + 1):
        start = time.perf_counter()
        jax.block_until_ready(fn(i))
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    trials = 400_000
    chain = jax.jit(moran_fates)
    s = 0.05 * jax.random.normal(jax.random.key(123), (trials,))
    for n in (50, 100, 200):
        seconds = best_of(lambda i: chain(jax.random.key(i), s, float(n)))
        print(f"Moran chain, N = {n:3d}, s ~ N(0, 0.05^2): {trials / seconds:12,.0f} trials/s")

    grad = jnp.asarray([3.0, 0.0, 4.0])
    seconds = best_of(lambda i: MOD._origin_fixation_estimates(jax.random.key(i), 0.01, 200.0, grad))
    print(f"origin-fixation estimators:                {MOD.DRIFT_SAMPLES / seconds:12,.0f} mutations/s")

    seconds = best_of(lambda i: MOD._in_flight_kernel(jax.random.key(i), 0.01, 200.0, 32.0, grad))
    print(f"K = {MOD.K_MAX} in flight, Bernoulli fates:        {MOD.REPLICATES * MOD.K_MAX / seconds:12,.0f} mutations/s")


if __name__ == "__main__":
    main()
