"""Derivations as values, and the registry that collects them.

A derivation file registers entries with the decorator::

    @ps.derivation("bernoulli/ntvar")
    def bernoulli_ntvar() -> ps.Derivation:
        r'''Neural tangent variance of p = σ(b).   <- first line: the title

        .. math:: \\operatorname{ntvar}(p) = p^2 (1-p)^2
        '''
        ...
        return ps.Derivation(result=..., symbols=..., steps=..., checks=...)

`ps.load(path, ...)` executes derivation files (a file or every ``*.py`` in a
folder not starting with ``_``) and returns a `Catalogue`; entries are built on
first access, so listing stays cheap.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib.util
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import sympy as sp

from ._check import Check, CheckReport, CheckResult, run_check, run_steps
from ._domains import Domain, free_values
from ._errors import PricesymError, RegistryError, UnknownNameError
from ._namespace import Model

__all__ = ["Step", "Derivation", "derivation", "load", "Catalogue", "registry"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$")


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """One equation ``lhs = rhs`` of a derivation and why it holds.

    ``check=False`` marks a step that cannot be evaluated numerically (a
    definition in words, an abstract function); every other step is spot-checked."""

    lhs: sp.Basic | str
    rhs: sp.Basic
    why: str
    check: bool = True

    def __post_init__(self):
        if not self.why.strip():
            raise RegistryError("every step says why it holds (`why=`).")
        if self.check and isinstance(self.lhs, str):
            raise RegistryError(f"step {self.why!r} has a LaTeX-only left side; pass `check=False` or a SymPy lhs.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Derivation:
    """A derived closed form with its assumptions, steps, references and checks.

    Fields:
      result:       the closed form (SymPy expression, Matrix, or Tuple of parts).
      lhs:          what the result is equal to, for display (SymPy or LaTeX string;
                    a sequence of them when ``result`` is a Tuple).
      symbols:      every free symbol the result is evaluated at → its `Domain`.
      observables:  symbols defined through others, e.g. ``{p: sigmoid(b)}``.
      assumptions:  statements (LaTeX allowed) under which the result holds.
      steps:        the chain of `Step`s.
      checks:       independent numeric `Check`s (at least one).
      references:   literature.
      model:        the model(s) the derivation starts from (rendered in the report).
      figures:      functions ``(path, results) -> None`` writing a PDF figure.
    """

    result: sp.Basic
    checks: tuple[Check, ...]
    symbols: Mapping[sp.Symbol, Domain] = dataclasses.field(default_factory=dict)
    lhs: sp.Basic | str | tuple | None = None
    observables: Mapping[sp.Symbol, sp.Basic] = dataclasses.field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    references: tuple[str, ...] = ()
    model: Model | tuple[Model, ...] | None = None
    figures: tuple[Callable, ...] = ()
    name: str = ""
    title: str = ""
    doc: str = ""

    def __post_init__(self):
        set_ = object.__setattr__
        if isinstance(self.result, (list, tuple)):
            set_(self, "result", sp.Tuple(*self.result))
        if isinstance(self.result, sp.MatrixBase) and not isinstance(self.result, sp.ImmutableMatrix):
            set_(self, "result", sp.ImmutableMatrix(self.result))
        if not isinstance(self.result, (sp.Basic, sp.MatrixBase)):
            raise RegistryError(f"`result` must be a SymPy expression, Matrix or Tuple, got {self.result!r}.")
        for field in ("checks", "assumptions", "steps", "references", "figures"):
            value = getattr(self, field)
            if not isinstance(value, tuple):
                set_(self, field, tuple(value))
        if not self.checks:
            raise RegistryError(
                f"derivation `{self.name or '?'}` has no check; every registered derivation needs an "
                "independent numeric check (`checks=(ps.autodiff(...),)` or another kind)."
            )
        bad = [c for c in self.checks if not isinstance(c, Check)]
        if bad:
            raise RegistryError(f"`checks` must hold `Check`s (from ps.autodiff, ps.monte_carlo, ...), got {bad[0]!r}.")
        for s, d in self.symbols.items():
            if not isinstance(s, (sp.Symbol, sp.Indexed)) or not isinstance(d, Domain):
                raise RegistryError(f"`symbols` maps SymPy symbols to domains (ps.uniform, ...), got {s!r}: {d!r}.")

    replace = dataclasses.replace

    # -- checks ----------------------------------------------------------------
    def check(self, *, instances: int | None = None, seed: int = 0, steps: bool = True) -> CheckReport:
        """Run every check (and spot-check the steps) → `CheckReport`."""
        results: list[CheckResult] = []
        for c in self.checks:
            results.append(self.run(c, instances=instances, seed=seed))
        if steps:
            r = run_steps(self.steps, name=self.name, symbols=self.symbols, observables=self.observables, seed=seed)
            if r is not None:
                results.append(r)
        return CheckReport(self.name, tuple(results))

    def run(self, check: Check, *, instances=None, seed=0, closed=None) -> CheckResult:
        """Run one check; ``closed`` replaces the closed form (to show a wrong one fails)."""
        return run_check(check, name=self.name, result=self.result, symbols=self.symbols,
                         observables=self.observables, instances=instances, seed=seed, closed=closed)

    # -- display ---------------------------------------------------------------
    @property
    def free_symbols(self) -> set:
        result = self.result
        return set(getattr(result, "free_symbols", set()))

    def equations(self) -> list[tuple[str, str]]:
        """``(lhs, rhs)`` LaTeX pairs of the result."""
        from ._latex import latex

        parts = list(self.result) if isinstance(self.result, sp.Tuple) else [self.result]
        lhs = self.lhs
        if not isinstance(lhs, (list, tuple)):
            lhs = [lhs] * len(parts) if len(parts) == 1 else [None] * len(parts)
        if len(lhs) != len(parts):
            raise RegistryError(f"`lhs` has {len(lhs)} parts but the result has {len(parts)}.")
        out = []
        for left, right in zip(lhs, parts):
            left_tex = "" if left is None else (left if isinstance(left, str) else latex(left))
            out.append((left_tex, latex(right)))
        return out

    def _repr_latex_(self) -> str:
        rows = [(f"{l} = {r}" if l else r) for l, r in self.equations()]
        return "$\\displaystyle " + r" ,\quad ".join(rows) + "$"

    def __repr__(self):
        return f"Derivation({self.name!r}, result={self.result!s})"


# ----------------------------------------------------------------------------- registry


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    name: str
    builder: Callable[[], Derivation]
    source: str
    title: str
    doc: str


_collecting: list[list[Entry]] = []
_interactive: list[Entry] = []


def _title_and_doc(fn) -> tuple[str, str]:
    doc = inspect.getdoc(fn) or ""
    if not doc.strip():
        raise RegistryError(
            f"derivation function `{fn.__name__}` needs a docstring: a title line, then the closed form "
            "(`.. math::`), its assumptions and references."
        )
    title = doc.strip().splitlines()[0].strip()
    return title, doc


def derivation(name: str) -> Callable[[Callable[[], Derivation]], Callable[[], Derivation]]:
    """Register ``fn() -> Derivation`` under ``name`` (lower-case words separated by / and -)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise RegistryError(
            f"derivation name {name!r} is not valid: use lower-case words, digits and '-', separated by '/', "
            "e.g. 'bernoulli/ntvar'."
        )

    def register(fn):
        title, doc = _title_and_doc(fn)
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
                raise RegistryError(f"derivation `{e.name}` is registered twice: in {self._entries[e.name].source} and {e.source}.")
            self._entries[e.name] = e
        self._built: dict[str, Derivation] = {}

    def __getitem__(self, name: str) -> Derivation:
        entry = self.entry(name)
        if name not in self._built:
            self._built[name] = _build(entry)
        return self._built[name]

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


def _paths(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(sorted(f for f in p.glob("*.py") if not f.name.startswith("_")))
        elif p.is_file() and p.suffix == ".py":
            files.append(p)
        else:
            raise UnknownNameError(f"`--from {raw}`: no derivation file (*.py) or folder at that path.")
    return files


def load(*paths: str | Path) -> Catalogue:
    """Execute derivation files (files or folders) and return their `Catalogue`."""
    if not paths:
        paths = ("derivations",)
    entries: list[Entry] = []
    for file in _paths(paths):
        digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:12]
        module_name = f"pricesym_derivations_{file.stem.replace('-', '_')}_{digest}"
        _collecting.append([])
        try:
            if module_name in sys.modules:
                module = sys.modules[module_name]
                found = getattr(module, "__pricesym_entries__", [])
            else:
                spec = importlib.util.spec_from_file_location(module_name, file)
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                try:
                    spec.loader.exec_module(module)
                except PricesymError:
                    del sys.modules[module_name]
                    raise
                except Exception as exc:
                    del sys.modules[module_name]
                    raise RegistryError(f"loading {file} failed: {type(exc).__name__}: {exc}") from exc
                found = list(_collecting[-1])
                module.__pricesym_entries__ = found
        finally:
            _collecting.pop()
        entries.extend(found)
    return Catalogue(entries)


def describe_doc(doc: str) -> str:
    return textwrap.dedent(doc)
