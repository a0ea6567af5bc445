"""Optuna pruners by the names a space file uses (``asha`` is Ray's scheduler: see
:mod:`sweeps.run.scheduler`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
from optuna import pruners

from sweeps.run.gated_pruner import RankGatedPruner
from sweeps.space import PrunerSpec, SweepSpace


def _median(spec: PrunerSpec, max_epochs: int, **kw: Any) -> pruners.BasePruner:
    return pruners.MedianPruner(n_startup_trials=spec.startup_trials,
                                n_warmup_steps=spec.first_prunable_epoch, **kw)


def _percentile(spec: PrunerSpec, max_epochs: int, percentile: float = 25.0,
                **kw: Any) -> pruners.BasePruner:
    return pruners.PercentilePruner(percentile, n_startup_trials=spec.startup_trials,
                                    n_warmup_steps=spec.first_prunable_epoch, **kw)


def _successive_halving(spec: PrunerSpec, max_epochs: int, **kw: Any) -> pruners.BasePruner:
    kw.setdefault("min_resource", spec.first_prunable_epoch)
    return pruners.SuccessiveHalvingPruner(**kw)


def _hyperband(spec: PrunerSpec, max_epochs: int, **kw: Any) -> pruners.BasePruner:
    kw.setdefault("min_resource", spec.first_prunable_epoch)
    kw.setdefault("max_resource", max_epochs)
    return pruners.HyperbandPruner(**kw)


def _patient(spec: PrunerSpec, max_epochs: int, patience: int = 1,
             **kw: Any) -> pruners.BasePruner:
    return pruners.PatientPruner(_median(spec, max_epochs), patience=patience, **kw)


def _threshold(spec: PrunerSpec, max_epochs: int, **kw: Any) -> pruners.BasePruner:
    return pruners.ThresholdPruner(n_warmup_steps=spec.first_prunable_epoch, **kw)


def _wilcoxon(spec: PrunerSpec, max_epochs: int, **kw: Any) -> pruners.BasePruner:
    kw.setdefault("n_startup_steps", spec.first_prunable_epoch)
    return pruners.WilcoxonPruner(**kw)


def _none(spec: PrunerSpec, max_epochs: int, **kw: Any) -> pruners.BasePruner:
    return pruners.NopPruner(**kw)


PRUNERS: dict[str, Callable[..., pruners.BasePruner]] = {
    "median": _median,
    "percentile": _percentile,
    "successive_halving": _successive_halving,
    "hyperband": _hyperband,
    "patient": _patient,
    "threshold": _threshold,
    "wilcoxon": _wilcoxon,
    "none": _none,
}


def build_pruner(space: SweepSpace) -> optuna.pruners.BasePruner:
    """The Optuna pruner that ``space.pruner.type`` names, with ``space.pruner.options`` as its
    arguments.

    Raises:
        SpaceError: arguments the pruner does not take or values it refuses, at their line.
    """
    spec = space.pruner
    if spec.is_asha:  # Ray's ASHA scheduler decides; the study itself never prunes
        if spec.gate is not None:
            raise space.problem("pruner.gate", "asha decides in Ray's scheduler, which the gate "
                                "cannot open and close; use median or percentile with a gate")
        return pruners.NopPruner()
    try:
        pruner = PRUNERS[spec.type](spec, space.max_epochs, **spec.options)
    except (TypeError, ValueError) as err:
        raise space.problem("pruner.options", f"{err} (pruner type {spec.type!r})") from None
    if spec.gate is None:
        return pruner
    return RankGatedPruner(pruner, spec.gate.min_trials, spec.gate.min_correlation)


def check_pruner(space: SweepSpace) -> None:
    """Build the space's pruner now, so that it refuses its own bad options before a sweep
    starts (Ray is imported only for ``asha``, whose scheduler checks its own).

    Raises:
        SpaceError: at the line of ``pruner.options``.
    """
    build_pruner(space)
    if space.pruner.is_asha:
        from sweeps.run.ledger import TrialLedger
        from sweeps.run.scheduler import build_scheduler

        build_scheduler(space, TrialLedger())
