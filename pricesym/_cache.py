"""Where pricesym keeps what it can reuse between runs: ``$XDG_CACHE_HOME/pricesym``
(default ``~/.cache/pricesym``), or nothing with ``PRICESYM_NO_CACHE=1``.

What lives there: compiled XLA programs (``xla/``); traced references as exported
StableHLO (``programs/``, keyed by the digest of the source they were traced from, see
`pricesym._numeric.programs`); symbolic evaluations of unevaluated operators in steps
(``doit/``) and lambdify's generated source (``lambdify/``), both keyed by the exact
expression, the SymPy version and a digest of pricesym's source; results of pure
symbolic functions marked `kept` (``kept/``, keyed by their pickled arguments and the
digest of their code); and the previous run's durations (``durations.json``, for
scheduling). The files are as trusted as the XLA programs beside them. None of them
holds a reference value or a verdict: every check computes its reference and compares
it again on every run.

Every edit of pricesym or the catalogue starts a new set of entries (about 12 MB for
the whole catalogue), so the folder is kept under a size: ``PRICESYM_CACHE_MB``
megabytes (default 1024). Once a day, after a command, if the folder is over it,
`prune` removes the files used longest ago (reading a kept entry marks it used) until
the folder is under three quarters of the limit; a later run computes what it needs again."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "cache_limit", "catalogue_folder", "code_digest", "kept", "prune", "remembered",
           "source_digest"]


def _root() -> Path | None:
    """``$XDG_CACHE_HOME/pricesym`` (not created); None when caching is off."""
    if os.environ.get("PRICESYM_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "pricesym")


def cache_dir(*parts: str) -> Path | None:
    """``$XDG_CACHE_HOME/pricesym/<parts>``, created; None when caching is off or the
    folder cannot be made (a read-only home: run without it)."""
    root = _root()
    if root is None:
        return None
    path = root.joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


@functools.cache
def source_digest() -> str:
    """A digest of pricesym's own source: what was worked out by one version of the code
    is not reused by another, even at the same version number."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


_DEFAULT_LIMIT_MB = 1024


def cache_limit() -> int:
    """The cache folder's size limit in bytes, from ``PRICESYM_CACHE_MB`` (megabytes,
    default 1024); `ValueError` naming the variable when it is not a number >= 0."""
    text = os.environ.get("PRICESYM_CACHE_MB", "").strip()
    if not text:
        return _DEFAULT_LIMIT_MB << 20
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = -1.0
    if not 0 <= megabytes < float("inf"):
        raise ValueError(f"PRICESYM_CACHE_MB must be a size in megabytes (a number >= 0), got {text!r}.")
    return int(megabytes * (1 << 20))


def prune(limit: int, *, every: float = 86400.0) -> int:
    """Keep the cache folder under ``limit`` bytes: when it is over, remove the files used
    longest ago (the later of their access and modification times) until it is under
    three quarters of the limit. Returns the bytes removed. The folder is looked at once
    per ``every`` seconds (a day; the file ``pruned`` records when): walking a large cache
    takes longer than a short command. A file another run removes first, or that cannot
    be removed, is skipped; a run that then needs an entry computes it again."""
    root = _root()
    if root is None or not root.is_dir():  # no cache (yet): nothing to keep small
        return 0
    marker = root / "pruned"
    try:
        if time.time() - marker.stat().st_mtime < every:
            return 0
    except OSError:  # never pruned
        pass
    try:
        marker.touch()
    except OSError:  # a read-only cache: nothing can be removed either
        return 0
    files = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            try:
                info = os.stat(path)
            except OSError:  # removed meanwhile
                continue
            files.append((max(info.st_atime, info.st_mtime), info.st_size, path))
    total = sum(size for _, size, _ in files)
    if total <= limit:
        return 0
    removed = 0
    for _, size, path in sorted(files):
        if total - removed <= limit * 3 // 4:
            break
        try:
            os.remove(path)
        except OSError:
            continue
        removed += size
    return removed


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@functools.cache
def catalogue_folder() -> Path | None:
    """The installed catalogue's folder (the repository's ``derivations/``), if there is one."""
    import importlib.util

    spec = importlib.util.find_spec("pricesym.catalogue")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]).resolve() if locations else None


@functools.cache
def _folder_digest(folder: Path) -> str:
    return _digest(folder)


def code_digest(filename: str) -> str | None:
    """A digest of all the code a function defined in ``filename`` can reach, when that
    is known: pricesym's source for a file of pricesym, pricesym's and the catalogue's
    for a file of the catalogue; None for any other file (a user's module may import
    code no digest covers, so nothing traced from it is kept)."""
    try:
        path = Path(filename).resolve()
    except (OSError, ValueError):
        return None
    package = Path(__file__).parent.resolve()
    if path.is_relative_to(package):
        return source_digest()
    catalogue = catalogue_folder()
    if catalogue is not None and path.is_relative_to(catalogue):
        return source_digest() + _folder_digest(catalogue)
    return None


def remembered(kind: str, key: bytes, compute: Callable[[], Any]) -> Any:
    """``compute()``, kept in ``$XDG_CACHE_HOME/pricesym/<kind>`` under ``key``: the file
    holds the whole key and is used only if it matches (not a hash collision); a file
    that cannot be read is ignored and written again, atomically; a value that cannot
    be pickled is just not kept."""
    folder = cache_dir(kind)
    if folder is None:
        return compute()
    path = folder / (hashlib.sha256(key).hexdigest() + ".pickle")
    try:
        kept_key, value = pickle.loads(path.read_bytes())
        if kept_key == key:
            with contextlib.suppress(OSError):  # a read-only cache is still read
                os.utime(path)  # used now: `prune` removes the entries used longest ago first
            return value
    except Exception:  # noqa: BLE001 - absent, half-written by a killed run, or from another version
        pass
    value = compute()
    try:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps((key, value)))
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    except Exception:  # noqa: BLE001 - unpicklable, a full disk or a read-only cache
        pass
    return value


def kept(fn: Callable) -> Callable:
    """``@ps.kept``: a pure symbolic function (its result depends on its arguments only)
    whose results are kept between runs in ``$XDG_CACHE_HOME/pricesym/kept``.

    The key is the pickled arguments, the function's name, SymPy's version and the
    digest of the code it can reach (`code_digest`), so editing pricesym or the catalogue
    recomputes everything. A function outside pricesym and its installed catalogue is
    computed on every call: no digest covers the code such a module imports. Arguments
    that cannot be pickled, or that hold a ``Dummy`` (new in every run), are computed
    as usual; an exception is raised again and nothing is kept."""
    import sympy as sp

    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        where = code_digest(fn.__code__.co_filename)
        if where is None:  # not code of pricesym or its catalogue
            return fn(*args, **kwargs)
        try:
            key = pickle.dumps((sp.__version__, where, name, args, sorted(kwargs.items())), protocol=5)
        except Exception:  # noqa: BLE001 - arguments that cannot be pickled
            return fn(*args, **kwargs)
        if b"Dummy" in key:
            return fn(*args, **kwargs)
        return remembered("kept", key, lambda: fn(*args, **kwargs))

    return wrapper
