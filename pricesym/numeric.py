"""Tools for writing references (imports JAX, float64 on).

References recompute a quantity from the model by autodiff or simulation; these
helpers differentiate model functions. They never take a derived expression."""

from ._check import Estimate as Estimate
from ._check import estimate as estimate
from ._numeric import jax_ntcov as jax_ntcov
from ._numeric import jax_ntvar as jax_ntvar

__all__ = ["Estimate", "estimate", "jax_ntcov", "jax_ntvar"]
