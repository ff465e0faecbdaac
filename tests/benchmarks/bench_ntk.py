"""Benchmark: the derived NTK of a one-hidden-layer tanh network (`ntk/mlp`)
against JAX autodiff, against the tanh-throughput bound, and the cost of the
derivation as the width grows.

Run from the repository root::

    python tests/benchmarks/bench_ntk.py            # one thread, CPU-time clock
    python tests/benchmarks/bench_ntk.py --wall     # XLA's default threads, wall clock

By default XLA runs on one thread and each timing is the best of several
repeats of the process CPU time: on a shared machine that is what stays
reproducible; ``--wall`` measures wall-clock time with every core instead.
Nothing here asserts a time; the numbers are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wall", action="store_true", help="XLA's default threading and wall-clock time")
    parser.add_argument("--pairs", type=int, default=100_000, help="input pairs per kernel evaluation")
    parser.add_argument("--gram", type=int, default=2048, help="inputs of the Gram matrix")
    parser.add_argument("--repeats", type=int, default=7, help="timings per measurement (the best is kept)")
    return parser.parse_args()


ARGS = _parse()
if not ARGS.wall:
    # Before JAX is imported: one XLA thread, so CPU time measures the work done.
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402
from sympy.core.cache import clear_cache  # noqa: E402

import pricesym as ps  # noqa: E402
from pricesym.numeric import jax_ntcov  # noqa: E402  (also switches JAX to float64)

WIDTHS = (4, 16, 64)
DERIVATION_WIDTHS = (1, 2, 4, 8, 16, 32)
CLOCK = time.perf_counter if ARGS.wall else time.process_time


def best_time(fn, *args, repeats=ARGS.repeats) -> float:
    """Best of ``repeats`` timings of a compiled call, after a warm-up call."""
    return race({"fn": (fn, args)}, repeats)["fn"]


def race(contenders, rounds=ARGS.repeats) -> dict[str, float]:
    """Best time of each ``name -> (compiled fn, args)``, timed in interleaved
    rounds so that every contender sees the same machine load."""
    for fn, args in contenders.values():
        jax.block_until_ready(fn(*args))  # warm-up: compile and touch the buffers
    best = {name: float("inf") for name in contenders}
    for _ in range(rounds):
        for name, (fn, args) in contenders.items():
            start = CLOCK()
            jax.block_until_ready(fn(*args))
            best[name] = min(best[name], CLOCK() - start)
    return best


def best_python_time(fn, repeats=3) -> float:
    times = []
    for _ in range(repeats):
        clear_cache()  # SymPy caches results; every repeat derives from scratch
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _module():
    derivation = ps.load()["ntk/mlp"]  # runs the catalogue's modules
    return derivation, sys.modules["pricesym.catalogue.ntk"]


def tanh_contenders(rng) -> dict:
    """Kernels that calibrate tanh throughput on a 2^20 array (8 MB: bigger than
    the caches that matter, small enough not to be page-fault bound): jnp.tanh
    alone (the bound), and tanh of an affine argument fused into one loop, which
    is what any compiled kernel of this network gets."""
    a = jnp.asarray(rng.uniform(-2, 2, 1 << 20))
    return {"tanh": (jax.jit(jnp.tanh), (a,)), "tanh fused": (jax.jit(lambda t: jnp.tanh(1.3 * t + 0.2)), (a,))}


def per_pair(derivation, mod, rng):
    """Kernel at many (x, x') pairs: derived closed form vs autodiff, and the
    fraction of the tanh bound (2m tanh evaluations per pair: tanh(u_j x + b_j)
    and tanh(u_j x' + b_j) for every unit; the other ~8 flops per unit are not
    counted)."""
    n = ARGS.pairs
    xs = jnp.asarray(rng.uniform(-2, 2, n))
    xps = jnp.asarray(rng.uniform(-2, 2, n))
    calibration = tanh_contenders(rng)
    print(f"\nNTK at {n:.0e} input pairs, ns per pair. bound = 2m / (jnp.tanh throughput measured in the same rounds);")
    print("'fused' uses the throughput of tanh(a x + c) in one compiled loop instead.")
    print(f"{'m':>4} {'closed':>9} {'autodiff':>9} {'jax_ntcov':>9} {'speed-up':>8} {'tanh/s':>8} {'bound':>7} "
          f"{'of bound':>8} {'of fused':>8} {'of floor':>8} {'max |diff|':>10}")
    rows = []
    for width in WIDTHS:
        weights = [mod.u[k] for k in range(width)] + [mod.b[k] for k in range(width)] + [mod.v[k] for k in range(width)]
        expr = mod.at_width(derivation.result, width)
        fn = sp.lambdify([mod.x, mod.xprime, *weights], expr, modules="jax", cse=True)
        # Struct of arrays: one array per input column, the weights shared by every pair.
        closed = jax.jit(jax.vmap(lambda a, c, w: fn(a, c, *w), in_axes=(0, 0, None)))

        def output(params, inp, width=width):
            return mod.mlp.jax(inp, *params, width)

        def split(w, width=width):
            return w[:width], w[width:2 * width], w[2 * width:]

        def autodiff_pair(a, c, w, output=output, split=split):
            params = split(w)
            ja, jc = jax.jacrev(output)(params, a), jax.jacrev(output)(params, c)
            return sum(jnp.vdot(p, q) for p, q in zip(ja, jc))

        def helper_pair(a, c, w, output=output, split=split):
            # The engine's public helper: jacrev on the flat weight vector, J_x J_x'^T.
            return jax_ntcov(lambda ww: output(split(ww), a), lambda ww: output(split(ww), c), w)[0, 0]

        def floor_pair(a, c, w, width=width):
            # The least any compiled kernel of this network computes: 2m tanh of affine arguments
            # and one product-sum per unit (the closed form adds ~6 flops per unit to this).
            u_, b_ = w[:width], w[width:2 * width]
            return sum(jnp.tanh(u_[k] * a + b_[k]) * jnp.tanh(u_[k] * c + b_[k]) for k in range(width))

        auto = jax.jit(jax.vmap(autodiff_pair, in_axes=(0, 0, None)))
        floor = jax.jit(jax.vmap(floor_pair, in_axes=(0, 0, None)))
        helper = jax.jit(jax.vmap(helper_pair, in_axes=(0, 0, None)))
        w = jnp.asarray(np.concatenate([rng.normal(0, 1, width), rng.normal(0, 0.5, width), rng.normal(0, 1, width)]))
        diff = float(jnp.max(jnp.abs(closed(xs, xps, w) - auto(xs, xps, w))))
        t = race({"closed": (closed, (xs, xps, w)), "autodiff": (auto, (xs, xps, w)),
                  "jax_ntcov": (helper, (xs, xps, w)), "floor": (floor, (xs, xps, w)), **calibration})
        rate = (1 << 20) / t["tanh"]
        fused_rate = (1 << 20) / t["tanh fused"]
        t_closed, t_auto, t_helper = (t[k] / n * 1e9 for k in ("closed", "autodiff", "jax_ntcov"))
        bound = 2 * width / rate * 1e9
        fastest_auto = min(t_auto, t_helper)
        print(f"{width:>4} {t_closed:>9.1f} {t_auto:>9.1f} {t_helper:>9.1f} {fastest_auto / t_closed:>7.2f}x "
              f"{rate / 1e9:>6.2f}e9 {bound:>7.1f} {bound / t_closed:>8.0%} "
              f"{2 * width / fused_rate * 1e9 / t_closed:>8.0%} {t['floor'] / n * 1e9 / t_closed:>8.0%} {diff:>10.1e}")
        rows.append((width, t_closed, fastest_auto, bound))
    print("speed-up: fastest autodiff / closed form; of bound: bound / closed form (100% = at the tanh bound);")
    print("of floor: the time of 2m tanh of affine arguments and a product-sum per unit (nothing else) / closed form")
    return rows


def gram(mod, rng):
    """Gram matrix of n inputs: derived per-input features F (Θ = F Fᵀ) vs
    autodiff Jacobians J Jᵀ, and the per-pair closed form over all n² pairs."""
    n = ARGS.gram
    xs = jnp.asarray(rng.uniform(-2, 2, n))
    _, grad = mod.unit_gradient(mod.mlp, mod.x)
    uj, bj, vj = mod.u[mod.j], mod.b[mod.j], mod.v[mod.j]
    feature_fn = sp.lambdify([mod.x, uj, bj, vj, mod.m], list(grad), modules="jax", cse=True)
    print(f"\nGram matrix of {n} inputs (ms)")
    print(f"{'m':>4} {'features':>9} {'autodiff J':>10} {'per pair':>9} {'max |diff|':>10}")
    for width in WIDTHS:
        u_, b_, v_ = rng.normal(0, 1, width), rng.normal(0, 0.5, width), rng.normal(0, 1, width)
        params = tuple(jnp.asarray(p) for p in (u_, b_, v_))

        def features(xs, params, width=width):
            u, b, v = (p[None, :] for p in params)
            cols = feature_fn(xs[:, None], u, b, v, float(width))  # per unit (u_j, b_j, v_j) columns
            f = jnp.concatenate([jnp.broadcast_to(c, (xs.shape[0], width)) for c in cols], axis=1)
            return f @ f.T

        def jacobians(xs, params, width=width):
            jac = jax.vmap(jax.jacrev(lambda p, inp: mod.mlp.jax(inp, *p, width)), in_axes=(None, 0))(params, xs)
            j = jnp.concatenate(jac, axis=1)
            return j @ j.T

        weights = [mod.u[k] for k in range(width)] + [mod.b[k] for k in range(width)] + [mod.v[k] for k in range(width)]
        pair_fn = sp.lambdify([mod.x, mod.xprime, *weights], mod.at_width(_kernel(mod), width), modules="jax", cse=True)
        w = jnp.concatenate(params)

        def pairs(xs, w):
            a, c = jnp.meshgrid(xs, xs, indexing="ij")
            return jax.vmap(lambda s, t: pair_fn(s, t, *w))(a.reshape(-1), c.reshape(-1)).reshape(n, n)

        f_jit, j_jit, p_jit = jax.jit(features), jax.jit(jacobians), jax.jit(pairs)
        diff = float(jnp.max(jnp.abs(f_jit(xs, params) - j_jit(xs, params))))
        diff = max(diff, float(jnp.max(jnp.abs(p_jit(xs, w) - j_jit(xs, params)))))
        t = race({"features": (f_jit, (xs, params)), "jacobians": (j_jit, (xs, params))})
        t_f, t_j = t["features"] * 1e3, t["jacobians"] * 1e3
        t_p = best_time(p_jit, xs, w, repeats=3) * 1e3
        print(f"{width:>4} {t_f:>9.2f} {t_j:>10.2f} {t_p:>9.1f} {diff:>10.1e}")


def _kernel(mod):
    return mod.mlp_kernel(mod.mlp)[2]


def derivation_cost(mod):
    """Symbolic cost vs width: the generic-unit derivation written out at width m,
    and (for contrast) differentiating the written-out network by ps.ntcov."""
    print("\nSymbolic derivation time vs width (ms, best of 3, SymPy cache cleared)")
    print(f"{'m':>4} {'sum over units':>15} {'full network':>13} {'ops in result':>14}")
    t_sum, t_full = [], []
    for width in DERIVATION_WIDTHS:
        t_s = best_python_time(lambda: mod.at_width(_kernel(mod), width))

        def full(width=width):
            us, bs, vs = ([base[k] for k in range(width)] for base in (mod.u, mod.b, mod.v))
            f_x = mod.mlp.sympy(mod.x, us, bs, vs, width)
            f_xp = mod.mlp.sympy(mod.xprime, us, bs, vs, width)
            return ps.ntcov(f_x, f_xp, us + bs + vs)

        t_f = best_python_time(full) if width <= 16 else float("nan")
        ops = sp.count_ops(mod.at_width(_kernel(mod), width))
        t_sum.append(t_s)
        t_full.append(t_f)
        print(f"{width:>4} {t_s * 1e3:>15.1f} {t_f * 1e3:>13.1f} {ops:>14}")
    widths = np.asarray(DERIVATION_WIDTHS, dtype=float)
    t_sum = np.asarray(t_sum)
    slope, intercept = np.polyfit(widths, t_sum, 1)
    big = widths >= 4
    loglog = np.polyfit(np.log(widths[big]), np.log(t_sum[big]), 1)[0]
    print(f"sum over units: time ≈ {intercept * 1e3:.1f} ms + {slope * 1e3:.2f} ms·m "
          f"(linear fit); log-log slope over m ≥ 4: {loglog:.2f} (1 = linear)")
    t_full = np.asarray(t_full)
    ok = np.isfinite(t_full) & big
    if ok.sum() >= 2:
        print(f"full network by ps.ntcov: log-log slope over m = 4..16: "
              f"{np.polyfit(np.log(widths[ok]), np.log(t_full[ok]), 1)[0]:.2f}")


def main():
    print(f"pricesym {ps.__version__}, jax {jax.__version__}, float64={jax.config.jax_enable_x64}, "
          f"{'wall clock, default XLA threads' if ARGS.wall else 'CPU time, one XLA thread'}, "
          f"best of {ARGS.repeats}")
    rng = np.random.default_rng(0)
    derivation, mod = _module()
    per_pair(derivation, mod, rng)
    gram(mod, rng)
    derivation_cost(mod)


if __name__ == "__main__":
    main()
