"""Infinite-width kernels of fully connected networks (MATH.md Part K), symbolic.

`activations` (which activations, their dual kernels: the vocabulary's `DualKernel`
rows plus ``identity`` and ``sign``), `recursion` (the NNGP/NTK recursion, linear
in the depth), `network` (`fully_connected` and the `FullyConnected` value). The
compiled Gram-matrix function lives on the check side (`pricesym._check.kernels`).
"""

from .activations import Activation, DualExpectation, activation, known
from .network import DEPTH, DIM, INPUTS, SIGMA_B, SIGMA_W, WIDTH, FullyConnected, fully_connected
from .recursion import Layer, LayerKernel, LayerNtk, input_layer, next_layer

__all__ = ["Activation", "DualExpectation", "activation", "known", "DEPTH", "DIM", "INPUTS", "SIGMA_B", "SIGMA_W", "WIDTH",
           "FullyConnected",
           "fully_connected", "Layer", "LayerKernel", "LayerNtk", "input_layer", "next_layer"]
