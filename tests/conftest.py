"""Test configuration: float64 JAX, warnings are errors (pyproject), hypothesis profiles.

Layout: `engine/` tests the engine module by module (and may import private
modules); `catalogue/` tests the catalogue through the public API only, like a
user; `helpers.py` is shared by both. Profiles: `ci` (default; derandomised so CI
is reproducible) and `dev` (more examples): select with HYPOTHESIS_PROFILE=dev."""

import os

import pytest
from hypothesis import HealthCheck, settings

import pricesym.numeric  # noqa: F401  (switches JAX to float64 before any test)

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def catalogue():
    from helpers import CATALOGUE

    return CATALOGUE
