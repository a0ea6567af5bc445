"""The search space: its schema (``space``: the top level and the checks across fields;
``parameters``: the knobs, their ranges and grids; ``specs``: search, pruner, resources,
tracking), the defensive reading of its YAML (``reader``), the checks its validators share
(``checks``) and pydantic's errors as ``file:line: field: message`` problems (``translate``)."""

from sweeps.space.parameters import (
    CategoricalParameter,
    FloatParameter,
    IntParameter,
    Parameter,
    out_of_range,
)
from sweeps.space.space import DEFAULT_COMMAND, SweepSpace, load_space
from sweeps.space.specs import BASE_CONFIG_POINT, EnqueuedPoint, PrunerSpec, SearchSpec

__all__ = ["BASE_CONFIG_POINT", "DEFAULT_COMMAND", "CategoricalParameter", "EnqueuedPoint",
           "FloatParameter", "IntParameter", "Parameter", "PrunerSpec", "SearchSpec",
           "SweepSpace", "load_space", "out_of_range"]
