"""The ranking by mean over seeds and the confirmation stage over a real Optuna study: leaders
get new seeds after the enqueued points, `current` gets the best's seeds at the end, and one lucky
run does not outrank a configuration measured twice unless it beats it by the noise."""

import math

import optuna
import pytest

from sweeps.constants import CURRENT_LABEL, Mode, TrialAttr
from sweeps.run.confirm import next_confirmation, study_ranking
from sweeps.run.ranking import Run, describe, pooled_noise, rank
from sweeps.space import SweepSpace


def test_pooled_noise_needs_a_configuration_run_twice():
    assert pooled_noise([[1.0], [2.0]]) == (pytest.approx(math.nan, nan_ok=True), 0)
    noise, dof = pooled_noise([[1.0, 3.0], [5.0, 5.0], [9.0]])
    assert dof == 2 and noise == pytest.approx(math.sqrt(2.0 / 2))


def test_a_lucky_run_does_not_outrank_a_confirmed_mean_within_the_noise():
    runs = [Run("a", 0.30, 0), Run("a", 0.34, 1), Run("b", 0.325, 2)]
    ranking = rank(runs, Mode.MAX)
    # noise 0.028 from a's two runs: b's one run (above a's mean) is lowered by 1.5 x 0.028, a's by 1.5 x 0.020
    assert [s.key for s in ranking.standings] == ["a", "b"]
    assert ranking.best.mean == pytest.approx(0.32) and ranking.best.runs == 2
    assert [s.key for s in ranking.tied()] == ["b"]
    # the interval says what it rests on: one re-run (a's second), so t has 1 degree of freedom
    best = ranking.best
    assert describe(best.mean, best.runs, best.half_width, best.at_epoch, best.noise_dof) == (
        "0.3200 ± 0.2541 over 2 seed(s) (95%; seed noise from 1 re-run)")
    assert rank([Run("a", 0.2), Run("b", 0.1)], Mode.MIN).best.key == "b"  # mode decides
    assert rank([Run("a", 0.2), Run("b", 0.3)], Mode.MAX).tied() == []  # no noise: exact only


def test_the_pessimism_is_the_spaces_and_decides_how_far_a_single_run_must_lead():
    runs = [Run("a", 0.30, 0), Run("a", 0.34, 1), Run("b", 0.335, 2)]
    # noise 0.028: a ranks on 0.32 - p * 0.020, b on 0.335 - p * 0.028; they cross at p = 1.875
    assert [s.key for s in rank(runs, Mode.MAX, pessimism=1.5).standings] == ["b", "a"]
    assert [s.key for s in rank(runs, Mode.MAX, pessimism=2.0).standings] == ["a", "b"]
    assert rank(runs, Mode.MAX, pessimism=0.0).best.key == "b"   # the plain mean
    study = optuna.create_study(direction="maximize")
    for run, seed in zip(runs, (0, 1, 0), strict=True):
        study.add_trial(optuna.trial.create_trial(
            params={"x": 0.2 if run.key == "a" else 0.7}, value=run.value,
            distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
            user_attrs={TrialAttr.SEED: seed}))
    assert study_ranking(study, space(top_k=1, seeds=1, pessimism=2.0)).best.key == (("x", 0.2),)
    assert study_ranking(study, space(top_k=1, seeds=1, pessimism=1.5)).best.key == (("x", 0.7),)


def space(**confirm) -> SweepSpace:
    """A space confirming from the first completed run (``after=None``: the default's wait)."""
    confirm = {"after": 0, **(confirm or {"top_k": 1, "seeds": 1})}
    return SweepSpace.model_validate({
        "name": "s", "base_config": "c.py", "max_epochs": 2, "mode": "max",
        "command": ["train", "{config}", "--work-dir", "{work_dir}", "--seed", "{seed}"],
        "parameters": {"x": {"type": "float", "low": 0, "high": 1, "targets": ["x"]}},
        "search": {"num_trials": 8,
                   "confirm": {k: v for k, v in confirm.items() if v is not None}}})


def study_with(points: list[tuple[str, float]]) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    for label, x in points:
        study.enqueue_trial({"x": x}, user_attrs={TrialAttr.LABEL: label})
    return study


def test_the_leader_is_confirmed_after_the_enqueued_points_and_current_at_the_end():
    sp = space()
    study = study_with([(CURRENT_LABEL, 0.5), ("other", 0.9)])
    distribution = {"x": optuna.distributions.FloatDistribution(0, 1)}
    first = study.ask(distribution)                  # current, seed 0
    study.tell(first, 0.30)
    assert next_confirmation(study, sp, remaining=7) is None  # "other" still waits: it goes first
    second = study.ask(distribution)
    study.tell(second, 0.40)
    confirmation = next_confirmation(study, sp, remaining=6)
    assert confirmation.params == {"x": 0.9} and confirmation.seed == 1
    study.enqueue_trial(confirmation.params, user_attrs={TrialAttr.SEED: 1})
    assert next_confirmation(study, sp, remaining=6) is None  # queued already: not twice
    third = study.ask(distribution)
    third.set_user_attr(TrialAttr.SEED, 1)
    study.tell(third, 0.38)
    assert next_confirmation(study, sp, remaining=5) is None  # a new proposal's turn
    last = next_confirmation(study, sp, remaining=1)           # the end: current, best's seed
    assert last.params == {"x": 0.5} and last.seed == 1 and last.label == "current, seed 1"


def test_no_confirmation_without_seeds_to_give():
    study = study_with([(CURRENT_LABEL, 0.5)])
    study.tell(study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}), 0.3)
    assert next_confirmation(study, space(top_k=0, seeds=0), remaining=1) is None


def test_when_end_keeps_the_last_trials_for_the_finalists_and_current():
    sp = space(top_k=2, seeds=1, when="end")
    assert sp.confirm.reserved == 3  # two finalists' second runs and current's
    distribution = {"x": optuna.distributions.FloatDistribution(0, 1)}
    study = study_with([(CURRENT_LABEL, 0.5), ("b", 0.9), ("c", 0.1)])
    for value in (0.30, 0.40, 0.35):
        study.tell(study.ask(distribution), value)
    assert next_confirmation(study, sp, remaining=4) is None   # still exploring
    first = next_confirmation(study, sp, remaining=3)          # the end: the leader first
    assert first.params == {"x": 0.9} and first.seed == 1
    study.enqueue_trial(first.params, user_attrs={TrialAttr.SEED: 1})
    study.tell(study.ask(distribution), 0.41)
    second = next_confirmation(study, sp, remaining=2)
    assert second.params == {"x": 0.1} and second.seed == 1
    study.enqueue_trial(second.params, user_attrs={TrialAttr.SEED: 1})
    study.tell(study.ask(distribution), 0.33)
    last = next_confirmation(study, sp, remaining=1)
    assert last.params == {"x": 0.5} and last.label == "current, seed 1"


def test_a_run_stopped_above_every_completed_mean_leads_the_ranking():
    runs = [Run("a", 0.30, 0), Run("b", 0.36, 1, at_epoch=2), Run("b", 0.33, 2, at_epoch=3),
            Run("c", 0.20, 3), Run("c", 0.90, 4, at_epoch=1)]
    ranking = rank(runs, Mode.MAX)
    # b stands on its furthest stopped run (epoch 3); c on its completed run, its stopped one aside
    assert [(s.key, s.mean, s.at_epoch) for s in ranking.standings] == [
        ("b", 0.33, 3), ("a", 0.30, None), ("c", 0.20, None)]
    assert describe(0.33, 1, math.nan, 3, 0) == "0.3300 at epoch 3 (no run of it completed)"
    assert describe(0.3381, 2, 0.012, None, 3) == ("0.3381 ± 0.0120 over 2 seed(s) (95%; seed "
                                                   "noise from 3 re-runs)")
    assert describe(0.3890, 1, 0.1517, None, 1).endswith("(95%; seed noise from 1 re-run)")
    # runs that did not complete are no answer on their own
    assert rank([Run("b", 0.36, 1, at_epoch=2)], Mode.MAX).best is None


def test_the_study_ranking_counts_pruned_and_running_trials_and_confirms_a_stopped_leader():
    sp = space(top_k=1, seeds=1)
    study = study_with([(CURRENT_LABEL, 0.5), ("b", 0.9)])
    distribution = {"x": optuna.distributions.FloatDistribution(0, 1)}
    study.tell(study.ask(distribution), 0.30)
    stopped = study.ask(distribution)
    stopped.report(0.35, step=1)
    study.tell(stopped, state=optuna.trial.TrialState.PRUNED)
    best = study_ranking(study, sp).best
    assert best.key == (("x", 0.9),) and best.at_epoch == 1
    confirmation = next_confirmation(study, sp, remaining=5)
    assert confirmation.params == {"x": 0.9} and confirmation.seed == 1
    running = study.ask({"x": optuna.distributions.FloatDistribution(0.1, 0.1)})
    running.report(0.37, step=1)
    running.report(0.40, step=2)  # still running: what the sweep would answer if stopped now
    best = study_ranking(study, sp).best
    assert best.key == (("x", 0.1),) and best.at_epoch == 2 and best.mean == 0.40
    # a run still under way that leads is confirmed already (measured: waiting for it to end
    # scored no better on the tuning surfaces, and worse on three of four test surfaces)
    assert next_confirmation(study, sp, remaining=5).params == {"x": 0.1}


def test_currents_last_trials_come_before_a_finalist_and_after_counts_completed_runs_only():
    distribution = {"x": optuna.distributions.FloatDistribution(0, 1)}
    study = study_with([(CURRENT_LABEL, 0.5), ("b", 0.9), ("c", 0.1)])
    for value in (0.30, 0.40, 0.35):
        study.tell(study.ask(distribution), value)
    # the last trial is current's even though the finalists b and c are not confirmed yet
    last = next_confirmation(study, space(top_k=2, seeds=1, when="end"), remaining=1)
    assert last.params == {"x": 0.5} and last.label == "current, seed 1"

    study = study_with([(CURRENT_LABEL, 0.5), ("b", 0.9)])
    study.tell(study.ask(distribution), 0.30)
    stopped = study.ask(distribution)
    stopped.report(0.35, step=1)
    study.tell(stopped, state=optuna.trial.TrialState.PRUNED)
    sp = space(top_k=1, seeds=1, after=2)
    assert next_confirmation(study, sp, remaining=5) is None  # one completed run, not two


def test_a_confirmation_stage_that_leaves_out_after_waits_for_three_completed_runs():
    """The tuned default: a leader among fewer runs is mostly one lucky seed."""
    sp = space(top_k=1, seeds=1, after=None)
    assert sp.confirm.after == 3
    distribution = {"x": optuna.distributions.FloatDistribution(0, 1)}
    study = study_with([("a", 0.2), ("b", 0.9), ("c", 0.5)])
    for value in (0.30, 0.40):
        study.tell(study.ask(distribution), value)
    assert next_confirmation(study, sp, remaining=6) is None     # two completed runs
    study.tell(study.ask(distribution), 0.35)
    assert next_confirmation(study, sp, remaining=5).params == {"x": 0.9}
