"""One way to run any peer for a repetition and get a ``Trace``, whatever its library's control
loop: a Ray searcher + scheduler (a ``Strategy``, run by ``sweeps.simulation.loop.simulate``), or a
``Runner`` whose library drives its own loop (Optuna ask/tell, DEHB, Syne Tune's simulator),
replaying the same curves the same way (``Simulation.curve_for``: the tabulated configuration
nearest a proposal, one seed's curve drawn per trial index, each epoch its tabulated seconds,
``Simulation.slots`` trials at once) and recording the same ``Trace``."""

from __future__ import annotations

import contextlib
import heapq
import importlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from sweeps.constants import Mode
from sweeps.simulation.compare import CurveFor, Simulation
from sweeps.simulation.loop import SimEnd, Step, Trace, TrialRun
from sweeps.simulation.strategies import Strategy
from sweeps.simulation.surface import Config, Surface


@dataclass(frozen=True)
class Runner:
    """A peer whose library runs its own loop: ``run(simulation, repetition) -> Trace``;
    ``replays(surface, max_epochs)`` raises ValueError, saying why, for a table it cannot replay."""

    name: str
    run: Callable[[Simulation, int], Trace]
    replays: Callable[[Surface, int], None] = lambda surface, max_epochs: None


Peer = Strategy | Runner


def run_peer(peer: Peer, sim: Simulation, repetition: int) -> Trace:
    """One simulated sweep of ``peer`` (its repetition ``repetition``)."""
    if isinstance(peer, Runner):
        return peer.run(sim, repetition)
    return sim.run(peer, repetition)


def repeat_peer(peer: Peer, sim: Simulation, repetitions: int) -> list[Trace]:
    return [run_peer(peer, sim, r) for r in range(repetitions)]


def curve_for(sim: Simulation, repetition: int) -> CurveFor:
    """What a trial of ``sim`` replays, as ``Simulation.run`` draws it."""
    return (sim.curves or (lambda r: sim.surface.curve_for(sim.space, r)))(repetition)


def seed_of(sim: Simulation, repetition: int) -> int:
    """The peer's search seed for a repetition, as the Ray peers and aqr-sweep move it on."""
    return (sim.space.search.seed or 0) + repetition


def need(module: str, what: str) -> Any:
    """Import ``module`` (a library of the ``bench`` extra), or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"{what} needs {module!r} ({err}): install the benchmarks' extra, "
                          "`pip install -e '.[bench]'`") from err


@contextlib.contextmanager
def numpy_global_seed(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator for a library that samples with it (hpbandster, parts of
    Syne Tune), and give the caller's state back afterwards."""
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


def best_any_result(trials: list[TrialRun], max_epochs: int, mode: Mode) -> Config | None:
    """Syne Tune's answer (``Tuner.best_config`` / ``ExperimentResult.best_config``): the trial
    with the best value reported at any epoch."""
    best: tuple[float, TrialRun] | None = None
    for t in trials:
        for value in t.values:
            if not math.isnan(value) and (best is None or mode.better(value, best[0])):
                best = (value, t)
    return best[1].config if best else None


class Job(Protocol):
    """One trial of an ask/tell library: its params and how it hears each epoch's value."""

    params: dict[str, Any]

    def result(self, epoch: int, value: float) -> bool:
        """The value after ``epoch``; True when the job ends there (its fidelity is reached, it
        is pruned, or it completed the schedule)."""


def simulate_jobs(sim: Simulation, repetition: int, ask: Callable[[int], Job | None],
                  recommend: Callable[[list[TrialRun]], Config | None]) -> Trace:
    """An ask/tell library in simulated time: ``sim.slots`` jobs at once, each replaying its drawn
    curve epoch by epoch (each epoch its tabulated seconds; events in time order, ties by trial
    index, as ``simulate`` orders them), ``Job.result`` after each epoch, a ``Step`` after each
    with ``recommend``'s answer, until ``sim.budget_epochs`` were trained (running jobs are cut).

    ``ask(index)`` gives trial ``index``'s job (None: nothing to run now)."""
    space, draw = sim.space, curve_for(sim, repetition)
    trials: list[TrialRun] = []
    jobs: dict[int, Job] = {}
    steps: list[Step] = []
    events: list[tuple[float, int, int]] = []
    now, epochs, exhausted = 0.0, 0, False

    def start() -> None:
        nonlocal exhausted
        while not exhausted and len(jobs) < sim.slots \
                and (sim.max_trials is None or len(trials) < sim.max_trials):
            index = len(trials)
            job = ask(index)
            if job is None:
                exhausted = not jobs
                return
            config, curve = draw(index, job.params)
            trials.append(TrialRun(index, dict(job.params), config, curve, now))
            jobs[index] = job
            heapq.heappush(events, (now + curve.seconds[0], index, 1))

    start()
    while events and epochs < sim.budget_epochs:
        now, index, epoch = heapq.heappop(events)
        run = trials[index]
        value = run.curve.values[epoch - 1]
        run.values.append(value)
        epochs += 1
        ends = jobs[index].result(epoch, value)
        if epoch >= space.max_epochs:
            end: SimEnd | None = SimEnd.COMPLETED
        elif epoch >= len(run.curve.values):
            end = SimEnd.PAST_DATA
        else:
            end = SimEnd.STOPPED if ends else None
        if end is None:
            heapq.heappush(events, (now + run.curve.seconds[epoch], index, epoch + 1))
        else:
            run.end, run.ended = end, now
            del jobs[index]
        steps.append(Step(now, epochs, recommend(trials)))
        start()
    for index in jobs:
        trials[index].end, trials[index].ended = SimEnd.CUT, now
    return Trace(trials, steps)


def label(base: str, settings: dict[str, Any], defaults: dict[str, Any]) -> str:
    """``base``, with the settings that differ from the defaults: ``name (grace 2, rf 3)``."""
    changed = [f"{k} {v}" for k, v in settings.items() if defaults.get(k, object()) != v]
    return f"{base} ({', '.join(changed)})" if changed else base
