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


def trials_table(rows: Iterable[TrialStatus], space: SweepSpace, width: int | None = None,
                 max_rows: int | None = None, title: str | None = None) -> Table:
    """One row per trial: state (with the prune epoch), epochs, params, last and best metric;
    with ``max_rows``, the running and best trials only (see :func:`fitted`). Cells never wrap;
    within ``width`` columns, the knobs give way and the state and metric keep their width."""
    rows = list(rows)
    rows, rest = fitted(rows, space, max_rows) if max_rows is not None else (rows, "")
    knobs = list(space.parameters)
    fixed = ("trial", "state", "epoch", "last", "best")
    cells = [_cells(r, space) for r in rows]
    widest = {c: max([len(c)] + [len(row[i].plain) for row in cells])
              for i, c in enumerate(("trial", "state", "epoch", *knobs, "last", "best"))}
    knob_width = None
    if width is not None and knobs:
        room = width - sum(widest[c] + _PADDING for c in fixed)
        shown = max(0, min(len(knobs), room // (_MIN_KNOB + _PADDING)))
        if shown < len(knobs):
            rest = "; ".join(filter(None, [rest, f"{len(knobs) - shown} knobs not shown at "
                                                 f"{width} columns (widen the terminal)"]))
            cells = [row[:3 + shown] + row[-2:] for row in cells]
            knobs = knobs[:shown]
        if knobs and sum(widest[k] + _PADDING for k in knobs) > room:
            knob_width = max(_MIN_KNOB, room // len(knobs) - _PADDING)
    table = Table(title=f"{title or space.name}: {space.metric} ({space.mode})", expand=False,
                  caption=rest or None, box=box.SIMPLE_HEAD, show_edge=False,
                  collapse_padding=True)
    for column in ("trial", "state", "epoch", *knobs, "last", "best"):
        knob = column not in fixed
        table.add_column(column, overflow="ellipsis", no_wrap=True,
                         min_width=None if knob else widest[column],
                         max_width=knob_width if knob else None,
                         justify="left" if column in ("trial", "state") else "right")
    for row in cells:
        table.add_row(*row)
    return table


#: the space around a cell (one each side); a knob column keeps at least this many characters
_PADDING, _MIN_KNOB = 2, 6


def _cells(r: TrialStatus, space: SweepSpace) -> list[Text]:
    state = str(r.state) + (f"@{r.pruned_at_epoch}" if r.pruned_at_epoch is not None else "")
    epochs = (f"{r.epochs_run} own" if r.state == TrialState.IMPORTED
              else f"{r.epochs_run}/{space.max_epochs}")
    return [Text(f"{r.number} {r.label}".strip()),
            Text(state, style=STATE_STYLES.get(r.state, "white")), Text(epochs),
            *(Text(format_value(r.params.get(p))) for p in space.parameters),
            Text(format_value(r.last)), Text(format_value(r.best))]
