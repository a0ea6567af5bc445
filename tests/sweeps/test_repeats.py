"""A proposal that repeats a run the sweep already made is asked again, not trained: over a real
Optuna study and TPE, then through the real driver (Ray, MLflow) over a categorical knob."""

from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from cli.app import app
from sweeps.constants import TrialAttr, TrialState
from sweeps.run.driver import run_sweep
from sweeps.run.ledger import TrialLedger
from sweeps.run.repeats import MAX_ASKS, is_repeat
from sweeps.run.searcher import OptunaAskTellSearcher
from sweeps.space import SweepSpace
from sweeps.store.status import trial_statuses
from sweeps.store.study import load_study, new_study, trials_to_run
from sweeps.store.sweep_dir import SweepDir
from tests.kit.replay import ReplayBackend
from tests.kit.spaces import space_dict, write_space

CHOICES = [0.2, 0.5, 0.9]


def categorical(tmp_path: Path, num_trials: int) -> dict:
    return {"parameters": {"x": {"type": "categorical", "choices": CHOICES, "targets": ["x"]}},
            "search": {"sampler": "tpe", "num_trials": num_trials, "seed": 3,
                       "confirm": {"top_k": 0}},
            "command": [*space_dict(tmp_path)["command"], "--seed", "{seed}"]}


def test_a_repeated_proposal_is_asked_again_and_only_an_exhausted_space_trains_a_new_seed(tmp_path):
    space = SweepSpace.model_validate(space_dict(tmp_path, **categorical(tmp_path, 5)))
    study = new_study(space, name=space.name)
    searcher = OptunaAskTellSearcher(space, study, TrialLedger(), tmp_path / "trials")
    runs = []
    for i in range(5):
        config = searcher.suggest(f"t{i}")
        entry = searcher.ledger.get(f"t{i}")
        runs.append((config["x"], entry.seed))
        study.tell(entry.optuna_trial, config["x"])  # the best choice stays the best
        assert trials_to_run(space, study) == 5 - (i + 1)  # the set-aside proposals not counted

    assert len(set(runs)) == 5  # no run made twice
    assert sorted(x for x, seed in runs if seed == 0) == CHOICES  # every choice before a 2nd seed
    trials = study.get_trials(deepcopy=False)
    repeats = [t for t in trials if is_repeat(t)]
    assert repeats and all(t.state == optuna.trial.TrialState.FAIL for t in repeats)
    for t in repeats:  # each names the run it repeated: the same choice, seed 0
        original = trials[t.user_attrs[TrialAttr.REPEAT_OF]]
        assert original.params == t.params and original.user_attrs[TrialAttr.SEED] == 0
    # a run on a second seed only after MAX_ASKS proposals in a row repeated (the last trains)
    numbers = [t.number for t in trials if not is_repeat(t)]
    assert all(b - a <= MAX_ASKS for a, b in zip(numbers, numbers[1:], strict=False))
    assert [s.number for s in trial_statuses(study, space)] == numbers  # not listed as trials


def test_an_exhausted_space_asks_once_and_a_command_without_seed_trains_the_run_again(tmp_path):
    fields = categorical(tmp_path, 4)
    fields["command"] = space_dict(tmp_path)["command"]  # no {seed}
    fields["parameters"]["x"]["choices"] = [0.2, 0.9]
    space = SweepSpace.model_validate(space_dict(tmp_path, **fields))
    study = new_study(space, name=space.name)
    searcher = OptunaAskTellSearcher(space, study, TrialLedger(), tmp_path / "trials")
    for i in range(4):
        config = searcher.suggest(f"t{i}")
        study.tell(searcher.ledger.get(f"t{i}").optuna_trial, config["x"])
    trials = study.get_trials(deepcopy=False)
    ran = [t for t in trials if not is_repeat(t)]
    assert sorted(t.params["x"] for t in ran[:2]) == [0.2, 0.9]
    assert [t.user_attrs[TrialAttr.SEED] for t in ran] == [0, 0, 0, 0]  # nothing else to give
    last_two = [t.number for t in ran[2:]]
    assert not [t for t in trials if is_repeat(t) and t.number > ran[1].number]  # no asking again
    assert last_two == [ran[1].number + 1, ran[1].number + 2]


@pytest.mark.slow
@pytest.mark.integration
def test_the_driver_trains_no_run_twice_over_a_categorical_knob(tmp_path, monkeypatch):
    space = write_space(tmp_path, "repeats", **categorical(tmp_path, 5))
    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    summary = run_sweep(space, backend=ReplayBackend(epochs=3))

    assert len(summary.ran) == 5 and len(summary.trials) == 5
    assert all(e.state == TrialState.COMPLETED for e in summary.ran)
    assert len({(e.params["x"], e.seed) for e in summary.ran}) == 5
    study = load_study(SweepDir("repeats", tmp_path / "runs"))
    assert any(is_repeat(t) for t in study.get_trials(deepcopy=False))
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("repeats").experiment_id])
    trial_runs = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(trial_runs) == 5  # one MLflow run per trained run, none for a set-aside proposal
    status = CliRunner().invoke(app, ["status", "repeats"], terminal_width=200)
    assert status.exit_code == 0, status.output
    repeats = sum(is_repeat(t) for t in study.get_trials(deepcopy=False))
    assert f"{repeats} proposal(s) repeated a run already made and were not trained" in status.output
