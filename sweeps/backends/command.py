"""Run any ``train.py``-like command line as a trial: own work dir, process group and port."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

from sweeps.backends.base import Backend, RunningJob

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port free on this node now (for ``torch.distributed``'s rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def has_checkpoint(work_dir: Path) -> bool:
    """Whether a previous attempt left a checkpoint to resume from."""
    return (work_dir / "last_checkpoint").is_file() or any(work_dir.glob("*.pth"))


def render_argv(template: Sequence[str], *, config: str, work_dir: Path, cfg_options: Sequence[str],
                resume_args: Sequence[str], resume: bool, port: int | str, num_gpus: int,
                python: str = sys.executable) -> list[str]:
    """Fill a command template. ``{cfg_options}`` and ``{resume}`` expand to zero or more argv
    elements; ``{python}``, ``{config}``, ``{work_dir}``, ``{port}``, ``{num_gpus}`` are replaced
    inside elements."""
    argv: list[str] = []
    for part in template:
        if part == "{cfg_options}":
            argv.extend(cfg_options)
        elif part == "{resume}":
            argv.extend(resume_args if resume else [])
        else:
            argv.append(part.replace("{python}", python).replace("{config}", config)
                        .replace("{work_dir}", str(work_dir)).replace("{port}", str(port))
                        .replace("{num_gpus}", str(num_gpus)))
    if argv and argv[-1] == "--cfg-options" and not cfg_options:
        argv.pop()
    return argv


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class CommandJob(RunningJob):
    """A command in its own process group, its output in ``<work_dir>/train.out``."""

    def __init__(self, argv: list[str], work_dir: Path, env: Mapping[str, str], cwd: str) -> None:
        self.argv = argv
        self.output = work_dir / "train.out"
        self.started_at = time.time()
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, preexec_fn=_die_with_parent)

    def poll(self) -> int | None:
        return self.proc.poll()

    def stop(self, grace: float = 10.0) -> None:
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        self._signal(signal.SIGKILL)  # whatever the run started and left behind
        self.proc.wait()

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def tail(self, lines: int = 30) -> str:
        try:
            with open(self.output, errors="replace") as f:
                return "".join(deque(f, maxlen=lines)).rstrip()
        except FileNotFoundError:
            return ""


class CommandBackend(Backend):
    """Launch a command template (see :func:`render_argv`) per trial.

    Args:
        command: The argv template.
        config: The base config path, for ``{config}``.
        resume_args: What ``{resume}`` becomes when resuming (``--resume`` for mmengine,
            ``--auto-resume`` for mmdet3d 1.0.x's ``tools/train.py``).
        cwd: Where the command runs (the driver's working dir, so relative paths work).
        env: Extra environment variables.
        num_gpus: GPUs per trial, for ``{num_gpus}``.
    """

    def __init__(self, command: Sequence[str], config: str, resume_args: Sequence[str],
                 cwd: str, env: Mapping[str, str] | None = None, num_gpus: int = 0) -> None:
        self.command = list(command)
        self.config = config
        self.resume_args = list(resume_args)
        self.cwd = cwd
        self.env = dict(env or {})
        self.num_gpus = num_gpus

    def argv(self, work_dir: Path, cfg_options: Sequence[str], resume: bool,
             port: int | str) -> list[str]:
        return render_argv(self.command, config=self.config, work_dir=work_dir,
                           cfg_options=cfg_options, resume_args=self.resume_args, resume=resume,
                           port=port, num_gpus=self.num_gpus)

    def start(self, work_dir: Path, cfg_options: Sequence[str], resume: bool) -> CommandJob:
        work_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = {**os.environ, **self.env, "PORT": str(port), "MASTER_PORT": str(port)}
        argv = self.argv(work_dir, cfg_options, resume, port)
        (work_dir / "command.txt").write_text(" ".join(argv) + "\n")
        return CommandJob(argv, work_dir, env, self.cwd)
