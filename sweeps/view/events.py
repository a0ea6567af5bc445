"""One timestamped line per sweep event, for when stdout is not a terminal (nohup, sbatch, a
pipe): a trial started (params, work dir), each validation, pruned, failed (why), restarted,
completed. Flushed line by line, so ``tail -f`` of a job's output shows the sweep as it goes."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TextIO

from ray.tune import Callback

from sweeps.constants import TrialState
from sweeps.errors import one_line
from sweeps.run.ledger import TrialEntry, TrialLedger
from sweeps.space import SweepSpace
from sweeps.view.table import format_value


class EventLog(Callback):
    """Ray Tune callback that writes the sweep's events as lines.

    Args:
        ledger: The sweep's trial ledger.
        space: The sweep's space (metric, schedule, parameter order).
        stream: Where the lines go (default: stdout).
    """

    def __init__(self, ledger: TrialLedger, space: SweepSpace, stream: TextIO | None = None) -> None:
        self.ledger, self.space = ledger, space
        self.stream = stream

    def __getstate__(self) -> dict:
        # Tune pickles its callbacks with the experiment state; the stream stays here.
        return {**self.__dict__, "stream": None}

    def line(self, text: str) -> None:
        """Write one timestamped line (a newline inside a value is escaped)."""
        stream = self.stream or sys.stdout
        stream.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} {one_line(text)}\n")
        stream.flush()

    def _trial(self, entry: TrialEntry) -> str:
        return f"trial {entry.number}" + (f" ({entry.label})" if entry.label else "")

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        entry = self.ledger.get(trial.trial_id)
        if entry is None:
            return
        params = ", ".join(f"{k}={format_value(entry.params[k])}" for k in self.space.parameters
                           if k in entry.params)  # a conditional one only where it applies
        # a resumed trial whose last validations no driver heard still resumes its checkpoint
        went_on = (f", going on after epoch {entry.epochs[-1]}" if entry.epochs
                   else ", going on from its latest checkpoint" if entry.resumed else "")
        self.line(f"{self._trial(entry)} started{went_on}: {params}; work dir {entry.work_dir}")

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        entry = self.ledger.get(trial.trial_id)
        if entry is None or "epoch" not in result:
            return
        value = result.get(self.space.metric)
        self.line(f"{self._trial(entry)} epoch {int(result['epoch'])}/{self.space.max_epochs}: "
                  f"{self.space.metric} = {format_value(value)}")

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        entry = self.ledger.get(trial.trial_id)
        if entry is not None:
            self.line(f"{self._trial(entry)} crashed; Ray restarts it from its latest checkpoint")

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._ended(trial)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._ended(trial)

    def _why_pruned(self, value: float | None) -> str:
        """What the pruner saw: bounds crossed (threshold), else the other trials ahead."""
        options = self.space.pruner.options
        if self.space.pruner.type == "threshold" and value is not None:
            lower, upper = options.get("lower"), options.get("upper")
            if lower is not None and value < lower:
                return f"was below its lower bound {lower:g}"
            if upper is not None and value > upper:
                return f"was above its upper bound {upper:g}"
            return "crossed its bounds"
        return "was behind the other trials' at that epoch"

    def _ended(self, trial) -> None:
        entry = self.ledger.get(trial.trial_id)
        if entry is None:
            return
        name = self._trial(entry)
        if entry.state == TrialState.PRUNED:
            value = entry.values[-1] if entry.values else None
            self.line(f"{name} pruned at epoch {entry.pruned_at}: its {self.space.metric} "
                      f"{format_value(value)} {self._why_pruned(value)} "
                      f"({self.space.pruner.type} pruner)")
        elif entry.state == TrialState.FAILED:
            self.line(f"{name} failed: {reason_of(entry.error)}")
        elif entry.state == TrialState.COMPLETED:
            self.line(f"{name} completed: {self.space.metric} = {format_value(entry.values[-1])}")


def reason_of(error: str) -> str:
    """The one line that says why a trial failed: the first line of its reason."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    return lines[0] if lines else "see its train.out and the aqr.error tag of its MLflow run"
