r"""Monte-Carlo estimators with their standard errors: the one place for them.

Every estimate is an `Estimate` (mean, standard error, same shapes). Means of
i.i.d. samples use the sample standard deviation; ratios of means (a
fitness-weighted mean, the mean over accepted proposals, a time given fixation)
use the delta method through the *influence* of each sample,

.. math:: \hat R = \frac{\sum a}{\sum b}, \qquad
          \mathrm{SE}(\hat R) = \frac{\operatorname{sd}(a - \hat R b)}{\bar b\,\sqrt n},

with antithetic pairs counted as one unit. JAX is imported on first use, so
`Estimate` costs nothing to import.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "Estimate", "estimate", "influence_se", "ratio_of_means", "weighted_mean", "covariance_estimate",
    "correlation",
]


class Estimate(NamedTuple):
    """A Monte-Carlo estimate and its standard error (same shapes)."""

    mean: Any
    se: Any


def estimate(samples, axis: int = 0) -> Estimate:
    """Mean and standard error of i.i.d. samples along ``axis`` (JAX arrays; works under jit)."""
    from .backend import jnp

    samples = jnp.asarray(samples)
    n = samples.shape[axis]
    return Estimate(jnp.mean(samples, axis=axis), jnp.std(samples, axis=axis, ddof=1) / jnp.sqrt(n))


def influence_se(influence, pairs: bool = False):
    """Standard error of the mean of per-sample influence values (first axis).

    ``pairs``: rows ``i`` and ``i + n/2`` are an antithetic pair and count as one unit."""
    from .backend import jnp

    if pairs:
        half = influence.shape[0] // 2
        influence = (influence[:half] + influence[half:]) / 2
    return jnp.std(influence, axis=0, ddof=1) / jnp.sqrt(influence.shape[0])


def ratio_of_means(a, b, *, pairs: bool = False) -> Estimate:
    r""":math:`\sum a / \sum b` of paired samples (first axis; ``a`` may carry trailing
    axes) with its delta-method standard error."""
    from .backend import jnp

    a, b = jnp.asarray(a), jnp.asarray(b)
    bx = b.reshape((b.shape[0],) + (1,) * (a.ndim - 1))
    ratio = jnp.sum(a, axis=0) / jnp.sum(b)
    return Estimate(ratio, influence_se((a - ratio * bx) / jnp.mean(b), pairs))


def weighted_mean(values, weights, *, pairs: bool = False) -> Estimate:
    r""":math:`\mathbb E[v\,w]/\mathbb E[w]` from i.i.d. samples: a fitness-weighted mean,
    or (with 0/1 weights) the mean over accepted samples."""
    from .backend import jnp

    values, weights = jnp.asarray(values), jnp.asarray(weights)
    w = weights.reshape((weights.shape[0],) + (1,) * (values.ndim - 1))
    return ratio_of_means(values * w, weights, pairs=pairs)


def covariance_estimate(samples) -> Estimate:
    r"""The covariance matrix of the rows of ``samples`` (NumPy): the mean of the centred
    outer products times n/(n-1), each entry's SE from the spread of the products."""
    samples = np.asarray(samples, dtype=np.float64)
    n, d = samples.shape
    centred = samples - samples.mean(axis=0)
    products = (centred[:, :, None] * centred[:, None, :]).reshape(n, -1) * (n / (n - 1))
    mean = products.mean(axis=0).reshape(d, d)
    se = (products.std(axis=0, ddof=1) / math.sqrt(n)).reshape(d, d)
    return Estimate(mean, se)


def correlation(samples) -> Estimate:
    r"""Sample correlation of two columns, with the SE of the covariance scaled like it
    (:math:`1/\sqrt n` for independent Gaussian columns, MATH.md 0.3)."""
    cov = covariance_estimate(samples)
    scale = math.sqrt(cov.mean[0, 0] * cov.mean[1, 1])
    return Estimate(cov.mean[0, 1] / scale, cov.se[0, 1] / scale)
