"""The commands of the `pricesym` command line, one function each:
``(args, out) -> exit code``. They import the engine lazily, so that the command
line starts fast."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Sequence

from .._errors import PricesymError, UnknownNameError
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


def _parse_at(items: Sequence[str]) -> dict[str, float]:
    values = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise _BadInput(f"`--at` takes SYMBOL=VALUE, got {item!r}.")
        try:
            value = float(raw)
        except ValueError:
            raise _BadInput(f"`--at {item}`: {raw!r} is not a number.") from None
        if not math.isfinite(value):
            raise _BadInput(f"`--at {item}`: the value must be finite.")
        values[name] = value
    return values


def _evaluate_at(d, values: dict[str, float]):
    import sympy as sp

    by_name = {str(s): s for s in set(d.symbols) | set(d.observables) | d.free_symbols}
    unknown = [n for n in values if n not in by_name]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], list(by_name), n=3)
        hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
        raise UnknownNameError(
            f"`{d.name}` has no symbol `{unknown[0]}`; its symbols are "
            f"{', '.join(sorted(by_name))}.{hint}"
        )
    subs = {by_name[n]: sp.Float(v) for n, v in values.items()}
    for sym, definition in d.observables.items():  # observables follow from their definitions
        if sym not in subs and definition.free_symbols <= set(subs):
            subs[sym] = definition.xreplace(subs).evalf()
    missing = sorted(str(s) for s in d.free_symbols if s not in subs)
    if missing:
        raise _BadInput(f"`--at` needs a value for {', '.join(f'`{m}`' for m in missing)}.")
    value = d.result.xreplace(subs)
    value = value.doit() if hasattr(value, "doit") else value
    return value.evalf() if hasattr(value, "evalf") else value


def cmd_show(args, out) -> int:
    import sympy as sp

    from .._report.printer import latex

    cat = _catalogue(args)
    d = cat[args.name]
    at = _parse_at(args.at) if args.at else None
    value = _evaluate_at(d, at) if at is not None else None
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
        if value is not None:
            doc["at"] = at
            doc["value"] = _json_value(value)
        out.write(json.dumps(doc, indent=2) + "\n")
        return 0
    if args.latex:
        for l, r in d.equations():
            out.write((f"{l} = {r}" if l else r) + "\n")
        if value is not None:
            out.write(latex(value) + "\n")
        return 0
    out.write(f"{d.name}: {d.title}\n\n")
    if d.assumptions:
        out.write("Assumptions:\n" + "".join(f"  - {a}\n" for a in d.assumptions) + "\n")
    if d.steps:
        out.write("Steps:\n")
        for st in d.steps:
            out.write(f"  {st.lhs} = {st.rhs}    [{st.why}]\n")
        out.write("\n")
    out.write("Result:\n")
    parts = list(d.result) if isinstance(d.result, sp.Tuple) else [d.result]
    lhs = d.lhs if isinstance(d.lhs, (list, tuple)) else [d.lhs] * len(parts)
    for l, r in zip(lhs, parts):
        out.write(f"  {'' if l is None else (l if isinstance(l, str) else sp.sstr(l)) + ' = '}{sp.sstr(r)}\n")
    if d.observables:
        out.write("  where " + ", ".join(f"{s} = {e}" for s, e in d.observables.items()) + "\n")
    if value is not None and at is not None:
        out.write(f"\nAt {', '.join(f'{k}={v:g}' for k, v in at.items())}: {sp.sstr(value)}\n")
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
    reports, errors = {}, {}
    progress = Progress(len(names))
    for name in names:
        progress.start(name)
        t0 = time.perf_counter()
        try:
            reports[name] = cat[name].check(instances=args.instances, seed=args.seed)
            verdict = "PASS" if reports[name].passed else "FAIL"
        except PricesymError as exc:
            errors[name] = str(exc)
            verdict = "ERROR"
        progress.finish(name, verdict, time.perf_counter() - t0)
    return reports, errors


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
    from .._report.write import write_report

    _check_counts(args)
    cat = _catalogue(args)
    names = _selected(args, cat)
    reports, errors = _run_checks(args, cat, names)
    if errors:
        for n, e in errors.items():
            sys.stderr.write(f"pricesym: `{n}` could not be checked: {e}\n")
        return 1
    files = write_report([cat[n] for n in names], reports, args.out, pdf=args.pdf)
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
    from .._verify.verify import verify

    if args.instances < 1:
        raise _BadInput(f"`--instances` must be at least 1, got {args.instances!r}.")
    verdict = verify(args.lhs, args.rhs, assume=args.assume, instances=args.instances, seed=args.seed, latex=args.latex)
    if args.json:
        out.write(json.dumps(verdict.as_json(), indent=2) + "\n")
    elif args.latex:
        out.write(verdict.latex() + "\n")
    else:
        out.write(str(verdict) + "\n")
    return {"equal": 0, "not equal": 1}.get(verdict.status, 3)  # 3: undecided (main.EXIT)


COMMANDS = {"list": cmd_list, "show": cmd_show, "check": cmd_check, "report": cmd_report, "verify": cmd_verify}
