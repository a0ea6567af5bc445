"""Simulated time: a Ray Tune searcher and scheduler driven as Tune's controller drives them, over
learning curves read from a surface instead of trainings, with N parallel slots.

The order of calls is Tune's (``ray.tune.execution.tune_controller``): for each result the
scheduler decides first; a result it does not stop reaches ``searcher.on_trial_result``; a trial
that is stopped, or that ends its schedule, reaches ``scheduler.on_trial_complete`` and then
``searcher.on_trial_complete`` with its last result. Results arrive in the order of their
simulated times (each epoch takes its tabulated seconds), so with one slot the decisions are the
ones a real sweep over the same curves makes.

A scheduler that pauses trials (Ray's ``HyperBandScheduler``, ``HyperBandForBOHB``: one that picks
the next trial itself with ``choose_trial_to_run``, or that ever returns PAUSE) is driven as
Tune's controller drives it: one PENDING trial from the searcher kept ready (suggested before a
slot is free, as Tune does), each free slot going to the trial ``choose_trial_to_run`` picks (a
new one, or a PAUSED one it resumes, which continues its own curve from its next epoch), PAUSE
freeing the slot, and the controller's ``stop_trial`` (``on_trial_remove`` + the searcher's
``on_trial_complete``) for the paused trials a scheduler ends. Every other scheduler runs the loop
as before, suggest-and-start per free slot.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler
from ray.tune.search import Searcher

from sweeps.constants import DEFAULT_PESSIMISM, SEED_KEY, Mode
from sweeps.run.ranking import Run, params_key, rank
from sweeps.simulation.surface import Config, Curve


class SimEnd(StrEnum):
    """How a simulated trial ended."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    CUT = "cut by the budget"
    #: a replayed sweep's pruned trial that a setting continued beyond its data
    PAST_DATA = "past its data"


@dataclass(eq=False)  # hashed by identity, as Tune's trials are (schedulers key dicts by them)
class SimTrial:
    """What Ray's schedulers read of a trial."""

    trial_id: str
    config: dict[str, Any]
    status: str = Trial.PENDING
    is_saving: bool = False
    last_result: dict[str, Any] = field(default_factory=dict)
    index: int = -1

    def __str__(self) -> str:
        return self.trial_id


class _Controller:
    """The part of Tune's ``TuneController`` that pausing schedulers call back into."""

    def __init__(self, searcher: Searcher, stop: Callable[[SimTrial], None],
                 pause: Callable[[SimTrial], None]) -> None:
        self.search_alg = SimpleNamespace(searcher=searcher)
        self.trials: list[SimTrial] = []
        self._stop, self._pause = stop, pause

    def get_trials(self) -> list[SimTrial]:
        return self.trials

    def get_live_trials(self) -> set[SimTrial]:
        return {t for t in self.trials if t.status not in (Trial.TERMINATED, Trial.ERROR)}

    def stop_trial(self, trial: SimTrial) -> None:
        self._stop(trial)

    def pause_trial(self, trial: SimTrial, should_checkpoint: bool = True) -> None:
        self._pause(trial)


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
    """The best final value among trials that ran the full schedule (Optuna's ``best_trial``)."""
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


def best_ranked(trials: list[TrialRun], max_epochs: int, mode: Mode,
                pessimism: float = DEFAULT_PESSIMISM) -> Config | None:
    """aqr-sweep's answer (``export-best``): the configuration (its exact params) that
    :mod:`sweeps.run.ranking` puts first over every trial so far: those that ran the full
    schedule on their final value, the others (stopped, or running) on their last one."""
    reported = [t for t in trials if t.values and not math.isnan(t.values[-1])]
    configs = {params_key(t.params): t.config for t in reported}
    ranking = rank((Run(params_key(t.params), t.values[-1], t.index,
                        None if t.epochs >= max_epochs else t.epochs) for t in reported), mode,
                   pessimism)
    return None if ranking.best is None else configs[ranking.best.key]


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
        scheduler: Decides after each result (continue, stop or pause); a pausing one also picks
            the trial to run (``choose_trial_to_run``).
        metric, mode: What is optimised.
        max_epochs: The full schedule.
        slots: Trials that run at once.
        curve_for: ``(trial index, params, training seed) -> (configuration, curve)``: what a
            trial replays (the seed: the one the searcher names, else None: drawn).
        recommend: How the strategy picks its answer.
        budget_epochs: Stop once this many epochs were trained (running trials are cut; a
            paused one counts as stopped when it was paused).
        max_trials: Stop proposing after this many trials.
    """
    trials: list[TrialRun] = []
    steps: list[Step] = []
    events: list[tuple[float, int, int]] = []  # (time, trial index, epoch)
    running: dict[int, SimTrial] = {}
    now, epochs, exhausted = 0.0, 0, False
    # Tune's controller path for a scheduler that picks the trial to run itself (or, from its
    # first PAUSE on, for any scheduler that pauses); FIFO-picking schedulers that only continue
    # or stop keep the suggest-and-start loop below.
    pausing = type(scheduler).choose_trial_to_run is not FIFOScheduler.choose_trial_to_run
    dropped: set[tuple[int, int]] = set()  # (index, epoch) of a trial ended or paused mid-epoch
    paused_at: dict[int, float] = {}  # index -> when the scheduler last paused it

    def start_trials() -> None:
        nonlocal exhausted
        if pausing:
            launch()
            return
        while not exhausted and len(running) < slots \
                and (max_trials is None or len(trials) < max_trials):
            index = len(trials)
            trial_id = f"sim_{index:05d}"
            suggested = searcher.suggest(trial_id)
            if suggested is None or suggested == Searcher.FINISHED:
                exhausted = suggested == Searcher.FINISHED or not running
                return
            params = {k: v for k, v in suggested.items() if not k.startswith("__")}
            config, curve = curve_for(index, params, suggested.get(SEED_KEY))
            trial = SimTrial(trial_id, suggested, Trial.RUNNING, index=index)
            controller.trials.append(trial)
            scheduler.on_trial_add(None, trial)
            trials.append(TrialRun(index, params, config, curve, now))
            running[index] = trial
            heapq.heappush(events, (now + curve.seconds[0], index, 1))

    def launch() -> None:
        """Tune's ``_maybe_update_trial_queue`` + ``_maybe_add_actors``: a new PENDING trial when
        none is (whether or not a slot is free: Tune keeps one pending trial for a searcher), then
        per free slot the scheduler's choice (or, failing it, the PENDING trial)."""
        while True:
            add_pending()
            if len(running) >= slots:
                return
            trial = scheduler.choose_trial_to_run(controller)
            if trial is None:
                trial = next((t for t in controller.trials if t.status == Trial.PENDING), None)
            if trial is None:
                return
            resume(trial)

    def add_pending() -> None:
        nonlocal exhausted
        if exhausted or (max_trials is not None and len(trials) >= max_trials) \
                or any(t.status == Trial.PENDING for t in controller.trials):
            return
        index = len(trials)
        trial_id = f"sim_{index:05d}"
        suggested = searcher.suggest(trial_id)
        if suggested is None or suggested == Searcher.FINISHED:
            exhausted = suggested == Searcher.FINISHED
            return
        params = {k: v for k, v in suggested.items() if not k.startswith("__")}
        config, curve = curve_for(index, params, suggested.get(SEED_KEY))
        trial = SimTrial(trial_id, suggested, index=index)
        controller.trials.append(trial)
        trials.append(TrialRun(index, params, config, curve, now))
        scheduler.on_trial_add(controller, trial)

    def resume(trial: SimTrial) -> None:
        """Start a PENDING trial, or resume a PAUSED one from its next epoch (only the new
        epochs are trained and counted)."""
        run = trials[trial.index]
        if not run.values:
            run.started = now
        trial.status = Trial.RUNNING
        running[trial.index] = trial
        if run.epochs >= len(run.curve.values):  # a replayed sweep's pruned trial: no more data
            finish(trial.index, SimEnd.PAST_DATA, trial.last_result or None)
            return
        heapq.heappush(events, (now + run.curve.seconds[run.epochs], trial.index, run.epochs + 1))

    def finish(index: int, end: SimEnd, result: dict | None) -> None:
        trial = running.pop(index)
        trials[index].end, trials[index].ended = end, now
        trial.status = Trial.TERMINATED
        scheduler.on_trial_complete(controller if pausing else None, trial, result)
        searcher.on_trial_complete(trial.trial_id, result=result)

    def stop_trial(trial: SimTrial) -> None:
        """Tune's ``TuneController.stop_trial``: a PAUSED or PENDING trial is removed from the
        scheduler; a RUNNING one completes with its last result."""
        if trial.status in (Trial.TERMINATED, Trial.ERROR):
            return
        run = trials[trial.index]
        if trial.status == Trial.RUNNING:
            running.pop(trial.index)
            dropped.add((trial.index, run.epochs + 1))
            scheduler.on_trial_complete(controller, trial, trial.last_result)
            searcher.on_trial_complete(trial.trial_id, result=trial.last_result)
        else:
            scheduler.on_trial_remove(controller, trial)
            searcher.on_trial_complete(trial.trial_id)
        trial.status = Trial.TERMINATED
        run.end = SimEnd.COMPLETED if run.epochs >= max_epochs else SimEnd.STOPPED
        run.ended = now

    def pause_trial(trial: SimTrial) -> None:
        if trial.status == Trial.RUNNING:
            running.pop(trial.index)
            dropped.add((trial.index, trials[trial.index].epochs + 1))
            trial.status = Trial.PAUSED
            paused_at[trial.index] = now

    controller = _Controller(searcher, stop_trial, pause_trial)
    # as Tune sets them from its TuneConfig (a class given them already keeps its own)
    scheduler.set_search_properties(metric, mode.value)
    searcher.set_search_properties(metric, mode.value, {})
    start_trials()
    while events and epochs < budget_epochs:
        at, index, epoch = heapq.heappop(events)
        if (index, epoch) in dropped:
            dropped.discard((index, epoch))
            continue
        now = at
        run, trial = trials[index], running[index]
        value = run.curve.values[epoch - 1]
        run.values.append(value)
        epochs += 1
        result = {metric: value, "epoch": epoch, "training_iteration": epoch,
                  "trial_id": trial.trial_id}
        trial.last_result = result
        decision = scheduler.on_trial_result(controller if pausing else None, trial, result)
        if decision == TrialScheduler.STOP:
            finish(index, SimEnd.COMPLETED if epoch >= max_epochs else SimEnd.STOPPED, result)
        else:
            searcher.on_trial_result(trial.trial_id, result)
            if epoch >= max_epochs:
                finish(index, SimEnd.COMPLETED, result)
            elif epoch >= len(run.curve.values):  # a replayed sweep's pruned trial, continued
                finish(index, SimEnd.PAST_DATA, result)
            elif decision == TrialScheduler.PAUSE:  # the slot is free; the scheduler resumes it
                running.pop(index)
                trial.status = Trial.PAUSED
                paused_at[index] = now
                pausing = True
            else:
                heapq.heappush(events, (now + run.curve.seconds[epoch], index, epoch + 1))
        steps.append(Step(now, epochs, recommend(trials, max_epochs, mode)))
        start_trials()
    for index in list(running):
        trials[index].end, trials[index].ended = SimEnd.CUT, now
        running.pop(index)
    for run in trials:  # paused when the budget ran out: set aside by the scheduler, stopped there
        if run.end is None and controller.trials[run.index].status == Trial.PAUSED:
            run.end, run.ended = SimEnd.STOPPED, paused_at[run.index]
    # the trial Tune keeps pending, suggested but never started (always the last one)
    return Trace([t for t in trials if t.end is not None or t.values], steps)
