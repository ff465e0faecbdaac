"""pricesym: symbolic derivations of Price's equation for neural networks and of
natural selection as a gradient method, each cross-checked numerically by an
independent route (JAX autodiff or simulation) and reported as LaTeX.

Public names are re-exported here; every other module is private.
"""

from ._check import Check as Check
from ._check import CheckReport as CheckReport
from ._check import CheckResult as CheckResult
from ._check import Estimate as Estimate
from ._check import autodiff as autodiff
from ._check import estimate as estimate
from ._check import exact as exact
from ._check import monte_carlo as monte_carlo
from ._check import ode as ode
from ._check import order as order
from ._check import part as part
from ._check import perturb as perturb
from ._check import quadrature as quadrature
from ._derivation import Catalogue as Catalogue
from ._derivation import Derivation as Derivation
from ._derivation import Step as Step
from ._derivation import derivation as derivation
from ._derivation import load as load
from ._derivation import registry as registry
from ._domains import Domain as Domain
from ._domains import choice as choice
from ._domains import fixed as fixed
from ._domains import integers as integers
from ._domains import log_uniform as log_uniform
from ._domains import uniform as uniform
from ._errors import AssumptionError as AssumptionError
from ._errors import CheckError as CheckError
from ._errors import NotSupportedError as NotSupportedError
from ._errors import ParseError as ParseError
from ._errors import PricesymError as PricesymError
from ._errors import RegistryError as RegistryError
from ._errors import ReportError as ReportError
from ._errors import ShapeError as ShapeError
from ._errors import UnknownNameError as UnknownNameError
from ._functions import Softmax as Softmax
from ._functions import in_terms_of as in_terms_of
from ._functions import logit as logit
from ._functions import sigmoid as sigmoid
from ._functions import softmax as softmax
from ._latex import latex as latex
from ._namespace import Model as Model
from ._namespace import model as model
from ._tangent import NtCov as NtCov
from ._tangent import NtVar as NtVar
from ._tangent import gcov as gcov
from ._tangent import jacobian as jacobian
from ._tangent import ntcov as ntcov
from ._tangent import ntvar as ntvar

from ._verify import Verdict as Verdict
from ._verify import verify as verify
from ._parse import parse as parse
from ._report import write_report as write_report

__version__ = "0.1.0"

__all__ = [
    "AssumptionError", "Catalogue", "Check", "CheckError", "CheckReport", "CheckResult", "Derivation",
    "Domain", "Estimate", "Model", "NotSupportedError", "NtCov", "NtVar", "ParseError", "PricesymError",
    "RegistryError", "ReportError", "ShapeError", "Softmax", "Step", "UnknownNameError", "autodiff",
    "choice", "derivation", "estimate", "exact", "fixed", "gcov", "in_terms_of", "integers", "jacobian",
    "latex", "load", "log_uniform", "logit", "model", "monte_carlo", "ntcov", "ntvar", "ode", "order",
    "part", "perturb", "quadrature", "registry", "sigmoid", "softmax", "uniform", "Verdict", "verify", "parse", "write_report",
]
