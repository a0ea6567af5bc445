"""Strategies side by side over repetitions of a simulated sweep."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sweeps.simulation.loop import Trace, simulate
from sweeps.simulation.strategies import Strategy
from sweeps.simulation.surface import Config, Curve, Surface
from sweeps.space import SweepSpace

#: ``(trial index, params, training seed or None) -> (configuration, curve)``
CurveFor = Callable[..., tuple[Config, Curve]]


@dataclass
class Simulation:
    """What is replayed and how: the surface, the space (metric, mode, schedule, concurrency)
    and the limits of each simulated sweep."""

    surface: Surface
    space: SweepSpace
    slots: int
    budget_epochs: float = math.inf
    max_trials: int | None = None
    #: ``repetition -> curve_for``; default: the surface's nearest configuration, a drawn seed
    curves: Callable[[int], CurveFor] | None = None
    #: a replayed sweep's trials' params, by configuration (``(trial number,)``)
    params: dict[Config, dict] | None = None

    def params_of(self, config: Config) -> dict:
        """The params a configuration stands for."""
        return (self.params or {}).get(config) or self.surface.as_params(config)

    def run(self, strategy: Strategy, repetition: int) -> Trace:
        searcher, scheduler = strategy.build(repetition)
        curve_for = (self.curves or (lambda r: self.surface.curve_for(self.space, r)))(repetition)
        return simulate(searcher, scheduler, metric=self.space.metric, mode=self.space.mode,
                        max_epochs=self.space.max_epochs, slots=self.slots, curve_for=curve_for,
                        recommend=strategy.recommend, budget_epochs=self.budget_epochs,
                        max_trials=self.max_trials)

    def repeat(self, strategy: Strategy, repetitions: int) -> list[Trace]:
        return [self.run(strategy, r) for r in range(repetitions)]
