"""The processes of training jobs, found by markers that every one of them carries in its
environment (ranks that a launcher put in sessions of their own, or that lost their parent,
included) and by descent from the job's supervisor (a process started with a cleaned
environment, ``env -i`` or ``sudo``, carries no marker), and ending them: SIGTERM, a grace,
SIGKILL.

Two markers: :data:`JOB_MARKER` names one launch of a training (a supervisor and everything it
started), :data:`WORK_DIR_MARKER` the trial's work dir, so that everything still running for a
trial, or under a sweep's trials folder, is found whichever launch started it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from collections.abc import Callable, Collection
from pathlib import Path

import psutil

#: one launch of a training: its supervisor and every process it started
JOB_MARKER = "AQR_SWEEP_JOB"
#: the work dir of the trial the process trains for
WORK_DIR_MARKER = "AQR_SWEEP_WORK_DIR"

Finder = Callable[[], list[psutil.Process]]

_PR_SET_CHILD_SUBREAPER = 36


def alive(proc: psutil.Process | int) -> bool:
    """Running, and not a zombie (an orphan's zombie may wait long for its reaper)."""
    try:
        proc = psutil.Process(proc) if isinstance(proc, int) else proc
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def marked(name: str, accept: Callable[[str], bool]) -> list[psutil.Process]:
    """Every live process (this one excepted) whose environment variable ``name`` is set to a
    value ``accept`` takes."""
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            value = proc.environ().get(name)
            if value is not None and accept(value) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def job_processes(marker: str) -> list[psutil.Process]:
    """Every live process of one launch (this one excepted)."""
    return marked(JOB_MARKER, marker.__eq__)


def descendants(root: int, skip: Collection[int] = ()) -> list[psutil.Process]:
    """Every live process under ``root`` (not itself), the pids in ``skip`` excepted; none when
    ``root`` is gone."""
    try:
        found = psutil.Process(root).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [proc for proc in found if proc.pid not in skip and alive(proc)]


def joined(*finders: Finder) -> Finder:
    """Finds every process any of ``finders`` finds, once."""
    def find() -> list[psutil.Process]:
        return list({proc.pid: proc for finder in finders for proc in finder()}.values())
    return find


def become_subreaper() -> None:
    """Have orphaned descendants re-parented to this process rather than to init (Linux), so
    that a rank its launcher detached (double fork, new session) is still found under it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: markers only
        pass


def reap_orphans(keep: Collection[int]) -> None:
    """Collect the exit status of this process's dead children (orphans re-parented to a
    subreaper), those in ``keep`` (whose status someone else waits for) excepted."""
    for proc in psutil.Process().children():
        try:
            if proc.pid not in keep and proc.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(proc.pid, os.WNOHANG)
        except (psutil.NoSuchProcess, ChildProcessError):
            continue


def processes_under(folder: Path) -> list[psutil.Process]:
    """Every live process that trains for a work dir at or under ``folder`` (a trial's work dir,
    or a sweep's trials folder)."""
    root = str(Path(folder).absolute())
    return marked(WORK_DIR_MARKER, lambda value: value == root or value.startswith(root + os.sep))


def end_processes(find: Finder, grace: float) -> None:
    """SIGTERM every process ``find`` returns, SIGKILL what is left after ``grace`` seconds, and
    look again until none remains (a dying launcher may start another)."""
    deadline = time.time() + grace
    sig = signal.SIGTERM
    for _ in range(20):
        procs = find()
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


def end_job(marker: str, grace: float) -> None:
    """End every process of one launch (see :func:`end_processes`)."""
    end_processes(lambda: job_processes(marker), grace)


def wait_gone(find: Finder, seconds: float) -> list[psutil.Process]:
    """Wait up to ``seconds`` for the processes ``find`` returns to end; those still alive."""
    deadline = time.time() + seconds
    while (left := find()) and time.time() < deadline:
        time.sleep(0.2)
    return left
