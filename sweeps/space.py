"""The search-space file: schema, validation with file:line errors, and loading.

A space names the training to run (``base_config``, ``command``), what to optimise (``metric``,
``mode``), the knobs (``parameters``, each with the dotted config keys it sets), how to search and
prune, the resources per trial and where to track. Every problem is reported as
``file:line: field: message`` (line 0 when no line applies), one line each.

The file is read defensively (size, encoding, depth, aliases, duplicate keys, YAML 1.2 booleans):
see :mod:`sweeps.space_yaml`.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from yaml.nodes import Node

from sweeps.config_keys import parse_key
from sweeps.space_yaml import (
    MAX_NODES,
    MAX_PROBLEMS,
    Problem,
    SpaceError,
    compose,
    line_of,
    load_yaml,
)
from sweeps.store import name_problem

DEFAULT_COMMAND = ["{python}", "-m", "aqr.train", "{config}", "--work-dir", "{work_dir}",
                   "{resume}"]
#: placeholders of ``command``: ``{config}`` is the trial's own config file (the base config as
#: ``_base_`` plus the trial's overrides), ``{resume}`` the ``resume_args`` when resuming
PLACEHOLDERS = {"{python}", "{config}", "{work_dir}", "{resume}", "{port}", "{num_gpus}"}
#: placeholders of ``env`` values
ENV_PLACEHOLDERS = {"{cwd}", "{work_dir}", "{port}", "{num_gpus}"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: a parameter's name is also an Optuna/MLflow parameter and part of report file names
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,99}")

#: points of a ``grid`` sweep
MAX_GRID_POINTS = 100_000
#: MLflow's longest metric key
MAX_METRIC_LENGTH = 250
#: Optuna keeps parameter values as floats: a larger integer would not come back exact
MAX_INT = 2**53


class _FieldErrors(ValueError):
    """Problems found by one validator, each at its own field: ``loc`` is relative to the value
    the validator checked (``()`` for the whole space)."""

    def __init__(self, found: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.found = found
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {message}" if loc else message
                                   for loc, message in found))


def _raise_found(found: list[tuple[tuple[str | int, ...], str]]) -> None:
    if found:
        raise _FieldErrors(found)


def _text_problem(value: str, wanted: str, limit: int = 4096) -> str | None:
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


def _kind(value: Any) -> str:
    kinds = {dict: "mapping", list: "list", set: "set", bytes: "binary string", tuple: "list"}
    return next((name for t, name in kinds.items() if isinstance(value, t)), type(value).__name__)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


def _data_problems(value: Any, loc: tuple[str | int, ...] = ()) -> list[tuple[tuple, str]]:
    """Why ``value`` cannot be written into a trial's config file: a NaN or infinite number, or
    anything but plain data (strings, numbers, booleans, null, lists, mappings)."""
    found: list[tuple[tuple, str]] = []
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
        elif not _is_scalar(item):
            found.append((where, f"must be plain data (strings, numbers, true/false, null, lists, "
                                 f"mappings), but got a {_kind(item)}; remove its YAML tag"))
    return sorted(found, key=lambda f: [str(p) for p in f[0]])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
        return [float(round(self.low + i * self.step, 10)) for i in range(self.grid_size())]

    def grid_size(self) -> int:
        """Points of :meth:`grid`, counted without building it (0 without a step)."""
        return 0 if self.step is None else round((self.high - self.low) / self.step) + 1


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
        if max(abs(self.low), abs(self.high)) > MAX_INT:
            raise ValueError(f"low and high must be within -2**53..2**53 (Optuna keeps values as "
                             f"floats), but got low={self.low}, high={self.high}; narrow the range")
        _check_bounds(self.low, self.high, self.log, None if self.step == 1 else self.step)
        return self

    def grid(self) -> list[int]:
        """``low, low + step, ..., high``."""
        return list(range(self.low, self.high + 1, self.step))

    def grid_size(self) -> int:
        """Points of :meth:`grid`, counted without building it."""
        return (self.high - self.low) // self.step + 1


class CategoricalParameter(_Strict):
    """A knob that takes one of ``choices``."""

    type: Literal["categorical"]
    choices: list[Any] = Field(min_length=1)
    targets: list[str]
    create: bool = False

    @field_validator("choices")
    @classmethod
    def _check_choices(cls, choices: list[Any]) -> list[Any]:
        """Optuna's ``CategoricalDistribution`` takes distinct hashable scalars; a choice also
        goes into a config file, so it must be finite."""
        found: list[tuple[tuple, str]] = []
        seen: dict[Any, int] = {}
        for i, choice in enumerate(choices):
            if not _is_scalar(choice):
                kind = _kind(choice)
                found.append(((i,), f"must be a scalar (a string, number, true/false or null), but "
                                    f"got a {kind}; Optuna's choices must be hashable scalars: "
                                    f"tune the parts of a {kind} as parameters of their own"))
            elif isinstance(choice, float) and not math.isfinite(choice):
                found.append(((i,), f"must be a finite number, but got {choice}; a config file "
                                    "cannot hold it: give a number"))
            elif choice in seen:
                found.append(((i,), f"{choice!r} equals choice {seen[choice]} "
                                    f"({choices[seen[choice]]!r}): choices must be distinct "
                                    "(Python takes 1, 1.0 and true as equal); remove one"))
            else:
                seen[choice] = i
        _raise_found(found)
        return choices

    def grid(self) -> list[Any]:
        """Every choice."""
        return list(self.choices)

    def grid_size(self) -> int:
        """Number of choices."""
        return len(self.choices)


Parameter = Annotated[FloatParameter | IntParameter | CategoricalParameter,
                      Field(discriminator="type")]


def _check_bounds(low: float, high: float, log: bool, step: float | None) -> None:
    if not low < high:
        raise ValueError(f"low must be < high, but got low={low}, high={high}")
    if not math.isfinite(high - low):
        raise ValueError(f"high - low must be a finite number, but got low={low}, high={high}; "
                         "narrow the range")
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

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        problem = _text_problem(name, "a label, e.g. current")
        if problem:
            raise ValueError(problem)
        return name


class SearchSpec(_Strict):
    """How Optuna proposes configurations."""

    sampler: Literal["tpe", "random", "grid", "cmaes", "gp", "qmc"] = "tpe"
    seed: int | None = Field(0, ge=0, le=2**32 - 1)  # numpy's seed range
    num_trials: int = Field(10, ge=1, le=100_000)
    concurrency: int = Field(1, ge=1, le=10_000)
    enqueue: list[EnqueuedPoint] = []


class PrunerSpec(_Strict):
    """Which pruner stops hopeless trials after their validations.

    ``warmup_epochs``: validations before a trial may be pruned; ``startup_trials``: finished
    trials before pruning starts; ``options``: the pruner's own arguments (Optuna's names).
    """

    type: Literal["median", "percentile", "successive_halving", "hyperband", "patient",
                  "threshold", "wilcoxon", "asha", "none"] = "median"
    warmup_epochs: int = Field(1, ge=0)
    startup_trials: int = Field(2, ge=0, le=100_000)
    options: dict[str, Any] = {}

    @field_validator("options")
    @classmethod
    def _check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        _raise_found(_data_problems(options))
        return options


class ResourcesSpec(_Strict):
    """What one trial takes from the cluster (fractions allowed)."""

    cpu: float = Field(1.0, gt=0, le=1024)
    gpu: float = Field(0.0, ge=0, le=1024)


class TrackingSpec(_Strict):
    """Where MLflow records the sweep (default: ``sqlite:///<cwd>/mlflow.db``)."""

    uri: str | None = None
    experiment: str | None = None
    artifact_location: str | None = None

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, uri: str | None) -> str | None:
        problem = None if uri is None else tracking_uri_problem(uri)
        if problem:
            raise ValueError(problem)
        return uri

    @field_validator("experiment")
    @classmethod
    def _check_experiment(cls, experiment: str | None) -> str | None:
        problem = None if experiment is None else _text_problem(
            experiment, "an MLflow experiment name, or remove it")
        if problem:
            raise ValueError(problem)
        return experiment


#: what ``tracking.uri`` may be; MLflow's own file store (``file:``) also needs
#: ``MLFLOW_ALLOW_FILE_STORE=true``
TRACKING_URI_FORMS = ("sqlite:///PATH", "postgresql://...", "mysql://...", "http(s)://HOST",
                      "databricks", "file:PATH")
_TRACKING_URI = re.compile(r"sqlite:///\S+|(?:postgresql|mysql)(?:\+\w+)?://\S+"
                           r"|https?://[^/\s]+\S*|databricks(?:://\S*)?|file:\S+")


def tracking_uri_problem(uri: str) -> str | None:
    """Why MLflow cannot track to ``uri``, or None."""
    shown = repr(uri if len(uri) <= 80 else uri[:80] + "...")
    if not _TRACKING_URI.fullmatch(uri):
        return (f"must be an MLflow tracking URI ({', '.join(TRACKING_URI_FORMS)}; file: needs "
                f"MLFLOW_ALLOW_FILE_STORE=true), but got {shown}; use e.g. "
                "sqlite:////shared/mlflow.db, or remove uri for sqlite:///<cwd>/mlflow.db")
    allowed = os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").strip().lower() in ("1", "true")
    if uri.startswith("file:") and not allowed:
        return (f"{shown} is MLflow's file store, which MLflow refuses unless "
                "MLFLOW_ALLOW_FILE_STORE=true is set; set it, or use sqlite:///PATH/mlflow.db")
    return None


class SweepSpace(_Strict):
    """A validated search space; :func:`load_space` remembers the file it came from, so later
    checks (pruner options, base config keys) can name its lines too."""

    name: str
    base_config: str
    command: list[str] = DEFAULT_COMMAND
    resume_args: list[str] = ["--resume"]
    log_format: Literal["auto", "mmengine_json", "mmcv_json", "mmcv_text"] = "auto"
    metric: str = "pts_bbox_NuScenes/NDS"
    mode: Literal["max", "min"] = "max"
    track: list[str] = []
    max_epochs: int = Field(ge=1, le=100_000)
    fixed: dict[str, Any] = {}
    env: dict[str, str] = {}
    parameters: dict[str, Parameter] = Field(min_length=1)
    search: SearchSpec = SearchSpec()
    pruner: PrunerSpec = PrunerSpec()
    resources: ResourcesSpec = ResourcesSpec()
    tracking: TrackingSpec = TrackingSpec()
    max_failures: int = Field(0, ge=0, le=1000)
    stop_grace_seconds: float = Field(30.0, ge=0, le=86_400)
    progress_timeout_seconds: float = Field(3 * 3600.0, gt=0)
    create_fixed: list[str] = []
    _source: str | None = PrivateAttr(None)

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        problem = name_problem(name)
        if problem:
            raise ValueError(problem)
        return name

    @field_validator("base_config")
    @classmethod
    def _check_base_config(cls, base_config: str) -> str:
        problem = _text_problem(base_config, "the base config's path, e.g. configs/cmt.py")
        if problem is None and (len(base_config) > 4096
                                or any(len(part) > 255 for part in base_config.split("/"))):
            problem = (f"must be a path of at most 4096 characters, 255 a part, but got "
                       f"{len(base_config)} characters; give the base config's path")
        if problem:
            raise ValueError(problem)
        return base_config

    @field_validator("metric")
    @classmethod
    def _check_metric(cls, metric: str) -> str:
        problem = _text_problem(metric, "the log key to optimise, e.g. pts_bbox_NuScenes/NDS",
                                MAX_METRIC_LENGTH)
        if problem:
            raise ValueError(problem)
        return metric

    @field_validator("track")
    @classmethod
    def _check_track(cls, track: list[str]) -> list[str]:
        _raise_found([((i,), problem) for i, metric in enumerate(track)
                      if (problem := _text_problem(metric, "a log key, e.g. "
                                                   "pts_bbox_NuScenes/mAP", MAX_METRIC_LENGTH))])
        return track

    @field_validator("fixed")
    @classmethod
    def _check_fixed(cls, fixed: dict[str, Any]) -> dict[str, Any]:
        _raise_found(_data_problems(fixed))
        return fixed

    @field_validator("command")
    @classmethod
    def _check_command(cls, command: list[str]) -> list[str]:
        if not command:
            raise ValueError("command must not be empty")
        if not command[0].strip():
            raise _FieldErrors([((0,), f"must be the program to run, but got {command[0]!r}; "
                                       "e.g. {python}")])
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
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an environment variable name (letters, "
                                 "digits and _, not starting with a digit)")
            unknown = set(re.findall(r"\{\w+\}", value)) - ENV_PLACEHOLDERS
            if unknown:
                raise ValueError(f"{name}: unknown placeholder(s) {sorted(unknown)}; known: "
                                 f"{sorted(ENV_PLACEHOLDERS)}")
        return env

    @model_validator(mode="after")
    def _check_cross_fields(self) -> SweepSpace:
        found: list[tuple[tuple[str | int, ...], str]] = []
        fixed = {}
        for key in self.fixed:
            try:
                fixed[parse_key(key)] = key
            except ValueError as err:
                found.append((("fixed", key), str(err)))
        claimed: dict[tuple[str, ...], str] = {}
        for name, param in self.parameters.items():
            if not _PARAM_NAME.fullmatch(name):
                shown = repr(name if len(name) <= 60 else name[:60] + "...")
                found.append((("parameters", name), f"a parameter's name must be a letter or '_', "
                              "then letters, digits, '_' or '-' (at most 100; it names Optuna "
                              f"and MLflow parameters and report files), but got {shown}; "
                              "rename it, e.g. max_weight_clamp"))
            if not param.targets:
                found.append((("parameters", name, "targets"), "give at least one config key"))
            for i, key in enumerate(param.targets):
                where = ("parameters", name, "targets", i)
                try:
                    parts = parse_key(key)
                except ValueError as err:
                    found.append((where, str(err)))
                    continue
                if parts in claimed:
                    found.append((where, f"{key!r} is already set by parameter "
                                         f"{claimed[parts]!r}"))
                elif parts in fixed:
                    found.append((where, f"{key!r} is also in fixed"))
                claimed[parts] = name
        for i, point in enumerate(self.search.enqueue):
            if point.params == BASE_CONFIG_POINT:
                continue
            missing = sorted(set(self.parameters) - set(point.params))
            if missing:
                found.append((("search", "enqueue", i, "params"),
                              f"no value for {', '.join(missing)}; give every parameter (or "
                              "params: base_config)"))
            for pname, value in point.params.items():
                where = ("search", "enqueue", i, "params", pname)
                if pname not in self.parameters:
                    found.append((where, f"unknown parameter; known: {sorted(self.parameters)}"))
                elif problem := out_of_range(self.parameters[pname], value):
                    found.append((where, problem))
        if self.search.sampler == "grid":
            for pname, param in self.parameters.items():
                if isinstance(param, FloatParameter) and param.step is None:
                    found.append((("parameters", pname), "sampler 'grid' needs a step on float "
                                  "parameters (or make it categorical)"))
            sizes = [p.grid_size() for p in self.parameters.values()]
            if all(sizes) and math.prod(sizes) > MAX_GRID_POINTS:
                found.append((("search", "sampler"), f"a grid sweep may have at most "
                              f"{MAX_GRID_POINTS} points, but this grid has {math.prod(sizes)} "
                              f"({' x '.join(map(str, sizes))}); use coarser steps, fewer "
                              "choices or another sampler (tpe, random)"))
        warmup = self.pruner.warmup_epochs
        if self.pruner.type != "none" and warmup >= self.max_epochs:
            found.append((("pruner", "warmup_epochs"), f"must be < max_epochs ({self.max_epochs}): "
                          "a trial is never pruned during its warm-up, so no trial could ever "
                          f"be pruned, but got {warmup}; lower it (e.g. "
                          f"{max(0, self.max_epochs // 3)}), or set pruner type: none"))
        _raise_found(found)
        return self

    def grid_points(self) -> dict[str, list[Any]]:
        """Every value of every parameter on the grid (floats need a ``step``)."""
        return {name: p.grid() for name, p in self.parameters.items()}

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


def out_of_range(param: Any, value: Any) -> str | None:
    """Why ``value`` cannot be taken by ``param``, or None."""
    if isinstance(param, CategoricalParameter):
        return None if any(_same_choice(value, c) for c in param.choices) else \
            f"{value!r} is not one of the choices {param.choices}"
    if not isinstance(value, int | float) or isinstance(value, bool):
        return f"must be a number, but got {value!r}"
    if isinstance(param, IntParameter) and isinstance(value, float) and not value.is_integer():
        return f"must be an integer, but got {value!r}"
    if not param.low <= value <= param.high:
        return f"must be in [{param.low}, {param.high}], but got {value}"
    step = getattr(param, "step", None)
    if step not in (None, 1) and not math.isclose((value - param.low) / step,
                                                  round((value - param.low) / step), abs_tol=1e-9):
        return f"must be on the grid {param.low} + k * {step}, but got {value}"
    return None


def _same_choice(value: Any, choice: Any) -> bool:
    """``value == choice``, except that a boolean never equals a number (Optuna would take
    ``true`` for the choice ``1``)."""
    return isinstance(value, bool) == isinstance(choice, bool) and bool(value == choice)


def load_space(path: str | Path) -> SweepSpace:
    """Read and validate a space file (see the module's docstring for what a file must be).

    Raises:
        SpaceError: with one ``file:line: field: message`` per problem.
    """
    path = Path(path)
    file = str(path)
    root, data = load_yaml(path)
    if not isinstance(data, dict):
        given = "an empty file" if data is None else f"a {_kind(data)}"
        raise SpaceError([Problem(file, 1, "file", f"must be a mapping of fields (name, "
                                  f"base_config, metric, parameters, ...), but got {given}; see "
                                  "search_spaces/demo.yaml")])
    try:
        space = SweepSpace.model_validate(data)
    except ValidationError as err:
        errors = err.errors()
        found = [p for e in errors[:MAX_PROBLEMS] for p in _problems_of(file, root, e)]
        raise SpaceError(found, more=max(0, len(errors) - MAX_PROBLEMS)) from None
    space._source = file
    return space


# --- pydantic's errors as problems ----------------------------------------------------------

_FIXES = {
    "finite_number": "; give a finite number (.inf and .nan cannot be tuned or written into a "
                     "config)",
}


def _problems_of(file: str, root: Node | None, error: dict) -> list[Problem]:
    """The problems of one pydantic error (a validator may report several fields)."""
    loc: list[str] = [str(p) for p in error["loc"]]
    if len(loc) > 2 and loc[0] == "parameters" and loc[2] in ("float", "int", "categorical"):
        del loc[2]  # the discriminated union's tag
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _FieldErrors):
        return [Problem(file, line_of(root, [*loc, *map(str, rel)]),
                        ".".join([*loc, *map(str, rel)]) or "space", message)
                for rel, message in cause.found]
    message = error["msg"].removeprefix("Value error, ")
    # cross-field errors name their own field first ("parameters.x.targets: ...")
    match = re.match(r"^([\w.]+): (.*)$", message)
    if not loc and match:
        loc, message = match.group(1).split("."), match.group(2)
    if error["type"] == "extra_forbidden":
        message = f"unknown field; remove it or check its spelling ({_known_fields(loc)})"
    elif error["type"] == "union_tag_not_found":
        message = "needs a type; give type: float, int or categorical"
    elif error["type"] == "missing":
        message = "required field is missing"
    elif error["type"] not in ("value_error", "assertion_error") and "input" in error:
        message += f", but got {_given(error['input'])}{_FIXES.get(error['type'], '')}"
    return [Problem(file, line_of(root, loc), ".".join(loc) or "space", message)]


def _given(value: Any) -> str:
    if _is_scalar(value):
        text = repr(value)
        return text if len(text) <= 80 else text[:80] + "..."
    return f"a {_kind(value)}"


def _known_fields(loc: list[str]) -> str:
    if loc and loc[0] == "parameters":
        return "known: type, low, high, log, step, choices, targets, create"
    model: Any = SweepSpace
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return "see the README's space reference"
        model = field.annotation
    names = sorted(getattr(model, "model_fields", {}))
    return "known: " + ", ".join(names) if names else "see the README's space reference"

