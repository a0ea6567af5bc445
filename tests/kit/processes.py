"""Find what a test must not leave behind: processes of any trial (they carry the supervisor's
marker in their environment)."""

from __future__ import annotations

import psutil

from sweeps.backends.processes import JOB_MARKER


def trial_processes() -> list[int]:
    """Pids of live processes that carry a trial's marker."""
    found = []
    for proc in psutil.process_iter():
        try:
            if JOB_MARKER in proc.environ() and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found
