"""A sweep's trials as read back from its Optuna study (what ``aqr-sweep status`` prints)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sweeps.constants import TrialAttr, TrialState, interrupted_key

if TYPE_CHECKING:
    import optuna

    from sweeps.space import SweepSpace


@dataclass
class TrialStatus:
    """One trial's state, epochs run, params, last and best metric."""

    number: int
    label: str
    state: TrialState
    epochs_run: int
    params: dict[str, Any]
    last: float | None
    best: float | None
    pruned_at_epoch: int | None
    work_dir: str
    #: why a failed trial failed (one line)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": str(self.state)}


def trial_statuses(study: optuna.Study, space: SweepSpace,
                   driver_alive: bool = True) -> list[TrialStatus]:
    """Every trial of the study, oldest first (proposals set aside as repeats are not trials);
    without a live driver, a RUNNING trial is interrupted (``aqr-sweep resume`` goes on with it).
    """
    out = []
    for t in study.get_trials(deepcopy=False):
        if TrialAttr.REPEAT_OF in t.user_attrs:
            continue
        steps = sorted(t.intermediate_values)
        values = [t.intermediate_values[s] for s in steps]
        finite = [v for v in values if not math.isnan(v)]
        state = TrialState.of_optuna(t.state.name)
        if t.user_attrs.get(TrialAttr.IMPORTED):
            state = TrialState.IMPORTED
        elif study.user_attrs.get(interrupted_key(t.number)) or (
                state == TrialState.RUNNING and not driver_alive):
            state = TrialState.INTERRUPTED
        out.append(TrialStatus(
            number=t.number, label=t.user_attrs.get(TrialAttr.LABEL, ""), state=state,
            epochs_run=steps[-1] if steps else 0, params=dict(t.params),
            last=t.value if t.value is not None else t.user_attrs.get(
                TrialAttr.FINAL_VALUE, values[-1] if values else None),
            best=space.mode.pick(finite) if finite else t.value,
            pruned_at_epoch=t.user_attrs.get(TrialAttr.PRUNED_AT_EPOCH),
            work_dir=t.user_attrs.get(TrialAttr.WORK_DIR, ""),
            error=t.user_attrs.get(TrialAttr.ERROR, "")))
    return out
