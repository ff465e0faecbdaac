"""Derivations as values: a closed form with its assumptions, steps, references
and independent checks (`Derivation`), built from `Step`s."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import sympy as sp

from .._check.domains import Domain
from .._check.kinds import Check
from .._check.results import CheckReport, CheckResult
from .._check.run import run_check, run_steps
from .._errors import RegistryError, ShapeError
from .._symbolic.model import Model

__all__ = ["Step", "Derivation"]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """One equation ``lhs = rhs`` of a derivation and why it holds.

    Either side may be LaTeX text for a step stated, not computed (a definition in
    words, an abstract function); such a step says ``check=False``. Every other
    step is spot-checked numerically."""

    lhs: sp.Basic | str
    rhs: sp.Basic | str
    why: str
    check: bool = True

    def __post_init__(self):
        if not self.why.strip():
            raise RegistryError("every step says why it holds (`why=`).")
        if self.check and (isinstance(self.lhs, str) or isinstance(self.rhs, str)):
            raise RegistryError(f"step {self.why!r} has a LaTeX-only side; pass `check=False` or SymPy expressions.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Derivation:
    """A derived closed form with its assumptions, steps, references and checks.

    Fields:
      result:       the closed form (SymPy expression, Matrix, or Tuple of parts).
      lhs:          what the result is equal to, for display (SymPy or LaTeX string;
                    a sequence of them when ``result`` is a Tuple).
      symbols:      every free symbol the result is evaluated at → its `Domain`.
      observables:  symbols defined through others, e.g. ``{p: sigmoid(b)}``.
      assumptions:  statements (LaTeX allowed) under which the result holds.
      steps:        the chain of `Step`s.
      checks:       independent numeric `Check`s (at least one).
      references:   literature.
      model:        the model(s) the derivation starts from (rendered in the report).
      notation:     LaTeX names of symbols (SymPy's ``symbol_names``), e.g. a named
                    term ``{c: r"\\nabla U^\\top H_x \\nabla U"}`` defined in ``observables``.
      figures:      functions ``(path, results) -> None`` writing a PDF figure.
    """

    result: sp.Basic
    checks: tuple[Check, ...]
    symbols: Mapping[sp.Symbol, Domain] = dataclasses.field(default_factory=dict)
    lhs: sp.Basic | str | tuple | None = None
    observables: Mapping[sp.Symbol, sp.Basic] = dataclasses.field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    references: tuple[str, ...] = ()
    model: Model | tuple[Model, ...] | None = None
    figures: tuple[Callable, ...] = ()
    notation: Mapping[sp.Symbol, str] = dataclasses.field(default_factory=dict)
    name: str = ""
    title: str = ""
    doc: str = ""

    def __post_init__(self):
        set_ = object.__setattr__
        if isinstance(self.result, (list, tuple)):
            set_(self, "result", sp.Tuple(*self.result))
        if isinstance(self.result, sp.MatrixBase) and not isinstance(self.result, sp.ImmutableMatrix):
            set_(self, "result", sp.ImmutableMatrix(self.result))
        if not isinstance(self.result, (sp.Basic, sp.MatrixBase)):
            raise RegistryError(f"`result` must be a SymPy expression, Matrix or Tuple, got {self.result!r}.")
        for field in ("checks", "assumptions", "steps", "references", "figures"):
            value = getattr(self, field)
            if not isinstance(value, tuple):
                set_(self, field, tuple(value))
        if not self.checks:
            raise RegistryError(
                f"derivation `{self.name or '?'}` has no check; every registered derivation needs an "
                "independent numeric check (`checks=(ps.autodiff(...),)` or another kind)."
            )
        bad = [c for c in self.checks if not isinstance(c, Check)]
        if bad:
            raise RegistryError(f"`checks` must hold `Check`s (from ps.autodiff, ps.monte_carlo, ...), got {bad[0]!r}.")
        for s, d in self.symbols.items():
            if not isinstance(s, (sp.Symbol, sp.Indexed)) or not isinstance(d, Domain):
                raise RegistryError(f"`symbols` maps SymPy symbols to domains (ps.uniform, ...), got {s!r}: {d!r}.")

    replace = dataclasses.replace

    # -- checks ----------------------------------------------------------------
    def check(self, *, result=None, instances: int | None = None, seed: int = 0, steps: bool = True) -> CheckReport:
        """Run every check (and spot-check the steps) → `CheckReport`.

        ``result``: a candidate closed form to check *instead of* the derivation's own
        (a SymPy expression, Matrix or tuple of parts shaped like `result`, or text read
        by `ps.parse`), against the same independent references — "is my formula
        right?". Its symbols are matched to the derivation's by name. The steps belong
        to the derivation and are not run for a candidate."""
        candidate = None if result is None else self.candidate(result)
        results: list[CheckResult] = []
        for c in self.checks:
            closed = None if candidate is None else (c.target(candidate) if c.target else candidate)
            results.append(self.run(c, instances=instances, seed=seed, closed=closed))
        if steps and candidate is None:
            r = run_steps(self.steps, name=self.name, symbols=self.symbols, observables=self.observables, seed=seed)
            if r is not None:
                results.append(r)
        return CheckReport(self.name, tuple(results))

    def candidate(self, result):
        """``result`` as a closed form of this derivation: parsed if text, parts as a
        Tuple, symbols renamed to this derivation's symbols of the same name; shaped
        like `result` (else `ShapeError`)."""
        from .._verify.parse import parse

        if isinstance(result, str):
            result = parse(result)
        if isinstance(result, (list, tuple)) and not isinstance(result, sp.Basic):
            result = sp.Tuple(*[parse(r) if isinstance(r, str) else r for r in result])
        if isinstance(result, sp.MatrixBase):
            result = sp.ImmutableMatrix(result)
        if not isinstance(result, (sp.Basic, sp.MatrixBase)):
            raise ShapeError(f"`result` must be a SymPy expression, Matrix, tuple of parts or text, got {result!r}.")
        if _shape(result) != _shape(self.result):
            raise ShapeError(f"`result` is {_shape(result)} but `{self.name}`'s closed form is {_shape(self.result)}.")
        known = {str(s): s for s in (*self.symbols, *self.observables, *(d for c in self.checks for d in c.domains))}
        rename = {s: known[s.name] for s in result.free_symbols if isinstance(s, sp.Symbol) and s.name in known}
        return result.xreplace(rename)

    def run(self, check: Check, *, instances=None, seed=0, closed=None) -> CheckResult:
        """Run one check; ``closed`` replaces the closed form (to show a wrong one fails)."""
        return run_check(check, name=self.name, result=self.result, symbols=self.symbols,
                         observables=self.observables, instances=instances, seed=seed, closed=closed)

    # -- display ---------------------------------------------------------------
    @property
    def free_symbols(self) -> set:
        result = self.result
        return set(getattr(result, "free_symbols", set()))

    def equations(self) -> list[tuple[str, str]]:
        """``(lhs, rhs)`` LaTeX pairs of the result."""
        from .._report.printer import symbol_names

        with symbol_names(self.notation):
            return self._equations()

    def _equations(self) -> list[tuple[str, str]]:
        from .._report.printer import latex

        parts = list(self.result) if isinstance(self.result, sp.Tuple) else [self.result]
        lhs = self.lhs
        if not isinstance(lhs, (list, tuple)):
            lhs = [lhs] * len(parts) if len(parts) == 1 else [None] * len(parts)
        if len(lhs) != len(parts):
            raise RegistryError(f"`lhs` has {len(lhs)} parts but the result has {len(parts)}.")
        out = []
        for left, right in zip(lhs, parts):
            left_tex = "" if left is None else (left if isinstance(left, str) else latex(left))
            out.append((left_tex, latex(right)))
        return out

    def _repr_latex_(self) -> str:
        """The result for notebooks: each part, the observables' definitions (``where
        p = σ(b)``) and the assumptions, as one display."""
        from .._report.printer import latex, symbol_names

        with symbol_names(self.notation):
            rows = [(f"{l} &= {r}" if l else f"&{r}") for l, r in self._equations()]
            where = [f"{latex(s)} = {latex(d)}" for s, d in self.observables.items()]
        if where:
            rows.append(r"&\text{where } " + r",\ ".join(where))
        rows += [r"&\text{%s}" % _text_math(a) for a in self.assumptions]
        return "$$\\begin{aligned}" + r" \\ ".join(rows) + "\\end{aligned}$$"

    def __repr__(self):
        return f"Derivation({self.name!r}, result={self.result!s})"


def _text_math(text: str) -> str:
    """A sentence with ``$...$`` math for inside ``\\text{...}`` (MathJax and amsmath
    read ``$`` there): only the characters special to text mode are escaped."""
    return text.replace("&", "\\&").replace("%", "\\%").replace("#", "\\#")


def _shape(value) -> str:
    if isinstance(value, sp.Tuple):
        return "a tuple of " + ", ".join(_shape(v) for v in value)
    if isinstance(value, sp.MatrixBase):
        return f"a {value.rows}×{value.cols} matrix"
    return "a scalar"
