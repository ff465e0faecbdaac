"""`pricesym check` over many derivations uses every core: this process and forked (or
spawned) workers check derivations side by side, with the same results as one process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from helpers import WRONG_DERIVATION
from pricesym._cli import pool
from pricesym._cli.main import main
from pricesym._cli.progress import Progress

CHEAP = ["bernoulli/ntvar", "ntcov/chain-rule", "price/fundamental-theorem", "ntcov/product-rule"]


def run(*argv):
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PRICESYM_NO_CACHE", raising=False)


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_workers_give_what_one_process_gives_and_see_user_files(start, tmp_path, monkeypatch):
    (tmp_path / "wrong.py").write_text(WRONG_DERIVATION)
    argv = ["check", *CHEAP, "user/wrong", "--from", str(tmp_path / "wrong.py"), "--seed", "3", "--json"]
    serial_code, serial = run(*argv, "--jobs", "1")
    if start == "fork":  # a fresh process: JAX not running yet, so the workers are forked
        done = subprocess.run([sys.executable, "-m", "pricesym._cli.main", *argv, "--jobs", "3"], capture_output=True,
                              text=True, cwd=tmp_path, env=os.environ, timeout=600)
        parallel_code, parallel = done.returncode, done.stdout
        assert "Traceback" not in done.stderr  # the process ends at once, after its workers stopped
    else:
        monkeypatch.setattr(pool, "_fork_safe", lambda: False)
        parallel_code, parallel = run(*argv, "--jobs", "3")
    assert serial_code == parallel_code == 1  # the user's wrong derivation fails in a worker too
    assert json.loads(parallel) == json.loads(serial)  # seeded: the same numbers, in catalogue order
    assert {r["name"] for r in json.loads(parallel)} == {*CHEAP, "user/wrong"}


def test_durations_are_kept_for_the_next_schedule_unless_caching_is_off(tmp_path, monkeypatch):
    stored = tmp_path / "cache" / "pricesym" / "durations.json"
    assert run("check", *CHEAP[:2], "--jobs", "2")[0] == 0
    seconds = json.loads(stored.read_text())
    assert set(seconds) == set(CHEAP[:2]) and all(s > 0 for s in seconds.values())
    stored.unlink()
    monkeypatch.setenv("PRICESYM_NO_CACHE", "1")
    assert run("check", *CHEAP[:2], "--jobs", "1")[0] == 0
    assert not stored.exists()


def test_the_command_ends_with_mains_code_and_all_its_output():
    """`pricesym` skips the interpreter's shutdown: everything written must be out first."""
    command = [sys.executable, "-m", "pricesym._cli.main"]
    done = subprocess.run([*command, "show", "no/such-name"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("pricesym: error: no derivation named `no/such-name`")
    done = subprocess.run([*command, "list", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and len(json.loads(done.stdout)) >= 38  # the whole listing, flushed


def test_a_first_run_is_ordered_by_the_catalogues_first_run_seconds():
    """With nothing cached, the installed catalogue's first-run durations (2 cores, shipped in
    derivations/) order the entries, longest first, and give the time left; a run's own
    durations replace them."""
    import pricesym as ps

    shipped = pool._read(pool._first_run())
    # names of the installed catalogue (an entry added since the figures were taken waits its turn)
    assert shipped and set(shipped) <= set(ps.load()) and all(s > 0 for s in shipped.values())
    assert pool._read_durations() == shipped  # an empty cache: the shipped figures
    assert run("check", CHEAP[0], "--jobs", "1")[0] == 0
    measured = json.loads(pool._durations_file().read_text())
    assert set(measured) == {CHEAP[0]}  # only what this machine ran is stored
    assert pool._read_durations() == {**shipped, **measured}


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_jobs_below_one_is_bad_input(jobs, capsys):
    assert main(["check", "--all", "--jobs", jobs], out=io.StringIO()) == 2
    assert "`--jobs` must be at least 1" in capsys.readouterr().err


def test_time_left_is_read_off_the_previous_run():
    stream = io.StringIO()
    progress = Progress(3, stream, expected={"a": 10.0, "b": 4.0, "c": 2.0}, jobs=2)
    progress.plan(["a", "b", "c"])
    progress.finish("a", "PASS", 20.0)  # this run is twice as slow as the last
    assert "about 6 s left" in stream.getvalue()  # twice (4 + 2) s, shared by 2 jobs
