"""The appendix drops into a paper: `\\usepackage{pricesym}` and `\\input{appendix-body}`
compile in `article` at its default width, in two columns and at a 5.5 in text width,
with no overfull box from a verification table."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from helpers import CATALOGUE
from pricesym._report.write import write_report

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("pdflatex") is None, reason="TeX Live (pdflatex) is not installed")]

# Entries with long references and tolerances, matrices and several parts.
NAMES = ["bernoulli/reinforce", "fixation/moran", "selection/expected-step", "sgd/noise-covariance"]
LAYOUTS = {
    "article": r"\documentclass{article}",
    "twocolumn": r"\documentclass[twocolumn]{article}",
    "5.5in": "\\documentclass{article}\n\\usepackage[textwidth=5.5in]{geometry}",
}


@pytest.fixture(scope="module")
def appendix(tmp_path_factory):
    out = tmp_path_factory.mktemp("appendix")
    reports = {n: CATALOGUE[n].check() for n in NAMES}
    write_report([CATALOGUE[n] for n in NAMES], reports, out)
    return out


def _table_lines(body: str) -> list[range]:
    lines = body.splitlines()
    starts = [i + 1 for i, line in enumerate(lines) if r"\begin{tabularx}" in line]
    ends = [i + 1 for i, line in enumerate(lines) if r"\end{tabularx}" in line]
    return [range(a, b + 1) for a, b in zip(starts, ends)]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_body_compiles_in_a_paper_without_overfull_tables(appendix, layout):
    paper = appendix / f"paper-{layout}.tex"
    paper.write_text(LAYOUTS[layout] + "\n\\usepackage{pricesym}\n\\begin{document}\n\\input{appendix-body}\n"
                     "\\end{document}\n")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", paper.name], cwd=appendix,
                         capture_output=True, text=True, errors="replace", timeout=300)
    log = (appendix / f"paper-{layout}.log").read_text(errors="replace")
    assert run.returncode == 0, log[-3000:]
    tables = _table_lines((appendix / "appendix-body.tex").read_text())
    overfull = [(int(a), int(b)) for a, b in re.findall(r"Overfull \\hbox .*? at lines (\d+)--(\d+)", log)]
    in_tables = [(a, b) for a, b in overfull if any(a in t or b in t for t in tables)]
    assert not in_tables, f"overfull boxes from tables at body lines {in_tables}"


def test_the_style_loads_every_package_the_body_needs(appendix):
    sty = (appendix / "pricesym.sty").read_text()
    body = (appendix / "appendix-body.tex").read_text()
    for command, package in [(r"\mathbb", "amssymb"), (r"\begin{tabularx}", "tabularx"), (r"\toprule", "booktabs"),
                             (r"\begin{align*}", "amsmath")]:
        if command in body:
            assert r"\RequirePackage{%s}" % package in sty


def test_formulas_are_broken_for_the_text_width_asked():
    from pricesym._report.document import render_section

    d = CATALOGUE["gd/finite-step"]
    full, column = render_section(d, None, width=6.5), render_section(d, None, width=3.3)
    assert column.count(r"&\quad") > full.count(r"&\quad")  # more continuation lines in a column
    assert r"\psfit{" in column  # and what cannot be broken shrinks to the line
