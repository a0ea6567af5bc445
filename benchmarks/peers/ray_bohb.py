"""Ray Tune's BOHB: ``TuneBOHB`` (hpbandster's KDE model, over ConfigSpace) with
``HyperBandForBOHB``, which pauses trials at its rungs and resumes the ones it promotes;
``sweeps.simulation.loop.simulate`` drives them as Tune's controller does (a resumed trial goes on
with its own curve, charged only its new epochs). The answer is Ray's
(``get_best_result(scope="last")``). Needs ``hpbandster`` and ``ConfigSpace`` (the ``bench`` extra).

Reproducible: TuneBOHB's seed is the space's search seed + the repetition, and hpbandster samples
with NumPy's global generator, which is seeded with it for the sweep and given back afterwards.

On a short schedule (6 epochs, reduction factor 3) HyperBandForBOHB's brackets are (5 trials to 2
epochs, 1 goes on to 6) and (3 trials at 6); a bracket counts its live trials, so finished
full-length trials free places: it is mostly BO with full runs.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from benchmarks.peers.runner import Runner, label, need, numpy_global_seed, seed_of
from benchmarks.peers.searchers import tune_domains
from sweeps.simulation.compare import Simulation
from sweeps.simulation.loop import Trace, best_last_result
from sweeps.simulation.strategies import Points, Strategy
from sweeps.space import SweepSpace

DEFAULTS: dict[str, Any] = {"reduction_factor": 3, "bohb_config": None}


def ray_bohb(space: SweepSpace, points: Points = (), *, reduction_factor: float = 3,
             bohb_config: dict[str, Any] | None = None, name: str | None = None) -> Runner:
    """TuneBOHB + HyperBandForBOHB (``max_t`` = the schedule, ``reduction_factor``);
    ``bohb_config``: hpbandster's BOHB options (``min_points_in_model``, ``top_n_percent``,
    ``num_samples``, ``random_fraction``, ``bandwidth_factor``, ``min_bandwidth``)."""
    need("hpbandster", "Ray's TuneBOHB")
    need("ConfigSpace", "Ray's TuneBOHB")
    from ray.tune.schedulers import HyperBandForBOHB
    from ray.tune.search.bohb import TuneBOHB

    name = name or label("Ray TuneBOHB+HyperBandForBOHB",
                         {"reduction_factor": reduction_factor, "bohb_config": bohb_config},
                         DEFAULTS)
    domains = tune_domains(space)

    def build(seed: int):
        # the space as a ConfigSpace, as TuneBOHB asks (it drops a parameter's step, saying so)
        bohb_logger = logging.getLogger("ray.tune.search.bohb.bohb_search")
        level = bohb_logger.level
        bohb_logger.setLevel(logging.ERROR)
        try:
            config_space = TuneBOHB.convert_search_space(domains)
        finally:
            bohb_logger.setLevel(level)
        searcher = TuneBOHB(space=config_space, bohb_config=bohb_config, metric=space.metric,
                            mode=space.mode.value, seed=seed,
                            points_to_evaluate=[dict(p) for _, p in points] or None)
        scheduler = HyperBandForBOHB(time_attr="training_iteration", max_t=space.max_epochs,
                                     reduction_factor=reduction_factor, metric=space.metric,
                                     mode=space.mode.value)
        return searcher, scheduler

    def run(sim: Simulation, repetition: int) -> Trace:
        seed = seed_of(sim, repetition)
        with numpy_global_seed(seed), warnings.catch_warnings():
            # hpbandster calls ConfigSpace's deprecated names (ConfigSpace 1.x warns each time),
            # and statsmodels' KDE warns of its future default generator
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            return sim.run(Strategy(name, lambda r: build(seed), best_last_result), repetition)

    return Runner(name, run)
