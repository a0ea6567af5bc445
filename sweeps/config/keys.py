"""Config keys as a space names them: dotted paths whose parts may be quoted when they hold a dot
(``optimizer.paramwise_cfg.custom_keys['attention_bias_generator.bias_scale'].lr_mult``), and
looking them up in a loaded config."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_]\w*|\d+")
_QUOTED = re.compile(r"\[(['\"])(.+?)\1\]")
MISSING = object()


def parse_key(key: str) -> tuple[str, ...]:
    """``"a.b['c.d'].e"`` -> ``('a', 'b', 'c.d', 'e')``.

    Raises:
        ValueError: the key does not follow that grammar, saying where.
    """
    parts: list[str] = []
    pos = 0
    while True:
        quoted = _QUOTED.match(key, pos) if parts else None
        if quoted:
            parts.append(quoted.group(2))
            pos = quoted.end()
        else:
            if parts:
                if not key.startswith(".", pos):
                    break
                pos += 1
            plain = _PLAIN.match(key, pos)
            if plain is None or (not parts and plain.group().isdigit()):
                break
            parts.append(plain.group())
            pos = plain.end()
        if pos == len(key):
            return tuple(parts)
    raise ValueError(f"{key!r} is not a config key like model.pts_bbox_head.x.y or "
                     f"custom_keys['a.b'].lr_mult (stopped at character {pos + 1})")


def format_key(parts: tuple[str, ...]) -> str:
    """The inverse of :func:`parse_key`: parts with a dot or other characters are quoted."""
    out = ""
    for part in parts:
        if _PLAIN.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def lookup(config: Any, parts: tuple[str, ...]) -> Any:
    """The value at ``parts``, or :data:`MISSING` (integer parts index lists)."""
    node = config
    for part in parts:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list | tuple) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def leaf_keys(node: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The keys of a config's values that hold no section, depth first."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from leaf_keys(value, (*prefix, str(key)))
    else:
        yield prefix


def nearest_keys(config: Mapping, parts: tuple[str, ...], count: int = 3) -> list[str]:
    """The config's keys closest to ``parts`` (for a "did you mean")."""
    keys = [format_key(k) for k in leaf_keys(config) if k]
    wanted = format_key(parts)
    close = difflib.get_close_matches(wanted, keys, n=count, cutoff=0.6)
    if close:
        return close
    for depth in range(len(parts) - 1, 0, -1):  # siblings under the deepest part that exists
        node = lookup(config, parts[:depth])
        if isinstance(node, Mapping):
            return [format_key((*parts[:depth], str(k))) for k in list(node)[:count * 2]]
    return []
