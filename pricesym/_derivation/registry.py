"""The registry: `@ps.derivation(name)` entries, and the `Catalogue` that holds them.

A derivation file registers entries with the decorator::

    @ps.derivation("bernoulli/ntvar")
    def bernoulli_ntvar() -> ps.Derivation:
        r'''Neural tangent variance of p = σ(b).   <- first line: the title

        .. math:: \\operatorname{ntvar}(p) = p^2 (1-p)^2
        '''
        ...
        return ps.Derivation(result=..., symbols=..., steps=..., checks=...)

A `Catalogue` maps names to derivations, built on first access. Its entries may
be *listed* before their module has run (`pricesym._derivation.loader` reads
names, titles and docstrings from the source); the module runs when an entry is
first built.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
from collections.abc import Callable, Iterator, Mapping, Sequence

from .._check.domains import free_values
from .._errors import PricesymError, RegistryError, UnknownNameError
from .derivation import Derivation

__all__ = ["Entry", "derivation", "registry", "Catalogue", "collecting"]

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$")


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """One registered name. ``builder`` is None while its module has not run;
    ``unit`` then knows how to run it (see `loader.Unit`)."""

    name: str
    title: str
    doc: str
    source: str
    builder: Callable[[], Derivation] | None = None
    unit: object = None


_collecting: list[list[Entry]] = []
_interactive: list[Entry] = []


class collecting:  # noqa: N801 - used as `with collecting() as found:`
    """Collect the entries registered while a module runs."""

    def __enter__(self) -> list[Entry]:
        _collecting.append([])
        return _collecting[-1]

    def __exit__(self, *exc) -> None:
        _collecting.pop()


def title_and_doc(fn) -> tuple[str, str]:
    doc = inspect.getdoc(fn) or ""
    if not doc.strip():
        raise RegistryError(
            f"derivation function `{fn.__name__}` needs a docstring: a title line, then the closed form "
            "(`.. math::`), its assumptions and references."
        )
    return doc.strip().splitlines()[0].strip(), doc


def check_name(name) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise RegistryError(
            f"derivation name {name!r} is not valid: use lower-case words, digits and '-', separated by '/', "
            "e.g. 'bernoulli/ntvar'."
        )
    return name


def derivation(name: str) -> Callable[[Callable[[], Derivation]], Callable[[], Derivation]]:
    """Register ``fn() -> Derivation`` under ``name`` (lower-case words separated by / and -)."""
    check_name(name)

    def register(fn):
        title, doc = title_and_doc(fn)
        source = inspect.getsourcefile(fn) or "<interactive>"
        entry = Entry(name=name, builder=fn, source=source, title=title, doc=doc)
        (_collecting[-1] if _collecting else _interactive).append(entry)
        return fn

    return register


def registry() -> Catalogue:
    """The derivations registered interactively (outside `load`)."""
    return Catalogue(_interactive)


class Catalogue(Mapping[str, Derivation]):
    """Derivations by name, built on first access and cached."""

    def __init__(self, entries: Sequence[Entry]):
        self._entries: dict[str, Entry] = {}
        for e in entries:
            if e.name in self._entries:
                raise RegistryError(
                    f"derivation `{e.name}` is registered twice: in {self._entries[e.name].source} and {e.source}."
                )
            self._entries[e.name] = e
        self._built: dict[str, Derivation] = {}

    def __getitem__(self, name: str) -> Derivation:
        entry = self.entry(name)
        if name not in self._built:
            if entry.builder is None:
                entry = self._run(entry)
            self._built[name] = _build(entry)
        return self._built[name]

    def _run(self, entry: Entry) -> Entry:
        """Run the module of a listed entry; every entry it registers replaces its listing."""
        for found in entry.unit.run():  # type: ignore[attr-defined]
            if found.name in self._entries:
                self._entries[found.name] = found
        entry = self._entries[entry.name]
        if entry.builder is None:
            raise RegistryError(
                f"`{entry.name}` is listed in {entry.source} but running that file did not register it; "
                "register derivations with `@ps.derivation(\"name\")` on a top-level function."
            )
        return entry

    def run_modules(self, names=None) -> None:
        """Run the modules that define ``names`` (default: every entry), registering their
        entries without building any: what a forked worker should inherit."""
        for name in list(self._entries) if names is None else names:
            if self.entry(name).builder is None:
                self._run(self.entry(name))

    def entry(self, name: str) -> Entry:
        if name not in self._entries:
            close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else " `pricesym list` shows the names."
            raise UnknownNameError(f"no derivation named `{name}`.{hint}")
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def __repr__(self):
        return f"Catalogue({len(self)} derivations: {', '.join(self._entries)})"


def _build(entry: Entry) -> Derivation:
    assert entry.builder is not None
    try:
        d = entry.builder()
    except PricesymError as exc:
        raise RegistryError(f"building `{entry.name}` ({entry.source}) failed: {exc}") from exc
    if not isinstance(d, Derivation):
        raise RegistryError(f"`{entry.name}`: the decorated function must return a `ps.Derivation`, got {type(d).__name__}.")
    d = dataclasses.replace(d, name=entry.name, title=d.title or entry.title, doc=d.doc or entry.doc)
    declared = set(d.symbols) | set(d.observables)
    for c in d.checks:
        declared |= set(c.domains)
    missing = sorted(str(s) for s in free_values(d.result, declared) - declared)
    if missing:
        raise RegistryError(
            f"`{entry.name}`: the result uses {', '.join(f'`{m}`' for m in missing)} with no domain; "
            "declare each in `symbols={...: ps.uniform(lo, hi)}` or `observables`."
        )
    return d
