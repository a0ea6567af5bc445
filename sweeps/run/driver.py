"""The sweep driver: space -> Optuna study + Ray Tune Tuner -> trials -> MLflow.

``run_sweep`` starts a new sweep or resumes one whose driver died: trials that finished are not
rerun, trials that were running go on as themselves (the same Optuna trial and MLflow run) in
their own work dirs from their latest checkpoints, and the MLflow parent run is reused. One driver
runs a sweep at a time (``driver.lock``).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from mlflow.tracking import MlflowClient
from rich.console import Console

from sweeps.backends import Backend, CommandBackend
from sweeps.config.base import BaseConfig, enqueued_points, load_base_config
from sweeps.constants import TrialState
from sweeps.run.ledger import TrialEntry, TrialLedger
from sweeps.run.scheduler import build_scheduler
from sweeps.run.searcher import OptunaAskTellSearcher
from sweeps.run.trial import make_trainable
from sweeps.space import SweepSpace, load_space
from sweeps.store.create import create_sweep
from sweeps.store.lock import DriverLock
from sweeps.store.status import trial_statuses
from sweeps.store.study import (
    enqueue_points,
    interrupted_trials,
    load_study,
    open_study,
    trials_to_run,
)
from sweeps.store.sweep_dir import SweepDir, SweepRecord
from sweeps.tracking.runs import record_summary
from sweeps.tracking.trial_tracker import MLflowTrialTracker

logger = logging.getLogger(__name__)


@dataclass
class SweepSummary:
    """How a sweep (run) ended."""

    name: str
    sweep_dir: Path
    tracking_uri: str
    parent_run_id: str
    entries: list[TrialEntry] = field(default_factory=list)
    best_number: int | None = None
    best_value: float | None = None
    best_params: dict = field(default_factory=dict)

    def counts(self) -> dict[TrialState, int]:
        out: dict[TrialState, int] = {}
        for e in self.entries:
            out[e.state] = out.get(e.state, 0) + 1
        return out


def run_sweep(space_file: str | Path | None = None, *, name: str | None = None,
              address: str | None = None, resume: bool = False, view: str = "auto",
              console: Console | None = None, backend: Backend | None = None) -> SweepSummary:
    """Run (or resume) a sweep to the end and return how it went.

    Args:
        space_file: The space YAML (not needed to resume: the sweep keeps a copy).
        name: Sweep name (default: the space's ``name``).
        address: Ray cluster address (default: a local Ray).
        resume: Continue the sweep ``name`` after its driver died.
        view: ``live`` (a table redrawn in place), ``events`` (a timestamped line per event, for
            logs under nohup/sbatch), ``none``, or ``auto``: live when stdout is a terminal.
        console: Where the live table goes.
        backend: What launches the trainings (default: the space's command line).

    Raises:
        SpaceError: a bad space file or a missing base config.
        SweepExistsError: ``name`` is taken (and not resuming).
        SweepNotFoundError: resuming a sweep that does not exist.
        SweepBusyError: another driver runs the sweep.
        KeyboardInterrupt: Ctrl-C or SIGTERM: the trainings were stopped, their trials left to
            ``aqr-sweep resume`` (shown as interrupted).
    """
    if resume:
        sweep = SweepDir(name)
        record = sweep.read()
        load_study(sweep)  # a lost or damaged study is an error, never a silent new start
        space = load_space(sweep.space_file)
        original = Path(record.space_file)  # relative base_config paths are relative to it
        space_path = original if original.is_file() else sweep.space_file
    else:
        space_path = Path(space_file)
        space = load_space(space_path)
        sweep = SweepDir(name or space.name)
    base = load_base_config(space, space_path)  # a bad space writes nothing
    points = enqueued_points(space, base)
    created = not resume and not sweep.path.exists()
    with DriverLock(sweep.path, sweep.name):
        if not resume:
            try:
                sweep, space, record = create_sweep(space_path, sweep.name,
                                                    check_base_config=False)
            except BaseException:
                if created:  # nothing half-made stays behind (e.g. a full disk)
                    shutil.rmtree(sweep.path, ignore_errors=True)
                raise
        return _run(sweep, space, record, base, points, resume=resume, address=address,
                    view=view, console=console, backend=backend)


def _run(sweep: SweepDir, space: SweepSpace, record: SweepRecord, base: BaseConfig,
         points: list[tuple[str, dict]], *, resume: bool, address: str | None, view: str,
         console: Console | None, backend: Backend | None) -> SweepSummary:
    """Run the sweep's remaining trials under Ray Tune (the driver lock held)."""
    import ray
    from ray import tune

    client = MlflowClient(record.tracking_uri)
    experiment, parent = record.experiment_id, record.parent_run_id
    client.update_run(parent, status="RUNNING")

    study = open_study(space, sweep)
    interrupted = []
    if resume:
        interrupted = interrupted_trials(study)
        logger.info("resuming %s: %d interrupted trial(s) go on", sweep.name, len(interrupted))
    else:
        enqueue_points(study, points)
    remaining = trials_to_run(space, study)
    summary = SweepSummary(sweep.name, sweep.path, record.tracking_uri, parent)
    if remaining == 0:
        record_summary(client, parent, space, trial_statuses(study, space))
        client.set_terminated(parent, status="FINISHED")
        return _summarise(summary, study, [])

    ledger = TrialLedger()
    backend = backend or CommandBackend(space.command, space.resume_args, cwd=os.getcwd(),
                                        env=space.env, num_gpus=math.ceil(space.resources.gpu),
                                        grace=space.stop_grace_seconds)
    trainable = tune.with_resources(make_trainable(space, backend, base.path),
                                    {"cpu": space.resources.cpu, "gpu": space.resources.gpu})
    searcher = OptunaAskTellSearcher(space, study, ledger, sweep.trials_dir, interrupted)
    tracker = MLflowTrialTracker(client, experiment, parent, ledger, sweep.name)
    callbacks = [tracker]
    if view == "live" or (view == "auto" and sys.stdout.isatty()):
        from sweeps.view.live import RichProgress

        callbacks.append(RichProgress(ledger, space, remaining, console))
    elif view in ("events", "auto"):
        from sweeps.view.events import EventLog

        callbacks.append(EventLog(ledger, space))

    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING, configure_logging=False)
    # Ctrl-C (and SIGTERM, as sbatch's scancel sends) reach this thread as KeyboardInterrupt,
    # instead of Ray's own handler (which ends the run quietly and advises Tuner.restore)
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"  # no Ray banners: our own view (verbose=0) speaks
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                metric=space.metric, mode=space.mode.value, search_alg=searcher,
                scheduler=build_scheduler(space, ledger), num_samples=remaining,
                max_concurrent_trials=space.search.concurrency, reuse_actors=False),
            run_config=tune.RunConfig(
                name="tune", storage_path=str(sweep.ray_dir), callbacks=callbacks, verbose=0,
                failure_config=tune.FailureConfig(max_failures=space.max_failures)),
        )
        tuner.fit()
    except KeyboardInterrupt:
        for entry in ledger.entries():
            if not entry.state.finished:  # its Optuna trial stays RUNNING: resume goes on with it
                entry.end(TrialState.INTERRUPTED)
        tracker.close_interrupted()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        if started_ray:
            ray.shutdown()  # the trials' actors end, and their supervisors end the trainings
        finished = all(e.state.finished for e in ledger.entries())
        record_summary(client, parent, space, trial_statuses(study, space, driver_alive=False))
        client.set_terminated(parent, status="FINISHED" if finished else "KILLED")
    return _summarise(summary, study, ledger.entries())


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _summarise(summary: SweepSummary, study: optuna.Study,
               entries: list[TrialEntry]) -> SweepSummary:
    summary.entries = entries
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if completed:
        best = study.best_trial
        summary.best_number, summary.best_value = best.number, best.value
        summary.best_params = dict(best.params)
    return summary
