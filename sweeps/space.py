"""The search-space file: schema, validation with file:line errors, and loading.

A space names the training to run (``base_config``, ``command``), what to optimise (``metric``,
``mode``), the knobs (``parameters``, each with the dotted config keys it sets), how to search and
prune, the resources per trial and where to track. Every problem is reported as
``file:line: field: message``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from sweeps.config_keys import parse_key
from sweeps.errors import UserError

DEFAULT_COMMAND = ["{python}", "-m", "aqr.train", "{config}", "--work-dir", "{work_dir}",
                   "{resume}"]
#: placeholders of ``command``: ``{config}`` is the trial's own config file (the base config as
#: ``_base_`` plus the trial's overrides), ``{resume}`` the ``resume_args`` when resuming
PLACEHOLDERS = {"{python}", "{config}", "{work_dir}", "{resume}", "{port}", "{num_gpus}"}
#: placeholders of ``env`` values
ENV_PLACEHOLDERS = {"{cwd}", "{work_dir}", "{port}", "{num_gpus}"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FloatParameter(_Strict):
    """A float knob in ``[low, high]``, optionally log-scaled or on a grid of ``step``."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = None
    targets: list[str]
    create: bool = False

    @model_validator(mode="after")
    def _check_range(self) -> FloatParameter:
        _check_bounds(self.low, self.high, self.log, self.step)
        return self

    def grid(self) -> list[float]:
        """``low, low + step, ..., high`` (the bounds checks made sure ``step`` divides the
        range)."""
        if self.step is None:
            raise ValueError("a float parameter needs a step to be put on a grid")
        count = round((self.high - self.low) / self.step) + 1
        return [float(round(self.low + i * self.step, 10)) for i in range(count)]


class IntParameter(_Strict):
    """An integer knob in ``[low, high]``."""

    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = 1
    targets: list[str]
    create: bool = False

    @model_validator(mode="after")
    def _check_range(self) -> IntParameter:
        _check_bounds(self.low, self.high, self.log, None if self.step == 1 else self.step)
        return self

    def grid(self) -> list[int]:
        """``low, low + step, ..., high``."""
        return list(range(self.low, self.high + 1, self.step))


class CategoricalParameter(_Strict):
    """A knob that takes one of ``choices``."""

    type: Literal["categorical"]
    choices: list[Any] = Field(min_length=1)
    targets: list[str]
    create: bool = False

    def grid(self) -> list[Any]:
        """Every choice."""
        return list(self.choices)


Parameter = Annotated[FloatParameter | IntParameter | CategoricalParameter,
                      Field(discriminator="type")]


def _check_bounds(low: float, high: float, log: bool, step: float | None) -> None:
    if not low < high:
        raise ValueError(f"low must be < high, but got low={low}, high={high}")
    if log and low <= 0:
        raise ValueError(f"log=true needs low > 0, but got low={low}")
    if step is not None:
        if step <= 0:
            raise ValueError(f"step must be > 0, but got step={step}")
        if log:
            raise ValueError("step and log=true cannot be combined (Optuna's constraint); "
                             "drop one of them")
        steps = (high - low) / step
        if not math.isclose(steps, round(steps), rel_tol=0, abs_tol=1e-9):
            fitted = low + math.floor(steps) * step
            raise ValueError(f"step must divide high - low, but got low={low}, high={high}, "
                             f"step={step}; use high={fitted:.10g} or a step that divides "
                             f"{high - low:.10g}")


#: ``params: base_config`` enqueues the base config's own values (read from its first targets)
BASE_CONFIG_POINT = "base_config"


class EnqueuedPoint(_Strict):
    """A named configuration to run before the sampler proposes its own; ``params:
    base_config`` takes the values the base config has now."""

    name: str
    params: dict[str, Any] | Literal["base_config"]


class SearchSpec(_Strict):
    """How Optuna proposes configurations."""

    sampler: Literal["tpe", "random", "grid", "cmaes", "gp", "qmc"] = "tpe"
    seed: int | None = 0
    num_trials: int = Field(10, ge=1)
    concurrency: int = Field(1, ge=1)
    enqueue: list[EnqueuedPoint] = []


class PrunerSpec(_Strict):
    """Which pruner stops hopeless trials after their validations.

    ``warmup_epochs``: validations before a trial may be pruned; ``startup_trials``: finished
    trials before pruning starts; ``options``: the pruner's own arguments (Optuna's names).
    """

    type: Literal["median", "percentile", "successive_halving", "hyperband", "patient",
                  "threshold", "wilcoxon", "asha", "none"] = "median"
    warmup_epochs: int = Field(1, ge=0)
    startup_trials: int = Field(2, ge=0)
    options: dict[str, Any] = {}


class ResourcesSpec(_Strict):
    """What one trial takes from the cluster (fractions allowed)."""

    cpu: float = Field(1.0, gt=0)
    gpu: float = Field(0.0, ge=0)


class TrackingSpec(_Strict):
    """Where MLflow records the sweep (default: ``sqlite:///<cwd>/mlflow.db``)."""

    uri: str | None = None
    experiment: str | None = None
    artifact_location: str | None = None


class SweepSpace(_Strict):
    """A validated search space; :func:`load_space` remembers the file it came from, so later
    checks (pruner options, base config keys) can name its lines too."""

    name: str = Field(pattern=r"^[\w.-]+$")
    base_config: str
    command: list[str] = DEFAULT_COMMAND
    resume_args: list[str] = ["--resume"]
    log_format: Literal["auto", "mmengine_json", "mmcv_json", "mmcv_text"] = "auto"
    metric: str = "pts_bbox_NuScenes/NDS"
    mode: Literal["max", "min"] = "max"
    track: list[str] = []
    max_epochs: int = Field(ge=1)
    fixed: dict[str, Any] = {}
    env: dict[str, str] = {}
    parameters: dict[str, Parameter] = Field(min_length=1)
    search: SearchSpec = SearchSpec()
    pruner: PrunerSpec = PrunerSpec()
    resources: ResourcesSpec = ResourcesSpec()
    tracking: TrackingSpec = TrackingSpec()
    max_failures: int = Field(0, ge=0)
    stop_grace_seconds: float = Field(30.0, ge=0)
    create_fixed: list[str] = []
    _source: str | None = PrivateAttr(None)

    @field_validator("command")
    @classmethod
    def _check_command(cls, command: list[str]) -> list[str]:
        if not command:
            raise ValueError("command must not be empty")
        found = set(re.findall(r"\{\w+\}", " ".join(command)))
        if "{cfg_options}" in found:
            raise ValueError("'{cfg_options}' is gone: each trial's overrides are in its own "
                             "config file, '{config}'; remove '--cfg-options {cfg_options}'")
        if found - PLACEHOLDERS:
            raise ValueError(f"unknown placeholder(s) {sorted(found - PLACEHOLDERS)}; "
                             f"known: {sorted(PLACEHOLDERS)}")
        for needed, why in (("{config}", "the trial's config file"),
                            ("{work_dir}", "the trial's own work dir")):
            if needed not in found:
                raise ValueError(f"command must contain '{needed}' ({why}), or trials would "
                                 "share one")
        return command

    @field_validator("env")
    @classmethod
    def _check_env(cls, env: dict[str, str]) -> dict[str, str]:
        for name, value in env.items():
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name (letters, "
                                 "digits and _, not starting with a digit)")
            unknown = set(re.findall(r"\{\w+\}", value)) - ENV_PLACEHOLDERS
            if unknown:
                raise ValueError(f"{name}: unknown placeholder(s) {sorted(unknown)}; known: "
                                 f"{sorted(ENV_PLACEHOLDERS)}")
        return env

    @model_validator(mode="after")
    def _check_cross_fields(self) -> SweepSpace:
        fixed = {}
        for key in self.fixed:
            try:
                fixed[parse_key(key)] = key
            except ValueError as err:
                raise ValueError(f"fixed: {err}") from None
        claimed: dict[tuple[str, ...], str] = {}
        for name, param in self.parameters.items():
            if not param.targets:
                raise ValueError(f"parameters.{name}.targets: give at least one config key")
            for i, key in enumerate(param.targets):
                try:
                    parts = parse_key(key)
                except ValueError as err:
                    raise ValueError(f"parameters.{name}.targets.{i}: {err}") from None
                if parts in claimed:
                    raise ValueError(f"parameters.{name}.targets.{i}: {key!r} is already set by "
                                     f"parameter {claimed[parts]!r}")
                if parts in fixed:
                    raise ValueError(f"parameters.{name}.targets.{i}: {key!r} is also in fixed")
                claimed[parts] = name
        for i, point in enumerate(self.search.enqueue):
            if point.params == BASE_CONFIG_POINT:
                continue
            missing = sorted(set(self.parameters) - set(point.params))
            if missing:
                raise ValueError(f"search.enqueue.{i}.params: no value for {', '.join(missing)}; "
                                 "give every parameter (or params: base_config)")
            for pname, value in point.params.items():
                where = f"search.enqueue.{i}.params.{pname}"
                if pname not in self.parameters:
                    raise ValueError(f"{where}: unknown parameter; known: "
                                     f"{sorted(self.parameters)}")
                problem = out_of_range(self.parameters[pname], value)
                if problem:
                    raise ValueError(f"{where}: {problem}")
        if self.search.sampler == "grid":
            for pname, param in self.parameters.items():
                if isinstance(param, FloatParameter) and param.step is None:
                    raise ValueError(f"parameters.{pname}: sampler 'grid' needs a step on float "
                                     "parameters (or make it categorical)")
        return self

    def grid_points(self) -> dict[str, list[Any]]:
        """Every value of every parameter on the grid (floats need a ``step``)."""
        return {name: p.grid() for name, p in self.parameters.items()}

    def num_trials(self) -> int:
        """Trials the sweep runs: ``search.num_trials``, or the grid's size for ``grid``."""
        if self.search.sampler != "grid":
            return self.search.num_trials
        return math.prod(len(values) for values in self.grid_points().values())

    def problem(self, field: str, message: str) -> SpaceError:
        """A :class:`SpaceError` for ``field`` (dotted, e.g. ``pruner.options``) at its line in
        the file this space was loaded from."""
        return self.problems([(field, message)])

    def problems(self, found: list[tuple[str, str]]) -> SpaceError:
        """One :class:`SpaceError` for several ``(field, message)`` pairs."""
        source = self._source or "<space>"
        root = None
        if self._source is not None:
            try:
                root = yaml.compose(Path(self._source).read_text())
            except (OSError, yaml.YAMLError):
                root = None
        return SpaceError([Problem(source, _line_of(root, field.split(".")), field, message)
                           for field, message in found])


def out_of_range(param: Any, value: Any) -> str | None:
    """Why ``value`` cannot be taken by ``param``, or None."""
    if isinstance(param, CategoricalParameter):
        return None if value in param.choices else \
            f"{value!r} is not one of the choices {param.choices}"
    if not isinstance(value, int | float) or isinstance(value, bool):
        return f"must be a number, but got {value!r}"
    if isinstance(param, IntParameter) and not float(value).is_integer():
        return f"must be an integer, but got {value!r}"
    if not param.low <= value <= param.high:
        return f"must be in [{param.low}, {param.high}], but got {value}"
    step = getattr(param, "step", None)
    if step not in (None, 1) and not math.isclose((value - param.low) / step,
                                                  round((value - param.low) / step), abs_tol=1e-9):
        return f"must be on the grid {param.low} + k * {step}, but got {value}"
    return None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a space file."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class SpaceError(UserError):
    """A space file that cannot be used; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_space(path: str | Path) -> SweepSpace:
    """Read and validate a space file.

    Raises:
        SpaceError: with one ``file:line: field: message`` per problem.
    """
    path = Path(path)
    if not path.is_file():
        raise SpaceError([Problem(str(path), 0, "file", "no such file; give the path of a "
                                  "space YAML such as search_spaces/demo.yaml")])
    text = path.read_text()
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise SpaceError([Problem(str(path), line, "yaml", str(err).splitlines()[0])]) from None
    if not isinstance(data, dict):
        raise SpaceError([Problem(str(path), 1, "file", "must be a mapping of fields "
                                  "(name, base_config, metric, parameters, ...)")])
    try:
        space = SweepSpace.model_validate(data)
    except ValidationError as err:
        raise SpaceError([_problem(path, root, e) for e in err.errors()]) from None
    space._source = str(path)
    return space


def _problem(path: Path, root: yaml.Node, error: dict) -> Problem:
    loc = [str(p) for p in error["loc"]]
    message = error["msg"].removeprefix("Value error, ")
    # cross-field errors name their own field first ("parameters.x.targets: ...")
    match = re.match(r"^([\w.]+): (.*)$", message)
    if not loc and match:
        loc, message = match.group(1).split("."), match.group(2)
    loc = [p for p in loc if p not in ("float", "int", "categorical")]
    if error["type"] == "extra_forbidden":
        message = f"unknown field; remove it or check its spelling ({_known_fields(loc)})"
    elif error["type"] == "missing":
        message = "required field is missing"
    return Problem(str(path), _line_of(root, loc), ".".join(loc) or "space", message)


def _known_fields(loc: list[str]) -> str:
    if loc and loc[0] == "parameters":
        return "known: type, low, high, log, step, choices, targets"
    model: Any = SweepSpace
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return "see the README's space reference"
        model = field.annotation
    names = sorted(getattr(model, "model_fields", {}))
    return "known: " + ", ".join(names) if names else "see the README's space reference"


def _line_of(node: yaml.Node | None, loc: list[str]) -> int:
    """1-based line of the deepest node on ``loc`` that exists in the YAML."""
    line = node.start_mark.line + 1 if node is not None else 0
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if str(k.value) == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line
