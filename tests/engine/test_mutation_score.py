"""Every check is a certificate that catches a 1 % error (issue 9).

For every result part of every catalogue entry, every
mutant that `pricesym._check.mutate.mutants` makes at δ = 1 % — each numeric constant
× 1.01 in turn, each term of every sum at any depth × 1.01 or dropped, each symbol's
power changed by one, the whole part × 1.01 — is caught by at least one of the entry's
checks, exactly what `Derivation.check(result=mutant)` would report. References are
computed once per check (`run.reference`), so this costs closed-form evaluations only.
"""

from __future__ import annotations

import pytest

from helpers import CATALOGUE
from pricesym._check.mutate import _parts, mutants, mutation_report

DELTA = 0.01
NAMES = sorted(e.name for e in CATALOGUE.entries())


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_mutant_of_every_result_part_is_caught(name):
    d = CATALOGUE[name]
    caught: set = set()
    for score in mutation_report(d, DELTA):
        caught |= {(score.part, m.expr) for m in score.caught}
    missed = [f"{label}: {m.where}" for label, _, scalar in _parts(d.result) for m in mutants(scalar, DELTA)
              if (label, m.expr) not in caught]
    assert not missed, f"{len(missed)} mutants at δ = {DELTA:g} pass every check of `{name}`:\n" + "\n".join(missed)
