"""Schedules for AQR knobs: ``build_schedule({'type': 'cosine', ...}).value(epoch)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aqr.schedules.base import Schedule
from aqr.schedules.constant import ConstantSchedule
from aqr.schedules.cosine import CosineSchedule
from aqr.schedules.staged import StagedSchedule

SCHEDULES: dict[str, type[Schedule]] = {
    "constant": ConstantSchedule,
    "staged": StagedSchedule,
    "cosine": CosineSchedule,
}


def build_schedule(spec: Mapping[str, Any] | float | Schedule) -> Schedule:
    """Build a schedule from ``{'type': name, **arguments}``; a bare number is a constant.

    Raises:
        ValueError: unknown ``type`` or arguments that the schedule does not take.
    """
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, int | float):
        return ConstantSchedule(spec)
    kwargs = dict(spec)
    name = kwargs.pop("type", None)
    if name not in SCHEDULES:
        raise ValueError(f"schedule type must be one of {sorted(SCHEDULES)}, but got "
                         f"type={name!r}; write e.g. {{'type': 'constant', 'value': 0.7}}")
    try:
        return SCHEDULES[name](**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for the {name!r} schedule: {err}") from None


__all__ = ["SCHEDULES", "ConstantSchedule", "CosineSchedule", "Schedule", "StagedSchedule",
           "build_schedule"]
