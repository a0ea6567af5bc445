"""A sweep as a cluster job sees it, through the real CLI in a subprocess: without a terminal it
logs one timestamped line per event as it happens; Ctrl-C stops the trainings, keeps the trials
as interrupted, names the resume command and exits 130."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.kit.processes import trial_processes
from tests.kit.spaces import write_space

pytestmark = [pytest.mark.slow, pytest.mark.integration]
CLI = [sys.executable, "-m", "cli"]
STAMP = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "


def test_lines_appear_as_the_sweep_goes_and_ctrl_c_stops_it(tmp_path):
    space = write_space(tmp_path, "job", env={"SCRIPTED_EPOCH_SECONDS": "1.5"}, search={
        "num_trials": 2, "enqueue": [{"name": "a", "params": {"x": 0.5}},
                                     {"name": "b", "params": {"x": 0.6}}]})
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs")}
    out = tmp_path / "job.out"
    with open(out, "w") as sink:              # as under nohup or sbatch: stdout is a file
        driver = subprocess.Popen([*CLI, "run", "--no-preflight", str(space)], cwd=tmp_path, env=env, stdout=sink,
                                  stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 120
            while "epoch 1/3" not in out.read_text() and time.time() < deadline:
                time.sleep(0.2)
            lines = out.read_text().splitlines()     # written while the sweep runs
            assert any(re.match(STAMP + r"trial 0 \(a\) started: x=0\.5000; work dir ", line)
                       for line in lines), lines
            assert any(re.match(STAMP + r"trial 0 \(a\) epoch 1/3: NDS = 0\.5000", line)
                       for line in lines), lines
            driver.send_signal(signal.SIGINT)        # Ctrl-C
            _, err = driver.communicate(timeout=60)
        finally:
            if driver.poll() is None:
                driver.kill()
    assert driver.returncode == 130, err[-2000:]
    assert "continue with `aqr-sweep resume job`" in err
    assert "Tuner.restore" not in err + out.read_text()
    assert "Configuration for experiment" not in out.read_text()   # no Ray banners
    assert trial_processes(tmp_path) == []
    status = subprocess.run([*CLI, "status", "job", "--json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True).stdout
    assert [r["state"] for r in json.loads(status)] == ["interrupted", "queued"]

    resumed = subprocess.run([*CLI, "resume", "job"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=200)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    lines = resumed.stdout.splitlines()
    assert any(re.match(STAMP + r"trial 0 \(a\) started, going on after epoch 1", line)
               for line in lines), lines
    assert any(re.match(STAMP + r"trial 1 \(b\) completed: NDS = 1\.8000", line) for line in lines)
    assert "sweep folder: " in resumed.stdout and "MLflow: sqlite:///" in resumed.stdout
    status = subprocess.run([*CLI, "status", "job", "--json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True).stdout
    assert [r["state"] for r in json.loads(status)] == ["completed", "completed"]
    runs = Path(tmp_path / "runs" / "job" / "trials" / "0000" / "starts.txt").read_text()
    assert len(runs.splitlines()) == 2 and "--resume" in runs.splitlines()[1]


def test_ui_ends_its_server_when_it_is_ended(tmp_path):
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ui = subprocess.Popen([*CLI, "ui", "--port", str(port)], cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, up = time.time() + 90, False
        while time.time() < deadline and not up:
            try:
                up = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200
            except OSError:
                time.sleep(0.5)
        assert up, "the MLflow UI never answered"
        tree = [p.pid for p in psutil.Process(ui.pid).children(recursive=True)]
        assert tree
        ui.send_signal(signal.SIGTERM)           # `kill` on aqr-sweep ui
        ui.wait(timeout=30)
        deadline = time.time() + 15
        while time.time() < deadline and any(psutil.pid_exists(p) and psutil.Process(p).status()
                                             != psutil.STATUS_ZOMBIE for p in tree):
            time.sleep(0.2)
        assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                       for p in tree)
    finally:
        if ui.poll() is None:
            ui.kill()
