"""Hold a value through a warm-up, then anneal it with a half cosine."""

import math
from typing import List

from aqr.runtime.schedules.base import Schedule, finite


class CosineSchedule(Schedule):
    """``start`` until ``warmup_epochs``, then a half cosine to ``end`` at ``total_epochs`` (in
    iterations for a schedule on an iteration basis).

    Args:
        start: Value during the warm-up.
        end: Value at and after ``total_epochs``.
        warmup_epochs: Epochs that hold ``start`` (>= 0).
        total_epochs: Epoch at which ``end`` is reached (> ``warmup_epochs``).
    """

    def __init__(self, start: float, end: float, warmup_epochs: float = 0,
                 total_epochs: float = 24) -> None:
        start, end = finite("start", start), finite("end", end)
        warmup_epochs = finite("warmup_epochs", warmup_epochs)
        total_epochs = finite("total_epochs", total_epochs)
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0, but got warmup_epochs={warmup_epochs}")
        if total_epochs <= warmup_epochs:
            raise ValueError("total_epochs must be greater than warmup_epochs, but got "
                             f"total_epochs={total_epochs}, warmup_epochs={warmup_epochs}")
        self.start, self.end = float(start), float(end)
        self.warmup_epochs, self.total_epochs = float(warmup_epochs), float(total_epochs)

    def value(self, t: float) -> float:
        if t <= self.warmup_epochs:
            return self.start
        progress = min((t - self.warmup_epochs) / (self.total_epochs - self.warmup_epochs), 1.0)
        return self.end + (self.start - self.end) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def extremes(self) -> List[float]:
        return [self.start, self.end]

    def __repr__(self) -> str:
        return (f"CosineSchedule(start={self.start}, end={self.end}, "
                f"warmup_epochs={self.warmup_epochs}, total_epochs={self.total_epochs})")
