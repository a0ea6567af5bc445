"""Optuna pruners by the names a space file uses (``asha`` is Ray's scheduler: see
:mod:`sweeps.scheduler`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
from optuna import pruners

from sweeps.space import PrunerSpec, SweepSpace


def first_prunable_epoch(spec: PrunerSpec) -> int:
    """Epochs are Optuna steps 1, 2, ...; ``warmup_epochs`` validations are never pruned."""
    return spec.warmup_epochs + 1


def _median(spec: PrunerSpec, max_epochs: int, **kw: Any) -> pruners.BasePruner:
    return pruners.MedianPruner(n_startup_trials=spec.startup_trials,
                                n_warmup_steps=first_prunable_epoch(spec), **kw)


def _percentile(spec: PrunerSpec, max_epochs: int, percentile: float = 25.0,
                **kw: Any) -> pruners.BasePruner:
    return pruners.PercentilePruner(percentile, n_startup_trials=spec.startup_trials,
                                    n_warmup_steps=first_prunable_epoch(spec), **kw)


def _successive_halving(spec: PrunerSpec, max_epochs: int, **kw: Any) -> pruners.BasePruner:
    kw.setdefault("min_resource", first_prunable_epoch(spec))
    return pruners.SuccessiveHalvingPruner(**kw)


def _hyperband(spec: PrunerSpec, max_epochs: int, **kw: Any) -> pruners.BasePruner:
    kw.setdefault("min_resource", first_prunable_epoch(spec))
    kw.setdefault("max_resource", max_epochs)
    return pruners.HyperbandPruner(**kw)


def _patient(spec: PrunerSpec, max_epochs: int, patience: int = 1,
             **kw: Any) -> pruners.BasePruner:
    return pruners.PatientPruner(_median(spec, max_epochs), patience=patience, **kw)


def _threshold(spec: PrunerSpec, max_epochs: int, **kw: Any) -> pruners.BasePruner:
    return pruners.ThresholdPruner(n_warmup_steps=first_prunable_epoch(spec), **kw)


def _wilcoxon(spec: PrunerSpec, max_epochs: int, **kw: Any) -> pruners.BasePruner:
    kw.setdefault("n_startup_steps", first_prunable_epoch(spec))
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
    if spec.type == "asha":  # Ray's ASHA scheduler decides; the study itself never prunes
        return pruners.NopPruner()
    try:
        return PRUNERS[spec.type](spec, space.max_epochs, **spec.options)
    except (TypeError, ValueError) as err:
        raise space.problem("pruner.options", f"{err} (pruner type {spec.type!r})") from None
