"""What the knob probe checks: every target of every parameter at two of its values, as
:mod:`aqr.runtime.probe` reads it."""

from __future__ import annotations

import math
from typing import Any

from sweeps.config.base import BaseConfig
from sweeps.config.keys import lookup, parse_key
from sweeps.space import CategoricalParameter, IntParameter, SweepSpace


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


def lr_mult_key(parts: tuple[str, ...]) -> str | None:
    """The custom key of ``...custom_keys.KEY.lr_mult``, or None for any other key."""
    if len(parts) >= 3 and parts[-1] == "lr_mult" and parts[-3] == "custom_keys":
        return parts[-2]
    return None


def probe_plan(space: SweepSpace, base: BaseConfig) -> dict:
    """The probe's plan: one target per config key of every parameter (its field, key, two
    values; for an lr_mult, every custom key it competes with)."""
    targets = []
    for name, param in space.parameters.items():
        values = probe_values(param)
        for i, key in enumerate(param.targets):
            parts = parse_key(key)
            target = {"parameter": name, "label": f"{name} ({key})",
                      "field": f"parameters.{name}.targets.{i}", "key": list(parts),
                      "values": values, "kind": "config", "with": _condition(space, param)}
            if (custom := lr_mult_key(parts)) is not None:
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
