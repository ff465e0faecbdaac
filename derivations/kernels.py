r"""Infinite-width kernels (MATH.md Part K): the dual kernels of the activations, the
NNGP/NTK recursion of a fully connected network, gradient flow on MSE at infinite
width, and Price's equation in that limit.

Conventions are neural-tangents' ``stax`` (NTK parametrisation): ``depth`` hidden
layers ``Dense(m, σ_w, σ_b), φ`` and a readout ``Dense(1, σ_w, σ_b)``; inputs
enter through :math:`q_{11} = x\cdot x/d`, :math:`q_{22} = x'\cdot x'/d`,
:math:`q_{12} = x\cdot x'/d`. Every closed form is checked two ways that never
evaluate it: quadrature of the Gaussian expectations that define it, and random
finite networks (autodiff of the network, or gradient descent on it) of growing
width.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

import pricesym as ps
from pricesym import kernels as K
from pricesym.numeric import Estimate, jit

CHO_SAUL = "Cho, Y. & Saul, L. K. (2009). Kernel methods for deep learning. NeurIPS 22."
WILLIAMS = "Williams, C. K. I. (1997). Computing with infinite networks. NeurIPS 9."
LEE_2018 = ("Lee, J., Bahri, Y., Novak, R., Schoenholz, S. S., Pennington, J. & Sohl-Dickstein, J. (2018). Deep neural "
            "networks as Gaussian processes. ICLR; arXiv:1711.00165.")
JACOT = ("Jacot, A., Gabriel, F. & Hongler, C. (2018). Neural Tangent Kernel: convergence and generalization in neural "
         "networks. NeurIPS; arXiv:1806.07572.")
ARORA = ("Arora, S., Du, S. S., Hu, W., Li, Z., Salakhutdinov, R. & Wang, R. (2019). On exact computation with an "
         "infinitely wide neural net. NeurIPS; arXiv:1904.11955.")
LEE_2019 = ("Lee, J., Xiao, L., Schoenholz, S. S., Bahri, Y., Novak, R., Sohl-Dickstein, J. & Pennington, J. (2019). Wide "
            "neural networks of any depth evolve as linear models under gradient descent. NeurIPS; arXiv:1902.06720.")
NOVAK = ("Novak, R., Xiao, L., Hron, J., Lee, J., Alemi, A. A., Sohl-Dickstein, J. & Schoenholz, S. S. (2020). Neural "
         "Tangents: fast and easy infinite neural networks in Python. ICLR; arXiv:1912.02803.")
PRICE_1958 = "Price, R. (1958). A useful theorem for nonlinear devices having Gaussian inputs. IRE Trans. Inf. Theory 4:69-72."
TAILCALLED = 'tailcalled (2022), "Price\'s equation for neural networks", LessWrong.'

# The 2x2 covariance of a Gaussian pair, through its correlation rho (so that it is positive definite).
k11, k22 = sp.symbols("k11 k22", positive=True)
rho, k12 = sp.Symbol("rho", real=True), sp.Symbol("k12", real=True)
theta = sp.Symbol("theta", positive=True)  # arccos(rho), the angle of the arc-cosine kernels
# The inputs x·x/d, x'·x'/d, x·x'/d (the API's names), through the inputs' correlation r.
q11, q22, q12 = K.INPUTS
r = sp.Symbol("r", real=True)
sigma_w, sigma_b = K.SIGMA_W, K.SIGMA_B
inverse_width = sp.Symbol("inverse_width", positive=True)  # 1/m, the small parameter of the order checks


def _layer_symbols(index: int) -> K.Layer:
    """Symbols for layer ``index``: K(x,x), K(x',x'), K(x,x') and Θ(x,x')."""
    names = [f"K{index}_11", f"K{index}_22", f"K{index}_12", f"Theta{index}"]
    return K.Layer(index, *(sp.Symbol(n, positive=True) if i < 2 else sp.Symbol(n, real=True) for i, n in enumerate(names)))


def _layer_notation(layer: K.Layer) -> dict:
    l = layer.index
    return {layer.k11: r"K^{(%d)}(x, x)" % l, layer.k22: r"K^{(%d)}(x', x')" % l, layer.k12: r"K^{(%d)}(x, x')" % l,
            layer.ntk: r"\Theta^{(%d)}(x, x')" % l}


def _layer_observables(symbols: K.Layer, exprs: K.Layer) -> dict:
    return {symbols.k11: exprs.k11, symbols.k22: exprs.k22, symbols.k12: exprs.k12, symbols.ntk: exprs.ntk}


def _layer_steps(symbols: K.Layer, exprs: K.Layer, why: str) -> list:
    return [ps.Step(lhs=symbols.k12, rhs=exprs.k12, why=why),
            ps.Step(lhs=symbols.k11, rhs=exprs.k11, why=r"the same at $x' = x$ (the diagonal form)"),
            ps.Step(lhs=symbols.ntk, rhs=exprs.ntk, why=r"$\Theta^{(l+1)} = K^{(l+1)} + \sigma_w^2\,\Theta^{(l)}\,"
                                                         r"\mathbb E[\varphi'(u)\varphi'(v)]$")]


def network_layers(name: str, depth: int):
    """(layer symbols, layer expressions in the previous layer's symbols) for 1 … depth + 1,
    built by the API's single steps of the recursion (`input_layer`, `next_layer`)."""
    act = K.activation(name)
    symbols = [_layer_symbols(l) for l in range(1, depth + 2)]
    exprs = [K.input_layer(sigma_w, sigma_b, (q11, q22, q12))]
    for l in range(depth):
        exprs.append(K.next_layer(act, symbols[l], sigma_w, sigma_b))
    return symbols, exprs


COVARIANCE = {k11: ps.uniform(0.2, 3.0), k22: ps.uniform(0.2, 3.0), rho: ps.uniform(-0.95, 0.95)}
NETWORK = {q11: ps.uniform(0.4, 1.6), q22: ps.uniform(0.4, 1.6), r: ps.uniform(-0.9, 0.9),
           sigma_w: ps.uniform(0.8, 1.6), sigma_b: ps.uniform(0.1, 0.6)}
# Finite-network checks compare absolute errors: inputs positively correlated and biases on,
# so that no kernel entry is close to zero (where a relative comparison says little).
WIDE = {r: ps.uniform(0.2, 0.9), sigma_b: ps.uniform(0.2, 0.6)}
PAIR_OBSERVABLES = {k12: rho * sp.sqrt(k11 * k22), theta: sp.acos(rho), q12: r * sp.sqrt(q11 * q22)}


# ----------------------------------------------------------------------------- references


@functools.cache
def _phi(name: str):
    """The activation as the model computes it (the vocabulary's JAX implementation)."""
    return K.activation(name).jax()


def _pair_xs(x) -> np.ndarray:
    """Two inputs in R^2 with x·x/d = q11, x'·x'/d = q22, x·x'/d = q12 (NumPy, outside any jit)."""
    c = x["q12"] / np.sqrt(x["q11"] * x["q22"])
    return np.array([[np.sqrt(2 * x["q11"]), 0.0],
                     [np.sqrt(2 * x["q22"]) * c, np.sqrt(2 * x["q22"] * max(1 - c * c, 0.0))]])


def _estimate(samples) -> Estimate:
    """Mean and standard error of i.i.d. samples (first axis), in NumPy: outside any jit, JAX
    would compile each small reduction."""
    samples = np.asarray(samples, dtype=np.float64)
    return Estimate(samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(len(samples)))


def _quadrature_reference(name: str, depth: int, duals: bool = True):
    """Reference of the parts, all by polar Gauss–Legendre quadrature of the defining
    Gaussian expectations (one instance, traceable: the check vmaps it over its instances):
    with ``duals`` the two dual kernels and the NNGP and NTK of layers 2 … depth + 1, else
    those of the last layer only."""
    phi = _phi(name)
    dphi = K.elementwise_derivative(phi)

    def reference(x):
        nngp, ntk = K.kernels_by_quadrature(phi, x["q11"], x["q22"], x["q12"], x["sigma_w"], x["sigma_b"], depth)
        out = [v for l in range(1 if duals else depth, depth + 1) for v in (nngp[l], ntk[l])]
        if duals:
            out = [K.polar_expectation(phi, phi, x["k11"], x["k22"], x["k12"]),
                   K.polar_expectation(dphi, dphi, x["k11"], x["k22"], x["k12"]), *out]
        return jnp.stack(out)

    return reference


def _empirical(name: str, x, key, *, depth: int, width: int, seeds: int):
    """Empirical NNGP and NTK at (x, x') of ``seeds`` random networks: arrays (seeds,)."""
    nngp, ntk = K.empirical_kernels(_phi(name), _pair_xs(x), x["sigma_w"], x["sigma_b"], key, depth=depth, width=width,
                                    seeds=seeds)
    return np.asarray(nngp[:, 2]), np.asarray(ntk[:, 2])


def _monte_carlo_reference(name: str, *, depth: int, width: int, seeds: int):
    def reference(x, key):
        nngp, ntk = _empirical(name, x, key, depth=depth, width=width, seeds=seeds)
        return _estimate(np.stack([nngp, ntk], axis=1))

    return reference


# Depth-1 networks are cut from one pool of POOL hidden units (`empirical_kernels(..., pool=POOL)`), the width being
# data: a single compiled program serves the mean check and every width of the order check.
POOL = 1 << 17
FLUCTUATION_WIDTHS = (16, 128, 1024, 8192)  # the widest: POOL / 8192 = 16 networks
BLOCKS = 16  # networks (antithetic pairs when trained) per width in the order checks
# The depth-1 fluctuation checks draw large biases: an error in the closed form flattens the
# fitted slope only where it stands above the fluctuation of the widest networks (~0.02); a
# missing sigma_b^2 (>= 0.2 here, >= 0.04 on WIDE) then does.
FLUCTUATION_DOMAINS = {**WIDE, sigma_b: ps.uniform(0.45, 0.6)}
DEPTH1_WIDTH, DEPTH1_BATCHES = 512, 4  # the mean check: 4 pools of 256 networks of width 512
ENSEMBLE_WIDTHS = (64, 512, 4096)  # trained networks; the widest: POOL / 2 / 4096 = 16 pairs


def _pool_empirical(name: str, x, key, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, x') entries of the empirical NNGP and NTK of the POOL // width depth-1 networks of a pool."""
    nngp, ntk = K.empirical_kernels(_phi(name), _pair_xs(x), x["sigma_w"], x["sigma_b"], key, depth=1, width=width,
                                    seeds=POOL // FLUCTUATION_WIDTHS[0], pool=POOL)
    n = POOL // width
    return np.asarray(nngp)[:n, 2], np.asarray(ntk)[:n, 2]


def _depth1_reference(name: str):
    def reference(x, key):
        samples = [_pool_empirical(name, x, k, DEPTH1_WIDTH) for k in jax.random.split(key, DEPTH1_BATCHES)]
        return _estimate(np.concatenate([np.stack(pair, axis=1) for pair in samples]))

    return reference


def _fluctuation_reference(name: str):
    """BLOCKS random depth-1 networks at width m = 1/inverse_width: (their NNGP, their NTK).
    Their largest deviation from the closed form scales like the fluctuation of the
    empirical kernels, m^(-1/2)."""

    def reference(x, key):
        nngp, ntk = _pool_empirical(name, x, key, int(round(1 / x["inverse_width"])))
        return np.concatenate([nngp[:BLOCKS], ntk[:BLOCKS]])

    return reference


def _pair_checks(name: str) -> tuple:
    """The checks of `kernels/relu` and `kernels/erf`."""
    depth1 = DEPTH1_BATCHES * (POOL // DEPTH1_WIDTH)
    return (
        ps.quadrature(_quadrature_reference(name, 2), label="duals, depth 1 and 2 by quadrature", rtol=1e-9,
                      vectorize=True,
                      describe="polar Gauss-Legendre quadrature (48 x 3 angular, 24 x 8 radial nodes) of E[phi phi] "
                               "and E[phi' phi'] with phi the model's activation and phi' its autodiff derivative, "
                               "through the recursion's definition",
                      tolerance="quadrature converged to ~1e-13 (it is exact on ReLU's linear pieces): rel 1e-9"),
        ps.monte_carlo(_depth1_reference(name), instances=3, vectorize=False,
                       target=lambda res: sp.ImmutableMatrix([res[2], res[3]]), domains=WIDE,
                       label=f"depth 1: mean of {depth1} networks of width {DEPTH1_WIDTH}",
                       describe="empirical NNGP (readout covariance given the hidden layer) and NTK (jax.grad of "
                                "every network's output, contracted) of random networks, averaged",
                       tolerance="4.5 SE; no width allowance: at depth 1 both empirical kernels are unbiased at "
                                 "every width (the hidden pre-activations are exactly Gaussian)"),
        ps.monte_carlo(_monte_carlo_reference(name, depth=2, width=128, seeds=512), instances=3, vectorize=False,
                       target=lambda res: sp.ImmutableMatrix([res[4], res[5]]), domains=WIDE, allowance_rel=1 / 128,
                       label="depth 2: mean of 512 networks of width 128",
                       describe="empirical NNGP and NTK (jax.jacrev) of random depth-2 networks, averaged",
                       tolerance="4.5 SE + O(1/m) finite-width bias: 1/m = 0.8 % (measured |bias| <= 0.3/m relative "
                                 "at m = 32, 16384 networks per instance)"),
        ps.order(_fluctuation_reference(name), small=inverse_width, sweep=tuple(1 / m for m in FLUCTUATION_WIDTHS),
                 order=0.5, order_margin=0.2, instances=2, vectorize=False, domains=FLUCTUATION_DOMAINS,
                 target=lambda res: sp.ImmutableMatrix([res[2]] * BLOCKS + [res[3]] * BLOCKS),
                 label="depth 1: fluctuation order in 1/m",
                 describe=f"largest deviation of the empirical NNGP and NTK of {BLOCKS} random networks from the "
                          f"closed form, at widths {', '.join(map(str, FLUCTUATION_WIDTHS))}",
                 tolerance="the fluctuation of the empirical kernels is O(m^-1/2) (their mean is exact at depth 1): "
                           "fitted log-log slope in 1/m >= 0.5 - 0.2"),
    )


def _pair_derivation(name: str, steps: list, references: tuple, lhs_names: tuple[str, str]) -> ps.Derivation:
    act = K.activation(name)
    value, slope = act.value(k11, k22, k12), act.derivative(k11, k22, k12)
    symbols, exprs = network_layers(name, 2)
    result = (value, slope, exprs[1].k12, exprs[1].ntk, exprs[2].k12, exprs[2].ntk)
    observables = dict(PAIR_OBSERVABLES)
    for sym, expr in zip(symbols[:2], exprs[:2]):
        observables.update(_layer_observables(sym, expr))
    notation = {q11: r"\tfrac{x\cdot x}{d}", q22: r"\tfrac{x'\cdot x'}{d}", q12: r"\tfrac{x\cdot x'}{d}"}
    for sym in symbols:
        notation.update(_layer_notation(sym))
    network_steps = [
        ps.Step(lhs=symbols[0].k12, rhs=exprs[0].k12, why=r"input layer: $K^{(1)} = \sigma_w^2 q + \sigma_b^2$, "
                                                            r"$\Theta^{(1)} = K^{(1)}(x, x')$"),
        *_layer_steps(symbols[1], exprs[1], r"depth 1: $K^{(2)} = \sigma_w^2\,\mathbb E[\varphi(u)\varphi(v)] + "
                                            r"\sigma_b^2$, $(u, v)\sim\mathcal N(0, K^{(1)})$"),
        ps.Step(lhs=r"K^{(3)},\ \Theta^{(3)}", rhs=r"\text{the same map applied to layer 2}", check=False,
                why=r"depth 2: one more activation and dense layer (``ps.kernels.fully_connected`` unrolls the same "
                    r"recursion in $q_{11}, q_{22}, q_{12}$)"),
    ]
    return ps.Derivation(
        lhs=(*lhs_names, r"K^{(2)}(x, x')", r"\Theta^{(2)}(x, x')", r"K^{(3)}(x, x')", r"\Theta^{(3)}(x, x')"),
        result=result,
        symbols={**COVARIANCE, **NETWORK},
        observables=observables,
        notation=notation,
        assumptions=(r"$(u, v) \sim \mathcal N\big(0, [[k_{11}, k_{12}], [k_{12}, k_{22}]]\big)$; $\varphi'$ is the "
                     r"derivative almost everywhere, as autodiff of the model sees it",
                     r"network: $\mathrm{Dense}(m, \sigma_w, \sigma_b), \varphi$ repeated $L$ times, then "
                     r"$\mathrm{Dense}(1, \sigma_w, \sigma_b)$, NTK parametrisation, all weights $\mathcal N(0, 1)$; "
                     r"$m \to \infty$ layer by layer; parts 3--6 are depth $L = 1$ and $L = 2$"),
        steps=(*steps, *network_steps),
        checks=_pair_checks(name),
        references=references,
    )


# ----------------------------------------------------------------------------- kernels/relu

alpha, radius, s = sp.Symbol("alpha", real=True), sp.Symbol("varrho", positive=True), sp.Symbol("s", real=True)


@ps.derivation("kernels/relu")
def kernels_relu() -> ps.Derivation:
    r"""ReLU networks at infinite width: the arc-cosine kernels, and the NNGP and NTK at depth 1 and 2.

    With :math:`\theta = \arccos\big(k_{12}/\sqrt{k_{11}k_{22}}\big)`, the arc-cosine kernels of
    degree 1 and 0 (Cho & Saul 2009):

    .. math::
        \mathbb E[\operatorname{ReLU}(u)\operatorname{ReLU}(v)]
          = \frac{\sqrt{k_{11}k_{22}}}{2\pi}\big(\sin\theta + (\pi - \theta)\cos\theta\big), \qquad
        \mathbb E[\operatorname{H}(u)\operatorname{H}(v)] = \frac{\pi - \theta}{2\pi},

    and the recursion :math:`K^{(l+1)} = \sigma_w^2\,\mathbb E[\varphi\varphi] + \sigma_b^2`,
    :math:`\Theta^{(l+1)} = K^{(l+1)} + \sigma_w^2\Theta^{(l)}\,\mathbb E[\varphi'\varphi']`
    from :math:`K^{(1)} = \Theta^{(1)} = \sigma_w^2 q + \sigma_b^2`, written out for one and two
    hidden layers (each layer in the previous one's kernels). MATH.md K3: at
    :math:`x = (1, 0)`, :math:`x' = (0.6, 0.8)`, :math:`\sigma_w^2 = 2`, :math:`\sigma_b = 0` the
    NNGP and NTK are 0.677547567766513 and 1.100447226585993 (depth 1),
    0.733433785825563 and 1.544416300677211 (depth 2).

    Checked by quadrature of the Gaussian expectations, and by random finite networks:
    their mean at depth 1 (unbiased at every width), at depth 2 (bias O(1/m)), and the
    O(m^-1/2) order of the fluctuations of the empirical kernels around the closed form.
    References: Cho & Saul (2009); Lee et al. (2018); Jacot et al. (2018); Arora et al. (2019).
    """
    value = K.activation("relu").value(k11, k22, k12)
    slope = K.activation("relu").derivative(k11, k22, k12)
    angular = sp.integrate(sp.cos(alpha) * sp.cos(alpha - theta), (alpha, theta - sp.pi / 2, sp.pi / 2))
    steps = [
        ps.Step(lhs="(u, v)", rhs=r"\big(\sqrt{k_{11}}\,\varrho\cos\alpha,\ \sqrt{k_{22}}\,\varrho\cos(\alpha - \theta)\big)",
                check=False, why=r"polar coordinates of a standard Gaussian pair; both ReLUs are on for "
                                 r"$\alpha \in (\theta - \pi/2, \pi/2)$ (mod $2\pi$), an arc of length $\pi - \theta$"),
        ps.Step(lhs=sp.Integral(sp.cos(alpha) * sp.cos(alpha - theta), (alpha, theta - sp.pi / 2, sp.pi / 2)),
                rhs=angular, why="the angular integral (SymPy)"),
        ps.Step(lhs=sp.Integral(radius**3 * sp.exp(-radius**2 / 2), (radius, 0, sp.oo)), rhs=sp.Integer(2),
                why=r"the radial integral against $\varrho\,e^{-\varrho^2/2}\,d\varrho\,d\alpha/2\pi$"),
        ps.Step(lhs=sp.sqrt(k11 * k22) / (2 * sp.pi) * 2 * angular, rhs=value,
                why=r"$\mathbb E[\operatorname{ReLU}(u)\operatorname{ReLU}(v)]$: the product of the two, over $2\pi$ "
                    r"(the vocabulary's `DualKernel` for relu)"),
        ps.Step(lhs=(sp.pi - theta) * sp.Integral(radius * sp.exp(-radius**2 / 2), (radius, 0, sp.oo)) / (2 * sp.pi),
                rhs=slope, why=r"$\mathbb E[\operatorname{H}(u)\operatorname{H}(v)]$: the same arc, radial integral 1"),
        ps.Step(lhs=sp.Derivative(value, k12), rhs=slope,
                why=r"Price's theorem: $\partial_{k_{12}}\mathbb E[\varphi(u)\varphi(v)] = \mathbb E[\varphi'(u)\varphi'(v)]$"),
        ps.Step(lhs=k11 / (2 * sp.pi) * sp.Integral(radius**3 * sp.exp(-radius**2 / 2), (radius, 0, sp.oo))
                * sp.Integral(sp.cos(alpha) ** 2, (alpha, -sp.pi / 2, sp.pi / 2)),
                rhs=K.activation("relu").diagonal(k11),
                why=r"on the diagonal ($\theta = 0$, an arc of length $\pi$): $\mathbb E[\operatorname{ReLU}(u)^2] = k/2$"),
    ]
    return _pair_derivation("relu", steps, (CHO_SAUL, LEE_2018, JACOT, ARORA, NOVAK),
                            (r"\mathbb E[\operatorname{ReLU}(u)\operatorname{ReLU}(v)]",
                             r"\mathbb E[\operatorname{H}(u)\operatorname{H}(v)]"))


# ----------------------------------------------------------------------------- kernels/erf


@ps.derivation("kernels/erf")
def kernels_erf() -> ps.Derivation:
    r"""erf networks at infinite width: the arcsine kernel, and the NNGP and NTK at depth 1 and 2.

    .. math::
        \mathbb E[\operatorname{erf}(u)\operatorname{erf}(v)]
          = \frac2\pi\arcsin\frac{2k_{12}}{\sqrt{(1+2k_{11})(1+2k_{22})}}, \qquad
        \mathbb E[\operatorname{erf}'(u)\operatorname{erf}'(v)]
          = \frac{4}{\pi\sqrt{(1+2k_{11})(1+2k_{22}) - 4k_{12}^2}}

    (Williams 1997), derived here from the second one, a Gaussian integral, by Price's
    theorem; then the recursion at depth 1 and 2 as in ``kernels/relu``. MATH.md K3: NNGP
    and NTK 0.523959521737819 and 1.079646816172104 (depth 1), 0.477955870570610 and
    1.511834923108048 (depth 2) at :math:`x = (1, 0)`, :math:`x' = (0.6, 0.8)`,
    :math:`\sigma_w^2 = 2`, :math:`\sigma_b = 0`. Checked as ``kernels/relu``.
    References: Williams (1997); Price (1958); Lee et al. (2018); Jacot et al. (2018).
    """
    act = K.activation("erf")
    value, slope = act.value(k11, k22, k12), act.derivative(k11, k22, k12)
    scale = sp.sqrt((1 + 2 * k11) * (1 + 2 * k22))
    steps = [
        ps.Step(lhs=4 / sp.pi / sp.sqrt(sp.Matrix([[1 + 2 * k11, 2 * k12], [2 * k12, 1 + 2 * k22]]).det()), rhs=slope,
                why=r"$\operatorname{erf}'(x) = \tfrac{2}{\sqrt\pi}e^{-x^2}$, and for $z \sim \mathcal N(0, K)$ "
                    r"$\mathbb E[e^{-z^\top z}] = \det(I + 2K)^{-1/2}$"),
        ps.Step(lhs=sp.Derivative(value, k12), rhs=slope,
                why=r"Price's theorem: $\partial_{k_{12}}\mathbb E[\varphi(u)\varphi(v)] = \mathbb E[\varphi'(u)\varphi'(v)]$"),
        ps.Step(lhs=value.subs(k12, 0), rhs=sp.S.Zero, why=r"at $k_{12} = 0$ u and v are independent and erf is odd"),
        ps.Step(lhs=sp.Integral(2 / (sp.pi * sp.sqrt(1 - s**2)), (s, 0, 2 * k12 / scale)), rhs=value,
                why=r"integrate the derivative from $k_{12} = 0$, substituting $k_{12} = s\sqrt{(1+2k_{11})(1+2k_{22})}/2$"),
        ps.Step(lhs=value.subs({k22: k11, k12: k11}), rhs=act.diagonal(k11), why="the diagonal form"),
    ]
    return _pair_derivation("erf", steps, (WILLIAMS, PRICE_1958, LEE_2018, JACOT, NOVAK),
                            (r"\mathbb E[\operatorname{erf}(u)\operatorname{erf}(v)]",
                             r"\mathbb E[\operatorname{erf}'(u)\operatorname{erf}'(v)]"))


# ----------------------------------------------------------------------------- kernels/duals

a, b = sp.symbols("a b", real=True)  # a leaky ReLU's slopes for x < 0 and x > 0
DUALS = (("leaky_relu", (a, b)), ("sign", ()), ("identity", ()), ("sin", ()), ("cos", ()), ("gelu", ()))


@functools.cache
def _duals_table_by_quadrature():
    @jit
    def table(slope_neg, slope_pos, c11, c22, c12):
        out = []
        for name, params in DUALS:
            phi = (lambda x: jnp.where(x > 0, slope_pos * x, slope_neg * x)) if params else _phi(name)
            dphi = K.elementwise_derivative(phi)
            out += [K.polar_expectation(phi, phi, c11, c22, c12), K.polar_expectation(dphi, dphi, c11, c22, c12)]
        return jnp.stack(out)

    return table


def _gelu_steps(value, slope) -> list:
    big_a, big_b = 1 + k11, 1 + k22
    det = big_a * big_b - k12**2
    rho_gelu = k12 / sp.sqrt(big_a * big_b)
    reweighted_u = (k22 * big_a - k12**2) / (2 * sp.pi * big_a * sp.sqrt(det))
    reweighted_v = k12 / (2 * sp.pi * big_b * sp.sqrt(det))
    orthant = sp.asin(rho_gelu) / (2 * sp.pi)
    return [
        ps.Step(lhs=r"\operatorname{GELU}(x)", rhs=r"\tfrac x2 + \psi(x),\quad \psi(x) = x\big(\Phi(x) - \tfrac12\big)",
                check=False, why=r"$\psi$ is even, so $\mathbb E[\tfrac u2\psi(v)] = 0$ and "
                                 r"$\mathbb E[\operatorname{GELU}(u)\operatorname{GELU}(v)] = "
                                 r"k_{12}/4 + \mathbb E[\psi(u)\psi(v)]$"),
        ps.Step(lhs=r"\mathbb E[\psi(u)\psi(v)]",
                rhs=r"k_{11}\,\mathbb E[v\,\phi(u) g(v)] + k_{12}\,\mathbb E[g(u)g(v)] + k_{12}\,\mathbb E[v\,g(u)\phi(v)]",
                check=False, why=r"Stein's lemma on $u$, with $g = \Phi - \tfrac12$, $g' = \phi$ the normal density"),
        ps.Step(lhs=r"\mathbb E[g(u)g(v)]", rhs=orthant, check=False,
                why=r"Sheppard's orthant probability: $P(z_1 \le u, z_2 \le v) = \tfrac14 + \arcsin(\rho)/2\pi$, "
                    r"$\rho = k_{12}/\sqrt{(1+k_{11})(1+k_{22})}$"),
        ps.Step(lhs=r"\mathbb E[v\,\phi(u) g(v)],\ \mathbb E[v\,g(u)\phi(v)]", rhs=sp.Tuple(reweighted_u, reweighted_v),
                check=False, why=r"$\phi(u)$ reweights the pair to a Gaussian of precision $K^{-1} + e_1e_1^\top$; "
                                 r"then Stein's lemma once more"),
        ps.Step(lhs=k12 / 4 + k11 * reweighted_u + k12 * orthant + k12 * reweighted_v, rhs=value,
                why="assembled: the vocabulary's `DualKernel` for gelu (neural-tangents' form)"),
        ps.Step(lhs=sp.Derivative(value, k12), rhs=slope,
                why=r"Price's theorem gives $\mathbb E[\operatorname{GELU}'(u)\operatorname{GELU}'(v)]$"),
    ]


@ps.derivation("kernels/duals")
def kernels_duals() -> ps.Derivation:
    r"""Dual kernels of leaky ReLU, sign, identity, sin, cos and exact GELU, in closed form.

    For :math:`(u, v) \sim \mathcal N(0, K)`, :math:`c = k_{12}/\sqrt{k_{11}k_{22}}`,
    :math:`\theta = \arccos c`:

    .. math::
        \text{LeakyReLU}_{a,b}:\ ab\,k_{12} + (b-a)^2\,\kappa_1, \quad ab + (b-a)^2\frac{\pi-\theta}{2\pi};
        \qquad \operatorname{sign}:\ \frac2\pi\arcsin c,\quad 0;

        \sin:\ e^{-(k_{11}+k_{22})/2}\sinh k_{12},\quad e^{-(k_{11}+k_{22})/2}\cosh k_{12};
        \qquad \cos:\ e^{-(k_{11}+k_{22})/2}\cosh k_{12},\quad e^{-(k_{11}+k_{22})/2}\sinh k_{12};

        \operatorname{GELU}:\ \frac{k_{12}}4 + \frac{k_{12}}{2\pi}\arcsin\frac{k_{12}}{\sqrt{ab}}
          + \frac{k_{11}k_{22}D + k_{12}^2}{2\pi\,ab\sqrt D},\quad a = 1+k_{11},\ b = 1+k_{22},\ D = ab - k_{12}^2,

    with :math:`\kappa_1` the arc-cosine kernel of ``kernels/relu`` and the identity's
    :math:`(k_{12}, 1)`. Each pair is (E[φ(u)φ(v)], E[φ'(u)φ'(v)]) with φ' the derivative
    almost everywhere: 0 for sign, as autodiff and neural-tangents' ``Sign`` take it (the
    distributional 2δ would give :math:`2/(\pi\sqrt{k_{11}k_{22}-k_{12}^2})`). Derived step
    by step (Stein's lemma, Sheppard's orthant probability, the Gaussian characteristic
    function, Price's theorem) and checked by quadrature of the expectations.
    References: Cho & Saul (2009); Tsuchida et al. (2018, 2021); Pearce et al. (2020); Price (1958).
    """
    acts = {name: K.activation((name, *params)) for name, params in DUALS}
    parts = [f(k11, k22, k12) for name, _ in DUALS for f in (acts[name].value, acts[name].derivative)]
    relu = K.activation("relu")
    leaky_value, leaky_slope, sign_value, _, _, _, sin_value, sin_slope, cos_value, cos_slope, gelu_value, gelu_slope = parts
    damp = lambda sign_: sp.exp(-(k11 + k22 + sign_ * 2 * k12) / 2)  # E[cos(u ± v)] = exp(-Var(u ± v)/2)
    steps = [
        ps.Step(lhs=a**2 * k12 + 2 * a * (b - a) * k12 / 2 + (b - a) ** 2 * relu.value(k11, k22, k12), rhs=leaky_value,
                why=r"$\varphi = a x + (b-a)\operatorname{ReLU}(x)$; $\mathbb E[u\operatorname{ReLU}(v)] = k_{12}/2$ "
                    r"(Stein's lemma)"),
        ps.Step(lhs=a**2 + 2 * a * (b - a) / 2 + (b - a) ** 2 * relu.derivative(k11, k22, k12), rhs=leaky_slope,
                why=r"$\varphi' = a + (b-a)\operatorname{H}$ and $\mathbb E[\operatorname{H}] = \tfrac12$"),
        ps.Step(lhs=sp.Derivative(leaky_value, k12), rhs=leaky_slope, why="Price's theorem"),
        ps.Step(lhs=1 - 2 * theta / sp.pi, rhs=sign_value,
                why=r"$\mathbb E[\operatorname{sign}u\operatorname{sign}v] = P(\text{same sign}) - P(\text{opposite}) "
                    r"= 1 - 2\theta/\pi$ (Sheppard)"),
        ps.Step(lhs=(damp(-1) - damp(1)) / 2, rhs=sin_value,
                why=r"$\sin u\sin v = \tfrac12(\cos(u-v) - \cos(u+v))$, $\mathbb E[\cos w] = e^{-\operatorname{Var}(w)/2}$"),
        ps.Step(lhs=(damp(-1) + damp(1)) / 2, rhs=sin_slope, why=r"$\cos u\cos v = \tfrac12(\cos(u-v) + \cos(u+v))$"),
        ps.Step(lhs=sp.Derivative(sin_value, k12), rhs=sin_slope, why="Price's theorem"),
        ps.Step(lhs=sp.Derivative(cos_value, k12), rhs=cos_slope, why=r"Price's theorem; $\cos$'s pair is $\sin$'s swapped"),
        *_gelu_steps(gelu_value, gelu_slope),
    ]
    lhs = []
    for name, _ in DUALS:
        tex = acts[name].latex_name
        lhs += [r"\mathbb E[%s(u)\,%s(v)]" % (tex, tex), r"\mathbb E[%s'(u)\,%s'(v)]" % (tex, tex)]

    def reference(x):
        return _duals_table_by_quadrature()(x["a"], x["b"], x["k11"], x["k22"], x["k12"])

    return ps.Derivation(
        lhs=tuple(lhs),
        result=tuple(parts),
        symbols={**COVARIANCE, a: ps.uniform(-0.5, 0.5), b: ps.uniform(0.5, 1.5)},
        observables={k12: rho * sp.sqrt(k11 * k22), theta: sp.acos(rho)},
        assumptions=(r"$(u, v) \sim \mathcal N\big(0, [[k_{11}, k_{12}], [k_{12}, k_{22}]]\big)$",
                     r"LeakyReLU$_{a,b}(x) = a\min(x, 0) + b\max(x, 0)$ (neural-tangents' ABRelu); "
                     r"GELU is the exact $x\Phi(x)$; $\varphi'$ the derivative almost everywhere"),
        steps=tuple(steps),
        checks=(
            ps.quadrature(reference, label="12 expectations by quadrature", rtol=1e-9, vectorize=True,
                          describe="polar Gauss-Legendre quadrature of each E[phi(u) phi(v)] and E[phi'(u) phi'(v)], "
                                   "phi the model's activation (JAX), phi' its autodiff derivative",
                          tolerance="quadrature converged to ~1e-13: rel 1e-9"),
        ),
        references=(CHO_SAUL, PRICE_1958, NOVAK,
                    "Tsuchida, R., Roosta-Khorasani, F. & Gallagher, M. (2018). Invariance of weight distributions in "
                    "rectified MLPs. ICML; arXiv:1711.09090.",
                    "Tsuchida, R., Pearce, T., van der Heide, C., Roosta, F. & Gallagher, M. (2021). Avoiding kernel "
                    "fixed points: computing with ELU and GELU infinite networks. AAAI; arXiv:2002.08517.",
                    "Pearce, T., Tsuchida, R., Zaki, M., Brintrup, A. & Neely, A. (2020). Expressive priors in Bayesian "
                    "neural networks: kernel combinations and periodic functions. UAI 2019, PMLR 115."),
    )


# ----------------------------------------------------------------------------- kernels/recursion

RECURSION_DEPTH = 3


@ps.derivation("kernels/recursion")
def kernels_recursion() -> ps.Derivation:
    r"""The NNGP and NTK recursion of a deep fully connected network, for any activation (depth 3, GELU).

    .. math::
        K^{(l+1)}(x, x') = \sigma_w^2\,\mathbb E\big[\varphi(u)\varphi(v)\big] + \sigma_b^2, \qquad
        \Theta^{(l+1)} = K^{(l+1)}(x, x') + \sigma_w^2\,\Theta^{(l)}\,\mathbb E\big[\varphi'(u)\varphi'(v)\big],

    :math:`(u, v) \sim \mathcal N(0, K^{(l)})` on {x, x'}, from
    :math:`K^{(1)} = \Theta^{(1)} = \sigma_w^2 q + \sigma_b^2`; the network's NNGP and NTK are
    :math:`K^{(L+1)}` and :math:`\Theta^{(L+1)}` (MATH.md K1). The recursion is stated for a
    symbolic depth L and a generic activation (tanh, whose expectations
    `pricesym.kernels` integrates numerically); written out at L = 3 for the exact GELU, with
    each layer in the previous one's kernels (the derivation is linear in the depth). Checked
    by quadrature and against the empirical NTK (``jax.jacrev``) of random depth-3 networks.
    References: Lee et al. (2018); Jacot et al. (2018); Arora et al. (2019); Novak et al. (2020).
    """
    depth = RECURSION_DEPTH
    symbols, exprs = network_layers("gelu", depth)
    generic = K.fully_connected("tanh", K.DEPTH, sigma_w, sigma_b)
    observables = {q12: r * sp.sqrt(q11 * q22)}
    notation = {q11: r"\tfrac{x\cdot x}{d}", q22: r"\tfrac{x'\cdot x'}{d}", q12: r"\tfrac{x\cdot x'}{d}"}
    for sym, expr in zip(symbols[:depth], exprs[:depth]):
        observables.update(_layer_observables(sym, expr))
        notation.update(_layer_notation(sym))
    steps = [ps.Step(lhs=eq.lhs, rhs=eq.rhs, check=False, why=why) for eq, why in zip(
        generic.recursion,
        ("input layer", "input layer", "input layer", r"$\Theta^{(1)} = K^{(1)}(x, x')$",
         "each hidden layer: the diagonal at x", "the diagonal at x'",
         r"the NNGP: $\mathbb E[\varphi(u)\varphi(v)]$ over $\mathcal N(0, K^{(l)})$",
         r"the NTK: the new layer's own weights, plus the earlier ones through $\varphi'$"))]
    for l in range(1, depth):
        steps += _layer_steps(symbols[l], exprs[l], r"layer %d: GELU's closed form (``kernels/duals``)" % (l + 1))
    return ps.Derivation(
        lhs=(r"K^{(4)}(x, x')", r"\Theta^{(4)}(x, x')"),
        result=(exprs[depth].k12, exprs[depth].ntk),
        symbols=dict(NETWORK),
        observables=observables,
        notation=notation,
        assumptions=(r"$L = 3$ hidden layers $\mathrm{Dense}(m, \sigma_w, \sigma_b), \operatorname{GELU}$ and a readout "
                     r"$\mathrm{Dense}(1, \sigma_w, \sigma_b)$, NTK parametrisation, $m \to \infty$",),
        steps=tuple(steps),
        checks=(
            ps.quadrature(_quadrature_reference("gelu", depth, duals=False), rtol=1e-9, label="depth 3 by quadrature",
                          vectorize=True,
                          describe="the recursion with every expectation by polar Gauss-Legendre quadrature of the "
                                   "model's GELU and its autodiff derivative; only the last layer is compared",
                          tolerance="quadrature converged to ~1e-13: rel 1e-9"),
            ps.monte_carlo(_monte_carlo_reference("gelu", depth=depth, width=128, seeds=1024), instances=2,
                           vectorize=False, domains=WIDE, allowance_rel=1.5 / 128,
                           label="depth 3: mean of 1024 networks of width 128",
                           describe="empirical NNGP and NTK (jax.jacrev of the outputs, contracted) of random depth-3 "
                                    "GELU networks, averaged",
                           tolerance="4.5 SE + O(1/m) finite-width bias: 1.5/m = 1.2 % (measured |bias| <= 1/m "
                                     "relative at m = 32, 16384 networks per instance)"),
        ),
        references=(LEE_2018, JACOT, ARORA, NOVAK),
    )


# ----------------------------------------------------------------------------- kernels/gradient-flow-mse

# A test input x (angle a0, |x|^2/d = 1) and two training inputs x1 (angle 0, |x1|^2/d = 1) and
# x2 (angle a2, |x2|^2/d = n2), in d = 2; targets y1, y2; learning rate eta and time t.
a0, a2, n2 = sp.Symbol("a0", real=True), sp.Symbol("a2", real=True), sp.Symbol("n2", positive=True)
y1, y2, r1, r2 = sp.symbols("y1 y2 r1 r2", real=True)
eta, t = sp.Symbol("eta", positive=True), sp.Symbol("t", nonnegative=True)
mean_eig, half_gap = sp.Symbol("s", positive=True), sp.Symbol("Delta", positive=True)
PAIRS = {"01": (1, 1, sp.cos(a0)), "02": (1, n2, sp.sqrt(n2) * sp.cos(a0 - a2)), "00": (1, 1, 1),
         "11": (1, 1, 1), "12": (1, n2, sp.sqrt(n2) * sp.cos(a2)), "22": (n2, n2, n2)}
NTK_ = {k: sp.Symbol(f"Theta_{k}", real=True) for k in ("01", "02", "11", "12", "22")}
NNGP_ = {k: sp.Symbol(f"K_{k}", real=True) for k in ("00", "01", "02", "11", "12", "22")}
FLOW_NETWORK = {a0: ps.uniform(0.2, 0.8), a2: ps.uniform(1.0, 2.2), n2: ps.uniform(0.6, 1.5),
                sigma_w: ps.uniform(0.8, 1.5), sigma_b: ps.uniform(0.2, 0.6)}
FLOW_DEPTH = 1


def _inputs(xp=np):
    """The three inputs as arrays (NumPy, or ``xp`` = jax.numpy under a trace), from an instance's
    angles and norm (d = 2, so x·x/d = |x|^2/2)."""
    def point(angle, norm):
        return xp.sqrt(2 * norm) * xp.stack([xp.cos(angle), xp.sin(angle)])

    return lambda x: (point(x["a0"], 1.0), point(0.0, 1.0), point(x["a2"], x["n2"]))


def _kernel_observables() -> tuple[dict, dict]:
    """(observables, notation): the NTK and NNGP of a depth-1 ReLU network between the inputs,
    from `ps.kernels.fully_connected` (NTK parametrisation)."""
    net = K.fully_connected("relu", FLOW_DEPTH, sigma_w, sigma_b)
    at = lambda expr, key: expr.xreplace(dict(zip((q11, q22, q12), PAIRS[key])))
    observables = {**{s_: at(net.ntk, k) for k, s_ in NTK_.items()}, **{s_: at(net.nngp, k) for k, s_ in NNGP_.items()}}
    names = {"0": "x", "1": "x_1", "2": "x_2"}
    notation = {**{s_: r"\Theta(%s, %s)" % (names[k[0]], names[k[1]]) for k, s_ in NTK_.items()},
                **{s_: r"K(%s, %s)" % (names[k[0]], names[k[1]]) for k, s_ in NNGP_.items()},
                half_gap: r"\Delta", mean_eig: r"\bar\lambda"}
    return observables, notation


def _flow_closed_form():
    """(μ_t, Var_t, the 2x2 exponential E, Θ(X, X)) from the kernel symbols; μ_t = A_1 y_1 + A_2 y_2
    and the variance are kept in terms of the gain A_t = Θ(x, X)Θ(X, X)^{-1}(I - E), entry by entry."""
    theta_xx = sp.Matrix([[NTK_["11"], NTK_["12"]], [NTK_["12"], NTK_["22"]]])
    tau = eta * t
    eye = sp.eye(2)
    expo = sp.exp(-tau * mean_eig) * (sp.cosh(tau * half_gap) * eye - sp.sinh(tau * half_gap) / half_gap
                                      * (theta_xx - mean_eig * eye))
    adjugate = sp.Matrix([[NTK_["22"], -NTK_["12"]], [-NTK_["12"], NTK_["11"]]])
    determinant = NTK_["11"] * NTK_["22"] - NTK_["12"] ** 2
    row = sp.Matrix([[NTK_["01"], NTK_["02"]]]) * adjugate / determinant
    gain = [sp.factor_terms(sum(row[k] * (eye - expo)[k, j] for k in range(2))) for j in range(2)]
    mean = gain[0] * y1 + gain[1] * y2
    k_xx = sp.Matrix([[NNGP_["11"], NNGP_["12"]], [NNGP_["12"], NNGP_["22"]]])
    var = (NNGP_["00"] - 2 * (gain[0] * NNGP_["01"] + gain[1] * NNGP_["02"])
           + sum(gain[i] * k_xx[i, j] * gain[j] for i in range(2) for j in range(2)))
    return mean, var, expo, theta_xx


@functools.cache
def _kernel_matrices_by_quadrature():
    phi = _phi("relu")

    @jit
    def matrices(points, w, b):
        """(NTK, NNGP) 3x3 between the points, by quadrature of the recursion."""
        gram = points @ points.T / points.shape[1]
        i, j = np.divmod(np.arange(9), 3)  # the 9 pairs, row by row
        nngp, ntk = jax.vmap(lambda c11, c22, c12: K.kernels_by_quadrature(phi, c11, c22, c12, w, b, FLOW_DEPTH))(
            gram[i, i], gram[j, j], gram[i, j])
        return ntk[:, -1].reshape(3, 3), nngp[:, -1].reshape(3, 3)

    return matrices


def _flow_ode_reference(x):
    """Linearised training at infinite width, integrated: f_t(x) - mu = f_0(x) - A_t f_0(X) with
    dA/dt = eta (Theta(x, X) - A Theta(X, X)), A_0 = 0; kernels by quadrature; then mu = A Y and
    the variance of f_0(x) - A f_0(X) for f_0 ~ GP(0, K)."""
    points = np.stack(_inputs()(x))
    ntk, nngp = (np.asarray(m) for m in _kernel_matrices_by_quadrature()(jnp.asarray(points), x["sigma_w"], x["sigma_b"]))
    sol = solve_ivp(lambda _, g: x["eta"] * (ntk[0, 1:] - g @ ntk[1:, 1:]), (0.0, x["t"]), np.zeros(2),
                    method="DOP853", rtol=1e-12, atol=1e-14)
    if not sol.success:
        raise ps.CheckError(f"the linearised gradient flow could not be integrated: {sol.message}")
    gain = sol.y[:, -1]
    mean = gain @ np.array([x["y1"], x["y2"]])
    var = nngp[0, 0] - 2 * gain @ nngp[1:, 0] + gain @ nngp[1:, 1:] @ gain
    return np.array([mean, var])


GD_STEPS = 100


def _trained(x, key, *, width: int) -> np.ndarray:
    """Outputs at x of the POOL / (2 width) antithetic pairs of ReLU networks of one pool,
    trained by gradient descent: (pairs, 2)."""
    test, first, second = _inputs()(x)
    out = K.train_ensemble(_phi("relu"), np.stack([first, second]), np.array([x["y1"], x["y2"]]), test[None, :],
                           x["sigma_w"], x["sigma_b"], x["eta"], x["t"], key, depth=FLOW_DEPTH, width=width,
                           pairs=POOL // 2 // ENSEMBLE_WIDTHS[0], steps=GD_STEPS, pool=POOL // 2)
    return np.asarray(out)[:POOL // 2 // width, :, 0]


ENSEMBLE_WIDTH, ENSEMBLE_BATCHES = 512, 4  # 4 pools of 128 antithetic pairs


def _ensemble_reference(x, key):
    """Mean over antithetic pairs; variance from the first member of each pair (independent)."""
    out = np.concatenate([_trained(x, k, width=ENSEMBLE_WIDTH) for k in jax.random.split(key, ENSEMBLE_BATCHES)])
    pair_means, single = out.mean(axis=1), out[:, 0]
    deviation = (single - single.mean()) ** 2 * len(single) / (len(single) - 1)
    return Estimate(np.array([pair_means.mean(), deviation.mean()]),
                    np.array([pair_means.std(ddof=1), deviation.std(ddof=1)]) / np.sqrt(len(single)))


def _ensemble_fluctuation_reference(x, key):
    out = _trained(x, key, width=int(round(1 / x["inverse_width"])))
    return out[:BLOCKS].mean(axis=1)


@ps.derivation("kernels/gradient-flow-mse")
def kernels_gradient_flow_mse() -> ps.Derivation:
    r"""Gradient flow on MSE at infinite width: the mean prediction and its variance (two training points).

    .. math::
        \mu_t(x) = \Theta(x, X)\,\Theta(X, X)^{-1}\big(I - e^{-\eta\Theta(X, X)t}\big)Y, \qquad
        \operatorname{Var} f_t(x) = K(x, x) - 2A_tK(X, x) + A_tK(X, X)A_t^\top,

    :math:`A_t = \Theta(x, X)\Theta(X, X)^{-1}(I - e^{-\eta\Theta(X,X)t})`, for
    :math:`L = \tfrac12\sum_i (f(x_i) - y_i)^2` and :math:`\dot w = -\eta\nabla L` (Lee et al.
    2019). With two training points the exponential is

    .. math::
        e^{-\tau\Theta} = e^{-\tau\bar\lambda}\Big(\cosh(\tau\Delta)\,I
          - \frac{\sinh\tau\Delta}{\Delta}\big(\Theta - \bar\lambda I\big)\Big),

    :math:`\tau = \eta t`, :math:`\bar\lambda` and :math:`\pm\Delta` the mean and half-gap of
    Θ(X, X)'s eigenvalues. Θ and K are a depth-1 ReLU network's NTK and NNGP
    (``kernels/relu``); inputs in :math:`\mathbb R^2`: :math:`x` at angle :math:`a_0`,
    :math:`x_1` at angle 0, both with :math:`|x|^2/d = 1`, :math:`x_2` at angle :math:`a_2` with
    :math:`|x_2|^2/d = n_2`. Checked by integrating the linearised dynamics with
    quadrature kernels, and against ensembles of finite networks trained by gradient
    descent (mean, variance, and the O(m^-1/2) order of their fluctuation).
    References: Jacot et al. (2018); Lee et al. (2019).
    """
    observables, notation = _kernel_observables()
    observables[mean_eig] = (NTK_["11"] + NTK_["22"]) / 2
    observables[half_gap] = sp.sqrt((NTK_["11"] - NTK_["22"]) ** 2 / 4 + NTK_["12"] ** 2)
    mean, var, expo, theta_xx = _flow_closed_form()
    steps = (
        ps.Step(lhs=r"\partial_t f(x)", rhs=r"\operatorname{ntcov}(f(x), U) = -\eta\sum_i \hat\Theta(x, x_i)(f(x_i) - y_i)",
                check=False, why=r"Price's equation for the output under $\dot w = \eta\nabla U$, $U = -L$ "
                                 r"(``price/infinite-width``)"),
        ps.Step(lhs=r"\hat\Theta", rhs=r"\Theta", check=False,
                why="at infinite width the empirical NTK is deterministic and constant during training (Jacot et al.)"),
        ps.Step(lhs=sp.diff(expo, t), rhs=-eta * theta_xx * expo,
                why=r"the $2\times2$ exponential solves $\dot E = -\eta\Theta(X, X)E$ ..."),
        ps.Step(lhs=expo.subs(t, 0), rhs=sp.eye(2), why="... from $E_0 = I$"),
        ps.Step(lhs=r"f_t(x)", rhs=r"f_0(x) - A_t\big(f_0(X) - Y\big)", check=False,
                why=r"integrate $\partial_t f(X) = -\eta\Theta(X,X)(f(X) - Y)$, then $\partial_t f(x)$"),
        ps.Step(lhs=r"\mathbb E f_t(x)", rhs=mean, check=False, why=r"$\mathbb E f_0 = 0$"),
        ps.Step(lhs=r"\operatorname{Var} f_t(x)", rhs=var, check=False,
                why=r"$f_0 \sim \mathcal{GP}(0, K)$: the variance of $f_0(x) - A_tf_0(X)$"),
    )
    return ps.Derivation(
        lhs=(r"\mu_t(x)", r"\operatorname{Var} f_t(x)"),
        result=(mean, var),
        symbols={**FLOW_NETWORK, y1: ps.uniform(0.5, 1.0), y2: ps.uniform(-1.0, 1.0), eta: ps.fixed(0.5),
                 t: ps.uniform(0.5, 2.0)},
        observables=observables,
        notation=notation,
        assumptions=(r"a ReLU network of one hidden layer of width $m \to \infty$, NTK parametrisation, "
                     r"$\sigma_w, \sigma_b$ as in ``kernels/relu``",
                     r"gradient flow $\dot w = -\eta\nabla L$, $L = \tfrac12\sum_{i=1}^2 (f(x_i) - y_i)^2$, from a "
                     r"random initialisation (the mean and variance are over it)"),
        steps=steps,
        checks=(
            ps.ode(_flow_ode_reference, label="linearised flow with quadrature kernels", rtol=1e-8,
                   describe="solve_ivp (DOP853, rtol 1e-12) of dA/dt = eta (Theta(x,X) - A Theta(X,X)) with Theta, K "
                            "from quadrature of the recursion; mu = A Y, Var of f_0(x) - A f_0(X)",
                   tolerance="integrator at rtol 1e-12, quadrature ~1e-13: rel 1e-8"),
            ps.monte_carlo(_ensemble_reference, instances=2, vectorize=False, allowance_abs=2e-3,
                           allowance_rel=2 / ENSEMBLE_WIDTH,
                           label=f"{POOL // ENSEMBLE_WIDTH * ENSEMBLE_BATCHES} networks of width {ENSEMBLE_WIDTH} "
                                 "trained by GD",
                           describe=f"{GD_STEPS} gradient-descent steps of size eta t/{GD_STEPS} on the finite "
                                    f"networks from random initialisations ({POOL // 2 // ENSEMBLE_WIDTH * ENSEMBLE_BATCHES}"
                                    " antithetic pairs): mean over the pairs; variance over one member of each pair",
                           tolerance="4.5 SE (the variance resolved to about 30 %) + GD's departure from the flow, "
                                     "(eta t lambda)^2/(2 steps) of the decaying part <= 2e-3 abs, + O(1/m) width "
                                     "bias <= 2/m rel"),
            ps.order(_ensemble_fluctuation_reference, small=inverse_width, sweep=tuple(1 / m for m in ENSEMBLE_WIDTHS),
                     order=0.5, order_margin=0.2, instances=2, vectorize=False,
                     target=lambda res: sp.ImmutableMatrix([res[0]] * BLOCKS),
                     label="mean prediction: fluctuation order in 1/m",
                     describe=f"largest deviation from mu_t of the means of {BLOCKS} antithetic pairs of trained "
                              f"networks, at widths {', '.join(map(str, ENSEMBLE_WIDTHS))}",
                     tolerance="trained networks fluctuate about the infinite-width mean as O(m^-1/2): fitted "
                               "log-log slope in 1/m >= 0.5 - 0.2"),
        ),
        references=(JACOT, LEE_2019, NOVAK),
        figures=(_convergence_figure,),
    )


# ----------------------------------------------------------------------------- price/infinite-width


def _price_quadrature_reference(x):
    """Θ(x, x_i) by quadrature of the recursion (traceable), times the residuals."""
    test, first, second = _inputs(jnp)(x)
    theta = jax.vmap(lambda xi: K.kernels_by_quadrature(_phi("relu"), test @ test / 2, xi @ xi / 2, test @ xi / 2,
                                                        x["sigma_w"], x["sigma_b"], FLOW_DEPTH)[1][-1])(
        jnp.stack([first, second]))
    return theta[0] * x["r1"] + theta[1] * x["r2"]


PRICE_WIDTH, PRICE_BATCHES = 2048, 8  # 8 pools of 64 networks


def _price_samples(x, key, *, width: int) -> np.ndarray:
    """ntcov(f(x), U) of the POOL // width depth-1 ReLU networks of one pool."""
    test, first, second = _inputs()(x)
    out = K.price_flow(_phi("relu"), test, np.stack([first, second]), np.array([x["r1"], x["r2"]]), x["sigma_w"],
                       x["sigma_b"], key, depth=FLOW_DEPTH, width=width, seeds=POOL // FLUCTUATION_WIDTHS[0], pool=POOL)
    return np.asarray(out)[:POOL // width]


def _price_reference(x, key):
    return _estimate(np.concatenate([_price_samples(x, k, width=PRICE_WIDTH)
                                     for k in jax.random.split(key, PRICE_BATCHES)]))


PRICE_PER_BLOCK = 4  # networks per block of the order check, one from each of 4 pools


def _price_fluctuation_reference(x, key):
    """Means of BLOCKS blocks of PRICE_PER_BLOCK networks at width m = 1/inverse_width."""
    width = int(round(1 / x["inverse_width"]))
    pools = [_price_samples(x, k, width=width)[:BLOCKS] for k in jax.random.split(key, PRICE_PER_BLOCK)]
    return np.mean(pools, axis=0)


@ps.derivation("price/infinite-width")
def price_infinite_width() -> ps.Derivation:
    r"""Price's equation at infinite width: ntcov(f(x), U) becomes a kernel sum over the training set.

    .. math::
        \partial_t f(x) = \operatorname{ntcov}\big(f(x), U\big)
          = \sum_i \hat\Theta(x, x_i)\big(y_i - f(x_i)\big)
          \;\longrightarrow\; \sum_i \Theta(x, x_i)\big(y_i - f(x_i)\big)
          \quad (m \to \infty),

    for :math:`U = -\tfrac12\sum_i (f(x_i) - y_i)^2`, with :math:`\hat\Theta` the network's
    empirical NTK and Θ the infinite-width one (here a depth-1 ReLU network, ``kernels/relu``,
    and two training points as in ``kernels/gradient-flow-mse``; :math:`r_i = y_i - f(x_i)`
    are the residuals). The seed equation dx/dt = ntcov(x, U) thus turns into kernel
    gradient flow. At depth 1 the mean of :math:`\hat\Theta` over initialisations is Θ at
    every width, so random networks check the limit with no width allowance.
    References: tailcalled (2022); Jacot et al. (2018); Lee et al. (2019).
    """
    observables, notation = _kernel_observables()
    result = NTK_["01"] * r1 + NTK_["02"] * r2
    steps = (
        ps.Step(lhs=r"\operatorname{ntcov}(f(x), U)", rhs=r"\nabla_w f(x)\cdot\nabla_w U", check=False,
                why="the neural tangent covariance of the output with the utility (A2)"),
        ps.Step(lhs=r"\nabla_w U", rhs=r"\sum_i \big(y_i - f(x_i)\big)\nabla_w f(x_i)", check=False,
                why=r"chain rule through the outputs (A5), $\partial U/\partial f(x_i) = y_i - f(x_i)$"),
        ps.Step(lhs=r"\operatorname{ntcov}(f(x), U)", rhs=r"\sum_i \hat\Theta(x, x_i)\,r_i", check=False,
                why=r"$\hat\Theta(x, x') = \nabla_w f(x)\cdot\nabla_w f(x') = \operatorname{ntcov}(f(x), f(x'))$"),
        ps.Step(lhs=r"\hat\Theta(x, x_i)", rhs=r"\Theta(x, x_i) + O_P(m^{-1/2})", check=False,
                why=r"the empirical NTK concentrates on the infinite-width one (``kernels/relu``)"),
    )
    return ps.Derivation(
        lhs=r"\operatorname{ntcov}(f(x), U)",
        result=result,
        symbols={**FLOW_NETWORK, r1: ps.uniform(-1.0, 1.0), r2: ps.uniform(-1.0, 1.0)},
        observables=observables,
        notation=notation,
        assumptions=(r"a ReLU network of one hidden layer of width $m \to \infty$, NTK parametrisation, at its random "
                     r"initialisation (or anywhere along lazy training)",
                     r"$U = -\tfrac12\sum_{i=1}^2 (f(x_i) - y_i)^2$, residuals $r_i = y_i - f(x_i)$"),
        steps=steps,
        checks=(
            ps.quadrature(_price_quadrature_reference, rtol=1e-9, label="kernel sum by quadrature", vectorize=True,
                          describe="Theta(x, x_i) by quadrature of the recursion, times the residuals",
                          tolerance="quadrature converged to ~1e-13: rel 1e-9"),
            ps.monte_carlo(_price_reference, instances=3, vectorize=False,
                           label=f"mean of {POOL // PRICE_WIDTH * PRICE_BATCHES} networks of width {PRICE_WIDTH}",
                           describe="jax.grad of f(x) and of U (targets y_i = f(x_i) + r_i set from each network's "
                                    "own outputs), dotted, averaged over random initialisations",
                           tolerance="4.5 SE; no width allowance: at depth 1 the empirical NTK is unbiased at every "
                                     "width"),
            ps.order(_price_fluctuation_reference, small=inverse_width, sweep=tuple(1 / m for m in FLUCTUATION_WIDTHS),
                     order=0.5, order_margin=0.2, instances=2, vectorize=False,
                     target=lambda res: sp.ImmutableMatrix([res] * BLOCKS), label="fluctuation order in 1/m",
                     describe=f"largest deviation of {BLOCKS} block means of {PRICE_PER_BLOCK} networks from the "
                              f"closed form, at widths {', '.join(map(str, FLUCTUATION_WIDTHS))}",
                     tolerance="O(m^-1/2) fluctuation of the empirical NTK: fitted log-log slope in 1/m >= 0.5 - 0.2"),
        ),
        references=(TAILCALLED, JACOT, LEE_2019),
    )


# ----------------------------------------------------------------------------- figure


def _convergence_figure(path, report=None):
    """Finite networks approach the infinite-width closed forms: (a) empirical NTK of ReLU networks against width, (b) mean predictions of trained ensembles against time."""  # noqa: E501
    from matplotlib.figure import Figure  # no pyplot: leaves the user's backend alone

    point = {"q11": 1.0, "q22": 0.8, "q12": 0.55, "sigma_w": 1.4, "sigma_b": 0.3}
    widths = np.array([32, 128, 512, 2048])
    fig = Figure(figsize=(8.4, 3.4))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for depth, marker in ((1, "o"), (2, "s")):
        net = K.fully_connected("relu", depth, point["sigma_w"], point["sigma_b"])
        exact = float(net.ntk.xreplace({q11: point["q11"], q22: point["q22"], q12: point["q12"]}))
        rms = []
        for m in widths:
            seeds = 64 if depth == 1 else 32
            _, ntk = _empirical("relu", point, jax.random.key(int(m)), depth=depth, width=int(m), seeds=seeds)
            rms.append(np.sqrt(np.mean((ntk - exact) ** 2)))
        ax1.loglog(widths, rms, marker=marker, ms=4, lw=1, label=f"depth {depth}")
        if depth == 1:
            ax1.loglog(widths, 2 * rms[-1] * np.sqrt(widths[-1] / widths), ls=":", color="0.4", lw=0.8,
                       label=r"$\propto m^{-1/2}$")
    ax1.set_xlabel("width m")
    ax1.set_ylabel(r"RMS $|\hat\Theta - \Theta|$ over initialisations")
    ax1.set_title("(a) empirical NTK, ReLU", fontsize=9)
    ax1.legend(fontsize=8)
    x = {"a0": 0.5, "a2": 1.6, "n2": 1.0, "sigma_w": 1.3, "sigma_b": 0.3, "y1": 0.8, "y2": -0.5, "eta": 0.5}
    d = kernels_gradient_flow_mse()
    times = np.linspace(0.25, 3.0, 8)
    closed = _evaluate(d, d.result[0], {**x, "t": times})
    ax2.plot(times, closed, color="k", lw=1.2, label=r"$\mu_t$ (closed form)")
    for m, marker in ((64, "^"), (128, "s"), (1024, "o")):
        means = [_trained({**x, "t": float(tt)}, jax.random.key(7), width=m)[:64].mean() for tt in times]
        ax2.plot(times, means, ls="none", marker=marker, ms=4, label=f"ensemble, m = {m}")
    ax2.set_xlabel(r"time $t$ ($\eta = 0.5$)")
    ax2.set_ylabel(r"mean prediction at $x$")
    ax2.set_title("(b) 128 networks trained by gradient descent", fontsize=9)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="pdf", metadata={"CreationDate": None})


def _evaluate(d: ps.Derivation, expr, values: dict) -> np.ndarray:
    """``expr`` at instance values (arrays broadcast), observables evaluated from their definitions."""
    n = max(np.size(v) for v in values.values())
    columns = {s_: np.broadcast_to(np.asarray(values[str(s_)], dtype=float), (n,)) for s_ in d.symbols if str(s_) in values}
    for symbol, definition in d.observables.items():
        columns[symbol] = ps.evaluate(definition, columns)
    return ps.evaluate(expr, columns)
