"""A knob that follows a schedule through training (the ``schedules`` section of a space): what it
drives (a model attribute by its dotted path, or the ``lr_mult`` of an optimizer's custom key),
its kind and each kind's arguments. Parameters search them through targets
``schedules.NAME.FIELD`` (``kind``, ``cosine.start``, ``staged.values.1``, ...); the trial config
gets them as :mod:`aqr.runtime.hook`'s ``AQRScheduleHook``."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import model_validator

from sweeps.space.checks import Strict

#: a schedule's kinds and the arguments each takes (``staged``: one boundary fewer than values)
KINDS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "cosine": ("start", "end", "warmup_epochs", "total_epochs"),
    "staged": ("values", "boundaries"),
}
#: where a space's parameters reach a schedule: ``schedules.NAME.FIELD``
TARGET_ROOT = "schedules"


class ScheduleSpec(Strict):
    """One scheduled knob. ``kind`` is the one used unless a parameter searches it; each kind's
    arguments are given in full where that kind can be used."""

    attribute: str | None = None
    lr_mult: str | None = None
    kind: Literal["constant", "cosine", "staged"] = "constant"
    by: Literal["epoch", "iter"] = "epoch"
    constant: dict[str, float] = {}
    cosine: dict[str, float] = {}
    staged: dict[str, list[float]] = {}

    @model_validator(mode="after")
    def _check(self) -> ScheduleSpec:
        if (self.attribute is None) == (self.lr_mult is None):
            raise ValueError("give exactly one of attribute (a dotted path in the model, e.g. "
                             "pts_bbox_head.feature_modulator.residual_weight) and lr_mult (a "
                             "custom key of the optimizer's paramwise_cfg)")
        for kind, names in KINDS.items():
            given = getattr(self, kind)
            unknown = sorted(set(given) - set(names))
            if unknown:
                raise ValueError(f"{kind}: unknown arguments {unknown}; a {kind} schedule takes "
                                 f"{', '.join(names)}")
        problem = arguments_problem(self.kind, self.arguments(self.kind))
        if problem:
            raise ValueError(f"{self.kind} (the kind used unless searched): {problem}")
        return self

    def arguments(self, kind: str) -> dict[str, Any]:
        return dict(getattr(self, kind))


def arguments_problem(kind: str, args: dict[str, Any]) -> str | None:
    """Why ``args`` cannot make a ``kind`` schedule, or None."""
    missing = [n for n in KINDS[kind] if n not in args]
    if missing:
        return f"needs {', '.join(missing)}"
    numbers = [v for v in args.values() for v in (v if isinstance(v, list) else [v])]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
               for v in numbers):
        return f"takes finite numbers, but got {args}"
    if kind == "cosine" and not 0 <= args["warmup_epochs"] < args["total_epochs"]:
        return (f"needs 0 <= warmup_epochs < total_epochs, but got warmup_epochs="
                f"{args['warmup_epochs']}, total_epochs={args['total_epochs']}")
    if kind == "staged":
        values, bounds = args["values"], args["boundaries"]
        if len(values) != len(bounds) + 1:
            return (f"needs one boundary fewer than values, but got {len(values)} values and "
                    f"{len(bounds)} boundaries")
        if any(b <= a for a, b in zip([0, *bounds], bounds, strict=False)):
            return f"needs boundaries above 0 and increasing, but got {bounds}"
    return None


def schedule_target(parts: tuple[str, ...], schedules: dict[str, ScheduleSpec]) -> str | None:
    """Why ``schedules.NAME.FIELD[.I]`` does not name a field of a schedule, or None."""
    if len(parts) < 3:
        return "a schedule target is schedules.NAME.FIELD, e.g. schedules.residual.cosine.start"
    name, field = parts[1], parts[2:]
    if name not in schedules:
        return f"no schedule named {name!r}; schedules: {sorted(schedules) or 'none'}"
    if field == ("kind",):
        return None
    kind, *rest = field
    if kind not in KINDS or not rest or rest[0] not in KINDS[kind]:
        fields = ["kind", *(f"{k}.{a}" for k, names in KINDS.items() for a in names)]
        return f"{'.'.join(field)} is not a field of a schedule; fields: {', '.join(fields)}"
    listed = rest[0] in ("values", "boundaries")
    if listed != (len(rest) == 2) or (listed and not rest[1].isdigit()):
        return (f"staged.{rest[0]} is a list: target one number of it, e.g. "
                f"schedules.{name}.staged.{rest[0]}.0" if listed
                else f"{'.'.join(field)} is one number")
    if listed and int(rest[1]) >= len(schedules[name].staged.get(rest[0], [])):
        return (f"staged.{rest[0]} of schedule {name!r} has "
                f"{len(schedules[name].staged.get(rest[0], []))} numbers; give them all in the "
                "schedules section")
    return None


def schedule_value(parts: tuple[str, ...], schedules: dict[str, ScheduleSpec]) -> Any:
    """The value the space's ``schedules`` section gives target ``schedules.NAME.FIELD[.I]``
    (a valid one: see :func:`schedule_target`); None where it gives none."""
    spec, field = schedules[parts[1]], parts[2:]
    if field == ("kind",):
        return spec.kind
    value = spec.arguments(field[0]).get(field[1])
    return value[int(field[2])] if len(field) > 2 and value is not None else value


def describe(kind: str, args: dict[str, Any]) -> str:
    """A schedule in a few words: ``cosine 0.7->0.4 (warm-up 1.5 of 6)``."""
    if kind == "constant":
        return f"constant {args['value']:g}"
    if kind == "cosine":
        return (f"cosine {args['start']:g}->{args['end']:g} (warm-up {args['warmup_epochs']:g} "
                f"of {args['total_epochs']:g})")
    return ("staged " + "->".join(f"{v:g}" for v in args["values"]) + " at "
            + ",".join(f"{b:g}" for b in args["boundaries"]))


def logged_names(spec: ScheduleSpec) -> tuple[str, ...]:
    """The names the schedule hook logs a schedule's value under: ``aqr/lr_mult/KEY``, or
    ``aqr/<attribute name>`` (``aqr/<the path, / for .>`` where two watched paths end alike)."""
    if spec.lr_mult is not None:
        return (f"aqr/lr_mult/{spec.lr_mult}",)
    return (f"aqr/{spec.attribute.rsplit('.', 1)[-1]}", "aqr/" + spec.attribute.replace(".", "/"))
