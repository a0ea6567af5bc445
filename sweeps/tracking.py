"""MLflow: one parent run per sweep, one nested run per trial, logged from the driver.

The nested run gets the trial's params, every validation's metrics at its epoch, the AQR
diagnostics, and tags: ``aqr.state`` (running, completed, pruned, failed), ``aqr.pruned_at_epoch``,
``aqr.work_dir``, ``aqr.trial_number`` and, for a failure, ``aqr.error`` (with the training's last
lines).
"""

from __future__ import annotations

import time
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from ray.tune import Callback

from sweeps.ledger import TrialLedger
from sweeps.space import SweepSpace

PARENT_TAG = "mlflow.parentRunId"
SWEEP_TAG = "aqr.sweep"
_MAX_TAG = 4900


def default_tracking_uri() -> str:
    """``sqlite:///<cwd>/mlflow.db`` (MLflow 3's file store needs an opt-in; sqlite does not)."""
    return f"sqlite:///{Path('mlflow.db').absolute()}"


def experiment_id(client: MlflowClient, space: SweepSpace) -> str:
    """The space's experiment (default ``aqr-sweep``), created with an explicit artifact location
    (else artifacts land relative to whichever process logs them)."""
    name = space.tracking.experiment or "aqr-sweep"
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = space.tracking.artifact_location or Path("mlartifacts").absolute().as_uri()
    return client.create_experiment(name, artifact_location=location)


def start_parent_run(client: MlflowClient, experiment: str, space: SweepSpace,
                     space_file: Path) -> str:
    """Create the sweep's parent run, with the space as params, tags and an artifact."""
    run = client.create_run(experiment, run_name=space.name,
                            tags={SWEEP_TAG: space.name, "aqr.kind": "sweep",
                                  "aqr.metric": space.metric, "aqr.mode": space.mode})
    run_id = run.info.run_id
    client.log_batch(run_id, params=[
        Param("base_config", space.base_config), Param("sampler", space.search.sampler),
        Param("pruner", space.pruner.type), Param("num_trials", str(space.num_trials())),
        Param("max_epochs", str(space.max_epochs)),
    ])
    client.log_artifact(run_id, str(space_file))
    return run_id


def numeric_metrics(result: dict, step: int, timestamp: int) -> list[Metric]:
    """The validation's numbers as MLflow metrics (Ray's bookkeeping keys left out)."""
    skip = {"epoch", "training_iteration", "time_this_iter_s", "time_total_s", "timestamp",
            "time_since_restore", "iterations_since_restore", "pid", "done", "trial_id"}
    out = []
    for key, value in result.items():
        if key in skip or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        out.append(Metric(key, float(value), timestamp, step))
    return out


def log_metrics(client: MlflowClient, run_id: str, metrics: list[Metric]) -> None:
    """Log metrics in batches MLflow accepts (at most 1000 entries a call)."""
    for start in range(0, len(metrics), 900):
        client.log_batch(run_id, metrics=metrics[start:start + 900])


class MLflowTrialTracker(Callback):
    """Ray Tune callback that records each trial as a nested MLflow run of the sweep's run.

    Args:
        client: MLflow client on the sweep's tracking store.
        experiment: Experiment id.
        parent_run_id: The sweep's run.
        ledger: The sweep's trial ledger (params, work dir, how each trial ended).
        sweep_name: Tagged on every trial run.
    """

    def __init__(self, client: MlflowClient, experiment: str, parent_run_id: str,
                 ledger: TrialLedger, sweep_name: str) -> None:
        self.client = client
        self.sweep_name = sweep_name
        self.experiment = experiment
        self.parent_run_id = parent_run_id
        self.ledger = ledger
        self.run_ids: dict[str, str] = {}

    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        entry = self.ledger.get(trial.trial_id)
        if entry is None or trial.trial_id in self.run_ids:
            return
        run = self.client.create_run(self.experiment, run_name=entry.name, tags={
            PARENT_TAG: self.parent_run_id, SWEEP_TAG: self.sweep_name,
            "aqr.state": "running", "aqr.work_dir": str(entry.work_dir),
            "aqr.trial_number": str(entry.number), "aqr.label": entry.label,
            "ray.trial_id": trial.trial_id})
        self.run_ids[trial.trial_id] = run.info.run_id
        self.client.log_batch(run.info.run_id, params=[Param(k, str(v))
                                                       for k, v in entry.params.items()])

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        run_id = self.run_ids.get(trial.trial_id)
        if run_id is None or "epoch" not in result:
            return
        log_metrics(self.client, run_id,
                    numeric_metrics(result, int(result["epoch"]), int(time.time() * 1000)))

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        self._finish(trial)

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        entry = self.ledger.get(trial.trial_id)
        if entry is not None:
            entry.state = "failed"
            entry.error = entry.error or _error_text(trial)
        self._finish(trial)

    def _finish(self, trial) -> None:
        run_id = self.run_ids.get(trial.trial_id)
        entry = self.ledger.get(trial.trial_id)
        if run_id is None or entry is None:
            return
        tags = [RunTag("aqr.state", entry.state),
                RunTag("aqr.epochs_run", str(len(entry.epochs)))]
        if entry.pruned_at is not None:
            tags.append(RunTag("aqr.pruned_at_epoch", str(entry.pruned_at)))
        if entry.error:
            tags.append(RunTag("aqr.error", entry.error[-_MAX_TAG:]))
        self.client.log_batch(run_id, tags=tags)
        status = "FAILED" if entry.state == "failed" else "FINISHED"
        self.client.set_terminated(run_id, status=status)


def _error_text(trial) -> str:
    """The error a Ray trial ended with (our TrialError's message, with the training's tail)."""
    path = getattr(trial, "error_file", None) or getattr(getattr(trial, "run_metadata", None),
                                                         "error_filename", None)
    if path and Path(path).is_file():
        return Path(path).read_text(errors="replace")[-_MAX_TAG:]
    return str(getattr(trial, "error_msg", "") or "failed")
