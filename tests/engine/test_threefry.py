"""pricesym's lowering of JAX's Threefry-2x32 primitive on the CPU: both its forms are the
cipher (the published known-answer vectors), random draws are bit for bit JAX's, and the
rounds are written out only for large hashes inside `straight_line`, which kept programs use."""

from __future__ import annotations

import numpy as np
import pytest

from pricesym._numeric import networks, programs, threefry
from pricesym._numeric.backend import jax, jnp

# Known-answer vectors of Threefry-2x32 with 20 rounds, from the Random123 distribution
# (Salmon et al. 2011): (key words, counter words) → output words.
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize("rolled", [True, False], ids=["loop", "written-out"])
@pytest.mark.parametrize(("key", "count", "want"), KNOWN_ANSWERS)
def test_both_forms_are_threefry_2x32_20(key, count, want, rolled):
    words = [jnp.asarray(np.uint32(v)) for v in (*key, *count)]
    got = jax.jit(lambda *w: threefry.threefry2x32(*w, rolled=rolled))(*words)
    assert [int(v) for v in got] == list(want)


def test_a_wrong_rotation_fails_the_known_answers(monkeypatch):
    """The known-answer test sees one changed rotation constant."""
    wrong = ((13, 15, 26, 6), (17, 29, 16, 25))
    monkeypatch.setattr(threefry, "_ROTATIONS", tuple(tuple(np.uint32(r) for r in g) for g in wrong))
    key, count, want = KNOWN_ANSWERS[2]
    got = threefry.threefry2x32(*(jnp.asarray(np.uint32(v)) for v in (*key, *count)))
    assert [int(v) for v in got] != list(want)


def _has_loop(fn, *args) -> bool:
    return "stablehlo.while" in jax.jit(fn).lower(*args).as_text()


@pytest.mark.parametrize("size", [10, 5000, 100_003])
def test_draws_are_jaxs_bits_and_only_large_hashes_inside_straight_line_lose_the_loop(size):
    key = jax.random.key(11)

    def draw(k):
        return jax.random.normal(k, (size,)), jax.random.bits(jax.random.split(k)[1], (size,), jnp.uint64)

    outside = jax.jit(draw)(key)
    with threefry.straight_line():
        inside = jax.jit(lambda k: draw(k))(key)  # a new function: lowered again, inside
        loop_inside = _has_loop(lambda k: draw(k)[0], key)
    np.testing.assert_array_equal(inside[0], outside[0])
    np.testing.assert_array_equal(inside[1], outside[1])
    assert _has_loop(lambda k: draw(k)[0], key)  # outside: as JAX lowers it
    assert loop_inside == (size < threefry._STRAIGHT_FROM)  # the key split stays a loop: small


def test_a_kept_program_writes_large_hashes_out(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PRICESYM_NO_CACHE", raising=False)
    seen = []
    export = programs.jax.export.export

    def spy(fn, *a, **kw):
        exported = export(fn, *a, **kw)

        def run(*args):
            out = exported(*args)
            seen.append(out.mlir_module())
            return out
        return run

    monkeypatch.setattr(programs.jax.export, "export", spy)
    normal = networks._normal  # pricesym's code: kept (a test's own function would not be)
    draws = programs.jit(normal, static_argnames="shape")(jax.random.key(3), shape=(20_000,))
    (module,) = seen
    assert "stablehlo.while" not in module
    np.testing.assert_array_equal(draws, jax.jit(normal, static_argnames="shape")(jax.random.key(3), shape=(20_000,)))
