r"""Populations simulated generation by generation: selection on a Gaussian
population (breeder's and Lande's equations) and reproduction of a finite
population (Price's equation). JAX, float64, seeded; each returns `Estimate`s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .._errors import AssumptionError
from . import validate
from .backend import is_traced, jax, jnp, prng_key
from .estimators import Estimate, estimate, ratio_of_means, weighted_mean
from .programs import jit

__all__ = ["Selection", "simulate_gaussian_selection", "simulate_offspring"]


class Selection(NamedTuple):
    """One generation of selection on a Gaussian population (`Estimate`s).

    wbar: mean fitness E[w].
    S:    selection differential E[w (P - z̄)]/E[w] (mean phenotype of the
          selected parents minus the population mean).
    R:    response E[w A]/E[w]: mean breeding value of the selected parents, which
          is the offspring mean's change under additive inheritance.
    h2:   realised heritability R/S = E[w A]/E[w (P - z̄)] (scalar trait only;
          NaN for several traits).
    """

    wbar: Estimate
    S: Estimate
    R: Estimate
    h2: Estimate



def psd_root(name, C, d: int):
    """A square root L with L Lᵀ = C for a covariance (scalar variance when d == 0)."""

    C = jnp.asarray(C, jnp.float64)
    if d == 0:
        if not is_traced(C) and (C.ndim != 0 or float(C) < 0):
            raise AssumptionError(f"`{name}` must be a variance >= 0 (a scalar, like `zbar`), got {C!r}.")
        return jnp.sqrt(C)
    if C.shape != (d, d):
        raise AssumptionError(f"`{name}` must be a {d}x{d} covariance matrix (matching `zbar`), got shape {C.shape}.")
    if not is_traced(C):
        Cn = np.asarray(C)
        scale = max(1.0, np.abs(Cn).max())
        if not np.allclose(Cn, Cn.T, rtol=0, atol=1e-12 * scale) or np.linalg.eigvalsh(Cn).min() < -1e-12 * scale:
            raise AssumptionError(f"`{name}` must be a symmetric positive semi-definite covariance, got {Cn.tolist()!r}.")
    vals, vecs = jnp.linalg.eigh(C)
    return vecs * jnp.sqrt(jnp.maximum(vals, 0.0))


def simulate_gaussian_selection(key, zbar, G, E, fitness: Callable, samples: int = 1_000_000, *,
                                args: tuple = ()) -> Selection:
    r"""One generation of selection on a Gaussian population (MATH.md D2–D3).

    Draws ``samples`` individuals with breeding value :math:`A \sim \mathcal N(0, G)`,
    environmental deviation :math:`E \sim \mathcal N(0, E)` and phenotype
    :math:`P = \bar z + A + E`; weights each by ``fitness(P, *args)`` (a
    JAX-traceable function of one phenotype, >= 0; put traced parameters in
    ``args``) and returns the fitness-weighted means as `Selection` (mean
    fitness, selection differential S, response R, realised heritability R/S).

    ``zbar`` is a scalar (then ``G``, ``E`` are variances) or a vector of ``d``
    traits (then ``G``, ``E`` are d×d covariances).
    """
    if not callable(fitness):
        raise AssumptionError(f"`fitness` must be a function of one phenotype, got {fitness!r}.")
    samples = validate.count("samples", samples, minimum=2)
    key = prng_key(key)
    zbar = jnp.asarray(zbar, jnp.float64)
    if zbar.ndim > 1:
        raise AssumptionError(f"`zbar` must be a scalar or a vector of trait means, got shape {zbar.shape}.")
    d = 0 if zbar.ndim == 0 else zbar.shape[0]
    LG, LE = psd_root("G", G, d), psd_root("E", E, d)
    return _gaussian_selection(key, zbar, LG, LE, tuple(jnp.asarray(a, jnp.float64) for a in args), samples, fitness)


@jit(static_argnames=("samples", "fitness"))
def _gaussian_selection(key, zbar, LG, LE, args, samples: int, fitness: Callable) -> Selection:
    kA, kE = jax.random.split(key)
    shape = (samples,) + zbar.shape
    A = jax.random.normal(kA, shape, jnp.float64)
    Env = jax.random.normal(kE, shape, jnp.float64)
    if zbar.ndim:
        A, Env = A @ LG.T, Env @ LE.T
    else:
        A, Env = A * LG, Env * LE
    P = zbar + A + Env
    w = jax.vmap(lambda phenotype: fitness(phenotype, *args))(P)
    wbar = estimate(w)
    deviation = P - zbar
    if zbar.ndim:
        h2 = Estimate(jnp.nan, jnp.nan)
    else:
        h2 = ratio_of_means(w * A, w * deviation)
    return Selection(wbar, weighted_mean(deviation, w), weighted_mean(A, w), h2)


# --------------------------------------------------------------------------- finite populations (Price)


def simulate_offspring(key, counts, fitness, z, z_offspring, replicates: int = 100_000, *,
                       noise: float = 0.5, max_count: int | None = None) -> Estimate:
    r"""The realised :math:`\bar w\,\Delta\bar z` of a finite population, over
    ``replicates`` independent rounds of reproduction (MATH.md D1).

    Type ``t`` has ``counts[t]`` parents with trait ``z[t]``. Each parent leaves
    :math:`\lfloor w_t\rfloor` or :math:`\lfloor w_t\rfloor + 1` offspring
    (the latter with probability :math:`w_t - \lfloor w_t\rfloor`, so the mean is
    ``fitness[t]`` = :math:`w_t`), each offspring with trait ``z_offspring[t]`` plus
    Gaussian noise of SD ``noise``. From the simulated offspring the next
    generation's mean is computed directly, and the realised

    .. math:: \bar w\,\Delta\bar z = \frac{1}{n}\sum_{\text{offspring}} z' - \frac{n'}{n}\,\bar z

    (``n`` parents, ``n'`` offspring; this is :math:`\bar w(\bar z' - \bar z)`
    with :math:`\bar w = n'/n`, and stays defined when :math:`n' = 0`) is
    averaged over the replicates. Returns `Estimate`. ``max_count`` bounds
    ``counts`` (required when they are traced).
    """
    replicates = validate.count("replicates", replicates, minimum=2)
    key = prng_key(key)
    arrays = [jnp.atleast_1d(jnp.asarray(a, jnp.float64)) for a in (counts, fitness, z, z_offspring)]
    if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
        raise AssumptionError(
            "`counts`, `fitness`, `z` and `z_offspring` must be vectors of one length (one entry per type), "
            f"got shapes {[tuple(a.shape) for a in arrays]}."
        )
    counts, fitness, z, z_offspring = arrays
    if not is_traced(counts, fitness, noise):
        c = np.asarray(counts)
        if np.any(c < 0) or np.any(c != np.round(c)) or c.sum() < 1:
            raise AssumptionError(f"`counts` must be whole numbers >= 0 with at least one parent, got {c.tolist()!r}.")
        if np.any(np.asarray(fitness) < 0):
            raise AssumptionError(
                f"`fitness` is a mean offspring number and must be >= 0, got {np.asarray(fitness).tolist()!r}."
            )
        if validate.real("noise", noise) < 0:
            raise AssumptionError(f"`noise` must be >= 0, got {noise!r}.")
        if max_count is None:
            max_count = int(c.max())
    if max_count is None:
        raise AssumptionError("`max_count` is required when `counts` are traced: pass an upper bound of the counts.")
    max_count = validate.integer("max_count", max_count, minimum=1, what="an integer upper bound of `counts` (>= 1)")
    return _offspring(key, counts, fitness, z, z_offspring, jnp.asarray(noise, jnp.float64), replicates, max_count)


@jit(static_argnames=("replicates", "max_count"))
def _offspring(key, counts, fitness, z, z_offspring, noise, replicates: int, max_count: int) -> Estimate:
    shape = (replicates, counts.shape[0], max_count)  # replicate x type x parent slot
    exists = jnp.arange(max_count) < counts[:, None]
    n = jnp.sum(counts)
    zbar = jnp.sum(counts * z) / n
    k_off, k_trait = jax.random.split(key)
    whole = jnp.floor(fitness)[:, None]
    extra = jax.random.uniform(k_off, shape, jnp.float64) < (fitness[:, None] - whole)
    offspring = jnp.where(exists, whole + extra, 0.0)
    # The trait sum of o offspring, each z' + N(0, noise²), is o z' + noise sqrt(o) N(0, 1).
    traits = offspring * z_offspring[:, None] + noise * jnp.sqrt(offspring) * jax.random.normal(k_trait, shape)
    values = jnp.sum(traits, axis=(1, 2)) / n - jnp.sum(offspring, axis=(1, 2)) / n * zbar
    return estimate(values)
