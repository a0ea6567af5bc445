"""The processes of one training job, found by the marker every one of them carries in its
environment (ranks that a launcher put in sessions of their own, or that lost their parent,
included), and ending them: SIGTERM, a grace, SIGKILL."""

from __future__ import annotations

import os
import signal
import time

import psutil

#: set in a training's environment; every process it starts inherits it, so a stop finds them all
JOB_MARKER = "AQR_SWEEP_JOB"


def alive(proc: psutil.Process | int) -> bool:
    """Running, and not a zombie (an orphan's zombie may wait long for its reaper)."""
    try:
        proc = psutil.Process(proc) if isinstance(proc, int) else proc
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def job_processes(marker: str) -> list[psutil.Process]:
    """Every live process that carries a job's marker (this one excepted)."""
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            if proc.environ().get(JOB_MARKER) == marker and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def end_job(marker: str, grace: float) -> None:
    """SIGTERM every process of a job, SIGKILL what is left after ``grace`` seconds, and look
    again until none remains (a dying launcher may start another)."""
    deadline = time.time() + grace
    sig = signal.SIGTERM
    for _ in range(20):
        procs = job_processes(marker)
        if not procs:
            return
        for proc in procs:
            try:
                proc.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        until = deadline if sig == signal.SIGTERM else time.time() + 5.0
        while any(alive(p) for p in procs) and time.time() < until:
            time.sleep(0.05)
        if any(alive(p) for p in procs):
            sig = signal.SIGKILL  # the grace is over

