"""The sweep driver: space -> Optuna study + Ray Tune Tuner -> trials -> MLflow.

``run_sweep`` starts a new sweep or resumes one whose driver stopped: trials that finished are not
rerun, trials that were running go on as themselves (the same Optuna trial and MLflow run) in
their own work dirs from their latest checkpoints, and the MLflow parent run is reused. One driver
runs a sweep at a time (``driver.lock``). However the driver stops (the sweep's end, Ctrl-C,
SIGTERM, a full disk), no training of the sweep outlives it on its node: each is sent SIGTERM and,
after ``stop_grace_seconds``, SIGKILL (on other nodes, each trial's reaper does the same).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from mlflow.tracking import MlflowClient
from rich.console import Console

from sweeps.backends import Backend, CommandBackend
from sweeps.backends.processes import (
    alive,
    descendants,
    end_processes,
    processes_under,
    wait_gone,
)
from sweeps.config.base import BaseConfig, enqueued_points, load_base_config
from sweeps.constants import TrialState
from sweeps.errors import (
    DiskFullError,
    PreflightError,
    RayClusterError,
    SweepBusyError,
    SweepHaltedError,
    SweepInterruptedError,
    is_disk_full,
)
from sweeps.preflight.check import check_program, preflight_message, run_preflight
from sweeps.run.cluster import reach, trial_problem
from sweeps.run.confirm import study_ranking
from sweeps.run.halt import SweepHalt
from sweeps.run.ledger import TrialEntry, TrialLedger
from sweeps.run.ranking import Standing
from sweeps.run.scheduler import build_scheduler
from sweeps.run.searcher import OptunaAskTellSearcher
from sweeps.run.trial import make_trainable
from sweeps.space import SweepSpace, load_space
from sweeps.store.create import create_sweep
from sweeps.store.lock import DriverLock
from sweeps.store.status import TrialStatus, trial_statuses
from sweeps.store.study import (
    changed_parameters,
    enqueue_points,
    interrupted_trials,
    load_study,
    open_study,
    trials_to_run,
)
from sweeps.store.sweep_dir import SweepDir, SweepRecord
from sweeps.tracking.runs import check_parent_run, record_preflight, record_summary
from sweeps.tracking.trial_tracker import MLflowTrialTracker

logger = logging.getLogger(__name__)

#: what Ray Tune reads from the driver's environment while the sweep runs: Ctrl-C and SIGTERM
#: reach the driver as KeyboardInterrupt (not Ray's handler, which ends quietly and advises
#: ``Tuner.restore``), and no Ray banners (the sweep's own view speaks)
TUNE_ENVIRONMENT = {"TUNE_DISABLE_SIGINT_HANDLER": "1", "RAY_AIR_NEW_OUTPUT": "0"}
#: seconds beyond the grace that a stopped training's processes get to be gone
STOP_MARGIN = 15.0
#: seconds the processes of a Ray this driver started get to end after its shutdown
RAY_GRACE = 5.0


@dataclass
class SweepSummary:
    """How a sweep stands after a run: every trial of the sweep, which of them this run ran,
    and the best completed one."""

    name: str
    sweep_dir: Path
    tracking_uri: str
    parent_run_id: str
    trials: list[TrialStatus] = field(default_factory=list)
    ran: list[TrialEntry] = field(default_factory=list)
    #: the ranking's best configuration (export-best's answer: a mean over seeds), and the
    #: params of its first run
    best: Standing | None = None
    best_params: dict = field(default_factory=dict)

    @property
    def best_number(self) -> int | None:
        """The best configuration's first run."""
        return None if self.best is None else self.best.trials[0]

    @property
    def best_value(self) -> float | None:
        """Its mean over its runs."""
        return None if self.best is None else self.best.mean

    def counts(self) -> dict[TrialState, int]:
        """Trials of the whole sweep per state."""
        out: dict[TrialState, int] = {}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out


@dataclass
class RunOptions:
    """How this run of the driver goes (not part of the sweep)."""

    view: str = "auto"
    console: Console | None = None
    backend: Backend | None = None


def run_sweep(space_file: str | Path | None = None, *, name: str | None = None,
              address: str | None = None, resume: bool = False, view: str = "auto",
              console: Console | None = None, backend: Backend | None = None,
              preflight: bool = False, progress: Callable[[str], None] = lambda _: None
              ) -> SweepSummary:
    """Run (or resume) a sweep to the end and return how it stands.

    Args:
        space_file: The space YAML (not needed to resume: the sweep keeps a copy).
        name: Sweep name (default: the space's ``name``).
        address: Ray cluster address (default: a local Ray).
        resume: Continue the sweep ``name`` after its driver stopped.
        view: ``live`` (a table redrawn in place), ``events`` (a timestamped line per event, for
            logs under nohup/sbatch), ``none``, or ``auto``: live when stdout is a terminal.
        console: Where the live table goes.
        backend: What launches the trainings (default: the space's command line).
        preflight: Before a new sweep's first trial, run the preflight (the first trial's
            command for a few iterations, the knob probe; ``aqr-sweep run`` does unless told
            --no-preflight); its verdict goes to the sweep folder and the MLflow parent run.
        progress: Where the preflight says what it does.

    Raises:
        SpaceError: a bad space file or a missing base config.
        SweepExistsError: ``name`` is taken (and not resuming), or its folder holds a sweep that
            cannot be read.
        SweepNotFoundError, DamagedStoreError: resuming a sweep that does not exist or cannot be
            read.
        SweepBusyError: another driver runs the sweep, or a stopped driver's trainings still run.
        SweepInterruptedError: Ctrl-C or SIGTERM: the trainings were stopped, their trials left to
            ``aqr-sweep resume`` (shown as interrupted).
        DiskFullError: the disk of the sweep or of MLflow filled up while the sweep ran.
        PreflightError: the preflight failed; no trial was launched.
    """
    options = RunOptions(view, console, backend)
    if resume:
        sweep = SweepDir(name)
        record = sweep.read()
        study = load_study(sweep)  # a lost or damaged study is an error, never a silent new start
        check_parent_run(sweep, record)  # so is a lost MLflow store or run
        space = load_space(sweep.space_file)
        if (change := changed_parameters(space, study)) is not None:
            raise space.problem("parameters", change)
        original = Path(record.space_file)  # relative base_config paths are relative to it
        space_path = original if original.is_file() else sweep.space_file
    else:
        space_path = Path(space_file)
        space = load_space(space_path)
        sweep = SweepDir(name or space.name)
    base = load_base_config(space, space_path)  # a bad space writes nothing
    points = enqueued_points(space, base)
    if preflight and not resume:
        check_program(space)  # nor does a program the preflight cannot start
    created = not resume and not sweep.path.exists()
    try:
        with DriverLock(sweep.path, sweep.name), _stops_interrupt():
            if resume:
                _wait_for_stopped_trainings(sweep, space)
            with _ray(address, space):
                if not resume:
                    sweep, space, record = _create(space_path, sweep, created)
                    _preflight(sweep, space, record, base, preflight, progress)
                return SweepRun(sweep, space, record, base, options).run(points, resume)
    except BaseException as err:
        if created and not sweep.exists():  # nothing half-made stays behind
            shutil.rmtree(sweep.path, ignore_errors=True)
        if isinstance(err, KeyboardInterrupt):  # before a trial started (SweepRun says after)
            raise SweepInterruptedError(_interrupted_before(sweep, resume)) from None
        raise


def _interrupted_before(sweep: SweepDir, resume: bool) -> str:
    """What a Ctrl-C or SIGTERM before the sweep's first trial of this run left."""
    if resume:
        return (f"interrupted before the sweep went on; nothing was changed: continue with "
                f"`aqr-sweep resume {sweep.name}`")
    if not sweep.exists():
        return "interrupted before the sweep was created; nothing of it was written"
    return (f"interrupted before the sweep's first trial; `aqr-sweep resume {sweep.name}` "
            f"starts its trials (without a preflight: `aqr-sweep preflight SPACE --name "
            f"{sweep.name}` runs one)")


@contextmanager
def _stops_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt as Ctrl-C does (its default would end the driver with
    the Ray it started still running)."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _create(space_path: Path, sweep: SweepDir, created: bool
            ) -> tuple[SweepDir, SweepSpace, SweepRecord]:
    """The new sweep's folder, space copy, record and MLflow parent run.

    Raises:
        DiskFullError: the disk filled up; nothing of the sweep is kept.
    """
    try:
        return create_sweep(space_path, sweep.name, check_base_config=False)
    except BaseException as err:
        if created:  # nothing half-made stays behind (e.g. a full disk)
            shutil.rmtree(sweep.path, ignore_errors=True)
        if is_disk_full(err):
            raise DiskFullError(f"no space left on the device of {sweep.path} or of the MLflow "
                                "store while creating the sweep; nothing of it was kept: free "
                                "space, then run the command again") from err
        raise


@contextmanager
def _ray(address: str | None, space: SweepSpace) -> Iterator[None]:
    """Ray, connected to ``address`` (else ``RAY_ADDRESS``'s; with neither, started on this
    machine, not the cluster a ``ray start`` left registered, which ``--address auto`` joins)
    unless this process already runs it, then shut down if it was started here.

    Raises:
        RayClusterError: no cluster answers at ``address`` (or ``RAY_ADDRESS``'s).
        SpaceError: a trial asks for more than a Ray started on this machine has (a cluster's
            autoscaler may still add nodes, so one at an address is not judged).
    """
    import ray

    source, target = ("--address", address) if address else ("RAY_ADDRESS",
                                                              os.environ.get("RAY_ADDRESS"))
    ray_address = target or "local"   # with neither, a Ray of its own (not a registered one)
    started = not ray.is_initialized()
    if started and target:
        reach(target, source)
    children = {proc.pid for proc in descendants(os.getpid())}
    try:
        if started:
            try:
                ray.init(address=ray_address, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING, configure_logging=False)
            except ConnectionError as err:
                raise RayClusterError(f"{source} {target}: "
                                      f"{(str(err).strip().splitlines() or ['no cluster'])[0]}"
                                      ) from None
            # ray.init sets a SIGTERM handler that ends this process and leaves its Ray running
            signal.signal(signal.SIGTERM, signal.default_int_handler)
        if ray_address == "local" and (problem := trial_problem(space, ray.cluster_resources())):
            raise space.problem(*problem)
        yield
    finally:
        if started:
            ours = [proc for proc in descendants(os.getpid()) if proc.pid not in children]
            with _signals_held():  # a second Ctrl-C must not cut Ray's shutdown short
                ray.shutdown()
                # its agents outlive the raylet by a minute or two, unless ended
                end_processes(lambda: [proc for proc in ours if alive(proc)], RAY_GRACE)


def _preflight(sweep: SweepDir, space: SweepSpace, record: SweepRecord, base: BaseConfig,
               enabled: bool, progress: Callable[[str], None]) -> None:
    """Run the preflight before a new sweep's first trial (or record that it was skipped).

    Raises:
        PreflightError: it failed; the parent run ends FAILED and no trial is launched.
    """
    client = MlflowClient(record.tracking_uri)
    if not enabled:
        record_preflight(client, record.parent_run_id, "skipped (--no-preflight)")
        return
    folder = sweep.preflight_dir
    result = run_preflight(space, base, folder, progress)
    record_preflight(client, record.parent_run_id, result.summary(), folder)
    if result.passed:
        progress(f"preflight {result.summary()}: {folder / 'report.txt'}")
        return
    client.set_terminated(record.parent_run_id, status="FAILED")
    raise PreflightError(preflight_message(result, folder))


def _wait_for_stopped_trainings(sweep: SweepDir, space: SweepSpace) -> None:
    """A driver that was just stopped leaves its trainings ending within their grace: wait for
    them, so that no work dir is trained twice at once.

    Raises:
        SweepBusyError: some still run after the grace.
    """
    left = wait_gone(lambda: processes_under(sweep.trials_dir),
                     space.stop_grace_seconds + STOP_MARGIN)
    if left:
        pids = ", ".join(str(p.pid) for p in left[:10])
        raise SweepBusyError(f"trainings of sweep {sweep.name!r} from an earlier driver still run "
                             f"(pids {pids}); a resumed trial would train beside them in the same "
                             "work dir. End them (kill PID), then resume")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set, as it was afterwards."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM ignored for a while (the stop under way is the one they ask for)."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class SweepRun:
    """One run of the driver over a sweep whose lock it holds: the Tuner, its callbacks, and the
    stop that leaves no training behind."""

    def __init__(self, sweep: SweepDir, space: SweepSpace, record: SweepRecord, base: BaseConfig,
                 options: RunOptions) -> None:
        self.sweep, self.space, self.record, self.base = sweep, space, record, base
        self.options = options
        self.client = MlflowClient(record.tracking_uri)
        self.ledger = TrialLedger()

    def run(self, points: list[tuple[str, dict]], resume: bool) -> SweepSummary:
        """Run the sweep's remaining trials under Ray Tune and say how the sweep stands."""
        self.client.update_run(self.record.parent_run_id, status="RUNNING")
        study = open_study(self.space, self.sweep)
        interrupted = interrupted_trials(study) if resume else []
        if resume:
            logger.debug("resuming %s: %d interrupted trial(s) go on", self.sweep.name,
                         len(interrupted))
        else:
            enqueue_points(study, points)
        remaining = trials_to_run(self.space, study)
        if remaining:
            self._fit(study, interrupted, remaining)
        else:
            self._close(study)
        return self._summary(study)

    def _fit(self, study: optuna.Study, interrupted: list, remaining: int) -> None:
        from ray import tune

        space = self.space
        halt = SweepHalt()
        searcher = OptunaAskTellSearcher(space, study, self.ledger, self.sweep.trials_dir,
                                         interrupted, halt)
        tracker = MLflowTrialTracker(self.client, self.record.experiment_id,
                                     self.record.parent_run_id, self.ledger, self.sweep.name,
                                     space.metric)
        trainable = tune.with_resources(make_trainable(space, self._backend(), self.base),
                                        {"cpu": space.resources.cpu, "gpu": space.resources.gpu})
        handled = [signal.SIGTERM]
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # as Python leaves it (`cmd &`)
            handled.append(signal.SIGINT)
        previous = {sig: signal.signal(sig, halt.interrupt) for sig in handled}
        try:
            with _environment(TUNE_ENVIRONMENT):
                tune.Tuner(trainable, tune_config=tune.TuneConfig(
                    metric=space.metric, mode=space.mode.value, search_alg=searcher,
                    scheduler=build_scheduler(space, self.ledger), num_samples=remaining,
                    max_concurrent_trials=space.search.concurrency, reuse_actors=False),
                    run_config=tune.RunConfig(
                        name="tune", storage_path=str(self.sweep.ray_dir), verbose=0,
                        stop=halt, callbacks=[tracker, *self._views(remaining)],
                        failure_config=tune.FailureConfig(max_failures=space.max_failures)),
                ).fit()
            if halt.signalled is not None:  # its KeyboardInterrupt was swallowed on the way
                raise KeyboardInterrupt(f"signal {halt.signalled}")
            if halt.reason is not None:
                searcher.fail_unfinished(f"stopped: the sweep halted ({halt.reason})")
        except KeyboardInterrupt:
            self._interrupt_running()
            raise SweepInterruptedError(
                f"interrupted: the running trials were stopped and are kept as interrupted; "
                f"continue with `aqr-sweep resume {self.sweep.name}`") from None
        except Exception as err:
            if not is_disk_full(err):
                raise
            self._interrupt_running()
            raise DiskFullError(
                f"no space left on the device of {self.sweep.path} or of the MLflow store: the "
                "running trials were stopped and are kept as interrupted, finished trials are "
                f"kept; free space, then `aqr-sweep resume {self.sweep.name}`") from err
        finally:
            with _signals_held():  # a second Ctrl-C must not cut the stop of the trainings short
                self._end_trainings()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._close(study, tracker)
        if halt.reason is not None:
            raise SweepHaltedError(
                f"sweep {self.sweep.name!r} halted: {halt.reason}; no more trials were launched. "
                f"Fix the space, then run it as a new sweep (--name), or fix its copy "
                f"{self.sweep.space_file} and `aqr-sweep resume {self.sweep.name}`")

    def _backend(self) -> Backend:
        return self.options.backend or CommandBackend.for_space(self.space, os.getcwd(),
                                                                self.sweep.path)

    def _views(self, remaining: int) -> list:
        """What a person sees while the sweep runs: a live table on a terminal, else one line per
        event."""
        view = self.options.view
        if view == "live" or (view == "auto" and sys.stdout.isatty()):
            from sweeps.view.live import RichProgress

            return [RichProgress(self.ledger, self.space, remaining, self.sweep.name,
                                 self.options.console)]
        if view in ("events", "auto"):
            from sweeps.view.events import EventLog

            return [EventLog(self.ledger, self.space)]
        return []

    def _interrupt_running(self) -> None:
        """Keep the trials that were running as interrupted (their Optuna trials stay RUNNING:
        a resume goes on with them)."""
        for entry in self.ledger.entries():
            if not entry.state.finished:
                entry.end(TrialState.INTERRUPTED)

    def _end_trainings(self) -> None:
        """End whatever of the sweep's trainings still runs on this node (SIGTERM, the grace,
        SIGKILL): a trial that Tune stopped as the sweep ended, or that Ctrl-C left."""
        end_processes(lambda: processes_under(self.sweep.trials_dir),
                      self.space.stop_grace_seconds)

    def _close(self, study: optuna.Study, tracker: MLflowTrialTracker | None = None) -> None:
        """The runs Tune left open closed, and the sweep's answer and state on its MLflow parent
        run (a full disk leaves them as they are: the sweep's own state is in the study)."""
        finished = all(e.state.finished for e in self.ledger.entries())
        try:
            if tracker is not None:
                tracker.close_open()
            record_summary(self.client, self.record.parent_run_id, self.space,
                           trial_statuses(study, self.space, driver_alive=False),
                           study_ranking(study, self.space).best)
            self.client.set_terminated(self.record.parent_run_id,
                                       status="FINISHED" if finished else "KILLED")
        except Exception as err:  # noqa: BLE001 - only a full disk is expected here
            if not is_disk_full(err):
                raise
            logger.warning("could not record the sweep's end in MLflow: the disk is full")

    def _summary(self, study: optuna.Study) -> SweepSummary:
        summary = SweepSummary(self.sweep.name, self.sweep.path, self.record.tracking_uri,
                               self.record.parent_run_id,
                               trials=trial_statuses(study, self.space, driver_alive=False),
                               ran=self.ledger.entries())
        summary.best = best = study_ranking(study, self.space).best
        if best is not None:
            summary.best_params = dict(study.get_trials(deepcopy=False)[best.trials[0]].params)
        return summary

