"""A one-node Slurm cluster for tests: Debian's ``slurm-wlm`` and ``munge``, run as root with a
config of its own (``proctrack/linuxproc``, ``task/none``, ``select/cons_tres``, this machine's
CPUs), started by the fixture and stopped by its pids."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DAEMONS = ("sbatch", "slurmctld", "slurmd", "munged", "scontrol", "squeue", "scancel")
MUNGE_DIRS = ("/run/munge", "/var/log/munge", "/var/lib/munge", "/etc/munge")


def missing() -> str | None:
    """Why a Slurm cluster cannot run here, or None."""
    absent = [d for d in DAEMONS if shutil.which(d) is None]
    if absent:
        return (f"Slurm is not installed ({', '.join(absent)} missing): apt-get install "
                "slurm-wlm munge (.ci/run does, as root)")
    if os.geteuid() != 0:
        return "a one-node Slurm needs root (slurmd runs jobs as their users)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _munge_running() -> bool:
    return subprocess.run("munge -n | unmunge", shell=True, capture_output=True).returncode == 0


@contextmanager
def _munge() -> Iterator[None]:
    """munged, started as the munge user unless one already runs (then left as it is)."""
    if _munge_running():
        yield
        return
    for folder in MUNGE_DIRS:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.chown(folder, "munge", "munge")
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=True)
    shutil.chown(key, "munge", "munge")
    key.chmod(0o400)
    subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True)
    deadline = time.time() + 10
    while not _munge_running() and time.time() < deadline:
        time.sleep(0.2)
    pid_file = Path("/run/munge/munged.pid")
    try:
        yield
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


@contextmanager
def one_node_slurm(folder: Path) -> Iterator[dict[str, str]]:
    """Start slurmctld and slurmd on this machine (state and logs in ``folder``); yield the
    environment that points Slurm's commands at them; stop them by their pids."""
    folder.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text(f"""ClusterName=aqrtest
SlurmctldHost={host}
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmUser=root
SlurmdUser=root
StateSaveLocation={folder / 'state'}
SlurmdSpoolDir={folder / 'spool'}
SlurmctldPidFile={folder / 'slurmctld.pid'}
SlurmdPidFile={folder / 'slurmd.pid'}
SlurmctldLogFile={folder / 'slurmctld.log'}
SlurmdLogFile={folder / 'slurmd.log'}
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
KillWait=2
NodeName={host} CPUs={os.cpu_count()} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
    for sub in ("state", "spool"):
        (folder / sub).mkdir(exist_ok=True)
    env = {**os.environ, "SLURM_CONF": str(conf)}
    with _munge():
        subprocess.run(["slurmctld", "-f", str(conf)], env=env, check=True)
        subprocess.run(["slurmd", "-f", str(conf)], env=env, check=True)
        try:
            deadline = time.time() + 60
            while time.time() < deadline and "idle" not in subprocess.run(
                    ["sinfo", "-h", "-o", "%T"], env=env, capture_output=True,
                    text=True).stdout:
                time.sleep(0.5)
            yield env
        finally:
            subprocess.run(["scancel", "--user=root"], env=env, capture_output=True)
            deadline = time.time() + 30  # a job that outlived its daemons would keep the cores
            while time.time() < deadline and _queued(env):
                time.sleep(0.5)
            for daemon in ("slurmd", "slurmctld"):
                pid_file = folder / f"{daemon}.pid"
                if pid_file.exists():
                    try:
                        os.kill(int(pid_file.read_text()), signal.SIGTERM)
                    except ProcessLookupError:
                        pass


def _queued(env: dict[str, str]) -> bool:
    """Jobs are still in the queue (or slurmctld does not answer within 10 s)."""
    try:
        return bool(subprocess.run(["squeue", "-h"], env=env, capture_output=True, text=True,
                                   timeout=10).stdout.strip())
    except subprocess.TimeoutExpired:
        return True


def job_state(job: str, env: dict[str, str]) -> str:
    """``RUNNING``, ``PENDING``, ... of a job, or '' once it left the queue."""
    return subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], env=env, capture_output=True,
                          text=True).stdout.strip()


def wait_until(check, seconds: float, step: float = 1.0) -> bool:
    """Poll ``check()`` until it is true or ``seconds`` pass; its last value."""
    deadline = time.time() + seconds
    while not (ok := check()) and time.time() < deadline:
        time.sleep(step)
    return bool(ok)
