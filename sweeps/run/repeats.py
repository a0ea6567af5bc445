"""A proposal that repeats a run the sweep already made is not trained again.

A sampler may propose a configuration the sweep has run (TPE does so often over categorical
knobs, optuna/optuna#2021); trained with the same seed it would be the same run, its GPU-hours
spent for nothing. Such a proposal is told FAIL, marked ``repeat_of`` (the trial it repeats), and
the sampler is asked again, as Ray's ``BayesOptSearch(skip_duplicate=True)`` and Syne Tune's
searchers (``allow_duplicates=False``) do. The sampler learns nothing from it (a FAIL trial is
not in its model, its pruners' or the ranking); it is not a trial of the sweep (not counted in
``num_trials``, not listed). After :data:`MAX_ASKS` proposals that all repeat, or once a finite
space has run every configuration, the last one trains with the configuration's next untried
seed: a new run of it (a command without ``{seed}`` trains it again as it is).
"""

from __future__ import annotations

import math
from itertools import count

import optuna

from sweeps.constants import TrialAttr
from sweeps.run.confirm import FIRST_SEED, runs_by_configuration
from sweeps.run.ranking import params_key
from sweeps.run.samplers import suggest_params
from sweeps.space import SweepSpace

#: proposals a new trial may take before one that repeats a run trains on another seed
MAX_ASKS = 20


def is_repeat(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether ``trial`` is a proposal set aside because it repeated a run (not a trial)."""
    return TrialAttr.REPEAT_OF in trial.user_attrs


def ask_new_run(study: optuna.Study, space: SweepSpace) -> optuna.Trial:
    """A new trial from the study's sampler that does not repeat a run: its configuration not
    yet run with seed ``FIRST_SEED``; else, after :data:`MAX_ASKS` proposals or once every
    configuration of a finite space was run, the last proposal with the configuration's next
    untried seed (the trial's ``seed``; a command without ``{seed}`` has one run to give)."""
    # a finite space's size (every knob a choice or on a step; 0 otherwise); with conditional
    # knobs an upper bound, so such a space never counts as exhausted
    size = math.prod(p.grid_size() for p in space.parameters.values())
    for _ in range(MAX_ASKS - 1):
        trial, runs, seeds = _ask(study, space)
        if FIRST_SEED not in seeds:
            return trial
        if 0 < size <= len(runs):
            break
        trial.set_user_attr(TrialAttr.REPEAT_OF, seeds[FIRST_SEED].number)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        trial, runs, seeds = _ask(study, space)
    if FIRST_SEED in seeds and space.takes_seed:
        trial.set_user_attr(TrialAttr.SEED, next(s for s in count(FIRST_SEED) if s not in seeds))
    return trial


def _ask(study: optuna.Study, space: SweepSpace) -> tuple[optuna.Trial, dict, dict]:
    """A proposal, the sweep's runs besides it (by configuration, then seed), and its own
    configuration's."""
    trial = study.ask()
    suggest_params(trial, space)
    runs = runs_by_configuration(t for t in study.get_trials(deepcopy=False)
                                 if t.number != trial.number)
    return trial, runs, runs.get(params_key(trial.params), {})
