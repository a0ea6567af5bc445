"""What is checked before anything of a sweep is written: the Ray cluster (an address where
nothing answers, or a trial bigger than this machine's Ray, is one line, not a wait for ever) and
the program the preflight would start."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sweeps.errors import RayClusterError
from sweeps.run.cluster import reach, trial_problem
from sweeps.space import load_space
from tests.kit.spaces import write_space

REPO = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(tmp_path: Path, *args: str, ray_address: str | None = None
        ) -> subprocess.CompletedProcess:
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs")}
    env.pop("RAY_ADDRESS", None)
    if ray_address:
        env["RAY_ADDRESS"] = ray_address
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)


def test_an_address_where_nothing_answers_or_no_address_at_all():
    port = closed_port()
    with pytest.raises(RayClusterError, match=rf"--address 127.0.0.1:{port}: no Ray cluster "
                                              "answers there"):
        reach(f"127.0.0.1:{port}")
    with pytest.raises(RayClusterError, match="must be HOST:PORT"):
        reach("headnode")
    reach("auto")  # Ray looks for it itself


def test_a_trial_bigger_than_the_cluster(tmp_path):
    space = load_space(write_space(tmp_path, resources={"cpu": 4, "gpu": 1}))
    field, message = trial_problem(space, {"CPU": 2.0})
    assert field == "resources.cpu" and "asks for 4 CPUs but this machine's Ray has 2" in message
    field, message = trial_problem(space, {"CPU": 8.0})
    assert field == "resources.gpu" and "has 0 (8 CPUs, 0 GPUs)" in message
    assert trial_problem(space, {"CPU": 8.0, "GPU": 1.0}) is None


def test_run_refuses_both_in_one_line_and_writes_no_sweep(tmp_path):
    space = write_space(tmp_path)
    proc = run(tmp_path, "run", str(space), "--no-preflight", "--address",
               f"127.0.0.1:{closed_port()}")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "no Ray cluster answers there" in proc.stderr
    proc = run(tmp_path, "run", str(space), "--no-preflight",
               ray_address=f"127.0.0.1:{closed_port()}")  # Ray would take it for --address
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "RAY_ADDRESS 127.0.0.1:" in proc.stderr and "unset RAY_ADDRESS" in proc.stderr
    big = write_space(tmp_path, name="big", resources={"cpu": 512})
    proc = run(tmp_path, "run", str(big), "--no-preflight")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "resources.cpu: a trial asks for 512 CPUs but this machine's Ray has" in proc.stderr
    proc = run(tmp_path, "run", str(big), "--no-preflight", ray_address="local")  # the same Ray
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "resources.cpu: a trial asks for 512 CPUs" in proc.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_program_the_preflight_cannot_start_is_named(tmp_path):
    """Not a probe's complaint about python, and no sweep whose every trial exits 127."""
    space = write_space(tmp_path, name="noprog", command=["/nonexistent/prog", "{config}",
                                                          "{work_dir}"])
    proc = run(tmp_path, "run", str(space))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert ("command.0: '/nonexistent/prog': no such executable file on this machine, where "
            "the preflight runs the command") in proc.stderr
    assert not (tmp_path / "runs" / "noprog").exists()
    proc = run(tmp_path, "preflight", str(space))
    assert proc.returncode == 2 and "command.0: '/nonexistent/prog'" in proc.stderr
