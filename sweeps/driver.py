"""The sweep driver: space -> Optuna study + Ray Tune Tuner -> trials -> MLflow.

``run_sweep`` starts a new sweep or resumes one whose driver died: trials that finished are not
rerun, trials that were running are run again in their own work dirs (so they resume from their
latest checkpoint), and the MLflow parent run is reused.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from mlflow.tracking import MlflowClient
from rich.console import Console

import aqr
from sweeps.backends import CommandBackend
from sweeps.ledger import TrialEntry, TrialLedger
from sweeps.pruners import build_pruner, first_prunable_epoch
from sweeps.samplers import build_sampler
from sweeps.scheduler import OptunaPruningScheduler, RecordingASHAScheduler
from sweeps.searcher import OptunaAskTellSearcher
from sweeps.space import SweepSpace, load_space
from sweeps.store import SweepDir, SweepRecord
from sweeps.tracking import (
    MLflowTrialTracker,
    default_tracking_uri,
    experiment_id,
    start_parent_run,
)
from sweeps.trial import make_trainable

logger = logging.getLogger(__name__)
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
            optuna.trial.TrialState.FAIL)


class SweepExistsError(RuntimeError):
    """A sweep of that name already exists."""


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

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.entries:
            out[e.state] = out.get(e.state, 0) + 1
        return out


def resolve_base_config(space: SweepSpace, space_file: Path) -> Path:
    """The base config as an absolute path: relative to the working dir, the space file, or the
    installed ``aqr`` package (for the embedded task's ``aqr/configs/...``).

    Raises:
        FileNotFoundError: naming the places looked in.
    """
    given = Path(space.base_config).expanduser()
    candidates = [given] if given.is_absolute() else [
        Path.cwd() / given, space_file.parent / given, Path(aqr.__file__).parent.parent / given]
    for path in candidates:
        if path.is_file():
            return path.resolve()
    raise FileNotFoundError(f"{space_file}: base_config: file not found: {space.base_config} "
                            f"(looked in {', '.join(str(c.parent) for c in candidates)})")


def open_study(space: SweepSpace, sweep: SweepDir) -> optuna.Study:
    """The sweep's study, persisted in its folder (created on first use)."""
    sweep.path.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=sweep.name, storage=sweep.study_storage, load_if_exists=True,
        direction="maximize" if space.mode == "max" else "minimize",
        sampler=build_sampler(space), pruner=build_pruner(space.pruner, space.max_epochs))


def requeue_interrupted(study: optuna.Study) -> int:
    """Mark trials a dead driver left RUNNING as FAIL and enqueue them again with their work dir,
    so they resume from their checkpoints. Returns how many were requeued."""
    count = 0
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)
        study.set_user_attr(f"interrupted_{t.number}", True)
        study.enqueue_trial(t.params, user_attrs={
            "work_dir": t.user_attrs.get("work_dir", ""), "label": t.user_attrs.get("label", ""),
            "resumed_from": t.number}, skip_if_exists=False)
        count += 1
    return count


def mark_interrupted_runs(client: MlflowClient, experiment: str, parent: str) -> None:
    """Close the MLflow runs a dead driver left running (their trials run again as new runs)."""
    runs = client.search_runs([experiment], filter_string=(
        f"tags.`mlflow.parentRunId` = '{parent}' and tags.`aqr.state` = 'running'"))
    for run in runs:
        client.set_tag(run.info.run_id, "aqr.state", "interrupted")
        client.set_terminated(run.info.run_id, status="KILLED")


def trials_to_run(space: SweepSpace, study: optuna.Study) -> int:
    """The space's trial count less the trials that already ended (requeued and imported ones
    excluded)."""
    done = [t for t in study.get_trials(deepcopy=False, states=FINISHED)
            if not study.user_attrs.get(f"interrupted_{t.number}")
            and not t.user_attrs.get("imported")]
    return max(space.num_trials() - len(done), 0)


def build_scheduler(space: SweepSpace, ledger: TrialLedger):
    """Our Optuna pruning bridge, or Ray's ASHA for ``pruner.type: asha``."""
    if space.pruner.type == "asha":
        options = dict(space.pruner.options)
        options.setdefault("grace_period", first_prunable_epoch(space.pruner))
        try:
            return RecordingASHAScheduler(ledger, space.metric, space.max_epochs,
                                          **options)
        except (TypeError, AssertionError) as err:
            raise ValueError(f"pruner.options: {err or 'invalid ASHA arguments'} "
                             "(asha takes grace_period, reduction_factor, brackets)") from None
    return OptunaPruningScheduler(ledger, space.metric, space.max_epochs)


def create_sweep(space_file: str | Path, name: str | None = None, check_base_config: bool = True
                 ) -> tuple[SweepDir, SweepSpace, SweepRecord]:
    """Validate the space and set up the sweep's folder, study storage and MLflow parent run.

    A sweep that holds only imported trials (``aqr-sweep import-log``) is taken over as it is.

    Args:
        space_file: The space YAML.
        name: Sweep name (default: the space's).
        check_base_config: Require the base config to exist here (importing logs does not).

    Raises:
        SpaceError, FileNotFoundError: a bad space or base config.
        SweepExistsError: a sweep of that name has already run trials.
    """
    space_path = Path(space_file)
    space = load_space(space_path)
    if check_base_config:
        resolve_base_config(space, space_path)
    sweep = SweepDir(name or space.name)
    if sweep.exists():
        study = open_study(space, sweep)
        if any(not t.user_attrs.get("imported") for t in study.get_trials(deepcopy=False)):
            raise SweepExistsError(
                f"a sweep named {sweep.name!r} already exists in {sweep.path}; continue it with "
                f"`aqr-sweep resume {sweep.name}` or pick another with --name")
        return sweep, space, sweep.read()
    tracking_uri = space.tracking.uri or default_tracking_uri()
    client = MlflowClient(tracking_uri)
    sweep.path.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(space_path, sweep.space_file)
    experiment = experiment_id(client, space)
    parent = start_parent_run(client, experiment, space, sweep.space_file)
    record = SweepRecord(sweep.name, str(space_path.absolute()), tracking_uri, experiment, parent)
    sweep.write(record)
    return sweep, space, record


def run_sweep(space_file: str | Path | None = None, *, name: str | None = None,
              address: str | None = None, resume: bool = False,
              console: Console | None = None) -> SweepSummary:
    """Run (or resume) a sweep to the end and return how it went.

    Args:
        space_file: The space YAML (not needed to resume: the sweep keeps a copy).
        name: Sweep name (default: the space's ``name``).
        address: Ray cluster address (default: a local Ray).
        resume: Continue the sweep ``name`` after its driver died.
        console: Where the live table goes.

    Raises:
        SpaceError: a bad space file. SweepExistsError: ``name`` is taken (and not resuming).
        FileNotFoundError: the space, the base config or (resuming) the sweep is missing.
    """
    import ray
    from ray import tune

    if resume:
        sweep = SweepDir(name)
        record = sweep.read()
        space = load_space(sweep.space_file)
        original = Path(record.space_file)  # relative base_config paths are relative to it
        space_path = original if original.is_file() else sweep.space_file
    else:
        sweep, space, record = create_sweep(space_file, name)
        space_path = Path(space_file)
    base_config = resolve_base_config(space, space_path)
    client = MlflowClient(record.tracking_uri)
    experiment, parent = record.experiment_id, record.parent_run_id
    client.update_run(parent, status="RUNNING")

    study = open_study(space, sweep)
    if resume:
        requeued = requeue_interrupted(study)
        mark_interrupted_runs(client, experiment, parent)
        logger.info("resuming %s: %d interrupted trial(s) requeued", sweep.name, requeued)
    else:
        for point in space.search.enqueue:
            study.enqueue_trial(point.params, user_attrs={"label": point.name})
    remaining = trials_to_run(space, study)
    summary = SweepSummary(sweep.name, sweep.path, record.tracking_uri, parent)
    if remaining == 0:
        client.set_terminated(parent, status="FINISHED")
        return _summarise(summary, study, [])

    ledger = TrialLedger()
    backend = CommandBackend(space.command, str(base_config), space.resume_args, cwd=os.getcwd(),
                             env=space.env, num_gpus=math.ceil(space.resources.gpu))
    trainable = tune.with_resources(make_trainable(space, backend),
                                    {"cpu": space.resources.cpu, "gpu": space.resources.gpu})
    searcher = OptunaAskTellSearcher(space, study, ledger, sweep.trials_dir)
    callbacks = [MLflowTrialTracker(client, experiment, parent, ledger, sweep.name)]
    if console is not None or sys.stderr.isatty():
        from sweeps.progress import RichProgress

        callbacks.append(RichProgress(ledger, space, remaining, console))

    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING, configure_logging=False)
    try:
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                metric=space.metric, mode=space.mode, search_alg=searcher,
                scheduler=build_scheduler(space, ledger), num_samples=remaining,
                max_concurrent_trials=space.search.concurrency, reuse_actors=False),
            run_config=tune.RunConfig(
                name="tune", storage_path=str(sweep.ray_dir), callbacks=callbacks, verbose=0,
                failure_config=tune.FailureConfig(max_failures=space.max_failures)),
        )
        tuner.fit()
    finally:
        if started_ray:
            ray.shutdown()
        status = "FINISHED" if all(e.state != "running" for e in ledger.entries()) else "KILLED"
        client.set_terminated(parent, status=status)
    return _summarise(summary, study, ledger.entries())


def _summarise(summary: SweepSummary, study: optuna.Study,
               entries: list[TrialEntry]) -> SweepSummary:
    summary.entries = entries
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if completed:
        best = study.best_trial
        summary.best_number, summary.best_value = best.number, best.value
        summary.best_params = dict(best.params)
    return summary
