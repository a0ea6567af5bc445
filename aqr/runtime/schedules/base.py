"""Base class of the schedules that move an AQR knob over training epochs."""

from __future__ import annotations

import abc


class Schedule(abc.ABC):
    """A knob's value as a function of the (possibly fractional) training epoch."""

    @abc.abstractmethod
    def value(self, epoch: float) -> float:
        """The knob's value at ``epoch`` (0-based; epoch 0 is the first epoch)."""
