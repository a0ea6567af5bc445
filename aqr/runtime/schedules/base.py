"""Base class of the schedules that move a knob over training."""

import abc
import math
from typing import List


class Schedule(abc.ABC):
    """A knob's value as a function of the (possibly fractional) training epoch, or of the
    iteration for a schedule on an iteration basis."""

    @abc.abstractmethod
    def value(self, t: float) -> float:
        """The knob's value at ``t`` (0-based: the first epoch or iteration is 0)."""

    @abc.abstractmethod
    def extremes(self) -> List[float]:
        """The values the schedule moves between (its smallest and largest among them)."""


def finite(name: str, value: object) -> float:
    """``value`` as a float.

    Raises:
        ValueError: it is not a number, or not a finite one, naming ``name``."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, but got {name}={value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, but got {name}={value!r}")
    return number
