"""The pruning bridge: Ray schedulers that report each validation to the trial's Optuna trial and
stop the trial when it should be pruned, recording the epoch, so the searcher tells Optuna PRUNED
(with its intermediate values) rather than COMPLETE with a truncated score."""

from __future__ import annotations

import math

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler

from sweeps.run.ledger import TrialLedger
from sweeps.space import SweepSpace


class _ReportsToOptuna:
    """Mixin: forward each result to the Optuna trial; return the entry for the decision."""

    ledger: TrialLedger
    _metric_name: str

    def _report(self, trial, result: dict):
        entry = self.ledger.get(trial.trial_id)
        if entry is None or "epoch" not in result:
            return None
        epoch, value = int(result["epoch"]), float(result[self._metric_name])
        if entry.record(epoch, value) and math.isfinite(value):
            entry.optuna_trial.report(value, step=epoch)
        return entry


class OptunaPruningScheduler(_ReportsToOptuna, FIFOScheduler):
    """Stop a trial when its Optuna study's pruner says so after a validation.

    Args:
        ledger: The sweep's trial ledger.
        metric: The metric the study optimises (as reported to Tune).
        max_epochs: The full schedule; a trial at it is complete, never pruned.
    """

    def __init__(self, ledger: TrialLedger, metric: str, max_epochs: int) -> None:
        super().__init__()
        self.ledger = ledger
        self._metric_name = metric
        self.max_epochs = max_epochs

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        entry = self._report(trial, result)
        if entry is None or entry.epochs[-1] >= self.max_epochs:
            return TrialScheduler.CONTINUE
        if not math.isfinite(entry.values[-1]):
            return TrialScheduler.CONTINUE  # the trial fails itself, naming the epoch
        if entry.confirms:
            return TrialScheduler.CONTINUE  # a confirmation run measures; it is not judged
        if entry.optuna_trial.should_prune():
            entry.pruned_at = entry.epochs[-1]
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE


class RecordingASHAScheduler(_ReportsToOptuna, ASHAScheduler):
    """Ray's ASHA deciding on ``epoch``, with its stops recorded as prunes."""

    def __init__(self, ledger: TrialLedger, metric: str, max_epochs: int,
                 grace_period: int = 1, reduction_factor: float = 3, brackets: int = 1) -> None:
        # metric and mode reach ASHA from the TuneConfig (Tune refuses them twice)
        super().__init__(time_attr="epoch", max_t=max_epochs, grace_period=grace_period,
                         reduction_factor=reduction_factor, brackets=brackets)
        self.ledger = ledger
        self._metric_name = metric
        self.max_epochs = max_epochs

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        entry = self._report(trial, result)
        decision = super().on_trial_result(tune_controller, trial, result)
        if entry is not None and entry.confirms:
            return TrialScheduler.CONTINUE  # a confirmation run measures; it is not judged
        if decision == TrialScheduler.STOP and entry is not None \
                and entry.epochs[-1] < self.max_epochs:
            entry.pruned_at = entry.epochs[-1]
        return decision


def build_scheduler(space: SweepSpace, ledger: TrialLedger) -> TrialScheduler:
    """Our Optuna pruning bridge, or Ray's ASHA for ``pruner.type: asha``.

    Raises:
        SpaceError: ASHA options it does not take, at the line of ``pruner.options``.
    """
    if space.pruner.is_asha:
        options = dict(space.pruner.options)
        options.setdefault("grace_period", space.pruner.first_prunable_epoch)
        try:
            return RecordingASHAScheduler(ledger, space.metric, space.max_epochs, **options)
        except (TypeError, AssertionError, ValueError) as err:
            raise space.problem("pruner.options", f"{err or 'invalid ASHA arguments'} (asha "
                                "takes grace_period, reduction_factor, brackets)") from None
    return OptunaPruningScheduler(ledger, space.metric, space.max_epochs)
