"""Base class of the schedules that move a knob over training."""

import abc


class Schedule(abc.ABC):
    """A knob's value as a function of the (possibly fractional) training epoch, or of the
    iteration for a schedule on an iteration basis."""

    @abc.abstractmethod
    def value(self, t: float) -> float:
        """The knob's value at ``t`` (0-based: the first epoch or iteration is 0)."""
