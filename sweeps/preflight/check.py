"""``aqr-sweep preflight``: the smoke run, then the knob probe; the verdict, kept in the
preflight folder (``report.txt``, ``result.json``) for the sweep and its MLflow parent run."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sweeps.backends.command import CommandBackend
from sweeps.config.base import BaseConfig, enqueued_points
from sweeps.config.writer import write_trial_config
from sweeps.preflight.plan import probe_plan
from sweeps.preflight.probe import run_probe
from sweeps.preflight.smoke import smoke
from sweeps.run.samplers import first_trial
from sweeps.space import SweepSpace


@dataclass
class PreflightResult:
    """The verdict: ``failures`` one line each (none: passed), the ``report`` a person reads,
    the ``tail`` of the output that failed."""

    failures: list[str]
    report: list[str]
    tail: str = ""
    seconds: float = 0.0
    targets: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One line: passed, or the first failure (and how many more)."""
        if self.passed:
            return f"passed in {self.seconds:.0f} s"
        more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        return f"failed: {self.failures[0]}{more}"


def _verdict_line(target: dict) -> str:
    effect = target.get("effect", "?")
    if target["kind"] in ("lr_mult", "optimizer") and effect == "live":
        examples = ", ".join(target.get("examples", []))
        what = "lr_mult reaches" if target["kind"] == "lr_mult" else "changes the optimizer of"
        return (f"  live     {target['label']}: {what} {target['matched']} parameter(s), e.g. "
                f"{examples}")
    if effect in ("live", "dead") and "loss" in target:
        a, b = target["compared"]
        la, lb = target["loss"]
        return f"  {effect:<8} {target['label']}: loss {la:.6g} at {a!r}, {lb:.6g} at {b!r}"
    return f"  {effect:<8} {target['label']}: {target.get('detail', '')}"


def _failure(target: dict, log: Path) -> str | None:
    """Why a probed target fails the preflight (one line), or None."""
    if target.get("effect") != "dead":
        return None
    key = ".".join(target["key"]) if "key" in target else target["attribute"]
    if target["kind"] == "lr_mult":
        return (f"{target['field']}: {key}: the lr_mult of custom key "
                f"{target['custom_key']!r} reaches no parameter ({target.get('detail')}); use "
                "a key the parameters' names hold and no longer key wins")
    values = " and ".join(repr(v) for v in target["values"])
    if target["kind"] == "optimizer":
        values = " and ".join(repr(v) for v in target["values"][:2])
        return (f"{target['field']}: {key} changes no parameter's optimizer settings: the "
                f"optimizer the training builds is the same at {values} (is the key one the "
                "optimizer's constructor reads?); fix the key, or drop the parameter")
    seen = "loss, gradients and predictions" if "prediction" in target.get("differences", {}) \
        else "loss and gradients"
    return (f"{target['field']}: {key} changes nothing the training computes: its {seen} are "
            f"the same at {values}. The training does not read it, or reads it on a path "
            f"that does not run (a swallowed error? see {log}); fix the key, or drop the "
            "parameter")


def run_preflight(space: SweepSpace, base: BaseConfig, folder: Path,
                  progress: Callable[[str], None] = lambda _: None) -> PreflightResult:
    """Smoke-run the first trial's command in ``folder/smoke``, then probe every knob in the
    training environment; write ``report.txt`` and ``result.json`` into ``folder``."""
    started = time.monotonic()
    check_program(space)
    folder.mkdir(parents=True, exist_ok=True)
    backend = CommandBackend.for_space(space, os.getcwd(), folder)
    label, params = first_trial(space, enqueued_points(space, base))
    plan = probe_plan(space, base)
    shutil.rmtree(folder / "probe", ignore_errors=True)  # each preflight afresh
    config = write_trial_config(space, base, params, folder / "probe")
    progress(f"preflight: smoke run of the first trial{f' ({label})' if label else ''} (up to "
             f"{space.preflight.iterations} logged training iterations or "
             f"{space.preflight.smoke_seconds:g} s) and, beside it, a probe of "
             f"{len(plan['targets'])} knob target(s) in the training environment")
    with ThreadPoolExecutor(1) as pool:  # the probe beside the smoke run: both wait on trainings
        probing = pool.submit(run_probe, space, plan, config, folder / "probe", backend)
        ran = smoke(space, base, params, folder / "smoke", backend)
        probed = probing.result()
    losses = ", ".join(f"{v:.4g}" for v in ran.losses[:5]) + (", ..." if len(ran.losses) > 5
                                                             else "")
    report = [f"smoke run: {ran.command}",
              f"  {'passed' if ran.passed else 'failed'} in {ran.seconds:.0f} s; losses logged: "
              f"{losses or 'none'}"]
    if not ran.passed:
        return _kept(folder, PreflightResult([f"smoke run: {ran.failure}"], report, ran.tail,
                                             time.monotonic() - started))
    log = folder / "probe" / "probe.out"
    report.append(f"knob probe ({probed.seconds:.0f} s; its output: {log}):")
    if probed.failure:
        return _kept(folder, PreflightResult([f"knob probe: {probed.failure}"], report,
                                             probed.tail, time.monotonic() - started))
    report += [_verdict_line(t) for t in probed.targets]
    failures = [f for t in probed.targets if (f := _failure(t, log))]
    return _kept(folder, PreflightResult(failures, report, "", time.monotonic() - started,
                                         probed.targets))


def check_program(space: SweepSpace) -> None:
    """Check that the command's program is on this machine, where the preflight runs it.

    Raises:
        SpaceError: it is not (at ``command.0``).
    """
    program = space.command[0]
    if program == "{python}":
        return
    path = space.env.get("PATH", os.environ.get("PATH", ""))
    if shutil.which(program, path=path) is None:
        where = "no such executable file" if "/" in program else "not on the PATH"
        raise space.problem("command.0", f"{program!r}: {where} on this machine, where the "
                                         "preflight runs the command; give the training "
                                         "environment's program (e.g. /envs/cmt/bin/python)")


def _kept(folder: Path, result: PreflightResult) -> PreflightResult:
    """Write the result into the preflight folder, and return it."""
    lines = [f"preflight {result.summary()}", *result.report, *result.failures]
    if result.tail:
        lines += ["", "last lines of the output:", result.tail]
    (folder / "report.txt").write_text("\n".join(lines) + "\n")
    (folder / "result.json").write_text(json.dumps(asdict(result), indent=2, default=str))
    return result


def preflight_message(result: PreflightResult, folder: Path) -> str:
    """The failed preflight as the command line says it: one line, the other failures, and the
    tail of the output that failed."""
    lines = [f"preflight {result.summary()}", *result.failures[1:]]
    if result.tail:
        lines += ["last lines of its output:", result.tail]
    lines.append(f"nothing was launched; the report: {folder / 'report.txt'}. Fix it and run "
                 "again (or skip the check with --no-preflight)")
    return "\n".join(lines)
