"""The rank gate: a pruner acts at an epoch only once the completed trials' values there rank
their finals; an epoch that ranks them backwards never prunes."""

import optuna
import pytest

from sweeps.errors import SpaceError
from sweeps.run.gated_pruner import RankGatedPruner
from sweeps.run.pruners import build_pruner
from sweeps.space import SweepSpace


def space(pruner: dict) -> SweepSpace:
    return SweepSpace.model_validate({
        "name": "s", "base_config": "c.py", "max_epochs": 3, "pruner": pruner,
        "parameters": {"x": {"type": "float", "low": 0, "high": 1, "targets": ["x"]}}})


def completed(study: optuna.Study, curves: list[list[float]]) -> None:
    for curve in curves:
        trial = study.ask()
        for epoch, value in enumerate(curve, start=1):
            trial.report(value, epoch)
        study.tell(trial, curve[-1])


def reaches(study: optuna.Study, values: list[float]) -> list[bool]:
    """Whether the new trial is pruned after each of ``values``."""
    trial = study.ask()
    out = []
    for epoch, value in enumerate(values, start=1):
        trial.report(value, epoch)
        out.append(trial.should_prune())
    return out


#: epoch 1 ranks the finals backwards, epoch 2 ranks them as they end
CURVES = [[0.9, 0.1, 0.1], [0.8, 0.2, 0.2], [0.7, 0.3, 0.3], [0.6, 0.4, 0.4]]


def gated(min_trials: int = 4, min_correlation: float = 0.7) -> optuna.Study:
    inner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    return optuna.create_study(direction="maximize",
                               pruner=RankGatedPruner(inner, min_trials, min_correlation))


def test_an_epoch_that_ranks_backwards_never_prunes_one_that_ranks_well_does():
    study = gated()
    completed(study, CURVES)
    assert not study.pruner.is_open(study, 1) and study.pruner.is_open(study, 2)
    # low at epoch 1 (where the median pruner alone would stop it), low again at epoch 2
    assert reaches(study, [0.1, 0.05, 0.05]) == [False, True, True]


def test_the_gate_stays_shut_until_enough_trials_completed():
    study = gated(min_trials=5)
    completed(study, CURVES)
    assert reaches(study, [0.1, 0.05, 0.05]) == [False, False, False]
    ungated = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(
        n_startup_trials=2, n_warmup_steps=0))
    completed(ungated, CURVES)
    assert reaches(ungated, [0.1, 0.05, 0.05])[0]  # what the gate held back


def test_bad_gates_state_the_constraint_and_the_value():
    inner = optuna.pruners.NopPruner()
    with pytest.raises(ValueError, match="min_trials must be at least 3.*got 2"):
        RankGatedPruner(inner, min_trials=2)
    with pytest.raises(ValueError, match=r"min_correlation must be in \[-1, 1\].*got 1.5"):
        RankGatedPruner(inner, min_correlation=1.5)


def test_a_space_turns_the_gate_on_for_optuna_pruners_and_refuses_it_for_asha():
    pruner = build_pruner(space({"type": "median", "gate": {"min_trials": 5}}))
    assert isinstance(pruner, RankGatedPruner) and pruner._min_trials == 5
    assert not isinstance(build_pruner(space({"type": "median"})), RankGatedPruner)
    with pytest.raises(SpaceError, match="pruner.gate: asha"):
        build_pruner(space({"type": "asha", "gate": {}}))
    with pytest.raises(ValueError, match="pruner.gate.min_trials"):
        space({"type": "median", "gate": {"min_trials": 2}})
