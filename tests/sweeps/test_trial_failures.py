"""Trials whose training crashes, resumes, or never logs the metric, through the real driver with a
stand-in training command (no GPU here: the command writes mmcv-1.x JSON logs like the real CMT)."""


import optuna
import pytest
from mlflow.tracking import MlflowClient

from sweeps.run.driver import run_sweep
from sweeps.store.sweep_dir import SweepDir
from tests.kit.spaces import write_space

pytestmark = [pytest.mark.slow, pytest.mark.integration]

PARAMETERS = {
    "x": {"type": "float", "low": 0.1, "high": 1.0, "targets": ["x"]},
    "mode": {"type": "categorical", "targets": ["mode"], "choices": [
        "crash_once", "wrong_metric", "diverge", "crash_after_last_checkpoint"]},
}
SEARCH = {"num_trials": 4, "concurrency": 1, "enqueue": [
    {"name": "crash", "params": {"x": 0.5, "mode": "crash_once"}},
    {"name": "wrong", "params": {"x": 0.5, "mode": "wrong_metric"}},
    {"name": "nan", "params": {"x": 0.5, "mode": "diverge"}},
    {"name": "unvalidated", "params": {"x": 0.5, "mode": "crash_after_last_checkpoint"}}]}


def test_crash_resumes_missing_metric_and_nan_fail_clearly(tmp_path, monkeypatch):
    space = write_space(tmp_path, "failures", parameters=PARAMETERS, search=SEARCH,
                        max_failures=1)
    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    summary = run_sweep(space)
    entries = {e.label: e for e in summary.entries}

    crash = entries["crash"]
    assert crash.state == "completed" and crash.epochs == [1, 2, 3]
    assert crash.values == [0.5, 1.0, 1.5]
    commands = (crash.work_dir / "command.txt").read_text()
    assert "--resume" in commands        # the second attempt resumed from epoch_1.pth
    assert "illegal memory access" in (crash.work_dir / "train.out").read_text()

    wrong = entries["wrong"]
    assert wrong.state == "failed"
    study = optuna.load_study(study_name="failures",
                              storage=SweepDir("failures", tmp_path / "runs").study_storage)
    states = {t.user_attrs["label"]: t.state for t in study.get_trials()}
    assert states == {"crash": optuna.trial.TrialState.COMPLETE,
                      "wrong": optuna.trial.TrialState.FAIL, "nan": optuna.trial.TrialState.FAIL,
                      "unvalidated": optuna.trial.TrialState.FAIL}
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("failures").experiment_id],
                              filter_string="tags.`aqr.label` = 'wrong'")
    error = runs[0].data.tags["aqr.error"]
    assert "metric 'NDS' not in the validation at epoch 1; it logged: mAP" in error
    nan = client.search_runs([client.get_experiment_by_name("failures").experiment_id],
                             filter_string="tags.`aqr.label` = 'nan'")[0]
    assert "NDS is NaN at epoch 1 (the training diverged)" in nan.data.tags["aqr.error"]
    assert entries["nan"].state == "failed"
    assert len((entries["nan"].work_dir / "starts.txt").read_text().splitlines()) == 1  # no retry

    # died after saving its last checkpoint, before validating it: the resumed run has nothing
    # left to train; the trial fails saying so (never COMPLETE with epoch 2's value)
    unvalidated = client.search_runs([client.get_experiment_by_name("failures").experiment_id],
                                     filter_string="tags.`aqr.label` = 'unvalidated'")[0]
    assert "epoch 3 (max_epochs) was never validated" in unvalidated.data.tags["aqr.error"]
    assert "epoch_3.pth exists" in unvalidated.data.tags["aqr.error"]
    starts = (entries["unvalidated"].work_dir / "starts.txt").read_text().splitlines()
    assert len(starts) == 2 and "--resume" in starts[1]
