"""A live table of the sweep's trials and a progress bar, drawn from the driver."""

from __future__ import annotations

from ray.tune import Callback
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sweeps.run.ledger import TrialLedger
from sweeps.space import SweepSpace
from sweeps.view.table import trials_table


class RichProgress(Callback):
    """Ray Tune callback: redraw the trials table and the finished-trials bar on every event."""

    def __init__(self, ledger: TrialLedger, space: SweepSpace, total: int, title: str,
                 console: Console | None = None) -> None:
        self.ledger, self.space, self.total, self.console = ledger, space, total, console
        self.title = title
        self.progress: Progress | None = None
        self.live: Live | None = None

    def __getstate__(self) -> dict:
        # Tune pickles its callbacks with the experiment state; the live display stays here.
        return {**self.__dict__, "progress": None, "live": None, "console": None}

    def _render(self) -> Group:
        rows = [e.status(self.space.mode) for e in self.ledger.entries()]
        width, height = self.console.size if self.console is not None else (80, 24)
        # title, header, rules, caption and the progress bar take about 8 lines
        return Group(trials_table(rows, self.space, width=width, max_rows=max(height - 8, 3),
                                  title=self.title), self.progress)

    def _update(self) -> None:
        if self.live is None:
            return
        done = sum(e.state.finished for e in self.ledger.entries())
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
