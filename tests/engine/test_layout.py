"""The layout keeps its promises: the numeric side never imports the symbolic side,
the catalogue and its tests use only the public API, no module is long, and the
front door's `__all__` matches what it exports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pricesym as ps
from helpers import ROOT

PACKAGE = ROOT / "pricesym"
# What a numeric reference may import: the standard library, NumPy/SciPy/JAX, and
# the numeric side itself (plus the error classes and the cache folder). Never SymPy or the algebra.
NUMERIC_ALLOWED = re.compile(r"^(numpy|scipy|jax|jaxlib|pricesym\._numeric|pricesym\._errors|pricesym\._cache)(\.|$)")


def _imports(path: Path, package: str) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.add(module)
            out |= {f"{module}.{alias.name}" for alias in node.names}
    return out


def test_numeric_side_never_imports_the_symbolic_side():
    import sys

    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for path in sorted((PACKAGE / "_numeric").glob("*.py")):
        for name in _imports(path, "pricesym._numeric"):
            top = name.split(".")[0]
            assert top in stdlib or NUMERIC_ALLOWED.match(name), f"{path.name} imports {name}"


def test_catalogue_and_its_tests_use_only_the_public_api():
    for folder in (ROOT / "derivations", ROOT / "tests" / "catalogue"):
        for path in sorted(folder.glob("*.py")):
            text = path.read_text()
            assert not re.search(r"pricesym\._|from pricesym import _", text), f"{path} imports a private module"


def test_no_module_is_long():
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = len(path.read_text().splitlines())
        assert lines <= 450, f"{path.relative_to(ROOT)} has {lines} lines; split it along its concerns"


def test_front_door_all_is_sorted_and_complete():
    public = {n for n in vars(ps) if not n.startswith("_") and type(getattr(ps, n)).__name__ != "module"}
    assert ps.__all__ == sorted(ps.__all__)
    assert set(ps.__all__) == public
    for module in ("numeric", "selection", "popgen", "dynamics", "kernels"):
        mod = __import__(f"pricesym.{module}", fromlist=["__all__"])
        assert mod.__all__ == sorted(mod.__all__), module
        assert set(mod.__all__) == {n for n in vars(mod) if not n.startswith("_")}, module


def test_package_is_typed():
    assert (PACKAGE / "py.typed").is_file()


def test_every_subpackage_is_installed():
    """A normal (not editable) install ships only the packages pyproject lists."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.relative_to(ROOT).parent.parts) for p in PACKAGE.rglob("__init__.py")}
    assert found <= listed, f"not in pyproject's packages: {sorted(found - listed)}"
