"""More than one node: a Ray cluster of this machine's processes (Ray's own cluster_utils), nodes
declaring GPUs they do not have. Two 2-GPU trials share a 4-GPU node with disjoint
CUDA_VISIBLE_DEVICES and their own ports; that node is then removed mid-trial, and both trials
move to another node, where they resume from their checkpoints in the shared sweep folder. A
cluster registered on the machine is joined only when asked (``--address auto``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import psutil
import pytest

from sweeps.store.sweep_dir import SweepDir
from tests.kit.spaces import write_space

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def node_of(pid: int, raylets: dict[int, str]) -> str | None:
    """The cluster node whose raylet a process descends from."""
    try:
        for proc in psutil.Process(pid).parents():
            if proc.pid in raylets:
                return raylets[proc.pid]
    except psutil.NoSuchProcess:
        pass
    return None


def records(trial_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(trial_dir.glob("env_*.json"))]


def test_two_gpu_trials_share_a_node_then_move_when_it_is_lost(tmp_path):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0,
                                                            "include_dashboard": False})
    node_a = cluster.add_node(num_cpus=2, num_gpus=4)
    cluster.wait_for_nodes()
    space = write_space(tmp_path, "nodes", max_epochs=6, max_failures=1,
                        env={"SCRIPTED_EPOCH_SECONDS": "1.5", "SCRIPTED_RECORD_ENV": "1"},
                        resources={"cpu": 1, "gpu": 2}, fixed={"epochs": 6},
                        search={"num_trials": 2, "concurrency": 2, "enqueue": [
                            {"name": "a", "params": {"x": 0.3}}, {"name": "b", "params": {"x": 0.6}}]})
    # the workers get their environment from the cluster, not from the driver: the space's env
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs")}
    driver = subprocess.Popen([sys.executable, "-m", "cli", "run", "--no-preflight", str(space), "--address",
                               cluster.address], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    trials = [tmp_path / "runs" / "nodes" / "trials" / f"{n:04d}" for n in (0, 1)]
    try:
        deadline = time.time() + 120
        while not all((t / "epoch_1.pth").exists() for t in trials) and time.time() < deadline:
            time.sleep(0.2)
        assert all((t / "epoch_1.pth").exists() for t in trials), "the trials never trained"
        first = [records(t)[0] for t in trials]
        raylets = {node_a.all_processes["raylet"][0].process.pid: "a"}
        assert [node_of(r["pid"], raylets) for r in first] == ["a", "a"]   # both on node a
        gpus = [set(r["CUDA_VISIBLE_DEVICES"].split(",")) for r in first]
        assert all(len(g) == 2 for g in gpus) and not gpus[0] & gpus[1]     # disjoint GPUs
        assert first[0]["PORT"] != first[1]["PORT"]

        cluster.add_node(num_cpus=2, num_gpus=4)   # the only GPUs left once a is gone
        cluster.wait_for_nodes()
        cluster.remove_node(node_a)             # the node dies mid-trial
        out, _ = driver.communicate(timeout=240)
        assert driver.returncode == 0, out[-3000:]
    finally:
        if driver.poll() is None:
            driver.kill()
        cluster.shutdown()

    study = optuna.load_study(study_name="nodes",
                              storage=SweepDir("nodes", tmp_path / "runs").study_storage)
    for trial, work in zip(study.get_trials(), trials, strict=True):
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert sorted(trial.intermediate_values) == [1, 2, 3, 4, 5, 6]
        attempts = records(work)
        assert len(attempts) == 2 and "--resume" in (work / "command.txt").read_text()
        assert attempts[1]["start_epoch"] > 1                 # resumed from its checkpoint
        assert len(attempts[1]["CUDA_VISIBLE_DEVICES"].split(",")) == 2


def test_without_an_address_the_sweep_starts_its_own_ray_not_a_registered_cluster(tmp_path):
    """A cluster that ``ray start`` (here Ray's Cluster) left registered on the machine, with GPUs:
    a sweep run without an address judges a GPU trial against the Ray it starts itself (none)."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 4,
                                                            "include_dashboard": False})
    try:
        assert ray._private.utils.read_ray_address() == cluster.address   # what ray.init() joins
        space = write_space(tmp_path, "local", resources={"cpu": 1, "gpu": 1})
        env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs")}
        env.pop("RAY_ADDRESS", None)
        proc = subprocess.run([sys.executable, "-m", "cli", "run", "--no-preflight", str(space)],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    finally:
        cluster.shutdown()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.count("\n") == 1, proc.stderr[-2000:]
    assert "resources.gpu: a trial asks for 1 GPUs but this machine's Ray has 0 (" in proc.stderr
