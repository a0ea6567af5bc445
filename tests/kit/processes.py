"""Find what a test must not leave behind: the processes of its own trials (each carries its
trial's work dir in its environment), not those of other sweeps running on the machine."""

from __future__ import annotations

from pathlib import Path

from sweeps.backends.processes import processes_under


def trial_processes(root: Path) -> list[int]:
    """Pids of live processes that train for a work dir under ``root`` (a test's tmp path)."""
    return [p.pid for p in processes_under(root)]
