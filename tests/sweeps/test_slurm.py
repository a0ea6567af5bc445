"""One sweep across Slurm allocations, with a real one-node Slurm (``tests.kit.slurm``): the
script ``aqr-sweep slurm`` writes starts a Ray head and workers through ``srun`` and runs the
driver; a job told its time is ending (as ``--signal=B:TERM`` would) stops its trainings,
requeues itself, and the next allocation resumes the sweep: no completed trial rerun, the
interrupted one resumed from its checkpoint, one MLflow run per trial, and no training running
between the two jobs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.kit import slurm
from tests.kit.processes import trial_processes
from tests.kit.spaces import write_space

pytestmark = [pytest.mark.slow, pytest.mark.integration]
CLI = [sys.executable, "-m", "cli"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if (why := slurm.missing()) is not None:
        pytest.skip(why)
    with slurm.one_node_slurm(tmp_path_factory.mktemp("slurm")) as env:
        yield env


@pytest.fixture()
def shared():
    """A folder on the machine's disk, not /tmp (a sweep's folder must not be node-local)."""
    folder = Path.home() / ".cache" / "aqr-sweep-slurm-tests" / uuid.uuid4().hex[:8]
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def submit(folder: Path, cluster_env: dict, name: str, **fields) -> tuple[str, dict]:
    space = write_space(folder, name, stop_grace_seconds=3, **fields)
    env = {**cluster_env, "AQR_SWEEP_ROOT": str(folder / "runs")}
    done = subprocess.run([*CLI, "slurm", str(space), "--cpus-per-node", str(os.cpu_count()),
                           "--time", "20", "--no-preflight", "--submit"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return re.search(r"submitted job (\d+)", done.stdout).group(1), env


def status(folder: Path, env: dict, name: str) -> list[dict]:
    done = subprocess.run([*CLI, "status", name, "--json"], cwd=folder, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def job_output(folder: Path, name: str, job: str) -> str:
    return (folder / "runs" / "slurm" / f"{name}-{job}.out").read_text()


def test_a_small_sweep_submitted_with_slurm_submit_completes(cluster, shared):
    job, env = submit(shared, cluster, "small", env={"SCRIPTED_EPOCH_SECONDS": "0.3"},
                      search={"num_trials": 2, "concurrency": 1, "sampler": "random"})
    assert slurm.wait_until(lambda: slurm.job_state(job, env) == "", 300, 2), \
        job_output(shared, "small", job)[-3000:]
    assert [t["state"] for t in status(shared, env, "small")] == ["completed", "completed"]
    out = job_output(shared, "small", job)
    assert "Ray: 1 of 1 node(s)" in out and "trial 1 completed" in out


def test_a_job_at_its_time_limit_is_requeued_and_the_next_one_resumes_the_sweep(cluster, shared):
    job, env = submit(shared, cluster, "limited", env={"SCRIPTED_EPOCH_SECONDS": "3"},
                      search={"num_trials": 3, "concurrency": 1, "enqueue": [
                          {"name": "a", "params": {"x": 0.3}}, {"name": "b", "params": {"x": 0.6}},
                          {"name": "c", "params": {"x": 0.9}}]})
    trials = shared / "runs" / "limited" / "trials"
    assert slurm.wait_until(lambda: (trials / "0001" / "epoch_1.pth").exists(), 300), \
        job_output(shared, "limited", job)[-3000:]
    # what --signal=B:TERM@LEAD does LEAD seconds before the time limit
    subprocess.run(["scancel", "--signal=TERM", "--batch", job], env=env, check=True)
    assert slurm.wait_until(lambda: slurm.job_state(job, env) == "PENDING", 120), \
        job_output(shared, "limited", job)[-3000:]
    assert trial_processes(shared) == []            # nothing trains between the two jobs
    assert [t["state"] for t in status(shared, env, "limited")][:2] == ["completed",
                                                                        "interrupted"]
    subprocess.run(["scontrol", "update", f"jobid={job}", "StartTime=now"], env=env, check=True)
    assert slurm.wait_until(lambda: slurm.job_state(job, env) == "", 300, 2), \
        job_output(shared, "limited", job)[-3000:]

    assert [t["state"] for t in status(shared, env, "limited")] == ["completed"] * 3
    starts = {t.name: (t / "starts.txt").read_text().splitlines() for t in trials.iterdir()}
    assert starts["0000"] == [""]                     # completed: never rerun
    assert starts["0001"] == ["", "--resume"]         # interrupted: resumed from its checkpoint
    assert starts["0002"] == [""]
    assert not list(trials.glob("*/overlaps.txt"))
    client = MlflowClient(f"sqlite:///{shared / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("limited").experiment_id],
                              filter_string="tags.`aqr.sweep` = 'limited'")
    numbers = sorted(r.data.tags["aqr.trial_number"] for r in runs
                     if "aqr.trial_number" in r.data.tags)
    assert numbers == ["0", "1", "2"]                 # one MLflow run per trial
    out = job_output(shared, "limited", job)
    assert "the job's time is ending: stopping the sweep" in out
    # epoch 1 heard before the stop, or (on a loaded machine) only read back on resume
    assert "trial 1 (b) started, going on " in out
