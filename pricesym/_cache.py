"""Where pricesym keeps what it can reuse between runs: ``$XDG_CACHE_HOME/pricesym``
(default ``~/.cache/pricesym``), or nothing with ``PRICESYM_NO_CACHE=1``.

Three things live there: compiled XLA programs (``xla/``), symbolic evaluations of
unevaluated operators in steps (``doit/``, keyed by the exact expression, the SymPy
version and a digest of pricesym's source; files as trusted as the XLA programs beside
them) and the previous run's durations (``durations.json``, for
scheduling). None of them holds a reference value or a verdict: every check computes
its reference and compares it again on every run."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

__all__ = ["cache_dir", "source_digest"]


def cache_dir(*parts: str) -> Path | None:
    """``$XDG_CACHE_HOME/pricesym/<parts>``, created; None when caching is off or the
    folder cannot be made (a read-only home: run without it)."""
    if os.environ.get("PRICESYM_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base, "pricesym", *parts)
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
