"""The trials table, as the live progress and ``aqr-sweep status`` draw it (one format)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from sweeps.constants import TrialState
from sweeps.space import SweepSpace
from sweeps.store.status import TrialStatus

STATE_STYLES = {TrialState.RUNNING: "cyan", TrialState.COMPLETED: "green",
                TrialState.PRUNED: "yellow", TrialState.FAILED: "red",
                TrialState.INTERRUPTED: "magenta", TrialState.QUEUED: "white",
                TrialState.IMPORTED: "blue"}


def format_value(value: Any) -> str:
    """A cell: ``-`` for nothing, 4 decimals for floats."""
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def fitted(rows: list[TrialStatus], space: SweepSpace, max_rows: int
           ) -> tuple[list[TrialStatus], str]:
    """At most ``max_rows`` rows for a screen: every running trial, then the best by ``best``,
    in trial order; and a line that counts the rest by state (empty when nothing is left out)."""
    if len(rows) <= max_rows:
        return rows, ""
    running = [r for r in rows if r.state == TrialState.RUNNING]
    scored = sorted((r for r in rows if r.state != TrialState.RUNNING and r.best is not None),
                    key=lambda r: -space.mode.sign * r.best)
    keep = {r.number for r in running} | {r.number for r in scored[:max(0, max_rows - len(running))]}
    shown = [r for r in rows if r.number in keep]
    left: dict[str, int] = {}
    for r in rows:
        if r.number not in keep:
            left[str(r.state)] = left.get(str(r.state), 0) + 1
    return shown, f"{sum(left.values())} more: " + ", ".join(f"{n} {s}" for s, n in left.items())


def trials_table(rows: Iterable[TrialStatus], space: SweepSpace,
                 max_rows: int | None = None) -> Table:
    """One row per trial: state (with the prune epoch), epochs, params, last and best metric;
    with ``max_rows``, the running and best trials only (see :func:`fitted`). Cells never wrap."""
    rows = list(rows)
    rows, rest = fitted(rows, space, max_rows) if max_rows is not None else (rows, "")
    table = Table(title=f"{space.name}: {space.metric} ({space.mode})", expand=False,
                  caption=rest or None, box=box.SIMPLE_HEAD, show_edge=False,
                  collapse_padding=True)
    # the trial, its state and its metric keep their width; on a screen, long knob names give way
    widths = {"trial": 5, "state": 9, "epoch": 5, "last": 6, "best": 6}
    for column in ("trial", "state", "epoch", *space.parameters, "last", "best"):
        table.add_column(column, overflow="ellipsis", no_wrap=True, min_width=widths.get(column),
                         max_width=None if column in widths or max_rows is None else 8,
                         justify="left" if column in ("trial", "state") else "right")
    for r in rows:
        state = str(r.state) + (f"@{r.pruned_at_epoch}" if r.pruned_at_epoch is not None else "")
        table.add_row(Text(f"{r.number} {r.label}".strip()),
                      Text(state, style=STATE_STYLES.get(r.state, "white")),
                      f"{r.epochs_run} own" if r.state == TrialState.IMPORTED
                      else f"{r.epochs_run}/{space.max_epochs}",
                      *(Text(format_value(r.params.get(p))) for p in space.parameters),
                      format_value(r.last), format_value(r.best))
    return table
