"""The space's sections besides its parameters: enqueued points, the search, the pruner, the
resources of a trial and where MLflow tracks."""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal

from pydantic import Field

from sweeps.constants import DEFAULT_CONFIRM_AFTER, DEFAULT_PESSIMISM
from sweeps.space.checks import Strict, checked, plain_data, text

#: ``params: base_config`` enqueues the base config's own values (read from its first targets)
BASE_CONFIG_POINT = "base_config"


class EnqueuedPoint(Strict):
    """A named configuration to run before the sampler proposes its own; ``params:
    base_config`` takes the values the base config has now."""

    name: Annotated[str, text("a label, e.g. current")]
    params: dict[str, Any] | Literal["base_config"]


class ConfirmSpec(Strict):
    """Re-run the leading configurations with new training seeds (``{seed}`` in the command):
    the ``top_k`` best by pessimistic mean each get ``seeds`` more runs, and the enqueued
    ``current`` configuration the same seeds at the end, so the answer is a mean with its noise.
    ``when: leading``: a configuration is re-run as soon as it leads (once ``after`` trials
    completed); ``when: end``: the sweep's last ``top_k * seeds + seeds`` trials are kept for the
    stage, so the search explores first and the finalists are confirmed. The runs count in
    ``num_trials``."""

    top_k: int = Field(2, ge=0, le=1000)
    seeds: int = Field(1, ge=0, le=100)
    when: Literal["leading", "end"] = "leading"
    #: completed trials before the first confirmation run (``when: leading``)
    after: int = Field(DEFAULT_CONFIRM_AFTER, ge=0, le=100_000)
    #: standard errors a configuration's mean is lowered by to rank it (which leads, which is
    #: the answer): a single run outranks a configuration measured twice only by beating it by
    #: this much more of the noise (0: the plain mean)
    pessimism: float = Field(DEFAULT_PESSIMISM, ge=0.0, le=10.0)

    @property
    def reserved(self) -> int:
        """The trials ``when: end`` keeps for the stage: the finalists' runs and current's."""
        return self.top_k * self.seeds + self.seeds


class SearchSpec(Strict):
    """How Optuna proposes configurations. ``confirm``: see :class:`ConfirmSpec`; left out, it is
    on (its defaults: the tuned ones) when the command takes ``{seed}``, else off."""

    sampler: Literal["tpe", "random", "grid", "cmaes", "gp", "qmc"] = "tpe"
    seed: int | None = Field(0, ge=0, le=2**32 - 1)  # numpy's seed range
    num_trials: int = Field(10, ge=1, le=100_000)
    concurrency: int = Field(1, ge=1, le=10_000)
    enqueue: list[EnqueuedPoint] = []
    confirm: ConfirmSpec | None = None


class GateSpec(Strict):
    """Prune at an epoch only once ``min_trials`` completed trials show that epoch's values rank
    their finals (Spearman at least ``min_correlation``): see
    :mod:`sweeps.run.gated_pruner`."""

    min_trials: int = Field(4, ge=3, le=100_000)
    min_correlation: float = Field(0.7, ge=-1.0, le=1.0)


class PrunerSpec(Strict):
    """Which pruner stops hopeless trials after their validations.

    ``warmup_epochs``: validations before a trial may be pruned; ``startup_trials``: finished
    trials before pruning starts; ``options``: the pruner's own arguments (Optuna's names);
    ``gate``: judge an epoch only once the sweep showed it ranks the finals (not for ``asha``).
    """

    type: Literal["median", "percentile", "successive_halving", "hyperband", "patient",
                  "threshold", "wilcoxon", "asha", "none"] = "median"
    warmup_epochs: int = Field(1, ge=0)
    startup_trials: int = Field(2, ge=0, le=100_000)
    options: Annotated[dict[str, Any], plain_data] = {}
    gate: GateSpec | None = None

    @property
    def first_prunable_epoch(self) -> int:
        """Epochs are Optuna steps 1, 2, ...; ``warmup_epochs`` validations are never pruned."""
        return self.warmup_epochs + 1

    @property
    def is_asha(self) -> bool:
        """Whether Ray's ASHA scheduler decides (the Optuna study itself never prunes)."""
        return self.type == "asha"


class ResourcesSpec(Strict):
    """What one trial takes from the cluster (fractions allowed)."""

    cpu: float = Field(1.0, gt=0, le=1024)
    gpu: float = Field(0.0, ge=0, le=1024)


#: what ``tracking.uri`` may be; MLflow's own file store (``file:``) also needs
#: ``MLFLOW_ALLOW_FILE_STORE=true``
TRACKING_URI_FORMS = ("sqlite:///PATH", "postgresql://...", "mysql://...", "http(s)://HOST",
                      "databricks", "file:PATH")
_TRACKING_URI = re.compile(r"sqlite:///\S+|(?:postgresql|mysql)(?:\+\w+)?://\S+"
                           r"|https?://[^/\s]+\S*|databricks(?:://\S*)?|file:\S+")


def tracking_uri_problem(uri: str) -> str | None:
    """Why MLflow cannot track to ``uri``, or None."""
    shown = repr(uri if len(uri) <= 80 else uri[:80] + "...")
    if not _TRACKING_URI.fullmatch(uri):
        return (f"must be an MLflow tracking URI ({', '.join(TRACKING_URI_FORMS)}; file: needs "
                f"MLFLOW_ALLOW_FILE_STORE=true), but got {shown}; use e.g. "
                "sqlite:////shared/mlflow.db, or remove uri for sqlite:///<cwd>/mlflow.db")
    allowed = os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").strip().lower() in ("1", "true")
    if uri.startswith("file:") and not allowed:
        return (f"{shown} is MLflow's file store, which MLflow refuses unless "
                "MLFLOW_ALLOW_FILE_STORE=true is set; set it, or use sqlite:///PATH/mlflow.db")
    return None


class TrackingSpec(Strict):
    """Where MLflow records the sweep (default: ``sqlite:///<cwd>/mlflow.db``)."""

    uri: Annotated[str, checked(tracking_uri_problem)] | None = None
    experiment: Annotated[str, text("an MLflow experiment name, or remove it")] | None = None
    artifact_location: str | None = None


class PreflightSpec(Strict):
    """How ``aqr-sweep preflight`` (and ``run`` before its first trial) checks a sweep.

    ``python``: the training environment's python, for the knob probe (default: the command's
    first element when it is a python); ``builder``: ``module:function`` that builds the model,
    its loss on one batch and its optimizer from the config, for trainings the probe cannot
    build itself; ``iterations``: training log lines with a finite loss that pass the smoke run;
    ``smoke_seconds`` and ``probe_seconds``: their time limits; ``smoke_overrides``: config
    overrides for the smoke run only (e.g. a log interval of 1).
    """

    python: Annotated[str, text("the training environment's python, e.g. "
                                "/envs/cmt/bin/python")] | None = None
    builder: Annotated[str, Field(pattern=r"^[\w.]+:\w+$")] | None = None
    iterations: int = Field(2, ge=1, le=1000)
    smoke_seconds: float = Field(900.0, gt=0, le=86_400)
    probe_seconds: float = Field(1800.0, gt=0, le=86_400)
    smoke_overrides: Annotated[dict[str, Any], plain_data] = {}
