"""Training dynamics beyond gradient flow, symbolically: finite-step series,
backward error analysis, minibatch noise, stationary covariances (Barrett & Dherin
2021; Li, Tai & E 2017; Mandt, Hoffman & Blei 2017)."""

from ._symbolic.dynamics import ETA as ETA
from ._symbolic.dynamics import Stationary as Stationary
from ._symbolic.dynamics import flow_series as flow_series
from ._symbolic.dynamics import gd_minus_flow as gd_minus_flow
from ._symbolic.dynamics import gd_step_series as gd_step_series
from ._symbolic.dynamics import lyapunov_stationary as lyapunov_stationary
from ._symbolic.dynamics import minibatch_covariance as minibatch_covariance
from ._symbolic.dynamics import modified_loss as modified_loss
from ._symbolic.dynamics import series_coefficients as series_coefficients

__all__ = [
    "ETA", "Stationary", "flow_series", "gd_minus_flow", "gd_step_series", "lyapunov_stationary",
    "minibatch_covariance", "modified_loss", "series_coefficients",
]
