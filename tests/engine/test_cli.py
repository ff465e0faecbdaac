"""Every command of the contract: output, --json, exit codes, bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

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
    (tmp_path / "wrong.py").write_text(
        '''
import jax, sympy as sp, pricesym as ps
x = sp.Symbol("x", real=True)

@ps.derivation("user/wrong")
def wrong():
    """A wrong derivative.

    .. math:: (x^3)' = 2 x^2
    """
    return ps.Derivation(result=2 * x**2, symbols={x: ps.uniform(-1, 1)},
                         checks=(ps.autodiff(lambda v: jax.grad(lambda t: t**3)(v["x"])),),
                         references=("none",))
'''
    )
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
