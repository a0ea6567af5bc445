"""The real driver, scheduler, searcher and MLflow tracker over the replay backend (no training
process): states agree across the ledger, Optuna and MLflow, in seconds."""

import optuna
import pytest
from mlflow.tracking import MlflowClient

from sweeps.constants import Tag, TrialState
from sweeps.run.driver import run_sweep
from sweeps.store.study import load_study
from sweeps.store.sweep_dir import SweepDir
from tests.kit.replay import ReplayBackend
from tests.kit.spaces import write_space

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_pruned_and_completed_trials_agree_everywhere(tmp_path, monkeypatch):
    space = write_space(tmp_path, "replay", pruner={
        "type": "median", "warmup_epochs": 0, "startup_trials": 2}, search={
        "num_trials": 3, "enqueue": [{"name": n, "params": {"x": x}}
                                     for n, x in (("a", 0.9), ("b", 0.8), ("low", 0.1))]})
    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    summary = run_sweep(space, backend=ReplayBackend(epochs=3))

    entries = {e.label: e for e in summary.ran}
    assert {k: e.state for k, e in entries.items()} == {
        "a": TrialState.COMPLETED, "b": TrialState.COMPLETED, "low": TrialState.PRUNED}
    assert entries["low"].pruned_at == 1 and entries["a"].values == pytest.approx([0.9, 1.8, 2.7])
    assert summary.best_value == pytest.approx(2.7)

    study = load_study(SweepDir("replay", tmp_path / "runs"))
    low = next(t for t in study.trials if t.user_attrs["label"] == "low")
    assert low.state == optuna.trial.TrialState.PRUNED and low.intermediate_values == {1: 0.1}

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("replay").experiment_id],
                              filter_string=f"tags.`{Tag.LABEL}` = 'low'")
    assert runs[0].data.tags[Tag.STATE] == TrialState.PRUNED
    assert runs[0].data.tags[Tag.PRUNED_AT_EPOCH] == "1"
