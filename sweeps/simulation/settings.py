"""Pruner settings to replay a sweep under, written ``TYPE[:KEY=VALUE,...]`` on the command line
(``median:warmup_epochs=2``, ``asha:reduction_factor=2``, ``none``)."""

from __future__ import annotations

import yaml
from pydantic import ValidationError

from sweeps.errors import BadOptionError
from sweeps.space import PrunerSpec

#: what ``simulate`` compares when no ``--pruner`` is given (besides the space's own)
DEFAULT_SETTINGS = ("none", "median:warmup_epochs=2", "percentile:percentile=50", "asha",
                    "hyperband")
_SPEC_FIELDS = ("warmup_epochs", "startup_trials")


def parse_pruner(text: str) -> PrunerSpec:
    """``TYPE[:KEY=VALUE,...]`` as a pruner spec; keys other than warmup_epochs and
    startup_trials are the pruner's own options.

    Raises:
        BadOptionError: naming the setting and what is wrong with it.
    """
    kind, _, rest = text.partition(":")
    fields: dict = {"type": kind.strip()}
    options: dict = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise BadOptionError(f"--pruner {text!r}: {item!r} is not KEY=VALUE (e.g. "
                                 "median:warmup_epochs=2)")
        parsed = yaml.safe_load(value)
        (fields if key.strip() in _SPEC_FIELDS else options)[key.strip()] = parsed
    try:
        return PrunerSpec(**fields, options=options)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise BadOptionError(f"--pruner {text!r}: {where}: {first['msg']}") from None


def describe(spec: PrunerSpec) -> str:
    """The setting as ``parse_pruner`` reads it back."""
    parts = [f"warmup_epochs={spec.warmup_epochs}"]
    if spec.type not in ("asha", "successive_halving", "hyperband", "none"):
        parts.append(f"startup_trials={spec.startup_trials}")
    parts += [f"{k}={v}" for k, v in spec.options.items()]
    return spec.type if spec.type == "none" else f"{spec.type}:{','.join(parts)}"
