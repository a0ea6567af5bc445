"""What the knob probe checks: every target of every parameter at two of its values, as
:mod:`aqr.runtime.probe` reads it."""

from __future__ import annotations

import math
from typing import Any

from sweeps.config.base import BaseConfig
from sweeps.config.keys import lookup, parse_key
from sweeps.space import CategoricalParameter, IntParameter, SweepSpace
from sweeps.space.schedule import KINDS, TARGET_ROOT, ScheduleSpec


def probe_values(param: Any) -> list:
    """The values a parameter is probed at: low, high and the middle (on its scale), or its
    first three choices (one choice has nothing to compare). The first two are compared, the
    third only when they compute the same."""
    if isinstance(param, CategoricalParameter):
        return list(param.choices[:3])
    if isinstance(param, IntParameter):
        return list(dict.fromkeys([param.low, param.high, (param.low + param.high) // 2]))
    middle = math.sqrt(param.low * param.high) if param.log else (param.low + param.high) / 2
    return [param.low, param.high, middle]


#: top-level keys of the schedule, the loop and the bookkeeping: one forward and backward pass on
#: one batch cannot show their effect, so they are not probed
UNPROBED_ROOTS = frozenset({
    "lr_config", "momentum_config", "param_scheduler", "optimizer_config", "runner",
    "total_epochs", "train_cfg", "val_cfg", "test_cfg", "auto_scale_lr", "workflow",
    "checkpoint_config", "evaluation", "log_config", "default_hooks", "custom_hooks",
    "log_level", "load_from", "resume_from", "resume", "work_dir", "seed", "randomness",
    "env_cfg", "dist_params", "find_unused_parameters"})


def key_kind(parts: tuple[str, ...]) -> str:
    """How the probe judges a config key: ``optimizer`` (the optimizer the environment builds:
    its parameters' learning rates, weight decays, momenta...), ``unprobed`` (see
    :data:`UNPROBED_ROOTS`; and an optimizer wrapper's own settings, such as gradient clipping,
    which act only in a step) or ``config`` (the training is built and run)."""
    if parts[0] == "optimizer" or parts[:2] in (("optim_wrapper", "optimizer"),
                                                ("optim_wrapper", "paramwise_cfg")):
        return "optimizer"
    if parts[0] in UNPROBED_ROOTS or parts[0] == "optim_wrapper":
        return "unprobed"
    return "config"


def lr_mult_key(parts: tuple[str, ...]) -> str | None:
    """The custom key of ``...custom_keys.KEY.lr_mult``, or None for any other key."""
    if len(parts) >= 3 and parts[-1] == "lr_mult" and parts[-3] == "custom_keys":
        return parts[-2]
    return None


def probe_plan(space: SweepSpace, base: BaseConfig) -> dict:
    """The probe's plan: one target per config key of every parameter (its field, key, two
    values; for an lr_mult, every custom key it competes with)."""
    targets = [_schedule_target(name, spec, base) for name, spec in space.schedules.items()]
    for name, param in space.parameters.items():
        values = probe_values(param)
        for i, key in enumerate(param.targets):
            parts = parse_key(key)
            if parts[0] == TARGET_ROOT:
                continue  # a schedule's field: its schedule is probed (above)
            target = {"parameter": name, "label": f"{name} ({key})",
                      "field": f"parameters.{name}.targets.{i}", "key": list(parts),
                      "values": values, "kind": key_kind(parts), "with": _condition(space, param)}
            if target["kind"] == "unprobed":
                target.update(kind="skip", effect="unprobed", detail="a key of the schedule, "
                              "the loop or the optimizer's step: one forward and backward pass "
                              "cannot show its effect")
            elif (custom := lr_mult_key(parts)) is not None:
                siblings = lookup(base.values, parts[:-2])
                target.update(kind="lr_mult", custom_key=custom, custom_keys=sorted(
                    {str(k) for k in siblings} | {custom} if isinstance(siblings, dict)
                    else {custom}))
            if len(values) < 2:
                target.update(kind="skip", effect="skipped", detail="one choice: nothing to "
                                                                    "compare")
            targets.append(target)
    return {"targets": targets, "builder": space.preflight.builder,
            "seed": space.search.seed or 0}


def _condition(space: SweepSpace, param: Any) -> list[list]:
    """``[[key parts, value], ...]``: the config that makes a conditional parameter apply (the
    first allowed value of each parameter its ``when`` names)."""
    out = []
    for other, allowed in (param.when or {}).items():
        value = allowed[0] if isinstance(allowed, list) else allowed
        out += [[list(parse_key(key)), value] for key in space.parameters[other].targets]
    return out


def _schedule_target(name: str, spec: ScheduleSpec, base: BaseConfig) -> dict:
    """A schedule's probe: the attribute it drives, at the smallest and largest number its
    kinds' arguments hold (and their middle), or the lr_mult of its custom key."""
    numbers = sorted({float(v) for kind in KINDS for arg, value in spec.arguments(kind).items()
                      if arg in ("value", "start", "end", "values")
                      for v in (value if isinstance(value, list) else [value])})
    values = [numbers[0], numbers[-1], (numbers[0] + numbers[-1]) / 2] if len(numbers) > 1 \
        else numbers * 3
    target = {"parameter": name, "label": f"schedule {name} ({spec.attribute or spec.lr_mult})",
              "field": f"schedules.{name}", "values": values}
    if spec.attribute is not None:
        return {**target, "kind": "attribute", "attribute": spec.attribute}
    root = next((r for r in ("optim_wrapper", "optimizer")
                 if isinstance(lookup(base.values, (r, "paramwise_cfg", "custom_keys")), dict)),
                "optim_wrapper")
    key = [root, "paramwise_cfg", "custom_keys", spec.lr_mult, "lr_mult"]
    siblings = lookup(base.values, tuple(key[:3]))
    return {**target, "kind": "lr_mult", "key": key, "custom_key": spec.lr_mult,
            "custom_keys": sorted({str(k) for k in siblings} | {spec.lr_mult}
                                  if isinstance(siblings, dict) else {spec.lr_mult})}
