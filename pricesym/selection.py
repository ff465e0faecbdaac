"""Natural selection as a gradient method: what a user writing a selection
derivation needs (imports JAX).

Symbolic: selection functions :math:`P_s` (`Linear`, `Hard`, `Probit`,
`Logistic`, `MoranFixation`, `KimuraFixation`, `Custom`), mutation laws
(`Gaussian`, `AnisotropicGaussian`, `Radial`) and the integrals of the annealing
model (`acceptance`, `mean_displacement`, `expected_step`, ...; register a rule
with ``@expected_step.register``). Numeric references: the annealing simulator
(`anneal`, `anneal_until_accepted`) with its estimators, and Gauss-Hermite and
adaptive quadratures of the defining integrals."""

from ._numeric.annealing import Annealing as Annealing
from ._numeric.annealing import acceptance_rate as acceptance_rate
from ._numeric.annealing import accepted_mean as accepted_mean
from ._numeric.annealing import accepted_mean_cv as accepted_mean_cv
from ._numeric.annealing import anneal as anneal
from ._numeric.annealing import anneal_until_accepted as anneal_until_accepted
from ._numeric.annealing import rounds_per_step as rounds_per_step
from ._numeric.exact_laws import gaussian_selection_moments as gaussian_selection_moments
from ._numeric.quadrature import gaussian_linear_moments as gaussian_linear_moments
from ._numeric.quadrature import gaussian_quadrature as gaussian_quadrature
from ._numeric.quadrature import learning_rate_quadrature as learning_rate_quadrature
from ._symbolic.selection import DELTA as DELTA
from ._symbolic.selection import AnisotropicGaussian as AnisotropicGaussian
from ._symbolic.selection import Custom as Custom
from ._symbolic.selection import Gaussian as Gaussian
from ._symbolic.selection import Hard as Hard
from ._symbolic.selection import KimuraFixation as KimuraFixation
from ._symbolic.selection import Linear as Linear
from ._symbolic.selection import Logistic as Logistic
from ._symbolic.selection import MoranFixation as MoranFixation
from ._symbolic.selection import MutationLaw as MutationLaw
from ._symbolic.selection import Probit as Probit
from ._symbolic.selection import Radial as Radial
from ._symbolic.selection import SelectionFunction as SelectionFunction
from ._symbolic.selection import acceptance as acceptance
from ._symbolic.selection import acceptance_small_mutation as acceptance_small_mutation
from ._symbolic.selection import curvature_step as curvature_step
from ._symbolic.selection import expected_step as expected_step
from ._symbolic.selection import learning_rate as learning_rate
from ._symbolic.selection import mean_displacement as mean_displacement
from ._symbolic.selection import skew_normal_moments as skew_normal_moments
from ._symbolic.selection import small_mutation_series as small_mutation_series
from ._symbolic.selection import weak_limit as weak_limit

__all__ = [
    "AnisotropicGaussian", "Annealing", "Custom", "DELTA", "Gaussian", "Hard", "KimuraFixation", "Linear",
    "Logistic", "MoranFixation", "MutationLaw", "Probit", "Radial", "SelectionFunction", "acceptance",
    "acceptance_rate", "acceptance_small_mutation", "accepted_mean", "accepted_mean_cv", "anneal",
    "anneal_until_accepted", "curvature_step", "expected_step", "gaussian_linear_moments", "gaussian_quadrature",
    "gaussian_selection_moments", "learning_rate", "learning_rate_quadrature", "mean_displacement",
    "rounds_per_step", "skew_normal_moments", "small_mutation_series", "weak_limit",
]
