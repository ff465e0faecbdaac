"""Tools for writing references (imports JAX, float64 on).

A reference recomputes a quantity from the model, by autodiff or by simulating
the process; these tools differentiate model functions, estimate with standard
errors, integrate by quadrature and solve chains exactly. None of them takes a
derived expression. `jit` is `jax.jit` with the traced program kept between runs
(for code in pricesym and its catalogue)."""

from ._numeric.autodiff import jax_ntcov as jax_ntcov
from ._numeric.autodiff import jax_ntvar as jax_ntvar
from ._numeric.backend import prng_key as prng_key
from ._numeric.chains import jump_chain as jump_chain
from ._numeric.chains import path_chain as path_chain
from ._numeric.chains import stationary_vector as stationary_vector
from ._numeric.chains import tridiagonal_solve as tridiagonal_solve
from ._numeric.estimators import Estimate as Estimate
from ._numeric.estimators import correlation as correlation
from ._numeric.estimators import covariance_estimate as covariance_estimate
from ._numeric.estimators import estimate as estimate
from ._numeric.estimators import influence_se as influence_se
from ._numeric.estimators import ratio_of_means as ratio_of_means
from ._numeric.estimators import weighted_mean as weighted_mean
from ._numeric.exact_laws import minibatch_law as minibatch_law
from ._numeric.exact_laws import taylor_coefficients as taylor_coefficients
from ._numeric.programs import jit as jit
from ._numeric.quadrature import hermite_rule as hermite_rule

__all__ = [
    "Estimate", "correlation", "covariance_estimate", "estimate", "hermite_rule", "influence_se", "jax_ntcov",
    "jax_ntvar", "jit", "jump_chain", "minibatch_law", "path_chain", "prng_key", "ratio_of_means", "stationary_vector",
    "taylor_coefficients", "tridiagonal_solve", "weighted_mean",
]
