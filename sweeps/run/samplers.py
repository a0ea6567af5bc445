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


class GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler without its ``study.stop()`` once the grid is used up: outside
    ``study.optimize`` that raises from ``study.tell`` (the driver already runs exactly the grid's
    number of trials)."""

    def after_trial(self, study, trial, state, values) -> None:  # noqa: ANN001 - Optuna's hook
        return None


SAMPLERS: dict[str, Callable[[SweepSpace, int | None], optuna.samplers.BaseSampler]] = {
    "tpe": lambda s, seed: optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=min(5, s.search.num_trials)),
    "random": lambda s, seed: optuna.samplers.RandomSampler(seed=seed),
    "grid": lambda s, seed: GridSampler(s.grid_points(), seed=seed),
    "cmaes": lambda s, seed: optuna.samplers.CmaEsSampler(seed=seed),
    "gp": lambda s, seed: optuna.samplers.GPSampler(seed=seed),
    "qmc": lambda s, seed: optuna.samplers.QMCSampler(seed=seed),
}


def build_sampler(space: SweepSpace, trials_so_far: int = 0) -> optuna.samplers.BaseSampler:
    """The sampler that ``space.search.sampler`` names, seeded with ``search.seed`` plus the
    number of trials the study already holds: a resumed sweep goes on with a new sequence (the
    space's seed again would propose the configurations it already ran), and stays
    reproducible."""
    seed = None if space.search.seed is None else space.search.seed + trials_so_far
    return SAMPLERS[space.search.sampler](space, seed)
