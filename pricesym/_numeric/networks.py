r"""Finite fully connected networks, the references for the infinite-width kernels.

The network is neural-tangents' ``stax.serial(Dense(m, W_std, b_std), φ, …,
Dense(m, W_std, b_std), φ, Dense(1, W_std, b_std))`` (``depth`` hidden layers of
width m): in the NTK parametrisation each dense layer of fan-in n computes
:math:`h' = \frac{\sigma_w}{\sqrt n} W h + \sigma_b b` with W, b ~ N(0, 1); in the
standard one :math:`h' = W h + b` with :math:`W \sim \mathcal N(0, \sigma_w^2/n)`,
:math:`b \sim \mathcal N(0, \sigma_b^2)` (the parameters are W and b themselves).
Everything here draws random initialisations and differentiates the network with
JAX; nothing takes a kernel formula:

* `empirical_kernels`: per initialisation, the empirical NTK
  :math:`\hat\Theta(x,x') = J(x)\cdot J(x')` (``jax.jacrev``) and the empirical NNGP
  :math:`\hat K(x,x') = \sigma_w^2\,\varphi(h(x))\cdot\varphi(h(x'))/m + \sigma_b^2`, the
  covariance of the output over the readout layer's Gaussian weights given the
  hidden ones (its expectation is E[f(x) f(x')], with far less variance);
* `train_ensemble`: networks trained by full-batch gradient descent on
  :math:`L = \tfrac12\sum_i (f(x_i) - y_i)^2`, their outputs at test inputs;
* `price_flow`: :math:`\operatorname{ntcov}(f(x), U)` by ``jax.grad`` for
  :math:`U = -L` with targets :math:`y_i = f(x_i) + r_i`;
* with ``pool=units`` (one hidden layer, NTK parametrisation), the same three for
  networks cut from a pool of units (below): ``width`` is then data, not a shape.

One hidden layer, many networks at once: a pool of ``units`` hidden units (a
compile-time size) is cut into consecutive networks of ``width`` units each (the
width is data, so one compiled program serves every width): network n owns the units
n·m … (n+1)·m - 1 and its own readout bias, and computes
:math:`f_n(x) = \frac{\sigma_w}{\sqrt m}\sum_{i \in n} v_i\,\varphi(h_i(x)) + \sigma_b c_n`,
:math:`h_i(x) = \frac{\sigma_w}{\sqrt d} W_i\cdot x + \sigma_b b_i`. No parameter is
shared between networks, so ``jax.grad`` of :math:`\sum_n f_n(x)` holds, for each
parameter, the derivative of its own network's output, and per-network inner
products of gradients are segment sums over the units; likewise gradient descent on
:math:`\sum_n L_n` is gradient descent on each network separately.

Initialisations come in antithetic pairs where asked: the second network has the
readout layer's weights and bias negated, which flips f at initialisation and
leaves every kernel unchanged (the kernels are even in the readout layer).

The standard normal draws of the weights are generated at float32 resolution and
cast to float64 (2.5× faster on CPU, where drawing the weights dominates the cost of
these references): the law is N(0, 1) but for its tails beyond ≈ 5.4 standard
deviations (probability ~1e-7), a change of the second moment below 1e-6. Every
computation on the network is float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeGuard

import numpy as np

from .._errors import AssumptionError
from .backend import is_traced, jax, jnp
from .programs import jit

__all__ = ["pair_inputs", "init_network", "apply_network", "empirical_kernels", "train_ensemble", "price_flow",
           "empirical_gram"]


def pair_inputs(q11, q22, q12, dim: int = 2):
    """Two inputs in R^dim with x·x/d = q11, x'·x'/d = q22, x·x'/d = q12 (a network's
    kernels depend on the inputs only through these, its weights being rotation invariant)."""
    c = q12 / jnp.sqrt(q11 * q22)
    s = jnp.sqrt(jnp.maximum(1.0 - c * c, 0.0))
    first = jnp.zeros(dim).at[0].set(jnp.sqrt(dim * q11))
    second = jnp.zeros(dim).at[0].set(jnp.sqrt(dim * q22) * c).at[1].set(jnp.sqrt(dim * q22) * s)
    return jnp.stack([first, second])


_ABOVE_MINUS_ONE = np.nextafter(np.float32(-1.0), np.float32(0.0))


def _normal(key, shape):
    """Standard normal draws at float32 resolution, as float64: JAX's own transform
    (sqrt(2) erfinv(u), u uniform on (-1, 1) from the top 23 bits of a 32-bit word), fed by
    both 32-bit halves of each 64-bit threefry block. (jax.random's 32-bit draws spend a whole
    block on each word, XOR-ing its halves: twice the hashing, which dominates the cost of
    initialising an ensemble of networks.)"""
    size = math.prod(shape)
    blocks = jax.random.bits(key, ((size + 1) // 2,), jnp.uint64)
    words = jnp.concatenate([blocks >> 32, blocks & 0xFFFFFFFF]).astype(jnp.uint32)[:size]
    unit = jax.lax.bitcast_convert_type((words >> 9) | np.uint32(0x3F800000), jnp.float32) - 1.0  # [0, 1)
    u = jnp.maximum(_ABOVE_MINUS_ONE, 2.0 * unit - 1.0)
    return (np.float32(np.sqrt(2.0)) * jax.lax.erf_inv(u)).reshape(shape).astype(jnp.float64)


def _draw(key, shapes):
    """Standard normal arrays of the given shapes from one draw (one random-bit generator in
    the compiled program: each separate draw costs XLA ~0.1 s to compile)."""
    sizes = [math.prod(shape) for shape in shapes]
    flat = _normal(key, (sum(sizes),))
    out, start = [], 0
    for shape, size in zip(shapes, sizes):
        out.append(flat[start:start + size].reshape(shape))
        start += size
    return out


def init_network(key, dim: int, width: int, depth: int, *, W_std=1.0, b_std=0.0, parameterization: str = "ntk"):
    """Parameters ``[(W, b), …, (v, b_out)]`` of ``depth`` hidden layers of ``width`` units
    and a scalar readout. NTK parametrisation: standard normal entries; standard:
    W ~ N(0, W_std²/fan-in), b ~ N(0, b_std²)."""
    shapes = []
    for layer in range(depth + 1):
        out = 1 if layer == depth else width
        shapes += [(out, dim if layer == 0 else width), (out,)]
    draws = _draw(key, shapes)
    params, fan_in = [], dim
    for layer in range(depth + 1):
        W, b = draws[2 * layer], draws[2 * layer + 1]
        if parameterization == "standard":
            W, b = W * (W_std / jnp.sqrt(fan_in)), b * b_std
        params.append((W, b))
        fan_in = width
    return params


def apply_network(params, x, phi: Callable, W_std, b_std, parameterization: str = "ntk", *, hidden: bool = False):
    """f(x) for one input (the scalar output), or with ``hidden`` the last hidden layer's
    post-activations φ(h^depth(x))."""
    h = x
    for layer, (W, b) in enumerate(params):
        if parameterization == "standard":
            pre = W @ h + b
        else:
            pre = (W_std / jnp.sqrt(h.shape[0])) * (W @ h) + b_std * b
        if layer == len(params) - 1:
            return h if hidden else pre[0]
        h = phi(pre)
    return h  # pragma: no cover - the loop always returns


def _batch(batch, dim: int, width: int, depth: int) -> int:
    """Networks per vectorised batch: ``batch``, or as many as keep ~4M parameters (and their
    gradients) in memory at once."""
    if batch:
        return batch
    count = (depth - 1) * width * width + width * (dim + depth + 2) + 1
    return max(1, min(64, (1 << 22) // count))


def _flip_readout(params):
    (v, b_out) = params[-1]
    return [*params[:-1], (-v, -b_out)]


@jit(static_argnames=("phi", "depth", "width", "seeds", "parameterization", "batch"))
def _empirical_kernels(phi, xs, W_std, b_std, key, *, depth: int, width: int, seeds: int,
                      parameterization: str = "ntk", batch: int | None = None):
    """Empirical NNGP and NTK of ``seeds`` random initialisations at the inputs ``xs``
    (2, d): arrays ``(nngp, ntk)`` of shape (seeds, 3) holding the (x,x), (x',x') and
    (x,x') entries. The NTK is J(x)·J(x') with J = ``jax.jacrev`` of the outputs with
    respect to all parameters."""
    dim = xs.shape[1]

    def one(k):
        params = init_network(k, dim, width, depth, W_std=W_std, b_std=b_std, parameterization=parameterization)
        jac = jax.jacrev(lambda p: jax.vmap(lambda x: apply_network(p, x, phi, W_std, b_std, parameterization))(xs))(params)
        gram = sum(jnp.einsum("i...,j...->ij", leaf, leaf) for leaf in jax.tree_util.tree_leaves(jac))
        feats = jax.vmap(lambda x: apply_network(params, x, phi, W_std, b_std, parameterization, hidden=True))(xs)
        # the same in both parametrisations: the readout's output covariance given the features
        nngp = W_std**2 * feats @ feats.T / width + b_std**2
        pick = lambda g: jnp.stack([g[0, 0], g[1, 1], g[0, 1]])
        return pick(nngp), pick(gram)

    return jax.lax.map(one, jax.random.split(key, seeds), batch_size=_batch(batch, dim, width, depth))


@jit(static_argnames=("phi", "depth", "width", "parameterization"))
def empirical_gram(phi, x1, x2, W_std, b_std, key, *, depth: int, width: int, parameterization: str = "ntk"):
    """Empirical NTK Gram matrix (N1, N2) of one random initialisation (``jax.jacrev``)."""
    params = init_network(key, x1.shape[1], width, depth, W_std=W_std, b_std=b_std, parameterization=parameterization)

    def outputs(p, xs):
        return jax.vmap(lambda x: apply_network(p, x, phi, W_std, b_std, parameterization))(xs)

    j1 = jax.jacrev(outputs)(params, x1)
    j2 = jax.jacrev(outputs)(params, x2)
    return sum(jnp.einsum("i...,j...->ij", a, b) for a, b in zip(jax.tree_util.tree_leaves(j1), jax.tree_util.tree_leaves(j2)))


@jit(static_argnames=("phi", "depth", "width", "pairs", "steps", "batch"))
def _train_ensemble(phi, x_train, y_train, x_test, W_std, b_std, lr, time, key, *, depth: int, width: int, pairs: int,
                   steps: int, batch: int | None = None):
    r"""Outputs at ``x_test`` of 2·``pairs`` networks (antithetic pairs, NTK parametrisation)
    after gradient descent on :math:`L = \tfrac12\sum_i (f(x_i) - y_i)^2` for time
    ``time`` at learning rate ``lr``: ``steps`` steps of size lr·time/steps, so that
    the flow :math:`\dot w = -\eta\nabla L` is followed to O(1/steps). Shape (pairs, 2, n_test):
    ``[:, 0]`` are independent networks, ``[:, 1]`` their antithetic twins."""
    dim = x_train.shape[1]
    step = lr * time / steps

    def loss(p):
        out = jax.vmap(lambda x: apply_network(p, x, phi, W_std, b_std))(x_train)
        return 0.5 * jnp.sum((out - y_train) ** 2)

    def train(p):
        descend = lambda _, q: jax.tree_util.tree_map(lambda a, g: a - step * g, q, jax.grad(loss)(q))
        p = jax.lax.fori_loop(0, steps, descend, p)
        return jax.vmap(lambda x: apply_network(p, x, phi, W_std, b_std))(x_test)

    def one(k):
        params = init_network(k, dim, width, depth)
        return jnp.stack([train(params), train(_flip_readout(params))])

    return jax.lax.map(one, jax.random.split(key, pairs), batch_size=min(32, _batch(batch, dim, width, depth)))


@jit(static_argnames=("phi", "depth", "width", "seeds", "batch"))
def _price_flow(phi, x, x_train, residuals, W_std, b_std, key, *, depth: int, width: int, seeds: int,
               batch: int | None = None):
    r""":math:`\operatorname{ntcov}(f(x), U) = \nabla_w f(x)\cdot\nabla_w U` for ``seeds``
    random networks (NTK parametrisation), with :math:`U = -\tfrac12\sum_i (f(x_i) - y_i)^2`
    and targets :math:`y_i = f(x_i) + r_i` set from each network's own outputs, so that
    every network sees the residuals ``residuals``. Shape (seeds,)."""
    dim = x.shape[0]

    def one(k):
        params = init_network(k, dim, width, depth)
        f = lambda p, inp: apply_network(p, inp, phi, W_std, b_std)
        targets = jax.vmap(lambda xi: f(params, xi))(x_train) + residuals
        utility = lambda p: -0.5 * jnp.sum((jax.vmap(lambda xi: f(p, xi))(x_train) - targets) ** 2)
        grads = jax.tree_util.tree_leaves(jax.grad(f)(params, x)), jax.tree_util.tree_leaves(jax.grad(utility)(params))
        return sum(jnp.vdot(a, b) for a, b in zip(*grads))

    return jax.lax.map(one, jax.random.split(key, seeds), batch_size=_batch(batch, dim, width, depth))


# ----------------------------------------------------------------------------- one hidden layer, a pool of units


def _pool(key, units: int, dim: int, networks: int) -> dict:
    """Parameters of a pool of ``units`` hidden units and ``networks`` readout biases (one draw)."""
    W, b, v, c = _draw(key, [(units, dim), (units,), (units,), (networks,)])
    return {"W": W, "b": b, "v": v, "c": c}


def _pool_hidden(p, x, phi, W_std, b_std):
    """φ(h_i(x)) of every unit of the pool."""
    return phi((W_std / math.sqrt(p["W"].shape[1])) * (p["W"] @ x) + b_std * p["b"])


def _pool_outputs(p, x, phi, W_std, b_std, width, owner, granule: int):
    """f_n(x) of every network of the pool: shape (networks,)."""
    feats = _pool_hidden(p, x, phi, W_std, b_std)
    readout = _by_network(p["v"] * feats, owner, p["c"].shape[0], granule)
    return W_std * jax.lax.rsqrt(jnp.asarray(width, jnp.float64)) * readout + b_std * p["c"]


def _pool_dot(g, h, owner, networks: int, granule: int):
    """Per-network inner products of two gradients (pytrees like `_pool`'s)."""
    per_unit = jnp.sum(g["W"] * h["W"], axis=1) + g["b"] * h["b"] + g["v"] * h["v"]
    return _by_network(per_unit, owner, networks, granule) + g["c"] * h["c"]


_GRANULE = 16


def _granule(units: int, width) -> int:
    """Units summed densely before the per-network sums: the largest power of two up to 16
    dividing the pool and the width (a network is then a run of whole granules), 1 for a
    traced width. XLA's CPU scatter costs about as much per element as the rest of a
    gradient step, so summing granules first makes a trained pool ~2.5x faster."""
    if is_traced(width):
        return 1
    return math.gcd(units, int(width), _GRANULE)


def _owner(units: int, width, granule: int):
    """The network of each granule of ``granule`` consecutive units: i·granule // width
    (units past the last whole network form a partial one, which callers leave out: they
    use the first ``units // width`` networks)."""
    return jnp.arange(units // granule) * granule // jnp.asarray(width, jnp.int32)


def _by_network(values, owner, networks: int, granule: int):
    """Sums of per-unit ``values`` over each network's units: dense over each granule, then
    one segment sum per granule."""
    return jax.ops.segment_sum(values.reshape(-1, granule).sum(axis=1), owner, num_segments=networks,
                               indices_are_sorted=True)


@jit(static_argnames=("phi", "units", "networks", "granule"))
def _pool_kernels(phi, xs, W_std, b_std, width, key, *, units: int, networks: int, granule: int = 1):
    """Empirical NNGP and NTK at the inputs ``xs`` (2, d) of networks of one hidden layer of
    ``width`` units (traced) cut from a pool of ``units``: arrays ``(nngp, ntk)`` of shape
    (networks, 3) with the (x,x), (x',x') and (x,x') entries; rows past ``units // width``
    are not whole networks. The NTK is ∇f(x)·∇f(x') (``jax.grad``, every parameter); the
    NNGP the readout's output covariance given the hidden layer, as in `empirical_kernels`."""
    p = _pool(key, units, xs.shape[1], networks)
    owner = _owner(units, width, granule)
    grads = [jax.grad(lambda q, x=x: jnp.sum(_pool_outputs(q, x, phi, W_std, b_std, width, owner, granule)))(p)
             for x in xs]
    feats = [_pool_hidden(p, x, phi, W_std, b_std) for x in xs]
    pairs = ((0, 0), (1, 1), (0, 1))
    nngp = [W_std**2 * _by_network(feats[i] * feats[j], owner, networks, granule) / width + b_std**2 for i, j in pairs]
    ntk = [_pool_dot(grads[i], grads[j], owner, networks, granule) for i, j in pairs]
    return jnp.stack(nngp, axis=1), jnp.stack(ntk, axis=1)


@jit(static_argnames=("phi", "units", "networks", "granule"))
def _pool_price_flow(phi, x, x_train, residuals, W_std, b_std, width, key, *, units: int, networks: int,
                     granule: int = 1):
    r""":math:`\operatorname{ntcov}(f(x), U) = \nabla_w f(x)\cdot\nabla_w U` (``jax.grad`` of
    both) of the networks of one hidden layer of ``width`` units (traced) cut from a pool of
    ``units``, with :math:`U = -\tfrac12\sum_i (f(x_i) - y_i)^2` and targets
    :math:`y_i = f(x_i) + r_i` from each network's own outputs. Shape (networks,)."""
    p = _pool(key, units, x.shape[0], networks)
    owner = _owner(units, width, granule)
    f = lambda q, inp: _pool_outputs(q, inp, phi, W_std, b_std, width, owner, granule)
    targets = jax.lax.stop_gradient(jnp.stack([f(p, xi) for xi in x_train]) + residuals[:, None])
    utility = lambda q: -0.5 * jnp.sum((jnp.stack([f(q, xi) for xi in x_train]) - targets) ** 2)
    return _pool_dot(jax.grad(lambda q: jnp.sum(f(q, x)))(p), jax.grad(utility)(p), owner, networks, granule)


@jit(static_argnames=("phi", "units", "networks", "steps", "granule"))
def _pool_train(phi, x_train, y_train, x_test, W_std, b_std, lr, time, width, key, *, units: int, networks: int,
               steps: int, granule: int = 1):
    r"""Outputs at ``x_test`` of networks of one hidden layer of ``width`` units (traced) after
    gradient descent on :math:`L_n = \tfrac12\sum_i (f_n(x_i) - y_i)^2`, as `train_ensemble`:
    ``steps`` steps of size lr·time/steps. The pool holds ``networks`` antithetic pairs of
    ``units`` units each (the twin has the readout negated). Shape (networks, 2, n_test);
    rows past ``units // width`` are not whole networks."""
    base = _pool(key, units, x_train.shape[1], networks)
    p = {"W": jnp.concatenate([base["W"]] * 2), "b": jnp.concatenate([base["b"]] * 2),
         "v": jnp.concatenate([base["v"], -base["v"]]), "c": jnp.concatenate([base["c"], -base["c"]])}
    owner = _owner(units, width, granule)
    owner = jnp.concatenate([owner, owner + networks])
    step = lr * time / steps

    def outputs(q, xs):
        return jnp.stack([_pool_outputs(q, x, phi, W_std, b_std, width, owner, granule) for x in xs], axis=-1)

    loss = lambda q: 0.5 * jnp.sum((outputs(q, x_train) - y_train) ** 2)
    descend = lambda _, q: jax.tree_util.tree_map(lambda a, g: a - step * g, q, jax.grad(loss)(q))
    p = jax.lax.fori_loop(0, steps, descend, p)
    return outputs(p, x_test).reshape(2, networks, -1).transpose(1, 0, 2)


def _pooled(pool: int | None, depth: int, parameterization: str = "ntk") -> TypeGuard[int]:
    if pool is None:
        return False
    if depth != 1 or parameterization != "ntk":
        raise AssumptionError(f"`pool` networks have one hidden layer (depth 1) in the NTK parametrisation, got depth "
                              f"{depth!r}, {parameterization!r}.")
    return True


def empirical_kernels(phi, xs, W_std, b_std, key, *, depth: int, width, seeds: int, parameterization: str = "ntk",
                      batch: int | None = None, pool: int | None = None):
    """Empirical NNGP and NTK of ``seeds`` random initialisations at the inputs ``xs`` (2, d):
    arrays ``(nngp, ntk)`` of shape (seeds, 3) holding the (x,x), (x',x') and (x,x') entries
    (``jax.jacrev`` of the outputs, contracted). With ``pool=units`` (depth 1): the networks of
    ``width`` units (data, one compiled program for every width) cut from a pool of that many
    units, ``seeds`` rows of which the first ``units // width`` are whole networks (``jax.grad``)."""
    if _pooled(pool, depth, parameterization):
        return _pool_kernels(phi, xs, W_std, b_std, width, key, units=pool, networks=seeds,
                             granule=_granule(pool, width))
    return _empirical_kernels(phi, xs, W_std, b_std, key, depth=depth, width=width, seeds=seeds,
                              parameterization=parameterization, batch=batch)


def train_ensemble(phi, x_train, y_train, x_test, W_std, b_std, lr, time, key, *, depth: int, width, pairs: int,
                   steps: int, batch: int | None = None, pool: int | None = None):
    r"""Outputs at ``x_test`` of 2·``pairs`` networks (antithetic pairs, NTK parametrisation)
    after ``steps`` gradient-descent steps of size lr·time/steps on
    :math:`L = \tfrac12\sum_i (f(x_i) - y_i)^2`: shape (pairs, 2, n_test), ``[:, 0]``
    independent networks, ``[:, 1]`` their antithetic twins. With ``pool=units`` (depth 1):
    networks of ``width`` units (data) cut from a pool of that many units per member, the
    first ``units // width`` of the ``pairs`` rows being whole networks."""
    if _pooled(pool, depth):
        return _pool_train(phi, x_train, y_train, x_test, W_std, b_std, lr, time, width, key, units=pool,
                           networks=pairs, steps=steps, granule=_granule(pool, width))
    return _train_ensemble(phi, x_train, y_train, x_test, W_std, b_std, lr, time, key, depth=depth, width=width,
                           pairs=pairs, steps=steps, batch=batch)


def price_flow(phi, x, x_train, residuals, W_std, b_std, key, *, depth: int, width, seeds: int,
               batch: int | None = None, pool: int | None = None):
    r""":math:`\operatorname{ntcov}(f(x), U) = \nabla_w f(x)\cdot\nabla_w U` (``jax.grad``) of
    ``seeds`` random networks, :math:`U = -\tfrac12\sum_i (f(x_i) - y_i)^2` with targets
    :math:`y_i = f(x_i) + r_i` from each network's own outputs: shape (seeds,). With
    ``pool=units`` (depth 1): networks of ``width`` units (data) cut from a pool of that many
    units, the first ``units // width`` of the ``seeds`` values being whole networks."""
    if _pooled(pool, depth):
        return _pool_price_flow(phi, x, x_train, residuals, W_std, b_std, width, key, units=pool, networks=seeds,
                                granule=_granule(pool, width))
    return _price_flow(phi, x, x_train, residuals, W_std, b_std, key, depth=depth, width=width, seeds=seeds,
                       batch=batch)
