"""Every registered derivation is checked, and every check can fail.

One table-driven test over the whole registry (DESIGN.md rules 3 and 4): each
entry's checks pass; for each check, a deliberately wrong closed form — every
coefficient changed by 10 %, or one term of a sum dropped — is caught."""

from __future__ import annotations

import pytest

import pricesym as ps
from helpers import CATALOGUE, SHARED, caught, drop_one_term, target

NAMES = sorted(CATALOGUE)
CHECKS = [(name, i) for name in NAMES for i in range(len(CATALOGUE[name].checks))]
CATALOGUE_MD = SHARED / "CATALOGUE.md"


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
    assert caught(d, check, ps.perturb(target(d, check))), f"a 10% change of the closed form passed check {check.label!r}"


@pytest.mark.slow
@pytest.mark.parametrize("name,index", CHECKS, ids=[f"{n}#{i}" for n, i in CHECKS])
def test_dropped_term_is_caught(name, index):
    d = CATALOGUE[name]
    check = d.checks[index]
    wrong = drop_one_term(target(d, check))
    if not wrong:
        pytest.skip("closed form has no sum to drop a term from")
    for w in wrong:
        assert caught(d, check, w), f"dropping a term ({w}) passed check {check.label!r}"


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
