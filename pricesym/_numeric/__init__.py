"""The numeric side: JAX in float64, simulators, estimators, exact solves.

These modules compute references from a model by autodiff or by simulating the
process. They never import the symbolic side (SymPy, `pricesym._symbolic`,
`pricesym._check`, ...): `tests/engine/test_layout.py` enforces it, so that "the
reference never sees the algebra" can be audited by reading imports.
"""
