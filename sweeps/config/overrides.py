"""A trial's parameters as config overrides: ``--cfg-options`` argv and the nested dicts a config
file that inherits the base config sets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sweeps.config.additions import with_additions, with_base_additions
from sweeps.config.base import BaseConfig
from sweeps.config.keys import MISSING, format_key, lookup, parse_key
from sweeps.config.schedules import hook_overrides
from sweeps.errors import ConfigWriteError, ParameterValueError
from sweeps.space import SweepSpace
from sweeps.space.schedule import TARGET_ROOT


def flat_overrides(space: SweepSpace, params: Mapping[str, Any],
                   base: BaseConfig | None = None) -> dict[str, Any]:
    """``{dotted key: value}``: the space's ``fixed`` keys (its ``custom_hooks`` and
    ``custom_imports`` merged into the ``base`` config's: :mod:`sweeps.config.additions`), then
    each parameter that applies (its ``when`` holds) on its targets, then, for a space with
    ``schedules``, the hook that drives them (:mod:`sweeps.config.schedules`: it needs the
    hooks so far).

    Raises:
        ParameterValueError: a parameter of the space has no value in ``params``.
    """
    out = dict(space.fixed) if base is None else with_base_additions(space.fixed, base.values)
    out.update({key: value for key, value in _assignments(space, params)
                if parse_key(key)[0] != TARGET_ROOT})
    if space.schedules:
        if base is None:
            raise ValueError("a space with schedules writes its hook over the base config's "
                             "hooks: give the base config")
        out.update(hook_overrides(trial_schedules(space, params), with_additions(base.values, out)))
    return out


def trial_schedules(space: SweepSpace, params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The space's schedules as a trial with ``params`` runs them (each as
    :class:`sweeps.space.schedule.ScheduleSpec` dumps it, its searched fields set)."""
    schedules = {name: s.model_dump() for name, s in space.schedules.items()}
    for key, value in _assignments(space, params):
        parts = parse_key(key)
        if parts[0] == TARGET_ROOT:
            _set(schedules, parts[1:], value)
    return schedules


def _assignments(space: SweepSpace, params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(target, value)`` of each parameter that applies (its ``when`` holds)."""
    out = []
    for name, param in space.parameters.items():
        if not space.active(name, params):
            continue  # its condition does not hold: the base config's value stays
        if name not in params:
            raise ParameterValueError(f"no value for parameter {name!r}; given: {sorted(params)}")
        out += [(key, params[name]) for key in param.targets]
    return out


def _set(node: Any, parts: tuple[str, ...], value: Any) -> None:
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def format_value(value: Any) -> str:
    """A value as mmengine's ``DictAction`` parses it back (``[1,2]``, ``(1,2)``, ``True``, ``None``)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        inner = ",".join(format_value(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return str(value)


def cfg_options(overrides: Mapping[str, Any]) -> list[str] | None:
    """``['key=value', ...]`` as ``--cfg-options`` takes them, one argv element each, or None
    when a key has a quoted part (a dot inside a key), which ``--cfg-options`` cannot reach."""
    if any(any("." in part for part in parse_key(key)) for key in overrides):
        return None
    return [f"{key}={format_value(value)}" for key, value in overrides.items()]


def nested(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b['c.d']": 1}`` -> ``{'a': {'b': {'c.d': 1}}}``."""
    root: dict[str, Any] = {}
    for key, value in overrides.items():
        node = root
        *parents, leaf = parse_key(key)
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return root


def written(overrides: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides as a config file that inherits ``base`` (its values) sets them, nested:
    ``_base_`` inheritance replaces a list whole and cannot merge a section into a value that is
    none (``None``), so a key into a list sets the base's whole list with its element replaced,
    and a section written where the base has a plain value replaces it (``_delete_``).

    Raises:
        ConfigWriteError: a key indexes past the end of the base's list.
    """
    flat: dict[tuple[str, ...], Any] = {}
    for key, value in overrides.items():
        parts = parse_key(key)
        at = next((i for i in range(1, len(parts)) if parts[i].isdigit()
                   and isinstance(lookup(base, parts[:i]), list | tuple)), None)
        if at is None:
            flat[parts] = value
            continue
        whole = flat.get(parts[:at], lookup(base, parts[:at]))
        if int(parts[at]) >= len(whole):
            raise ConfigWriteError(f"{key}: {format_key(parts[:at])} holds {len(whole)} item(s) in "
                                   f"the base config; index {parts[at]} is past its end")
        flat[parts[:at]] = _replaced(whole, parts[at:], value)
    return _replacing(nested({format_key(k): v for k, v in flat.items()}), base)


def _replaced(node: Any, parts: tuple[str, ...], value: Any) -> Any:
    """A copy of ``node`` with the value at ``parts`` replaced (lists, tuples and dicts)."""
    if not parts:
        return value
    if isinstance(node, list | tuple):
        items = list(node)
        items[int(parts[0])] = _replaced(items[int(parts[0])], parts[1:], value)
        return tuple(items) if isinstance(node, tuple) else items
    node = dict(node) if isinstance(node, Mapping) else {}
    node[parts[0]] = _replaced(node.get(parts[0]), parts[1:], value)
    return node


def _replacing(node: dict[str, Any], base: Any, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """``node`` (the sections written at ``path``), each section that the base holds as a plain
    value marked ``_delete_`` (mmengine and mmcv 1.x refuse to merge it otherwise)."""
    out: dict[str, Any] = {}
    if path and (held := lookup(base, path)) is not MISSING and not isinstance(held, Mapping):
        out["_delete_"] = True
    for key, value in node.items():
        out[key] = _replacing(value, base, (*path, str(key))) if isinstance(value, dict) \
            else value
    return out
