"""A search strategy as a simulation runs it (a fresh searcher and scheduler per repetition, and
how it picks its answer), and aqr-sweep's own: the sweep's searcher and pruning bridge. The peers'
strategies are the benchmarks' (``benchmarks/peers``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ray.tune.schedulers import TrialScheduler
from ray.tune.search import Searcher

from sweeps.run.ledger import TrialLedger
from sweeps.run.scheduler import build_scheduler
from sweeps.run.searcher import OptunaAskTellSearcher
from sweeps.simulation.loop import Recommender, best_ranked
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
    the ask/tell searcher (with its confirmation stage) and the pruning bridge (or the recording
    ASHA), PRUNED and COMPLETE told as in a real sweep; its answer is the ranking's best
    configuration (``export-best``'s)."""
    def build(repetition: int) -> tuple[Searcher, TrialScheduler]:
        seeded = with_seed(space, repetition)
        study = new_study(seeded, name=space.name)  # as a real sweep's (Hyperband hashes it)
        enqueue_points(study, points)
        ledger = TrialLedger()
        return (OptunaAskTellSearcher(seeded, study, ledger, Path("simulated")),
                build_scheduler(seeded, ledger))
    return Strategy(name, build, partial(best_ranked, pessimism=space.confirm.pessimism))
