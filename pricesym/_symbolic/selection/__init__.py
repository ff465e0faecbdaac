"""Natural selection as a gradient method, symbolically: selection functions,
mutation laws, and the integrals of the annealing model (Sourbut 2022).
Importing this package registers the selection and mutation classes as JAX
pytrees (so it imports JAX)."""

from . import pytrees
from .functions import DELTA, Custom, Hard, KimuraFixation, Linear, Logistic, MoranFixation, Probit, SelectionFunction
from .integrals import (
                        acceptance,
                        acceptance_small_mutation,
                        curvature_step,
                        expected_step,
                        learning_rate,
                        mean_displacement,
                        skew_normal_moments,
                        small_mutation_series,
                        weak_limit,
)
from .mutation import AnisotropicGaussian, Gaussian, MutationLaw, Radial

pytrees.register()

__all__ = [
    "DELTA", "AnisotropicGaussian", "Custom", "Gaussian", "Hard", "KimuraFixation", "Linear", "Logistic",
    "MoranFixation", "MutationLaw", "Probit", "Radial", "SelectionFunction", "acceptance",
    "acceptance_small_mutation", "curvature_step", "expected_step", "learning_rate", "mean_displacement",
    "skew_normal_moments", "small_mutation_series", "weak_limit",
]
