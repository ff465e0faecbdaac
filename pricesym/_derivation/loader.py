"""Loading derivations: the installed catalogue and the user's files or folders.

A *unit* runs as a whole: one file, or one folder. A folder with ``__init__.py``
is a package, so its derivation files can share a helper module (``from . import
common``); every other folder is a set of independent files. Files whose names
start with ``_`` are not derivation files.

Listing does not run anything: names, titles and docstrings are read from the
source (`scan`), so ``pricesym list`` stays fast however heavy the modules are. A
unit runs when one of its entries is built, or at once if a file registers
derivations in a way the scan cannot read (a computed name). Each unit is keyed
by the content of its files: loading again after an edit runs the new code.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from .._errors import PricesymError, RegistryError, UnknownNameError
from .registry import NAME, Catalogue, Entry, collecting

__all__ = ["load", "Unit", "scan", "CATALOGUE_PACKAGE"]

#: The installed catalogue: the repository's ``derivations/`` folder (pyproject's package-dir).
CATALOGUE_PACKAGE = "pricesym.catalogue"

_RUNS: dict[Path, tuple[str, list[Entry]]] = {}


def scan(path: Path) -> list[tuple[str, str, str]] | None:
    """``(name, title, doc)`` of each ``@...derivation("name")`` on a top-level function,
    read from the source without running it; None when the file registers
    derivations some other way (then it has to run to be listed)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError):
        return None  # running it reports the error properly
    found, decorators = [], set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            if isinstance(dec, ast.Call) and _is_derivation_call(dec):
                decorators.add(id(dec))
                arg = dec.args[0] if len(dec.args) == 1 and not dec.keywords else None
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str) and NAME.match(arg.value)):
                    return None
                doc = ast.get_docstring(node, clean=True) or ""
                if not doc.strip():
                    return None
                found.append((arg.value, doc.strip().splitlines()[0].strip(), doc))
    calls = [n for n in ast.walk(tree) if _is_derivation_call(n) and id(n) not in decorators]
    return None if calls else found


def _is_derivation_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    return (isinstance(f, ast.Attribute) and f.attr == "derivation") or (isinstance(f, ast.Name) and f.id == "derivation")


@dataclasses.dataclass(frozen=True)
class Unit:
    """A file, or a folder of derivation files; ``package`` names a folder that is a
    Python package (its modules are imported as ``package.module``)."""

    path: Path
    package: str | None = None

    @property
    def files(self) -> tuple[Path, ...]:
        if self.path.is_file():
            return (self.path,)
        return tuple(sorted(f for f in self.path.glob("*.py") if not f.name.startswith("_")))

    def digest(self) -> str:
        h = hashlib.sha1()
        extra = sorted(self.path.glob("_*.py")) if self.path.is_dir() else []
        for f in (*self.files, *extra):
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
        return h.hexdigest()

    def listing(self) -> list[Entry]:
        """The unit's entries: built ones if it ran and is unchanged, else read from the source."""
        cached = _RUNS.get(self.path)
        if cached is not None and cached[0] == self.digest():
            return cached[1]
        listed = []
        for f in self.files:
            names = scan(f)
            if names is None:
                return self.run()
            listed += [Entry(name=n, title=t, doc=d, source=str(f), unit=self) for n, t, d in names]
        return listed

    def run(self) -> list[Entry]:
        """Run the unit's modules (again, if they changed) and return what they registered."""
        digest = self.digest()
        cached = _RUNS.get(self.path)
        if cached is not None and cached[0] == digest:
            return cached[1]
        with collecting() as found:
            if self.package is not None:
                self._run_package()
            else:
                for f in self.files:
                    _run_file(f, f"pricesym_user_{f.stem.replace('-', '_')}_{_tag(f)}")
        entries = list(found)
        _RUNS[self.path] = (digest, entries)
        return entries

    def _run_package(self) -> None:
        assert self.package is not None
        for name in [m for m in sys.modules if m == self.package or m.startswith(self.package + ".")]:
            del sys.modules[name]  # an edited helper must not survive in a stale module
        try:
            if self.package != CATALOGUE_PACKAGE:
                spec = importlib.util.spec_from_file_location(
                    self.package, self.path / "__init__.py", submodule_search_locations=[str(self.path)])
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[self.package] = module
                spec.loader.exec_module(module)
            importlib.invalidate_caches()
            for f in self.files:
                importlib.import_module(f"{self.package}.{f.stem}")
        except PricesymError:
            raise
        except Exception as exc:
            raise RegistryError(f"loading {self.path} failed: {type(exc).__name__}: {exc}") from exc


def _tag(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]


def _run_file(path: Path, module_name: str) -> None:
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except PricesymError:
        del sys.modules[module_name]
        raise
    except Exception as exc:
        del sys.modules[module_name]
        raise RegistryError(f"loading {path} failed: {type(exc).__name__}: {exc}") from exc


def installed() -> Unit:
    """The catalogue installed with pricesym."""
    spec = importlib.util.find_spec(CATALOGUE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RegistryError(
            f"the catalogue package `{CATALOGUE_PACKAGE}` is not installed; reinstall pricesym "
            "(`pip install pricesym` or `pip install -e .` in the repository)."
        )
    return Unit(Path(next(iter(spec.submodule_search_locations))).resolve(), CATALOGUE_PACKAGE)


def _unit(raw) -> Unit:
    path = Path(raw).expanduser()
    if path.is_dir():
        path = path.resolve()
        if not any(f for f in path.glob("*.py") if not f.name.startswith("_")):
            raise UnknownNameError(f"`--from {raw}`: the folder has no derivation file (*.py not starting with `_`).")
        if (path / "__init__.py").is_file():
            return Unit(path, f"pricesym_user_{path.name.replace('-', '_')}_{_tag(path)}")
        return Unit(path)
    if path.is_file() and path.suffix == ".py":
        return Unit(path.resolve())
    raise UnknownNameError(f"`--from {raw}`: no derivation file (*.py) or folder at that path.")


def load(*paths, catalogue: bool = True) -> Catalogue:
    """The installed catalogue (unless ``catalogue=False``) plus the derivation files or
    folders in ``paths``, as one `Catalogue`.

    A path that is the catalogue's own folder, or inside a folder already given, adds
    nothing. Listing runs no module; building an entry runs its file (or folder)."""
    units = [installed()] if catalogue else []
    for raw in paths:
        unit = _unit(raw)
        inside = [u for u in units if u.path == unit.path or (u.path.is_dir() and unit.path.parent == u.path)]
        if inside:
            continue
        if any(u.path.is_dir() and unit.path.is_dir() and u.digest() == unit.digest() for u in units):
            continue  # a copy of a folder already loaded (the repository's derivations/ beside an install)
        units.append(unit)
    entries: list[Entry] = []
    for unit in units:
        entries += unit.listing()
    return Catalogue(entries)
