"""A piecewise-constant schedule, one value per stage of epochs."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from aqr.schedules.base import Schedule


class StagedSchedule(Schedule):
    """Each stage ``[start_epoch, value]`` holds from its start until the next stage starts.

    Args:
        stages: ``[[0, 3.0], [9, 2.0], [17, 1.5]]``: strictly increasing start epochs, the first 0.
    """

    def __init__(self, stages: Sequence[Sequence[float]]) -> None:
        if not stages or any(len(stage) != 2 for stage in stages):
            raise ValueError("stages must be a non-empty list of [start_epoch, value] pairs, "
                             f"but got stages={stages!r}")
        starts = [float(start) for start, _ in stages]
        if starts[0] != 0:
            raise ValueError(f"the first stage must start at epoch 0, but got stages={stages!r}")
        if any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
            raise ValueError("stage start epochs must be strictly increasing, "
                             f"but got stages={stages!r}")
        self._starts = starts
        self._values = [float(value) for _, value in stages]

    def value(self, epoch: float) -> float:
        index = bisect.bisect_right(self._starts, float(epoch)) - 1
        return self._values[max(index, 0)]

    def __repr__(self) -> str:
        pairs = [list(s) for s in zip(self._starts, self._values, strict=True)]
        return f"StagedSchedule(stages={pairs})"
