"""Optuna on its own (no Ray): its ask/tell loop as a user writes it, ``trial.report(value,
epoch)`` then ``trial.should_prune()`` after every epoch, ``sim.slots`` trials at once in simulated
time; a trial that reaches the schedule is told COMPLETE with its last value, a pruned one PRUNED.
Samplers: TPE, GP (``GPSampler``: needs torch and scipy, and ``greenlet`` for its batched
L-BFGS-B, in the ``bench`` extra). Pruners: ``HyperbandPruner``, ``SuccessiveHalvingPruner``, none.
The answer is Optuna's: ``study.best_trial`` (the best COMPLETE trial).

Optuna is reproducible here: the sampler's seed is the space's search seed + the repetition, the
study's name (which Hyperband's bracket hash reads) the space's name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import optuna
from optuna.trial import TrialState

from benchmarks.peers.runner import Runner, label, seed_of, simulate_jobs
from sweeps.run.samplers import distributions
from sweeps.simulation.compare import Simulation
from sweeps.simulation.loop import Trace, TrialRun
from sweeps.simulation.strategies import Points
from sweeps.space import SweepSpace

SAMPLERS = {"tpe": "TPE", "gp": "GP"}
PRUNERS = {"hyperband": "HyperbandPruner", "sha": "SuccessiveHalvingPruner", "none": None}
DEFAULTS: dict[str, Any] = {"min_resource": 1, "reduction_factor": 3, "n_startup_trials": 10,
                            "bootstrap_count": 0, "min_early_stopping_rate": 0}


def make_sampler(kind: str, seed: int, n_startup_trials: int) -> optuna.samplers.BaseSampler:
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
    if kind == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=n_startup_trials)
    raise ValueError(f"sampler {kind!r}: one of {', '.join(SAMPLERS)}")


def make_pruner(kind: str, max_epochs: int, min_resource: int, reduction_factor: int,
                bootstrap_count: int, min_early_stopping_rate: int) -> optuna.pruners.BasePruner:
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=min_resource, max_resource=max_epochs,
                                              reduction_factor=reduction_factor,
                                              bootstrap_count=bootstrap_count)
    if kind == "sha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=min_resource, reduction_factor=reduction_factor,
            min_early_stopping_rate=min_early_stopping_rate, bootstrap_count=bootstrap_count)
    if kind == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"pruner {kind!r}: one of {', '.join(PRUNERS)}")


@contextlib.contextmanager
def _quiet_single_threaded(gp: bool) -> Iterator[None]:
    """Optuna's INFO lines off; torch on one thread for the GP (2 threads were slower on 2
    cores); both given back afterwards."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    threads = None
    if gp:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)
        if threads is not None:
            import torch

            torch.set_num_threads(threads)


class _OptunaJob:
    """One Optuna trial training epoch by epoch."""

    def __init__(self, study: optuna.Study, trial: optuna.Trial, max_epochs: int) -> None:
        self.study, self.trial, self.max_epochs = study, trial, max_epochs
        self.params = dict(trial.params)

    def result(self, epoch: int, value: float) -> bool:
        self.trial.report(value, epoch)
        if epoch >= self.max_epochs:
            self.study.tell(self.trial, value)  # NaN: Optuna fails the trial
            return True
        if self.trial.should_prune():
            self.study.tell(self.trial, state=TrialState.PRUNED)
            return True
        return False


def optuna_alone(space: SweepSpace, points: Points = (), *, sampler: str = "tpe",
                 pruner: str = "hyperband", min_resource: int = 1, reduction_factor: int = 3,
                 n_startup_trials: int = 10, bootstrap_count: int = 0,
                 min_early_stopping_rate: int = 0, name: str | None = None) -> Runner:
    """Optuna's ask/tell loop with ``sampler`` (tpe, gp) and ``pruner`` (hyperband, sha, none).

    Args:
        points: Enqueued first (``study.enqueue_trial``), as a user starts from known points.
        min_resource, reduction_factor, bootstrap_count: The pruner's (Hyperband: ``max_resource``
            is the schedule); ``min_early_stopping_rate``: SuccessiveHalving's.
        n_startup_trials: The sampler's random start-up trials (the GP models COMPLETE trials
            only: under pruning it stays random until this many completed).
    """
    settings = {"min_resource": min_resource, "reduction_factor": reduction_factor,
                "n_startup_trials": n_startup_trials, "bootstrap_count": bootstrap_count,
                "min_early_stopping_rate": min_early_stopping_rate}
    make_sampler(sampler, 0, n_startup_trials)  # refuse a bad setting now, not mid-benchmark
    make_pruner(pruner, space.max_epochs, min_resource, reduction_factor, bootstrap_count,
                min_early_stopping_rate)
    shown = {k: v for k, v in settings.items()
             if pruner != "none" or k == "n_startup_trials"}
    base = f"Optuna {SAMPLERS[sampler]}" + (f"+{PRUNERS[pruner]}" if PRUNERS[pruner]
                                            else ", no pruning")
    name = name or label(base, shown, DEFAULTS)
    dists = distributions(space)

    def run(sim: Simulation, repetition: int) -> Trace:
        with _quiet_single_threaded(sampler == "gp"):
            study = optuna.create_study(
                study_name=space.name, direction=space.mode.direction,
                sampler=make_sampler(sampler, seed_of(sim, repetition), n_startup_trials),
                pruner=make_pruner(pruner, space.max_epochs, min_resource, reduction_factor,
                                   bootstrap_count, min_early_stopping_rate))
            for _, params in points:
                study.enqueue_trial(dict(params), skip_if_exists=False)

            def ask(index: int) -> _OptunaJob:
                trial = study.ask(dists)
                assert trial.number == index
                return _OptunaJob(study, trial, space.max_epochs)

            def recommend(trials: list[TrialRun]):
                try:
                    return trials[study.best_trial.number].config
                except ValueError:  # no COMPLETE trial yet
                    return None

            return simulate_jobs(sim, repetition, ask, recommend)

    return Runner(name, run)
