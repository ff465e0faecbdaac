"""What is kept between runs: symbolic evaluations of a step's unevaluated operators
are worked out once, keyed by the exact expression, and a damaged file is ignored."""

from __future__ import annotations

import numpy as np
import sympy as sp

from pricesym._check import compile as compiled

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
