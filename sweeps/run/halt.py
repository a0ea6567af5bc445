"""The sweep-wide stop: once a failure shows that every trial would fail the same way (the
metric is never logged), the searcher launches nothing more and Tune stops the running trials;
the driver then ends the sweep with that reason."""

from __future__ import annotations

from ray.tune import Stopper


class SweepHalt(Stopper):
    """Ray Tune's stopper of the whole sweep, set by the searcher with the reason."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def halt(self, reason: str) -> None:
        """Stop the sweep (the first reason is kept)."""
        self.reason = self.reason or reason

    def __call__(self, trial_id: str, result: dict) -> bool:
        return self.reason is not None

    def stop_all(self) -> bool:
        return self.reason is not None
