"""What a user waits for, measured from fresh processes, beside the previous run's figures.

    python tests/benchmarks/bench_wait.py            # everything (a few minutes on 2 cores)
    python tests/benchmarks/bench_wait.py --quick    # import, list, verify: seconds (CI prints this)
    python tests/benchmarks/bench_wait.py --save     # also store the figures as the new baseline, and
                                                     # each derivation's first-run seconds (derivations/)

Each figure is the best of a few runs of a fresh `pricesym` process (so start-up counts),
except `check --all`, run once with an empty XLA cache (cold) and once more (warm). The
mutation score is the share of 1 % mutants of every result part that at least one check
catches (`pricesym._check.mutate`). The previous figures live in `wait.json` beside this file;
each row shows old, new and their ratio, and that ratio at the same machine speed (both
runs time the same pure-Python loop first), so a regression is visible. Not a test: no
timed assertion anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "wait.json"
FIRST_RUN = HERE.parents[1] / "derivations" / "first-run-seconds.json"
PRICESYM = [sys.executable, "-m", "pricesym._cli.main"]


def _seconds(argv, env=None, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - start)
    return best


MACHINE = "machine: 3e7-integer sum in Python (s)"


def _machine() -> float:
    """The same pure-Python loop in a fresh process: this machine's speed now (a shared
    2-core machine runs up to ~1.7x slower at times), so figures of two runs compare
    through their ratio to it."""
    return _seconds([sys.executable, "-c", "sum(range(30_000_000))"], None, 3)


def measure(quick: bool) -> tuple[dict[str, float], dict[str, float]]:
    """(the figures, each derivation's seconds in the empty-cache `check --all`)."""
    cache = tempfile.mkdtemp(prefix="pricesym-bench-")
    env = {**os.environ, "XDG_CACHE_HOME": cache}
    first_run: dict[str, float] = {}
    out = {
        MACHINE: _machine(),
        "import pricesym (s)": _seconds([sys.executable, "-c", "import pricesym"], env, 3),
        "pricesym list (s)": _seconds([*PRICESYM, "list"], env, 3),
        "pricesym verify, one line (s)": _seconds([*PRICESYM, "verify", "diff(tanh(x), x)", "1 - tanh(x)**2"], env, 3),
    }
    if not quick:
        out["pricesym check --all, empty cache (s)"] = _seconds([*PRICESYM, "check", "--all"], env)
        first_run = json.loads((Path(cache) / "pricesym" / "durations.json").read_text())
        out["pricesym check --all, warm cache (s)"] = _seconds([*PRICESYM, "check", "--all"], env)
        if shutil.which("latexmk"):
            with tempfile.TemporaryDirectory() as folder:
                out["pricesym report --all --pdf (s)"] = _seconds([*PRICESYM, "report", "--all", "--out", folder, "--pdf"], env)
        out["mutation score at 1 %"] = _mutation_score()
    shutil.rmtree(cache, ignore_errors=True)
    return out, first_run


def _mutation_score() -> float:
    """The share of 1 % mutants of every result part caught by at least one of the entry's
    checks (what `tests/engine/test_mutation_score.py` asserts is 1)."""
    import pricesym as ps
    from pricesym._check.mutate import mutation_report

    catalogue = ps.load()
    caught = total = 0
    for name in catalogue:
        seen: dict = {}
        for score in mutation_report(catalogue[name], 0.01):
            for m in score.caught:
                seen[(score.part, m.expr)] = True
            for m in score.missed:
                seen.setdefault((score.part, m.expr), False)
        caught += sum(seen.values())
        total += len(seen)
    return caught / total if total else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only import, list and verify")
    parser.add_argument("--save", action="store_true", help="store these figures as the baseline")
    args = parser.parse_args()
    old = json.loads(BASELINE.read_text()) if BASELINE.is_file() else {}
    new, first_run = measure(args.quick)
    width = max(len(k) for k in new)
    speed = new[MACHINE] / old[MACHINE] if old.get(MACHINE) else float("nan")
    print(f"{'':<{width}}  {'previous':>9}  {'now':>9}  {'now/prev':>8}  {'same machine speed':>18}")
    for key, value in new.items():
        before = old.get(key)
        ratio = f"{value / before:8.2f}" if before else "       -"
        scaled = f"{value / before / speed:18.2f}" if before and key.endswith("(s)") and key != MACHINE else " " * 18
        print(f"{key:<{width}}  {before if before is not None else float('nan'):9.3f}  {value:9.3f}  {ratio}  {scaled}")
    print("summary: " + "; ".join(f"{k} {v:.3g}" for k, v in new.items()))
    if args.save:
        BASELINE.write_text(json.dumps({**old, **new}, indent=2) + "\n")
        if not args.quick:  # each derivation's first-run seconds: `check` orders a first run by them
            FIRST_RUN.write_text(json.dumps({k: round(v, 1) for k, v in sorted(first_run.items())}, indent=1)
                                 + "\n")


if __name__ == "__main__":
    main()
