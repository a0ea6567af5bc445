"""Trials whose training crashes, resumes, diverges or never logs the metric, through the real
driver with a stand-in training command (no GPU here: the command writes mmcv-1.x JSON logs like
the real CMT)."""

import json
import os
import subprocess
import sys

import optuna
import pytest
from mlflow.tracking import MlflowClient

from sweeps.errors import SweepHaltedError
from sweeps.run.driver import run_sweep
from sweeps.store.sweep_dir import SweepDir
from tests.kit.processes import trial_processes
from tests.kit.spaces import write_space

pytestmark = [pytest.mark.slow, pytest.mark.integration]

PARAMETERS = {
    "x": {"type": "float", "low": 0.1, "high": 1.0, "targets": ["x"]},
    "mode": {"type": "categorical", "targets": ["mode"], "choices": [
        "crash_once", "diverge", "infinite", "crash_after_last_checkpoint", "never_validates_last",
        "overrun",
        "hang_after_last", "delete_log", "rewrite_log", "log_elsewhere"]},
}
SEARCH = {"num_trials": 5, "concurrency": 1, "enqueue": [
    {"name": "crash", "params": {"x": 0.5, "mode": "crash_once"}},
    {"name": "nan", "params": {"x": 0.5, "mode": "diverge"}},
    {"name": "inf", "params": {"x": 0.5, "mode": "infinite"}},
    {"name": "stopped_validating", "params": {"x": 0.4, "mode": "crash_after_last_checkpoint"}},
    {"name": "unvalidated", "params": {"x": 0.5, "mode": "never_validates_last"}}]}


def test_crash_resumes_nan_and_unvalidated_fail_clearly(tmp_path, monkeypatch):
    space = write_space(tmp_path, "failures", parameters=PARAMETERS, search=SEARCH,
                        max_failures=1)
    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    summary = run_sweep(space)
    entries = {e.label: e for e in summary.ran}

    crash = entries["crash"]
    assert crash.state == "completed" and crash.epochs == [1, 2, 3]
    assert crash.values == [0.5, 1.0, 1.5]
    commands = (crash.work_dir / "command.txt").read_text()
    assert "--resume" in commands        # the second attempt resumed from epoch_1.pth
    assert "illegal memory access" in (crash.work_dir / "train.out").read_text()

    study = optuna.load_study(study_name="failures",
                              storage=SweepDir("failures", tmp_path / "runs").study_storage)
    states = {t.user_attrs["label"]: t.state for t in study.get_trials()}
    assert states == {"crash": optuna.trial.TrialState.COMPLETE,
                      "nan": optuna.trial.TrialState.FAIL,
                      "inf": optuna.trial.TrialState.FAIL,
                      "stopped_validating": optuna.trial.TrialState.COMPLETE,
                      "unvalidated": optuna.trial.TrialState.FAIL}
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    nan = client.search_runs([client.get_experiment_by_name("failures").experiment_id],
                             filter_string="tags.`aqr.label` = 'nan'")[0]
    assert "NDS is NaN at epoch 1 (the training diverged)" in nan.data.tags["aqr.error"]
    assert entries["nan"].state == "failed"
    inf = client.search_runs([client.get_experiment_by_name("failures").experiment_id],
                             filter_string="tags.`aqr.label` = 'inf'")[0]
    assert "NDS is inf at epoch 1 (the training diverged)" in inf.data.tags["aqr.error"]
    assert summary.best_number == crash.number                   # never an infinite answer
    assert len((entries["nan"].work_dir / "starts.txt").read_text().splitlines()) == 1  # no retry

    # died while validating its last epoch, after saving its checkpoint: the retry sets that
    # checkpoint aside, resumes from epoch 2's and trains epoch 3 again (not FAILED: nothing left
    # to train from epoch 3's checkpoint; never COMPLETE with epoch 2's value)
    stopped = entries["stopped_validating"]
    assert stopped.state == "completed" and stopped.epochs == [1, 2, 3]
    assert stopped.values == pytest.approx([0.4, 0.8, 1.2])
    assert (stopped.work_dir / "epoch_3.pth.unvalidated").exists()
    assert os.readlink(stopped.work_dir / "latest.pth") == "epoch_3.pth"
    assert "aqr-sweep: epoch_3.pth saved but never validated (the training stopped during its " \
           "validation): set aside as *.unvalidated; the resumed training goes on from " \
           "epoch_2.pth" in (stopped.work_dir / "train.out").read_text()

    # a training that exits 0 without validating its last epoch, each time: the retry trains
    # it again, then the trial fails saying so
    unvalidated = client.search_runs([client.get_experiment_by_name("failures").experiment_id],
                                     filter_string="tags.`aqr.label` = 'unvalidated'")[0]
    assert "epoch 3 (max_epochs) was never validated" in unvalidated.data.tags["aqr.error"]
    assert "epoch_3.pth exists" in unvalidated.data.tags["aqr.error"]
    starts = (entries["unvalidated"].work_dir / "starts.txt").read_text().splitlines()
    assert len(starts) == 2 and "--resume" in starts[1]


def test_a_metric_the_trainer_never_logs_halts_the_sweep_at_its_first_validation(tmp_path):
    """A misspelt metric: the first validation without it fails the sweep, naming the keys it
    did log; nothing more is launched; each failed trial's reason is in status and leads its
    MLflow error tag, without Ray's traceback in colour codes."""
    space = write_space(tmp_path, "typo", metric="NDS_typo", search={
        "num_trials": 10, "concurrency": 2, "sampler": "random"})
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs")}
    run = subprocess.run([sys.executable, "-m", "cli", "run", "--no-preflight", str(space)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "error: sweep 'typo' halted: metric 'NDS_typo' not in the validation at epoch 1; it "
        "logged: NDS. Set `metric` in the space to one of these; no more trials were launched. "
        "Fix the space, then run it as a new sweep (--name), or fix its copy "
        f"{tmp_path / 'runs' / 'typo' / 'space.yaml'} and `aqr-sweep resume typo`"]
    status = subprocess.run([sys.executable, "-m", "cli", "status", "typo", "--json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    rows = json.loads(status.stdout)
    assert len(rows) <= 2 and all(r["state"] == "failed" for r in rows)
    assert any(r["error"].startswith("metric 'NDS_typo' not in the validation") for r in rows)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("typo").experiment_id],
                              filter_string="tags.`aqr.state` = 'failed'")
    assert len(runs) == len(rows)
    for r in runs:
        assert "\x1b[" not in r.data.tags["aqr.error"]
        assert not r.data.tags["aqr.error"].startswith("Traceback")


def test_a_validation_past_max_epochs_halts_the_sweep(tmp_path, monkeypatch):
    """A training whose schedule is longer than the space's would have completed with its
    last epoch's value, and that epoch become the answer: the sweep halts naming the fix."""
    space = write_space(tmp_path, "overrun", parameters=PARAMETERS, search={
        "num_trials": 1, "concurrency": 1, "enqueue": [
            {"name": "long", "params": {"x": 0.5, "mode": "overrun"}}]})
    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    with pytest.raises(SweepHaltedError, match=r"the training validated epoch 4, past "
                                               r"max_epochs=3: its schedule is longer"):
        run_sweep(space)
    study = optuna.load_study(study_name="overrun",
                              storage=SweepDir("overrun", tmp_path / "runs").study_storage)
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.FAIL]


def test_a_training_that_hangs_after_its_last_validation_completes_its_trial(tmp_path,
                                                                          monkeypatch):
    """It validated max_epochs, then deadlocked tearing down: after progress_timeout_seconds
    it is stopped and its trial COMPLETE on that validation (not FAILED as hung)."""
    space = write_space(tmp_path, "teardown", parameters=PARAMETERS, progress_timeout_seconds=20,
                        search={"num_trials": 1, "concurrency": 1, "enqueue": [
                            {"name": "stuck", "params": {"x": 0.5, "mode": "hang_after_last"}}]})
    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    summary = run_sweep(space)
    (entry,) = summary.ran
    assert entry.state == "completed" and entry.values == [0.5, 1.0, 1.5]
    assert trial_processes(tmp_path) == []


def test_a_log_deleted_under_a_running_trial_is_said_so(tmp_path, monkeypatch):
    space = write_space(tmp_path, "gone", parameters=PARAMETERS, search={
        "num_trials": 1, "concurrency": 1, "enqueue": [
            {"name": "gone", "params": {"x": 0.5, "mode": "delete_log"}}]})
    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    (entry,) = run_sweep(space).ran
    assert entry.state == "failed"
    study = optuna.load_study(study_name="gone",
                              storage=SweepDir("gone", tmp_path / "runs").study_storage)
    (trial,) = study.get_trials()
    assert trial.user_attrs["error"].startswith("the log it followed (") and \
        "was deleted or moved while the training ran" in trial.user_attrs["error"]


def test_a_log_rewritten_in_place_is_read_again_and_one_written_elsewhere_is_named(tmp_path,
                                                                                 monkeypatch):
    """A logger reopened with "w" rewrites the log from its start (shorter than what was read):
    it is read again and the trial completes; a training that logs outside its work dir fails
    saying so (both were "crashed between saving and validating")."""
    space = write_space(tmp_path, "logs", parameters=PARAMETERS, search={
        "num_trials": 2, "concurrency": 1, "enqueue": [
            {"name": "rewrite", "params": {"x": 0.5, "mode": "rewrite_log"}},
            {"name": "elsewhere", "params": {"x": 0.5, "mode": "log_elsewhere"}}]})
    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    entries = {e.label: e for e in run_sweep(space).ran}
    assert entries["rewrite"].state == "completed" and entries["rewrite"].epochs == [1, 2, 3]
    assert entries["elsewhere"].state == "failed"
    study = optuna.load_study(study_name="logs",
                              storage=SweepDir("logs", tmp_path / "runs").study_storage)
    error = next(t for t in study.get_trials()
                 if t.user_attrs["label"] == "elsewhere").user_attrs["error"]
    assert error.startswith("the training exited 0 but wrote no log in its work dir ")
