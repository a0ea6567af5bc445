"""One trial: launch the training run, follow its log, report each validation to Ray Tune.

This function runs inside a Ray actor. Each validation becomes one ``tune.report`` with the epoch;
the scheduler may stop the trial after any of them, and then the training's whole process group
ends. A restarted trial (``max_failures``) resumes from its work dir's latest checkpoint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from ray import tune

from sweeps.backends import Backend, has_checkpoint
from sweeps.logs import LogFollower, ValidationRecord
from sweeps.overrides import cfg_options, flat_overrides
from sweeps.searcher import WORK_DIR_KEY
from sweeps.space import SweepSpace


class TrialError(RuntimeError):
    """A trial that cannot go on; the message says why, with the training's last lines."""


def report_of(record: ValidationRecord, space: SweepSpace) -> dict:
    """What Tune (and from there Optuna and MLflow) gets for one validation.

    Raises:
        TrialError: the optimised metric is missing from the validation, naming the keys that are.
    """
    if space.metric not in record.metrics:
        shown = ", ".join(sorted(record.metrics)[:15]) or "none"
        raise TrialError(f"metric {space.metric!r} not in the validation at epoch {record.epoch}; "
                         f"it logged: {shown}. Set `metric` in the space to one of these.")
    return {**record.metrics, **record.diagnostics, "epoch": record.epoch}


def make_trainable(space: SweepSpace, backend: Backend,
                   poll_seconds: float = 1.0) -> Callable[[dict], None]:
    """The Ray Tune function trainable of a sweep."""

    def run_trial(config: dict) -> None:
        params = {name: config[name] for name in space.parameters}
        work_dir = Path(config[WORK_DIR_KEY])
        resume = has_checkpoint(work_dir)
        job = backend.start(work_dir, cfg_options(flat_overrides(space, params)), resume)
        follower = LogFollower(work_dir, space.log_format, since=job.started_at)
        seen = 0
        try:
            while True:
                code = job.poll()
                for record in follower.poll():
                    seen += 1
                    result = report_of(record, space)
                    tune.report(result)
                    if math.isnan(result[space.metric]):
                        raise TrialError(f"{space.metric} is NaN at epoch {record.epoch} (the "
                                         "training diverged); see " + str(job.output))
                if code is not None:
                    break
                time.sleep(poll_seconds)
        finally:
            job.stop()
        if code != 0:
            raise TrialError(f"training exited with code {code}; last lines of {job.output}:\n"
                             + job.tail())
        if seen == 0:
            where = follower.path or f"{work_dir} (no log file found)"
            raise TrialError(f"training finished but logged no validation in {where}; "
                             f"check log_format ({space.log_format}) and that validation runs. "
                             f"Last lines:\n{job.tail()}")

    return run_trial
