"""A pruner that judges at an epoch only once the sweep has shown that epoch ranks the finals.

Early validations of a detector can rank configurations backwards (the mini task's epoch-1 NDS
does), so pruning on them stops the eventual best. This wrapper asks the sweep's own completed
trials: at the epoch a trial has reached, do their values rank them as their final values do
(Spearman correlation at least ``min_correlation`` over at least ``min_trials`` of them)? Only
then does the wrapped pruner decide; before, nothing is pruned at that epoch.
"""

from __future__ import annotations

import math

import optuna
from optuna.pruners import BasePruner


class RankGatedPruner(BasePruner):
    """Prune with ``pruner`` only at epochs whose values rank the completed trials' finals.

    Args:
        pruner: The pruner that decides where the gate is open (e.g. ``MedianPruner``).
        min_trials: Completed trials with a value at the epoch before it can open.
        min_correlation: The Spearman correlation at the epoch that opens it, in [-1, 1].
    """

    def __init__(self, pruner: BasePruner, min_trials: int = 4,
                 min_correlation: float = 0.7) -> None:
        if min_trials < 3:
            raise ValueError(f"min_trials must be at least 3 (a rank correlation of fewer says "
                             f"nothing), but got {min_trials}")
        if not -1.0 <= min_correlation <= 1.0:
            raise ValueError(f"min_correlation must be in [-1, 1], but got {min_correlation}")
        self._pruner = pruner
        self._min_trials = min_trials
        self._min_correlation = min_correlation

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or not self.is_open(study, step):
            return False
        return self._pruner.prune(study, trial)

    def is_open(self, study: optuna.Study, step: int) -> bool:
        """Whether the completed trials' values at ``step`` rank their finals well enough."""
        pairs = [(t.intermediate_values[step], t.value)
                 for t in study.get_trials(deepcopy=False,
                                           states=(optuna.trial.TrialState.COMPLETE,))
                 if step in t.intermediate_values and t.value is not None]
        if len(pairs) < self._min_trials:
            return False
        from scipy import stats  # here, not at the top: status and report build pruners too

        early, final = zip(*pairs, strict=True)
        correlation = stats.spearmanr(early, final).statistic
        return not math.isnan(correlation) and correlation >= self._min_correlation
