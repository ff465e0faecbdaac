"""What is kept between runs: symbolic evaluations of a step's unevaluated operators
are worked out once, keyed by the exact expression, and a damaged file is ignored; the
folder is kept under its size limit, the entries used longest ago going first."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import sympy as sp

from pricesym._cache import cache_limit, prune
from pricesym._check import compile as compiled
from pricesym._cli.main import main

x = sp.Symbol("x", positive=True)
LIMIT = sp.Limit(sp.sin(x * sp.Symbol("h")) / sp.Symbol("h"), sp.Symbol("h"), 0)  # = x


def _files(tmp_path):
    return sorted((tmp_path / "pricesym" / "doit").glob("*.pickle"))


def test_a_limit_is_worked_out_once_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PRICESYM_NO_CACHE", raising=False)
    columns = {x: np.array([0.5, 2.0])}
    assert np.allclose(compiled.evaluate(LIMIT, columns), [0.5, 2.0], rtol=0, atol=1e-15)
    (kept,) = _files(tmp_path)
    calls = []
    monkeypatch.setattr(sp.Limit, "doit", lambda self, **hints: calls.append(self) or sp.nan)
    assert np.allclose(compiled.evaluate(LIMIT, columns), [0.5, 2.0], rtol=0, atol=1e-15)
    assert not calls  # read back, not worked out again
    kept.write_bytes(b"half a fi")  # a run killed while writing (or another version's file)
    assert np.isnan(compiled.evaluate(LIMIT, columns)).all() and len(calls) == 1  # worked out again


def test_another_expression_has_its_own_entry_and_no_cache_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PRICESYM_NO_CACHE", raising=False)
    compiled.evaluate(LIMIT, {x: np.array([1.0])})
    compiled.evaluate(2 * LIMIT, {x: np.array([1.0])})
    assert len(_files(tmp_path)) == 2
    monkeypatch.setenv("PRICESYM_NO_CACHE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "off"))
    assert compiled.evaluate(3 * LIMIT, {x: np.array([1.0])})[0] == 3.0
    assert not (tmp_path / "off").exists()


def _aged(path, size: int, age: float):
    """A cache file of ``size`` bytes last used ``age`` seconds ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_prune_removes_the_files_used_longest_ago_down_to_three_quarters(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PRICESYM_NO_CACHE", raising=False)
    root = tmp_path / "pricesym"
    # 10 files of 100 bytes across the kinds, file i used i hours ago
    kinds = ["xla", "kept", "doit"] * 3 + ["lambdify"]
    files = [_aged(root / kind / f"{i}.bin", 100, 3600.0 * i) for i, kind in enumerate(kinds)]
    assert prune(1000, every=0) == 0 and all(f.exists() for f in files)  # at the limit: nothing goes
    assert prune(800) == 0  # looked at less than a day ago
    assert prune(800, every=0) == 400  # over it: down to 600 = 3/4 of 800, oldest first
    assert [f.exists() for f in files] == [True] * 6 + [False] * 4


def test_a_kept_entry_read_back_counts_as_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PRICESYM_NO_CACHE", raising=False)
    compiled.evaluate(LIMIT, {x: np.array([1.0])})
    (kept,) = _files(tmp_path)
    os.utime(kept, (time.time() - 7200.0, time.time() - 7200.0))  # written two hours ago ...
    compiled.evaluate(LIMIT, {x: np.array([1.0])})  # ... and read now
    assert kept.stat().st_mtime > time.time() - 60  # marked used even where reads leave no access time
    rest = sum(f.stat().st_size for f in (tmp_path / "pricesym").rglob("*") if f.is_file())
    stale = _aged(tmp_path / "pricesym" / "xla" / "stale", 3 * rest + 100, 3600.0)  # used an hour ago
    # one byte over: the oldest file goes, and that alone brings the folder under 3/4 of the limit
    assert prune(4 * rest + 99, every=0) == 3 * rest + 100
    assert kept.exists() and not stale.exists()


def test_the_cache_limit_comes_from_the_environment_and_bad_values_are_named(monkeypatch, capsys):
    monkeypatch.delenv("PRICESYM_CACHE_MB", raising=False)
    assert cache_limit() == 1024 << 20
    monkeypatch.setenv("PRICESYM_CACHE_MB", "0.5")
    assert cache_limit() == 1 << 19
    for bad in ("-1", "lots", "inf", "nan"):
        monkeypatch.setenv("PRICESYM_CACHE_MB", bad)
        with pytest.raises(ValueError, match="PRICESYM_CACHE_MB"):
            cache_limit()
    assert main(["list"]) == 2  # the command says so, and does nothing
    out, err = capsys.readouterr()
    assert not out and err.startswith("pricesym: error: PRICESYM_CACHE_MB must be") and "'nan'" in err


def test_a_command_that_keeps_nothing_makes_no_cache_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PRICESYM_NO_CACHE", raising=False)
    assert main(["verify", "x + x", "2*x"]) == 0
    assert not (tmp_path / "pricesym").exists()
