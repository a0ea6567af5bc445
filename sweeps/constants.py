"""The saved vocabulary of a sweep, named once: trial states, Optuna user-attr keys, MLflow tags,
and the log keys that are never metrics (as Syne Tune's ``constants.py`` and
``backend/trial_status.py`` do)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")

#: the metric a space optimises unless it names another (the real CMT logs' key)
DEFAULT_METRIC = "pts_bbox_NuScenes/NDS"
#: the label of the enqueued point that is the configuration in use (the one a sweep's best is
#: compared with, seed for seed)
CURRENT_LABEL = "current"
#: GPU-hours of one epoch of the real R50 run (2 h on 8 GPUs): what simulations count
R50_GPU_HOURS_PER_EPOCH = 16.0
#: what the searcher adds to a trial's Tune config beside its params: the trial's work dir, its
#: training seed (``{seed}``), and the last epoch a resumed trial already reported (its trainable
#: goes on after it); kept here so that a trial's Ray worker imports no Optuna
WORK_DIR_KEY = "__work_dir"
SEED_KEY = "__seed"
KNOWN_EPOCHS_KEY = "__known_epochs"
#: standard errors a configuration's mean is lowered by to rank it (``search.confirm.pessimism``;
#: chosen on the tuning surfaces by ``benchmarks/tune_search.py``: 1.5 ties 1 on regret and gets
#: within 0.01 of the best sooner)
DEFAULT_PESSIMISM = 1.5
#: completed trials before the first confirmation run (``search.confirm.after``; chosen with the
#: pessimism: a leader among fewer runs is mostly one lucky seed)
DEFAULT_CONFIRM_AFTER = 3
#: what ``logs`` shows of a log when no metric is asked for
DEFAULT_SHOWN_METRICS = (DEFAULT_METRIC, "pts_bbox_NuScenes/mAP")


class Mode(StrEnum):
    """Which way the metric is better, with the three things a sweep asks of it."""

    MAX = "max"
    MIN = "min"

    @property
    def sign(self) -> float:
        """``+1`` for max, ``-1`` for min: ``sign * value`` is larger when better."""
        return 1.0 if self is Mode.MAX else -1.0

    def pick(self, items: Iterable[T], key: Callable[[T], Any] = lambda item: item) -> T:
        """The best of ``items`` by ``key`` (the first of ties); ``ValueError`` when empty."""
        return (max if self is Mode.MAX else min)(items, key=key)

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return self.sign * a > self.sign * b

    @property
    def direction(self) -> str:
        """Optuna's name for it."""
        return "maximize" if self is Mode.MAX else "minimize"


class TrialState(StrEnum):
    """How a trial stands, as ``status``, the live table, the reports and the ``aqr.state`` tag
    spell it."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    PRUNED = "pruned"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    #: a past run brought in with ``import-log``: a reference on its own schedule, not a trial
    #: the sampler learns from
    IMPORTED = "imported"

    @property
    def finished(self) -> bool:
        """Whether the trial will not run again."""
        return self in (TrialState.COMPLETED, TrialState.PRUNED, TrialState.FAILED,
                        TrialState.IMPORTED)

    @classmethod
    def of_optuna(cls, state_name: str) -> TrialState:
        """The state that Optuna's ``TrialState`` name stands for."""
        return _OPTUNA_STATES[state_name]


_OPTUNA_STATES = {"COMPLETE": TrialState.COMPLETED, "PRUNED": TrialState.PRUNED,
                  "FAIL": TrialState.FAILED, "RUNNING": TrialState.RUNNING,
                  "WAITING": TrialState.QUEUED}


class TrialAttr:
    """Keys of an Optuna trial's ``user_attrs``."""

    WORK_DIR = "work_dir"
    LABEL = "label"
    IMPORTED = "imported"
    #: an imported run without AQR
    BASELINE = "baseline"
    #: epochs an imported run trained (its own schedule, e.g. a 1-epoch fine-tune)
    EPOCHS_TRAINED = "epochs_trained"
    #: an imported run's final metric (its Optuna trial holds no value: see import-log)
    FINAL_VALUE = "final_value"
    SOURCE = "source"
    #: sha256 of an imported log's bytes (the same log is not imported twice)
    SOURCE_SHA256 = "source_sha256"
    PRUNED_AT_EPOCH = "pruned_at_epoch"
    #: why a failed trial failed (one line)
    ERROR = "error"
    #: the run's training seed (``{seed}``): 0 for the search, 1, 2, ... for confirmation runs
    SEED = "seed"
    #: a proposal set aside because it repeated this trial's run (:mod:`sweeps.run.repeats`)
    REPEAT_OF = "repeat_of"


def interrupted_key(number: int) -> str:
    """The study's ``user_attrs`` key that marks trial ``number`` as interrupted (its trial is
    FAIL in Optuna and runs again as a new trial)."""
    return f"interrupted_{number}"


class Tag:
    """MLflow tag names of the sweep's runs."""

    PARENT = "mlflow.parentRunId"
    SWEEP = "aqr.sweep"
    KIND = "aqr.kind"
    METRIC = "aqr.metric"
    MODE = "aqr.mode"
    STATE = "aqr.state"
    WORK_DIR = "aqr.work_dir"
    TRIAL_NUMBER = "aqr.trial_number"
    LABEL = "aqr.label"
    EPOCHS_RUN = "aqr.epochs_run"
    PRUNED_AT_EPOCH = "aqr.pruned_at_epoch"
    ERROR = "aqr.error"
    IMPORTED = "aqr.imported"
    BASELINE = "aqr.baseline"
    BEST = "aqr.best"
    SOURCE = "aqr.source"
    RAY_TRIAL_ID = "ray.trial_id"
    #: a trial run's training seed
    SEED = "aqr.seed"
    #: the preflight's verdict on a sweep's parent run: passed, failed: WHY, or skipped
    PREFLIGHT = "aqr.preflight"


#: a trial's own config file, relative to its work dir (the base config as ``_base_`` plus its
#: overrides); in a subfolder, because mmdet3d's train.py dumps the merged config into
#: ``<work_dir>/<basename of the config>`` from every rank while the ranks read it
TRIAL_CONFIG_FILE = "aqr_sweep/trial_config.py"
#: the command line a trial ran, shell-quoted, in its work dir
COMMAND_FILE = "command.txt"

#: the longest tag value written (MLflow refuses values over 5000 characters)
MAX_TAG_CHARS = 4900

#: keys of log lines and Tune results that are bookkeeping, never metrics
NON_METRIC_KEYS = frozenset({
    # training logs (mmcv 1.x and mmengine)
    "mode", "step", "epoch", "iter", "lr", "time", "data_time", "memory", "eta",
    # Ray Tune's own result fields
    "training_iteration", "time_this_iter_s", "time_total_s", "timestamp", "time_since_restore",
    "iterations_since_restore", "pid", "done", "trial_id",
})
