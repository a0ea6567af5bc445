"""What a space's ``fixed`` adds to the base config's ``custom_hooks`` and ``custom_imports``: the
hooks and plugin imports the training needs besides the space's own. A ``_base_`` override
replaces a list whole, so the trial config writes the merged lists: the base's hooks (one of a
type ``fixed`` also sets gives way to it) then ``fixed``'s, the base's imports then ``fixed``'s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sweeps.config.keys import lookup

HOOKS = "custom_hooks"
IMPORTS = "custom_imports"


def _items(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else []


def _section(value: Any) -> dict:
    return dict(value) if isinstance(value, Mapping) else {}


def with_base_additions(fixed: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """``fixed`` with its ``custom_hooks`` and ``custom_imports`` (or ``custom_imports.imports``)
    merged into the base config's (``base``: its values)."""
    out = dict(fixed)
    if isinstance(out.get(HOOKS), list | tuple):
        types = {h.get("type") for h in out[HOOKS] if isinstance(h, Mapping)}
        kept = [h for h in _items(lookup(base, (HOOKS,)))
                if not (isinstance(h, Mapping) and h.get("type") in types)]
        out[HOOKS] = kept + list(out[HOOKS])
    given = _section(out.pop(IMPORTS, None))
    if f"{IMPORTS}.imports" in out:
        given["imports"] = out.pop(f"{IMPORTS}.imports")
    if given:
        theirs = _section(lookup(base, (IMPORTS,)))
        names = _items(theirs.get("imports"))
        names += [name for name in _items(given.get("imports")) if name not in names]
        out[IMPORTS] = {**theirs, **given, "imports": names}
    return out


def with_additions(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The base config's values with the merged ``custom_hooks`` and ``custom_imports`` of
    ``overrides`` (:func:`with_base_additions`'s) in place."""
    return {**base, **{k: overrides[k] for k in (HOOKS, IMPORTS) if k in overrides}}
