"""A sweep that survives faults: resume never repeats a configuration, one driver per sweep, a
hung trial is stopped, damaged stores change nothing, a grid sweep ends cleanly, two sweeps can
create one MLflow store at once, and a run whose every trial failed says so."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from sweeps.constants import TrialState
from sweeps.errors import SpaceError, SweepBusyError
from sweeps.store.lock import DriverLock
from sweeps.store.sweep_dir import SweepDir
from tests.kit.spaces import write_space

CLI = [sys.executable, "-m", "cli"]


def cli(tmp_path: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs")}
    return subprocess.run([*CLI, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=kw.pop("timeout", 240), **kw)


def test_a_lock_of_a_dead_driver_is_stale_and_a_live_one_is_not(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    lock = tmp_path / "driver.lock"
    lock.write_text(json.dumps({"host": os.uname().nodename, "pid": int(dead), "started": 1.0,
                                "since": "yesterday"}))
    with DriverLock(tmp_path, "s"):                     # taken over: its driver is gone
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        with pytest.raises(SweepBusyError, match=f"being run by pid {os.getpid()} on "):
            DriverLock(tmp_path, "s").acquire()
    assert not lock.exists()


@pytest.mark.slow
@pytest.mark.integration
def test_resume_proposes_new_configurations(tmp_path, monkeypatch):
    from sweeps.run.driver import run_sweep
    from tests.kit.replay import ReplayBackend

    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    space = write_space(tmp_path, "again", search={"num_trials": 2, "sampler": "random"})
    run_sweep(space, backend=ReplayBackend())
    copy = SweepDir("again").space_file          # the driver died; the user raises the budget
    data = yaml.safe_load(copy.read_text())
    data["search"]["num_trials"] = 4
    copy.write_text(yaml.safe_dump(data))
    run_sweep(name="again", resume=True, backend=ReplayBackend())
    study = optuna.load_study(study_name="again", storage=SweepDir("again").study_storage)
    xs = [t.params["x"] for t in study.get_trials()]
    assert len(xs) == 4 and len(set(xs)) == 4, xs    # the same seed again would repeat 1 and 2
    data["parameters"] = {"y": data["parameters"]["x"]}   # a renamed knob would mix two sweeps
    copy.write_text(yaml.safe_dump(data))
    with pytest.raises(SpaceError, match=r"parameters: its trials ran with x, which it no "
                                         r"longer has; y is new to them; a sweep keeps"):
        run_sweep(name="again", resume=True, backend=ReplayBackend())
    assert len(study.get_trials()) == 4


@pytest.mark.slow
@pytest.mark.integration
def test_a_ctrl_c_that_a_callback_swallows_still_stops_the_sweep(tmp_path, monkeypatch):
    from sweeps.errors import SweepInterruptedError
    from sweeps.run.driver import run_sweep
    from sweeps.view.events import EventLog
    from tests.kit.replay import ReplayBackend

    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    space = write_space(tmp_path, "eaten", search={"num_trials": 4, "sampler": "random"})
    shown = EventLog.on_trial_result

    def eats_ctrl_c(self, *args, **kwargs) -> None:  # a callback (or a library) that eats it
        shown(self, *args, **kwargs)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass

    monkeypatch.setattr(EventLog, "on_trial_result", eats_ctrl_c)
    with pytest.raises(SweepInterruptedError, match="aqr-sweep resume eaten"):
        run_sweep(space, backend=ReplayBackend(seconds=0.5))
    study = optuna.load_study(study_name="eaten", storage=SweepDir("eaten").study_storage)
    # stopped at the first result: kept for a resume, nothing more launched, nothing failed
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.RUNNING]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("eaten").experiment_id])
    assert [(r.info.status, r.data.tags["aqr.state"]) for r in runs
            if r.data.tags.get("aqr.kind") != "sweep"] == [("KILLED", "interrupted")]


@pytest.mark.slow
@pytest.mark.integration
def test_a_grid_sweep_ends_cleanly(tmp_path, monkeypatch):
    from sweeps.run.driver import run_sweep
    from tests.kit.replay import ReplayBackend

    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    space = write_space(tmp_path, "grid", search={"sampler": "grid"}, parameters={
        "x": {"type": "float", "low": 0.2, "high": 0.6, "step": 0.2, "targets": ["x"]}})
    summary = run_sweep(space, backend=ReplayBackend())
    assert summary.counts() == {TrialState.COMPLETED: 3}
    assert sorted(e.params["x"] for e in summary.ran) == [0.2, 0.4, 0.6]


@pytest.mark.slow
@pytest.mark.integration
def test_a_second_driver_is_refused_while_the_first_runs(tmp_path):
    hold = tmp_path / "release"              # the first driver's training waits for this file
    space = write_space(tmp_path, "busy", env={"SCRIPTED_HOLD": str(hold)})
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs")}
    first = subprocess.Popen([*CLI, "run", "--no-preflight", str(space)], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        trial = tmp_path / "runs" / "busy" / "trials" / "0000"
        while not (trial / "starts.txt").exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert first.poll() is None, first.communicate()[1][-2000:]
        # refused at once: a refusal that waited for the first driver would wait out the timeout
        second = cli(tmp_path, "resume", "busy", timeout=120)
        assert second.returncode == 2
        assert f"sweep 'busy' is being run by pid {first.pid} on " in second.stderr
        again = cli(tmp_path, "run", "--no-preflight", str(space), timeout=120)
        assert again.returncode == 2 and "is being run by pid" in again.stderr
        assert first.poll() is None, first.communicate()[1][-2000:]
        hold.touch()
        _, err = first.communicate(timeout=200)
        assert first.returncode == 0, err[-2000:]
    finally:
        hold.touch()                         # whatever failed, no training stays held
        if first.poll() is None:
            first.kill()
    study = optuna.load_study(study_name="busy", storage=SweepDir("busy", tmp_path / "runs")
                              .study_storage)
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.COMPLETE] * 2
    assert len((trial / "starts.txt").read_text().splitlines()) == 1   # never relaunched


@pytest.mark.slow
@pytest.mark.integration
def test_a_hung_trial_is_stopped_and_a_run_whose_trials_all_failed_exits_1(tmp_path):
    space = write_space(tmp_path, "hung", progress_timeout_seconds=4, search={
        "num_trials": 1, "enqueue": [{"name": "h", "params": {"x": 0.5}}]},
        fixed={"mode": "hang"})
    started = time.time()
    proc = cli(tmp_path, "run", "--no-preflight", str(space))
    assert proc.returncode == 1 and time.time() - started < 120
    assert "every trial of this run failed (1)" in proc.stderr
    status = json.loads(cli(tmp_path, "status", "hung", "--json").stdout)
    assert [r["state"] for r in status] == ["failed"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.search_runs([client.get_experiment_by_name("hung").experiment_id],
                             filter_string="tags.`aqr.label` = 'h'")[0]
    assert "no progress for" in run.data.tags["aqr.error"]
    assert "stopped as hung" in run.data.tags["aqr.error"]


@pytest.mark.slow
def test_damaged_or_lost_studies_change_nothing(tmp_path):
    sweep = tmp_path / "runs" / "s"
    sweep.mkdir(parents=True)
    write_space(tmp_path, "s").rename(sweep / "space.yaml")
    (sweep / "sweep.json").write_text(json.dumps({
        "name": "s", "space_file": "x.yaml", "tracking_uri": "sqlite:///x.db",
        "experiment_id": "1", "parent_run_id": "p"}))
    for command in (["status", "s"], ["resume", "s"]):
        proc = cli(tmp_path, *command)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "optuna.db is missing" in proc.stderr
        assert not (sweep / "optuna.db").exists()
    space = tmp_path / "s.yaml"
    space.write_text((sweep / "space.yaml").read_text())
    proc = cli(tmp_path, "run", str(space))               # a lost study: not taken over
    assert proc.returncode == 2 and "--name" in proc.stderr and "resume s" in proc.stderr
    assert not (sweep / "optuna.db").exists() and not (sweep / "trials").exists()
    for damaged in (b"", b"this is not a database" * 100):
        (sweep / "optuna.db").write_bytes(damaged)
        for command in (["status", "s"], ["resume", "s"], ["report", "s"], ["run", str(space)]):
            proc = cli(tmp_path, *command)
            assert proc.returncode == 2 and "cannot be read" in proc.stderr, proc.stderr
            assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
            assert (sweep / "optuna.db").read_bytes() == damaged, command   # never written
    (sweep / "sweep.json").write_text("{half")
    proc = cli(tmp_path, "status", "s")
    assert proc.returncode == 2 and "sweep.json is damaged" in proc.stderr


def _create(folder: str, name: str) -> str:
    from sweeps.store.create import create_sweep

    os.environ["AQR_SWEEP_ROOT"] = str(Path(folder) / "runs")
    return create_sweep(Path(folder) / f"{name}.yaml", check_base_config=False)[2].parent_run_id


@pytest.mark.slow
def test_two_sweeps_create_one_mlflow_store_at_once(tmp_path):
    for name in ("one", "two"):
        write_space(tmp_path, name, tracking={"experiment": "shared"})
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        runs = pool.starmap(_create, [(str(tmp_path), "one"), (str(tmp_path), "two")])
    assert len(set(runs)) == 2


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_leaves_nothing_half_made(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(full)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"a small tmpfs is needed (root): {mounted.stderr.strip()}")
    try:
        space = write_space(full, "f")
        env = {**os.environ, "AQR_SWEEP_ROOT": str(full / "runs")}
        proc = subprocess.run([*CLI, "run", "--no-preflight", str(space)], cwd=full, env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert "no space left on the device" in proc.stderr
        assert not (full / "mlflow.db").exists() and not (full / "runs" / "f").exists()
    finally:
        subprocess.run(["umount", str(full)], check=False)


@pytest.mark.slow
def test_a_disk_that_fills_mid_sweep_is_one_line_naming_resume(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(full)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"a small tmpfs is needed (root): {mounted.stderr.strip()}")
    try:
        space = write_space(full, "fills", env={"SCRIPTED_EPOCH_SECONDS": "0.5"})
        (full / "config.py").write_text("x = 0.5\nmode = 'fill_disk'\nepochs = 3\n")
        env = {**os.environ, "AQR_SWEEP_ROOT": str(full / "runs")}
        proc = subprocess.run([*CLI, "run", "--no-preflight", str(space)], cwd=full, env=env,
                              capture_output=True, text=True, timeout=240)
        assert proc.returncode == 2, proc.stderr[-3000:]
        lines = proc.stderr.strip().splitlines()
        assert lines[-1].startswith("error: no space left on the device of ") and \
            "`aqr-sweep resume fills`" in lines[-1], proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr and len(lines) <= 3, proc.stderr[-3000:]
    finally:
        subprocess.run(["umount", str(full)], check=False)
