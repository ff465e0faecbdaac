"""Population genetics as numbers: fixation probabilities and times, exact
absorption solves of the finite Markov chains, and seeded JAX simulators.

Three layers, kept apart on purpose:

* **Closed forms** (`kimura_fixation`, `kimura_times`, `moran_fixation`,
  `moran_neutral_times`): the textbook formulas of MATH.md D4–D6 as functions,
  for users, tests and other catalogue entries that need a fixation probability
  (e.g. origin-fixation models, B8). A check's reference never calls them.
* **Exact solves** (`moran_absorption_system`, `wright_fisher_absorption_system`):
  the absorption probabilities and mean absorption times of the finite chains,
  from their transition probabilities by one linear solve each. These are
  references: they know the process, not the formula.
* **Simulators** (`simulate_moran`, `simulate_moran_times`,
  `simulate_wright_fisher`, `simulate_gaussian_selection`,
  `simulate_offspring`): JAX, float64, jit + vmap, seeded keys; each returns an
  `Estimate` (mean, standard error). `ratio_of_means` and `ratio_estimate` give
  fitness-weighted means with delta-method standard errors.

Fixation trials are simulated with *restart and drain*: a fixed number of
lanes each run one trial at a time; a lane whose trial is absorbed starts the
next trial while the quota lasts, and once the quota is handed out the lanes
finish (drain) the trials they hold. Every started trial is completed, so the
estimate is unbiased; stopping at a fixed time instead would over-count the
short trials. Compared with running all trials side by side until the slowest
is absorbed, this keeps the lanes busy: tests/benchmarks/bench_popgen.py
measures about 7× for 2e4 new mutants at N = 100 (DESIGN.md quotes about 100×;
the gain grows with the spread of trial lengths).

Inputs are validated when they are concrete numbers; under `jax.jit`/`jax.vmap`
(traced values, as inside a check's reference) validation is the caller's job.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _numeric  # noqa: F401  (switches JAX to float64)
from ._check import Estimate
from ._errors import AssumptionError

__all__ = [
    "Absorption",
    "MoranTimes",
    "Selection",
    "kimura_fixation",
    "kimura_times",
    "moran_fixation",
    "moran_neutral_times",
    "moran_transitions",
    "moran_absorption_system",
    "wright_fisher_absorption_system",
    "simulate_moran",
    "simulate_moran_times",
    "simulate_wright_fisher",
    "simulate_gaussian_selection",
    "simulate_offspring",
    "ratio_estimate",
    "ratio_of_means",
]


# --------------------------------------------------------------------------- validation


def _traced(*values) -> bool:
    return any(isinstance(v, jax.core.Tracer) for v in values)


def _scalar(name: str, value, what: str) -> float:
    """``value`` as a float, for a real scalar (Python, NumPy or 0-d JAX); else a clear error."""
    if isinstance(value, (bool, str, bytes)) or np.ndim(value) != 0:
        raise AssumptionError(f"`{name}` must be {what}, got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AssumptionError(f"`{name}` must be {what}, got {value!r}.") from None


def _real(name: str, value) -> float:
    x = _scalar(name, value, "a real number")
    if not math.isfinite(x):
        raise AssumptionError(f"`{name}` must be finite, got {value!r}.")
    return x


def _integer(name: str, value, *, minimum: int, what: str) -> int:
    x = _scalar(name, value, what)
    if not math.isfinite(x) or x != int(x) or x < minimum:
        raise AssumptionError(f"`{name}` must be {what}, got {value!r}.")
    return int(x)


def _population(N) -> int:
    return _integer("N", N, minimum=1, what="an integer population size >= 1")


def _mutants(i, N: int) -> int:
    i = _integer("i", i, minimum=0, what=f"an integer number of mutants in [0, N] = [0, {N}]")
    if i > N:
        raise AssumptionError(f"`i` must be an integer number of mutants in [0, N] = [0, {N}], got {i!r}.")
    return i


def _fitness(r) -> float:
    r = _real("r", r)
    if r <= 0:
        raise AssumptionError(f"`r` is a relative fitness and must be > 0, got {r!r}.")
    return r


def _frequency(p) -> float:
    p = _real("p", p)
    if not 0 <= p <= 1:
        raise AssumptionError(f"`p` is a probability (an allele frequency) and must lie in [0, 1], got {p!r}.")
    return p


def _wf_selection(s) -> float:
    s = _real("s", s)
    if s <= -1:
        raise AssumptionError(f"`s` must be > -1 so that the allele's fitness 1 + s is positive, got {s!r}.")
    return s


def _copies(N: int, p: float) -> int:
    """The whole number of gene copies ``2N p``."""
    k = round(2 * N * p)
    if abs(2 * N * p - k) > 1e-9 * max(1, 2 * N):
        raise AssumptionError(
            f"`p` must be a whole number of gene copies out of 2N = {2 * N} (p = k/{2 * N}), got {p!r}."
        )
    return k


def _trials(trials) -> int:
    return _integer("trials", trials, minimum=1, what="an integer number of trials >= 1")


def _lanes(lanes) -> int:
    return _integer("lanes", lanes, minimum=1, what="an integer number of parallel lanes >= 1")


def _key(key):
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    if isinstance(key, jax.Array) and (jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) or key.shape == (2,)):
        return key
    raise AssumptionError(f"`key` must be a JAX PRNG key (jax.random.key(seed)) or an integer seed, got {key!r}.")


# --------------------------------------------------------------------------- closed forms


def kimura_fixation(N, s, p):
    r"""Kimura's diffusion approximation to the fixation probability (MATH.md D4).

    .. math:: u(p) = \frac{1 - e^{-4Nsp}}{1 - e^{-4Ns}}

    for a diploid population of ``N`` (= :math:`N_e`) with genic selection ``s``
    and initial allele frequency ``p``; ``u(p) = p`` when ``s = 0``. A new mutant
    has ``p = 1/(2N)``. Scalars in, float out.
    """
    N = _population(N)
    s = _real("s", s)
    p = _frequency(p)
    a = 4 * N * s
    if a == 0:
        return p
    if a > 0:
        return math.expm1(-a * p) / math.expm1(-a)
    # s < 0: multiply through by e^a so that nothing overflows when 4N|s| is large
    return (math.exp(a * (1 - p)) - math.exp(a)) / -math.expm1(a)


def kimura_times(N, p) -> tuple[float, float]:
    r"""Neutral diffusion times in generations (MATH.md D6): ``(t1, t)`` with

    .. math::
        \bar t_1(p) = -\frac{4N(1-p)\ln(1-p)}{p}, \qquad
        \bar t(p) = -4N\left[p\ln p + (1-p)\ln(1-p)\right],

    the mean time to fixation given fixation and the mean time to absorption,
    starting at frequency ``0 < p < 1`` (``t1(0+) = 4N``).
    """
    N = _population(N)
    p = _frequency(p)
    if p in (0.0, 1.0):
        raise AssumptionError(f"`p` must lie strictly inside (0, 1) for absorption times, got {p!r}.")
    xlogx = lambda x: x * math.log(x)
    return -4 * N * xlogx(1 - p) / p, -4 * N * (xlogx(p) + xlogx(1 - p))


def moran_fixation(N, r, i=1) -> float:
    r"""Fixation probability of ``i`` mutants of relative fitness ``r`` in a Moran
    population of ``N`` (MATH.md D5):

    .. math:: \phi_i = \frac{1 - r^{-i}}{1 - r^{-N}}, \qquad \phi_i = i/N \text{ at } r = 1.
    """
    N = _population(N)
    r = _fitness(r)
    i = _mutants(i, N)
    if r == 1:
        return i / N
    b = math.log(r)
    if b > 0:
        return math.expm1(-i * b) / math.expm1(-N * b)
    # r < 1: factor out r^(N-i) so that nothing overflows when N ln(1/r) is large
    return math.exp((N - i) * b) * math.expm1(i * b) / math.expm1(N * b)


def moran_neutral_times(N, i=1) -> tuple[float, float]:
    r"""Neutral Moran times in birth–death steps (MATH.md D6): ``(t_fix, t_abs)``.

    ``t_fix = N(N-1)`` is the mean time to fixation of a single mutant, given
    that it fixes (from ``i > 1`` mutants use `moran_absorption_system`), and

    .. math:: t_i = N\Big[(N-i)\sum_{j=1}^{i}\frac1{N-j} + i\sum_{j=i+1}^{N-1}\frac1j\Big]

    is the mean time to absorption from ``i`` mutants (``N H_{N-1}`` for ``i = 1``).
    """
    N = _population(N)
    i = _mutants(i, N)
    lower = sum(1 / (N - j) for j in range(1, i + 1)) if i < N else 0.0
    upper = sum(1 / j for j in range(i + 1, N))
    return float(N * (N - 1)), float(N * ((N - i) * lower + i * upper))


# --------------------------------------------------------------------------- exact solves


class Absorption(NamedTuple):
    """Absorption of a finite birth–death or Wright–Fisher chain, indexed by the
    number of mutant copies ``0..M`` (M = N for Moran, 2N for Wright–Fisher).

    phi:        probability of fixation (absorption at M).
    time:       mean number of steps to absorption (either boundary).
    time_fixed: mean number of steps to fixation, given fixation (NaN where phi = 0).
    """

    phi: np.ndarray
    time: np.ndarray
    time_fixed: np.ndarray


def moran_transitions(N, r) -> tuple[np.ndarray, np.ndarray]:
    r"""``(T⁺, T⁻)`` for the states ``0..N`` of the Moran process: one individual
    is chosen to reproduce with probability proportional to fitness (mutants
    ``r``, residents 1) and its offspring replaces one chosen uniformly at random,

    .. math::
        T^+_i = \frac{r i}{r i + N - i}\,\frac{N-i}{N},\qquad
        T^-_i = \frac{N - i}{r i + N - i}\,\frac{i}{N}.
    """
    N = _population(N)
    r = _fitness(r)
    i = np.arange(N + 1, dtype=np.float64)
    total = r * i + N - i
    return r * i / total * (N - i) / N, (N - i) / total * i / N


def _thomas(sub, diag, sup, rhs):
    """Solve a tridiagonal system (rows k: sub[k] x[k-1] + diag[k] x[k] + sup[k] x[k+1])
    by elimination without pivoting, for one or more right-hand-side columns.

    The absorption systems are M-matrices (positive diagonal, non-positive
    off-diagonals, weakly diagonally dominant), for which elimination without
    pivoting keeps every intermediate positive and the computed solution is
    accurate component by component, even where it is tiny (a deleterious
    mutant's 1e-30 fixation probability to ~1e-13 relative). Pivoting LAPACK
    solvers only guarantee accuracy relative to the largest component."""
    n = len(diag)
    rhs = np.asarray(rhs, dtype=np.float64)
    c = np.empty(n)
    d = np.empty((n,) + rhs.shape[1:])
    c[0] = sup[0] / diag[0] if n > 1 else 0.0
    d[0] = rhs[0] / diag[0]
    for k in range(1, n):
        m = diag[k] - sub[k] * c[k - 1]
        c[k] = sup[k] / m if k < n - 1 else 0.0
        d[k] = (rhs[k] - sub[k] * d[k - 1]) / m
    out = np.empty_like(d)
    out[-1] = d[-1]
    for k in range(n - 2, -1, -1):
        out[k] = d[k] - c[k] * out[k + 1]
    return out


def moran_absorption_system(N, r) -> Absorption:
    r"""Exact fixation probabilities and mean absorption times of the Moran
    process (time in birth–death steps; N steps make one generation).

    With :math:`T^\pm_i` from `moran_transitions`, three tridiagonal solves over
    the transient states :math:`1 \le i \le N-1`:

    .. math::
        (T^+_i + T^-_i)\,x_i - T^+_i x_{i+1} - T^-_i x_{i-1} = b_i

    with :math:`b = 0` and :math:`\phi_0 = 0, \phi_N = 1` for the fixation
    probabilities; :math:`b = 1` and zero boundaries for the absorption time;
    :math:`b = \phi` and zero boundaries for :math:`\theta_i = \phi_i \tau_i`,
    whence the conditional fixation time :math:`\tau_i = \theta_i/\phi_i`.
    Solved by elimination without pivoting (`_thomas`): relative accuracy about
    1e-13 per component for N <= 100. (Taylor, Iwasa & Nowak 2006; MATH.md D5–D6.)
    """
    N = _population(N)
    up, down = moran_transitions(N, r)
    phi = np.zeros(N + 1)
    phi[N] = 1.0
    time = np.zeros(N + 1)
    theta = np.zeros(N + 1)
    if N >= 2:
        u, d = up[1:N], down[1:N]
        rhs = np.zeros((N - 1, 2))
        rhs[-1, 0] = u[-1]  # the known phi_N = 1 moved to the right-hand side
        rhs[:, 1] = 1.0
        solved = _thomas(-d, u + d, -u, rhs)
        phi[1:N], time[1:N] = solved[:, 0], solved[:, 1]
        theta[1:N] = _thomas(-d, u + d, -u, phi[1:N])
    with np.errstate(divide="ignore", invalid="ignore"):
        fixed = np.where(phi > 0, theta / phi, np.nan)
    fixed[N] = 0.0
    return Absorption(phi, time, fixed)


def wright_fisher_absorption_system(N, s=0.0) -> Absorption:
    r"""Exact fixation probabilities and mean absorption times (in generations)
    of the Wright–Fisher chain with ``2N`` gene copies and genic selection ``s``.

    From ``k`` copies, selection takes the frequency to
    :math:`p' = p(1+s)/(1+ps)` with :math:`p = k/(2N)`, and the next generation is
    :math:`\operatorname{Binomial}(2N, p')`. With :math:`Q` the transient block of
    the transition matrix: :math:`(I-Q)\phi = P_{\cdot,2N}`,
    :math:`(I-Q)\tau = 1`, :math:`(I-Q)\theta = \phi`, :math:`\tau^{\rm fix} = \theta/\phi`.
    A dense solve: cost grows as :math:`N^3` (N = 500 takes about a second).
    """
    from scipy.special import gammaln, xlog1py, xlogy

    N = _population(N)
    s = _wf_selection(s)
    M = 2 * N
    k = np.arange(M + 1, dtype=np.float64)
    p = k / M
    selected = (p * (1 + s) / (1 + p * s))[:, None]
    j = k[None, :]
    P = np.exp(gammaln(M + 1) - gammaln(j + 1) - gammaln(M - j + 1) + xlogy(j, selected) + xlog1py(M - j, -selected))
    A = np.eye(M - 1) - P[1:M, 1:M]
    solved = np.linalg.solve(A, np.column_stack([P[1:M, M], np.ones(M - 1)]))
    phi = np.concatenate([[0.0], solved[:, 0], [1.0]])
    time = np.concatenate([[0.0], solved[:, 1], [0.0]])
    theta = np.concatenate([[0.0], np.linalg.solve(A, phi[1:M]), [0.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        fixed = np.where(phi > 0, theta / phi, np.nan)
    fixed[M] = 0.0
    return Absorption(phi, time, fixed)


# --------------------------------------------------------------------------- simulators


class MoranTimes(NamedTuple):
    """Mean times of a Moran chain, in birth–death steps (N steps = one generation).

    absorption: mean number of steps until fixation or loss.
    fixation:   mean number of steps until fixation, among trials that fix
                (a ratio estimate; its SE by the delta method).
    """

    absorption: Estimate
    fixation: Estimate


class _Sums(NamedTuple):
    n: Any  # completed trials
    fixed: Any  # sum of fixation indicators X
    time: Any = 0.0  # sum of absorption times T        (timed runs only)
    time2: Any = 0.0  # sum of T²
    time_fixed: Any = 0.0  # sum of Y = T·X
    time_fixed2: Any = 0.0  # sum of Y²


def _restart_and_drain(key, step, k0, top, trials: int, lanes: int, timed: bool) -> _Sums:
    """Run ``trials`` absorbing chains on ``lanes`` parallel lanes.

    ``step(key, k) -> (k', dt)`` advances every lane's copy number ``k`` (an
    int array) by one move taking ``dt`` time units; ``0`` and ``top`` absorb.
    A lane whose trial is absorbed records it and restarts from ``k0`` while the
    quota of started trials lasts; afterwards the lanes drain. Every started
    trial runs to absorption, so nothing is biased towards short trials.
    Times are only accumulated when ``timed`` (fewer loop carries otherwise).
    """
    lanes = min(lanes, trials)
    k0 = jnp.asarray(k0, jnp.int32)
    top = jnp.asarray(top, jnp.int32)
    zeros = jnp.zeros(lanes, jnp.float64)
    sums = _Sums(*([zeros] * (6 if timed else 2)))
    state = (jnp.full(lanes, k0, jnp.int32), zeros, jnp.ones(lanes, bool), jnp.asarray(lanes, jnp.int32),
             jnp.asarray(0, jnp.int32), sums)

    def body(state):
        k, t, active, started, it, sums = state
        absorbed = active & ((k == 0) | (k == top))
        a = absorbed.astype(jnp.float64)
        x = jnp.where(k == top, a, 0.0)
        if timed:
            ta = t * a
            sums = _Sums(sums.n + a, sums.fixed + x, sums.time + ta, sums.time2 + ta * ta,
                         sums.time_fixed + ta * x, sums.time_fixed2 + ta * ta * x)
        else:
            sums = _Sums(sums.n + a, sums.fixed + x)
        # Hand the remaining quota to the absorbed lanes in lane order.
        rank = jnp.cumsum(absorbed, dtype=jnp.int32) - 1
        restart = absorbed & (started + rank < trials)
        started = started + jnp.sum(restart, dtype=jnp.int32)
        k = jnp.where(restart, k0, k)
        t = jnp.where(absorbed, 0.0, t)
        active = (active & ~absorbed) | restart
        moving = active & (k > 0) & (k < top)
        k_new, dt = step(jax.random.fold_in(key, it), k)
        k = jnp.where(moving, k_new, k)
        if timed:
            t = t + jnp.where(moving, dt, 0.0)
        return k, t, active, started, it + 1, sums

    *_, sums = jax.lax.while_loop(lambda s: jnp.any(s[2]), body, state)
    return _Sums(*(jnp.sum(v) for v in sums[: 6 if timed else 2]))


def _bernoulli_estimate(successes, n) -> Estimate:
    m = successes / n
    se = jnp.where(n > 1, jnp.sqrt(m * (1 - m) / jnp.maximum(n - 1, 1)), jnp.inf)
    return Estimate(m, se)


def _mean_estimate(total, total2, n) -> Estimate:
    m = total / n
    var = jnp.maximum(total2 - n * m * m, 0.0) / jnp.maximum(n - 1, 1)
    return Estimate(m, jnp.where(n > 1, jnp.sqrt(var / n), jnp.inf))


def _ratio_from_sums(sy, sy2, sx, n) -> Estimate:
    """E[Y]/E[X] for X ∈ {0, 1} and Y = X·T; delta-method SE
    sqrt(Σ(Y - R X)²) / ΣX · sqrt(n/(n-1))."""
    ratio = sy / sx
    resid2 = jnp.maximum(sy2 - 2 * ratio * sy + ratio * ratio * sx, 0.0)
    se = jnp.sqrt(resid2 * n / jnp.maximum(n - 1, 1)) / sx
    return Estimate(ratio, jnp.where(n > 1, se, jnp.inf))


def _moran_step(N, r, *, timed: bool):
    """One move of the Moran chain with its idle steps skipped: from ``k``
    mutants the chain changes state with probability ``q = T⁺ + T⁻`` per
    birth–death step, so the number of steps to the next change is
    Geometric(q); the change is up with probability ``T⁺/q``."""
    def step(key, k):
        kf = k.astype(jnp.float64)
        total = r * kf + N - kf  # total fitness: reproducer chosen ∝ fitness
        up = r * kf / total * (N - kf) / N  # mutant reproduces, resident dies
        down = (N - kf) / total * kf / N  # resident reproduces, mutant dies
        q = up + down
        u = jax.random.uniform(key, (2,) + k.shape, jnp.float64)
        k_new = jnp.where(u[0] * q < up, k + 1, k - 1)
        if not timed:
            return k_new, jnp.zeros_like(kf)
        # Geometric(q) on {1, 2, ...} by inversion; 1 - u lies in (0, 1].
        qs = jnp.clip(q, 1e-300, 1.0)
        dt = jnp.where(qs >= 1.0, 1.0, jnp.floor(jnp.log1p(-u[1]) / jnp.log1p(-qs)) + 1.0)
        return k_new, dt

    return step


@functools.lru_cache(maxsize=None)
def _moran_kernel(trials: int, lanes: int, timed: bool):
    def run(key, N, r, i):
        N = jnp.asarray(N, jnp.float64)
        r = jnp.asarray(r, jnp.float64)
        return _restart_and_drain(key, _moran_step(N, r, timed=timed), jnp.asarray(i).astype(jnp.int32),
                                  N.astype(jnp.int32), trials, lanes, timed)

    return jax.jit(run)


def _moran_inputs(key, N, r, i, trials, lanes):
    if not _traced(N, r, i):
        N = _population(N)
        r = _fitness(r)
        i = _mutants(i, N)
    return _key(key) if not _traced(key) else key, N, r, i, _trials(trials), _lanes(lanes)


def simulate_moran(key, N, r, i=1, trials: int = 100_000, *, lanes: int = 2048) -> Estimate:
    r"""Monte-Carlo fixation probability of ``i`` mutants of relative fitness
    ``r`` in a Moran population of ``N`` (MATH.md D5).

    Simulates the Moran chain — a reproducer chosen with probability ∝ fitness,
    its offspring replacing a uniformly chosen individual — move by move (idle
    steps, which cannot change the outcome, are skipped) with restart and drain
    over ``lanes`` parallel lanes. Returns `Estimate` (fraction fixed, its
    binomial SE). Usable under `jax.jit`/`jax.vmap` with traced ``N, r, i``.
    """
    key, N, r, i, trials, lanes = _moran_inputs(key, N, r, i, trials, lanes)
    s = _moran_kernel(trials, lanes, False)(key, N, r, i)
    return _bernoulli_estimate(s.fixed, s.n)


def simulate_moran_times(key, N, r, i=1, trials: int = 100_000, *, lanes: int = 2048) -> MoranTimes:
    r"""Monte-Carlo mean absorption and conditional fixation times of the Moran
    chain from ``i`` mutants, in birth–death steps (MATH.md D6).

    The chain is simulated move by move; the birth–death steps between two moves
    (those where the reproducer and the replaced individual are of the same
    type) are drawn at once as a Geometric(:math:`T^+_k + T^-_k`) count, which
    has exactly the law of simulating them one by one. Restart and drain as in
    `simulate_moran`. Returns `MoranTimes` of `Estimate`s.
    """
    key, N, r, i, trials, lanes = _moran_inputs(key, N, r, i, trials, lanes)
    s = _moran_kernel(trials, lanes, True)(key, N, r, i)
    return MoranTimes(_mean_estimate(s.time, s.time2, s.n), _ratio_from_sums(s.time_fixed, s.time_fixed2, s.fixed, s.n))


def _wf_step(N, s, max_copies: int):
    """One Wright–Fisher generation on M = 2N gene copies: genic selection
    p' = p(1+s)/(1+ps), then the next count ~ Binomial(M, p').

    The binomial is sampled exactly by inversion: the count only takes the
    values 0..M, so the CDF of Binomial(M, p'_k) for every current count k is
    tabulated once (rows padded to ``max_copies``), and each draw is a binary
    search of one uniform in its row."""
    M = 2 * N
    size = max_copies + 1
    k = jnp.arange(size, dtype=jnp.float64)
    p = jnp.minimum(k / M, 1.0)
    # Rows 0 and M absorb and are never sampled; clipping keeps their logs finite.
    selected = jnp.clip(p * (1 + s) / (1 + p * s), 1e-300, 1 - 1e-16)
    j = k[None, :]
    valid = j <= M
    # log pmf(j) = M log(1-p') + sum_{l<j} log[(M-l)/(l+1) * p'/(1-p')]: the binomial
    # coefficients by a running sum of logs (cheaper to compile than log-gamma).
    step_log = jnp.log(jnp.maximum(M - k, 1.0)) - jnp.log(k + 1)
    log_coefficient = jnp.concatenate([jnp.zeros(1), jnp.cumsum(step_log)[:-1]])
    logpmf = (log_coefficient[None, :] + M * jnp.log1p(-selected)[:, None]
              + j * (jnp.log(selected) - jnp.log1p(-selected))[:, None])
    cdf = jnp.cumsum(jnp.where(valid, jnp.exp(logpmf), 0.0), axis=1)
    cdf = jnp.where(j >= M, 1.0, cdf)  # exactly 1 from the top count on: a draw never exceeds M
    steps = max(1, math.ceil(math.log2(size + 1)))  # halves hi - lo, from size to 1

    def step(key, k):
        u = jax.random.uniform(key, k.shape, jnp.float64)
        row = jnp.clip(k, 0, max_copies)
        lo = jnp.full(k.shape, -1, jnp.int32)  # cdf[lo] < u (virtually, cdf[-1] = 0)
        hi = jnp.full(k.shape, size - 1, jnp.int32)  # cdf[hi] >= u
        for _ in range(steps):
            mid = (lo + hi + 1) // 2  # lo < mid <= hi while hi - lo >= 1
            below = cdf[row, mid] < u
            lo = jnp.where(below, mid, lo)
            hi = jnp.where(below, hi, mid)
        return hi, jnp.ones(k.shape, jnp.float64)

    return step


@functools.lru_cache(maxsize=None)
def _wf_kernel(trials: int, lanes: int, max_copies: int):
    def run(key, N, s, k0):
        N = jnp.asarray(N, jnp.float64)
        s = jnp.asarray(s, jnp.float64)
        return _restart_and_drain(key, _wf_step(N, s, max_copies), jnp.asarray(k0).astype(jnp.int32),
                                  (2 * N).astype(jnp.int32), trials, lanes, False)

    return jax.jit(run)


def simulate_wright_fisher(key, N, s, p, trials: int = 100_000, *, lanes: int = 1024, max_N: int | None = None) -> Estimate:
    r"""Monte-Carlo fixation probability in a Wright–Fisher population of ``N``
    diploids (``2N`` gene copies) with genic selection ``s``, starting from
    frequency ``p`` (a whole number ``2Np`` of copies; MATH.md D4).

    Each generation: selection :math:`p' = p(1+s)/(1+ps)`, then the next
    generation's count is Binomial(2N, p') (exact inversion sampling). Restart
    and drain over ``lanes``. Returns `Estimate` (fraction fixed, binomial SE).

    Under `jax.jit`/`jax.vmap` (traced ``N``) pass ``max_N``, an upper bound of
    ``N`` that fixes the array shapes; ``p`` is then rounded to the nearest
    whole number of copies.
    """
    if not _traced(N, s, p):
        N = _population(N)
        s = _wf_selection(s)
        k0 = _copies(N, _frequency(p))
        if max_N is None:
            max_N = N
        max_N = _integer("max_N", max_N, minimum=1, what="an integer upper bound of `N` (>= 1)")
        if max_N < N:
            raise AssumptionError(f"`max_N` must be at least `N` = {N}, got {max_N!r}.")
    else:

        if max_N is None:
            raise AssumptionError(
                "`max_N` is required when `N` is traced (under jax.jit/jax.vmap): pass an upper bound of N, "
                "e.g. the largest value of its domain."
            )
        max_N = _integer("max_N", max_N, minimum=1, what="an integer upper bound of `N` (>= 1)")
        k0 = jnp.round(2 * jnp.asarray(N, jnp.float64) * p)
    key = _key(key) if not _traced(key) else key
    sums = _wf_kernel(_trials(trials), _lanes(lanes), 2 * max_N)(key, N, s, k0)
    return _bernoulli_estimate(sums.fixed, sums.n)


# --------------------------------------------------------------------------- quantitative genetics


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


def ratio_of_means(a, b) -> Estimate:
    r"""The ratio :math:`\hat R = \sum a / \sum b` of i.i.d. paired samples
    (first axis; ``a`` may carry trailing axes) with its delta-method standard
    error :math:`\sqrt{\sum (a - \hat R b)^2 \cdot n/(n-1)}\,/\,|\sum b|`."""
    a = jnp.asarray(a)
    b = jnp.asarray(b)
    n = b.shape[0]
    bx = b.reshape((n,) + (1,) * (a.ndim - 1))
    total = jnp.sum(b)
    ratio = jnp.sum(a, axis=0) / total
    se = jnp.sqrt(jnp.sum((a - ratio * bx) ** 2, axis=0) * n / (n - 1)) / jnp.abs(total)
    return Estimate(ratio, se)


def ratio_estimate(w, x) -> Estimate:
    r"""Fitness-weighted mean :math:`\sum w x / \sum w` of i.i.d. samples (first
    axis) with its delta-method standard error (`ratio_of_means` of ``w x`` and ``w``)."""
    w = jnp.asarray(w)
    x = jnp.asarray(x)
    return ratio_of_means(w.reshape((w.shape[0],) + (1,) * (x.ndim - 1)) * x, w)


def _psd_root(name, C, d: int):
    """A square root L with L Lᵀ = C for a covariance (scalar variance when d == 0)."""

    C = jnp.asarray(C, jnp.float64)
    if d == 0:
        if not _traced(C) and (C.ndim != 0 or float(C) < 0):
            raise AssumptionError(f"`{name}` must be a variance >= 0 (a scalar, like `zbar`), got {C!r}.")
        return jnp.sqrt(C)
    if C.shape != (d, d):
        raise AssumptionError(f"`{name}` must be a {d}x{d} covariance matrix (matching `zbar`), got shape {C.shape}.")
    if not _traced(C):
        Cn = np.asarray(C)
        if not np.allclose(Cn, Cn.T, rtol=0, atol=1e-12 * max(1.0, np.abs(Cn).max())) or np.linalg.eigvalsh(Cn).min() < -1e-12 * max(1.0, np.abs(Cn).max()):
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
    samples = _integer("samples", samples, minimum=2, what="an integer number of individuals >= 2")
    key = _key(key) if not _traced(key) else key
    zbar = jnp.asarray(zbar, jnp.float64)
    if zbar.ndim > 1:
        raise AssumptionError(f"`zbar` must be a scalar or a vector of trait means, got shape {zbar.shape}.")
    d = 0 if zbar.ndim == 0 else zbar.shape[0]
    LG, LE = _psd_root("G", G, d), _psd_root("E", E, d)
    return _gaussian_selection(key, zbar, LG, LE, tuple(jnp.asarray(a, jnp.float64) for a in args), samples, fitness)


@functools.partial(jax.jit, static_argnums=(5, 6))
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
    wbar = Estimate(jnp.mean(w), jnp.std(w, ddof=1) / jnp.sqrt(samples))
    deviation = P - zbar
    if zbar.ndim:
        h2 = Estimate(jnp.nan, jnp.nan)
    else:
        h2 = ratio_of_means(w * A, w * deviation)
    return Selection(wbar, ratio_estimate(w, deviation), ratio_estimate(w, A), h2)


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
    replicates = _integer("replicates", replicates, minimum=2, what="an integer number of replicates >= 2")
    key = _key(key) if not _traced(key) else key
    arrays = [jnp.atleast_1d(jnp.asarray(a, jnp.float64)) for a in (counts, fitness, z, z_offspring)]
    if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
        raise AssumptionError(
            "`counts`, `fitness`, `z` and `z_offspring` must be vectors of one length (one entry per type), "
            f"got shapes {[tuple(a.shape) for a in arrays]}."
        )
    counts, fitness, z, z_offspring = arrays
    if not _traced(counts, fitness, noise):
        c = np.asarray(counts)
        if np.any(c < 0) or np.any(c != np.round(c)) or c.sum() < 1:
            raise AssumptionError(f"`counts` must be whole numbers >= 0 with at least one parent, got {c.tolist()!r}.")
        if np.any(np.asarray(fitness) < 0):
            raise AssumptionError(
                f"`fitness` is a mean offspring number and must be >= 0, got {np.asarray(fitness).tolist()!r}."
            )
        if _real("noise", noise) < 0:
            raise AssumptionError(f"`noise` must be >= 0, got {noise!r}.")
        if max_count is None:
            max_count = int(c.max())
    if max_count is None:
        raise AssumptionError("`max_count` is required when `counts` are traced: pass an upper bound of the counts.")
    max_count = _integer("max_count", max_count, minimum=1, what="an integer upper bound of `counts` (>= 1)")
    return _offspring(key, counts, fitness, z, z_offspring, jnp.asarray(noise, jnp.float64), replicates, max_count)


@functools.partial(jax.jit, static_argnums=(6, 7))
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
    return Estimate(jnp.mean(values), jnp.std(values, ddof=1) / jnp.sqrt(replicates))
