"""A schedule that holds one value."""

from typing import List

from aqr.runtime.schedules.base import Schedule, finite


class ConstantSchedule(Schedule):
    """``value(t) = value``.

    Args:
        value: The constant value.
    """

    def __init__(self, value: float) -> None:
        self._value = finite("value", value)

    def value(self, t: float) -> float:
        return self._value

    def extremes(self) -> List[float]:
        return [self._value]

    def __repr__(self) -> str:
        return f"ConstantSchedule(value={self._value})"
