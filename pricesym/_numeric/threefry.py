"""Threefry-2x32 on the CPU, written out for large draws: the same bits, less compile time.

JAX's random numbers (`jax.random.key`, the default implementation) come from the
Threefry-2x32 block cipher with 20 rounds (Salmon, Moraes, Dror and Shaw, "Parallel
random numbers: as easy as 1, 2, 3", SC 2011). On the CPU, JAX lowers it as a loop of
five trips of four rounds, and XLA compiles that loop's body and bookkeeping as kernels
of their own: about 0.13 s of compile time more than the 20 rounds written out
(0.17 s against 0.04 s for one draw, jaxlib 0.10). The catalogue's kept programs hold 67
such loops.

`install` registers, for the CPU, a lowering of JAX's own primitive
(`jax.extend.random.threefry2x32_p`): a loop, as JAX's (and as fast to compile), except
inside `straight_line`, where hashes of at least 4096 words are written out.
`pricesym.numeric.jit` exports its programs inside `straight_line`. Both forms compute the
same function, so every key, split and draw is bit for bit what JAX computes (tested
against the cipher's published known-answer vectors); only the compiled code differs.
Measured on the catalogue's 99 kept programs, compiled one after another in one process:
38.6 s of XLA compile CPU before, 32.6 s after, and the same run time.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

import numpy as np

__all__ = ["install", "straight_line", "threefry2x32"]

# The rotation constants of Threefry-2x32 for even and odd groups of four rounds, and the key
# schedule's parity word (Salmon et al. 2011).
_ROTATIONS = tuple(tuple(np.uint32(r) for r in group) for group in ((13, 15, 26, 6), (17, 29, 16, 24)))
_PARITY = np.uint32(0x1BD11BDA)


def _four_rounds(x0, x1, rotations):
    """Four rounds of the mix: add, rotate left, xor."""
    for r in rotations:
        x0 = x0 + x1
        x1 = ((x1 << r) | (x1 >> (np.uint32(32) - r))) ^ x0
    return x0, x1


def threefry2x32(key0, key1, count0, count1, *, rolled: bool = False):
    """The 20-round Threefry-2x32 of the counter words (count0, count1) under the key words
    (key0, key1): uint32 arrays (broadcast together) → the two output words. ``rolled``: as a
    loop over the five groups of four rounds, each followed by a key injection."""
    import jax
    import jax.numpy as jnp

    shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in (key0, key1, count0, count1)))
    key0, key1 = jnp.broadcast_arrays(key0, key1)  # the carried schedule turns: one shape
    schedule = (key0, key1, key0 ^ key1 ^ _PARITY)
    x0 = jnp.broadcast_to(count0 + key0, shape)
    x1 = jnp.broadcast_to(count1 + key1, shape)

    def group(g, state):
        # after group g, schedule words g + 1 and g + 2 are injected, and g + 1 into the second
        # word; the state carries the schedule and the rotations turned so that they come first
        x0, x1, (k1, k2, k0), (now, after) = state
        x0, x1 = _four_rounds(x0, x1, [now[j] for j in range(4)])
        return x0 + k1, x1 + k2 + jnp.asarray(g + 1, jnp.uint32), (k2, k0, k1), (after, now)

    state = (x0, x1, (schedule[1], schedule[2], schedule[0]), _ROTATIONS)
    if rolled:
        state = jax.lax.fori_loop(0, 5, group, (*state[:3], tuple(jnp.asarray(r) for r in _ROTATIONS)))
    else:
        for g in range(5):
            state = group(g, state)
    return state[0], state[1]


# Below this many words per output the loop stays: such hashes are key splits and small draws,
# which XLA, written out, would recompute inside every fusion that reads them (a key split
# feeding a (100000, 3) draw was hashed 100000 × 3 times over), and where its simplifier can
# loop on a counter broadcast from a constant (measured: 512 such words took minutes to compile).
_STRAIGHT_FROM = 4096
_STRAIGHT = contextvars.ContextVar("pricesym_straight_threefry", default=False)


@contextlib.contextmanager
def straight_line():
    """Within this block (on this thread), programs lowered for the CPU write out the rounds
    of every Threefry hash of at least 4096 words; elsewhere the hash is a loop, as JAX lowers it."""
    token = _STRAIGHT.set(True)
    try:
        yield
    finally:
        _STRAIGHT.reset(token)


def _lowering(ctx, *args):
    from jax.interpreters import mlir

    rolled = not (_STRAIGHT.get() and ctx.avals_out[0].size >= _STRAIGHT_FROM)
    return mlir.lower_fun(functools.partial(threefry2x32, rolled=rolled), multiple_results=True)(ctx, *args)


@functools.cache
def install() -> bool:
    """Register `_lowering` for JAX's Threefry-2x32 primitive on the CPU (once); False, changing
    nothing, where this JAX has no public primitive to attach it to."""
    try:
        from jax.extend.random import threefry2x32_p
        from jax.interpreters import mlir
    except ImportError:  # an older JAX: its own lowering stays
        return False
    mlir.register_lowering(threefry2x32_p, _lowering, platform="cpu")
    return True
