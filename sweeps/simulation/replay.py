"""``aqr-sweep simulate``: replay a surface, or a finished sweep's own curves, under other pruner
settings, and say per setting what it would have spent and found."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sweeps.config.base import enqueued_points, load_base_config
from sweeps.errors import BadOptionError, SpaceError
from sweeps.run.pruners import check_pruner
from sweeps.simulation.compare import Simulation
from sweeps.simulation.loop import SimEnd, Trace
from sweeps.simulation.outcome import Outcome, outcome
from sweeps.simulation.settings import describe, parse_pruner
from sweeps.simulation.strategies import Strategy, aqr_sweep, with_pruner
from sweeps.simulation.surface import load_surface, sweep_surface
from sweeps.space import SweepSpace, load_space
from sweeps.store.study import load_study
from sweeps.store.sweep_dir import SweepDir


@dataclass
class SettingResult:
    """One pruner setting over its repetitions."""

    name: str
    traces: list[Trace]
    outcomes: list[Outcome]
    #: the full schedule, in epochs
    schedule: int

    def row(self, gpu_hours_per_epoch: float, metric: str) -> dict:
        """The setting's line of the table: medians over repetitions, with their range."""
        hours = [o.epochs * gpu_hours_per_epoch for o in self.outcomes]
        found = [o.curve[-1][1] if o.curve else math.nan for o in self.outcomes]
        finite = [v for v in found if not math.isnan(v)]
        past = [sum(t.end == SimEnd.PAST_DATA for t in trace.trials) for trace in self.traces]
        # what the continued trials could still have trained, at most: up to the full schedule
        unknown = max(sum(self.schedule - t.epochs for t in trace.trials if t.end == SimEnd.PAST_DATA)
                      for trace in self.traces) if self.traces else 0
        return {
            "setting": self.name,
            "gpu_hours": statistics.median(hours),
            "gpu_hours_range": (min(hours), max(hours)),
            f"best_{metric}": statistics.median(finite) if finite else math.nan,
            "best_range": (min(finite), max(finite)) if finite else (math.nan, math.nan),
            "trials": statistics.median(o.trials for o in self.outcomes),
            "stopped_winner": sum(o.stopped_best for o in self.outcomes) / len(self.outcomes),
            "past_data": max(past),
            "gpu_hours_unknown": unknown * gpu_hours_per_epoch,
        }


def pruner_settings(space: SweepSpace, texts: list[str]) -> list[tuple[str, SweepSpace]]:
    """The space's own pruner first, then each ``TYPE[:KEY=VALUE,...]`` setting.

    Raises:
        BadOptionError: a setting that does not parse or that its pruner refuses.
    """
    out = [(f"{describe(space.pruner)} (the space's)", space)]
    for text in texts:
        variant = with_pruner(space, parse_pruner(text))
        try:
            check_pruner(variant)
        except SpaceError as err:
            message = err.problems[0].message if err.problems else str(err)
            raise BadOptionError(f"--pruner {text!r}: {message}") from None
        out.append((describe(variant.pruner), variant))
    return out


def run_settings(simulation: Simulation, settings: list[tuple[str, Strategy]], repetitions: int,
                 progress: Callable[[str], None] = lambda _: None) -> list[SettingResult]:
    """Each setting's repetitions, scored against the surface."""
    results = []
    for name, strategy in settings:
        progress(name)
        traces = simulation.repeat(strategy, repetitions)
        outcomes = [outcome(t, simulation.surface, simulation.space.mode) for t in traces]
        results.append(SettingResult(name, traces, outcomes, simulation.space.max_epochs))
    return results


def surface_simulation(space_file: Path, surface_file: Path, texts: list[str],
                       slots: int | None = None) -> tuple[Simulation, list[tuple[str, Strategy]]]:
    """Sweeps of the space (its ``num_trials``, its concurrency) over a tabulated surface, under
    the space's own pruner and each setting of ``texts``."""
    space = load_space(space_file)
    points = enqueued_points(space, load_base_config(space, space_file))
    surface = load_surface(surface_file, space)
    simulation = Simulation(surface, space, slots=slots or space.search.concurrency,
                            max_trials=space.num_trials())
    return simulation, [(name, aqr_sweep(variant, points, name))
                        for name, variant in pruner_settings(space, texts)]


def sweep_simulation(name: str, texts: list[str]) -> tuple[Simulation,
                                                             list[tuple[str, Strategy]]]:
    """The sweep's own trials, in the order it ran them, replayed under the space's pruner and
    each setting of ``texts``: a trial the sweep pruned and a setting would continue ends where
    its data ends (``past its data``), so that setting's spending is a lower bound."""
    sweep = SweepDir(name)
    sweep.read()
    space = load_space(sweep.space_file)
    surface, params = sweep_surface(load_study(sweep), space, name)
    points = [(f"trial_{config[0]:04d}", p) for config, p in zip(surface.configs, params,
                                                                 strict=True)]
    configs = surface.configs

    def curves(repetition: int):
        return lambda index, _params, _seed=None: (configs[index], surface.curves[configs[index]][0])

    simulation = Simulation(surface, space, slots=space.search.concurrency,
                            max_trials=len(configs), curves=curves,
                            params=dict(zip(configs, params, strict=True)))
    return simulation, [(label, aqr_sweep(variant, points, label))
                        for label, variant in pruner_settings(space, texts)]
