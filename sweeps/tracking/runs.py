"""The sweep's MLflow runs without Ray: the experiment, the parent run, batched metrics, and the
runs a dead driver left open."""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode
from mlflow.tracking import MlflowClient

from sweeps.constants import MAX_TAG_CHARS, NON_METRIC_KEYS, Mode, Tag, TrialState
from sweeps.errors import DamagedStoreError
from sweeps.run.ranking import Standing, describe
from sweeps.space import SweepSpace
from sweeps.store.status import TrialStatus
from sweeps.store.sweep_dir import SweepDir, SweepRecord


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
            new = not db.exists()
            try:
                client = MlflowClient(uri)
                client.search_experiments(max_results=1)  # creates and migrates the store
            except BaseException:
                if new:  # a half-made store (a full disk) would fail every later sweep here
                    for part in (db, db.with_name(db.name + "-journal")):
                        part.unlink(missing_ok=True)
                raise
            yield client
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def check_parent_run(sweep: SweepDir, record: SweepRecord) -> None:
    """Check that the sweep's parent run is in its tracking store, without creating the store
    (MLflow makes a missing sqlite database, and its folder, on first use).

    Raises:
        DamagedStoreError: the store's sqlite file, or the run in it, is not there.
    """
    db = Path(record.tracking_uri.removeprefix("sqlite:///"))
    if record.tracking_uri.startswith("sqlite:///") and not db.is_file():
        raise DamagedStoreError(f"sweep {sweep.name!r}: its MLflow store {record.tracking_uri} "
                                f"is gone (no file {db}); nothing was changed. Restore the store, "
                                f"or set tracking_uri in {sweep.record_file} to where it is")
    try:
        MlflowClient(record.tracking_uri).get_run(record.parent_run_id)
    except MlflowException as err:
        if err.error_code != ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            raise
        raise DamagedStoreError(f"sweep {sweep.name!r}: its MLflow run {record.parent_run_id} "
                                f"is not in {record.tracking_uri}; nothing was changed. Restore "
                                f"the store, or set tracking_uri and parent_run_id in "
                                f"{sweep.record_file} to the store and run of the sweep") from None


def create_trial_run(client: MlflowClient, experiment: str, parent: str, sweep: str,
                     number: int, name: str, label: str, state: TrialState,
                     params: dict[str, Any], **tags: str) -> str:
    """A trial's (or an imported run's) nested run under the sweep's parent run, with the tags
    that ``report``, ``ui`` and a resume find it by, and its params; its id."""
    run = client.create_run(experiment, run_name=name, tags={
        Tag.PARENT: parent, Tag.SWEEP: sweep, Tag.STATE: str(state),
        Tag.TRIAL_NUMBER: str(number), Tag.LABEL: label, **tags})
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
    return run.info.run_id


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


#: where ``aqr-sweep ui`` serves the MLflow UI by default
DEFAULT_UI = "http://127.0.0.1:5000/"


def run_page_url(ui: str, experiment: str, run: str) -> str:
    """One run's page in the MLflow UI."""
    return f"{ui.rstrip('/')}/#/experiments/{experiment}/runs/{run}"


def runs_view_url(ui: str, experiment: str, sweep: str, metric: str, mode: Mode) -> str:
    """The MLflow UI's runs view of one sweep: its parent and trial runs in one flat list, the best
    by ``metric`` first (the best trial's run is named ``... (best)``)."""
    query = urlencode({"searchFilter": f"tags.`{Tag.SWEEP}` = '{sweep}'",
                       "orderByKey": f"metrics.`{metric}`",
                       "orderByAsc": "true" if mode is Mode.MIN else "false"}, quote_via=quote)
    return f"{ui.rstrip('/')}/#/experiments/{experiment}/runs?{query}"


def numeric_metrics(result: dict, step: int, timestamp: int) -> list[Metric]:
    """The validation's numbers as MLflow metrics (bookkeeping keys left out)."""
    return [Metric(key, float(value), timestamp, step) for key, value in result.items()
            if key not in NON_METRIC_KEYS and not isinstance(value, bool)
            and isinstance(value, int | float)]


def log_metrics(client: MlflowClient, run_id: str, metrics: list[Metric]) -> None:
    """Log metrics in batches MLflow accepts (at most 1000 entries a call)."""
    for start in range(0, len(metrics), 900):
        client.log_batch(run_id, metrics=metrics[start:start + 900])


def record_summary(client: MlflowClient, parent: str, space: SweepSpace,
                   statuses: list[TrialStatus], best: Standing | None) -> None:
    """The sweep's answer on its parent run: ``best``, the ranking's first configuration
    (export-best's), its mean under the metric's own name (so the runs view shows it beside the
    trials'), its first trial and params; counts per state, and a description."""
    counts: dict[str, int] = {}
    for s in statuses:
        counts[str(s.state)] = counts.get(str(s.state), 0) + 1
    now = int(time.time() * 1000)
    metrics = [Metric(f"trials_{state}", float(n), now, 0) for state, n in counts.items()]
    tags = [RunTag(Tag.STATE, "running" if counts.get("running") else "ended")]
    lines = [f"Sweep **{space.name}**: {space.metric} ({space.mode}), "
             + ", ".join(f"{n} {state}" for state, n in counts.items()) + "."]
    first = None if best is None else next(
        (s for s in statuses if s.number == best.trials[0]), None)
    if first is not None:
        metrics.append(Metric(space.metric, float(best.mean), now, 0))
        tags += [RunTag("aqr.best_trial", str(first.number)),
                 RunTag("aqr.best_params", json.dumps(first.params, default=str)[:MAX_TAG_CHARS])]
        mean = describe(best.mean, best.runs, best.half_width, best.at_epoch, best.noise_dof)
        name = " ".join(filter(None, (f"trial {first.number}", first.label)))
        lines.append(f"Best: {name}, {space.metric} = {mean}, params {first.params}.")
    lines.append("Pruned trials end as KILLED runs named `trial_NNNN pruned@K`; "
                 "`aqr-sweep report` adds the tuning matrix and plots under `report/`.")
    tags.append(RunTag("mlflow.note.content", "\n\n".join(lines)))
    client.log_batch(parent, metrics=metrics, tags=tags)
    mark_best_run(client, parent, None if first is None else first.number)


def mark_best_run(client: MlflowClient, parent: str, best: int | None) -> None:
    """Name the best trial's run ``... (best)`` (tag ``aqr.best``), so the runs view shows it;
    a run that was the best before a resume loses the mark."""
    experiment = client.get_run(parent).info.experiment_id
    runs = client.search_runs([experiment], f"tags.`{Tag.PARENT}` = '{parent}'",
                              max_results=5000)
    for run in runs:
        tags = run.data.tags
        name = tags.get("mlflow.runName", run.info.run_name or "")
        is_best = best is not None and tags.get(Tag.TRIAL_NUMBER) == str(best) \
            and tags.get(Tag.IMPORTED) != "true"
        if is_best and tags.get(Tag.BEST) != "true":
            client.set_tag(run.info.run_id, Tag.BEST, "true")
            client.set_tag(run.info.run_id, "mlflow.runName", f"{name} {BEST_SUFFIX}")
        elif not is_best and tags.get(Tag.BEST) == "true":
            client.delete_tag(run.info.run_id, Tag.BEST)
            client.set_tag(run.info.run_id, "mlflow.runName", name.removesuffix(f" {BEST_SUFFIX}"))


def record_preflight(client: MlflowClient, parent: str, verdict: str,
                     folder: Path | None = None) -> None:
    """The preflight's verdict on the sweep's parent run (tag ``aqr.preflight``), and its
    report and results under the run's ``preflight/`` artifacts."""
    client.set_tag(parent, Tag.PREFLIGHT, verdict[:MAX_TAG_CHARS])
    for name in ("report.txt", "result.json"):
        if folder is not None and (folder / name).is_file():
            client.log_artifact(parent, str(folder / name), artifact_path="preflight")


#: what the best trial's run name ends with
BEST_SUFFIX = "(best)"


#: where the tuning matrix starts in the parent run's description (a later report replaces it)
MATRIX_HEADING = "### Tuning matrix"


def log_report(client: MlflowClient, parent: str, folder: Path, matrix_markdown: str) -> None:
    """A report's files as artifacts of the sweep's parent run (under ``report/``), and its
    tuning matrix in the run's description, so the run page shows it without a click."""
    client.log_artifacts(parent, str(folder), artifact_path="report")
    note = client.get_run(parent).data.tags.get("mlflow.note.content", "")
    note = note.split(MATRIX_HEADING)[0].rstrip()
    text = f"{note}\n\n{MATRIX_HEADING}\n\n{matrix_markdown}\n\nThe whole report: " \
           "`report/index.html` in this run's artifacts."
    client.set_tag(parent, "mlflow.note.content", text[:MAX_TAG_CHARS])
