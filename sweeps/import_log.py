"""``aqr-sweep import-log``: past training runs into a sweep as references: an MLflow run each, and
a record in the study that status, report and simulate read.

An imported run trained on its own schedule (the real logs are 1-epoch fine-tunes from epoch 20),
a different fidelity from the sweep's trials, so the sampler and the pruner do not learn from it:
its Optuna trial is kept as FAIL (which TPE and the pruners skip) with its curve as intermediate
values and its final value as a user attr. A run without AQR is imported as the baseline."""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Any

import optuna
import yaml
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from sweeps.constants import Tag, TrialAttr, TrialState
from sweeps.errors import BadOptionError, MissingFileError, NoResultError
from sweeps.logs import ValidationRecord, read_log
from sweeps.run.samplers import distributions
from sweeps.space import SweepSpace, load_space, out_of_range
from sweeps.store.create import create_sweep
from sweeps.store.study import open_study
from sweeps.store.sweep_dir import SweepDir, SweepRecord
from sweeps.tracking.runs import check_parent_run, create_trial_run, log_metrics


def parse_params(pairs: list[str], space: SweepSpace) -> dict[str, Any]:
    """``['k=v', ...]`` -> checked values (numbers and lists parsed as YAML).

    Raises:
        BadOptionError: a malformed pair, an unknown parameter, or a value the space cannot hold.
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise BadOptionError(f"--param must look like name=value, but got {pair!r}")
        if key not in space.parameters:
            raise BadOptionError(f"--param {key}: not a parameter of the sweep; known: "
                             f"{', '.join(space.parameters)}")
        value = yaml.safe_load(raw)
        problem = out_of_range(space.parameters[key], value)
        if problem:
            raise BadOptionError(f"--param {key}: {problem}")
        params[key] = value
    return params


def check_baseline(params: dict[str, Any], baseline: bool) -> None:
    """Raises BadOptionError: a baseline (a run without AQR) given AQR params."""
    if baseline and params:
        raise BadOptionError(f"--baseline is a run without AQR; it takes no --param (given: "
                             f"{', '.join(params)})")


def log_digest(log: Path) -> str:
    """The sha256 of a log's bytes: what makes two imports the same run.

    Raises:
        MissingFileError: no such log.
    """
    if not log.is_file():
        raise MissingFileError(f"log file not found: {log}")
    return hashlib.sha256(log.read_bytes()).hexdigest()


def already_imported(log: Path, study: optuna.Study) -> int | None:
    """The trial that holds a log with the same bytes as ``log``, or None."""
    digest = log_digest(log)
    return next((t.number for t in study.get_trials(deepcopy=False)
                 if t.user_attrs.get(TrialAttr.SOURCE_SHA256) == digest), None)


def scored_records(log: Path, space: SweepSpace) -> list[ValidationRecord]:
    """The validations of ``log`` that hold the space's metric.

    Raises:
        MissingFileError: no such log. NoResultError: none holds the metric, or it is NaN or
            infinite at an epoch.
    """
    return _scored(log, read_log(log), space)


def _scored(log: Path, records: list[ValidationRecord], space: SweepSpace
            ) -> list[ValidationRecord]:
    """:func:`scored_records` of records already read."""
    scored = [r for r in records if space.metric in r.metrics]
    if not scored:
        keys = sorted({k for r in records for k in r.metrics})[:15]
        raise NoResultError(f"{log}: no validation with {space.metric!r}"
                         + (f"; it logged: {', '.join(keys)}" if keys else
                            " (no validation records at all)"))
    for record in scored:
        value = record.metrics[space.metric]
        if space.metric in record.unreadable:
            raise NoResultError(f"{log}: {space.metric} is {record.unreadable[space.metric]} at "
                                f"epoch {record.epoch}, not a number; not imported")
        if not math.isfinite(value):
            shown = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
            raise NoResultError(f"{log}: {space.metric} is {shown} at epoch {record.epoch}; not "
                                "imported (a diverged run has no result to compare)")
    return scored


def import_log(log: Path, params: dict[str, Any], space: SweepSpace, record: SweepRecord,
               study: optuna.Study, baseline: bool = False) -> tuple[int, str]:
    """Add one finished training log to the study (as a reference) and MLflow (nested run).

    Returns:
        The new trial's number and MLflow run id.

    Raises:
        MissingFileError: no such log. NoResultError: it holds no validation with the metric,
            or the metric is NaN or infinite at an epoch (its other metrics are kept as logged).
        BadOptionError: a baseline given AQR params.
    """
    check_baseline(params, baseline)
    records = read_log(log)
    scored = _scored(log, records, space)
    curve = {r.epoch: r.metrics[space.metric] for r in scored}
    final = scored[-1].metrics[space.metric]
    dists = distributions(space)
    kind = "baseline" if baseline else "imported"
    epochs = len(curve)
    study.add_trial(optuna.trial.create_trial(
        params=params, distributions={k: dists[k] for k in params},
        state=optuna.trial.TrialState.FAIL,
        intermediate_values=curve,
        user_attrs={TrialAttr.LABEL: f"{kind}:{log.stem}", TrialAttr.IMPORTED: True,
                    TrialAttr.BASELINE: baseline, TrialAttr.EPOCHS_TRAINED: epochs,
                    TrialAttr.FINAL_VALUE: final, TrialAttr.SOURCE: str(log.absolute()),
                    TrialAttr.SOURCE_SHA256: log_digest(log)}))
    number = study.get_trials(deepcopy=False)[-1].number

    client = MlflowClient(record.tracking_uri)
    logged = {**params, "aqr": "off"} if baseline else params
    run_id = create_trial_run(
        client, record.experiment_id, record.parent_run_id, record.name, number,
        f"{kind}_{log.stem}", f"{kind}:{log.stem}", TrialState.IMPORTED, logged,
        **{Tag.IMPORTED: "true", Tag.BASELINE: str(baseline).lower(),
           Tag.SOURCE: str(log.absolute()), Tag.EPOCHS_RUN: str(max(curve)),
           "mlflow.note.content": f"{kind} run from {log.name}: {epochs} epoch(s) on its own "
                                  f"schedule, not a trial of the sweep's {space.max_epochs}-epoch "
                                  "schedule; a reference the sampler does not learn from"})
    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, r.epoch) for r in records
               for k, v in {**r.metrics, **r.diagnostics}.items()]
    log_metrics(client, run_id, metrics)
    client.log_artifact(run_id, str(log))
    client.set_terminated(run_id, "FINISHED")
    return number, run_id


def target_space(name: str, space_file: Path | None) -> SweepSpace:
    """The space of the sweep to import into: its own when it exists, else ``space_file``'s
    (read before the sweep is created, so that a refused import creates nothing).

    Raises:
        MissingFileError: no such sweep, and no ``space_file``.
    """
    sweep = SweepDir(name)
    if sweep.exists():
        return load_space(sweep.space_file)
    if space_file is None:
        raise MissingFileError(f"no sweep named {name!r} yet; give --space SPACE.yaml to "
                               "create it")
    return load_space(space_file)


def open_or_create(name: str, space_file: Path | None) -> tuple[SweepDir, SweepSpace,
                                                                SweepRecord, optuna.Study]:
    """The sweep to import into; created from ``space_file`` when it does not exist yet."""
    sweep = SweepDir(name)
    if sweep.exists():
        record = sweep.read()
        check_parent_run(sweep, record)
        space = load_space(sweep.space_file)
    else:
        sweep, space, record = create_sweep(space_file, name, check_base_config=False)
    return sweep, space, record, open_study(space, sweep)
