"""Run any ``train.py``-like command line as a trial: own work dir, process group and port, and a
stop that ends every process the run started, whatever its session."""

from __future__ import annotations

import ctypes
import math
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from sweeps.backends.base import Backend, RunningJob
from sweeps.backends.processes import (
    JOB_MARKER,
    WORK_DIR_MARKER,
    end_job,
    job_processes,
    processes_under,
    wait_gone,
)
from sweeps.backends.runtime import ship_runtime, uses_runtime
from sweeps.constants import COMMAND_FILE
from sweeps.errors import WorkDirBusyError
from sweeps.space import SweepSpace

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port free on this node now (for ``torch.distributed``'s rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(text: str, values: Mapping[str, object]) -> str:
    """``text`` with each ``{name}`` of ``values`` replaced."""
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", str(value))
    return text


def render_argv(template: Sequence[str], *, config: Path | str, work_dir: Path,
                resume_args: Sequence[str], resume: bool, port: int | str, num_gpus: int,
                seed: int | str = 0, python: str = sys.executable) -> list[str]:
    """Fill a command template: an element that is ``{resume}`` expands to zero or more argv
    elements (the ``resume_args``); inside a larger element (``bash -c "... {resume}"``) it
    becomes them shell-quoted and joined by spaces, or nothing. ``{python}``, ``{config}``,
    ``{work_dir}``, ``{port}``, ``{num_gpus}``, ``{seed}`` are replaced inside elements."""
    values = {"python": python, "config": config, "work_dir": work_dir, "port": port,
              "num_gpus": num_gpus, "seed": seed,
              "resume": shlex.join(resume_args) if resume else ""}
    argv: list[str] = []
    for part in template:
        if part == "{resume}":
            argv.extend(resume_args if resume else [])
        else:
            argv.append(fill(part, values))
    return argv


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


#: bytes at the end of a training's output that its tail is read from
TAIL_BYTES = 64 * 1024
#: characters a line of the tail keeps (its end)
TAIL_LINE_CHARS = 2000
#: the file in a trial's work dir that its training's output (stdout and stderr) goes to
OUTPUT_FILE = "train.out"


class CommandJob(RunningJob):
    """A command run under :mod:`sweeps.run.supervisor` in its own session, its output in
    ``<work_dir>/train.out``. The supervisor dies with the process that started it (the trial's
    Ray actor) and then ends every process of the job, so no rank outlives its trial.

    Args:
        argv: The command.
        work_dir: The trial's work dir.
        env: Its whole environment.
        cwd: Where it runs.
        grace: Seconds between SIGTERM and SIGKILL when it is stopped.
    """

    def __init__(self, argv: list[str], work_dir: Path, env: Mapping[str, str], cwd: str,
                 grace: float = 30.0) -> None:
        self.argv = argv
        self.grace = grace
        self.output = work_dir / OUTPUT_FILE
        self.started_at = time.time()
        self.marker = uuid.uuid4().hex
        # the supervisor also watches the parent of the process that starts it: in a Ray worker, the
        # node's raylet (workers outlive a driver that took its local Ray down with it)
        supervised = [sys.executable, "-m", "sweeps.run.supervisor", "--marker",
                      self.marker, "--grace", str(grace), "--watch", str(os.getppid()), "--",
                      *argv]
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(supervised, cwd=cwd, env={**env, JOB_MARKER: self.marker},
                                         stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=_die_with_parent)

    def poll(self) -> int | None:
        return self.proc.poll()

    def processes(self) -> list[psutil.Process]:
        """The job's live processes, the supervisor included (empty once it is stopped)."""
        return job_processes(self.marker)

    def stop(self) -> None:
        """Have the supervisor end the job (SIGTERM, the grace, SIGKILL); if it does not, do it
        from here."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.grace + 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        end_job(self.marker, 0.0)

    def tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the output, read from its last :data:`TAIL_BYTES`; a line
        redrawn with ``\r`` (a progress bar) as it last showed, a longer one cut to its last
        :data:`TAIL_LINE_CHARS` characters."""
        try:
            with open(self.output, "rb") as f:
                start = max(0, f.seek(0, os.SEEK_END) - TAIL_BYTES)
                f.seek(start)
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""
        if start and "\n" in text:
            text = text.split("\n", 1)[1]  # the first line read is a part of one
        shown = [line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.rstrip().split("\n")]
        return "\n".join(line if len(line) <= TAIL_LINE_CHARS else "..." + line[-TAIL_LINE_CHARS:]
                         for line in shown[-lines:])


class CommandBackend(Backend):
    """Launch a command template (see :func:`render_argv`) per trial.

    A launch into a work dir that an earlier launch still trains waits for it to end, up to its
    grace and :attr:`leftover_margin` seconds, and is then refused.

    Args:
        command: The argv template.
        resume_args: What ``{resume}`` becomes when resuming (``--resume`` for mmengine,
            ``--auto-resume`` for mmdet3d 1.0.x's ``tools/train.py``).
        cwd: Where the command runs (the driver's working dir, so relative paths work).
        env: Extra environment variables; values may hold ``{cwd}``, ``{work_dir}``, ``{port}``,
            ``{num_gpus}``, ``{seed}`` and ``{aqr_runtime}`` (see :mod:`sweeps.backends.runtime`).
        num_gpus: GPUs per trial, for ``{num_gpus}``.
        grace: Seconds a stopped training gets between SIGTERM and SIGKILL.
        runtime: The shipped runtime's folder, for ``{aqr_runtime}``.
    """

    #: seconds beyond the grace that an earlier launch's processes get to end
    leftover_margin = 15.0

    def __init__(self, command: Sequence[str], resume_args: Sequence[str], cwd: str,
                 env: Mapping[str, str] | None = None, num_gpus: int = 0,
                 grace: float = 30.0, runtime: Path | None = None) -> None:
        self.command = list(command)
        self.resume_args = list(resume_args)
        self.cwd = cwd
        self.env = dict(env or {})
        self.num_gpus = num_gpus
        self.grace = grace
        self.runtime = runtime

    @classmethod
    def for_space(cls, space: SweepSpace, cwd: str, folder: Path) -> CommandBackend:
        """The space's command line, run from ``cwd``; when its env uses ``{aqr_runtime}``, the
        training-environment runtime is shipped into ``folder/aqr_runtime`` for it."""
        runtime = ship_runtime(folder / "aqr_runtime") if uses_runtime(space.env) else None
        return cls(space.command, space.resume_args, cwd=cwd, env=space.env,
                   num_gpus=math.ceil(space.resources.gpu), grace=space.stop_grace_seconds,
                   runtime=runtime)

    def argv(self, work_dir: Path, config: Path | str, resume: bool, port: int | str,
             seed: int | str = 0) -> list[str]:
        return render_argv(self.command, config=config, work_dir=work_dir,
                           resume_args=self.resume_args, resume=resume, port=port,
                           num_gpus=self.num_gpus, seed=seed)

    def environment(self, work_dir: Path, port: int | str, seed: int | str = 0) -> dict[str, str]:
        """The space's ``env`` with its placeholders filled."""
        values = {"cwd": self.cwd, "work_dir": work_dir, "port": port, "num_gpus": self.num_gpus,
                  "aqr_runtime": self.runtime or "", "seed": seed}
        return {name: fill(value, values) for name, value in self.env.items()}

    def start(self, work_dir: Path, config: Path, resume: bool, seed: int = 0) -> CommandJob:
        """Launch the trial's training in ``work_dir`` once nothing of an earlier launch trains
        there any more (a stopped driver's trainings end within their grace).

        Raises:
            WorkDirBusyError: an earlier launch still trains in ``work_dir`` after the grace.
        """
        work_dir = work_dir.absolute()
        work_dir.mkdir(parents=True, exist_ok=True)
        left = wait_gone(lambda: processes_under(work_dir), self.grace + self.leftover_margin)
        if left:
            raise WorkDirBusyError(
                f"{work_dir} is still being trained by pid(s) {', '.join(str(p.pid) for p in left)} "
                "of an earlier launch; two trainings in one work dir would mix their checkpoints "
                "and logs. End those processes, then resume")
        port = free_port()
        env = {**os.environ, **self.environment(work_dir, port, seed), "PORT": str(port),
               "MASTER_PORT": str(port), WORK_DIR_MARKER: str(work_dir)}
        argv = self.argv(work_dir, config, resume, port, seed)
        (work_dir / COMMAND_FILE).write_text(shlex.join(argv) + "\n")
        return CommandJob(argv, work_dir, env, self.cwd, self.grace)
