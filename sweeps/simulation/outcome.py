"""What one simulated sweep achieved, measured against the surface's truth (each
configuration's mean final value over its seeds)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sweeps.constants import Mode
from sweeps.simulation.loop import SimEnd, Trace
from sweeps.simulation.surface import Config, Surface

#: how close to the best configuration's mean counts as having found it
TOLERANCE = 0.005


@dataclass(frozen=True)
class Outcome:
    """One repetition of one strategy, up to a budget of epochs."""

    epochs: int
    trials: int
    recommended: Config | None
    #: how much worse the recommended configuration truly is than the best (NaN: nothing yet)
    regret: float
    #: epochs trained when the recommendation first came within ``TOLERANCE`` of the best
    epochs_to_target: int | None
    #: the best configuration was started and then stopped before the full schedule
    stopped_best: bool
    #: (epochs trained, true value of the recommendation) after each result
    curve: tuple[tuple[int, float], ...]


def outcome(trace: Trace, surface: Surface, mode: Mode, budget: float = math.inf,
            tolerance: float = TOLERANCE) -> Outcome:
    """Score ``trace`` as it stood when ``budget`` epochs were trained."""
    best, best_value = surface.best(mode)
    steps = [s for s in trace.steps if s.epochs <= budget]
    end_time = steps[-1].time if steps else 0.0
    curve, to_target = [], None
    for step in steps:
        value = math.nan if step.recommended is None else surface.true_final(step.recommended)
        curve.append((step.epochs, value))
        if to_target is None and not math.isnan(value) \
                and mode.sign * (best_value - value) <= tolerance:
            to_target = step.epochs
    recommended = steps[-1].recommended if steps else None
    regret = math.nan if recommended is None else \
        mode.sign * (best_value - surface.true_final(recommended))
    started = [t for t in trace.trials if t.started <= end_time]
    stopped_best = any(t.config == best and t.end == SimEnd.STOPPED and t.ended <= end_time
                       for t in started)
    return Outcome(steps[-1].epochs if steps else 0, len(started), recommended, regret,
                   to_target, stopped_best, tuple(curve))
