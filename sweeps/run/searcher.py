"""Optuna as Ray Tune's searcher, through Optuna's ask/tell interface.

Unlike Ray's ``OptunaSearch``, a trial that the scheduler stopped is told to Optuna as PRUNED (its
intermediate values are already in the study), a failed or diverged (NaN) trial as FAIL, and only a
trial that validated at ``max_epochs`` as COMPLETE with its last value. The searcher is the one
owner of a trial's end state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial
from ray.tune.search import Searcher

from sweeps.constants import KNOWN_EPOCHS_KEY, MAX_TAG_CHARS, SEED_KEY, WORK_DIR_KEY, TrialAttr, TrialState
from sweeps.run.confirm import FIRST_SEED, next_confirmation
from sweeps.run.failure import read_failure
from sweeps.run.halt import SweepHalt
from sweeps.run.ledger import TrialEntry, TrialLedger
from sweeps.run.repeats import ask_new_run, is_repeat
from sweeps.run.samplers import suggest_params
from sweeps.space import SweepSpace


class OptunaAskTellSearcher(Searcher):
    """Propose trials with ``study.ask`` and record their ends with ``study.tell``.

    Args:
        space: The sweep's space.
        study: The sweep's (persisted) Optuna study; enqueued points come first.
        ledger: Where each proposed trial is written.
        trials_dir: Parent of the trials' work dirs (``<trials_dir>/<number>``).
        interrupted: Trials a dead driver left running; they are handed out first, each as the
            same Optuna trial (its intermediate values kept), in its own work dir.
        halt: Set with the reason when a failure would repeat in every trial, or by Ctrl-C or
            SIGTERM (nothing more is proposed once it is).
    """

    def __init__(self, space: SweepSpace, study: optuna.Study, ledger: TrialLedger,
                 trials_dir: Path, interrupted: Sequence[FrozenTrial] = (),
                 halt: SweepHalt | None = None) -> None:
        super().__init__(metric=space.metric, mode=space.mode.value)
        self.space = space
        self.study = study
        self.ledger = ledger
        self.trials_dir = trials_dir
        self._interrupted = list(interrupted)
        self.halt = halt

    def suggest(self, trial_id: str) -> dict | None:
        if self.halt is not None and self.halt.stopped:
            return Searcher.FINISHED
        if self._interrupted:
            frozen = self._interrupted.pop(0)
            trial = optuna.Trial(self.study, frozen._trial_id)  # the same trial, re-attached
            epochs = sorted(frozen.intermediate_values)
            values = [frozen.intermediate_values[e] for e in epochs]
            resumed = True
        else:
            confirmation = next_confirmation(self.study, self.space, self._remaining())
            if confirmation is not None:
                self.study.enqueue_trial(confirmation.params, user_attrs={
                    TrialAttr.LABEL: confirmation.label, TrialAttr.SEED: confirmation.seed})
            trial, epochs, values = self._ask(), [], []
            resumed = False
        attrs = trial.user_attrs
        seed = int(attrs.get(TrialAttr.SEED, FIRST_SEED))
        trial.set_user_attr(TrialAttr.SEED, seed)
        work_dir = Path(attrs.get(TrialAttr.WORK_DIR) or self.trials_dir / f"{trial.number:04d}")
        trial.set_user_attr(TrialAttr.WORK_DIR, str(work_dir))
        self.ledger.add(trial_id, TrialEntry(number=trial.number, optuna_trial=trial,
                                             params=dict(trial.params), work_dir=work_dir,
                                             label=attrs.get(TrialAttr.LABEL, ""),
                                             epochs=epochs, values=values, resumed=resumed,
                                             seed=seed))
        return {**trial.params, WORK_DIR_KEY: str(work_dir), SEED_KEY: seed,
                KNOWN_EPOCHS_KEY: epochs[-1] if epochs else 0}

    def _ask(self) -> optuna.Trial:
        """The next enqueued point as it is, else a proposal that does not repeat a run."""
        if any(t.state == optuna.trial.TrialState.WAITING
               for t in self.study.get_trials(deepcopy=False)):
            trial = self.study.ask()
            suggest_params(trial, self.space)
            return trial
        return ask_new_run(self.study, self.space)

    def _remaining(self) -> int:
        """Trials of the budget not started yet (this one included)."""
        started = sum(1 for t in self.study.get_trials(deepcopy=False)
                      if TrialAttr.IMPORTED not in t.user_attrs and not is_repeat(t)
                      and t.state != optuna.trial.TrialState.WAITING)
        return self.space.num_trials() - started

    def save(self, checkpoint_path: str) -> None:
        """Nothing to save: the study is persisted in the sweep's sqlite storage as it goes."""

    def restore(self, checkpoint_path: str) -> None:
        """Nothing to restore: ``aqr-sweep resume`` reopens the persisted study."""

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        entry = self.ledger.get(trial_id)
        if entry is None:
            return
        if error:
            failure = read_failure(entry.work_dir)
            if failure is not None and failure.fatal and self.halt is not None:
                self.halt.halt(failure.reason)
            self._fail(entry, failure.text() if failure else "",
                       failure.reason if failure else "its Ray actor failed: Ray's error is in "
                       "the aqr.error tag of its MLflow run")
        elif entry.pruned_at is not None:
            entry.end(TrialState.PRUNED)
            entry.optuna_trial.set_user_attr(TrialAttr.PRUNED_AT_EPOCH, entry.pruned_at)
            self.study.tell(entry.optuna_trial, state=optuna.trial.TrialState.PRUNED)
        elif entry.values and not math.isfinite(entry.values[-1]):
            shown = "NaN" if math.isnan(entry.values[-1]) else f"{entry.values[-1]:g}"
            self._fail(entry, f"{self.space.metric} is {shown} at epoch {entry.epochs[-1]} (the "
                       "training diverged); the training was stopped and not restarted")
        elif entry.epochs and entry.epochs[-1] >= self.space.max_epochs:
            entry.end(TrialState.COMPLETED)
            self.study.tell(entry.optuna_trial, entry.values[-1])
        elif self.halt is not None and self.halt.reason is not None:
            self._fail(entry, f"stopped: the sweep halted ({self.halt.reason})")
        else:
            last = entry.epochs[-1] if entry.epochs else 0
            self._fail(entry, f"ended after epoch {last} of {self.space.max_epochs} without being "
                       "pruned (a COMPLETE trial validated at max_epochs)")

    def fail_unfinished(self, reason: str) -> None:
        """End FAILED the trials that are still running (the sweep halted: Tune stopped them
        without ending them)."""
        for entry in self.ledger.entries():
            if not entry.state.finished:
                self._fail(entry, reason)

    def _fail(self, entry: TrialEntry, reason: str, summary: str | None = None) -> None:
        """End the trial FAILED with its ``reason``; ``summary`` (default: the reason's first
        line) is kept in the study for ``status``."""
        entry.end(TrialState.FAILED, reason)
        summary = summary if summary is not None else reason.splitlines()[0]
        entry.optuna_trial.set_user_attr(TrialAttr.ERROR, summary[:MAX_TAG_CHARS])
        self.study.tell(entry.optuna_trial, state=optuna.trial.TrialState.FAIL)
