import optuna
import pytest

from sweeps.errors import SpaceError
from sweeps.run.ledger import TrialLedger
from sweeps.run.pruners import PRUNERS, build_pruner
from sweeps.run.scheduler import OptunaPruningScheduler, RecordingASHAScheduler, build_scheduler
from sweeps.space import SweepSpace, load_space


def space(pruner: dict) -> SweepSpace:
    return SweepSpace.model_validate({
        "name": "s", "base_config": "c.py", "max_epochs": 6, "pruner": pruner,
        "parameters": {"x": {"type": "float", "low": 0, "high": 1, "targets": ["x"]}}})


@pytest.mark.parametrize("name", sorted(PRUNERS))
def test_every_named_pruner_builds(name):
    options = {"lower": 0.1} if name == "threshold" else {}
    assert isinstance(build_pruner(space({"type": name, "options": options})),
                      optuna.pruners.BasePruner)
    if name == "threshold":
        with pytest.raises(SpaceError, match="pruner.options: Either lower or upper"):
            build_pruner(space({"type": name}))


def test_warmup_epochs_are_never_pruned():
    pruner = build_pruner(space({"type": "median", "warmup_epochs": 2, "startup_trials": 0}))
    study = optuna.create_study(direction="maximize", pruner=pruner)
    for value in (1.0, 1.0):
        t = study.ask()
        for epoch in (1, 2, 3):
            t.report(value, epoch)
        study.tell(t, value)
    bad = study.ask()
    for epoch in (1, 2):
        bad.report(0.0, epoch)
        assert not bad.should_prune()      # epochs 1 and 2 are the warm-up
    bad.report(0.0, 3)
    assert bad.should_prune()


def test_bad_pruner_options_name_the_field_and_its_line(tmp_path):
    with pytest.raises(SpaceError, match="pruner.options: .*bogus"):
        build_pruner(space({"type": "median", "options": {"bogus": 1}}))
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nbase_config: c.py\nmax_epochs: 6\nparameters:\n"
                    "  x: {type: float, low: 0, high: 1, targets: [x]}\npruner:\n"
                    "  type: median\n  options: {bogus: 1}\n")
    with pytest.raises(SpaceError) as err:
        build_pruner(load_space(path))
    assert str(err.value).startswith(f"{path}:8: pruner.options: ")


def test_schedulers():
    assert isinstance(build_scheduler(space({"type": "median"}), TrialLedger()),
                      OptunaPruningScheduler)
    asha = build_scheduler(space({"type": "asha", "options": {"reduction_factor": 2}}),
                           TrialLedger())
    assert isinstance(asha, RecordingASHAScheduler)
    with pytest.raises(SpaceError, match="pruner.options"):
        build_scheduler(space({"type": "asha", "options": {"grace": 1}}), TrialLedger())
