"""Optuna samplers by the names a space file uses, and the Optuna distributions of a space."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

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


def suggest_params(trial: optuna.Trial, space: SweepSpace) -> dict[str, Any]:
    """Ask ``trial`` for the space's parameters, define-by-run: a parameter whose ``when`` does
    not hold is not asked for (it keeps the base config's value)."""
    params: dict[str, Any] = {}
    dists = distributions(space)
    for name in sorted(space.parameters, key=lambda n: space.parameters[n].when is not None):
        if space.active(name, params):
            params[name] = _suggest(trial, name, dists[name])
    return params


def _suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)


def conditional(space: SweepSpace) -> bool:
    """Whether some parameter applies only under a condition."""
    return any(p.when for p in space.parameters.values())


def _tpe(space: SweepSpace, seed: int | None) -> optuna.samplers.TPESampler:
    """Optuna's TPE, multivariate; with ``group`` (Optuna calls it experimental) for a space
    with conditional parameters, so that they are modelled where they apply."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(5, space.search.num_trials),
                                          multivariate=True, group=conditional(space))


def _qmc(seed: int | None) -> optuna.samplers.QMCSampler:
    """Optuna's quasi-Monte Carlo (Sobol) sampler, scrambled with the seed: unscrambled (Optuna's
    default) it ignores the seed and every sweep proposes the same points, the first of them
    every parameter at its lower bound. One driver asks, so the seeding is not asynchronous."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.QMCSampler(seed=seed, scramble=True,
                                          warn_asynchronous_seeding=False)


SAMPLERS: dict[str, Callable[[SweepSpace, int | None], optuna.samplers.BaseSampler]] = {
    "tpe": lambda s, seed: _tpe(s, seed),
    "random": lambda s, seed: optuna.samplers.RandomSampler(seed=seed),
    "grid": lambda s, seed: GridSampler(s.grid_points(), seed=seed),
    "cmaes": lambda s, seed: optuna.samplers.CmaEsSampler(seed=seed),
    "gp": lambda s, seed: optuna.samplers.GPSampler(seed=seed),
    "qmc": lambda s, seed: _qmc(seed),
}


def build_sampler(space: SweepSpace, trials_so_far: int = 0) -> optuna.samplers.BaseSampler:
    """The sampler that ``space.search.sampler`` names, seeded with ``search.seed`` plus the
    number of trials the study already holds: a resumed sweep goes on with a new sequence (the
    space's seed again would propose the configurations it already ran), and stays
    reproducible."""
    seed = None if space.search.seed is None else space.search.seed + trials_so_far
    return SAMPLERS[space.search.sampler](space, seed)


def first_trial(space: SweepSpace, points: list[tuple[str, dict]]) -> tuple[str, dict]:
    """The label and params of a sweep's first trial: its first enqueued point, else the
    sampler's first proposal."""
    if points:
        return points[0]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return "", suggest_params(optuna.create_study(sampler=build_sampler(space)).ask(), space)
