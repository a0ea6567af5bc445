"""A tabulated learning-curve surface: per configuration and training seed, the metric after each
epoch (``benchmarks/make_surface.py`` writes one; a finished sweep is one too)."""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from sweeps.constants import Mode, TrialAttr
from sweeps.errors import MissingFileError, SurfaceError
from sweeps.space import CategoricalParameter, SweepSpace, out_of_range

#: columns of a surface table that are not knobs
NON_KNOB_COLUMNS = ("seed", "epoch", "epoch_seconds")

Config = tuple  # one configuration: the knobs' values in the surface's knob order


@dataclass(frozen=True)
class Curve:
    """One training run of one configuration: its metric and seconds per epoch, epochs 1..n."""

    values: list[float]
    seconds: list[float]


@dataclass
class Surface:
    """Learning curves by configuration and seed.

    Args:
        knobs: The knob names, in the order of each configuration's values.
        curves: ``{config: {seed: Curve}}``.
        max_epochs: The full schedule; a shorter curve is one that was stopped early.
        source: Where it came from (a file, or ``sweep NAME``).
    """

    knobs: list[str]
    curves: dict[Config, dict[int, Curve]]
    max_epochs: int
    source: str
    _means: dict[Config, float] = field(default_factory=dict, repr=False)

    @property
    def configs(self) -> list[Config]:
        return list(self.curves)

    @cached_property
    def knob_values(self) -> dict[str, list]:
        """Each knob's tabulated values, sorted (numbers by value, others as text)."""
        out = {}
        for i, knob in enumerate(self.knobs):
            values = {c[i] for c in self.curves}
            numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
            out[knob] = sorted(values, key=None if numeric else str)
        return out

    @property
    def combinations(self) -> int:
        """How many combinations of the knobs' tabulated values there are (a whole grid: one
        configuration each)."""
        return math.prod(len(values) for values in self.knob_values.values())

    def draw(self, config: Config, rng: np.random.Generator) -> Curve:
        """One seed's curve of ``config``, the seed drawn with ``rng``."""
        seeds = sorted(self.curves[config])
        return self.curves[config][seeds[int(rng.integers(len(seeds)))]]

    def finals(self, config: Config) -> list[float]:
        """The final values of the seeds that ran the full schedule to a number."""
        return [c.values[-1] for c in self.curves[config].values()
                if len(c.values) >= self.max_epochs and not math.isnan(c.values[-1])]

    def true_final(self, config: Config) -> float:
        """Mean final value over the seeds that ran the full schedule to a number (a diverged
        run, NaN, says nothing of the others; NaN if none did)."""
        if config not in self._means:
            finals = self.finals(config)
            self._means[config] = float(np.mean(finals)) if finals else math.nan
        return self._means[config]

    def best(self, mode: Mode) -> tuple[Config, float]:
        """The configuration with the best mean final value, and that value."""
        known = [(c, self.true_final(c)) for c in self.configs if not math.isnan(self.true_final(c))]
        return mode.pick(known, key=lambda item: item[1])

    def curve_for(self, space: SweepSpace, repetition: int
                  ) -> Callable[[int, dict[str, Any]], tuple[Config, Curve]]:
        """What a simulated trial replays: the nearest tabulated configuration, one of its seeds
        drawn with a generator seeded by ``(repetition, trial index)``, the same draw a replayed
        real sweep makes for its trial number; a trial that names its training seed (every
        aqr-sweep trial: seed 0, a confirmation run another) gets that seed's place in the order
        of seeds of its exact params for the repetition (seed 0 its first, 1 its second, ...: a
        re-run is another seed, an exact repeat the same one)."""
        def curve_for(index: int, params: dict[str, Any], seed: int | None = None
                      ) -> tuple[Config, Curve]:
            config = self.nearest(params, space)
            if seed is None:
                return config, self.draw(config, np.random.default_rng([repetition, index]))
            return config, self.seeded(config, repetition, seed, params)
        return curve_for

    def seeded(self, config: Config, repetition: int, seed: int, params: dict[str, Any]
               ) -> Curve:
        """The curve of the ``seed``-th seed of ``config`` in the repetition's order of seeds for
        ``params`` (a permutation drawn per repetition and exact params; past the last, round).
        Keyed by the exact params, not the row: two proposals the table rounds to the same row
        are two trainings whose seed noise is not shared, even at the same seed (keyed by the
        row, every proposal near a lucky or unlucky seed 0 would replay its very curve)."""
        seeds = sorted(self.curves[config])
        key = zlib.crc32(json.dumps(params, sort_keys=True, default=str).encode())
        order = np.random.default_rng([repetition, 1_000_003, key]).permutation(len(seeds))
        return self.curves[config][seeds[int(order[seed % len(seeds)])]]

    def notes(self, space: SweepSpace) -> list[str]:
        """How the table is replayed other than row by row, one line each: a table that is not a
        whole grid of its knobs' values (a proposal replays the nearest tabulated
        configuration), and each knob whose tabulated values the space cannot propose (out of its
        range, off its step, or not a choice: replayed only as the nearest to what it proposes;
        a choice, or a value a log scale cannot hold, never)."""
        lines = []
        if len(self.curves) < self.combinations:
            lines.append(f"{self.source}: {len(self.curves)} configurations of the "
                         f"{self.combinations} combinations of its knobs' values (not a whole "
                         "grid): a proposal replays the nearest tabulated configuration")
        for knob, values in self.knob_values.items():
            param = space.parameters[knob]
            problems = [p for v in values if (p := out_of_range(param, v))]
            if problems:
                never = isinstance(param, CategoricalParameter) or any(
                    math.isinf(_position(param, v)) for v in values)
                reach = "never replayed" if never else "replayed only by the proposals nearest to it"
                lines.append(f"{self.source}: {knob}: {'; '.join(problems)} (the space cannot "
                             f"propose it: {reach})")
        return lines

    def as_params(self, config: Config) -> dict[str, Any]:
        return dict(zip(self.knobs, config, strict=True))

    def nearest(self, params: dict[str, Any], space: SweepSpace) -> Config:
        """The tabulated configuration closest to ``params``: per knob, the nearest tabulated
        value (on the log scale for a log parameter, exact for a categorical one); where the
        table is not a whole grid and that combination has no curve, the tabulated
        configuration nearest over all knobs (each numeric knob's distance as a share of its
        tabulated span, a categorical one's 0 or 1; the first in the table's order on a tie)."""
        out = []
        for knob, values in self.knob_values.items():
            p = space.parameters[knob]
            if isinstance(p, CategoricalParameter):
                out.append(params[knob] if params[knob] in values else values[0])
                continue
            target = _position(p, params[knob])
            out.append(min(values, key=lambda v: abs(_position(p, v) - target)))
        nearest = tuple(out)
        if nearest in self.curves:
            return nearest
        spans = {knob: self._span(p, knob) for knob in self.knobs
                 if not isinstance(p := space.parameters[knob], CategoricalParameter)}
        return min(self.curves, key=lambda config: self._distance(config, params, space, spans))

    def _span(self, param: Any, knob: str) -> float:
        """How far apart a knob's tabulated values lie on its scale (1 for one value)."""
        ends = [x for v in self.knob_values[knob] if math.isfinite(x := _position(param, v))]
        return (max(ends) - min(ends)) if len(ends) > 1 and max(ends) > min(ends) else 1.0

    def _distance(self, config: Config, params: dict[str, Any], space: SweepSpace,
                  spans: dict[str, float]) -> float:
        """How far a tabulated configuration is from ``params`` over all knobs (see nearest)."""
        total = 0.0
        for knob, value in zip(self.knobs, config, strict=True):
            p = space.parameters[knob]
            if isinstance(p, CategoricalParameter):
                total += float(value != params[knob])
                continue
            gap = abs(_position(p, value) - _position(p, params[knob]))
            total += (gap / spans[knob]) ** 2
        return total


def _position(param: Any, value: Any) -> float:
    """Where ``value`` sits on ``param``'s scale (its log for a log parameter); inf where that
    scale cannot hold it (a log parameter's value of 0 or below), so it is nearest to nothing."""
    value = float(value)
    if getattr(param, "log", False):
        return math.log(value) if value > 0 else math.inf
    return value


def metric_column(frame: pd.DataFrame, metric: str, source: str) -> str:
    """The table's column for ``metric``: its full name or its last part (``NDS`` for
    ``pts_bbox_NuScenes/NDS``)."""
    for name in (metric, metric.rsplit("/", 1)[-1]):
        if name in frame.columns:
            return name
    raise SurfaceError(f"{source}: no column for the metric {metric!r} (columns: "
                       f"{', '.join(map(str, frame.columns))})")


def numeric_columns(frame: pd.DataFrame, columns: list[str], path: Path) -> pd.DataFrame:
    """``frame`` with ``columns`` (those it has) as numbers; ``seed`` and ``epoch`` whole ones,
    ``epoch_seconds`` at least 0. A metric's empty cell or NaN is a run that diverged.

    Raises:
        SurfaceError: a cell that is not a number (or infinite, or negative seconds), naming its
            line and column.
    """
    for column in (c for c in dict.fromkeys(columns) if c in frame.columns):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        whole = column in ("seed", "epoch")
        bad = (numbers.isna() & (frame[column].notna() | whole)) | (
            whole & (numbers.round() != numbers)) | np.isinf(numbers) | (
            (column == "epoch_seconds") & (numbers < 0))
        if bad.any():
            row = bad.idxmax()
            cell = frame[column][row]
            if pd.isna(cell):
                what = "is empty"
            elif np.isinf(numbers[row]):
                what = f"{cell!r} is not a finite number" + (
                    "" if column in NON_KNOB_COLUMNS else " (a run that diverged is NaN)")
            elif numbers[row] < 0 and column == "epoch_seconds":
                what = f"{cell!r} is negative (an epoch takes 0 seconds or more)"
            else:
                what = f"{cell!r} is not {'a whole number' if whole else 'a number'}"
            raise SurfaceError(f"{path}: line {int(row) + 2}, column {column!r}: {what}")
        frame = frame.assign(**{column: numbers.astype(int) if whole else numbers})
    return frame


def load_surface(path: str | Path, space: SweepSpace, table_schedule: bool = False) -> Surface:
    """A surface table for ``space``: a CSV with a column per parameter of the space, ``seed``,
    ``epoch``, the space's metric (full name or last part) and optionally ``epoch_seconds``. Its
    full schedule is the space's ``max_epochs`` or, with ``table_schedule``, the table's longest
    curve.

    Raises:
        MissingFileError: no such file.
        SurfaceError: a table without the needed columns, one that varies something the space
            does not search (more than one row per configuration, seed and epoch), or whose
            curves run past the space's schedule.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"surface table not found: {path} (make one with `python "
                               "benchmarks/make_surface.py`, or replay a finished sweep with "
                               "`aqr-sweep simulate --from-sweep NAME`)")
    try:
        frame = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as err:
        raise SurfaceError(f"{path}: not a CSV table ({' '.join(str(err).split())})") from None
    knobs = list(space.parameters)
    missing = [c for c in (*knobs, "seed", "epoch") if c not in frame.columns]
    if missing:
        raise SurfaceError(f"{path}: no column {', '.join(map(repr, missing))} (a surface for "
                           f"this space has a column per parameter ({', '.join(knobs)}), seed, "
                           "epoch and the metric)")
    value = metric_column(frame, space.metric, str(path))
    if (empty := frame[knobs].isna()).any(axis=None):
        row, column = empty.stack().idxmax()
        raise SurfaceError(f"{path}: line {int(row) + 2}, column {column!r}: is empty (every row "
                           "names its configuration)")
    numeric = [k for k in knobs if not isinstance(space.parameters[k], CategoricalParameter)]
    frame = numeric_columns(frame, [value, *NON_KNOB_COLUMNS, *numeric], path)
    # a float knob as written by hand or by another tool: 0.400000000001 is the grid's 0.4
    frame = frame.assign(**{k: frame[k].map(lambda v: float(f"{v:.12g}")) for k in numeric
                            if pd.api.types.is_float_dtype(frame[k])})
    rows = pd.util.hash_pandas_object(frame, index=False)
    if (repeats := rows.duplicated()).any():
        second = repeats.idxmax()
        first = rows.index[rows == rows[second]][0]
        raise SurfaceError(f"{path}: line {second + 2} repeats line {first + 2} exactly; remove "
                           "the repeated rows")
    if (clashes := frame.duplicated([*knobs, "seed", "epoch"])).any():
        second = clashes.idxmax()
        same = (frame[[*knobs, "seed", "epoch"]] == frame.loc[second, [*knobs, "seed", "epoch"]])
        first = same.all(axis=1).idxmax()
        differ = [c for c in frame.columns if c not in (*knobs, "seed", "epoch")
                  and not (frame.loc[first, c] == frame.loc[second, c]
                           or (pd.isna(frame.loc[first, c]) and pd.isna(frame.loc[second, c])))]
        raise SurfaceError(f"{path}: lines {first + 2} and {second + 2} are the same "
                           f"configuration, seed and epoch with another {', '.join(differ)}: "
                           "a table has one row each; if it varies a column the space does not "
                           "search, add it to the space's parameters or filter the table")
    seconds = frame["epoch_seconds"] if "epoch_seconds" in frame.columns else None
    frame = frame.assign(_seconds=1.0 if seconds is None else seconds.fillna(1.0))
    curves: dict[Config, dict[int, Curve]] = {}
    for key, rows in frame.sort_values("epoch").groupby([*knobs, "seed"], sort=True):
        *config, seed = (v.item() if isinstance(v, np.generic) else v for v in key)
        if (epochs := rows["epoch"].tolist()) != list(range(1, len(epochs) + 1)):
            run = f"the run {dict(zip(knobs, config, strict=True))} seed {seed}"
            gap = min(set(range(1, epochs[-1] + 1)) - set(epochs), default=None)
            raise SurfaceError(f"{path}: {run} " + (f"has no row for epoch {gap}" if gap else
                                                     f"starts at epoch {epochs[0]}")
                               + "; a run has one row per epoch from 1 to its last")
        curves.setdefault(tuple(config), {})[int(seed)] = Curve(
            values=rows[value].astype(float).tolist(), seconds=rows["_seconds"].tolist())
    if not curves:
        raise SurfaceError(f"{path}: no rows (a surface has one per configuration, seed and "
                           "epoch)")
    longest = max(len(c.values) for runs in curves.values() for c in runs.values())
    if longest > space.max_epochs and not table_schedule:
        raise SurfaceError(f"{path}: its curves run {longest} epochs, past the space's "
                           f"max_epochs ({space.max_epochs}); replay it with a space whose "
                           f"max_epochs is {longest} and whose training runs {longest} epochs "
                           "(for the mini task: search_spaces/demo_12ep.yaml runs 12)")
    surface = Surface(knobs, curves, longest if table_schedule else space.max_epochs, str(path))
    if all(math.isnan(surface.true_final(c)) for c in surface.configs):
        schedule = surface.max_epochs
        raise SurfaceError(f"{path}: no run reaches epoch {schedule} (the schedule) with a "
                           "number, so nothing is known to be best: " + (
                               f"its curves run {longest} epochs; replay it with a space whose "
                               f"max_epochs is {longest} (and whose training runs {longest})"
                               if longest < schedule else
                               "every run's final value is NaN or empty (they diverged)"))
    return surface


def sweep_surface(study: optuna.Study, space: SweepSpace, name: str) -> tuple[Surface, list[dict]]:
    """A finished sweep's curves as a surface: one configuration per trial that completed or was
    pruned (keyed by its trial number, in the order the sweep ran them), and each one's params.
    A pruned trial's curve stops at the epoch it was pruned at: what it would have done after is
    not known. Failed, running and imported trials are left out."""
    curves: dict[Config, dict[int, Curve]] = {}
    params: list[dict] = []
    ran = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    for trial in sorted(study.get_trials(deepcopy=False, states=ran), key=lambda t: t.number):
        epochs = sorted(trial.intermediate_values)
        if not epochs or trial.user_attrs.get(TrialAttr.IMPORTED):
            continue
        values = [trial.intermediate_values[e] for e in epochs]
        curves[(trial.number,)] = {0: Curve(values, [1.0] * len(values))}
        params.append(dict(trial.params))
    if not curves:
        raise SurfaceError(f"sweep {name!r} has no completed or pruned trial to replay")
    return Surface(["trial"], curves, space.max_epochs, f"sweep {name}"), params
