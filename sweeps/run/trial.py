"""One trial: write its config file, launch the training, follow its log, report each validation
to Ray Tune.

This function runs inside a Ray actor. Each new validation becomes one ``tune.report`` with the
epoch; the scheduler may stop the trial after any of them. A trial is complete only when it
validated at ``max_epochs``: a training that ends earlier fails the trial with the reason (Ray may
then restart it, and it resumes from its work dir's latest validated checkpoint: one saved but
never validated, the training stopped during its validation, is set aside,
:mod:`sweeps.backends.checkpoints`), and one that validates
past it halts the sweep (its schedule is not the space's). A NaN or infinite metric ends the
training at once; the trial then ends FAILED without a restart (the checkpoint diverged too). A
line of the training's output that matches one of the space's ``fail_patterns`` (a failure the
training swallows, such as the fork's ``[AQR ERROR]``) fails the trial with that line. Every
failure is kept in the work dir (:mod:`sweeps.run.failure`) for the driver to read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from ray import tune

from sweeps.backends import OUTPUT_FILE, Backend, has_checkpoint, rewind_to_validated
from sweeps.config.base import BaseConfig
from sweeps.config.writer import write_trial_config
from sweeps.constants import KNOWN_EPOCHS_KEY, SEED_KEY, WORK_DIR_KEY
from sweeps.logs import LOG_FORMATS, LogFollower, ValidationRecord, log_files, logged_records
from sweeps.logs.output_watch import OutputWatch
from sweeps.run.failure import TrialError, clear_failure, write_failure
from sweeps.space import SweepSpace


def report_of(record: ValidationRecord, space: SweepSpace) -> dict:
    """What Tune (and from there Optuna and MLflow) gets for one validation.

    Raises:
        TrialError: the optimised metric is missing from the validation, naming the keys that are,
            or its value there is not a number (``null``, a word).
    """
    if space.metric not in record.metrics:
        shown = ", ".join(sorted(record.metrics)[:15]) or "none"
        raise TrialError(f"metric {space.metric!r} not in the validation at epoch {record.epoch}; "
                         f"it logged: {shown}. Set `metric` in the space to one of these",
                         fatal=True)
    if space.metric in record.unreadable:
        raise TrialError(f"{space.metric} is {record.unreadable[space.metric]} at epoch "
                         f"{record.epoch}, not a number: the evaluation did not produce it (its "
                         "output says why); the trial is failed, not counted as diverged")
    return {**record.metrics, **record.diagnostics, "epoch": record.epoch}


def _unfinished(space: SweepSpace, work_dir: Path, last_epoch: int) -> str:
    """Why a training that exited 0 before validating ``max_epochs`` does not complete its trial."""
    formats = [space.log_format] if space.log_format != "auto" else list(LOG_FORMATS)
    patterns = [pattern for fmt in formats for pattern in LOG_FORMATS[fmt].patterns]
    if not any(log_files(work_dir, fmt) for fmt in formats):
        return (f"the training exited 0 but wrote no log in its work dir {work_dir} (looked for "
                f"{', '.join(patterns)}): give the command {{work_dir}} as the training's work "
                "dir (--work-dir {work_dir}), or set log_format to the log it writes")
    final = work_dir / f"epoch_{space.max_epochs}.pth"
    if final.exists():
        return (f"the training exited 0, but epoch {space.max_epochs} (max_epochs) was never "
                f"validated: its checkpoint {final} exists, so it ended between saving and "
                "validating. A retry (max_failures) or `aqr-sweep resume` trains that epoch "
                "again from the checkpoint before it when the training keeps two "
                "(max_keep_ckpts: 2); else evaluate that checkpoint with the training's test "
                "script, or rerun the trial. If it ends so again, check that the training "
                "validates every epoch")
    got = f"its last validation was epoch {last_epoch}" if last_epoch else "it logged no validation"
    return (f"the training exited 0 but {got}, not max_epochs={space.max_epochs}; check that "
            f"max_epochs matches the config's schedule and that validation runs every epoch "
            f"(log_format: {space.log_format})")


class Progress:
    """How long a training has gone without writing anything (its output or its log)."""

    def __init__(self, output: Path, follower: LogFollower) -> None:
        self.output, self.follower = output, follower
        self._size, self._since = -1, time.monotonic()

    def idle(self) -> float:
        """Seconds since the output or the followed log last grew."""
        size = self.follower.offset
        try:
            size += self.output.stat().st_size
        except FileNotFoundError:
            pass
        if size != self._size:
            self._size, self._since = size, time.monotonic()
        return time.monotonic() - self._since


def make_trainable(space: SweepSpace, backend: Backend, base: BaseConfig,
                   poll_seconds: float = 1.0) -> Callable[[dict], None]:
    """The Ray Tune function trainable of a sweep."""

    def run_trial(config: dict) -> None:
        work_dir = Path(config[WORK_DIR_KEY])
        work_dir.mkdir(parents=True, exist_ok=True)
        clear_failure(work_dir)
        try:
            _train(space, backend, base, config, work_dir, poll_seconds)
        except Exception as err:
            write_failure(work_dir, err)
            raise

    return run_trial


def _train(space: SweepSpace, backend: Backend, base: BaseConfig, config: dict, work_dir: Path,
           poll_seconds: float) -> None:
    """Launch (or resume) the trial's training and report its validations until it ends.

    Raises:
        TrialError: the training crashed, hung, matched a fail pattern, never logged the metric
            or ended before ``max_epochs``.
    """
    params = {name: config[name] for name in space.parameters if name in config}  # active ones
    resume = has_checkpoint(work_dir)
    trial_config = write_trial_config(space, base, params, work_dir)
    last_epoch, diverged = int(config.get(KNOWN_EPOCHS_KEY, 0)), False
    if resume:  # validations an earlier attempt logged but never reported (a dead driver)
        known = last_epoch  # the validations the study holds
        records = logged_records(work_dir, space.log_format)
        for record in records:
            if record.epoch > last_epoch:
                last_epoch = record.epoch
                tune.report(report_of(record, space))
        if last_epoch >= space.max_epochs:  # stopped after its last validation: nothing to train
            if last_epoch == known:  # Tune ends a trial on a result: its last one, again
                final = [r for r in records if r.epoch == last_epoch]
                if not final:
                    raise TrialError(f"the trial validated epoch {last_epoch} (max_epochs) before "
                                     f"it was stopped, but no log in {work_dir} holds it any "
                                     "more; restore the log, or rerun the trial")
                tune.report(report_of(final[-1], space))
            return
        if note := rewind_to_validated(work_dir, last_epoch):  # stopped while validating
            with open(work_dir / OUTPUT_FILE, "a") as output:
                output.write(note + "\n")
    job = backend.start(work_dir, trial_config, resume, int(config.get(SEED_KEY, 0)))
    follower = LogFollower(work_dir, space.log_format, since=job.started_at)
    progress = Progress(job.output, follower)
    watch = OutputWatch(job.output, space.fail_patterns)
    try:
        while not diverged:
            code = job.poll()
            if matched := watch.match():
                raise TrialError(f"the training's output matched a fail pattern: {matched}",
                                 job.tail())
            if code is None and progress.idle() > space.progress_timeout_seconds:
                if last_epoch >= space.max_epochs:  # validated its last epoch, hung tearing down
                    code = 0
                    break
                raise TrialError(
                    f"no progress for {progress.idle():.0f} s (progress_timeout_seconds="
                    f"{space.progress_timeout_seconds:g}): nothing new in {job.output} or the "
                    f"log after epoch {last_epoch}; the training was stopped as hung. Raise "
                    "progress_timeout_seconds if an epoch is that quiet", job.tail())
            try:
                records = follower.poll()
            except FileNotFoundError as err:
                raise TrialError(f"the log it followed ({err.filename}) was deleted or moved "
                                 "while the training ran; leave a trial's work dir as it is "
                                 "until the trial ends", job.tail()) from None
            for record in records:
                if record.epoch <= last_epoch:
                    continue  # a restarted launcher repeating epochs: reported already
                if record.epoch > space.max_epochs:
                    raise TrialError(f"the training validated epoch {record.epoch}, past "
                                     f"max_epochs={space.max_epochs}: its schedule is longer than "
                                     "the space says; set max_epochs to the config's schedule",
                                     job.tail(), fatal=True)
                last_epoch = record.epoch
                result = report_of(record, space)
                tune.report(result)
                if not math.isfinite(result[space.metric]):
                    diverged = True  # the searcher fails it, naming the epoch
                    break
            if code is not None:
                break
            time.sleep(poll_seconds)
    finally:
        job.stop()
    if diverged:
        return
    if matched := watch.match(final=True):  # its last lines
        raise TrialError(f"the training's output matched a fail pattern: {matched}", job.tail())
    if code != 0:
        raise TrialError(f"training exited with code {code} (its output: {job.output})",
                         job.tail())
    if last_epoch < space.max_epochs:
        raise TrialError(_unfinished(space, work_dir, last_epoch), job.tail())
