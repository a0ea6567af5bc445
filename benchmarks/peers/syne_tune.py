"""Syne Tune (0.14.2, the ``bench`` extra) on its own simulator: the surface as a
``BlackboxTabular`` (configurations x seeds x epochs x [metric, cumulative seconds]) served by a
``UserBlackboxBackend``, under ``Tuner(sleep_time=0)`` with ``SimulatorCallback`` (Syne Tune's
simulated clock, its own event queue and pause/resume), and one of its schedulers from
``syne_tune.optimizer.legacy_baselines``:

- ``asha``: ``ASHA`` (random search + asynchronous successive halving), fast;
- ``bohb``: ``BOHB`` (ASHA + a TPE-like KDE searcher), fast;
- ``mobster``: ``MOBSTER`` (ASHA + a multi-task Gaussian process), slow (tens of seconds a sweep);
- ``hypertune``: ``HyperTune`` (Hyperband brackets + a GP), slow.

The answer is Syne Tune's (``Tuner.best_config`` / ``ExperimentResult.best_config``): the trial
with the best value reported at any epoch.

So that every peer replays the same curves the same way, the backend is told two things of ours
(a subclass; everything else is Syne Tune's): a trial's seed is the one ``Simulation.curve_for``
draws for its trial index and its proposal (kept across pause/resume, as Syne Tune keeps its own
draw), and a proposal is served the nearest tabulated configuration (so the searchers search the
space's own ranges, like the other peers; ``on_table=True`` gives them the table's values
instead). And, unless ``charge_tuner_time``, the simulated clock does not move by the real time
the scheduler spends deciding (Syne Tune's default, which makes a model-based run's timeline, so
its decisions, depend on the machine's speed and load: not reproducible); as in
``sweeps.simulation``, decisions take no simulated time. Syne Tune's clock still moves in steps of
``tuner_sleep_time`` simulated seconds per Tuner loop while every worker is busy, so a result is
noticed up to that late (our simulator: at once).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.peers.runner import (
    Runner,
    best_any_result,
    curve_for,
    label,
    need,
    numpy_global_seed,
    seed_of,
)
from sweeps.simulation.compare import Simulation
from sweeps.simulation.loop import SimEnd, Step, Trace, TrialRun
from sweeps.simulation.strategies import Points
from sweeps.simulation.surface import Config, Surface
from sweeps.space import CategoricalParameter, FloatParameter, SweepSpace

SCHEDULERS = {"asha": "ASHA", "bohb": "BOHB", "mobster": "MOBSTER", "hypertune": "HyperTune"}
#: the model-based ones that cost tens of seconds a sweep (a GP fit per decision)
SLOW = ("mobster", "hypertune")
DEFAULTS: dict[str, Any] = {"type": "stopping", "grace_period": 1, "reduction_factor": 3,
                            "brackets": 1, "search_options": None, "on_table": False,
                            "tuner_sleep_time": 1.0, "charge_tuner_time": False}
METRIC = "objective"  # the metric's name inside Syne Tune (ours may hold a "/")
ELAPSED = "elapsed_time"
MAX_RESOURCE = "max_epochs"


def whole_curves(surface: Surface, max_epochs: int) -> None:
    """Raises ValueError, naming it, when a curve of ``surface`` stops before ``max_epochs`` (a
    replayed sweep's pruned trial): Syne Tune's ``BlackboxTabular`` has no values past it."""
    for config, runs in surface.curves.items():
        for curve in runs.values():
            if len(curve.values) < max_epochs:
                raise ValueError(f"{surface.source}: a curve of {surface.as_params(config)} "
                                 f"stops at epoch {len(curve.values)} of {max_epochs}: Syne "
                                 "Tune's BlackboxTabular needs whole curves")


def blackbox(surface: Surface, max_epochs: int):
    """The surface as Syne Tune's ``BlackboxTabular``: per configuration its seeds in sorted order
    (as ``Surface.draw`` numbers them), per epoch [value, cumulative seconds]. A configuration with
    fewer seeds than the most has its own repeated in the slots left over (the seed of a trial is
    ours to draw: a slot past a configuration's own seeds is never replayed).

    Raises:
        ValueError: see :func:`whole_curves`.
    """
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.config_space import choice, randint

    whole_curves(surface, max_epochs)
    configs = surface.configs
    slots = max(len(surface.curves[c]) for c in configs)
    y = np.zeros((len(configs), slots, max_epochs, 2))
    for i, config in enumerate(configs):
        seeds = sorted(surface.curves[config])
        for s in range(slots):
            curve = surface.curves[config][seeds[s % len(seeds)]]
            y[i, s, :, 0] = curve.values[:max_epochs]
            y[i, s, :, 1] = np.cumsum(curve.seconds[:max_epochs])
    table = BlackboxTabular(
        hyperparameters=pd.DataFrame(configs, columns=surface.knobs),
        configuration_space={k: choice(v) for k, v in surface.knob_values.items()},
        fidelity_space={"epoch": randint(1, max_epochs)},
        objectives_evaluations=y, objectives_names=[METRIC, ELAPSED])
    # BlackboxTabular looks a configuration up by a tuple of its values, which a one-knob table's
    # plain index (set_index of one column) refuses; a one-level MultiIndex takes it
    index = table.hyperparameters_index
    if not isinstance(index.index, pd.MultiIndex):
        index.index = pd.MultiIndex.from_arrays([index.index], names=surface.knobs)
    return table


def search_space(space: SweepSpace, surface: Surface, on_table: bool) -> dict[str, Any]:
    """Syne Tune's domains for the space: its ranges, or (``on_table``) the table's values."""
    from syne_tune.config_space import (
        choice,
        logordinal,
        lograndint,
        loguniform,
        ordinal,
        randint,
        uniform,
    )

    out: dict[str, Any] = {}
    for name, p in space.parameters.items():
        if isinstance(p, CategoricalParameter):
            out[name] = choice(list(surface.knob_values[name] if on_table else p.choices))
        elif on_table:
            out[name] = (logordinal if p.log else ordinal)(list(surface.knob_values[name]))
        elif isinstance(p, FloatParameter):
            out[name] = (loguniform if p.log else uniform)(p.low, p.high)
        else:
            out[name] = (lograndint if p.log else randint)(p.low, p.high)
    return out


@contextlib.contextmanager
def _syne_tune_quiet(folder: str) -> Iterator[None]:
    """Syne Tune's files into ``folder`` (``SYNETUNE_FOLDER``), its logging at ERROR and its
    end-of-run summary off stdout; all given back afterwards."""
    previous = os.environ.get("SYNETUNE_FOLDER")
    os.environ["SYNETUNE_FOLDER"] = folder
    log = logging.getLogger("syne_tune")
    level = log.level
    log.setLevel(logging.ERROR)  # "Scheduler ASHA is deprecated": per trial, for every legacy one
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        log.setLevel(level)
        if previous is None:
            os.environ.pop("SYNETUNE_FOLDER", None)
        else:
            os.environ["SYNETUNE_FOLDER"] = previous


def syne_tune(space: SweepSpace, points: Points = (), *, scheduler: str = "asha",
              type: str = "stopping", grace_period: int = 1, reduction_factor: float = 3,  # noqa: A002
              brackets: int = 1, search_options: dict[str, Any] | None = None,
              on_table: bool = False, tuner_sleep_time: float = 1.0,
              charge_tuner_time: bool = False, name: str | None = None) -> Runner:
    """A Syne Tune scheduler (``asha``, ``bohb``, ``mobster``, ``hypertune``) on its simulator.

    Args:
        points: Evaluated first (``points_to_evaluate``; none given: Syne Tune starts with the
            space's midpoint, its default).
        type, grace_period, reduction_factor, brackets: The Hyperband scheduler's (``type``:
            ``stopping``, Syne Tune's default, or ``promotion``: pause-and-resume).
        search_options: The searcher's options (e.g. MOBSTER's ``opt_skip_period``).
        on_table: Search the table's values (``ordinal``) instead of the space's ranges
            (duplicates allowed: proposing a configuration again = another seed's run).
        tuner_sleep_time: Simulated seconds per Tuner loop while all workers are busy.
        charge_tuner_time: Move the simulated clock by the scheduler's real compute time too
            (Syne Tune's default; not reproducible).
    """
    if scheduler not in SCHEDULERS:
        raise ValueError(f"scheduler {scheduler!r}: one of {', '.join(SCHEDULERS)}")
    need("syne_tune", "Syne Tune")
    legacy = need("syne_tune.optimizer.legacy_baselines", "Syne Tune")
    scheduler_cls = getattr(legacy, SCHEDULERS[scheduler])
    if scheduler in SLOW:
        need("autograd", f"Syne Tune's {SCHEDULERS[scheduler]}")
    settings = {"type": type, "grace_period": grace_period, "reduction_factor": reduction_factor,
                "brackets": brackets, "search_options": search_options, "on_table": on_table,
                "tuner_sleep_time": tuner_sleep_time, "charge_tuner_time": charge_tuner_time}
    name = name or label(f"Syne Tune {SCHEDULERS[scheduler]}", settings, DEFAULTS)

    def run(sim: Simulation, repetition: int) -> Trace:
        if math.isinf(sim.budget_epochs) or sim.max_trials is not None:
            raise ValueError(f"{name}: Syne Tune's Tuner runs until a stop criterion: give the "
                             "simulation a budget of epochs (and no max_trials)")
        seed = seed_of(sim, repetition)
        with tempfile.TemporaryDirectory(prefix="synetune-") as folder, \
                _syne_tune_quiet(folder), numpy_global_seed(seed):
            return _run(sim, repetition, seed, scheduler_cls, points, settings)

    return Runner(name, run, replays=whole_curves)


def _run(sim: Simulation, repetition: int, seed: int, scheduler_cls, points: Points,
         settings: dict[str, Any]) -> Trace:
    from syne_tune import Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.optimizer.scheduler import SchedulerDecision
    from syne_tune.tuner_callback import TunerCallback

    space, surface, max_epochs = sim.space, sim.surface, sim.space.max_epochs
    draw = curve_for(sim, repetition)
    drawn: dict[int, tuple[dict, Config, Any]] = {}  # trial id -> (params, configuration, curve)

    def replayed(trial_id: int, config: dict) -> tuple[dict, Config, Any]:
        """What trial ``trial_id`` replays, drawn once (by whichever asks first)."""
        if trial_id not in drawn:
            params = {k: v for k, v in config.items() if k != MAX_RESOURCE}
            drawn[trial_id] = (params, *draw(trial_id, params))
        return drawn[trial_id]

    class Backend(UserBlackboxBackend):
        """Syne Tune's backend, serving our draw of each trial's seed and the nearest tabulated
        configuration; decisions cost no simulated time unless asked to."""

        def _advance_by_outside_time(self) -> None:
            if settings["charge_tuner_time"]:
                super()._advance_by_outside_time()

        def _run_job_and_collect_results(self, trial_id: int, config: dict | None = None):
            _, tabulated, curve = replayed(trial_id, self._trial_dict[trial_id].config)
            if trial_id not in self._seed_for_trial:
                seeds = sorted(surface.curves[tabulated])
                index = next((i for i, s in enumerate(seeds)
                              if surface.curves[tabulated][s] is curve), None)
                if index is None:
                    raise ValueError("Syne Tune's peer replays the surface's own curves only "
                                     "(this simulation draws others)")
                self._seed_for_trial[trial_id] = index
            self._tabulated = tabulated
            return super()._run_job_and_collect_results(trial_id, config)

        def config_objectives(self, config: dict, seed: int) -> list[dict]:
            tabulated = {**surface.as_params(self._tabulated), MAX_RESOURCE: max_epochs}
            return super().config_objectives(tabulated, seed)

    class Recorder(TunerCallback):
        """Our Trace from what the Tuner does: trials as they start, each result the scheduler
        sees (up to the budget), its decision."""

        def __init__(self) -> None:
            self.trials: list[TrialRun] = []
            self.steps: list[Step] = []
            self.epochs, self.now = 0, 0.0
            self.paused_at: dict[int, float] = {}  # paused and not resumed (yet)

        def on_start_trial(self, trial) -> None:
            assert trial.trial_id == len(self.trials)
            params, tabulated, curve = replayed(trial.trial_id, trial.config)
            self.trials.append(TrialRun(trial.trial_id, params, tabulated, curve,
                                        backend.time_keeper.time()))

        def on_resume_trial(self, trial) -> None:
            self.paused_at.pop(trial.trial_id, None)

        def on_trial_result(self, trial, status, result, decision) -> None:
            if self.epochs >= sim.budget_epochs:
                return  # trained after the budget ran out: not counted
            run = self.trials[trial.trial_id]
            epoch, value = int(result["epoch"]), float(result[METRIC])
            if epoch != run.epochs + 1 or not (value == run.curve.values[epoch - 1]
                                               or math.isnan(value)):
                raise RuntimeError(f"Syne Tune's trial {trial.trial_id} reported epoch {epoch} "
                                   f"= {value}, not its curve's next epoch")
            run.values.append(value)
            self.epochs += 1
            self.now = max(self.now, float(result.get("st_tuner_time", self.now)))
            if epoch >= max_epochs or decision == SchedulerDecision.STOP:
                run.end = SimEnd.COMPLETED if epoch >= max_epochs else SimEnd.STOPPED
                run.ended = self.now
            elif decision == SchedulerDecision.PAUSE:
                self.paused_at[trial.trial_id] = self.now
            self.steps.append(Step(self.now, self.epochs,
                                   best_any_result(self.trials, max_epochs, space.mode)))

    scheduler_kwargs: dict[str, Any] = dict(
        metric=METRIC, mode=space.mode.value, resource_attr="epoch",
        max_resource_attr=MAX_RESOURCE, random_seed=seed, type=settings["type"],
        grace_period=settings["grace_period"], reduction_factor=settings["reduction_factor"],
        brackets=settings["brackets"])
    search_options = dict(settings["search_options"] or {})
    if settings["on_table"]:
        search_options.setdefault("allow_duplicates", True)
    if search_options:
        scheduler_kwargs["search_options"] = search_options
    config_space = {**search_space(space, surface, settings["on_table"]), MAX_RESOURCE: max_epochs}
    if points:
        start = [dict(p) for _, p in points]
        if settings["on_table"]:
            start = [surface.as_params(surface.nearest(p, space)) for p in start]
        scheduler_kwargs["points_to_evaluate"] = start
    scheduler = scheduler_cls(config_space, **scheduler_kwargs)
    backend = Backend(blackbox=blackbox(surface, max_epochs), elapsed_time_attr=ELAPSED,
                      max_resource_attr=MAX_RESOURCE,
                      tuner_sleep_time=settings["tuner_sleep_time"])
    recorder = Recorder()
    tuner = Tuner(trial_backend=backend, scheduler=scheduler,
                  stop_criterion=lambda status: recorder.epochs >= sim.budget_epochs,
                  n_workers=sim.slots, sleep_time=0, callbacks=[SimulatorCallback(), recorder],
                  results_update_interval=1e9, print_update_interval=1e9,
                  tuner_name=f"peer-{repetition}", save_tuner=False)
    tuner.run()
    for run in recorder.trials:  # paused (set aside by the scheduler: stopped there), or running
        if run.end is None:
            if run.index in recorder.paused_at:
                run.end, run.ended = SimEnd.STOPPED, recorder.paused_at[run.index]
            else:
                run.end, run.ended = SimEnd.CUT, recorder.now
    return Trace(recorder.trials, recorder.steps)
