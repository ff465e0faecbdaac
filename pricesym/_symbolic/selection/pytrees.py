"""Selection functions and mutation laws as JAX pytrees: numeric parameters are
leaves (traced under jit/vmap), flags static, so one compiled simulator serves
every parameter value."""

from __future__ import annotations

from .functions import Hard, KimuraFixation, Linear, Logistic, MoranFixation, Probit
from .mutation import AnisotropicGaussian, Gaussian

__all__ = ["register"]

_DONE: list[bool] = []


def _register_pytree(cls, data: tuple[str, ...], meta: tuple[str, ...] = ()):
    """Let instances cross `jax.jit` / `jax.vmap` as arguments: numeric parameters are
    leaves (traced), flags are static. Unflattening bypasses ``__init__`` because JAX
    rebuilds trees with placeholder leaves that validation would reject."""
    from ..._numeric.backend import jax

    def flatten(obj):
        return tuple(getattr(obj, name) for name in data), tuple(getattr(obj, name) for name in meta)

    def unflatten(aux, leaves):
        obj = object.__new__(cls)
        for name, value in zip(data, leaves):
            object.__setattr__(obj, name, value)
        for name, value in zip(meta, aux):
            object.__setattr__(obj, name, value)
        return obj

    jax.tree_util.register_pytree_node(cls, flatten, unflatten)


def register() -> None:
    """Register once per process (imports JAX)."""
    if _DONE:
        return
    _DONE.append(True)
    _register_pytree(Linear, ("slope", "base"))
    _register_pytree(Hard, ())
    _register_pytree(Probit, ("tau",))
    _register_pytree(Logistic, ("beta",))
    _register_pytree(MoranFixation, ("N",), ("diffusion",))
    _register_pytree(KimuraFixation, ("N",), ("diffusion",))
    _register_pytree(Gaussian, ("sigma",))
    _register_pytree(AnisotropicGaussian, ("Sigma",))
