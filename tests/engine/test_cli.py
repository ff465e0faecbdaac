"""Every command of the contract: output, --json, exit codes, bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from helpers import WRONG_DERIVATION
from pricesym._cli.main import main


def run(*argv):
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture(autouse=True)
def _elsewhere(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the catalogue is installed: every command works from any directory


def test_list_names_and_titles():
    code, out = run("list")
    assert code == 0
    assert "bernoulli/ntvar" in out and "Neural tangent variance" in out
    code, out = run("list", "--json")
    names = {row["name"] for row in json.loads(out)}
    assert {"bernoulli/ntvar", "bernoulli/reinforce"} <= names


def test_show_json_has_the_contract_fields():
    code, out = run("show", "bernoulli/ntvar", "--json")
    doc = json.loads(out)
    assert code == 0
    assert {"name", "title", "result", "latex", "symbols", "assumptions"} <= set(doc)
    assert doc["result"].startswith("Mul(Pow(Symbol('p'")
    assert doc["latex"] == r"p^{2} \left(1 - p\right)^{2}"


def test_show_at_evaluates_by_name_and_through_observables():
    code, out = run("show", "bernoulli/ntvar", "--at", "p=0.3", "--json")
    assert code == 0 and json.loads(out)["value"] == pytest.approx(0.0441, rel=1e-12)
    code, out = run("show", "bernoulli/ntvar", "--at", "b=0")  # p = sigmoid(0) = 1/2
    assert code == 0 and "0.0625" in out


def test_show_latex():
    code, out = run("show", "bernoulli/ntvar", "--latex")
    assert out.strip() == r"\operatorname{ntvar}\left(p\right) = p^{2} \left(1 - p\right)^{2}"


def test_check_json_records_and_exit_code():
    code, out = run("check", "bernoulli/ntvar", "--json", "--seed", "2", "--instances", "5")
    assert code == 0
    records = json.loads(out)
    keys = {"name", "method", "instances", "seed", "max_abs_error", "max_rel_error", "tolerance", "passed"}
    assert records and all(keys <= set(r) for r in records)
    assert records[0]["seed"] == 2 and records[0]["instances"] == 5 and records[0]["passed"] is True


def test_check_exit_1_when_a_check_fails(tmp_path):
    (tmp_path / "wrong.py").write_text(WRONG_DERIVATION)
    code, out = run("check", "--from", str(tmp_path / "wrong.py"), "user/wrong")
    assert code == 1 and "FAIL user/wrong" in out and "0 passed, 1 failed" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["show", "bernoulli/ntvr"], "Did you mean `bernoulli/ntvar`"),
        (["check"], "or pass --all"),
        (["check", "--all", "bernoulli/ntvar"], "not both"),
        (["check", "bernoulli/ntvar", "--instances", "0"], "`--instances` must be at least 1"),
        (["show", "bernoulli/ntvar", "--at", "p"], "SYMBOL=VALUE"),
        (["show", "bernoulli/ntvar", "--at", "q=1"], "no symbol `q`"),
        (["show", "bernoulli/ntvar", "--at", "p=nan"], "must be finite"),
        (["list", "--from", "no/such/path"], "no derivation file"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    code = main(argv, out=io.StringIO())
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_broken_user_file_is_reported_not_a_traceback(tmp_path, capsys):
    (tmp_path / "broken.py").write_text(
        'import pricesym as ps\n\n@ps.derivation("user/broken")\ndef broken():\n    """Broken."""\n\n'
        "raise RuntimeError('boom')\n")
    code = main(["show", "user/broken", "--from", str(tmp_path / "broken.py")], out=io.StringIO())
    err = capsys.readouterr().err
    assert code == 2 and "loading" in err and "boom" in err


def test_console_script_help_teaches():
    proc = subprocess.run([sys.executable, "-m", "pricesym._cli", "check", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "examples:" in proc.stdout and "--instances" in proc.stdout


# ------------------------------------------------------------------ issue 8: the exit-code contract

@pytest.mark.parametrize(
    "argv, code, shown",
    [
        (["verify", "sin(x)**2 + cos(x)**2", "1"], 0, "equal (numerically"),
        (["verify", "1", "1 + 1e-30"], 1, "nonzero constant -1.0e-30"),
        (["verify", "x", "x + 1e-25"], 1, "exactly"),
        (["verify", "exp(x)", "1 + x + x**2/2", "--assume", "0 < x < 1e-7"], 1, "Counterexample at x = "),
        (["verify", "abs(x)", "x", "--assume", "x > -1e-9"], 1, "Counterexample at x = -"),
        (["verify", "-x+1", "1-x"], 0, "equal (proved"),  # a leading `-` is an expression, not an option
        (["verify", "-x", "x", "--assume", "-1 < x < 1"], 1, "given -1 < x < 1"),
        (["verify", "--assume=-2 < x < -1", "-x", "abs(x)"], 0, "equal"),
        (["verify", "--inst", "5", "-(-x)", "x"], 0, "equal"),
        (["verify", "log(x)", "0", "--assume", "x < 0"], 3, "undecided"),
        (["verify", "exp(exp(exp(exp(x))))", "exp(exp(exp(exp(x))))*(1 + 1e-30)", "--assume", "x > 2"], 3,
         "magnitude guard"),
    ],
)
def test_verify_exit_codes(argv, code, shown, capsys):
    got, out = run(*argv)
    assert got == code, (out, capsys.readouterr().err)
    assert shown in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["verify", "1/diff(x**2, y)", "1"], "`lhs` is infinite or undefined once its derivatives are evaluated"),
        (["verify", "--latex", r"\operatorname{unknown}(x)", "x"], r"unknown function `\operatorname{unknown}`"),
        (["verify", "1e-1000000000", "0"], "too small"),
        (["verify", "x", "x", "--assume", "x > 1e-100000000"], "too small"),
        (["verify", "diff(" + "*".join(f"(x+{k})" for k in range(1, 31)) + ", x, 4)", "0"], "size budget"),
        (["verify", "x", "x", "--timeout", "-1"], "`--timeout` must be a positive number"),
        (["show", "fixation/moran", "--at", "N=10", "i=20", "r=1.1"], "`i` = 20 is outside the domain"),
        (["show", "fixation/moran", "--at", "N=10.5", "i=1", "r=1.1"], "`N` is declared an integer"),
        (["show", "bernoulli/ntvar", "--at", "p=2"], "no real `b` gives p = sigmoid(b) that value"),
        (["show", "bernoulli/ntvar", "--at", "b=1", "p=0.9"], "`--at` is inconsistent: `p` = sigmoid(b) is 0.7310585786"),
        (["show", "bernoulli/ntvar", "--at", "b=100"], "`b` = 100 is outside the domain `bernoulli/ntvar` declares"),
        (["show", "bernoulli/ntvar", "--at", "b=sqrt(-1)"], "not real"),
    ],
)
def test_bad_input_of_issue_8_exits_2_in_one_line(argv, message, capsys):
    code = main(argv, out=io.StringIO())
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_time_budget_makes_verify_exit_3_naming_the_stage():
    code, out = run("verify", "diff(sigmoid(sigmoid(sigmoid(sigmoid(sigmoid(x))))), x, 3)",
                    "diff(tanh(tanh(tanh(tanh(x)))), x, 3)", "--timeout", "1.2")
    assert code == 3 and "the time budget of " in out and "ran out while" in out


def test_an_internal_error_has_its_own_code(monkeypatch, capsys):
    from pricesym._cli import main as cli

    def broken(args, out):
        raise KeyError("ComplexInfinity")

    monkeypatch.setitem(cli.COMMANDS, "verify", broken)
    assert main(["verify", "x", "x"], out=io.StringIO()) == cli.EXIT["internal error"] == 70
    err = capsys.readouterr().err
    assert err.startswith("pricesym: internal error: KeyError") and "please report it" in err and err.count("\n") == 1


def test_show_at_evaluates_a_removable_singularity_by_its_limit():
    code, out = run("show", "fixation/moran", "--at", "N=10", "i=1", "r=1", "--json")
    assert code == 0 and json.loads(out)["value"] == pytest.approx([0.1, 0.1], rel=1e-12)  # 1/N and i/N
    code, out = run("show", "fixation/moran", "--at", "N=10", "i=3", "r=1")
    assert code == 0 and "At N = 10, i = 3, r = 1:" in out and "\\rho = 0.1" in out and "\\phi_i = 0.3" in out
    assert "nan" not in out


def test_show_at_evaluates_the_parts_it_can():
    code, out = run("show", "fixation/moran", "--at", "N=10", "r=1.1")  # the README's example: phi needs i
    assert code == 0 and "needs i" in out and "nan" not in out
    code, out = run("show", "fixation/moran", "--at", "N=10", "r=1.1", "--json")
    doc = json.loads(out)
    assert doc["value"][0] == pytest.approx((1 - 1 / 1.1) / (1 - 1.1**-10), rel=1e-12) and doc["value"][1] is None
    assert doc["needs"] == [[], ["i"]]


def test_report_out_under_a_file_or_read_only_exits_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert main(["report", "bernoulli/ntvar", "--out", str(tmp_path / "file" / "sub")], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "is under" in err and "which is a file" in err and err.count("\n") == 1
    import os

    monkeypatch.setattr(os, "access", lambda path, mode: False)  # a read-only disk (root ignores chmod)
    assert main(["report", "bernoulli/ntvar", "--out", str(tmp_path / "ro")], out=io.StringIO()) == 2
    assert "is read-only; choose a writable folder" in capsys.readouterr().err


def test_mutate_reports_what_each_check_catches():
    code, out = run("mutate", "bernoulli/reinforce", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["delta"] == 0.01 and doc["caught"] == doc["mutants"] > 20
    assert {r["check"] for r in doc["records"]} == {"expected update", "per-sample variance", "dp/dt under the flow"}
    code, out = run("mutate", "bernoulli/reinforce", "--delta", "2")
    assert code == 2


def test_report_for_a_paper_has_its_heading_level_and_no_catalogue_names(tmp_path):
    code, out = run("report", "bernoulli/ntvar", "--out", str(tmp_path / "r"), "--section-level", "subsection",
                    "--no-names")
    body = (tmp_path / "r" / "appendix-body.tex").read_text()
    assert code == 0 and "\\subsection{" in body and "Catalogue name" not in body
    assert (tmp_path / "r" / "pricesym.sty").is_file()


def test_show_at_labels_each_part_and_says_what_is_missing():
    code, out = run("show", "fixation/moran", "--at", "N=10", "r=1.1")
    assert code == 0 and "\\rho = 0.14795" in out and "\\phi_i: needs i" in out
