"""Population genetics: fixation probabilities and times in closed form, exact
absorption solves of the finite chains, and seeded JAX simulators (imports JAX).

Closed forms (`kimura_fixation`, `moran_fixation`, ...; `FixationMoment`) are for
derivations; references use the solves and simulators, which know the process,
not the formula. Every fixation simulator runs on `restart_and_drain`."""

from ._numeric.chains import Absorption as Absorption
from ._numeric.chains import moran_absorption_system as moran_absorption_system
from ._numeric.chains import moran_transitions as moran_transitions
from ._numeric.chains import wright_fisher_absorption_system as wright_fisher_absorption_system
from ._numeric.exact_laws import birth_death_fixation as birth_death_fixation
from ._numeric.fixation import Fates as Fates
from ._numeric.fixation import MoranTimes as MoranTimes
from ._numeric.fixation import moran_fates as moran_fates
from ._numeric.fixation import moran_jump_step as moran_jump_step
from ._numeric.fixation import moran_step as moran_step
from ._numeric.fixation import restart_and_drain as restart_and_drain
from ._numeric.fixation import simulate_moran as simulate_moran
from ._numeric.fixation import simulate_moran_times as simulate_moran_times
from ._numeric.fixation import simulate_wright_fisher as simulate_wright_fisher
from ._numeric.fixation import wright_fisher_step as wright_fisher_step
from ._numeric.populations import Selection as Selection
from ._numeric.populations import simulate_gaussian_selection as simulate_gaussian_selection
from ._numeric.populations import simulate_offspring as simulate_offspring
from ._symbolic.fixation import FixationMoment as FixationMoment
from ._symbolic.fixation import kimura_fixation as kimura_fixation
from ._symbolic.fixation import kimura_times as kimura_times
from ._symbolic.fixation import moran_fixation as moran_fixation
from ._symbolic.fixation import moran_neutral_times as moran_neutral_times

__all__ = [
    "Absorption", "Fates", "FixationMoment", "MoranTimes", "Selection", "birth_death_fixation", "kimura_fixation",
    "kimura_times", "moran_absorption_system", "moran_fates", "moran_fixation", "moran_jump_step",
    "moran_neutral_times", "moran_step", "moran_transitions", "restart_and_drain", "simulate_gaussian_selection",
    "simulate_moran", "simulate_moran_times", "simulate_offspring", "simulate_wright_fisher",
    "wright_fisher_absorption_system", "wright_fisher_step",
]
