"""``python -m sweeps.run.reaper --marker M --grace G --watch PID``: end a training whose
supervisor was killed before it could end the training itself.

Ray ends a trial's worker by SIGKILLing the worker's direct children, the supervisor among them,
so the supervisor's own cleanup never runs and its training goes on with no one watching. Each
supervisor therefore starts a reaper in a session of its own (Ray does not reach it): when the
watched supervisor is gone, the reaper ends every process that still carries the job's marker
(SIGTERM, ``G`` seconds of grace, SIGKILL) and exits. When the supervisor ended the job itself,
there is nothing left to end.
"""

from __future__ import annotations

import argparse
import sys
import time

from sweeps.backends.processes import alive, end_job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeps.run.reaper")
    parser.add_argument("--marker", required=True, help="the job's marker")
    parser.add_argument("--grace", type=float, default=30.0)
    parser.add_argument("--watch", type=int, required=True, help="the job's supervisor")
    args = parser.parse_args(argv)
    while alive(args.watch):
        time.sleep(0.25)
    end_job(args.marker, args.grace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
