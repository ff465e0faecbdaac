"""`pricesym mutate`: which deliberately wrong closed forms each check catches.

For every result part and every check that sees it, the mutants of
`pricesym._check.mutate.mutants` (constants and terms × (1 + δ), terms dropped at any
depth, powers changed by one) are compared with the check's reference values,
computed once; the report gives the share caught and lists what got through."""

from __future__ import annotations

import json

from .._errors import AssumptionError

__all__ = ["run_mutate"]


def run_mutate(args, out, catalogue, selected) -> int:
    from .._check.mutate import mutation_report

    if not 0 < args.delta < 1:
        raise AssumptionError(f"`--delta` must lie in (0, 1), got {args.delta!r}.")
    records, total, caught = [], 0, 0
    for name in selected:
        for score in mutation_report(catalogue[name], args.delta, seed=args.seed):
            n = len(score.caught) + len(score.missed)
            total, caught = total + n, caught + len(score.caught)
            records.append({"name": name, "part": score.part, "check": score.check, "mutants": n,
                            "caught": len(score.caught), "missed": [m.where for m in score.missed]})
            if not args.json:
                power = f"catches all {n}" if not score.missed else f"misses {len(score.missed)} of {n}"
                out.write(f"{'OK  ' if not score.missed else 'MISS'} {name} | {score.part} | {score.check} | "
                          f"{power} mutant{'s' if n != 1 else ''} at {args.delta:.0%} (resolves a {args.delta:.0%} "
                          f"change {'in every' if not score.missed else 'in some'} constant and term of this part)\n")
                for m in score.missed:
                    out.write(f"       got through: {m.where}\n")
    if args.json:
        out.write(json.dumps({"delta": args.delta, "mutants": total, "caught": caught, "records": records}, indent=2) + "\n")
    else:
        out.write(f"\nmutation score at delta = {args.delta:g}: {caught}/{total} caught ({len(selected)} derivations)\n")
    return 0 if caught == total else 1
