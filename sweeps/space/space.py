"""The search-space file: its top-level schema, the checks across its fields, and loading it.

A space names the training to run (``base_config``, ``command``), what to optimise (``metric``,
``mode``), the knobs (``parameters``, each with the dotted config keys it sets), how to search and
prune, the resources per trial and where to track. Every problem is reported as
``file:line: field: message`` (line 0 when no line applies), one line each. The file is read
defensively by :mod:`sweeps.space.reader`; pydantic's errors become problems in
:mod:`sweeps.space.translate`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, model_validator

from sweeps.constants import DEFAULT_METRIC, Mode
from sweeps.errors import MAX_PROBLEMS, Problem, SpaceError
from sweeps.space.checks import Found, Strict, checked, kind, plain_data, raise_found, text
from sweeps.space.cross_fields import allowed_values, cross_field_problems
from sweeps.space.parameters import (
    Parameter,
    same_choice,
)
from sweeps.space.reader import compose, line_of, load_yaml
from sweeps.space.schedule import ScheduleSpec
from sweeps.space.specs import (
    ConfirmSpec,
    PreflightSpec,
    PrunerSpec,
    ResourcesSpec,
    SearchSpec,
    TrackingSpec,
)
from sweeps.space.translate import problems_of
from sweeps.store.sweep_dir import name_problem

DEFAULT_COMMAND = ["{python}", "-m", "aqr.train", "{config}", "--work-dir", "{work_dir}",
                   "--seed", "{seed}", "{resume}"]
#: placeholders of ``command``: ``{config}`` is the trial's own config file (the base config as
#: ``_base_`` plus the trial's overrides), ``{resume}`` the ``resume_args`` when resuming,
#: ``{seed}`` the run's training seed (0, then 1, 2, ... for a confirmation's re-runs)
PLACEHOLDERS = {"{python}", "{config}", "{work_dir}", "{resume}", "{port}", "{num_gpus}",
                "{seed}"}
#: placeholders of ``env`` values
ENV_PLACEHOLDERS = {"{cwd}", "{work_dir}", "{port}", "{num_gpus}", "{aqr_runtime}", "{seed}"}
_PLACEHOLDER = re.compile(r"\{\w+\}")
#: a brace group that starts like a placeholder: ``{config}``, or a misspelt one such as
#: ``{config``, ``{config}}``, ``{{config}}``, ``{config.name}``
_LIKE_PLACEHOLDER = re.compile(r"\{+\s*(\w+)[^}\s]*\}*")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: MLflow's longest metric key
MAX_METRIC_LENGTH = 250


def _base_config_problem(path: str) -> str | None:
    if len(path) > 4096 or any(len(part) > 255 for part in path.split("/")):
        return (f"must be a path of at most 4096 characters, 255 a part, but got {len(path)} "
                "characters; give the base config's path")
    return None


def _malformed_placeholder(text: str, known: set[str]) -> str | None:
    """Why a known placeholder in ``text`` would not be filled (an unbalanced or doubled brace,
    an attribute or index), or None."""
    for match in _LIKE_PLACEHOLDER.finditer(text):
        name = f"{{{match[1]}}}"
        if name in known and match[0] != name:
            return (f"{match[0]!r} in {text!r} is not a placeholder (it would stay as it is); "
                    f"write {name}")
    return None


def _command_problem(command: list[str]) -> str | list[Found] | None:
    if not command:
        return "command must not be empty"
    if not command[0].strip():
        return [((0,), f"must be the program to run, but got {command[0]!r}; e.g. {{python}}")]
    found = set(_PLACEHOLDER.findall(" ".join(command)))
    if "{cfg_options}" in found:
        return ("'{cfg_options}' is gone: each trial's overrides are in its own config file, "
                "'{config}'; remove '--cfg-options {cfg_options}'")
    if found - PLACEHOLDERS:
        return f"unknown placeholder(s) {sorted(found - PLACEHOLDERS)}; known: {sorted(PLACEHOLDERS)}"
    for i, part in enumerate(command):
        if problem := _malformed_placeholder(part, PLACEHOLDERS):
            return [((i,), problem)]
    for needed, why in (("{config}", "the trial's config file"),
                        ("{work_dir}", "the trial's own work dir")):
        if needed not in found:
            return f"command must contain '{needed}' ({why}), or trials would share one"
    return None


def _env_problem(env: dict[str, str]) -> str | None:
    for name, value in env.items():
        if not _ENV_NAME.fullmatch(name):
            return (f"{name!r} is not an environment variable name (letters, digits and _, not "
                    "starting with a digit)")
        unknown = set(_PLACEHOLDER.findall(value)) - ENV_PLACEHOLDERS
        if unknown:
            return (f"{name}: unknown placeholder(s) {sorted(unknown)}; known: "
                    f"{sorted(ENV_PLACEHOLDERS)}")
        if problem := _malformed_placeholder(value, ENV_PLACEHOLDERS):
            return f"{name}: {problem}"
    return None


def _pattern_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as err:
        return (f"is not a regular expression ({err}), but got {pattern!r}; escape what is "
                "meant literally, e.g. '\\[AQR ERROR\\]'")
    return None if pattern else "must not be empty (it would match every line); remove it"


_METRIC = text("the log key to optimise, e.g. pts_bbox_NuScenes/NDS", MAX_METRIC_LENGTH)


class SweepSpace(Strict):
    """A validated search space; :func:`load_space` remembers the file it came from, so later
    checks (pruner options, base config keys) can name its lines too."""

    name: Annotated[str, checked(name_problem)]
    base_config: Annotated[str, text("the base config's path, e.g. configs/cmt.py"),
                           checked(_base_config_problem)]
    command: Annotated[list[str], checked(_command_problem)] = DEFAULT_COMMAND
    resume_args: list[str] = ["--resume"]
    log_format: Literal["auto", "mmengine_json", "mmcv_json", "mmcv_text"] = "auto"
    metric: Annotated[str, _METRIC] = DEFAULT_METRIC
    mode: Mode = Mode.MAX
    track: list[Annotated[str, text("a log key, e.g. pts_bbox_NuScenes/mAP",
                                    MAX_METRIC_LENGTH)]] = []
    max_epochs: int = Field(ge=1, le=100_000)
    fixed: Annotated[dict[str, Any], plain_data] = {}
    env: Annotated[dict[str, str], checked(_env_problem)] = {}
    parameters: dict[str, Parameter] = Field(min_length=1)
    search: SearchSpec = SearchSpec()
    pruner: PrunerSpec = PrunerSpec()
    resources: ResourcesSpec = ResourcesSpec()
    tracking: TrackingSpec = TrackingSpec()
    preflight: PreflightSpec = PreflightSpec()
    schedules: dict[str, ScheduleSpec] = {}
    max_failures: int = Field(0, ge=0, le=1000)
    #: regular expressions: a line of a training's output that matches one fails the trial
    fail_patterns: list[Annotated[str, checked(_pattern_problem)]] = []
    stop_grace_seconds: float = Field(30.0, ge=0, le=86_400)
    progress_timeout_seconds: float = Field(3 * 3600.0, gt=0)
    create_fixed: list[str] = []
    _source: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _check_cross_fields(self) -> SweepSpace:
        raise_found(cross_field_problems(self))
        return self

    def active(self, name: str, params: dict[str, Any]) -> bool:
        """Whether parameter ``name`` applies given the other ``params`` (its ``when``)."""
        when = self.parameters[name].when or {}
        return all(any(same_choice(params.get(other), v) for v in allowed_values(allowed))
                   for other, allowed in when.items())

    def grid_points(self) -> dict[str, list[Any]]:
        """Every value of every parameter on the grid (floats need a ``step``)."""
        return {name: p.grid() for name, p in self.parameters.items()}

    @property
    def takes_seed(self) -> bool:
        """Whether the command (or its env) gives each run its training seed (``{seed}``)."""
        return any("{seed}" in part for part in [*self.command, *self.env.values()])

    @property
    def confirm(self) -> ConfirmSpec:
        """The confirmation stage in force: the space's, else on when the command takes
        ``{seed}`` (re-running a configuration with the same seed would measure nothing new)."""
        if self.search.confirm is not None:
            return self.search.confirm
        return ConfirmSpec() if self.takes_seed else ConfirmSpec(top_k=0, seeds=0)

    def num_trials(self) -> int:
        """Trials the sweep runs: ``search.num_trials``, or the grid's size for ``grid``."""
        if self.search.sampler != "grid":
            return self.search.num_trials
        return math.prod(p.grid_size() for p in self.parameters.values())

    def problem(self, field: str, message: str) -> SpaceError:
        """A :class:`SpaceError` for ``field`` (dotted, e.g. ``pruner.options``) at its line in
        the file this space was loaded from."""
        return self.problems([(field, message)])

    def problems(self, found: list[tuple[str, str]]) -> SpaceError:
        """One :class:`SpaceError` for several ``(field, message)`` pairs."""
        source = self._source or "<space>"
        root = compose(Path(self._source)) if self._source is not None else None
        return SpaceError([Problem(source, line_of(root, field.split(".")), field, message)
                           for field, message in found])


def load_space(path: str | Path) -> SweepSpace:
    """Read and validate a space file (see the module's docstring for what a file must be).

    Raises:
        SpaceError: with one ``file:line: field: message`` per problem.
    """
    path = Path(path)
    file = str(path)
    root, data = load_yaml(path)
    if not isinstance(data, dict):
        given = "an empty file" if data is None else f"a {kind(data)}"
        raise SpaceError([Problem(file, 1, "file", f"must be a mapping of fields (name, "
                                  f"base_config, metric, parameters, ...), but got {given}; see "
                                  "search_spaces/demo.yaml")])
    try:
        space = SweepSpace.model_validate(data)
    except ValidationError as err:
        errors = err.errors()
        found = [p for e in errors[:MAX_PROBLEMS] for p in problems_of(file, root, e, SweepSpace)]
        raise SpaceError(found, more=max(0, len(errors) - MAX_PROBLEMS)) from None
    space._source = file
    return space
