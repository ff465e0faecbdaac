"""pricesym: symbolic derivations of Price's equation for neural networks and of
natural selection as a gradient method, each cross-checked numerically by an
independent route (JAX autodiff or simulation) and reported as LaTeX.

The front door: everything a user (and the catalogue) needs is re-exported here
or from the thin public modules `pricesym.numeric` (tools for references),
`pricesym.selection`, `pricesym.popgen` and `pricesym.dynamics`, and
`pricesym.kernels` (infinite-width kernels; also ``ps.kernels``, imported on first
access). Every other module is private. JAX is imported only when a numeric tool
is first used.
"""

from ._cache import kept as kept
from ._check.compile import evaluate as evaluate
from ._check.domains import Domain as Domain
from ._check.domains import choice as choice
from ._check.domains import fixed as fixed
from ._check.domains import integers as integers
from ._check.domains import log_uniform as log_uniform
from ._check.domains import uniform as uniform
from ._check.kinds import Check as Check
from ._check.kinds import autodiff as autodiff
from ._check.kinds import exact as exact
from ._check.kinds import monte_carlo as monte_carlo
from ._check.kinds import ode as ode
from ._check.kinds import order as order
from ._check.kinds import part as part
from ._check.kinds import quadrature as quadrature
from ._check.mutate import perturb as perturb
from ._check.results import CheckReport as CheckReport
from ._check.results import CheckResult as CheckResult
from ._derivation.derivation import Derivation as Derivation
from ._derivation.derivation import Step as Step
from ._derivation.loader import load as load
from ._derivation.registry import Catalogue as Catalogue
from ._derivation.registry import derivation as derivation
from ._derivation.registry import registry as registry
from ._errors import AssumptionError as AssumptionError
from ._errors import CheckError as CheckError
from ._errors import NotSupportedError as NotSupportedError
from ._errors import ParseError as ParseError
from ._errors import PricesymError as PricesymError
from ._errors import RegistryError as RegistryError
from ._errors import ReportError as ReportError
from ._errors import ShapeError as ShapeError
from ._errors import UnknownNameError as UnknownNameError
from ._numeric.estimators import Estimate as Estimate
from ._numeric.estimators import estimate as estimate
from ._report.printer import latex as latex
from ._report.write import write_report as write_report
from ._symbolic.model import Model as Model
from ._symbolic.model import model as model
from ._symbolic.observables import in_terms_of as in_terms_of
from ._symbolic.tangent import NtCov as NtCov
from ._symbolic.tangent import NtVar as NtVar
from ._symbolic.tangent import gcov as gcov
from ._symbolic.tangent import jacobian as jacobian
from ._symbolic.tangent import ntcov as ntcov
from ._symbolic.tangent import ntvar as ntvar
from ._symbolic.tidy import tidy as tidy
from ._verify.parse import Assumption as Assumption
from ._verify.parse import parse as parse
from ._verify.verdict import Verdict as Verdict
from ._verify.verify import verify as verify
from ._vocabulary import Softmax as Softmax
from ._vocabulary import gelu as gelu
from ._vocabulary import heaviside as heaviside
from ._vocabulary import leaky_relu as leaky_relu
from ._vocabulary import logit as logit
from ._vocabulary import relu as relu
from ._vocabulary import sigmoid as sigmoid
from ._vocabulary import silu as silu
from ._vocabulary import softmax as softmax
from ._vocabulary import softplus as softplus

__version__ = "0.1.0"


# The public submodules, reachable as `ps.selection` and so on without `import pricesym` importing
# them (and JAX): each is imported on first use.
_SUBMODULES = ("dynamics", "kernels", "numeric", "popgen", "selection")


def __getattr__(name: str):
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_SUBMODULES})


__all__ = [
    "Assumption", "AssumptionError", "Catalogue", "Check", "CheckError", "CheckReport", "CheckResult",
    "Derivation", "Domain", "Estimate", "Model", "NotSupportedError", "NtCov", "NtVar", "ParseError",
    "PricesymError", "RegistryError", "ReportError", "ShapeError", "Softmax", "Step", "UnknownNameError",
    "Verdict", "autodiff", "choice", "derivation", "estimate", "evaluate", "exact", "fixed", "gcov", "gelu",
    "heaviside", "in_terms_of", "integers", "jacobian", "kept", "latex", "leaky_relu", "load", "log_uniform", "logit",
    "model", "monte_carlo", "ntcov", "ntvar", "ode", "order", "parse", "part", "perturb", "quadrature",
    "registry", "relu", "sigmoid", "silu", "softmax", "softplus", "tidy", "uniform", "verify", "write_report",
]
