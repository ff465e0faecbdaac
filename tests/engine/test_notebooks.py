"""The three tutorial notebooks run headless (nbclient) and show what a notebook user
should see: LaTeX for expressions and derivations, an HTML table for a check report,
a readable verdict."""

from __future__ import annotations

import ast

import pytest

from helpers import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.slow
TUTORIALS = ROOT / "docs" / "tutorials"


def _run(name: str):
    book = nbformat.read(TUTORIALS / name, as_version=4)
    nbclient.NotebookClient(book, timeout=600, kernel_name="python3").execute()
    return [cell.outputs for cell in book.cells if cell.cell_type == "code"]


def _data(outputs) -> dict:
    merged: dict = {}
    for out in outputs:
        merged.update(out.get("data", {}))
    return merged


def test_derive_tutorial_shows_latex_and_agrees_with_autodiff():
    cells = _run("derive.ipynb")
    first = _data(cells[0])
    assert "text/latex" in first and r"\sigma^{2}\left(b\right)" in first["text/latex"]
    assert _data(cells[1])["text/plain"] == "p**2*(1 - p)**2"
    symbolic, autodiff = ast.literal_eval(_data(cells[-1])["text/plain"])  # two floats, printed by the kernel
    assert symbolic == pytest.approx(autodiff, rel=1e-12)


def test_own_derivation_tutorial_renders_derivation_and_report():
    cells = _run("own-derivation.ipynb")
    assert "text/latex" in _data(cells[1])  # the Derivation
    report = _data(cells[2])
    assert "text/html" in report and "<table>" in report["text/html"] and "PASS" in report["text/html"]
    assert _data(cells[3])["text/plain"] == "False"  # a wrong candidate fails the same references
    assert "pricesym.sty" in _data(cells[4])["text/plain"]


def test_verify_tutorial_gives_readable_verdicts():
    cells = _run("verify.ipynb")
    equal, wrong = _data(cells[0]), _data(cells[1])
    assert "equal" in equal["text/plain"] and "not equal" in wrong["text/plain"]
    assert "Counterexample at" in wrong["text/plain"] and not wrong["text/plain"].startswith("Verdict(")
    assert "\\neq" in wrong["text/latex"] and "e.g. at" in wrong["text/latex"]
