"""Checking many derivations at once: one worker process per core.

Each derivation's checks are seeded, so a worker computes exactly what the parent
process would; the reports come back (they are plain data) and are printed in
catalogue order. Workers are forked before JAX's runtime starts here (a forked running
JAX is not safe), and spawned when it already runs.
This process checks derivations too, beside ``jobs`` − 1 workers; each takes the
next derivation when it is free, the longest of the previous run first (their
durations are kept beside the XLA cache, ``$XDG_CACHE_HOME/pricesym/durations.json``),
so no one is left with one long derivation at the end while the others idle. Before
any run, the catalogue's first-run durations measured on 2 cores
(``derivations/first-run-seconds.json``, written by ``tests/benchmarks/bench_wait.py
--save``) order the installed entries and give the time left.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

from .._cache import cache_dir, catalogue_folder
from .._errors import PricesymError

__all__ = ["default_jobs", "run_checks"]

_CATALOGUE = None  # the worker's catalogue, loaded once by `_start`
_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _durations_file() -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / "durations.json"


def _read(path: Path | None) -> dict[str, float]:
    try:
        data = json.loads(path.read_text()) if path else {}
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))} if isinstance(data, dict) else {}


FIRST_RUN = "first-run-seconds.json"  # in the catalogue's folder


def _first_run() -> Path | None:
    folder = catalogue_folder()
    return None if folder is None else folder / FIRST_RUN


def _read_durations() -> dict[str, float]:
    """Seconds per derivation: this machine's last run, else the catalogue's first run on 2 cores."""
    return {**_read(_first_run()), **_read(_durations_file())}


def _write_durations(seconds: dict[str, float]) -> None:
    path = _durations_file()
    if path is None or not seconds:
        return
    data = {**_read(path), **seconds}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)  # atomic: two runs at once never leave half a file
    except OSError:  # a read-only cache: schedule by catalogue order next time
        pass


def _check_one(catalogue, name: str, instances, seed: int):
    t0 = time.perf_counter()
    try:
        report, error = catalogue[name].check(instances=instances, seed=seed), None
    except PricesymError as exc:
        report, error = None, str(exc)
    return name, report, error, time.perf_counter() - t0


def _start(sources) -> None:
    global _CATALOGUE
    from .._derivation.loader import load

    _CATALOGUE = load(*sources)


def _work(name: str, instances, seed: int):
    return _check_one(_CATALOGUE, name, instances, seed)


def _fork_safe() -> bool:
    """True while this process has not started JAX's runtime (its threads), so a fork is safe."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        from jax._src import xla_bridge

        return not xla_bridge.backends_are_initialized()
    except (ImportError, AttributeError):  # another JAX: spawn, which is always safe
        return False


def _pool(catalogue, names, workers: int, sources):
    """Worker processes. Forked after this process has run the derivation modules (JAX,
    SciPy and SymPy imported, nothing computed), so each worker starts with them loaded
    and inherits the catalogue; spawned (loading everything again) once JAX is running."""
    global _CATALOGUE
    try:
        catalogue.run_modules(names)
    except PricesymError:
        pass  # reported by the check of the entry, in order
    if _fork_safe():
        # One core per process: XLA's own threads would otherwise contend with the other
        # processes for the same cores (a warm `check --all` on 2 cores: 6-10 % faster).
        # Set before any backend starts, so this process and its forks share the flags (and
        # the compiled programs cached under them); a user's XLA_FLAGS are left alone.
        os.environ.setdefault("XLA_FLAGS", _ONE_THREAD)
        _CATALOGUE = catalogue
        pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    else:
        pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                      initializer=_start, initargs=(tuple(str(s) for s in sources),))
    pool.submit(int).result()  # start the workers now, from this thread, before any JAX runs here
    return pool


def run_checks(catalogue, names, *, sources, instances, seed: int, jobs: int, progress):
    """Check ``names`` → ``(reports, errors)``, both keyed by name; ``progress`` hears
    of each derivation as it finishes. With ``jobs`` > 1 this process checks
    derivations too, beside ``jobs`` − 1 worker processes that each load the catalogue
    from ``sources``; every one takes the next derivation as soon as it is free."""
    reports, errors, seconds = {}, {}, {}
    before = _read_durations()
    todo = collections.deque(sorted(names, key=lambda n: -before.get(n, 0.0)))  # longest first; stable otherwise
    lock = threading.Lock()
    progress.expected, progress.jobs = before, min(jobs, len(names))
    progress.plan(names)

    def take():
        with lock:
            return todo.popleft() if todo else None

    def record(outcome):
        name, report, error, took = outcome
        with lock:
            if error is None:
                reports[name] = report
            else:
                errors[name] = error
            seconds[name] = took
        progress.finish(name, "ERROR" if error else ("PASS" if report.passed else "FAIL"), took)

    def here():
        while (name := take()) is not None:
            progress.start(name)
            record(_check_one(catalogue, name, instances, seed))

    workers = min(jobs, len(names)) - 1
    if workers < 1:
        here()
    else:
        failures: list[BaseException] = []

        def feed(pool):  # one thread per worker process: hand it the next derivation when it is free
            try:
                while (name := take()) is not None:
                    record(pool.submit(_work, name, instances, seed).result())
            except BaseException as exc:  # re-raised by the caller, after the others stop
                failures.append(exc)
                todo.clear()

        pool = _pool(catalogue, names, workers, sources)
        threads = [threading.Thread(target=feed, args=(pool,), daemon=True) for _ in range(workers)]
        try:
            for t in threads:
                t.start()
            here()
            for t in threads:
                t.join()
        except BaseException:  # Ctrl-C: stop handing out work, stop the workers
            todo.clear()
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            raise
        else:
            pool.shutdown(wait=True)  # idle workers: they stop at once, and none outlives this call
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if failures:
            raise failures[0]
    _write_durations(seconds)
    return reports, errors
