r"""Infinite-width kernels of fully connected networks, in closed form (MATH.md Part K),
and the finite-network references that check them (imports JAX).

Symbolic: ``fully_connected(activation, depth, W_std, b_std, parameterization="ntk")``
returns a `FullyConnected` with ``.nngp`` and ``.ntk`` (SymPy, in the input symbols
``INPUTS`` = (q11, q22, q12) for x·x/d, x'·x'/d, x·x'/d), each layer of the
recursion, and ``.kernel_fn(x1, x2)``, the compiled Gram matrices; `input_layer` and
`next_layer` are single steps of the recursion, from any symbols. Activations:
`known_activations`; those with closed-form dual kernels carry them on their
vocabulary row (`DualKernel`), the others are integrated by Gauss–Hermite
quadrature. Conventions follow neural-tangents' ``stax``.

Numeric references (never from a kernel formula): finite networks and their
empirical kernels (`init_network`, `apply_network`, `empirical_kernels`,
`empirical_gram`), ensembles trained by gradient descent (`train_ensemble`),
ntcov of an output with the utility (`price_flow`), quadrature of the Gaussian
expectations and of the whole recursion (`polar_expectation`,
`kernels_by_quadrature`), and the vectorised float64 `arccos`/`arcsin`."""

from ._numeric.fastmath import arccos as arccos
from ._numeric.fastmath import arcsin as arcsin
from ._numeric.gaussian_pairs import elementwise_derivative as elementwise_derivative
from ._numeric.gaussian_pairs import hermite_gram as hermite_gram
from ._numeric.gaussian_pairs import kernels_by_quadrature as kernels_by_quadrature
from ._numeric.gaussian_pairs import polar_expectation as polar_expectation
from ._numeric.networks import apply_network as apply_network
from ._numeric.networks import empirical_gram as empirical_gram
from ._numeric.networks import empirical_kernels as empirical_kernels
from ._numeric.networks import init_network as init_network
from ._numeric.networks import pair_inputs as pair_inputs
from ._numeric.networks import price_flow as price_flow
from ._numeric.networks import train_ensemble as train_ensemble
from ._symbolic.kernels import DEPTH as DEPTH
from ._symbolic.kernels import DIM as DIM
from ._symbolic.kernels import INPUTS as INPUTS
from ._symbolic.kernels import SIGMA_B as SIGMA_B
from ._symbolic.kernels import SIGMA_W as SIGMA_W
from ._symbolic.kernels import WIDTH as WIDTH
from ._symbolic.kernels import Activation as Activation
from ._symbolic.kernels import FullyConnected as FullyConnected
from ._symbolic.kernels import Layer as Layer
from ._symbolic.kernels import activation as activation
from ._symbolic.kernels import fully_connected as fully_connected
from ._symbolic.kernels import input_layer as input_layer
from ._symbolic.kernels import known as known_activations
from ._symbolic.kernels import next_layer as next_layer
from ._vocabulary.base import DualKernel as DualKernel

__all__ = [
    "Activation", "DEPTH", "DIM", "DualKernel", "FullyConnected", "INPUTS", "Layer", "SIGMA_B", "SIGMA_W", "WIDTH",
    "activation", "apply_network", "arccos", "arcsin", "elementwise_derivative", "empirical_gram", "empirical_kernels",
    "fully_connected", "hermite_gram", "init_network", "input_layer", "kernels_by_quadrature", "known_activations",
    "next_layer", "pair_inputs", "polar_expectation", "price_flow", "train_ensemble",
]
