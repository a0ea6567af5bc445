"""The tuning matrix, read the way the tuning guide's table reads: one knob's values as rows, another's
as columns (the guide's clamp x residual values when the space holds them), each cell the final
value of the completed trials in it; a cell with only pruned trials shows how far they got and
is marked with the epoch they reached; an empty cell may hold a prediction from a model fitted on
every completed trial, marked as predicted with its uncertainty."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from reports.surrogate import GaussianProcess
from reports.sweep_data import SweepData, category_label, is_numeric, own_trials
from sweeps.config.keys import parse_key
from sweeps.constants import TrialState
from sweeps.guide import GUIDE_GRID, GUIDE_PRESETS
from sweeps.space import CategoricalParameter
from sweeps.space.schedule import TARGET_ROOT

#: a preset counts as measured by a trial within this range-scaled distance
NEAR = 0.15


@dataclass(frozen=True)
class Axis:
    """One knob's values along the matrix and which cell each trial's value falls in."""

    knob: str
    values: list  # the cells' values (numbers, or category labels)
    edges: list[float] | None = None  # numeric cells: value i covers [edges[i], edges[i+1])

    def labels(self) -> list[str]:
        if self.edges is None:
            return [str(v) for v in self.values]
        return [f"{v:g} ({lo:.3g}-{hi:.3g})" if len(self.values) > 1 else f"{v:g}"
                for v, lo, hi in zip(self.values, self.edges, self.edges[1:], strict=False)]

    def cell(self, value: object) -> int | None:
        if self.edges is None:
            label = category_label(value)
            return self.values.index(label) if label in self.values else None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return int(np.clip(np.searchsorted(self.edges, float(value), side="right") - 1,
                           0, len(self.values) - 1))


def axis(data: SweepData, knob: str, max_cells: int = 5) -> Axis:
    """The guide's values of ``knob`` when it has some in the space's range (two or more), else
    the trials' distinct values when few, else evenly spaced values over the range; numeric cells
    reach halfway to their neighbours."""
    p = data.space.parameters[knob]
    if isinstance(p, CategoricalParameter):
        return Axis(knob, [category_label(c) for c in p.choices])
    if not is_numeric(data.trials[knob]):
        return Axis(knob, sorted({category_label(v) for v in data.trials[knob].dropna()}, key=str))
    guide = sorted(v for v in GUIDE_GRID.get(knob, []) if p.low <= v <= p.high)
    seen = sorted({round(float(v), 6) for v in data.trials[knob].dropna()})
    if len(guide) >= 2:
        values = guide
    elif 0 < len(seen) <= max_cells:
        values = seen
    else:
        values = list(np.round(np.linspace(p.low, p.high, max_cells), 6))
    mids = [(a + b) / 2 for a, b in itertools.pairwise(values)]
    return Axis(knob, values, [min(p.low, values[0]), *mids, max(p.high, values[-1])])


class CellKind(StrEnum):
    """What fills a cell of the tuning matrix."""

    COMPLETED = "completed"
    PRUNED = "pruned"
    PREDICTED = "predicted"
    EMPTY = "empty"


@dataclass(frozen=True)
class Cell:
    """One cell: what fills it and from which trial."""

    kind: CellKind
    value: float = math.nan
    std: float = math.nan
    trial: int | None = None
    epoch: int | None = None
    completed: int = 0
    pruned: int = 0
    failed: int = 0

    def text(self) -> str:
        if self.kind is CellKind.COMPLETED:
            more = f", {self.completed} completed" if self.completed > 1 else ""
            return f"{self.value:.4f} (trial {self.trial}{more})"
        if self.kind is CellKind.PRUNED:
            return f"pruned@{self.epoch}: {self.value:.4f} (trial {self.trial})"
        if self.kind is CellKind.PREDICTED:
            return f"~{self.value:.3f} ± {self.std:.3f} (predicted)"
        return "-" if not self.failed else f"- ({self.failed} failed)"


@dataclass
class Matrix:
    """Rows x columns of cells, and which cell holds the sweep's best trial."""

    rows: Axis
    cols: Axis
    cells: list[list[Cell]]
    best: tuple[int, int] | None

    def frame(self) -> pd.DataFrame:
        """The cells as text, labelled by the axes' values and ranges."""
        return pd.DataFrame([[c.text() for c in row] for row in self.cells],
                            index=pd.Index(self.rows.labels(), name=self.rows.knob),
                            columns=pd.Index(self.cols.labels(), name=self.cols.knob))

    def long(self) -> pd.DataFrame:
        """One row per cell, numbers only (what ``matrix_*.csv`` holds)."""
        out = []
        for (i, r), (j, c) in itertools.product(enumerate(self.rows.values),
                                                enumerate(self.cols.values)):
            cell = self.cells[i][j]
            out.append({self.rows.knob: r, self.cols.knob: c, "kind": cell.kind,
                        "value": cell.value, "std": cell.std, "trial": cell.trial,
                        "pruned_at_epoch": cell.epoch, "completed": cell.completed,
                        "pruned": cell.pruned, "failed": cell.failed,
                        "best": self.best == (i, j)})
        return pd.DataFrame(out)


#: the column of a one-knob sweep's matrix
ALL = "all"


def tuning_pair(data: SweepData) -> tuple[str, str]:
    """The guide's clamp x residual when the space searches both; else the first two searched
    schedule kinds (which schedule won); else its first two knobs (a one-knob sweep: that knob
    against :data:`ALL`)."""
    guide = tuple(GUIDE_GRID)
    if all(k in data.space.parameters for k in guide):
        return guide  # type: ignore[return-value]
    kinds = [name for name, p in data.space.parameters.items()
             if any(parse_key(t)[0] == TARGET_ROOT and parse_key(t)[-1] == "kind"
                    for t in p.targets)]
    if len(kinds) >= 2:
        return kinds[0], kinds[1]
    return (data.params[0], data.params[1] if len(data.params) > 1 else ALL)


#: knobs whose pairs a report draws besides the tuning pair (10 pairs)
PAIRED_KNOBS = 5


def knob_pairs(data: SweepData, order: list[str] | None = None) -> list[tuple[str, str]]:
    """The tuning pair first, then every other pair of the first :data:`PAIRED_KNOBS` knobs of
    ``order`` (e.g. by importance; default: the space's order)."""
    first = tuning_pair(data)
    knobs = [k for k in (order or data.params) if k in data.params][:PAIRED_KNOBS]
    return [first, *(p for p in itertools.combinations(knobs, 2)
                     if p != first and p[::-1] != first)]


def matrix(data: SweepData, a: str, b: str, predict: bool = True) -> Matrix:
    """The cells of knob ``a`` (rows) x knob ``b`` (columns; :data:`ALL`: one column) over the
    sweep's own trials."""
    rows = axis(data, a)
    cols = Axis(ALL, [ALL]) if b == ALL else axis(data, b)
    trials = own_trials(data.trials)
    sign = data.space.mode.sign
    grouped: dict[tuple[int, int], list] = {}
    for _, t in trials.iterrows():
        i, j = rows.cell(t[a]), (0 if b == ALL else cols.cell(t[b]))
        if i is not None and j is not None:
            grouped.setdefault((i, j), []).append(t)
    model = _surrogate(data) if predict else None
    answer = data.answer()
    best_trial = None if answer is None else int(answer["trial"])
    cells, best = [], None
    for i in range(len(rows.values)):
        line = []
        for j in range(len(cols.values)):
            members = grouped.get((i, j), [])
            where = {a: rows.values[i]} if b == ALL else {a: rows.values[i], b: cols.values[j]}
            line.append(_cell(members, sign, model, data, where))
            if best_trial is not None and any(t["trial"] == best_trial for t in members):
                best = (i, j)
        cells.append(line)
    return Matrix(rows, cols, cells, best)


def _cell(members: list, sign: float, model: GaussianProcess | None, data: SweepData,
          where: dict) -> Cell:
    by_state = {s: [t for t in members if t["state"] == s] for s in TrialState}
    counts = {"completed": len(by_state[TrialState.COMPLETED]),
              "pruned": len(by_state[TrialState.PRUNED]),
              "failed": len(by_state[TrialState.FAILED])}
    done = [t for t in by_state[TrialState.COMPLETED] if not pd.isna(t["value"])]
    if done:
        top = max(done, key=lambda t: sign * float(t["value"]))
        return Cell(CellKind.COMPLETED, float(top["value"]), trial=int(top["trial"]), **counts)
    pruned = [t for t in by_state[TrialState.PRUNED] if not pd.isna(t["last"])]
    if pruned:  # the one that got furthest, then the best there
        top = max(pruned, key=lambda t: (t["epochs_run"], sign * float(t["last"])))
        return Cell(CellKind.PRUNED, float(top["last"]), trial=int(top["trial"]),
                    epoch=int(top["epochs_run"]), **counts)
    if model is not None:
        prediction = model.predict_at(where)
        if prediction is not None:
            return Cell(CellKind.PREDICTED, *prediction, **counts)
    return Cell(CellKind.EMPTY, **counts)


def _surrogate(data: SweepData) -> GaussianProcess | None:
    """A Gaussian process over the numeric knobs, fitted on the completed trials' final values
    and aware of where trials were pruned; a prediction holds the other knobs at the best
    trial's values (export-best's)."""
    done = data.completed()
    knobs = [k for k in data.params if not isinstance(data.space.parameters[k],
                                                      CategoricalParameter)
             and is_numeric(done[k]) and done[k].notna().all()]
    if len(done) < 3 or not knobs:
        return None
    anchor = data.answer()[knobs].fillna(done[knobs].median()).to_dict()  # a knob it lacks
    pruned = own_trials(data.trials)
    pruned = pruned[pruned["state"] == TrialState.PRUNED].dropna(subset=knobs)
    return GaussianProcess.fit(data.space, knobs, done[knobs], done["value"].astype(float),
                               anchor, pruned)


def quick_reference(data: SweepData) -> pd.DataFrame:
    """The guide's presets with the measured result of a completed trial near each.

    Closeness is the euclidean distance over the knobs both the preset and the sweep have, each
    scaled by its search range; a preset with no completed trial within ``NEAR`` is "not
    measured" (the nearest one named).
    """
    spaces = data.space.parameters
    done = data.completed()
    rows = []
    for preset, values in GUIDE_PRESETS.items():
        knobs = [k for k in values if k in spaces and hasattr(spaces[k], "low")]
        row = {"preset": preset, **{k: values[k] for k in knobs}}
        if done.empty or not knobs:
            rows.append({**row, "measured_by": "no completed trial"})
            continue
        scale = np.array([spaces[k].high - spaces[k].low for k in knobs])
        target = np.array([values[k] for k in knobs])
        dist = np.sqrt((((done[knobs].to_numpy(float) - target) / scale) ** 2).sum(1))
        if np.isnan(dist).all():
            rows.append({**row, "measured_by": "no completed trial with these knobs"})
            continue
        nearest = done.iloc[int(np.nanargmin(dist))]
        distance = round(float(np.nanmin(dist)), 4)
        if distance > NEAR:
            rows.append({**row, "measured_by": f"not measured (nearest: trial "
                                               f"{int(nearest['trial'])} at {distance})"})
            continue
        row.update({"measured_by": f"trial {int(nearest['trial'])}", "distance": distance,
                    data.space.metric: float(nearest["value"])})
        for metric in data.space.track:
            row[metric] = nearest.get(f"final {metric}", math.nan)
        rows.append(row)
    return pd.DataFrame(rows)
