"""The sweep-wide stop: once a failure shows that every trial would fail the same way (the
metric is never logged), or once Ctrl-C or SIGTERM asks for it, the searcher launches nothing
more and Tune stops the running trials; the driver then ends the sweep with that reason."""

from __future__ import annotations

from ray.tune import Stopper


class SweepHalt(Stopper):
    """Ray Tune's stopper of the whole sweep: set by the searcher with the reason, or by a
    signal."""

    def __init__(self) -> None:
        self.reason: str | None = None
        #: the signal that asked the sweep to stop (None: none did)
        self.signalled: int | None = None

    def halt(self, reason: str) -> None:
        """Stop the sweep (the first reason is kept)."""
        self.reason = self.reason or reason

    def interrupt(self, signum: int, frame: object) -> None:
        """The driver's SIGINT and SIGTERM handler: remember the stop, so that Tune ends every
        trial even where the ``KeyboardInterrupt`` it raises is swallowed on its way up (by a
        callback or a library), then raise it."""
        self.signalled = signum
        raise KeyboardInterrupt(f"signal {signum}")

    @property
    def stopped(self) -> bool:
        return self.reason is not None or self.signalled is not None

    def __call__(self, trial_id: str, result: dict) -> bool:
        """A trial that reports after a halt ends (it is told FAILED with the halt's reason);
        after a signal the trials are left to ``stop_all``, which keeps them for a resume."""
        return self.reason is not None

    def stop_all(self) -> bool:
        return self.stopped
