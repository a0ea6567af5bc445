"""The ranking by mean over seeds and the confirmation stage over a real Optuna study: leaders
get new seeds after the enqueued points, `current` gets the best's seeds at the end, and one lucky
run does not outrank a configuration measured twice unless it beats it by the noise."""

import math

import optuna
import pytest

from sweeps.constants import CURRENT_LABEL, Mode, TrialAttr
from sweeps.run.confirm import next_confirmation
from sweeps.run.ranking import Run, pooled_noise, rank
from sweeps.space import SweepSpace


def test_pooled_noise_needs_a_configuration_run_twice():
    assert pooled_noise([[1.0], [2.0]]) == (pytest.approx(math.nan, nan_ok=True), 0)
    noise, dof = pooled_noise([[1.0, 3.0], [5.0, 5.0], [9.0]])
    assert dof == 2 and noise == pytest.approx(math.sqrt(2.0 / 2))


def test_a_lucky_run_does_not_outrank_a_confirmed_mean_within_the_noise():
    runs = [Run("a", 0.30, 0), Run("a", 0.34, 1), Run("b", 0.325, 2)]
    ranking = rank(runs, Mode.MAX)
    # noise 0.028 from a's two runs: b's one run (above a's mean) is discounted by 0.028, a's mean by 0.020
    assert [s.key for s in ranking.standings] == ["a", "b"]
    assert ranking.best.mean == pytest.approx(0.32) and ranking.best.runs == 2
    assert [s.key for s in ranking.tied()] == ["b"]
    assert rank([Run("a", 0.2), Run("b", 0.1)], Mode.MIN).best.key == "b"  # mode decides
    assert rank([Run("a", 0.2), Run("b", 0.3)], Mode.MAX).tied() == []  # no noise: exact only


def space(**confirm) -> SweepSpace:
    return SweepSpace.model_validate({
        "name": "s", "base_config": "c.py", "max_epochs": 2, "mode": "max",
        "command": ["train", "{config}", "--work-dir", "{work_dir}", "--seed", "{seed}"],
        "parameters": {"x": {"type": "float", "low": 0, "high": 1, "targets": ["x"]}},
        "search": {"num_trials": 8, "confirm": confirm or {"top_k": 1, "seeds": 1}}})


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
