"""A space's schedules as the trial config's ``AQRScheduleHook``: the base config's own hooks
kept, its ``AQRScheduleHook`` (if it has one) given the schedules, and ``aqr.runtime.hook`` among
its ``custom_imports``. ``custom_hooks`` is a list, which a ``_base_`` override replaces whole: so
the whole list is written."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sweeps.config.keys import MISSING, lookup

HOOK = "AQRScheduleHook"
HOOK_MODULE = "aqr.runtime.hook"


def _custom_keys(base: Mapping[str, Any]) -> list[str]:
    """The keys of the optimizer's ``paramwise_cfg.custom_keys`` (mmengine's ``optim_wrapper``
    or mmcv 1.x's ``optimizer``), which an lr_mult schedule's key competes with."""
    for root in ("optim_wrapper", "optimizer"):
        keys = lookup(base, (root, "paramwise_cfg", "custom_keys"))
        if isinstance(keys, Mapping):
            return sorted(str(k) for k in keys)
    return []


def hook_overrides(schedules: Mapping[str, Mapping[str, Any]],
                   base: Mapping[str, Any]) -> dict[str, Any]:
    """``custom_hooks`` and ``custom_imports`` that drive ``schedules`` (each as
    :class:`sweeps.space.schedule.ScheduleSpec` dumps it, its searched fields set)."""
    attributes, lr_mult = {}, {}
    for spec in schedules.values():
        schedule = {"type": spec["kind"], **spec[spec["kind"]]}
        if spec["attribute"] is not None:
            attributes[spec["attribute"]] = schedule
        else:
            lr_mult[spec["lr_mult"]] = schedule
    hooks = copy.deepcopy(list(base.get("custom_hooks") or []))
    ours = next((h for h in hooks if isinstance(h, Mapping) and h.get("type") == HOOK), None)
    if ours is None:
        ours = {"type": HOOK}
        hooks.append(ours)
    ours["attributes"] = {**ours.get("attributes", {}), **attributes}
    ours["lr_mult"] = {**ours.get("lr_mult", {}), **lr_mult}
    ours["by_epoch"] = all(spec["by"] == "epoch" for spec in schedules.values())
    if ours["lr_mult"]:
        ours["custom_keys"] = _custom_keys(base)
    imports = lookup(base, ("custom_imports",))
    imports = dict(imports) if isinstance(imports, Mapping) and imports is not MISSING else {}
    names = list(imports.get("imports", []))
    imports.update(imports=names + [HOOK_MODULE] * (HOOK_MODULE not in names),
                   allow_failed_imports=imports.get("allow_failed_imports", False))
    return {"custom_hooks": hooks, "custom_imports": imports}
