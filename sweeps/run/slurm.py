"""``aqr-sweep slurm``: one sweep across as many Slurm allocations as it needs.

The batch script follows Ray's documented Slurm pattern: the Ray head on the allocation's first
node, a Ray worker on each other node through ``srun``, the driver on the head. Ray's ports come
from a block chosen by the job id, so two sweeps on one node do not collide; Ray's temp dir is
node-local, the sweep folder and the MLflow store are on the shared filesystem (a node-local path
is refused). ``--signal=B:TERM@LEAD`` tells the batch shell LEAD seconds before the time limit; it
stops the driver (which stops the trainings within ``stop_grace_seconds`` and keeps their trials
as interrupted) and requeues the job. The requeued job finds the sweep's record and runs
``aqr-sweep resume``: finished trials are never rerun, interrupted ones go on from their
checkpoints.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sweeps.errors import BadOptionError
from sweeps.space import SweepSpace
from sweeps.store.sweep_dir import SweepDir, default_tracking_uri

#: folders that live on one node (and are often wiped): never where a sweep's state lives
NODE_LOCAL = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/scratch/local")
#: filesystems that live in one node's memory
_MEMORY_FILESYSTEMS = {"tmpfs", "ramfs", "devtmpfs"}
#: ``--time`` as Slurm takes it: minutes, M:S, H:M:S, D-H, D-H:M, D-H:M:S
_TIME = re.compile(r"\d+|\d+:\d\d|\d+:\d\d:\d\d|\d+-\d+(:\d\d){0,2}")
#: a partition or account name as sbatch takes it (several partitions: commas between)
_NAME = re.compile(r"[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*")
#: seconds the stop needs besides the trainings' grace (the driver's own end, the requeue)
STOP_ALLOWANCE = 90


@dataclass(frozen=True)
class SlurmJob:
    """What to ask Slurm for."""

    nodes: int = 1
    gpus_per_node: int = 0
    cpus_per_node: int | None = None
    time: str = "24:00:00"
    partition: str | None = None
    account: str | None = None

    def __post_init__(self) -> None:
        if self.nodes < 1:
            raise BadOptionError(f"--nodes must be >= 1, but got {self.nodes}")
        if self.gpus_per_node < 0:
            raise BadOptionError(f"--gpus-per-node must be >= 0, but got {self.gpus_per_node}")
        if self.cpus_per_node is not None and self.cpus_per_node < 1:
            raise BadOptionError(f"--cpus-per-node must be >= 1, but got {self.cpus_per_node}")
        if not _TIME.fullmatch(self.time) or any(int(f) >= 60 for f in self._clock()[1:]):
            raise BadOptionError(f"--time must be as sbatch takes it (MINUTES, H:MM:SS or "
                                 f"D-HH:MM:SS, minutes and seconds below 60), but got "
                                 f"{self.time!r}; e.g. 24:00:00")
        for option, value in (("--partition", self.partition), ("--account", self.account)):
            if value is not None and not _NAME.fullmatch(value):
                raise BadOptionError(f"{option} must be a Slurm name (letters, digits, '_', '-', "
                                     f"'.'; commas between several), but got {value!r}")

    def _clock(self) -> list[str]:
        """The time's fields after the days, as written (``H:MM:SS`` -> H, MM, SS)."""
        return self.time.split("-")[-1].split(":")

    @property
    def seconds(self) -> int:
        """The time limit in seconds, as sbatch reads ``time``."""
        days, _, clock = self.time.rpartition("-")
        fields = [int(f) for f in clock.split(":")]
        if days:  # D-HH, D-HH:MM, D-HH:MM:SS
            fields += [0] * (3 - len(fields))
            return int(days) * 86400 + fields[0] * 3600 + fields[1] * 60 + fields[2]
        if len(fields) == 3:  # HH:MM:SS
            return fields[0] * 3600 + fields[1] * 60 + fields[2]
        return fields[0] * 60 + (fields[1] if len(fields) == 2 else 0)  # MM or MM:SS


def node_local_problem(path: Path, what: str, fix: str) -> str | None:
    """Why ``path`` cannot hold ``what`` for a job whose nodes all read and write it: it is under
    a node-local folder or on an in-memory filesystem; ``fix`` says what to set instead."""
    path = path.absolute()
    local = next((root for root in NODE_LOCAL if path == Path(root) or Path(root) in path.parents),
                 None)
    if local is None and _filesystem(path) in _MEMORY_FILESYSTEMS:
        local = f"a {_filesystem(path)} mount"
    if local is None:
        return None
    return (f"{what} {path} is node-local ({local}): the other nodes, and the next allocation "
            f"after a requeue, would not see it; {fix}")


def _filesystem(path: Path) -> str:
    """The type of the filesystem ``path`` is on (``/proc/mounts``), or ''."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return ""
    best = ("", "")
    for point, kind in mounts:
        if (path == Path(point) or Path(point) in path.parents) and len(point) >= len(best[0]):
            best = (point, kind)
    return best[1]


def shared_paths_problems(space: SweepSpace, sweep: SweepDir, cwd: Path) -> list[str]:
    """What a job's nodes must share but would not: the sweep folder, the MLflow store, its
    artifacts."""
    found = [node_local_problem(sweep.path.parent, "the sweeps' folder", "set AQR_SWEEP_ROOT to a "
                                "folder on the shared filesystem, e.g. /shared/sweep_runs")]
    uri = space.tracking.uri or default_tracking_uri()
    if uri.startswith("sqlite:///"):
        found.append(node_local_problem(Path(uri.removeprefix("sqlite:///")), "the MLflow store",
                                        "set tracking.uri to a store on the shared filesystem "
                                        "(sqlite:////shared/mlflow.db) or an MLflow server"))
    artifacts = space.tracking.artifact_location or str(cwd / "mlartifacts")
    if "://" not in artifacts or artifacts.startswith("file://"):
        found.append(node_local_problem(Path(artifacts.removeprefix("file://")), "MLflow's "
                                        "artifacts", "set tracking.artifact_location to a "
                                        "folder on the shared filesystem"))
    return [p for p in found if p]


def signal_lead(space: SweepSpace) -> int:
    """Seconds before the time limit that the batch shell is told to stop: the trainings'
    grace and the driver's own end."""
    return int(space.stop_grace_seconds) + STOP_ALLOWANCE


def time_problem(job: SlurmJob, space: SweepSpace) -> str | None:
    """Why the job's time cannot run the sweep: it is not longer than the stop's lead (each
    allocation would be told to stop as it starts, and requeue itself for ever), or None."""
    lead = signal_lead(space)
    if job.seconds > lead:
        return None
    return (f"--time {job.time} ({job.seconds} s) must be longer than the stop's lead, {lead} s "
            f"before the limit (stop_grace_seconds {space.stop_grace_seconds:g} + {STOP_ALLOWANCE}"
            "): each allocation would stop as it starts; give the partition's time limit, "
            "e.g. 24:00:00")


def sbatch_script(space_file: Path, space: SweepSpace, sweep: SweepDir, job: SlurmJob,
                  cwd: Path, output: Path, preflight: bool = True) -> str:
    """The batch script of the sweep (see the module's docstring); the first job's ``run``
    preflights the sweep unless ``preflight`` is false."""
    bin_dir = Path(sys.executable).parent
    q = shlex.quote
    directives = [f"--job-name=aqr-sweep-{sweep.name}", f"--nodes={job.nodes}",
                  "--ntasks-per-node=1", f"--time={job.time}",
                  f"--signal=B:TERM@{signal_lead(space)}", "--requeue", "--open-mode=append",
                  f"--output={output}"]
    if job.gpus_per_node:
        directives.append(f"--gpus-per-node={job.gpus_per_node}")
    directives.append(f"--cpus-per-task={job.cpus_per_node}" if job.cpus_per_node
                      else "--exclusive")
    directives += [f"--partition={job.partition}"] if job.partition else []
    directives += [f"--account={job.account}"] if job.account else []
    cpus = str(job.cpus_per_node) if job.cpus_per_node else "$SLURM_CPUS_ON_NODE"
    return f"""#!/bin/bash
# Sweep {sweep.name}: a Ray cluster on this allocation runs it. Near the time limit the driver
# stops the trainings (their trials are kept as interrupted) and the job requeues itself; the
# requeued job resumes the sweep. Written by `aqr-sweep slurm {space_file}`.
{chr(10).join(f"#SBATCH {d}" for d in directives)}

set -uo pipefail
cd {q(str(cwd))}
export AQR_SWEEP_ROOT={q(str(sweep.path.parent))}
bin={q(str(bin_dir))}
stamp() {{ date '+%Y-%m-%d %H:%M:%S'; }}
echo "$(stamp) job $SLURM_JOB_ID (restart ${{SLURM_RESTART_COUNT:-0}}) on $SLURM_JOB_NODELIST"

# Ray's token authentication: the token in ~/.ray/auth_token (a shared home), made if missing
export RAY_AUTH_MODE=token
"$bin/ray" get-auth-token --generate > /dev/null

# Ray's ports: a block of 100 chosen by the job id, so two sweeps on one node do not collide;
# Ray's temp dir on each node's own disk
base=$(( 20000 + (SLURM_JOB_ID % 400) * 100 ))
ray_tmp="${{SLURM_TMPDIR:-${{TMPDIR:-/tmp}}}}/aqr-ray-$SLURM_JOB_ID"
ports=(--node-manager-port=$((base + 1)) --object-manager-port=$((base + 2))
       --dashboard-agent-listen-port=$((base + 3)) --dashboard-agent-grpc-port=$((base + 4))
       --metrics-export-port=$((base + 5)) --runtime-env-agent-port=$((base + 6))
       --min-worker-port=$((base + 10)) --max-worker-port=$((base + 99))
       --include-dashboard=false)
resources=(--num-cpus={cpus} --num-gpus={job.gpus_per_node} --temp-dir="$ray_tmp")
nodes=($(scontrol show hostnames "$SLURM_JOB_NODELIST"))
head=${{nodes[0]}}
head_ip=$(srun --nodes=1 --ntasks=1 -w "$head" hostname --ip-address | awk '{{print $1}}')
address="$head_ip:$base"
srun --nodes=1 --ntasks=1 -w "$head" "$bin/ray" start --head --block \\
    --node-ip-address="$head_ip" --port="$base" "${{ports[@]}}" "${{resources[@]}}" &
for node in "${{nodes[@]:1}}"; do
    sleep 5
    srun --nodes=1 --ntasks=1 -w "$node" "$bin/ray" start --block --address="$address" \\
        "${{ports[@]}}" "${{resources[@]}}" &
done
for _ in $(seq 120); do
    up=$("$bin/python" -c "import ray; ray.init(address='$address', logging_level='ERROR'); \\
print(sum(n['Alive'] for n in ray.nodes()))" 2>/dev/null | tail -n 1)
    [ "${{up:-0}}" -ge {job.nodes} ] && break
    sleep 5
done
echo "$(stamp) Ray: ${{up:-0}} of {job.nodes} node(s) at $address"

if [ -f "$AQR_SWEEP_ROOT/{sweep.name}/sweep.json" ]; then
    sweep=(resume {q(sweep.name)})
else
    sweep=(run {q(str(space_file))} --name {q(sweep.name)}{"" if preflight else " --no-preflight"})
fi
"$bin/aqr-sweep" "${{sweep[@]}}" --address "$address" &
driver=$!
on_time_limit() {{
    echo "$(stamp) the job's time is ending: stopping the sweep; the requeued job resumes it"
    kill -TERM "$driver"
    wait "$driver"
    scontrol requeue "$SLURM_JOB_ID"
    exit 0
}}
trap on_time_limit TERM
wait "$driver"
"""


def submit(script: Path) -> str:
    """``sbatch`` the script; its job id.

    Raises:
        BadOptionError: sbatch is missing or refuses the script (its message included).
    """
    try:
        done = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True,
                              text=True, timeout=60)
    except FileNotFoundError:
        raise BadOptionError("sbatch not found: submit from a Slurm login node, or drop "
                             f"--submit and run `sbatch {script}` there") from None
    if done.returncode != 0:
        message = " ".join(done.stderr.split()) or f"exit code {done.returncode}"
        raise BadOptionError(f"sbatch refused {script}: {message}")
    return done.stdout.strip().split(";")[0]
