"""The commands of the `pricesym` command line, one function each:
``(args, out) -> exit code``. They import the engine lazily, so that the command
line starts fast."""

from __future__ import annotations

import json
import math
import sys
import time

from .._errors import PricesymError
from .progress import Progress

__all__ = ["COMMANDS"]


class _BadInput(PricesymError):
    pass


def _catalogue(args, *, nonempty: bool = True):
    from .._derivation.loader import load

    cat = load(*(args.sources or []))
    if nonempty and not len(cat):
        raise _BadInput("no derivations were found (the catalogue and the `--from` paths hold none).")
    return cat


def _selected(args, cat) -> list[str]:
    if args.all and args.names:
        raise _BadInput("give derivation names or --all, not both.")
    if args.all:
        return list(cat)
    if not args.names:
        raise _BadInput("name the derivations to use, or pass --all (`pricesym list` shows the names).")
    for n in args.names:
        cat.entry(n)  # raises UnknownNameError with suggestions
    return list(dict.fromkeys(args.names))


def _check_counts(args):
    if getattr(args, "instances", None) is not None and args.instances < 1:
        raise _BadInput(f"`--instances` must be at least 1, got {args.instances!r}.")
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        raise _BadInput(f"`--jobs` must be at least 1, got {args.jobs!r}.")
    if getattr(args, "seed", 0) < 0:
        raise _BadInput(f"`--seed` must be a non-negative integer, got {args.seed!r}.")


# ------------------------------------------------------------------------ commands


def cmd_list(args, out) -> int:
    cat = _catalogue(args)
    words = [w.lower() for w in args.query]
    rows = [(e.name, e.title) for e in cat.entries()
            if all(w in f"{e.name}\n{e.title}\n{e.doc}".lower() for w in words)]
    if args.json:
        out.write(json.dumps([{"name": n, "title": t} for n, t in rows], indent=2) + "\n")
        return 0
    width = max((len(n) for n, _ in rows), default=0)
    for n, t in rows:
        out.write(f"{n:<{width}}  {t}\n")
    return 0


def _time_left(args) -> float:
    """``--timeout`` less the time since the command started and a margin for the output."""
    timeout = getattr(args, "timeout", None)
    if timeout is None:
        from .._verify.budget import DEFAULT_TIMEOUT

        timeout = DEFAULT_TIMEOUT
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise _BadInput(f"`--timeout` must be a positive number of seconds, got {timeout!r}.")
    spent = time.monotonic() - getattr(args, "started", time.monotonic())
    return max(timeout - spent - _OUTPUT_MARGIN, 0.1)


_OUTPUT_MARGIN = 1.0
"""Seconds kept back from ``--timeout`` for starting up and printing."""


def _at(args, d):
    """(given values, the closed form there, the symbols each part still needs); see `at`."""
    from .._verify.budget import Budget
    from .at import evaluate_at, parse_at

    for item in args.at:
        if item.partition("=")[2].strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise _BadInput(f"`--at {item}`: the value must be finite.")
    with Budget(_time_left(args), "`show --at`") as budget:
        given = parse_at(args.at)
        value, missing = evaluate_at(d, given, budget)
    return given, value, missing


def _tex(side) -> str:
    from .._report.printer import latex

    return side if isinstance(side, str) else latex(side)


def cmd_show(args, out) -> int:
    import sympy as sp

    from .._report.printer import latex, symbol_names

    cat = _catalogue(args)
    d = cat[args.name]
    at, value, missing = _at(args, d) if args.at else (None, None, [])
    if args.json:
        doc = {
            "name": d.name,
            "title": d.title,
            "result": sp.srepr(d.result),
            "latex": latex(d.result),
            "equations": [{"lhs": l, "rhs": r} for l, r in d.equations()],
            "symbols": {str(s): dom.latex() for s, dom in sorted(d.symbols.items(), key=lambda kv: str(kv[0]))},
            "observables": {str(s): str(e) for s, e in d.observables.items()},
            "assumptions": list(d.assumptions),
            "steps": [{"lhs": l if isinstance(l, str) else str(l), "rhs": str(st.rhs), "why": st.why}
                      for st in d.steps for l in [st.lhs]],
            "checks": [{"label": c.label, "method": c.method, "reference": c.describe, "tolerance": c.tolerance}
                       for c in d.checks],
            "references": list(d.references),
        }
        if value is not None and at is not None:
            doc["at"] = {k: float(v) for k, v in at.items()}
            doc["value"] = _json_value(value)
            if any(missing):  # the parts that still need values
                doc["value"] = [None if m else _json_value(v) for v, m in zip(value, missing)]
                doc["needs"] = missing
        out.write(json.dumps(doc, indent=2) + "\n")
        return 0
    if args.latex:
        for l, r in d.equations():
            out.write((f"{l} = {r}" if l else r) + "\n")
        if value is not None:
            out.write(latex(value) + "\n")
        return 0
    # One notation throughout: LaTeX, as the docstring, assumptions and steps are written.
    with symbol_names(d.notation):
        out.write(f"{d.name}: {d.title}\n\n")
        if d.assumptions:
            out.write("Assumptions:\n" + "".join(f"  - {a}\n" for a in d.assumptions) + "\n")
        steps = [(_tex(st.lhs), _tex(st.rhs), st.why) for st in d.steps]
        steps = [(lhs, rhs, why) for lhs, rhs, why in steps if lhs != rhs]  # a step that says a = a says nothing
        if steps:
            out.write("Steps:\n" + "".join(f"  {lhs} = {rhs}    [{why}]\n" for lhs, rhs, why in steps) + "\n")
        out.write("Result:\n")
        equations = d.equations()
        for left, right in equations:
            out.write(f"  {left + ' = ' if left else ''}{right}\n")
        if d.observables:
            out.write("  where " + ", ".join(f"{latex(s)} = {latex(e)}" for s, e in d.observables.items()) + "\n")
        if value is not None and at is not None:
            out.write(f"\nAt {', '.join(f'{k} = {at.raw.get(k, v)}' for k, v in at.items())}:\n")
            parts = list(value) if len(equations) > 1 else [value]
            needs = missing if len(equations) > 1 else [missing[0] if missing else []]
            for (left, _), part, need in zip(equations, parts, needs):
                shown = f"needs {', '.join(need)}" if need else sp.sstr(part)
                out.write(f"  {left or 'result'} = {shown}\n" if not need else f"  {left or 'result'}: {shown}\n")
    out.write("\nChecks: " + "; ".join(f"{c.label} [{c.method}: {c.describe}]" for c in d.checks) + "\n")
    return 0


def _json_value(value):
    import sympy as sp

    if isinstance(value, (sp.MatrixBase, sp.Tuple, list, tuple)):
        return [_json_value(v) for v in value]
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _run_checks(args, cat, names):
    from .pool import default_jobs, run_checks

    jobs = args.jobs if args.jobs is not None else default_jobs()
    return run_checks(cat, names, sources=args.sources or [], instances=args.instances, seed=args.seed, jobs=jobs,
                      progress=Progress(len(names)))


def cmd_check(args, out) -> int:
    _check_counts(args)
    cat = _catalogue(args)
    names = _selected(args, cat)
    reports, errors = _run_checks(args, cat, names)
    results = [r for name in names if name in reports for r in reports[name]]
    if args.json:
        records = [r.as_json() for r in results]
        records += [{"name": n, "error": e, "passed": False} for n, e in errors.items()]
        out.write(json.dumps(records, indent=2) + "\n")
    else:
        for name in names:
            if name in errors:
                out.write(f"ERROR {name}: {errors[name]}\n")
                continue
            for r in reports[name]:
                err = f"{r.max_rel_error:.2e}" if math.isfinite(r.max_rel_error) else f"abs {r.max_abs_error:.2e}"
                extra = "".join(f", {k} {v:.3g}" for k, v in r.detail.items() if k in ("fitted_order", "max_se_multiple"))
                out.write(f"{'PASS' if r.passed else 'FAIL'} {name} | {r.label} | {r.method} | n={r.instances} "
                          f"seed={r.seed} | max err {err}{extra} | {r.tolerance}\n")
        n_pass = sum(r.passed for r in results)
        out.write(f"\nchecks: {n_pass} passed, {len(results) - n_pass} failed"
                  + (f", {len(errors)} could not run" if errors else "") + f" ({len(names)} derivations)\n")
    ok = not errors and all(r.passed for r in results)
    return 0 if ok else 1


def cmd_report(args, out) -> int:
    from .._report.write import check_out, require_tex, write_report

    _check_counts(args)
    check_out(args.out)  # before the checks run: a bad `--out` is known at once
    if not 1.0 <= args.width <= 20.0:
        raise _BadInput(f"`--width` is a text width in inches from 1 to 20, got {args.width!r}.")
    if args.pdf:
        require_tex()  # and a missing TeX Live too, not after minutes of checks
    cat = _catalogue(args)
    names = _selected(args, cat)
    reports, errors = _run_checks(args, cat, names)
    if errors:
        for n, e in errors.items():
            sys.stderr.write(f"pricesym: `{n}` could not be checked: {e}\n")
        return 1
    files = write_report([cat[n] for n in names], reports, args.out, pdf=args.pdf, level=args.section_level,
                         names=not args.no_names, width=args.width)
    failed = [n for n in names if not reports[n].passed]
    for path in (files.tex, files.body, files.sty, files.pdf):
        if path is not None:
            out.write(f"wrote {path}\n")
    if failed:
        out.write(f"{len(failed)} derivation(s) failed a check and are marked FAIL in the report: {', '.join(failed)}\n")
        return 1
    n_checks = sum(len(reports[n]) for n in names)
    out.write(f"{len(names)} derivations, {n_checks} checks, all passed\n")
    return 0


def cmd_verify(args, out) -> int:
    from .._verify.budget import BudgetExceeded
    from .._verify.verify import verify

    if args.instances < 1:
        raise _BadInput(f"`--instances` must be at least 1, got {args.instances!r}.")
    try:
        verdict = verify(args.lhs, args.rhs, assume=args.assume, instances=args.instances, seed=args.seed,
                         latex=args.latex, timeout=_time_left(args))
    except BudgetExceeded as exc:  # ran out while reading: undecided all the same
        sys.stderr.write(f"pricesym: undecided: {exc}\n")
        return 3
    if args.json:
        out.write(json.dumps(verdict.as_json(), indent=2) + "\n")
    elif args.latex:
        out.write(verdict.latex() + "\n")
    else:
        out.write(str(verdict) + "\n")
    return {"equal": 0, "not equal": 1}.get(verdict.status, 3)  # 3: undecided (main.EXIT)


def cmd_mutate(args, out) -> int:
    from .mutate import run_mutate

    _check_counts(args)
    cat = _catalogue(args)
    return run_mutate(args, out, cat, _selected(args, cat))


COMMANDS = {"list": cmd_list, "show": cmd_show, "check": cmd_check, "mutate": cmd_mutate, "report": cmd_report,
            "verify": cmd_verify}
