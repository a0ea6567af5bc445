"""Schedules for AQR knobs: ``build_schedule({'type': 'cosine', ...}).value(t)``."""

from typing import Any, Dict, Mapping, Type, Union

from aqr.runtime.schedules.base import Schedule
from aqr.runtime.schedules.constant import ConstantSchedule
from aqr.runtime.schedules.cosine import CosineSchedule
from aqr.runtime.schedules.staged import StagedSchedule

SCHEDULES: Dict[str, Type[Schedule]] = {
    "constant": ConstantSchedule,
    "staged": StagedSchedule,
    "cosine": CosineSchedule,
}


def build_schedule(spec: Union[Mapping[str, Any], float, Schedule]) -> Schedule:
    """Build a schedule from ``{'type': name, **arguments}``; a bare number is a constant.

    Raises:
        ValueError: unknown ``type`` or arguments that the schedule does not take.
    """
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return ConstantSchedule(spec)
    if not isinstance(spec, Mapping):
        raise ValueError(f"a schedule is a number or a dict with a type, but got {spec!r}; write "
                         "e.g. 0.7 or {'type': 'cosine', 'start': 0.7, 'end': 0.4, "
                         "'total_epochs': 20}")
    kwargs = dict(spec)
    name = kwargs.pop("type", None)
    if name not in SCHEDULES:
        raise ValueError(f"schedule type must be one of {sorted(SCHEDULES)}, but got type={name!r}; write e.g. "
                         "{'type': 'constant', 'value': 0.7}")
    try:
        return SCHEDULES[name](**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for the {name!r} schedule: {err}") from None


__all__ = ["SCHEDULES", "ConstantSchedule", "CosineSchedule", "Schedule", "StagedSchedule",
           "build_schedule"]
