"""The trials table, as the live progress and ``aqr-sweep status`` draw it (one format)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.table import Table

from sweeps.constants import TrialState
from sweeps.space import SweepSpace
from sweeps.status import TrialStatus

STATE_STYLES = {TrialState.RUNNING: "cyan", TrialState.COMPLETED: "green",
                TrialState.PRUNED: "yellow", TrialState.FAILED: "red",
                TrialState.INTERRUPTED: "magenta", TrialState.QUEUED: "white"}


def format_value(value: Any) -> str:
    """A cell: ``-`` for nothing, 4 decimals for floats."""
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def trials_table(rows: Iterable[TrialStatus], space: SweepSpace) -> Table:
    """One row per trial: state (with the prune epoch), epochs, params, last and best metric."""
    table = Table(title=f"{space.name}: {space.metric} ({space.mode})", expand=False)
    for column in ("trial", "state", "epoch", *space.parameters, "last", "best"):
        table.add_column(column, overflow="fold",
                         justify="left" if column in ("trial", "state") else "right")
    for r in rows:
        state = str(r.state) + (f"@{r.pruned_at_epoch}" if r.pruned_at_epoch is not None else "")
        table.add_row(f"{r.number} {r.label}".strip(),
                      f"[{STATE_STYLES.get(r.state, 'white')}]{state}",
                      f"{r.epochs_run}/{space.max_epochs}",
                      *(format_value(r.params.get(p)) for p in space.parameters),
                      format_value(r.last), format_value(r.best))
    return table
