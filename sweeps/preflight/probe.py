"""Run :mod:`aqr.runtime.probe` inside the training environment: its python, the space's
environment, the working directory the trials run in. When that python is not this one, the
runtime is shipped to it as files (``aqr/__init__.py`` and ``aqr/runtime/``, Python 3.8 code that
imports none of the sweep side) on its ``PYTHONPATH``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sweeps.backends.command import CommandBackend, fill
from sweeps.backends.runtime import ship_runtime
from sweeps.logs.output_watch import OutputWatch
from sweeps.space import SweepSpace

_PYTHON = re.compile(r"python[\d.]*")


@dataclass
class ProbeRun:
    """The probe's results (one per target), or why it did not run to the end."""

    targets: list[dict]
    failure: str | None
    tail: str
    seconds: float


def training_python(space: SweepSpace) -> str:
    """The training environment's python: ``preflight.python``, else the command's first element
    when it is one.

    Raises:
        SpaceError: neither says, at the line of ``command``.
    """
    if space.preflight.python:
        return space.preflight.python
    first = space.command[0]
    if first == "{python}":
        return sys.executable
    if _PYTHON.fullmatch(Path(first).name):
        return first
    raise space.problem("command", f"the knob probe needs the training environment's python, "
                                   f"and the command starts with {first!r}, not a python; set "
                                   "preflight.python (e.g. /envs/cmt/bin/python)")


def _runtime_path(python: str, folder: Path) -> str | None:
    """Where the probe's python imports the runtime from: None when it is this python (the
    runtime imports here as it is), else a copy of it in ``folder``."""
    if Path(python).resolve() == Path(sys.executable).resolve():
        return None
    return str(ship_runtime(folder / "runtime_pkg"))


def run_probe(space: SweepSpace, plan: dict, config: Path, folder: Path,
              backend: CommandBackend) -> ProbeRun:
    """Probe ``plan`` on the trial config ``config`` in the training environment; its output
    goes to ``folder/probe.out`` (and fails the probe where it matches a fail pattern)."""
    python = training_python(space)
    folder.mkdir(parents=True, exist_ok=True)
    plan_file, out_file, output = folder / "plan.json", folder / "result.json", folder / "probe.out"
    plan_file.write_text(json.dumps(plan, indent=2))
    out_file.unlink(missing_ok=True)
    env = {**os.environ, **backend.environment(folder, 0)}
    if (shipped := _runtime_path(python, folder)) is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [shipped, env.get("PYTHONPATH")]))
    argv = [fill(python, {"python": sys.executable}), "-m", "aqr.runtime.probe", "--config",
            str(config), "--plan", str(plan_file), "--out", str(out_file), "--work-dir",
            str(folder / "work")]
    started = time.monotonic()
    with open(output, "wb") as sink:
        try:
            code = subprocess.run(argv, cwd=backend.cwd, env=env, stdout=sink,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=space.preflight.probe_seconds).returncode
        except subprocess.TimeoutExpired:
            code = None
        except OSError as err:
            return ProbeRun([], f"the probe cannot start {python}: {err}", "", 0.0)
    seconds = time.monotonic() - started
    tail = "\n".join(output.read_text(errors="replace").splitlines()[-40:])
    if matched := OutputWatch(output, space.fail_patterns, from_start=True).match(final=True):
        return ProbeRun([], f"the probe's run of the model matched a fail pattern: {matched}",
                        tail, seconds)
    if code is None:
        return ProbeRun([], f"the probe did not finish in {space.preflight.probe_seconds:g} s "
                            "(preflight.probe_seconds)", tail, seconds)
    try:
        result = json.loads(out_file.read_text())
    except (OSError, ValueError):
        return ProbeRun([], f"the probe ended with code {code} and wrote no result", tail,
                        seconds)
    if "error" in result:
        return ProbeRun([], f"the probe could not build or run the training: {result['error']}",
                        tail, seconds)
    return ProbeRun(result["targets"], None, tail, seconds)
