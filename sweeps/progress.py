"""A live table of the sweep's trials and a progress bar, drawn from the driver."""

from __future__ import annotations

import math

from ray.tune import Callback
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sweeps.ledger import TrialLedger
from sweeps.space import SweepSpace

_STYLE = {"running": "cyan", "completed": "green", "pruned": "yellow", "failed": "red"}


def trials_table(ledger: TrialLedger, space: SweepSpace) -> Table:
    """One row per trial: state, epochs, params, last and best metric."""
    table = Table(title=f"{space.name}: {space.metric} ({space.mode})", expand=False)
    for column in ("trial", "state", "epoch", *space.parameters, "last", "best"):
        table.add_column(column, overflow="fold",
                         justify="right" if column not in ("trial", "state") else "left")
    pick = max if space.mode == "max" else min
    for e in ledger.entries():
        values = [v for v in e.values if not math.isnan(v)]
        state = e.state + (f"@{e.pruned_at}" if e.pruned_at is not None else "")
        table.add_row(f"{e.number} {e.label}".strip(), f"[{_STYLE.get(e.state, 'white')}]{state}",
                      f"{e.epochs[-1] if e.epochs else 0}/{space.max_epochs}",
                      *(_fmt(e.params.get(p)) for p in space.parameters),
                      _fmt(e.values[-1] if e.values else None),
                      _fmt(pick(values) if values else None))
    return table


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class RichProgress(Callback):
    """Ray Tune callback: redraw the trials table and the finished-trials bar on every event."""

    def __init__(self, ledger: TrialLedger, space: SweepSpace, total: int,
                 console: Console | None = None) -> None:
        self.ledger, self.space, self.total, self.console = ledger, space, total, console
        self.progress: Progress | None = None
        self.live: Live | None = None

    def __getstate__(self) -> dict:
        # Tune pickles its callbacks with the experiment state; the live display stays here.
        return {**self.__dict__, "progress": None, "live": None, "console": None}

    def _render(self) -> Group:
        return Group(trials_table(self.ledger, self.space), self.progress)

    def _update(self) -> None:
        if self.live is None:
            return
        done = sum(e.state != "running" for e in self.ledger.entries())
        self.progress.update(self.task, completed=done)
        self.live.update(self._render())

    def setup(self, **info) -> None:
        self.progress = Progress(TextColumn("trials"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console)
        self.task = self.progress.add_task("trials", total=self.total)
        self.live = Live(self._render(), console=self.console, refresh_per_second=2)
        self.live.start()

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self._update()

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        self._update()

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._update()

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._update()

    def on_experiment_end(self, trials, **info) -> None:
        self._update()
        if self.live is not None:
            self.live.stop()
