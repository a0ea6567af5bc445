"""The sweep's MLflow runs without Ray: the experiment, the parent run, batched metrics, and the
runs a dead driver left open."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from sweeps.constants import NON_METRIC_KEYS, Tag
from sweeps.space import SweepSpace


@contextmanager
def tracking_store(uri: str) -> Iterator[MlflowClient]:
    """A client on ``uri`` whose store exists: for sqlite, created under a file lock, so that two
    sweeps started at once in a fresh directory do not race on creating (migrating) it."""
    if not uri.startswith("sqlite:///"):
        yield MlflowClient(uri)
        return
    db = Path(uri.removeprefix("sqlite:///"))
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            client = MlflowClient(uri)
            client.search_experiments(max_results=1)  # creates and migrates the store
            yield client
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
                            tags={Tag.SWEEP: space.name, Tag.KIND: "sweep",
                                  Tag.METRIC: space.metric, Tag.MODE: space.mode})
    run_id = run.info.run_id
    client.log_batch(run_id, params=[
        Param("base_config", space.base_config), Param("sampler", space.search.sampler),
        Param("pruner", space.pruner.type), Param("num_trials", str(space.num_trials())),
        Param("max_epochs", str(space.max_epochs)),
    ])
    client.log_artifact(run_id, str(space_file))
    return run_id


def numeric_metrics(result: dict, step: int, timestamp: int) -> list[Metric]:
    """The validation's numbers as MLflow metrics (bookkeeping keys left out)."""
    return [Metric(key, float(value), timestamp, step) for key, value in result.items()
            if key not in NON_METRIC_KEYS and not isinstance(value, bool)
            and isinstance(value, int | float)]


def log_metrics(client: MlflowClient, run_id: str, metrics: list[Metric]) -> None:
    """Log metrics in batches MLflow accepts (at most 1000 entries a call)."""
    for start in range(0, len(metrics), 900):
        client.log_batch(run_id, metrics=metrics[start:start + 900])
