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


#: Ray's ASHA settings a benchmark may tune; the defaults are what these peers always used (grace
#: 1, Ray's own reduction factor 4 and one bracket)
ASHA_DEFAULTS: dict[str, Any] = {"grace_period": 1, "reduction_factor": 4, "brackets": 1}


def _asha(space: SweepSpace, grace_period: int = 1, reduction_factor: float = 4,
          brackets: int = 1) -> ASHAScheduler:
    """Ray's ASHA as a Ray user sets it up: the schedule as ``max_t``, the given rungs."""
    return ASHAScheduler(time_attr="training_iteration", metric=space.metric, mode=space.mode.value,
                         max_t=space.max_epochs, grace_period=grace_period,
                         reduction_factor=reduction_factor, brackets=brackets)


def _asha_name(base: str, settings: dict[str, Any]) -> str:
    changed = [f"{short} {settings[k]}" for k, short in
               (("grace_period", "grace"), ("reduction_factor", "rf"), ("brackets", "brackets"))
               if settings[k] != ASHA_DEFAULTS[k]]
    return f"{base} ({', '.join(changed)})" if changed else base


def _optuna_search(space: SweepSpace, points: Points, repetition: int) -> Searcher:
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(space=distributions(space), metric=space.metric, mode=space.mode.value,
                        seed=(space.search.seed or 0) + repetition,
                        points_to_evaluate=[p for _, p in points] or None)


def ray_optuna_asha(space: SweepSpace, points: Points, grace_period: int = 1,
                    reduction_factor: float = 4, brackets: int = 1,
                    name: str | None = None) -> Strategy:
    """Ray's ``OptunaSearch`` (its default TPE) with Ray's ``ASHAScheduler`` (``grace_period``,
    ``reduction_factor``, ``brackets``): a stopped trial reaches Optuna as COMPLETE with its last
    value."""
    settings = {"grace_period": grace_period, "reduction_factor": reduction_factor,
                "brackets": brackets}
    _asha(space, **settings)  # refuse a bad setting now
    return Strategy(name or _asha_name("Ray OptunaSearch+ASHA", settings),
                    lambda r: (_optuna_search(space, points, r), _asha(space, **settings)),
                    best_last_result)


def ray_random_asha(space: SweepSpace, points: Points, grace_period: int = 1,
                    reduction_factor: float = 4, brackets: int = 1,
                    name: str | None = None) -> Strategy:
    """Ray's random search with Ray's ``ASHAScheduler`` (settings as ``ray_optuna_asha``)."""
    settings = {"grace_period": grace_period, "reduction_factor": reduction_factor,
                "brackets": brackets}
    _asha(space, **settings)
    return Strategy(name or _asha_name("Ray random+ASHA", settings), lambda r: (
        RandomVariantSearcher(space, (space.search.seed or 0) + r, [p for _, p in points]),
        _asha(space, **settings)), best_last_result)


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
