"""`aqr-sweep resume` after the driver was killed: finished trials stay, the interrupted one runs
again in its work dir from its checkpoint, and the MLflow parent run is reused."""

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import psutil
import pytest
from mlflow.tracking import MlflowClient

from sweeps.backends.command import JOB_MARKER
from sweeps.store import SweepDir
from tests.kit.spaces import write_space

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def trial_processes() -> list[int]:
    """Processes of any trial (they carry the supervisor's marker)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if JOB_MARKER in proc.environ():
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_resume_after_the_driver_is_killed(tmp_path):
    space = write_space(tmp_path, "killed", search={"enqueue": [
        {"name": "first", "params": {"x": 0.3}}, {"name": "second", "params": {"x": 0.6}}]})
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs"), "SCRIPTED_EPOCH_SECONDS": "1.5"}
    cli = [sys.executable, "-m", "cli"]
    driver = subprocess.Popen([*cli, "run", str(space)], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    second = tmp_path / "runs" / "killed" / "trials" / "0001"
    deadline = time.time() + 240
    while not (second / "epoch_1.pth").exists() and time.time() < deadline:
        time.sleep(0.2)
    assert (second / "epoch_1.pth").exists(), "the second trial never reached its first epoch"
    os.killpg(driver.pid, signal.SIGKILL)   # the driver dies mid-trial
    driver.wait()
    deadline = time.time() + 10               # and its trainings with it, within seconds
    while time.time() < deadline and trial_processes():
        time.sleep(0.2)
    assert trial_processes() == []
    epochs_done = (second / "last_epoch").read_text()

    proc = subprocess.run([*cli, "resume", "killed"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    study = optuna.load_study(study_name="killed",
                              storage=SweepDir("killed", tmp_path / "runs").study_storage)
    trials = study.get_trials()
    State = optuna.trial.TrialState
    assert [(t.user_attrs["label"], t.state) for t in trials] == [
        ("first", State.COMPLETE), ("second", State.FAIL), ("second", State.COMPLETE)]
    rerun = trials[2]
    assert rerun.user_attrs["resumed_from"] == 1
    assert rerun.user_attrs["work_dir"] == str(second)
    assert rerun.value == pytest.approx(1.8)
    assert "--resume" in (second / "command.txt").read_text()
    assert min(rerun.intermediate_values) >= 2   # continued from its checkpoint, not epoch 1
    assert min(rerun.intermediate_values) == int(epochs_done) + 1   # nothing trained twice

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("killed").experiment_id])
    parents = [r for r in runs if r.data.tags.get("aqr.kind") == "sweep"]
    assert len(parents) == 1
    states = sorted(r.data.tags["aqr.state"] for r in runs if r.data.tags.get("aqr.label"))
    assert states == ["completed", "completed", "interrupted"]
    status = subprocess.run([*cli, "status", "killed", "--json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True).stdout
    assert [r["state"] for r in json.loads(status)] == ["completed", "interrupted", "completed"]
