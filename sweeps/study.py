"""A sweep's Optuna study, persisted in its folder: opening it, and the bookkeeping of trials a
dead driver left running."""

from __future__ import annotations

import optuna

from sweeps.constants import TrialAttr, interrupted_key
from sweeps.errors import SweepNotFoundError
from sweeps.pruners import build_pruner
from sweeps.samplers import build_sampler
from sweeps.space import SweepSpace
from sweeps.store import SweepDir

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
            optuna.trial.TrialState.FAIL)


def open_study(space: SweepSpace, sweep: SweepDir) -> optuna.Study:
    """The sweep's study, with the space's sampler and pruner (created on first use)."""
    sweep.path.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=sweep.name, storage=sweep.study_storage, load_if_exists=True,
        direction="maximize" if space.mode == "max" else "minimize",
        sampler=build_sampler(space), pruner=build_pruner(space))


def load_study(sweep: SweepDir) -> optuna.Study:
    """The sweep's study, to read (never created here).

    Raises:
        SweepNotFoundError: the sweep has no study file.
    """
    if not sweep.study_file.is_file():
        raise SweepNotFoundError(f"sweep {sweep.name!r} has no study ({sweep.study_file} is "
                                 "missing); nothing to read")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=sweep.name, storage=sweep.study_storage)


def requeue_interrupted(study: optuna.Study) -> int:
    """Mark trials a dead driver left RUNNING as FAIL and enqueue them again with their work dir,
    so they resume from their checkpoints. Returns how many were requeued."""
    count = 0
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)
        study.set_user_attr(interrupted_key(t.number), True)
        study.enqueue_trial(t.params, user_attrs={
            TrialAttr.WORK_DIR: t.user_attrs.get(TrialAttr.WORK_DIR, ""),
            TrialAttr.LABEL: t.user_attrs.get(TrialAttr.LABEL, ""),
            TrialAttr.RESUMED_FROM: t.number}, skip_if_exists=False)
        count += 1
    return count


def trials_to_run(space: SweepSpace, study: optuna.Study) -> int:
    """The space's trial count less the trials that already ended (requeued and imported ones
    excluded)."""
    done = [t for t in study.get_trials(deepcopy=False, states=FINISHED)
            if not study.user_attrs.get(interrupted_key(t.number))
            and not t.user_attrs.get(TrialAttr.IMPORTED)]
    return max(space.num_trials() - len(done), 0)
