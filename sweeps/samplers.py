"""Optuna samplers by the names a space file uses, and the Optuna distributions of a space."""

from __future__ import annotations

from collections.abc import Callable

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from sweeps.space import CategoricalParameter, FloatParameter, SweepSpace


def distributions(space: SweepSpace) -> dict[str, BaseDistribution]:
    """One Optuna distribution per parameter."""
    out: dict[str, BaseDistribution] = {}
    for name, p in space.parameters.items():
        if isinstance(p, CategoricalParameter):
            out[name] = CategoricalDistribution(p.choices)
        elif isinstance(p, FloatParameter):
            out[name] = FloatDistribution(p.low, p.high, log=p.log, step=p.step)
        else:
            out[name] = IntDistribution(p.low, p.high, log=p.log, step=p.step)
    return out


SAMPLERS: dict[str, Callable[[SweepSpace], optuna.samplers.BaseSampler]] = {
    "tpe": lambda s: optuna.samplers.TPESampler(seed=s.search.seed,
                                                n_startup_trials=min(5, s.search.num_trials)),
    "random": lambda s: optuna.samplers.RandomSampler(seed=s.search.seed),
    "grid": lambda s: optuna.samplers.GridSampler(s.grid_points(), seed=s.search.seed),
    "cmaes": lambda s: optuna.samplers.CmaEsSampler(seed=s.search.seed),
    "gp": lambda s: optuna.samplers.GPSampler(seed=s.search.seed),
    "qmc": lambda s: optuna.samplers.QMCSampler(seed=s.search.seed),
}


def build_sampler(space: SweepSpace) -> optuna.samplers.BaseSampler:
    """The sampler that ``space.search.sampler`` names."""
    return SAMPLERS[space.search.sampler](space)
