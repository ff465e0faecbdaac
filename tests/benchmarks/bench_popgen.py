"""Throughput of the population-genetics simulators in pricesym/_popgen.py (not a test).

Run: ``python tests/benchmarks/bench_popgen.py``. Prints trials (or individuals)
per second after compilation, best of three runs, with default XLA threads and
wall-clock time:

* `simulate_moran` (fixation probability; the chain move by move) and
  `simulate_moran_times` (also the idle steps, as Geometric counts);
* `simulate_wright_fisher` (2N gene copies, exact binomial sampling by a
  tabulated inverse CDF), from p = 1/2 and from one new mutant;
* restart and drain (1024 lanes) against running every trial side by side
  (lanes = trials) until the slowest is absorbed;
* `simulate_gaussian_selection` and `simulate_offspring` (individuals per second).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp

from pricesym import popgen as pg


def best_of(fn, repeats=3):
    jax.block_until_ready(fn(0))  # compile
    times = []
    for i in range(1, repeats + 1):
        start = time.perf_counter()
        jax.block_until_ready(fn(i))
        times.append(time.perf_counter() - start)
    return min(times)


def row(label, count, seconds, unit="trials/s"):
    print(f"{label:58s} {count / seconds:14,.0f} {unit}")


def main():
    trials = 200_000
    for N, r in ((10, 1.1), (100, 1.01)):
        seconds = best_of(lambda i: pg.simulate_moran(i, N, r, 1, trials))
        row(f"simulate_moran, N = {N}, r = {r}, one mutant", trials, seconds)
        seconds = best_of(lambda i: pg.simulate_moran_times(i, N, r, 1, trials))
        row(f"simulate_moran_times, N = {N}, r = {r}, one mutant", trials, seconds)

    trials = 50_000
    for N, p in ((25, 0.5), (100, 0.5), (100, 1 / 200)):
        seconds = best_of(lambda i: pg.simulate_wright_fisher(i, N, 0.01, p, trials))
        row(f"simulate_wright_fisher, N = {N}, s = 0.01, p = {p:g}", trials, seconds)

    print("\nrestart and drain (1024 lanes) vs every trial side by side (lanes = trials):")
    for label, run in (
        ("Moran N = 100, r = 1.01, one mutant, 2e4 trials",
         lambda lanes: lambda i: pg.simulate_moran(i, 100, 1.01, 1, 20_000, lanes=lanes)),
        ("Wright-Fisher N = 100, s = 0.01, one copy, 2e4 trials",
         lambda lanes: lambda i: pg.simulate_wright_fisher(i, 100, 0.01, 1 / 200, 20_000, lanes=lanes)),
    ):
        drained = best_of(run(1024), repeats=2)
        together = best_of(run(20_000), repeats=2)
        print(f"  {label:56s} {drained:6.3f} s vs {together:6.3f} s ({together / drained:5.1f}x)")

    n = 1_000_000
    fitness = lambda P: jnp.exp(-(P**2) / 8)
    seconds = best_of(lambda i: pg.simulate_gaussian_selection(i, 1.0, 0.5, 0.5, fitness, n))
    row("\nsimulate_gaussian_selection, one trait", n, seconds, "individuals/s")
    reps = 100_000
    seconds = best_of(lambda i: pg.simulate_offspring(i, [2, 5, 3], [1, 1.5, 0.5], [1, 2, 3], [1.1, 2, 2.7], reps))
    row("simulate_offspring, 10 parents", reps * 10, seconds, "parents/s")


if __name__ == "__main__":
    main()
