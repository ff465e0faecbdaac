"""Loading derivations: the installed catalogue from anywhere, user files added to
it, folders that share a helper module, reloading after an edit, and listing
without running anything."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

import pricesym as ps
from pricesym._derivation.loader import installed, scan

ENTRY = '''
import jax, sympy as sp, pricesym as ps
x = sp.Symbol("x", real=True)

@ps.derivation("user/cube")
def cube():
    """Derivative of a cube.

    .. math:: (x^3)' = {coefficient} x^2
    """
    return ps.Derivation(result={coefficient} * x**2, symbols={{x: ps.uniform(-1, 1)}},
                         checks=(ps.autodiff(lambda v: jax.grad(lambda t: t**3)(v["x"])),), references=("none",))
'''


def test_the_catalogue_is_installed_and_seen_from_any_directory(tmp_path):
    out = subprocess.run([sys.executable, "-c", "import pricesym as ps; print(len(ps.load()))"],
                         capture_output=True, text=True, cwd=tmp_path, check=True)
    assert int(out.stdout) == len(ps.load()) >= 38
    assert (installed().path / "bernoulli.py").is_file()


def test_listing_reads_the_source_and_agrees_with_running_it():
    unit = installed()
    for path in unit.files:
        listed = scan(path)
        assert listed is not None, f"{path.name} registers derivations the listing cannot read"
    ran = {e.name: (e.title, e.doc) for e in unit.run()}
    read = {n: (t, d) for path in unit.files for n, t, d in scan(path)}
    assert ran == read


def test_list_runs_no_catalogue_module():
    code = ("import sys, pricesym._cli.main as m, io; m.main(['list'], out=io.StringIO()); "
            "print(any(k.startswith('pricesym.catalogue.') for k in sys.modules), 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_user_file_is_added_to_the_catalogue(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(ENTRY.format(coefficient=3))
    cat = ps.load(path)
    assert "user/cube" in cat and "bernoulli/ntvar" in cat
    assert ps.load(path, catalogue=False).keys() == {"user/cube"}
    assert cat["user/cube"].check().passed


def test_an_edited_file_is_reloaded(tmp_path):
    path = tmp_path / "edited.py"
    path.write_text(ENTRY.format(coefficient=2))
    assert ps.load(path, catalogue=False)["user/cube"].result == 2 * ps.parse("x") ** 2
    time.sleep(0.01)
    path.write_text(ENTRY.format(coefficient=3))
    assert ps.load(path, catalogue=False)["user/cube"].result == 3 * ps.parse("x") ** 2


def test_a_package_folder_shares_a_helper_module(tmp_path):
    folder = tmp_path / "mypack"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "common.py").write_text('REFERENCE = "Shared, A. (2026). One citation, written once."\n')
    (folder / "topic.py").write_text(textwrap.dedent('''
        import jax, sympy as sp, pricesym as ps
        from .common import REFERENCE
        x = sp.Symbol("x", real=True)

        @ps.derivation("user/shared")
        def shared():
            """Uses a helper module of its folder.

            .. math:: (x^2)' = 2x
            """
            return ps.Derivation(result=2 * x, symbols={x: ps.uniform(-1, 1)}, references=(REFERENCE,),
                                 checks=(ps.autodiff(lambda v: jax.grad(lambda t: t**2)(v["x"])),))
        '''))
    d = ps.load(folder, catalogue=False)["user/shared"]
    assert d.references == ("Shared, A. (2026). One citation, written once.",)
    (folder / "common.py").write_text('REFERENCE = "Edited, B. (2026)."\n')
    assert ps.load(folder, catalogue=False)["user/shared"].references == ("Edited, B. (2026).",)


def test_a_computed_name_is_listed_by_running_the_file(tmp_path):
    path = tmp_path / "computed.py"
    path.write_text(ENTRY.format(coefficient=3).replace('"user/cube"', '"user/" + "cube"'))
    assert scan(path) is None
    assert "user/cube" in ps.load(path, catalogue=False)


def test_the_same_name_twice_is_an_error(tmp_path):
    (tmp_path / "a.py").write_text(ENTRY.format(coefficient=3))
    (tmp_path / "b.py").write_text(ENTRY.format(coefficient=3))
    with pytest.raises(ps.RegistryError, match="registered twice"):
        ps.load(tmp_path, catalogue=False)


def test_a_folder_without_derivation_files_is_bad_input(tmp_path):
    (tmp_path / "_private.py").write_text("")
    with pytest.raises(ps.UnknownNameError, match="has no derivation file"):
        ps.load(tmp_path)
