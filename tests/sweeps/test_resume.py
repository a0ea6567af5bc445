"""`aqr-sweep resume` after the driver was killed: finished trials stay, the interrupted one runs
again in its work dir from its checkpoint, and the MLflow parent run is reused."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import psutil
import pytest
from mlflow.tracking import MlflowClient

from sweeps.store.sweep_dir import SweepDir
from tests.kit.processes import trial_processes
from tests.kit.spaces import write_space

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def orphaned_ray_workers(root: Path) -> list[int]:
    """``ray::`` processes adopted by init (their node is gone) of drivers whose sweeps are kept
    under ``root`` (Ray's workers inherit the driver's environment): not another test's."""
    found = []
    for proc in psutil.process_iter(["cmdline", "ppid"]):
        try:
            if proc.info["ppid"] == 1 and (proc.info["cmdline"] or [""])[0].startswith("ray::") \
                    and proc.environ().get("AQR_SWEEP_ROOT") == str(root):
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


CLI = [sys.executable, "-m", "cli"]


def kill_driver_once(tmp_path: Path, space: Path, env: dict, work: Path,
                     until: Callable[[], bool] = lambda: True) -> None:
    """Run the sweep, SIGKILL its driver once ``work`` (a trial's work dir) saved epoch 1 and
    ``until`` holds, and check that its trainings ended within seconds."""
    driver = subprocess.Popen([*CLI, "run", "--no-preflight", str(space)], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.time() + 240
    while not ((work / "epoch_1.pth").exists() and until()) and time.time() < deadline:
        time.sleep(0.2)
    assert (work / "epoch_1.pth").exists(), f"{work.name} never reached its first epoch"
    os.killpg(driver.pid, signal.SIGKILL)   # the driver dies mid-trial
    driver.wait()
    deadline = time.time() + 10               # and its trainings with it, within seconds
    while time.time() < deadline and trial_processes(tmp_path):
        time.sleep(0.2)
    assert trial_processes(tmp_path) == []


def test_resume_after_the_driver_is_killed(tmp_path):
    space = write_space(tmp_path, "killed", search={"enqueue": [
        {"name": "first", "params": {"x": 0.3}}, {"name": "second", "params": {"x": 0.6}}]})
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs"), "SCRIPTED_EPOCH_SECONDS": "1.5"}
    second = tmp_path / "runs" / "killed" / "trials" / "0001"
    epoch_1 = ("FROM metrics WHERE key = 'NDS' AND step = 1 AND run_uuid IN (SELECT run_uuid "
               "FROM tags WHERE key = 'aqr.label' AND value = 'second')")

    def driver_logged_epoch_1() -> bool:
        with sqlite3.connect(tmp_path / "mlflow.db") as db:
            return db.execute(f"SELECT count(*) {epoch_1}").fetchone()[0] > 0

    kill_driver_once(tmp_path, space, env, second, until=driver_logged_epoch_1)
    status = subprocess.run([*CLI, "status", "killed", "--json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True).stdout
    assert [r["state"] for r in json.loads(status)] == ["completed", "interrupted"]
    # as if the driver died between the study's write of epoch 1 and MLflow's: the run lacks it
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        db.execute(f"DELETE {epoch_1}")
    epochs_done = int((second / "last_epoch").read_text())
    if epochs_done == 1:  # as if it logged epoch 2 while the driver was already dead
        log = max(second.glob("*.log.json"), key=lambda p: p.stat().st_mtime)
        with open(log, "a") as f:
            f.write(json.dumps({"mode": "val", "epoch": 2, "iter": 10, "NDS": 1.2}) + "\n")
        (second / "epoch_2.pth").write_bytes(b"ckpt")
        (second / "last_epoch").write_text("2")
        epochs_done = 2

    proc = subprocess.run([*CLI, "resume", "killed"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert orphaned_ray_workers(tmp_path / "runs") == []   # the dead driver's Ray workers ended too
    study = optuna.load_study(study_name="killed",
                              storage=SweepDir("killed", tmp_path / "runs").study_storage)
    trials = study.get_trials()
    State = optuna.trial.TrialState
    # the interrupted trial went on as itself: one Optuna trial, one curve, one MLflow run
    assert [(t.user_attrs["label"], t.state) for t in trials] == [
        ("first", State.COMPLETE), ("second", State.COMPLETE)]
    resumed = trials[1]
    assert resumed.user_attrs["work_dir"] == str(second)
    assert resumed.value == pytest.approx(1.8)
    assert sorted(resumed.intermediate_values) == [1, 2, 3]     # no epoch lost or repeated
    assert resumed.intermediate_values[1] == pytest.approx(0.6)
    assert resumed.intermediate_values[2] == pytest.approx(1.2)   # logged while no driver ran
    assert "--resume" in (second / "command.txt").read_text()
    starts = (second / "starts.txt").read_text().splitlines()
    assert len(starts) == 2 and "--resume" in starts[1]
    # the resumed training went on after the last epoch the first one finished
    resumed_log = max(second.glob("*.log.json"), key=lambda p: p.stat().st_mtime)
    first_epoch = json.loads(resumed_log.read_text().splitlines()[1])["epoch"]
    assert first_epoch == epochs_done + 1

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("killed").experiment_id])
    parents = [r for r in runs if r.data.tags.get("aqr.kind") == "sweep"]
    assert len(parents) == 1
    trial_runs = {r.data.tags["aqr.label"]: r for r in runs if r.data.tags.get("aqr.label")}
    assert sorted(trial_runs) == ["first", "second"]
    assert {k: r.data.tags["aqr.state"] for k, r in trial_runs.items()} == {
        "first": "completed", "second": "completed"}
    history = client.get_metric_history(trial_runs["second"].info.run_id, "NDS")
    assert sorted(m.step for m in history) == [1, 2, 3]
    status = subprocess.run([*CLI, "status", "killed", "--json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True).stdout
    assert [r["state"] for r in json.loads(status)] == ["completed", "completed"]


def test_resume_of_a_trial_stopped_after_its_last_validation_completes_it(tmp_path):
    """A driver stopped after a trial validated max_epochs, before the trial ended: resume ends
    it COMPLETE on that validation, without training again (it crashed Tune before: a trial that
    returned without a result)."""
    space = write_space(tmp_path, "late", search={"enqueue": [{"name": "only",
                                                               "params": {"x": 0.6}}],
                                                   "num_trials": 1})
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs"), "SCRIPTED_EPOCH_SECONDS": "1.5"}
    work = tmp_path / "runs" / "late" / "trials" / "0000"
    kill_driver_once(tmp_path, space, env, work)
    # as if the driver had recorded epochs 2 and 3 (max_epochs) before it was stopped
    log = max(work.glob("*.log.json"), key=lambda p: p.stat().st_mtime)
    with open(log, "a") as f:
        for epoch in (2, 3):
            f.write(json.dumps({"mode": "val", "epoch": epoch, "iter": 10,
                                "NDS": 0.6 * epoch}) + "\n")
    (work / "epoch_3.pth").write_bytes(b"ckpt")
    (work / "last_epoch").write_text("3")
    study = optuna.load_study(study_name="late",
                              storage=SweepDir("late", tmp_path / "runs").study_storage)
    (running,) = study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    for epoch in (2, 3):
        study._storage.set_trial_intermediate_value(running._trial_id, epoch, 0.6 * epoch)

    proc = subprocess.run([*CLI, "resume", "late"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (trial,) = study.get_trials()
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.value == pytest.approx(1.8)
    assert len((work / "starts.txt").read_text().splitlines()) == 1   # not trained again
