import optuna
import pytest

from sweeps.driver import build_scheduler
from sweeps.ledger import TrialLedger
from sweeps.pruners import PRUNERS, build_pruner
from sweeps.scheduler import OptunaPruningScheduler, RecordingASHAScheduler
from sweeps.space import PrunerSpec, SweepSpace


@pytest.mark.parametrize("name", sorted(PRUNERS))
def test_every_named_pruner_builds(name):
    options = {"lower": 0.1} if name == "threshold" else {}
    assert isinstance(build_pruner(PrunerSpec(type=name, options=options), max_epochs=6),
                      optuna.pruners.BasePruner)
    if name == "threshold":
        with pytest.raises(ValueError, match="pruner.options: Either lower or upper"):
            build_pruner(PrunerSpec(type=name), max_epochs=6)


def test_warmup_epochs_are_never_pruned():
    pruner = build_pruner(PrunerSpec(type="median", warmup_epochs=2, startup_trials=0), 6)
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


def test_bad_pruner_options_name_the_field():
    with pytest.raises(ValueError, match="pruner.options: .*bogus"):
        build_pruner(PrunerSpec(type="median", options={"bogus": 1}), 6)


def space(pruner: dict) -> SweepSpace:
    return SweepSpace.model_validate({
        "name": "s", "base_config": "c.py", "max_epochs": 6, "pruner": pruner,
        "parameters": {"x": {"type": "float", "low": 0, "high": 1, "targets": ["x"]}}})


def test_schedulers():
    assert isinstance(build_scheduler(space({"type": "median"}), TrialLedger()),
                      OptunaPruningScheduler)
    asha = build_scheduler(space({"type": "asha", "options": {"reduction_factor": 2}}),
                           TrialLedger())
    assert isinstance(asha, RecordingASHAScheduler)
    with pytest.raises(ValueError, match="pruner.options"):
        build_scheduler(space({"type": "asha", "options": {"grace": 1}}), TrialLedger())
