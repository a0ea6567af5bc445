"""The peers' strategies a benchmark compares with aqr-sweep's, each through the peer's own
classes (Ray's ``OptunaSearch`` and ``ASHAScheduler``, Ray's random search, plain Optuna TPE, the
tuning guide's grid), built fresh per repetition."""

from __future__ import annotations

from typing import Any

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler
from ray.tune.search import Searcher

from benchmarks.peers.searchers import FixedOrderSearcher, LeaderRerunSearcher, RandomVariantSearcher
from sweeps.guide import GUIDE_GRID
from sweeps.run.samplers import distributions
from sweeps.simulation.loop import best_completed, best_last_result, best_mean_completed
from sweeps.simulation.strategies import Points, Strategy, aqr_sweep
from sweeps.space import SweepSpace


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
