"""A trial's parameters as config overrides: ``--cfg-options`` argv and nested dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sweeps.config.keys import parse_key
from sweeps.errors import ParameterValueError
from sweeps.space import SweepSpace


def flat_overrides(space: SweepSpace, params: Mapping[str, Any]) -> dict[str, Any]:
    """``{dotted key: value}``: the space's ``fixed`` keys, then each parameter that applies (its
    ``when`` holds) on its targets.

    Raises:
        ParameterValueError: a parameter of the space has no value in ``params``.
    """
    out = dict(space.fixed)
    for name, param in space.parameters.items():
        if not space.active(name, params):
            continue  # its condition does not hold: the base config's value stays
        if name not in params:
            raise ParameterValueError(f"no value for parameter {name!r}; given: {sorted(params)}")
        for key in param.targets:
            out[key] = params[name]
    return out


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
