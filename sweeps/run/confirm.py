"""The confirmation stage: which configuration to run again, with which training seed.

Every run of the search trains with seed 0. Once a configuration is among the ``top_k`` of the
ranking (:mod:`sweeps.run.ranking`), it is run again with seeds 1..``seeds``, after the enqueued
points and ahead of new proposals: as soon as it leads (``when: leading``, once ``after`` runs
completed), or only in the sweep's last trials (``when: end``, which keeps
``ConfirmSpec.reserved`` of them for the stage). At the end of the sweep (when no more trials are
left than it needs), the enqueued ``current`` configuration gets the seeds of the best, so that
the two compare seed for seed. A seed once tried for a configuration (whatever came of it) is not
tried again.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import optuna

from sweeps.constants import CURRENT_LABEL, TrialAttr
from sweeps.run.ranking import Ranking, Run, params_key, rank
from sweeps.space import SweepSpace

#: the training seed of a search trial
FIRST_SEED = 0


@dataclass(frozen=True)
class Confirmation:
    """A run to make: the configuration, its new seed, and the trial it confirms."""

    params: dict[str, Any]
    seed: int
    label: str


def seed_of(trial: optuna.trial.FrozenTrial) -> int:
    return int(trial.user_attrs.get(TrialAttr.SEED, FIRST_SEED))


def runs_by_configuration(trials: Iterable[optuna.trial.FrozenTrial]
                          ) -> dict[Hashable, dict[int, optuna.trial.FrozenTrial]]:
    """Each configuration's runs by training seed, each the first trial that ran it (whatever
    came of it); imported runs and proposals set aside as repeats are not runs of the sweep."""
    runs: dict[Hashable, dict[int, optuna.trial.FrozenTrial]] = {}
    for t in trials:
        if t.params and TrialAttr.IMPORTED not in t.user_attrs \
                and TrialAttr.REPEAT_OF not in t.user_attrs:
            runs.setdefault(params_key(t.params), {}).setdefault(seed_of(t), t)
    return runs


def study_ranking(study: optuna.Study, space: SweepSpace) -> Ranking:
    """The sweep's trials ranked by configuration: the completed ones on their final value, the
    pruned and running (or interrupted) ones on their last reported epoch's (imported runs are
    FAIL: left out)."""
    state = optuna.trial.TrialState
    done = study.get_trials(deepcopy=False, states=(state.COMPLETE,))
    partial = study.get_trials(deepcopy=False, states=(state.PRUNED, state.RUNNING))
    return rank([*(Run(params_key(t.params), float(t.value), t.number) for t in done),
                 *(Run(params_key(t.params), float(t.intermediate_values[last]), t.number, last)
                   for t in partial if t.intermediate_values
                   for last in [max(t.intermediate_values)])], space.mode,
                space.confirm.pessimism)


def next_confirmation(study: optuna.Study, space: SweepSpace, remaining: int
                      ) -> Confirmation | None:
    """The next run of the confirmation stage, or None (propose a new configuration).

    Args:
        remaining: Trials of the sweep's budget not yet started, this one included.
    """
    confirm = space.confirm
    if not confirm.top_k or not confirm.seeds:
        return None
    trials = study.get_trials(deepcopy=False)
    if any(t.state == optuna.trial.TrialState.WAITING for t in trials):
        return None  # enqueued points (and a confirmation already queued) run first
    runs = runs_by_configuration(trials)
    wanted = set(range(FIRST_SEED, FIRST_SEED + 1 + confirm.seeds))
    ranking = study_ranking(study, space)
    if ranking.best is None:
        return None
    current = next((t for t in trials if t.user_attrs.get(TrialAttr.LABEL) == CURRENT_LABEL
                    and t.params), None)
    if current is not None:  # the sweep's last trials are current's: it compares seed for seed
        missing = sorted(wanted - runs.get(params_key(current.params), {}).keys())
        if missing and remaining <= len(missing):
            return Confirmation(dict(current.params), missing[0], f"current, seed {missing[0]}")
    completed = sum(s.runs for s in ranking.standings if s.at_epoch is None)
    due = remaining <= confirm.reserved if confirm.when == "end" else completed >= confirm.after
    for standing in ranking.standings[:confirm.top_k] if due else ():
        missing = sorted(wanted - runs.get(standing.key, {}).keys())
        if missing:
            first_run = next(iter(runs[standing.key].values()))
            return Confirmation(dict(first_run.params), missing[0],
                                f"confirm {standing.trials[0]}, seed {missing[0]}")
    return None
