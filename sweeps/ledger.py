"""What the driver knows about each Ray trial: its Optuna trial, work dir, and how it ended.

The searcher writes a trial in when it proposes it, the scheduler marks the ones it stops, and the
MLflow tracker and the progress table read it. One object, owned by the driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna


@dataclass
class TrialEntry:
    """One trial of the sweep."""

    number: int
    optuna_trial: optuna.trial.Trial
    params: dict[str, Any]
    work_dir: Path
    label: str = ""
    epochs: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    pruned_at: int | None = None
    state: str = "running"          # running, completed, pruned, failed
    error: str = ""

    @property
    def name(self) -> str:
        return f"trial_{self.number:04d}" + (f"_{self.label}" if self.label else "")


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
