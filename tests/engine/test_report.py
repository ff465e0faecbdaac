"""The LaTeX report: exact strings for the printer and the pieces of a section;
the appendix compiles (latexmk); the same seed gives the same bytes; a failure
leaves no partial file."""

import shutil
from pathlib import Path

import pytest
import sympy as sp

import pricesym as ps
from pricesym._report import document as _document
from pricesym._report import model as _model
from pricesym._report import text as _text
from pricesym._report import write as _write
from pricesym._report.breaking import break_lines, visible_width
from pricesym._report.document import render_section
from pricesym._report.equations import boxed, render_steps
from pricesym._report.rst import rst_to_latex
from pricesym._report.table import number
from pricesym._report.text import escape, inline, math
from pricesym._report.write import write_report

b = sp.Symbol("b", real=True)
p = sp.Symbol("p", positive=True)

needs_tex = pytest.mark.skipif(
    shutil.which("latexmk") is None or shutil.which("pdflatex") is None,
    reason="TeX Live (latexmk, pdflatex) is not installed; CI installs it",
)


def tiny(**fields) -> ps.Derivation:
    """A derivation that is never checked here: the report only renders it."""
    base = dict(result=p**2 * (1 - p) ** 2, symbols={b: ps.uniform(-1, 1)}, observables={p: ps.sigmoid(b)},
                checks=(ps.autodiff(lambda x: x["b"]),), name="test/tiny", title="A tiny derivation",
                doc="A tiny derivation.\n\nBody text.")
    return ps.Derivation(**{**base, **fields})


# ----------------------------------------------------------------------------- printer


def test_printer_ntvar_of_sigmoid():
    assert ps.latex(ps.ntvar(ps.sigmoid(b), [b])) == r"\left(1 - \sigma\left(b\right)\right)^{2} \sigma^{2}\left(b\right)"
    assert ps.latex(ps.NtVar(ps.sigmoid(b), sp.Tuple(b))) == r"\operatorname{ntvar}\left(\sigma\left(b\right)\right)"


def test_printer_notation():
    assert ps.latex(ps.NtCov(p, 2 * p - 1, sp.Tuple(b))) == r"\operatorname{ntcov}\left(p, 2 p - 1\right)"
    assert ps.latex(ps.NtVar(p, sp.Tuple(b)) ** 2) == r"\operatorname{ntvar}^{2}\left(p\right)"
    assert ps.latex(ps.logit(p) ** 2) == r"\operatorname{logit}^{2}\left(p\right)"
    assert ps.latex(ps.Softmax(1, b, p)) == r"\operatorname{softmax}\left(b, p\right)_{1}"
    assert ps.latex(ps.softmax([b, p])) == (
        r"\left(\begin{matrix}\operatorname{softmax}\left(b, p\right)_{0}\\"
        r"\operatorname{softmax}\left(b, p\right)_{1}\end{matrix}\right)"
    )
    assert ps.latex(sp.Derivative(ps.sigmoid(b), b)) == r"\frac{d}{d b} \sigma\left(b\right)"
    i, m = sp.symbols("i m", integer=True)
    w = sp.IndexedBase("w")
    assert ps.latex(sp.Sum(w[i] ** 2, (i, 1, m))) == r"\sum_{i=1}^{m} {w}_{i}^{2}"
    assert ps.latex(sp.Tuple(p, b)) == r"\left( p, \  b\right)"


def test_printer_power_goes_on_the_name_through_sympys_own_protocol():
    # `_latex(printer, exp=None)` on the class: pricesym's printer and plain sympy.latex agree.
    assert ps.latex(ps.sigmoid(b) ** 2) == sp.latex(ps.sigmoid(b) ** 2) == r"\sigma^{2}\left(b\right)"
    assert ps.latex(ps.NtVar(p, sp.Tuple(b)) ** 3) == r"\operatorname{ntvar}^{3}\left(p\right)"


def test_printer_settings_are_checked_and_strings_are_not_parsed():
    with pytest.raises(TypeError, match="Unknown setting 'mat_delimiter'"):
        ps.latex(b, mat_delimiter="[")
    with pytest.raises(ps.ParseError, match="string 'x\\+1'"):
        ps.latex("x+1")


def test_break_lines_keeps_short_expressions_and_balances_long_ones():
    assert break_lines(p**2 * (1 - p) ** 2) == [ps.latex(p**2 * (1 - p) ** 2)]
    xs = sp.symbols("x0:40")
    long = ps.sigmoid(b) * sp.Add(*[x * sp.tanh(x) for x in xs])
    lines = break_lines(long, 40)
    assert len(lines) > 2
    for line in lines:
        assert line.count(r"\left") == line.count(r"\right")
        assert visible_width(line) <= 40 + 12  # one token may overhang
    assert lines[1].startswith(r"\left.+ ")


# ----------------------------------------------------------------------------- text


def test_escape_specials():
    assert escape("a_b 50% & #1 {x} $") == r"a\_b 50\% \& \#1 \{x\} \$"
    assert escape("back\\slash ~ ^ <>|") == (
        r"back\textbackslash{}slash \textasciitilde{} \textasciicircum{} \textless{}\textgreater{}\textbar{}"
    )
    assert escape('say "do" now') == "say ``do'' now"


def test_unicode_mapping():
    assert escape("σ(b) ≥ 0, x² − 1") == r"\(\sigma\)(b) \(\geq\) 0, x\(^{2}\) \(-\) 1"
    assert escape("∇σ") == r"\(\nabla\sigma\)"  # one math run, never $$ (display math)
    assert escape("r̄ – ok") == r"\(\bar{r}\) -- ok"
    assert math("σb + ∇²f ≤ ‖x‖⁻¹ w₀") == r"\sigma b + \nabla^{2}f \leq \|x\|^{-1} w_{0}"
    assert escape("café") == "café"
    with pytest.raises(ps.ReportError, match=r"U\+2135.*assumption 1"):
        escape("ℵ", "assumption 1")


def test_inline_math_in_text():
    assert inline(r"$p = \sigma(b)$ with 5% of σ") == r"$p = \sigma(b)$ with 5\% of \(\sigma\)"
    assert inline(r"costs \$5") == r"costs \$5"
    with pytest.raises(ps.ReportError, match="unbalanced `\\$`"):
        inline(r"$p = \sigma(b)")
    with pytest.raises(ps.ReportError, match="without `\\\\end"):
        inline(r"$\begin{cases} x$")


def test_docstring_prose():
    doc = "Some :math:`p^2` and ``code``.\n\n.. math:: a = b\n\n* one\n* two σ\n"
    assert rst_to_latex(doc, "doc") == (
        "Some $p^2$ and \\texttt{code}.\n\n"
        "\\begin{equation*}\n\\psfit{a = b}\n\\end{equation*}\n\n"
        "\\begin{itemize}\n  \\item one\n  \\item two \\(\\sigma\\)\n\\end{itemize}"
    )
    multi = ".. math::\n\n    a &= b \\\\\n    c &= d\n"
    assert rst_to_latex(multi, "doc") == "\\begin{align*}\na &= b \\\\ c &= d\n\\end{align*}"


def test_numbers_are_formatted_deterministically():
    assert number(1.7e-16) == r"$1.7\times 10^{-16}$"
    assert number(0.000646) == "0.000646"
    assert number(float("nan")) == "--"
    assert number(float("inf")) == r"$\infty$"


# ----------------------------------------------------------------------------- section pieces


def test_boxed_result_line():
    assert boxed(r"\operatorname{ntvar}\left(p\right)", p**2 * (1 - p) ** 2) == (
        r"\boxed{\operatorname{ntvar}\left(p\right) = p^{2} \left(1 - p\right)^{2}}"
    )


def test_step_rows_and_chains():
    sig = ps.sigmoid(b)
    d = tiny(steps=(
        ps.Step(lhs=sp.Derivative(sig, b), rhs=sig * (1 - sig), why=r"$\sigma' = \sigma(1-\sigma)$"),
        ps.Step(lhs=sig * (1 - sig), rhs=p * (1 - p), why="in terms of p"),
    ))
    assert render_steps(d) == (
        "\\begin{align*}\n"
        r"\frac{d}{d b} \sigma\left(b\right) &= \left(1 - \sigma\left(b\right)\right) \sigma\left(b\right)"
        r" && \text{$\sigma' = \sigma(1-\sigma)$} \\" "\n"
        r"&= p \left(1 - p\right) && \text{in terms of p}" "\n"
        "\\end{align*}"
    )


def test_wide_matrix_result_is_listed_entry_by_entry():
    xs = sp.symbols("x0:12")
    row = [sp.Add(*[x * sp.tanh(x + k) for x in xs]) for k in range(3)]
    text = boxed("M", sp.ImmutableMatrix([row]))
    assert r"\left[M\right]_{11} &= " in text and r"\left[M\right]_{13} &= " in text


def test_model_rendered_by_latexify(catalogue):
    d = catalogue["bernoulli/ntvar"]
    assert _model.model_latex(d.model) == r"\mathrm{bernoulli\_policy}(b) = \sigma \mathopen{}\left( b \mathclose{}\right)"
    assert "P(do) for a policy" in render_section(d, None)


def test_model_latexify_cannot_render_is_shown_as_source_and_said():
    @ps.model
    def looped(np, b):
        total = 0
        for k in range(3):
            total = total + np.tanh(k * b)
        return total

    text = render_section(tiny(model=looped), None)
    assert "latexify-py could not render the model \\texttt{looped}" in text
    assert "\\begin{Verbatim}" in text and "for k in range(3):" in text


def test_section_shape(catalogue):
    d = catalogue["bernoulli/ntvar"]
    result = ps.CheckResult(name=d.name, label="closed_form", method="autodiff", reference="jax.grad of 50% & more",
                            instances=16, seed=0, max_abs_error=6.9e-18, max_rel_error=1.7e-16,
                            tolerance="float64 round-off: rel 1e-10", worst_instance={"b": 1.5, "p": 0.8},
                            passed=False, detail={"max_se_multiple": 2.0})
    text = render_section(d, ps.CheckReport(d.name, (result,)))
    assert text.startswith("\\section{\\texorpdfstring{Neural tangent variance of a Bernoulli policy p = \\(\\sigma\\)(b)}"
                           "{Neural tangent variance of a Bernoulli policy p = σ(b)}}\\label{deriv:bernoulli/ntvar}")
    assert "\\texttt{bernoulli/ntvar}" in text
    assert "\\item $p = \\sigma(b)$ with a single free bias $b$" in text
    assert ("\\textbf{FAIL}\\newline closed\\_\\allowbreak{}form\\newline \\textit{autodiff} & "
            "jax.\\allowbreak{}grad of 50\\% \\& more; $n = 16$, seed 0; max.\\ abs.\\ error $6.9\\times 10^{-18}$, "
            "max.\\ rel.\\ error $1.7\\times 10^{-16}$; tolerance: float64 round-off: rel 1e-10. \\\\") in text
    assert "worst instance $b = 1.5,\\ p = 0.8$; largest error in standard errors 2." in text
    assert "\\textbf{1 of 1 checks failed.}" in text
    assert "\\paragraph{References.}" in text


# ----------------------------------------------------------------------------- writing


def _figure(path: Path, report) -> None:
    """p(1-p) against b."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.linspace(-6, 6, 50)
    q = 1 / (1 + np.exp(-x))
    fig, ax = plt.subplots(figsize=(4, 2.5))
    ax.plot(x, (q * (1 - q)) ** 2)
    fig.savefig(path, metadata={"CreationDate": None})
    plt.close(fig)


@pytest.fixture(scope="module")
def checked(catalogue):
    ds = [catalogue["bernoulli/ntvar"].replace(figures=(_figure,)), catalogue["bernoulli/reinforce"]]
    return ds, {d.name: d.check() for d in ds}


@needs_tex
def test_appendix_compiles(checked, tmp_path):
    ds, results = checked
    files = write_report(ds, results, tmp_path / "out", pdf=True, title="Bernoulli & friends")
    assert files.pdf == tmp_path / "out" / "appendix.pdf"
    assert files.pdf.stat().st_size > 10_000
    assert files.figures == (tmp_path / "out" / "figures" / "bernoulli_ntvar-1.pdf",)
    tex = files.tex.read_text()
    body = files.body.read_text()
    assert body in tex  # the complete document inlines the fragment
    assert "\\includegraphics[width=.8\\linewidth]{figures/bernoulli_ntvar-1.pdf}" in body
    assert "\\title{Bernoulli \\& friends}" in tex and "\\date{}" in tex
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == [
        "appendix-body.tex", "appendix.pdf", "appendix.tex", "figures", "pricesym.sty"]


def test_same_seed_same_bytes(catalogue, tmp_path):
    d = catalogue["bernoulli/ntvar"].replace(figures=(_figure,))
    outs = []
    for run in range(2):
        files = write_report([d], {d.name: d.check(seed=3)}, tmp_path / f"run{run}")
        outs.append(files)
    for name in ("tex", "body"):
        assert getattr(outs[0], name).read_bytes() == getattr(outs[1], name).read_bytes()
    assert outs[0].figures[0].read_bytes() == outs[1].figures[0].read_bytes()
    text = outs[0].tex.read_text()
    assert str(tmp_path) not in text and "seed" in text


@needs_tex
def test_failed_compilation_raises_and_leaves_nothing(tmp_path):
    bad = tiny(steps=(ps.Step(lhs=r"\undefinedmacro x", rhs=p, why="typo", check=False),))
    out = tmp_path / "out"
    with pytest.raises(ps.ReportError, match=r"(?s)Undefined control sequence.*undefinedmacro.*appendix\.tex line \d+: "):
        write_report([bad], {}, out, pdf=True)
    assert list(out.iterdir()) == []  # no appendix.pdf, no .tex, no staging folder


def test_unbalanced_latex_is_caught_before_writing(tmp_path):
    bad = tiny(title=r"Broken :math:`\begin{cases} x`")
    with pytest.raises(ps.ReportError, match=r"the title of `test/tiny` has `\\begin\{cases\}` without"):
        write_report([bad], {}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_latexmk_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(_write.shutil, "which", lambda name: None)
    with pytest.raises(ps.ReportError, match="apt-get install texlive-latex-base texlive-latex-recommended latexmk"):
        write_report([tiny()], {}, tmp_path / "out", pdf=True)
    assert not (tmp_path / "out").exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(ps.ReportError, match="`derivations` is empty"):
        write_report([], {}, tmp_path)
    with pytest.raises(ps.ReportError, match="`derivations` must hold"):
        write_report(["bernoulli/ntvar"], {}, tmp_path)
    with pytest.raises(ps.ReportError, match=r"`results\['test/tiny'\]` must be a `CheckReport`"):
        write_report([tiny()], {"test/tiny": "passed"}, tmp_path)
    with pytest.raises(ps.ReportError, match="more than once"):
        write_report([tiny(), tiny()], {}, tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ps.ReportError, match="`out` must be a folder"):
        write_report([tiny()], {}, tmp_path / "file")


def test_preamble_packages_are_in_base_or_recommended():
    text = _document.preamble()
    for package in ("amsmath", "amssymb", "booktabs", "tabularx", "graphicx", "fancyvrb"):
        assert "\\usepackage{%s}" % package in text
    assert "newunicodechar" not in text and "breqn" not in text
    assert _text.UNICODE["σ"] == r"\sigma"


def test_paper_options_heading_level_and_no_catalogue_names(catalogue):
    from pricesym._report.document import render_body

    d = catalogue["bernoulli/ntvar"]
    body = render_body([d], {}, level="subsection", names=False)
    assert "\\subsection{\\texorpdfstring{" in body and "\\section{" not in body
    assert "Catalogue name" not in body
    with pytest.raises(ps.ReportError, match="`level` must be one of section, subsection"):
        render_body([d], {}, level="chapter")


def test_a_model_is_shown_under_its_mathematical_name(tmp_path):
    source = tmp_path / "named_model.py"
    source.write_text("import pricesym as ps\n\n@ps.model(latex=r'U_i')\ndef regression_utility(np, w, z, y):\n"
                      "    return -(w * z - y) ** 2 / 2\n")
    import importlib.util

    spec = importlib.util.spec_from_file_location("named_model", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tex = _model.model_latex(module.regression_utility)
    assert tex.startswith("U_i(w, z, y) =") and "regression" not in tex
