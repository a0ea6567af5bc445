"""A schedule that holds one value."""

from __future__ import annotations

from aqr.schedules.base import Schedule


class ConstantSchedule(Schedule):
    """``value(epoch) = value``.

    Args:
        value: The constant value.
    """

    def __init__(self, value: float) -> None:
        self._value = float(value)

    def value(self, epoch: float) -> float:
        return self._value

    def __repr__(self) -> str:
        return f"ConstantSchedule(value={self._value})"
