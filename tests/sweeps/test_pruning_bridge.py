"""The pruning bridge on real Ray Tune with a deterministic trainable: stopped trials are PRUNED
in Optuna with their intermediate values, never COMPLETE with a truncated score."""

import optuna
import pytest
import ray
from ray import tune

from sweeps.run.ledger import TrialLedger
from sweeps.run.pruners import build_pruner
from sweeps.run.scheduler import OptunaPruningScheduler, RecordingASHAScheduler
from sweeps.run.searcher import OptunaAskTellSearcher
from sweeps.space import SweepSpace

pytestmark = pytest.mark.slow


def space(pruner: dict, xs: list[float]) -> SweepSpace:
    return SweepSpace.model_validate({
        "name": "bridge", "base_config": "unused.py", "metric": "score", "mode": "max",
        "max_epochs": 4, "pruner": pruner,
        "parameters": {"x": {"type": "float", "low": 0.0, "high": 1.0, "targets": ["x"]}},
        "search": {"sampler": "random", "num_trials": len(xs), "concurrency": 1,
                   "enqueue": [{"name": f"x{x}", "params": {"x": x}} for x in xs]},
    })


def make_deterministic():
    """Defined in a function so that Ray ships it by value (workers cannot import ``tests``)."""

    def deterministic(config):
        for epoch in range(1, 5):
            tune.report({"score": config["x"] * epoch, "epoch": epoch})

    return deterministic


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def run(spec: SweepSpace, scheduler_factory, tmp_path):
    study = optuna.create_study(direction="maximize",
                                pruner=build_pruner(spec))
    for point in spec.search.enqueue:
        study.enqueue_trial(point.params, user_attrs={"label": point.name})
    ledger = TrialLedger()
    tuner = tune.Tuner(
        make_deterministic(),
        tune_config=tune.TuneConfig(
            metric="score", mode="max", num_samples=spec.search.num_trials,
            search_alg=OptunaAskTellSearcher(spec, study, ledger, tmp_path / "trials"),
            scheduler=scheduler_factory(ledger), max_concurrent_trials=1, reuse_actors=False),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), verbose=0))
    tuner.fit()
    return study, ledger


def test_median_pruner_prunes_and_records(local_ray, tmp_path):
    spec = space({"type": "median", "warmup_epochs": 0, "startup_trials": 2},
                 [0.9, 0.8, 0.1, 0.05])
    study, ledger = run(spec, lambda led: OptunaPruningScheduler(led, "score", 4), tmp_path)
    trials = study.get_trials()
    State = optuna.trial.TrialState
    assert [t.state for t in trials] == [State.COMPLETE, State.COMPLETE, State.PRUNED,
                                         State.PRUNED]
    assert trials[0].value == pytest.approx(3.6)
    assert trials[2].intermediate_values == {1: pytest.approx(0.1)}
    assert [e.pruned_at for e in ledger.entries()] == [None, None, 1, 1]
    assert [e.state for e in ledger.entries()] == ["completed", "completed", "pruned", "pruned"]


def test_asha_stops_are_recorded_as_pruned(local_ray, tmp_path):
    spec = space({"type": "asha", "warmup_epochs": 0}, [0.9, 0.8, 0.7, 0.1, 0.05])
    study, ledger = run(spec, lambda led: RecordingASHAScheduler(
        led, "score", 4, grace_period=1, reduction_factor=2), tmp_path)
    State = optuna.trial.TrialState
    for t, e in zip(study.get_trials(), ledger.entries(), strict=True):
        if len(t.intermediate_values) < 4:
            assert t.state == State.PRUNED and e.pruned_at == max(t.intermediate_values)
        else:
            assert t.state == State.COMPLETE and t.value == pytest.approx(t.params["x"] * 4)
    assert any(t.state == State.PRUNED for t in study.get_trials())
