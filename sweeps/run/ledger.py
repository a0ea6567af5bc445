"""What the driver knows about each Ray trial: its Optuna trial, work dir, and how it ended.

The searcher writes a trial in when it proposes it and ends it (the one owner of a trial's end
state); the scheduler records validations and the epoch it pruned at; the MLflow tracker and the
live table read it. One object, owned by the driver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from sweeps.constants import Mode, TrialState
from sweeps.store.status import TrialStatus


@dataclass
class TrialEntry:
    """One trial of the sweep; its state changes only through :meth:`end` (called by the
    searcher, which tells Optuna the same)."""

    number: int
    optuna_trial: optuna.trial.Trial
    params: dict[str, Any]
    work_dir: Path
    label: str = ""
    epochs: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    pruned_at: int | None = None
    state: TrialState = TrialState.RUNNING
    error: str = ""
    #: an interrupted trial that goes on (its MLflow run is reopened, not created)
    resumed: bool = False
    #: its training seed (``{seed}``; not 0: a confirmation run, which is never pruned)
    seed: int = 0

    @property
    def confirms(self) -> bool:
        """Whether it re-runs a configuration with a new seed (it measures: it is not pruned)."""
        return self.seed != 0

    @property
    def name(self) -> str:
        return f"trial_{self.number:04d}" + (f"_{self.label}" if self.label else "")

    def record(self, epoch: int, value: float) -> bool:
        """Add one validation; False if that epoch was already recorded."""
        if epoch in self.epochs:
            return False
        self.epochs.append(epoch)
        self.values.append(value)
        return True

    def end(self, state: TrialState, error: str = "") -> None:
        """Set how the trial ended (and why, for a failure)."""
        self.state = state
        self.explain(error)

    def explain(self, error: str) -> None:
        """Keep the first reason given for a failure."""
        self.error = self.error or error

    def status(self, mode: Mode) -> TrialStatus:
        """The trial as ``status`` and the live table show it."""
        finite = [v for v in self.values if math.isfinite(v)]
        return TrialStatus(
            number=self.number, label=self.label, state=self.state,
            epochs_run=self.epochs[-1] if self.epochs else 0, params=dict(self.params),
            last=self.values[-1] if self.values else None,
            best=mode.pick(finite) if finite else None, pruned_at_epoch=self.pruned_at,
            work_dir=str(self.work_dir), error=self.error.splitlines()[0] if self.error else "")


class TrialLedger:
    """Ray trial id -> :class:`TrialEntry`."""

    def __init__(self) -> None:
        self._entries: dict[str, TrialEntry] = {}

    def add(self, trial_id: str, entry: TrialEntry) -> None:
        self._entries[trial_id] = entry

    def get(self, trial_id: str) -> TrialEntry | None:
        return self._entries.get(trial_id)

    def entries(self) -> list[TrialEntry]:
        return sorted(self._entries.values(), key=lambda e: e.number)
