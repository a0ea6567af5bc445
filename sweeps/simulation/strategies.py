"""The search strategies a simulation compares: aqr-sweep's own searcher and pruning bridge, and
the peers' real classes (Ray's ``OptunaSearch`` and ``ASHAScheduler``, Ray's random search, plain
Optuna TPE, the tuning guide's grid), each built fresh per repetition."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler
from ray.tune.search import Searcher

from sweeps.guide import GUIDE_GRID
from sweeps.run.ledger import TrialLedger
from sweeps.run.samplers import distributions
from sweeps.run.scheduler import build_scheduler
from sweeps.run.searcher import OptunaAskTellSearcher
from sweeps.simulation.loop import (
    Recommender,
    best_completed,
    best_last_result,
    best_mean_completed,
)
from sweeps.simulation.searchers import (
    FixedOrderSearcher,
    LeaderRerunSearcher,
    RandomVariantSearcher,
)
from sweeps.space import PrunerSpec, SweepSpace
from sweeps.store.study import enqueue_points, new_study

Points = list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Strategy:
    """A way to search: a fresh searcher and scheduler per repetition, and how it picks its
    answer."""

    name: str
    build: Callable[[int], tuple[Searcher, TrialScheduler]]
    recommend: Recommender


def with_seed(space: SweepSpace, repetition: int) -> SweepSpace:
    """The space with its search seed moved on by ``repetition``."""
    search = space.search.model_copy(update={"seed": (space.search.seed or 0) + repetition})
    return space.model_copy(update={"search": search})


def with_pruner(space: SweepSpace, pruner: PrunerSpec) -> SweepSpace:
    return space.model_copy(update={"pruner": pruner})


def aqr_sweep(space: SweepSpace, points: Points, name: str = "aqr-sweep") -> Strategy:
    """What ``aqr-sweep run`` does: the space's sampler over a study with its enqueued points,
    the ask/tell searcher and the pruning bridge (or the recording ASHA), PRUNED and COMPLETE told
    as in a real sweep; its answer is the best completed trial."""
    def build(repetition: int) -> tuple[Searcher, TrialScheduler]:
        seeded = with_seed(space, repetition)
        study = new_study(seeded, name=space.name)  # as a real sweep's (Hyperband hashes it)
        enqueue_points(study, points)
        ledger = TrialLedger()
        return (OptunaAskTellSearcher(seeded, study, ledger, Path("simulated")),
                build_scheduler(seeded, ledger))
    return Strategy(name, build, best_completed)


def aqr_sweep_rerunning_leaders(space: SweepSpace, points: Points, every: int = 4,
                                repeats: int = 3, name: str | None = None) -> Strategy:
    """aqr-sweep whose every ``every``-th trial re-runs the leading configuration (up to
    ``repeats`` runs), answering with the best mean: a measure of what confirming the top
    configurations with new seeds buys (the driver does not do this yet)."""
    def build(repetition: int) -> tuple[Searcher, TrialScheduler]:
        searcher, scheduler = aqr_sweep(space, points).build(repetition)
        return LeaderRerunSearcher(searcher, searcher.study, space.mode, every, repeats), \
            scheduler
    return Strategy(name or f"aqr-sweep + re-run leaders (every {every}, {repeats} runs)",
                    build, best_mean_completed)


def _asha(space: SweepSpace) -> ASHAScheduler:
    """Ray's ASHA as a Ray user sets it up: its own defaults, the schedule as ``max_t``."""
    return ASHAScheduler(time_attr="training_iteration", metric=space.metric, mode=space.mode.value,
                         max_t=space.max_epochs, grace_period=1)


def _optuna_search(space: SweepSpace, points: Points, repetition: int) -> Searcher:
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(space=distributions(space), metric=space.metric, mode=space.mode.value,
                        seed=(space.search.seed or 0) + repetition,
                        points_to_evaluate=[p for _, p in points] or None)


def ray_optuna_asha(space: SweepSpace, points: Points) -> Strategy:
    """Ray's ``OptunaSearch`` (its default TPE) with Ray's ``ASHAScheduler``: a stopped trial
    reaches Optuna as COMPLETE with its last value."""
    return Strategy("Ray OptunaSearch+ASHA",
                    lambda r: (_optuna_search(space, points, r), _asha(space)), best_last_result)


def ray_random_asha(space: SweepSpace, points: Points) -> Strategy:
    """Ray's random search with Ray's ``ASHAScheduler``."""
    return Strategy("Ray random+ASHA", lambda r: (
        RandomVariantSearcher(space, (space.search.seed or 0) + r, [p for _, p in points]),
        _asha(space)), best_last_result)


def optuna_tpe(space: SweepSpace, points: Points) -> Strategy:
    """Plain Optuna TPE (its defaults), every trial trained in full."""
    return Strategy("Optuna TPE, no pruning",
                    lambda r: (_optuna_search(space, points, r), FIFOScheduler()),
                    best_last_result)


def random_full(space: SweepSpace, points: Points) -> Strategy:
    """Random search, every trial trained in full."""
    return Strategy("random, full budget", lambda r: (
        RandomVariantSearcher(space, (space.search.seed or 0) + r, [p for _, p in points]),
        FIFOScheduler()), best_last_result)


def guide_configs(space: SweepSpace, current: dict[str, Any],
                  available: dict[str, list[Any]] | None = None) -> list[dict[str, Any]]:
    """The tuning guide's method: its clamp x residual grid (the values in the space's range,
    each moved to the nearest of ``available`` when given), every other knob as it is now.

    Raises:
        ValueError: the space does not search both knobs of the guide's grid.
    """
    axes = []
    for knob, values in GUIDE_GRID.items():
        p = space.parameters.get(knob)
        if p is None or not hasattr(p, "low"):
            raise ValueError(f"the guide's grid needs the numeric parameter {knob!r}")
        inside = [v for v in values if p.low <= v <= p.high]
        if available is not None:
            inside = [min(available[knob], key=lambda a, v=v: abs(a - v)) for v in inside]
        axes.append((knob, list(dict.fromkeys(inside))))
    (row, rows), (col, cols) = axes
    return [{**current, row: r, col: c} for r in rows for c in cols]


def guide_grid(space: SweepSpace, configs: list[dict[str, Any]]) -> Strategy:
    """The guide's grid, every cell trained in full, in the guide's order."""
    return Strategy("guide grid (clamp x residual)", lambda r: (
        FixedOrderSearcher(configs, space.metric, space.mode), FIFOScheduler()), best_completed)
