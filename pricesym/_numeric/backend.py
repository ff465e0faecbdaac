"""JAX, switched to float64 for the whole process on import, with a persistent
compilation cache; pricesym's kept programs write Threefry's rounds out on the CPU
(`threefry`: the same bits, faster to compile).

Every numeric module imports JAX from here, so no reference ever runs in float32.
Compiled programs are kept under ``$XDG_CACHE_HOME/pricesym/xla`` (default
``~/.cache/pricesym/xla``), so a second run skips most XLA compilation;
``PRICESYM_NO_CACHE=1`` turns that off."""

import jax
import jax.numpy as jnp

from .._cache import cache_dir
from . import threefry

jax.config.update("jax_enable_x64", True)
threefry.install()


def _persistent_cache() -> None:
    path = cache_dir("xla")
    if path is None:
        return
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


_persistent_cache()

__all__ = ["jax", "jnp", "is_traced", "prng_key"]


def is_traced(*values) -> bool:
    """True if any value is a JAX tracer (inside jit/vmap), whose value cannot be inspected."""
    return any(isinstance(v, jax.core.Tracer) for v in values)


def prng_key(key):
    """A PRNG key from a key or an integer seed; `AssumptionError` otherwise."""
    import numpy as np

    from .._errors import AssumptionError

    if is_traced(key):
        return key
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    if isinstance(key, jax.Array) and (jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) or key.shape == (2,)):
        return key
    raise AssumptionError(f"`key` must be a JAX PRNG key (jax.random.key(seed)) or an integer seed, got {key!r}.")
