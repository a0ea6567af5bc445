"""The smoke run: the first trial's exact command (its environment, launcher and ranks), until
the trainer has logged a few training iterations with a finite loss, or a time limit; then it is
stopped through the supervisor, as a trial is."""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sweeps.backends.base import Backend
from sweeps.config.base import BaseConfig
from sweeps.config.writer import write_trial_config
from sweeps.logs import LogFollower
from sweeps.logs.output_watch import OutputWatch, first_traceback
from sweeps.space import SweepSpace


@dataclass
class SmokeResult:
    """How the smoke run went: ``failure`` is one line (None: it passed), ``tail`` the end of the
    training's output."""

    failure: str | None
    losses: list[float]
    seconds: float
    tail: str
    command: str

    @property
    def passed(self) -> bool:
        return self.failure is None


def smoke(space: SweepSpace, base: BaseConfig, params: dict, work_dir: Path,
          backend: Backend, poll_seconds: float = 0.5) -> SmokeResult:
    """Run the first trial's command in ``work_dir`` (made afresh) and judge it."""
    spec = space.preflight
    shutil.rmtree(work_dir, ignore_errors=True)
    config = write_trial_config(space, base, params, work_dir,
                                extra=spec.smoke_overrides)
    started = time.monotonic()
    job = backend.start(work_dir, config, resume=False)
    follower = LogFollower(work_dir, space.log_format, since=job.started_at)
    watch = OutputWatch(job.output, space.fail_patterns)
    failure, tail = None, ""
    try:
        while True:
            code = job.poll()
            follower.poll()
            losses = follower.losses
            elapsed = time.monotonic() - started
            if matched := watch.match(final=code is not None):
                failure = f"the training's output matched a fail pattern: {matched}"
            elif bad := [v for v in losses if not math.isfinite(v)]:
                failure = (f"the training's loss is {bad[0]} at its training log line "
                           f"{losses.index(bad[0]) + 1}: it diverges from the start")
            elif len(losses) >= spec.iterations:
                break
            elif code is not None:
                if code != 0 or not losses:
                    failure, tail = _crash(job.output, code, spec.iterations, len(losses))
                break
            elif elapsed > spec.smoke_seconds:
                if not losses:
                    failure = (f"no training iteration with a loss was logged in "
                               f"{spec.smoke_seconds:g} s (preflight.smoke_seconds); raise it, "
                               "or log more often (e.g. preflight.smoke_overrides: "
                               "{log_config.interval: 1})")
                break
            if failure:
                tail = tail or job.tail()  # before the stop adds the launcher's own lines
                break
            time.sleep(poll_seconds)
    finally:
        job.stop()
    command = (work_dir / "command.txt").read_text().strip() \
        if (work_dir / "command.txt").exists() else ""
    return SmokeResult(failure, list(follower.losses), time.monotonic() - started, tail, command)


def _crash(output: Path, code: int, wanted: int, logged: int) -> tuple[str, str]:
    """A training that ended before it trained: one line with its first error, and the
    traceback of that error (its ranks' and launcher's later ones are consequences)."""
    text = output.read_text(errors="replace")
    failure = (f"the training exited with code {code} before it logged {wanted} training "
               f"iterations (it logged {logged})")
    tail = "\n".join(text.splitlines()[-30:])
    if (error := first_traceback(text)) is not None:
        failure += f": {error[0]}"
        tail = error[1] if error[1] in tail else f"{error[1]}\n...\n" + "\n".join(
            text.splitlines()[-8:])
    return failure, tail
