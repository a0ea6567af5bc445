"""A backend that replays validation lines into a work dir from a thread, with no subprocess:
the real driver, scheduler, log follower and tracker run against it in seconds."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from ray import cloudpickle

from sweeps.backends.base import Backend, RunningJob


class ReplayJob(RunningJob):
    """Writes one mmcv-1.x ``val`` line per epoch, ``seconds`` apart, then exits 0."""

    def __init__(self, work_dir: Path, metric: str, values: Sequence[float], seconds: float) -> None:
        self.started_at = time.time()
        self.log = work_dir / f"{time.time_ns()}.log.json"
        self.log.write_text(json.dumps({"env_info": "replay"}) + "\n")
        self.output = self.log
        self._stop = threading.Event()
        self._code: int | None = None
        self._thread = threading.Thread(target=self._write, args=(metric, values, seconds),
                                        daemon=True)
        self._thread.start()

    def _write(self, metric: str, values: Sequence[float], seconds: float) -> None:
        for epoch, value in enumerate(values, start=1):
            if self._stop.wait(seconds):
                self._code = -15
                return
            with open(self.log, "a") as f:
                f.write(json.dumps({"mode": "val", "epoch": epoch, metric: value}) + "\n")
        self._code = 0

    def poll(self) -> int | None:
        return self._code

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text().splitlines()[-lines:])


class ReplayBackend(Backend):
    """Replays ``metric = x * epoch`` for ``epochs`` epochs, ``x`` read from the trial's config
    file."""

    def __init__(self, metric: str = "NDS", epochs: int = 3, seconds: float = 0.05) -> None:
        self.metric, self.epochs, self.seconds = metric, epochs, seconds

    def start(self, work_dir: Path, config: Path, resume: bool, seed: int = 0) -> ReplayJob:
        from mmengine.config import Config

        work_dir.mkdir(parents=True, exist_ok=True)
        x = float(Config.fromfile(str(config)).x)
        values = [x * epoch for epoch in range(1, self.epochs + 1)]
        return ReplayJob(work_dir, self.metric, values, self.seconds)


class SurfaceReplayBackend(Backend):
    """Replays a surface's curves: trial ``N`` (its work dir's name) replays the curve the
    simulator draws for trial index ``N`` of ``repetition`` and its training seed, its
    configuration read from the trial's config file at each parameter's first target."""

    def __init__(self, space_file: Path, surface_file: Path, repetition: int = 0,
                 seconds: float = 0.05) -> None:
        self.space_file, self.surface_file = space_file, surface_file
        self.repetition, self.seconds = repetition, seconds

    def start(self, work_dir: Path, config: Path, resume: bool, seed: int = 0) -> ReplayJob:
        from mmengine.config import Config

        from sweeps.config.keys import lookup, parse_key
        from sweeps.simulation.surface import load_surface
        from sweeps.space import load_space

        space = load_space(self.space_file)
        surface = load_surface(self.surface_file, space)
        cfg = Config.fromfile(str(config)).to_dict()
        params = {name: lookup(cfg, parse_key(p.targets[0]))
                  for name, p in space.parameters.items()}
        _, curve = surface.curve_for(space, self.repetition)(int(work_dir.name), params, seed)
        work_dir.mkdir(parents=True, exist_ok=True)
        return ReplayJob(work_dir, space.metric, curve.values, self.seconds)


# Ray workers cannot import ``tests``: ship this module by value with the trainable.
cloudpickle.register_pickle_by_value(__import__(__name__, fromlist=["_"]))
