"""pydantic's validation errors as a space's problems: each at its field's line, in words that
say what must hold, what was given and how to fix it."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from yaml.nodes import Node

from sweeps.errors import Problem
from sweeps.space.checks import FieldErrors, is_scalar, kind
from sweeps.space.reader import line_of

_FIXES = {
    "finite_number": "; give a finite number (.inf and .nan cannot be tuned or written into a "
                     "config)",
}


def problems_of(file: str, root: Node | None, error: dict, model: type[BaseModel]
                ) -> list[Problem]:
    """The problems of one pydantic error of ``model`` (a validator may report several
    fields)."""
    loc: list[str] = [str(p) for p in error["loc"]]
    if len(loc) > 2 and loc[0] == "parameters" and loc[2] in ("float", "int", "categorical"):
        del loc[2]  # the discriminated union's tag
    if loc[-1:] and loc[-1].startswith("function-after["):
        del loc[-1]  # an Annotated validator's own step
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldErrors):
        return [Problem(file, line_of(root, [*loc, *map(str, rel)]),
                        ".".join([*loc, *map(str, rel)]) or "space", message)
                for rel, message in cause.found]
    message = error["msg"].removeprefix("Value error, ")
    # cross-field errors name their own field first ("parameters.x.targets: ...")
    match = re.match(r"^([\w.]+): (.*)$", message)
    if not loc and match:
        loc, message = match.group(1).split("."), match.group(2)
    if error["type"] == "extra_forbidden":
        message = f"unknown field; remove it or check its spelling ({_known_fields(loc, model)})"
    elif error["type"] == "union_tag_not_found":
        message = "needs a type; give type: float, int or categorical"
    elif error["type"] == "missing":
        message = "required field is missing"
    elif error["type"] not in ("value_error", "assertion_error") and "input" in error:
        message += f", but got {_given(error['input'])}{_FIXES.get(error['type'], '')}"
    return [Problem(file, line_of(root, loc), ".".join(loc) or "space", message)]


def _given(value: Any) -> str:
    if is_scalar(value):
        shown = repr(value)
        return shown if len(shown) <= 80 else shown[:80] + "..."
    return f"a {kind(value)}"


def _known_fields(loc: list[str], model: Any) -> str:
    if loc and loc[0] == "parameters":
        return "known: type, low, high, log, step, choices, targets, create, when"
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return "see the README's space reference"
        model = field.annotation
    names = sorted(getattr(model, "model_fields", {}))
    return "known: " + ", ".join(names) if names else "see the README's space reference"
