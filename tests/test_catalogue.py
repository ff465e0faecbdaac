"""Every registered derivation is checked, and every check can fail.

One table-driven test over the whole registry (DESIGN.md rules 3 and 4): each
entry's checks pass; for each check, a deliberately wrong closed form — every
coefficient changed by 10 %, or one term of a sum dropped — is caught."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

import pricesym as ps

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ps.load(ROOT / "derivations")
NAMES = sorted(CATALOGUE)
CHECKS = [(name, i) for name in NAMES for i in range(len(CATALOGUE[name].checks))]
CATALOGUE_MD = Path(ROOT.parent / "shared" / "CATALOGUE.md")


def _target(d: ps.Derivation, check: ps.Check):
    return check.target(d.result) if check.target else d.result


def _drop_one_term(expr):
    """Wrong closed forms with one term of a sum left out (one per term), or [] if the
    expression has no sum at the top of any entry."""
    def variants(e):
        e = sp.sympify(e)
        if isinstance(e, sp.Add):
            return [sp.Add(*(a for j, a in enumerate(e.args) if j != k)) for k in range(len(e.args))]
        return []

    if isinstance(expr, sp.MatrixBase):
        out = []
        for idx in range(len(expr)):
            for v in variants(expr[idx]):
                m = sp.Matrix(expr)
                m[idx] = v
                out.append(sp.ImmutableMatrix(m))
            if out:
                return out
        return []
    return variants(expr)


def _caught(d, check, closed) -> bool:
    """A wrong closed form is caught when the check fails, or when the check refuses
    it outright because it is not finite on the declared domain (CheckError)."""
    try:
        return not d.run(check, closed=closed).passed
    except ps.CheckError:
        return True


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_derivation_checks_pass(name):
    report = CATALOGUE[name].check()
    failed = [r for r in report if not r.passed]
    assert not failed, "\n".join(f"{r.label} [{r.method}]: max abs {r.max_abs_error:.3g}, rel {r.max_rel_error:.3g}, "
                                 f"detail {dict(r.detail)}, worst {dict(r.worst_instance)}" for r in failed)


@pytest.mark.slow
@pytest.mark.parametrize("name,index", CHECKS, ids=[f"{n}#{i}" for n, i in CHECKS])
def test_wrong_coefficient_is_caught(name, index):
    d = CATALOGUE[name]
    check = d.checks[index]
    assert _caught(d, check, ps.perturb(_target(d, check))), f"a 10% change of the closed form passed check {check.label!r}"


@pytest.mark.slow
@pytest.mark.parametrize("name,index", CHECKS, ids=[f"{n}#{i}" for n, i in CHECKS])
def test_dropped_term_is_caught(name, index):
    d = CATALOGUE[name]
    check = d.checks[index]
    wrong = _drop_one_term(_target(d, check))
    if not wrong:
        pytest.skip("closed form has no sum to drop a term from")
    for w in wrong:
        assert _caught(d, check, w), f"dropping a term ({w}) passed check {check.label!r}"


def test_every_entry_has_title_doc_math_and_references():
    for name in NAMES:
        d = CATALOGUE[name]
        assert d.title and d.title == CATALOGUE.entry(name).title
        assert ".. math::" in d.doc, f"{name}: the docstring states the closed form as `.. math::`"
        assert d.references, f"{name}: no references"
        assert d.checks


@pytest.mark.skipif(not CATALOGUE_MD.exists(), reason="shared/CATALOGUE.md not beside the repository")
def test_catalogue_md_names_are_registered():
    import re

    text = CATALOGUE_MD.read_text()
    names = set(re.findall(r"^\| `([a-z0-9/-]+)` \|", text, flags=re.M))
    missing = sorted(names - set(NAMES))
    assert not missing, f"CATALOGUE.md names not registered yet: {missing}"
