"""`jit`: `jax.jit`, with the traced and lowered program kept between runs.

A fresh process pays for tracing each reference in Python and lowering it to StableHLO
before XLA's compilation cache can even be asked; for the catalogue that is most of a
warm run. `jit` exports the program the first time (`jax.export`) to
``$XDG_CACHE_HOME/pricesym/programs`` and, in later runs, calls the exported program
instead of tracing again. Only what is computed is kept: every call still runs the
program on its arguments.

A program is kept only when everything that decides it is in its key:
* the digest of the code the function can reach (`pricesym._cache.code_digest`: the
  function must be defined in pricesym or its catalogue, so a user's module, which may
  import code no digest covers, is always traced);
* the function's module, name and line, and the values its closure and defaults hold
  (numbers, strings, arrays, containers and dataclasses of them, and functions keyed
  the same way, recursively);
* the static arguments' values, keyed the same way, and the other arguments' tree,
  shapes and dtypes;
* JAX's and jaxlib's versions, the backend and JAX's settings (float64, precision, ...).
Anything else (a call under a trace, an unkeyable static argument, a program JAX cannot
export) runs through `jax.jit` as if this module were not there.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import inspect
import os
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._cache import cache_dir, code_digest, remembered
from . import threefry
from .backend import jax

__all__ = ["function_key", "jit"]

class _Unkeyable(Exception):
    pass


def _keyable_class(kind: type) -> str:
    try:
        if code_digest(inspect.getfile(kind)) is None:
            raise _Unkeyable
    except TypeError as exc:  # a builtin class
        raise _Unkeyable from exc
    return f"{kind.__module__}.{kind.__qualname__}"


def _value_key(value, depth: int = 0) -> str:
    """A text that changes whenever ``value`` would change a program traced with it;
    `_Unkeyable` when there is none."""
    if depth > 24:  # a cycle, or a closure nested too deep to be worth naming
        raise _Unkeyable
    if value is None or isinstance(value, (bool, int, float, complex, str)):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, (tuple, list)):
        kind = type(value).__name__ if type(value) in (tuple, list) else _keyable_class(type(value))
        return f"{kind}(" + ",".join(_value_key(v, depth + 1) for v in value) + ")"
    if isinstance(value, types.ModuleType):  # e.g. JAX's lax, held by jax.value_and_grad
        where = getattr(value, "__file__", None)
        if where is None or (code_digest(where) or _jax_digest(where)) is None:
            raise _Unkeyable
        return f"module:{value.__name__}"
    if isinstance(value, (set, frozenset)):  # e.g. jnp.vectorize's excluded arguments
        return f"{type(value).__name__}(" + ",".join(sorted(_value_key(v, depth + 1) for v in value)) + ")"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_value_key(k, depth + 1)}:{_value_key(v, depth + 1)}" for k, v in value.items()) + "}"
    if isinstance(value, types.FunctionType):
        key = function_key(value, depth + 1)
        if key is None:
            raise _Unkeyable
        return key
    if isinstance(value, _Program):
        if value._key is None:
            raise _Unkeyable
        return f"jit({value._key})"
    if type(value).__name__ == "PjitFunction" and isinstance(getattr(value, "__wrapped__", None), types.FunctionType):
        return f"jax.jit({_value_key(value.__wrapped__, depth + 1)})"  # jax.numpy's functions, ...
    if isinstance(value, functools.partial):
        return f"partial({_value_key(value.func, depth + 1)},{_value_key(value.args, depth + 1)}," \
               f"{_value_key(value.keywords, depth + 1)})"
    if isinstance(value, types.MethodType):
        return f"method({_value_key(value.__self__, depth + 1)},{_value_key(value.__func__, depth + 1)})"
    if isinstance(value, np.ndarray) or (isinstance(value, jax.Array) and not isinstance(value, jax.core.Tracer)):
        array = np.asarray(value) if value.dtype != object else None
        if array is None or not array.dtype.isnative:
            raise _Unkeyable
        return f"array {array.dtype}{list(array.shape)} {hashlib.sha256(array.tobytes()).hexdigest()}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return _keyable_class(type(value)) + _value_key(fields, depth + 1)
    raise _Unkeyable


@functools.cache
def _jax_folder() -> Path:
    return Path(jax.__file__).parent.resolve()


def _jax_digest(filename: str) -> str | None:
    """JAX's own functions (``jax.numpy.tanh``, the wrapper `jax.grad` returns) are decided by
    JAX's version, which is in every key; their closures are keyed like any other."""
    try:
        return f"jax {jax.__version__}" if Path(filename).resolve().is_relative_to(_jax_folder()) else None
    except (OSError, ValueError):
        return None


def function_key(fn, depth: int = 0) -> str | None:
    """What decides a program traced from ``fn``: its code's place, the digest of the code
    it can reach, and the values its closure and defaults hold; None when one of them
    cannot be named."""
    if not isinstance(fn, types.FunctionType):
        return None
    digest = code_digest(fn.__code__.co_filename) or _jax_digest(fn.__code__.co_filename)
    if digest is None:
        return None
    try:
        held = _value_key([c.cell_contents for c in fn.__closure__ or ()], depth) + _value_key(
            [fn.__defaults__, fn.__kwdefaults__], depth)
    except (_Unkeyable, ValueError):  # ValueError: an empty cell
        return None
    return f"{fn.__module__}.{fn.__qualname__}:{fn.__code__.co_firstlineno}@{digest}{held}"


def _argument_key(value) -> str:
    """The tree, shapes and dtypes of a traced argument: containers, NamedTuples and
    pricesym's registered pytrees (with their static data) of arrays and numbers."""
    if isinstance(value, jax.core.Tracer):
        raise _Unkeyable  # under a trace: inlined into the caller's program
    if isinstance(value, (bool, int, float, complex)):
        return type(value).__name__
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        aval = jax.typeof(value)
        return f"{aval.dtype}{list(aval.shape)}{'w' if getattr(aval, 'weak_type', False) else ''}"
    if type(value) in (tuple, list):
        return f"{type(value).__name__}(" + ",".join(map(_argument_key, value)) + ")"
    if type(value) is dict and all(isinstance(k, str) for k in value):
        return "{" + ",".join(f"{k!r}:{_argument_key(value[k])}" for k in sorted(value)) + "}"
    children, tree = jax.tree_util.tree_flatten(value, is_leaf=lambda x: x is not value)
    node = tree.node_data()  # type: ignore[attr-defined]
    if node is None:
        raise _Unkeyable
    kind, static = node
    return f"{_keyable_class(kind)}[{_value_key(static)}](" + ",".join(map(_argument_key, children)) + ")"


def _split(out, leaves: list):
    """``out``'s structure as plain data (kept beside the program), its arrays appended to ``leaves``."""
    if isinstance(out, tuple) and hasattr(type(out), "_fields"):  # a NamedTuple
        return ("namedtuple", _keyable_class(type(out)), tuple(_split(v, leaves) for v in out))
    if type(out) in (tuple, list):
        return (type(out).__name__, tuple(_split(v, leaves) for v in out))
    if type(out) is dict and all(isinstance(k, str) for k in out):
        return ("dict", tuple((k, _split(out[k], leaves)) for k in out))
    if out is None:
        return ("none",)
    if isinstance(out, (jax.Array, np.ndarray, np.generic, bool, int, float, complex)):
        leaves.append(out)
        return ("leaf",)
    raise _Unkeyable  # an output JAX would flatten some other way: not kept


def _join(structure, leaves):
    kind = structure[0]
    if kind == "leaf":
        return next(leaves)
    if kind == "none":
        return None
    if kind == "dict":
        return {k: _join(v, leaves) for k, v in structure[1]}
    if kind == "namedtuple":
        module, _, name = structure[1].rpartition(".")
        cls = importlib.import_module(module)
        for part in name.split("."):
            cls = getattr(cls, part)
        return cls(*(_join(v, leaves) for v in structure[2]))
    return (tuple if kind == "tuple" else list)(_join(v, leaves) for v in structure[1])


@functools.cache
def _jaxlib() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jaxlib")
    except PackageNotFoundError:
        return "?"


@functools.cache
def _environment() -> str:
    """JAX's and jaxlib's versions, the backend and JAX's settings (float64, precision,
    promotion, ...; not where caches and logs go), read once per process."""
    settings = sorted((k, repr(v)) for k, v in getattr(jax.config, "values", {}).items()
                      if "cache" not in k and "log" not in k)
    return f"jax {jax.__version__} jaxlib {_jaxlib()} {jax.default_backend()} {settings}"


_SIMPLE = (np.ndarray, np.generic, jax.Array, bool, int, float)


class _Program:
    """The callable `jit` returns."""

    def __init__(self, fn: Callable, static: tuple[str, ...], key: str | None):
        self._fn, self._static = fn, static
        self._jitted = jax.jit(fn, static_argnames=static or None)
        self._signature = inspect.signature(fn)
        kinds = {p.kind for p in self._signature.parameters.values()}
        plain = not kinds & {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}
        self._key = (key if key is not None else function_key(fn)) if plain else None
        self._loaded: dict[str, Callable | None] = {}  # signature → program (None: trace it every run)
        self._arity = len(self._signature.parameters)
        self._fast: dict[tuple, str | None] = {}  # arrays' types, shapes and dtypes → signature
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if self._key is None or os.environ.get("PRICESYM_NO_CACHE"):
            return self._jitted(*args, **kwargs)
        fast = None
        if not kwargs and len(args) == self._arity and all(type(a) in _SIMPLE or isinstance(a, jax.Array) for a in args):
            if any(isinstance(a, jax.core.Tracer) for a in args):
                return self._jitted(*args)
            # the common call, positional arrays and numbers: skip binding and keying
            fast = tuple((type(a), getattr(a, "shape", None), getattr(a, "dtype", None), getattr(a, "weak_type", None))
                         for a in args)
            signature = self._fast.get(fast, "")
            if signature is None:
                return self._jitted(*args)
            if signature and not self._static:
                return self._run(signature, {}, dict(zip(self._signature.parameters, args)))
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError:
            return self._jitted(*args, **kwargs)  # let jax.jit report the bad call
        static = {k: v for k, v in bound.arguments.items() if k in self._static}
        dynamic = {k: v for k, v in bound.arguments.items() if k not in self._static}
        try:
            signature = "|".join([self._key, _environment(), _value_key(static), _argument_key(dynamic)])
        except _Unkeyable:
            signature = None
        if fast is not None:
            self._fast[fast] = signature
        if signature is None:
            return self._jitted(*args, **kwargs)
        return self._run(signature, static, dynamic)

    def _run(self, signature: str, static: dict, dynamic: dict):
        if signature not in self._loaded:
            self._loaded[signature] = self._load(signature, static, dynamic)
        program = self._loaded[signature]
        if program is None:
            return self._jitted(**dynamic, **static)
        return program(jax.tree_util.tree_leaves(dynamic))

    def _load(self, signature: str, static: dict, dynamic: dict) -> Callable | None:
        """The kept program for ``signature`` (exported now if there is none): it takes
        the flat list of the dynamic arguments' leaves and returns the output rebuilt."""
        if cache_dir("programs") is None:  # nowhere to keep it: jax.jit
            return None
        kept = remembered("programs", signature.encode(), lambda: self._export(static, dynamic))
        return None if kept is None else self._wrap(jax.export.deserialize(bytearray(kept[1])), kept[0])

    def _export(self, static: dict, dynamic: dict):
        """(output structure, serialized program), or None when JAX cannot export it."""
        leaves, tree = jax.tree_util.tree_flatten(dynamic)
        structure = None

        def flat(values):
            nonlocal structure
            out: list = []
            structure = _split(self._fn(**jax.tree_util.tree_unflatten(tree, values), **static), out)
            return out

        try:
            with threefry.straight_line():  # large random draws compile faster written out
                body = bytes(jax.export.export(jax.jit(flat))(leaves).serialize())
        except Exception:  # noqa: BLE001 - not keyable outputs, a host callback, ...: traced every run
            return None
        return structure, body

    @staticmethod
    def _wrap(exported, structure) -> Callable:
        call = jax.jit(exported.call)
        return lambda leaves: _join(structure, iter(call(leaves)))


def jit(fn: Callable | None = None, *, static_argnames: str | tuple[str, ...] = (), key: str | None = None):
    """`jax.jit` (as a decorator too), keeping the traced program between runs.

    ``static_argnames`` as for `jax.jit`. ``key`` names a closure's program when its
    caller knows everything the closure holds (for example a check of a catalogue
    entry); it must then change whenever the program would."""
    if fn is None:
        return functools.partial(jit, static_argnames=static_argnames, key=key)
    static = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    return _Program(fn, static, key)
