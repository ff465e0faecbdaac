"""Shared test helpers: the installed catalogue, its entries by topic file, and
deliberately wrong closed forms (a coefficient changed, a term dropped)."""

from __future__ import annotations

import sys
from pathlib import Path

import sympy as sp

import pricesym as ps

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

#: A user's derivation file whose closed form is wrong (its one check fails).
WRONG_DERIVATION = '''
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

#: The catalogue installed with pricesym (the repository's derivations/ folder).
CATALOGUE = ps.load()


def names(topic: str) -> list[str]:
    """The names registered in ``derivations/<topic>.py``."""
    return [e.name for e in CATALOGUE.entries() if Path(e.source).stem == topic]


def entries(topic: str) -> dict[str, ps.Derivation]:
    return {n: CATALOGUE[n] for n in names(topic)}


def module(topic: str):
    """The catalogue module ``derivations/<topic>.py`` as it ran (for its constants
    and reference helpers)."""
    CATALOGUE[names(topic)[0]]  # runs the catalogue's modules if they have not run
    return sys.modules[f"pricesym.catalogue.{topic}"]


def target(d: ps.Derivation, check: ps.Check):
    return check.target(d.result) if check.target else d.result


def drop_one_term(expr) -> list:
    """Wrong closed forms with one term of a top-level sum left out (one per term),
    in the first entry that has a sum; [] when there is none."""
    def variants(e):
        e = sp.sympify(e)
        if isinstance(e, sp.Add):
            return [sp.Add(*(a for j, a in enumerate(e.args) if j != k)) for k in range(len(e.args))]
        return []

    if isinstance(expr, sp.MatrixBase):
        for idx in range(len(expr)):
            out = []
            for v in variants(expr[idx]):
                m = sp.Matrix(expr)
                m[idx] = v
                out.append(sp.ImmutableMatrix(m))
            if out:
                return out
        return []
    return variants(expr)


def caught(d: ps.Derivation, check: ps.Check, closed) -> bool:
    """A wrong closed form is caught when the check fails, or refuses it outright
    because it is not finite on the declared domain (CheckError)."""
    try:
        return not d.run(check, closed=closed).passed
    except ps.CheckError:
        return True
