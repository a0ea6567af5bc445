"""Backends launch one training run for a trial and let the trial watch and stop it."""

from __future__ import annotations

import abc
from pathlib import Path


class RunningJob(abc.ABC):
    """A launched training run."""

    #: ``time.time()`` when it was launched (logs older than this belong to earlier attempts)
    started_at: float
    #: the file its stdout and stderr go to (its growth counts as progress)
    output: Path

    @abc.abstractmethod
    def poll(self) -> int | None:
        """The exit code, or None while it runs."""

    @abc.abstractmethod
    def stop(self) -> None:
        """End the run and every process it started; safe to call more than once."""

    @abc.abstractmethod
    def tail(self, lines: int = 30) -> str:
        """The last lines of its output."""


class Backend(abc.ABC):
    """Starts training runs."""

    @abc.abstractmethod
    def start(self, work_dir: Path, config: Path, resume: bool, seed: int = 0) -> RunningJob:
        """Launch training of ``config`` (the trial's own config file) in ``work_dir``, resuming
        from the work dir's latest checkpoint when ``resume``, with training seed ``seed``."""
