"""A schedule that holds one value."""

from aqr.runtime.schedules.base import Schedule


class ConstantSchedule(Schedule):
    """``value(t) = value``.

    Args:
        value: The constant value.
    """

    def __init__(self, value: float) -> None:
        self._value = float(value)

    def value(self, t: float) -> float:
        return self._value

    def __repr__(self) -> str:
        return f"ConstantSchedule(value={self._value})"
