"""A piecewise-constant schedule, one value per stage."""

import bisect
from typing import List, Optional, Sequence

from aqr.runtime.schedules.base import Schedule, finite


class StagedSchedule(Schedule):
    """Each stage holds from its start until the next one starts.

    Give either ``stages`` (``[[0, 3.0], [9, 2.0], [17, 1.5]]``: start epochs, the first 0,
    strictly increasing) or ``values`` and the ``boundaries`` between them (``values=[3.0, 2.0,
    1.5], boundaries=[9, 17]``: the form a search space tunes, one parameter per number).
    """

    def __init__(self, stages: Optional[Sequence[Sequence[float]]] = None,
                 values: Optional[Sequence[float]] = None,
                 boundaries: Optional[Sequence[float]] = None) -> None:
        if stages is not None and (values is not None or boundaries is not None):
            raise ValueError("give stages, or values and boundaries, not both, but got "
                             f"stages={stages!r}, values={values!r}, boundaries={boundaries!r}")
        if stages is None:
            if not isinstance(values, (list, tuple)) or \
                    not isinstance(boundaries or [], (list, tuple)) or \
                    len(values) != len(boundaries or []) + 1:
                raise ValueError("give stages=[[start, value], ...], or values and one boundary "
                                 f"fewer, but got values={values!r}, boundaries={boundaries!r}")
            stages = list(zip([0.0, *(boundaries or [])], values))
        if not isinstance(stages, (list, tuple)) or not stages or \
                any(not isinstance(stage, (list, tuple)) or len(stage) != 2 for stage in stages):
            raise ValueError("stages must be a non-empty list of [start_epoch, value] pairs, "
                             f"but got stages={stages!r}")
        starts = [finite("a stage's start", start) for start, _ in stages]
        if starts[0] != 0:
            raise ValueError(f"the first stage must start at epoch 0, but got stages={stages!r}")
        if any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError("stage start epochs must be strictly increasing, but got "
                             f"stages={stages!r}")
        self._starts = starts
        self._values = [finite("a stage's value", value) for _, value in stages]

    def value(self, t: float) -> float:
        index = bisect.bisect_right(self._starts, float(t)) - 1
        return self._values[max(index, 0)]

    def extremes(self) -> List[float]:
        return list(self._values)

    def __repr__(self) -> str:
        return "StagedSchedule(stages={})".format([list(s) for s in zip(self._starts,
                                                                         self._values)])
