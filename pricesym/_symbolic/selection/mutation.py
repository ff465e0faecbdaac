r"""Mutation laws :math:`P_m` (mean zero, symmetric): `Gaussian` (isotropic),
`AnisotropicGaussian` (:math:`\Sigma_m`), `Radial` (any radially symmetric density).
Each gives its covariance (SymPy) and a JAX sampler (for simulation)."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from ..._errors import AssumptionError, NotSupportedError, ShapeError
from .params import is_traced, numeric_param, positive, sym

__all__ = ["MutationLaw", "Gaussian", "AnisotropicGaussian", "Radial"]


@dataclasses.dataclass(frozen=True)
class MutationLaw:
    """A law :math:`P_m` of the mutation :math:`\\epsilon` (mean zero, symmetric)."""

    def covariance(self, n: int) -> sp.Matrix:
        raise NotImplementedError

    def sample(self, key, shape: tuple[int, ...], n: int):
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Gaussian(MutationLaw):
    r"""Isotropic Gaussian mutation :math:`\epsilon \sim \mathcal N(0, \sigma^2 I_n)`."""

    sigma: Any = sp.Symbol("sigma", positive=True)

    def __post_init__(self):
        positive("sigma", self.sigma)

    def covariance(self, n: int) -> sp.Matrix:
        return sym(self.sigma) ** 2 * sp.eye(n)

    def sample(self, key, shape, n):
        import jax

        return numeric_param("sigma", self.sigma) * jax.random.normal(key, (*shape, n))


@dataclasses.dataclass(frozen=True)
class AnisotropicGaussian(MutationLaw):
    r"""Correlated Gaussian mutation :math:`\epsilon \sim \mathcal N(0, \Sigma_m)`;
    ``Sigma`` symmetric positive semi-definite (SymPy Matrix, nested sequence, or a
    JAX/NumPy array inside a reference)."""

    Sigma: Any = None

    def __post_init__(self):
        S = self.Sigma
        if S is None:
            raise AssumptionError("`Sigma` (the mutation covariance) is required.")
        if is_traced(S):
            return
        if isinstance(S, sp.MatrixBase) or isinstance(S, (list, tuple)):
            M = sp.Matrix(S)
            if M.rows != M.cols:
                raise ShapeError(f"`Sigma` must be square, got shape {M.shape}.")
            if (M - M.T).applyfunc(sp.expand) != sp.zeros(*M.shape):
                raise AssumptionError(f"`Sigma` must be symmetric, got {M.tolist()!r}.")
            object.__setattr__(self, "Sigma", sp.ImmutableMatrix(M))
            if all(e.is_number for e in M):
                arr = np.asarray(M.tolist(), dtype=float)
            else:
                return
        else:
            arr = np.asarray(S, dtype=float)
            if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
                raise ShapeError(f"`Sigma` must be a square matrix, got shape {arr.shape}.")
            if not np.allclose(arr, arr.T):
                raise AssumptionError(f"`Sigma` must be symmetric, got {arr.tolist()!r}.")
        if np.linalg.eigvalsh(arr).min() < -1e-12 * max(1.0, np.abs(arr).max()):
            raise AssumptionError(f"`Sigma` must be positive semi-definite (a covariance), got {arr.tolist()!r}.")

    def covariance(self, n: int) -> sp.Matrix:
        M = sp.Matrix(self.Sigma)
        if M.shape != (n, n):
            raise ShapeError(f"`Sigma` is {M.shape[0]}x{M.shape[1]} but the gradient has {n} components.")
        return M

    def sample(self, key, shape, n):
        import jax
        import jax.numpy as jnp

        S = self.Sigma
        S = jnp.asarray(np.asarray(S.tolist(), dtype=float) if isinstance(S, sp.MatrixBase) else S)
        if S.shape != (n, n):
            raise ShapeError(f"`Sigma` has shape {S.shape} but the genome has {n} components.")
        # eigh, not Cholesky: a semi-definite Sigma (a direction without mutation) is allowed.
        w, V = jnp.linalg.eigh(S)
        root = V * jnp.sqrt(jnp.clip(w, 0.0, None))
        return jax.random.normal(key, (*shape, n)) @ root.T


@dataclasses.dataclass(frozen=True)
class Radial(MutationLaw):
    r"""A radially symmetric mutation law :math:`P_m(\epsilon) = g(\lvert\epsilon\rvert)`
    in :math:`\mathbb R^n` (B0.3), with ``density`` :math:`g` a SymPy expression in
    ``r`` supported on :math:`[0, \text{upper})`. ``radius`` optionally samples the
    radius in JAX (``radius(key, shape)``), for simulation.

    Normalisation :math:`A_{n-1}\int_0^{\text{upper}} g(r) r^{n-1}\,dr = 1` is
    checked, with :math:`A_{n-1} = 2\pi^{n/2}/\Gamma(n/2)` the area of the unit sphere."""

    density: sp.Expr = None
    r: sp.Symbol = sp.Symbol("r", positive=True)
    n: int = 3
    upper: Any = sp.oo
    radius: Callable | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self):
        if not isinstance(self.n, numbers.Integral) or isinstance(self.n, bool) or self.n < 2:
            raise AssumptionError(f"`n` (the dimension) must be an integer >= 2, got {self.n!r}.")
        if not isinstance(self.density, sp.Basic):
            raise AssumptionError(f"`density` must be a SymPy expression in `r`, got {self.density!r}.")
        total = self.moment(0)
        if total.is_number and abs(float(total) - 1) > 1e-12:
            raise AssumptionError(
                f"`density` must integrate to 1 over R^{self.n} (A_(n-1) * integral g(r) r^(n-1) dr = 1), "
                f"but it integrates to {total!r}."
            )

    def moment(self, k: int) -> sp.Expr:
        r""":math:`\mathbb E_m[r^k] = A_{n-1}\int g(r)\,r^{n-1+k}\,dr`."""
        n = self.n
        area = 2 * sp.pi ** sp.Rational(n, 2) / sp.gamma(sp.Rational(n, 2))
        return sp.factor(area * sp.integrate(self.density * self.r ** (n - 1 + k), (self.r, 0, self.upper)))

    def covariance(self, n: int) -> sp.Matrix:
        if n != self.n:
            raise ShapeError(f"the radial law lives in R^{self.n} but the gradient has {n} components.")
        return self.moment(2) / n * sp.eye(n)

    def sample(self, key, shape, n):
        import jax
        import jax.numpy as jnp

        if self.radius is None:
            raise NotSupportedError("this `Radial` law has no `radius` sampler; pass `radius=` to simulate it.")
        if n != self.n:
            raise ShapeError(f"the radial law lives in R^{self.n} but the genome has {n} components.")
        k1, k2 = jax.random.split(key)
        z = jax.random.normal(k1, (*shape, n))
        direction = z / jnp.linalg.norm(z, axis=-1, keepdims=True)
        return self.radius(k2, shape)[..., None] * direction

    @classmethod
    def ball(cls, R=sp.Symbol("R", positive=True), n: int = 3) -> Radial:
        r"""Uniform in the ball of radius R: :math:`g = 1/V_n(R)` on :math:`[0, R)`.

        ``R`` may be a JAX value (inside a reference): the sampler uses it and the
        density keeps the symbol R."""
        positive("R", R)
        Rs = sp.Symbol("R", positive=True) if is_traced(R) else sym(R)
        volume = sp.pi ** sp.Rational(n, 2) / sp.gamma(sp.Rational(n, 2) + 1) * Rs**n

        def radius(key, shape):
            import jax

            return numeric_param("R", R) * jax.random.uniform(key, shape) ** (1.0 / n)

        return cls(density=1 / volume, n=n, upper=Rs, radius=radius)

    @classmethod
    def gaussian(cls, sigma=sp.Symbol("sigma", positive=True), n: int = 3) -> Radial:
        r""":math:`\mathcal N(0, \sigma^2 I_n)` written as a radial law."""
        positive("sigma", sigma)
        s = sp.Symbol("sigma", positive=True) if is_traced(sigma) else sym(sigma)
        r = sp.Symbol("r", positive=True)

        def radius(key, shape):
            import jax
            import jax.numpy as jnp

            return numeric_param("sigma", sigma) * jnp.linalg.norm(jax.random.normal(key, (*shape, n)), axis=-1)

        return cls(density=(2 * sp.pi * s**2) ** sp.Rational(-n, 2) * sp.exp(-r**2 / (2 * s**2)), r=r, n=n, radius=radius)
