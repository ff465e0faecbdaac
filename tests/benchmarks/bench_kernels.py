"""Benchmark: `ps.kernels.fully_connected(...).kernel_fn` on Gram matrices, against a
straightforward jnp closed form, with the transcendental throughputs measured in
the same run.

Run from the repository root::

    python tests/benchmarks/bench_kernels.py            # one XLA thread, best-of CPU time
    python tests/benchmarks/bench_kernels.py --wall     # XLA's default threads, wall clock

It prints:

1. **Transcendental throughputs** (ns per float64 element, in-cache arrays, each
   applied 256 times inside one compiled loop): ``tanh``, ``sqrt``, XLA's
   ``arccos``/``arcsin``/``arctan2`` and the vectorised ``arccos``/``arcsin`` of
   `pricesym._numeric.fastmath` (fdlibm's rational approximation, ≤ 1 ulp).
2. **kernel_fn per pair per layer** for N × N inputs (default 2048 × 2048, d = 32,
   depth 3; relu and erf): the time of one call (NNGP and NTK Gram matrices)
   divided by N² · depth, against the same recursion written straightforwardly in
   jnp (``jnp.arccos``/``jnp.arcsin``, as one would by hand), and the largest
   relative difference between the two (on the diagonal x = x' the straightforward
   form loses about 1e-8: arccos(c) near c = 1 turns a rounding of c into an angle of
   1e-8; kernel_fn takes c = 1 exactly there).
3. The cost of the symbolic derivation against the depth (linear).

neural-tangents itself is not measured: its last release (0.6.5) imports only with
jax 0.4.23 and numpy < 2 and is no dependency of pricesym. The issue quotes
33 ns per pair per layer for its ``kernel_fn`` on this kind of machine; the target
was at least 3× faster than that (≤ 11 ns). Nothing here asserts a time.

A run (2 cores shared with other jobs, load ≈ 2–3; one XLA thread, CPU time; the
``--wall`` run gives the same within 5 %)::

    tanh 0.86, sqrt 0.46, XLA arccos 12.5, XLA arcsin 10.8, XLA arctan2 7.1,
    fast arccos 1.87, fast arcsin 2.04 ns per element

    | activation | kernel_fn | straightforward jnp | speed-up |
    | relu       | 6.6 ns    | 45.9 ns             | 7.0x     |   (neural-tangents: 33 ns, 5.0x)
    | erf        | 8.2 ns    | 20.7 ns             | 2.5x     |   (4.0x)

    symbolic derivation, gelu: 0.009 s at depth 1 ... 0.72 s at depth 32 (linear)

Where the time goes: the straightforward relu layer pays XLA's arccos (12.5 ns), a
sin and a cos of the angle, and full-size temporaries; a fresh 2048 × 2048 float64
buffer costs ≈ 3 ns per element in page faults on this machine. kernel_fn uses the
vectorised arccos, sin θ = sqrt(1 - c²), and works through the Gram matrix in blocks
of rows whose temporaries stay in cache (only its two outputs are full-size), which
leaves a few ns of arithmetic per pair and layer.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wall", action="store_true", help="XLA's default threading and wall-clock time")
    parser.add_argument("--n", type=int, default=2048, help="inputs per side of the Gram matrix")
    parser.add_argument("--dim", type=int, default=32, help="input dimension d")
    parser.add_argument("--depth", type=int, default=3, help="hidden layers")
    parser.add_argument("--repeats", type=int, default=5, help="timings per measurement (the best is kept)")
    return parser.parse_args()


ARGS = _parse()
if not ARGS.wall:
    # Before JAX is imported: one XLA thread, so CPU time measures the work done.
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from sympy.core.cache import clear_cache  # noqa: E402

import pricesym as ps  # noqa: E402
import pricesym.numeric  # noqa: E402,F401  (switches JAX to float64)
from pricesym._numeric.fastmath import arccos, arcsin  # noqa: E402

CLOCK = time.perf_counter if ARGS.wall else time.process_time


def best_time(fn, *args, repeats=ARGS.repeats) -> float:
    jax.block_until_ready(fn(*args))
    best = float("inf")
    for _ in range(repeats):
        start = CLOCK()
        jax.block_until_ready(fn(*args))
        best = min(best, CLOCK() - start)
    return best


def throughput(f, size=1 << 14, rounds=256) -> float:
    """ns per element of ``f`` on an in-cache array, applied ``rounds`` times in one loop."""
    base = jnp.asarray(np.random.default_rng(0).uniform(-0.99, 0.99, size))

    @jax.jit
    def run(x):
        return jax.lax.fori_loop(0, rounds, lambda i, acc: acc + f(x * (1.0 - i * 1e-9)), jnp.zeros_like(x)).sum()

    return best_time(run, base) / (size * rounds) * 1e9


def naive(activation: str, depth: int, w_std: float, b_std: float):
    """The recursion written straightforwardly in jnp (XLA's arccos / arcsin)."""
    w2, b2 = w_std**2, b_std**2

    def duals(k11, k22, k12):
        if activation == "relu":
            norm = jnp.sqrt(k11 * k22)
            theta = jnp.arccos(jnp.clip(k12 / norm, -1.0, 1.0))
            return (norm * (jnp.sin(theta) + (jnp.pi - theta) * jnp.cos(theta)) / (2 * jnp.pi),
                    (jnp.pi - theta) / (2 * jnp.pi))
        prod = (1 + 2 * k11) * (1 + 2 * k22)
        return (2 / jnp.pi * jnp.arcsin(jnp.clip(2 * k12 / jnp.sqrt(prod), -1.0, 1.0)),
                4 / jnp.pi / jnp.sqrt(prod - 4 * k12**2))

    def diagonal(k):
        return k / 2 if activation == "relu" else 2 / jnp.pi * jnp.arcsin(2 * k / (1 + 2 * k))

    @jax.jit
    def kernel(x1, x2):
        d = x1.shape[1]
        k12 = w2 * x1 @ x2.T / d + b2
        k11 = w2 * jnp.sum(x1**2, 1) / d + b2
        k22 = w2 * jnp.sum(x2**2, 1) / d + b2
        ntk = k12
        for _ in range(depth):
            e, s = duals(k11[:, None], k22[None, :], k12)
            k12 = w2 * e + b2
            ntk = k12 + w2 * ntk * s
            k11, k22 = w2 * diagonal(k11) + b2, w2 * diagonal(k22) + b2
        return k12, ntk

    return kernel


def main() -> None:
    print(f"# bench_kernels: {'wall clock, default threads' if ARGS.wall else 'CPU time, one XLA thread'}; "
          f"jax {jax.__version__}, {jax.devices()[0].platform}")
    print("\n## transcendental throughput (ns per float64 element)")
    rates = {"tanh": jnp.tanh, "sqrt": lambda x: jnp.sqrt(x + 1.0), "XLA arccos": jnp.arccos, "XLA arcsin": jnp.arcsin,
             "XLA arctan2": lambda x: jnp.arctan2(x, 1.0), "fast arccos": arccos, "fast arcsin": arcsin}
    for name, f in rates.items():
        print(f"  {name:12s} {throughput(f):6.2f}")

    n, d, depth = ARGS.n, ARGS.dim, ARGS.depth
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(n, d)))
    print(f"\n## kernel_fn, {n} x {n} inputs, d = {d}, depth {depth} (ns per pair per layer; NNGP and NTK)")
    print("| activation | kernel_fn | straightforward jnp | speed-up | max rel. difference (off the diagonal) |")
    print("|---|---|---|---|---|")
    off = ~jnp.eye(n, dtype=bool)
    for activation in ("relu", "erf"):
        net = ps.kernels.fully_connected(activation, depth, 1.4, 0.1)
        fn = net.kernel_fn.compiled  # the jitted computation itself, without the input checks
        ref = naive(activation, depth, 1.4, 0.1)
        ours = best_time(fn, x, x) / (n * n * depth) * 1e9
        theirs = best_time(ref, x, x) / (n * n * depth) * 1e9
        rel = [jnp.abs(a - b) / jnp.abs(b) for a, b in zip(fn(x, x), ref(x, x))]
        diff = max(float(jnp.max(r)) for r in rel)
        diff_off = max(float(jnp.max(jnp.where(off, r, 0.0))) for r in rel)
        print(f"| {activation} | {ours:.2f} ns | {theirs:.2f} ns | {theirs / ours:.1f}x | {diff:.1e} ({diff_off:.1e}) |")
    print("(neural-tangents 0.6.5, quoted in the issue for the same machine: 33 ns per pair per layer)")

    print("\n## symbolic derivation time against depth (gelu, SymPy cache cleared)")
    for depth_ in (1, 2, 4, 8, 16, 32):
        clear_cache()
        start = time.perf_counter()
        ps.kernels.fully_connected("gelu", depth_, ps.kernels.SIGMA_W, ps.kernels.SIGMA_B)
        print(f"  depth {depth_:2d}: {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    sys.exit(main())
