"""``python -m sweeps.run.reaper --marker M --grace G --watch PID``: end a training whose
supervisor was killed before it could end the training itself.

Ray ends a trial's worker by SIGKILLing the worker's direct children, the supervisor among them,
so the supervisor's own cleanup never runs and its training goes on with no one watching. Each
supervisor therefore starts a reaper in a session of its own (Ray does not reach it): when the
watched supervisor is gone, the reaper ends every process that still carries the job's marker,
or that it last saw under the supervisor (checked each second; a process without the marker,
started under ``env -i`` or ``sudo``, re-parents on the supervisor's death), SIGTERM, ``G`` seconds
of grace, SIGKILL, and exits. When the supervisor ended the job itself, there is nothing left to
end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import psutil

from sweeps.backends.processes import alive, descendants, end_processes, job_processes, joined

#: seconds between two looks at the processes under the supervisor
LOOK_EVERY = 1.0


def last_seen(pids: dict[int, float]) -> list[psutil.Process]:
    """The processes of ``pids`` (pid: start time) still alive, pids that were reused excepted."""
    found = []
    for pid, started in pids.items():
        try:
            proc = psutil.Process(pid)
            if proc.create_time() == started and alive(proc):
                found.append(proc)
        except psutil.NoSuchProcess:
            continue
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeps.run.reaper")
    parser.add_argument("--marker", required=True, help="the job's marker")
    parser.add_argument("--grace", type=float, default=30.0)
    parser.add_argument("--watch", type=int, required=True, help="the job's supervisor")
    args = parser.parse_args(argv)
    seen: dict[int, float] = {}
    looked = 0.0
    while alive(args.watch):
        if time.time() - looked >= LOOK_EVERY:
            looked = time.time()
            now = {}
            for proc in descendants(args.watch, skip={os.getpid()}):
                try:
                    now[proc.pid] = proc.create_time()
                except psutil.NoSuchProcess:
                    continue
            if alive(args.watch):  # else its orphans may have left before the look: keep the last
                seen = now
        time.sleep(0.25)
    end_processes(joined(lambda: job_processes(args.marker), lambda: last_seen(seen)), args.grace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
