"""Every way a sweep stops ends every process of every trial, whatever Ray does to the trials'
supervisors: Ctrl-C, SIGTERM, a pruned last trial, a normal end (a trainer that left a rank
running) and a SIGKILLed driver. The trainers ignore SIGTERM and their epochs are longer than the
whole stop sequence, so only a stop that escalates to SIGKILL ends them in time; and a resume
right after a stop never trains beside a leftover trainer in one work dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweeps.backends.processes import alive
from tests.kit.processes import trial_processes
from tests.kit.spaces import write_space

pytestmark = [pytest.mark.slow, pytest.mark.integration]
CLI = [sys.executable, "-m", "cli"]
GRACE = 2.0


def start(tmp_path: Path, name: str, epoch_seconds: str, **fields) -> tuple[subprocess.Popen, dict]:
    space = write_space(tmp_path, name, stop_grace_seconds=GRACE, **fields)
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs"),
           "SCRIPTED_EPOCH_SECONDS": epoch_seconds, "SCRIPTED_STUBBORN": "1",
           "SCRIPTED_CHILD": "1"}
    driver = subprocess.Popen([*CLI, "run", "--no-preflight", str(space)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return driver, env


def wait_for_trainers(tmp_path: Path, count: int, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while len(list(tmp_path.glob("runs/*/trials/*/child_*"))) < count and time.time() < deadline:
        time.sleep(0.2)
    assert len(list(tmp_path.glob("runs/*/trials/*/child_*"))) >= count, "no trainer started"


def trials(name: str, tmp_path: Path, env: dict) -> list[dict]:
    status = subprocess.run([*CLI, "status", name, "--json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True)
    return json.loads(status.stdout)


TWO = {"search": {"num_trials": 2, "concurrency": 2, "enqueue": [
    {"name": "a", "params": {"x": 0.5}}, {"name": "b", "params": {"x": 0.6}}]}}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_ends_every_training_before_the_driver_exits(tmp_path, sig):
    driver, env = start(tmp_path, "sig", "60", **TWO)
    try:
        wait_for_trainers(tmp_path, 2)
        assert len(trial_processes(tmp_path)) >= 6   # per trial: supervisor, trainer, rank, reaper
        stopped = time.time()
        driver.send_signal(sig)
        _, err = driver.communicate(timeout=90)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 130, err[-2000:]
    assert trial_processes(tmp_path) == []           # at the driver's exit, not eventually
    assert time.time() - stopped < GRACE + 30
    assert "continue with `aqr-sweep resume sig`" in err
    assert [t["state"] for t in trials("sig", tmp_path, env)] == ["interrupted", "interrupted"]


def test_a_pruned_last_trial_and_a_normal_end_leave_nothing_running(tmp_path):
    # trial "good" completes (its trainer leaves a rank running); "slow" is pruned at epoch 1,
    # and its trainer would train 60 s an epoch more
    driver, env = start(tmp_path, "ends", "0.5", pruner={
        "type": "threshold", "warmup_epochs": 0, "options": {"lower": 0.55}},
        parameters={"x": {"type": "float", "low": 0.1, "high": 1.0, "targets": ["x"]},
                    "slow": {"type": "categorical", "choices": [0, 60], "targets": ["slow"],
                             "create": True}},
        search={"num_trials": 2, "concurrency": 1, "enqueue": [
            {"name": "good", "params": {"x": 0.6, "slow": 0}},
            {"name": "slow", "params": {"x": 0.5, "slow": 60}}]})
    _, err = driver.communicate(timeout=240)
    assert driver.returncode == 0, err[-2000:]
    assert trial_processes(tmp_path) == []
    assert [(t["state"], t["pruned_at_epoch"]) for t in trials("ends", tmp_path, env)] == [
        ("completed", None), ("pruned", 1)]


def test_a_killed_driver_s_trainings_end_and_resume_never_trains_twice_in_a_work_dir(tmp_path):
    driver, env = start(tmp_path, "killed", "3,60", **TWO)
    wait_for_trainers(tmp_path, 2)
    time.sleep(4)                                     # both are past epoch 1, training epoch 2
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    resumed = subprocess.run([*CLI, "resume", "killed"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=300,
                             env={**env, "SCRIPTED_EPOCH_SECONDS": "0.3"})
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    work = tmp_path / "runs" / "killed" / "trials"
    assert not list(work.glob("*/overlaps.txt")), [p.read_text() for p in work.glob("*/overlaps.txt")]
    assert [t["state"] for t in trials("killed", tmp_path, env)] == ["completed", "completed"]
    assert trial_processes(tmp_path) == []


# `aqr-sweep run` whose Ctrl-C or SIGTERM comes as soon as its Ray has started (when the driver
# first asks it something), before the sweep is created: the pids of the Ray processes it
# started go to RAY_PIDS first.
SIGNAL_AFTER_RAY_INIT = """
import json, os, signal, sys
import psutil, ray
from cli.app import main
ask = ray.cluster_resources
def signal_then_ask():
    with open(os.environ["RAY_PIDS"], "w") as f:
        json.dump([p.pid for p in psutil.Process().children(recursive=True)], f)
    os.kill(os.getpid(), int(os.environ["STOP_SIGNAL"]))
    return ask()
ray.cluster_resources = signal_then_ask
main(sys.argv[1:])
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_while_ray_starts_leaves_no_sweep_and_no_ray(tmp_path, sig):
    space = write_space(tmp_path, "early")
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs"), "STOP_SIGNAL": str(int(sig)),
           "RAY_PIDS": str(tmp_path / "ray.json")}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-c", SIGNAL_AFTER_RAY_INIT, "run", "--no-preflight",
                           str(space)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: interrupted before the sweep was created; nothing of it was written")
    assert not (tmp_path / "runs" / "early").exists()
    pids = json.loads((tmp_path / "ray.json").read_text())
    assert len(pids) >= 2                             # gcs_server, raylet, Ray's agents
    assert [p for p in pids if alive(p)] == []      # at the driver's exit, not a minute later


# `aqr-sweep run` whose SIGTERM comes while its preflight runs
SIGNAL_IN_PREFLIGHT = """
import os, signal, sys
import sweeps.run.driver as driver
from cli.app import main
def interrupted(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
driver.run_preflight = interrupted
main(sys.argv[1:])
"""


def test_a_signal_during_the_preflight_names_how_to_start_the_trials(tmp_path):
    space = write_space(tmp_path, "pre")
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs")}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-c", SIGNAL_IN_PREFLIGHT, "run", str(space)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: interrupted before the sweep's first trial; `aqr-sweep resume pre` starts its "
        "trials (without a preflight: `aqr-sweep preflight SPACE --name pre` runs one)")
    assert trials("pre", tmp_path, env) == []
