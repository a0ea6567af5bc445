"""``python -m sweeps.run.supervisor --marker M --grace G [--watch PID] -- COMMAND...``: run
a training command and make sure that none of its processes outlives it.

The supervisor runs the command with ``AQR_SWEEP_JOB=M`` in its environment (every process it
starts inherits it, whatever session a launcher puts it in) and as a subreaper (a process the
command detached stays under the supervisor, found even without the marker: ``env -i``,
``sudo``). When the supervisor is told to stop (SIGTERM, SIGINT, SIGHUP; its parent's death sends
SIGTERM), or when the watched process dies (the Ray node's raylet: a driver that dies with its
local Ray leaves its workers orphaned but alive), it ends every process that carries the marker or
descends from it: SIGTERM, ``G`` seconds of grace, SIGKILL; an orphaned parent (the trial's Ray
worker) goes too. When the command exits by itself, whatever it left running is ended the same
way. Its exit code is the command's (128 + N for signal N). When the supervisor itself is
SIGKILLed (as Ray ends a worker's children), its :mod:`sweeps.run.reaper` ends the job.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

import psutil

from sweeps.backends.processes import (
    JOB_MARKER,
    alive,
    become_subreaper,
    descendants,
    end_processes,
    job_processes,
    joined,
    reap_orphans,
)

#: exit code when the watched process died
LIFELINE_LOST = 75


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeps.run.supervisor")
    parser.add_argument("--marker", required=True)
    parser.add_argument("--grace", type=float, default=30.0)
    parser.add_argument("--watch", type=int, help="end the job when this process dies")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")

    become_subreaper()
    reaper = subprocess.Popen([sys.executable, "-m", "sweeps.run.reaper", "--marker", args.marker,
                               "--grace", str(args.grace), "--watch", str(os.getpid())],
                              env={k: v for k, v in os.environ.items() if k != JOB_MARKER},
                              stdin=subprocess.DEVNULL, start_new_session=True)
    job = joined(lambda: job_processes(args.marker),
                 lambda: descendants(os.getpid(), skip={reaper.pid}))

    def stop(signum: int, frame: object) -> None:
        end_processes(job, args.grace)
        os._exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        child = subprocess.Popen(command, env={**os.environ, JOB_MARKER: args.marker})
    except OSError as err:
        print(f"aqr-sweep: cannot start {command[0]}: {err}", flush=True)
        return 127
    while True:
        try:
            code = child.wait(timeout=1.0)
            break
        except subprocess.TimeoutExpired:
            reap_orphans(keep={child.pid, reaper.pid})
            if args.watch is not None and not alive(args.watch):
                print(f"aqr-sweep: process {args.watch} (the trial's Ray node) is gone: ending "
                      "the training", flush=True)
                end_processes(job, args.grace)
                parent = psutil.Process(os.getppid())
                if parent.ppid() != args.watch:  # the trial's Ray worker, orphaned
                    parent.kill()
                return LIFELINE_LOST
    end_processes(job, min(args.grace, 5.0))  # what the command left behind
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main())
