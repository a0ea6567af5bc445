"""Simulated time: a Ray Tune searcher and scheduler driven as Tune's controller drives them, over
learning curves read from a surface instead of trainings, with N parallel slots.

The order of calls is Tune's (``ray.tune.execution.tune_controller``): for each result the
scheduler decides first; a result it does not stop reaches ``searcher.on_trial_result``; a trial
that is stopped, or that ends its schedule, reaches ``scheduler.on_trial_complete`` and then
``searcher.on_trial_complete`` with its last result. Results arrive in the order of their
simulated times (each epoch takes its tabulated seconds), so with one slot the decisions are the
ones a real sweep over the same curves makes.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ray.tune.schedulers import TrialScheduler
from ray.tune.search import Searcher

from sweeps.constants import Mode
from sweeps.simulation.surface import Config, Curve


class SimEnd(StrEnum):
    """How a simulated trial ended."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    CUT = "cut by the budget"
    #: a replayed sweep's pruned trial that a setting continued beyond its data
    PAST_DATA = "past its data"


@dataclass
class SimTrial:
    """What Ray's schedulers read of a trial."""

    trial_id: str
    config: dict[str, Any]


@dataclass
class TrialRun:
    """One simulated trial: what was proposed, which curve it replayed, how far it got."""

    index: int
    params: dict[str, Any]
    config: Config
    curve: Curve
    started: float
    values: list[float] = field(default_factory=list)
    end: SimEnd | None = None
    ended: float = math.nan

    @property
    def epochs(self) -> int:
        return len(self.values)


@dataclass
class Step:
    """The state after one result: epochs trained so far and what would be recommended."""

    time: float
    epochs: int
    recommended: Config | None


@dataclass
class Trace:
    """Everything one simulated sweep did."""

    trials: list[TrialRun]
    steps: list[Step]

    @property
    def epochs(self) -> int:
        return self.steps[-1].epochs if self.steps else 0


#: picks the configuration a strategy would recommend from its trials so far
Recommender = Callable[[list[TrialRun], int, Mode], Config | None]


def best_completed(trials: list[TrialRun], max_epochs: int, mode: Mode) -> Config | None:
    """aqr-sweep's answer (``export-best``): the best final value among trials that ran the full
    schedule."""
    done = [t for t in trials if t.epochs >= max_epochs and not math.isnan(t.values[-1])]
    return mode.pick(done, key=lambda t: t.values[-1]).config if done else None


def best_mean_completed(trials: list[TrialRun], max_epochs: int, mode: Mode) -> Config | None:
    """The configuration with the best mean final value over its trials that ran the full
    schedule (a configuration re-run with other seeds is judged by its mean, not its luckiest
    run)."""
    finals: dict[Config, list[float]] = {}
    for t in trials:
        if t.epochs >= max_epochs and not math.isnan(t.values[-1]):
            finals.setdefault(t.config, []).append(t.values[-1])
    return mode.pick(finals, key=lambda c: sum(finals[c]) / len(finals[c])) if finals else None


def best_last_result(trials: list[TrialRun], max_epochs: int, mode: Mode) -> Config | None:
    """Ray Tune's answer (``ResultGrid.get_best_result(scope="last")``): the best last reported
    value of any trial, stopped ones included."""
    reported = [t for t in trials if t.values and not math.isnan(t.values[-1])]
    return mode.pick(reported, key=lambda t: t.values[-1]).config if reported else None


def simulate(searcher: Searcher, scheduler: TrialScheduler, *, metric: str, mode: Mode,
             max_epochs: int, slots: int, curve_for: Callable[[int, dict], tuple[Config, Curve]],
             recommend: Recommender, budget_epochs: float = math.inf,
             max_trials: int | None = None) -> Trace:
    """Run one simulated sweep.

    Args:
        searcher: Proposes configurations (``suggest``), hears results and ends.
        scheduler: Decides after each result (continue or stop).
        metric, mode: What is optimised.
        max_epochs: The full schedule.
        slots: Trials that run at once.
        curve_for: ``(trial index, params) -> (configuration, curve)``: what a trial replays.
        recommend: How the strategy picks its answer.
        budget_epochs: Stop once this many epochs were trained (running trials are cut).
        max_trials: Stop proposing after this many trials.
    """
    trials: list[TrialRun] = []
    steps: list[Step] = []
    events: list[tuple[float, int, int]] = []  # (time, trial index, epoch)
    running: dict[int, SimTrial] = {}
    now, epochs, exhausted = 0.0, 0, False

    def start_trials() -> None:
        nonlocal exhausted
        while not exhausted and len(running) < slots \
                and (max_trials is None or len(trials) < max_trials):
            index = len(trials)
            trial_id = f"sim_{index:05d}"
            suggested = searcher.suggest(trial_id)
            if suggested is None or suggested == Searcher.FINISHED:
                exhausted = suggested == Searcher.FINISHED or not running
                return
            params = {k: v for k, v in suggested.items() if not k.startswith("__")}
            config, curve = curve_for(index, params)
            trial = SimTrial(trial_id, suggested)
            scheduler.on_trial_add(None, trial)
            trials.append(TrialRun(index, params, config, curve, now))
            running[index] = trial
            heapq.heappush(events, (now + curve.seconds[0], index, 1))

    def finish(index: int, end: SimEnd, result: dict | None) -> None:
        trial = running.pop(index)
        trials[index].end, trials[index].ended = end, now
        scheduler.on_trial_complete(None, trial, result)
        searcher.on_trial_complete(trial.trial_id, result=result)

    # as Tune sets them from its TuneConfig (a class given them already keeps its own)
    scheduler.set_search_properties(metric, mode.value)
    searcher.set_search_properties(metric, mode.value, {})
    start_trials()
    while events and epochs < budget_epochs:
        now, index, epoch = heapq.heappop(events)
        run, trial = trials[index], running[index]
        value = run.curve.values[epoch - 1]
        run.values.append(value)
        epochs += 1
        result = {metric: value, "epoch": epoch, "training_iteration": epoch,
                  "trial_id": trial.trial_id}
        decision = scheduler.on_trial_result(None, trial, result)
        if decision == TrialScheduler.STOP:
            finish(index, SimEnd.COMPLETED if epoch >= max_epochs else SimEnd.STOPPED, result)
        else:
            searcher.on_trial_result(trial.trial_id, result)
            if epoch >= max_epochs:
                finish(index, SimEnd.COMPLETED, result)
            elif epoch >= len(run.curve.values):  # a replayed sweep's pruned trial, continued
                finish(index, SimEnd.PAST_DATA, result)
            else:
                heapq.heappush(events, (now + run.curve.seconds[epoch], index, epoch + 1))
        steps.append(Step(now, epochs, recommend(trials, max_epochs, mode)))
        start_trials()
    for index in list(running):
        trials[index].end, trials[index].ended = SimEnd.CUT, now
        running.pop(index)
    return Trace(trials, steps)

