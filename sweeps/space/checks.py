"""What the space's validators share: the strict base model, the text and plain-data checks, the
carrier of problems found at several fields at once, and :func:`checked`, which makes any of
these checks a pydantic validator."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic import AfterValidator, BaseModel, ConfigDict

from sweeps.errors import MAX_PROBLEMS
from sweeps.space.reader import MAX_NODES

#: ``(location relative to the checked value, message)``
Found = tuple[tuple[str | int, ...], str]


class Strict(BaseModel):
    """A space's part: unknown fields, mutation and non-finite numbers are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class FieldErrors(ValueError):
    """Problems found by one validator, each at its own field: ``loc`` is relative to the value
    the validator checked (``()`` for the whole space)."""

    def __init__(self, found: list[Found]) -> None:
        self.found = found
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {message}" if loc else message
                                   for loc, message in found))


def raise_found(found: list[Found]) -> None:
    """Raise :class:`FieldErrors` if anything was found."""
    if found:
        raise FieldErrors(found)


def checked(problem: Callable[[Any], str | list[Found] | None]) -> AfterValidator:
    """A pydantic validator that refuses a value when ``problem(value)`` finds something: a
    message (for the value's own field) or a list of :data:`Found` (for fields inside it)."""
    def validate(value: Any) -> Any:
        found = problem(value)
        if isinstance(found, str):
            raise ValueError(found)
        raise_found(found or [])
        return value
    return AfterValidator(validate)


def text_problem(value: str, wanted: str, limit: int = 4096) -> str | None:
    """Why ``value`` cannot name a metric, file or label: blank, spaces around it, longer than
    ``limit``; ``wanted`` says what to give instead."""
    if len(value) > limit:
        return f"must be at most {limit} characters, but got {len(value)}; shorten it"
    if not value.strip():
        return f"must not be empty, but got {value!r}; give {wanted}"
    if value != value.strip():
        return (f"must not start or end with spaces (no log key or file has them), but got "
                f"{value!r}; remove them")
    return None


def text(wanted: str, limit: int = 4096) -> AfterValidator:
    """A validator of a name, path or label (see :func:`text_problem`)."""
    return checked(lambda value: text_problem(value, wanted, limit))


def kind(value: Any) -> str:
    """What a YAML value is, in words (``mapping``, ``list``, ...)."""
    kinds = {dict: "mapping", list: "list", set: "set", bytes: "binary string", tuple: "list"}
    return next((name for t, name in kinds.items() if isinstance(value, t)), type(value).__name__)


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


def data_problems(value: Any, loc: tuple[str | int, ...] = ()) -> list[Found]:
    """Why ``value`` cannot be written into a trial's config file: a NaN or infinite number, or
    anything but plain data (strings, numbers, booleans, null, lists, mappings)."""
    found: list[Found] = []
    stack, budget = [(value, loc)], MAX_NODES
    while stack and budget and len(found) < MAX_PROBLEMS:
        item, where = stack.pop()
        budget -= 1
        if isinstance(item, float) and not math.isfinite(item):
            found.append((where, f"must be a finite number, but got {item}; a config file "
                                 "cannot hold it: give a number"))
        elif isinstance(item, dict):
            stack.extend((v, (*where, str(k))) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(item))
        elif not is_scalar(item):
            found.append((where, f"must be plain data (strings, numbers, true/false, null, lists, "
                                 f"mappings), but got a {kind(item)}; remove its YAML tag"))
    return sorted(found, key=lambda f: [str(p) for p in f[0]])


#: a validator of values that go into a config file as they are
plain_data = checked(data_problems)
