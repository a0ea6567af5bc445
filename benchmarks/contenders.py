"""What a search benchmark compares: aqr-sweep under given settings, and the peers (each through
its own library, ``benchmarks.peers``) under theirs, described as plain data so that worker
processes can build them, and run over repetitions in parallel."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.peers import make_peer, run_peer
from benchmarks.protocol import Score, score
from sweeps.config.base import enqueued_points, load_base_config
from sweeps.errors import SurfaceError
from sweeps.simulation import strategies as S
from sweeps.simulation.compare import Simulation
from sweeps.simulation.surface import load_surface
from sweeps.space import SweepSpace, load_space
from sweeps.space.specs import ConfirmSpec, PrunerSpec

OURS = "aqr-sweep"


@dataclass(frozen=True)
class Contender:
    """A strategy as data: ``peer`` names a peer of ``benchmarks.peers`` (None: aqr-sweep);
    ``settings`` are the peer's, or aqr-sweep's ``pruner``/``confirm``/``sampler`` overrides of
    the space (empty: the space as it is, aqr-sweep's defaults)."""

    name: str
    peer: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return json.dumps([self.peer, self.settings], sort_keys=True)


def ours_space(space: SweepSpace, settings: dict[str, Any]) -> SweepSpace:
    """The space with aqr-sweep's settings overridden (``pruner``, ``confirm``, ``sampler``). A
    ``confirm`` without ``after`` confirms from the first completed trial: the tuning grid's
    settings that leave it out ran when that was the default, and keep meaning what they ran."""
    search = space.search
    if "confirm" in settings:
        confirm = ConfirmSpec(**{"after": 0, **settings["confirm"]})
        search = search.model_copy(update={"confirm": confirm})
    if "sampler" in settings:
        search = search.model_copy(update={"sampler": settings["sampler"]})
    update: dict[str, Any] = {"search": search}
    if "pruner" in settings:
        update["pruner"] = PrunerSpec(**settings["pruner"])
    return space.model_copy(update=update)


@dataclass(frozen=True)
class Arena:
    """A surface and the space that replays it, with the simulation's budget: the grid's epochs
    (every configuration once, in full), the space's concurrency. The full schedule is the
    table's (its longest curve), whatever the space's ``max_epochs`` says."""

    space_file: Path
    surface_file: Path
    slots: int | None = None

    def load(self) -> tuple[SweepSpace, list, Simulation]:
        space = load_space(self.space_file)
        points = enqueued_points(space, load_base_config(space, self.space_file))
        surface = load_surface(self.surface_file, space, table_schedule=True)
        if len(surface.configs) < 2:
            raise SurfaceError(f"{self.surface_file}: one configuration; a search benchmark "
                               "needs at least 2 to choose between (vary a knob of the space)")
        grid = len(surface.configs) * surface.max_epochs
        # the sweep is planned for the grid's budget: its end (current's re-runs) comes there
        space = space.model_copy(update={"max_epochs": surface.max_epochs, "search": space.search
                                         .model_copy(update={"num_trials": len(surface.configs)})})
        sim = Simulation(surface, space, slots=self.slots or space.search.concurrency,
                         budget_epochs=grid)
        return space, points, sim


#: a peer's settings that count epochs: each must stay below the schedule, where a rung can
#: still stop a trial (Syne Tune asserts grace_period < max_t, DEHB min_fidelity < max_fidelity)
EPOCH_SETTINGS = ("grace_period", "min_resource", "min_fidelity")


def fitted(contender: Contender, max_epochs: int) -> tuple[Contender, list[str]]:
    """The contender with its epoch settings (tuned on other schedules) brought within a
    schedule of ``max_epochs`` epochs, and what was changed.

    Raises:
        ValueError: a setting cannot fit (DEHB on a 1-epoch schedule has no fidelity below it).
    """
    settings, changes = dict(contender.settings), []
    for key in EPOCH_SETTINGS:
        if key in settings and settings[key] >= max_epochs:
            if max_epochs < 2:
                raise ValueError(f"its {key} needs a schedule longer than {max_epochs} epoch(s)")
            changes.append(f"{key} {settings[key]} -> {max_epochs - 1}")
            settings[key] = max_epochs - 1
    return replace(contender, settings=settings), changes


def build(contender: Contender, space: SweepSpace, points: list):
    if contender.peer is None:
        return S.aqr_sweep(ours_space(space, contender.settings), points, contender.name)
    return make_peer(contender.peer, space, points, contender.settings)


def _scores(arena: Arena, contender: Contender, repetitions: Sequence[int]) -> list[Score]:
    space, points, sim = arena.load()
    peer = build(contender, space, points)
    fallback = sim.surface.nearest(points[0][1], space) if points else sim.surface.configs[0]
    return [score(run_peer(peer, sim, r), sim.surface, space.mode, sim.budget_epochs, fallback)
            for r in repetitions]


def run_all(arena: Arena, contenders: Sequence[Contender], repetitions: int, jobs: int = 2,
            progress: Callable[[str], None] = lambda _: None, first: int = 0
            ) -> dict[str, list[Score]]:
    """Every contender's scores over ``repetitions`` repetitions (``first``, ``first + 1``, ...:
    each repetition's draws are seeded by its number), in ``jobs`` processes."""
    chunk = max(1, repetitions // 4)
    end = first + repetitions
    tasks = [(c, list(range(lo, min(lo + chunk, end))))
             for c in contenders for lo in range(first, end, chunk)]
    out: dict[str, list[Score]] = {c.name: [] for c in contenders}
    done: dict[str, int] = {c.name: 0 for c in contenders}
    if jobs <= 1:
        for contender, reps in tasks:
            out[contender.name] += _scores(arena, contender, reps)
            _tick(contender, reps, done, chunk, repetitions, progress)
        return out
    context = multiprocessing.get_context("fork")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        futures = [(c, reps, pool.submit(_scores, arena, c, reps)) for c, reps in tasks]
        results: dict[tuple[str, int], list[Score]] = {}
        for contender, reps, future in futures:
            results[(contender.name, reps[0])] = future.result()
            _tick(contender, reps, done, chunk, repetitions, progress)
    for (name, _), scores in sorted(results.items(), key=lambda item: item[0][1]):
        out[name] += scores
    return out


def _tick(contender: Contender, reps: list[int], done: dict[str, int], chunk: int, total: int,
          progress: Callable[[str], None]) -> None:
    done[contender.name] += len(reps)
    if done[contender.name] >= total:
        progress(f"{contender.name}: {total} repetitions")
