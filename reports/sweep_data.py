"""Read a sweep back from its Optuna study and its MLflow runs into pandas."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import optuna
import pandas as pd
from mlflow.tracking import MlflowClient
from rich.progress import Progress

from sweeps.config.overrides import trial_schedules
from sweeps.constants import Tag, TrialState
from sweeps.errors import ParameterValueError
from sweeps.run.confirm import study_ranking
from sweeps.run.ranking import Ranking
from sweeps.space import SweepSpace, load_space
from sweeps.space.schedule import describe, logged_names
from sweeps.store.lock import DriverLock
from sweeps.store.status import trial_statuses
from sweeps.store.study import load_study
from sweeps.store.sweep_dir import SweepDir, SweepRecord
from sweeps.tracking.runs import DEFAULT_UI, check_parent_run, run_page_url


@dataclass
class SweepData:
    """A sweep as tables.

    Attributes:
        trials: One row per trial: ``trial``, ``label``, ``state``, ``epochs_run``,
            ``pruned_at_epoch``, one column per parameter, ``schedules`` (for a space with
            schedules: what each was, in words), ``value`` (the final metric of a
            completed trial), ``last`` (the last validation's), ``best``, ``final <metric>`` per
            tracked metric, ``duration_s``, ``run_id``, ``run_url`` (in the MLflow UI that
            ``aqr-sweep ui`` serves), ``work_dir``. Imported runs are rows too (state
            ``imported``): :func:`own_trials` leaves them out.
        curves: Long form, one row per trial, metric and epoch: ``trial``, ``metric``, ``epoch``,
            ``value``; the metric, the tracked ones and each schedule's logged value.
    """

    name: str
    space: SweepSpace
    record: SweepRecord
    sweep_dir: SweepDir
    study: optuna.Study
    trials: pd.DataFrame
    curves: pd.DataFrame

    @property
    def params(self) -> list[str]:
        return list(self.space.parameters)

    def completed(self) -> pd.DataFrame:
        """The sweep's own trials that completed with a final value."""
        trials = own_trials(self.trials)
        return trials[(trials["state"] == TrialState.COMPLETED) & trials["value"].notna()]

    @cached_property
    def ranking(self) -> Ranking:
        """The sweep's configurations ranked by their mean over runs (export-best's ranking)."""
        return study_ranking(self.study, self.space)

    def answer(self) -> pd.Series | None:
        """The trial ``export-best`` answers with: the first run of the configuration the ranking
        puts first (by its mean over its runs, confirmations counted, not by one lucky run); None
        before a trial completed."""
        if self.completed().empty:
            return None
        best = self.ranking.best
        return None if best is None else self.trials.set_index("trial", drop=False).loc[
            best.trials[0]]

    def tidy(self) -> pd.DataFrame:
        """``trials`` with per-epoch metric columns ``<metric>@<epoch>`` (what ``trials.csv`` holds)."""
        if self.curves.empty:
            return self.trials.copy()
        wide = self.curves.assign(column=lambda d: d["metric"] + "@" + d["epoch"].astype(str))
        wide = wide.pivot_table(index="trial", columns="column", values="value", aggfunc="last")
        ordered = sorted(wide.columns, key=lambda c: (c.rsplit("@", 1)[0], int(c.rsplit("@", 1)[1])))
        return self.trials.merge(wide[ordered], left_on="trial", right_index=True, how="left")


def own_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The sweep's own trials: imported runs (their own schedules) left out."""
    return trials[trials["state"] != TrialState.IMPORTED]


def is_numeric(values: pd.Series) -> bool:
    """Whether a parameter's column holds numbers; strings (pandas' ``str`` dtype or objects),
    booleans and mixed choices are categories."""
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def category_label(value: object) -> object:
    """A categorical value as text (``1``, ``"a"`` and ``None`` sort together as labels); NaN,
    no value, stays NaN."""
    return value if isinstance(value, float) and math.isnan(value) else str(value)


def load_sweep(name: str, root: Path | None = None, show_progress: bool = True) -> SweepData:
    """Everything ``report`` and ``export-best`` need about sweep ``name``.

    Raises:
        SweepNotFoundError: there is no such sweep.
        DamagedStoreError: its MLflow store or parent run is gone (never created here).
    """
    sweep = SweepDir(name, root)
    record = sweep.read()
    space = load_space(sweep.space_file)
    study = load_study(sweep)
    check_parent_run(sweep, record)
    rows = []
    alive = DriverLock(sweep.path, sweep.name).holder() is not None  # else RUNNING = interrupted
    for status in trial_statuses(study, space, driver_alive=alive):
        row = {"trial": status.number, "label": status.label, "state": str(status.state),
               "epochs_run": status.epochs_run, "pruned_at_epoch": status.pruned_at_epoch}
        row.update({p: status.params.get(p, math.nan) for p in space.parameters})
        if space.schedules:
            row["schedules"] = _schedules_text(space, status.params)
        row.update({"value": status.last if status.state == TrialState.COMPLETED else math.nan,
                    "last": math.nan if status.last is None else status.last,
                    "best": status.best, "work_dir": status.work_dir})
        rows.append(row)
    trials = pd.DataFrame(rows, columns=["trial", "label", "state", "epochs_run",
                                         "pruned_at_epoch", *space.parameters,
                                         *(["schedules"] if space.schedules else []), "value",
                                         "last", "best", "work_dir"])
    runs, curves = _mlflow_curves(record, space, show_progress)
    completed = trials["state"] == str(TrialState.COMPLETED)
    for metric in space.track:  # a final value is a completed trial's; pruned ones have none
        finals = curves[curves["metric"] == metric].groupby("trial")["value"].last()
        trials[f"final {metric}"] = trials["trial"].map(finals).where(completed)
    trials["duration_s"] = trials["trial"].map({n: r[1] for n, r in runs.items()})
    trials["run_id"] = trials["trial"].map({n: r[0] for n, r in runs.items()})
    trials["run_url"] = trials["run_id"].map(
        lambda run: run_page_url(DEFAULT_UI, record.experiment_id, run)
        if isinstance(run, str) else None)
    return SweepData(name, space, record, sweep, study, trials, curves)


def _mlflow_curves(record: SweepRecord, space: SweepSpace,
                   show_progress: bool) -> tuple[dict[int, tuple[str, float]], pd.DataFrame]:
    """Per trial number, its MLflow run id and duration (seconds, NaN while it runs); and the
    curves of the metric and the tracked ones."""
    client = MlflowClient(record.tracking_uri)
    runs = client.search_runs([record.experiment_id],
                              filter_string=f"tags.`{Tag.PARENT}` = '{record.parent_run_id}'",
                              max_results=5000)
    metrics = [space.metric, *[m for m in space.track if m != space.metric]]
    scheduled = [name for spec in space.schedules.values() for name in logged_names(spec)]
    run_ids, rows = {}, []
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("reading MLflow runs", total=len(runs))
        for run in runs:
            number = int(run.data.tags.get(Tag.TRIAL_NUMBER, -1))
            end = run.info.end_time
            duration = (end - run.info.start_time) / 1000 if end else math.nan
            run_ids[number] = (run.info.run_id, duration)
            for metric in [*metrics, *(n for n in scheduled if n in run.data.metrics)]:
                for m in client.get_metric_history(run.info.run_id, metric):
                    rows.append({"trial": number, "metric": metric, "epoch": int(m.step),
                                 "value": float(m.value)})
            progress.advance(task)
    curves = pd.DataFrame(rows, columns=["trial", "metric", "epoch", "value"])
    return run_ids, curves.sort_values(["trial", "metric", "epoch"], ignore_index=True)


def _schedules_text(space: SweepSpace, params: dict) -> str:
    """What a trial's schedules were, e.g. ``residual: cosine 0.7->0.4 (warm-up 1.5 of 6)``;
    empty for a run without the space's parameters (an imported log)."""
    try:
        schedules = trial_schedules(space, params)
    except ParameterValueError:
        return ""
    return "; ".join(f"{name}: {describe(s['kind'], s[s['kind']])}"
                     for name, s in schedules.items())
