"""The space's base config: where it is (absolute, or relative to the space file as mmengine
resolves ``_base_``, or to the working directory), what it holds, and whether every key the
space sets is there (a merge creates a missing key silently: a dead knob)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweeps.config.keys import MISSING, format_key, leaf_keys, lookup, nearest_keys, parse_key
from sweeps.config.variables import variables_read
from sweeps.space import (
    BASE_CONFIG_POINT,
    CategoricalParameter,
    SweepSpace,
    out_of_range,
)
from sweeps.space.schedule import TARGET_ROOT


def resolve_base_config(space: SweepSpace, space_file: Path) -> Path:
    """The base config as an absolute path, symlinks kept: mmcv and mmengine look for its
    ``_base_`` files beside the path they are given, not beside a link's target.

    Raises:
        SpaceError: at the line of ``base_config``, naming the places looked in.
    """
    given = Path(space.base_config).expanduser()
    candidates = [given] if given.is_absolute() else [space_file.parent / given, Path.cwd() / given]
    for path in candidates:
        if path.is_file():
            return Path(os.path.abspath(path))
    looked = ", ".join(str(c.parent.absolute()) for c in candidates)
    raise space.problem("base_config", f"file not found: {space.base_config} (looked in "
                                       f"{looked}); give a path relative to the space file")


@dataclass(frozen=True)
class BaseConfig:
    """A loaded base config (``_base_`` chains merged, as the training will see it)."""

    path: Path
    values: dict[str, Any]

    def get(self, key: str) -> Any:
        """The value at a space's key, or :data:`sweeps.config.keys.MISSING`."""
        return lookup(self.values, parse_key(key))


#: seconds a config file gets to be read
READ_SECONDS = 60.0


def read_config(path: Path) -> dict[str, Any]:
    """A config file's values, its ``_base_`` chain merged. A file mmengine takes for its new
    lazy-import format because it imports a module at the top (``import math``, as mmcv 1.x
    configs may) is read again as a plain one, as mmcv 1.x reads it.

    Raises:
        Exception: whatever mmengine raises on a config it cannot read (the first error);
            TimeoutError after :data:`READ_SECONDS`; RuntimeError when the file exits while
            it is read (a script: ``sys.exit``, or its argparse finding no arguments)."""
    from mmengine.config import Config

    with _deadline(READ_SECONDS):
        try:
            try:
                return Config.fromfile(str(path), import_custom_modules=False).to_dict()
            except TimeoutError:
                raise
            except Exception as err:  # noqa: BLE001 - re-raised unless the plain reading succeeds
                try:
                    return Config.fromfile(str(path), import_custom_modules=False,
                                           lazy_import=False).to_dict()
                except Exception:  # noqa: BLE001 - the first error is the one to show
                    raise err from None
        except SystemExit as stop:
            raise RuntimeError(f"it exited (exit code {stop.code!r}) while it was read: a "
                               "script, not a config? give the config file the training "
                               "reads") from None


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """A TimeoutError after ``seconds`` (a config file is a program: it may loop, or wait on a
    file or the network); in the main thread only, where a signal can interrupt it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"reading it took over {seconds:g} s; does it loop, or wait on "
                           "something?")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_base_config(space: SweepSpace, space_file: Path) -> BaseConfig:
    """Read the base config with mmengine's ``Config`` (it reads mmcv-1.x configs too) and check
    every key the space sets against it.

    Raises:
        SpaceError: a missing or unreadable base config, or keys it does not have, each at the
            line of the parameter that names it, with the nearest keys it does have.
    """
    path = resolve_base_config(space, space_file)
    try:
        values = read_config(path)
    except Exception as err:  # noqa: BLE001 - any error of the user's config file is reported
        first = (str(err).strip().splitlines() or ["(no message)"])[0]
        raise space.problem("base_config", f"{path} cannot be read as a config: "
                                           f"{type(err).__name__}: {first}") from None
    base = BaseConfig(path, values)
    problems = missing_keys(space, base) + mistyped_targets(space, base) + \
        variable_targets(space, base)
    if (problem := schedule_mismatch(space, base)) is not None:
        problems.append(("max_epochs", problem))
    if problems:
        raise space.problems(problems)
    return base


def missing_keys(space: SweepSpace, base: BaseConfig) -> list[tuple[str, str]]:
    """``(field, message)`` for every key the space sets that the base config lacks (except
    parameters with ``create: true`` and ``create_fixed`` keys)."""
    where = f"not in the base config {base.path.name}"
    out = []
    for name, param in space.parameters.items():
        if param.create:
            continue
        for i, key in enumerate(param.targets):
            parts = parse_key(key)
            if parts[0] == TARGET_ROOT:
                continue  # a schedule's field, checked with the space
            if lookup(base.values, parts) is MISSING:
                out.append((f"parameters.{name}.targets.{i}", _dead(key, parts, base, where,
                                                                    "set create: true")))
    for key, value in space.fixed.items():
        if key in space.create_fixed:
            continue
        top = parse_key(key)
        for parts in _merged_leaves(top, value, base.values):
            if lookup(base.values, parts) is MISSING:
                shown, opt_in = (key, "list it") if parts == top else (format_key(parts),
                                                                      f"list {key}")
                out.append(("fixed", _dead(shown, parts, base, where,
                                           f"{opt_in} in create_fixed")))
    return out


def _merged_leaves(parts: tuple[str, ...], value: Any, config: Mapping[str, Any]
                   ) -> Iterator[tuple[str, ...]]:
    """The keys a ``fixed`` value sets: itself, or, where it is a section merged into a section of
    the config (as mmengine and mmcv merge a dict over a ``_base_``'s, without ``_delete_``), the
    keys inside it, down to the first one the config lacks."""
    held = lookup(config, parts)
    if isinstance(value, Mapping) and value and isinstance(held, Mapping) \
            and not value.get("_delete_"):
        for name, inner in value.items():
            yield from _merged_leaves((*parts, str(name)), inner, config)
    else:
        yield parts


def variable_targets(space: SweepSpace, base: BaseConfig) -> list[tuple[str, str]]:
    """``(field, message)`` for every top-level key the space sets that the base config reads as
    a variable while it is parsed (:mod:`sweeps.config.variables`)."""
    read = variables_read(base.path)
    keys = [(f"parameters.{name}.targets.{i}", key) for name, param in space.parameters.items()
            for i, key in enumerate(param.targets)] + [("fixed", key) for key in space.fixed]
    out = []
    for field, key in keys:
        parts = parse_key(key)
        if len(parts) != 1 or parts[0] not in read:
            continue
        made = [format_key(k) for k in leaf_keys(base.values) if len(k) > 1 and k[-1] == key]
        out.append((field, f"{key} is a variable the base config reads while it is parsed "
                           f"({read[key]}): what it made is fixed by then, so setting it changes "
                           "nothing the training reads; set the keys that hold its value "
                           f"instead{' (' + ', '.join(made[:3]) + ')' if made else ''}"))
    return out


def mistyped_targets(space: SweepSpace, base: BaseConfig) -> list[tuple[str, str]]:
    """``(field, message)`` for every number knob whose key holds, in the base config, a
    section (a dict or list: the number would replace it whole), a string or a boolean, and every
    categorical knob of words on a key that holds a number."""
    out = []
    for name, param in space.parameters.items():
        if isinstance(param, CategoricalParameter):
            out += _worded_choices(name, param, base)
            continue
        for i, key in enumerate(param.targets):
            value = base.get(key)
            if value is MISSING or value is None or (
                    isinstance(value, int | float) and not isinstance(value, bool)):
                continue
            kind = "a section" if isinstance(value, Mapping | list | tuple) else type(
                value).__name__
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
            out.append((f"parameters.{name}.targets.{i}",
                        f"{key} is {kind} in the base config ({shown}): a {param.type} knob would "
                        "replace it; target a number inside it, or make the knob categorical"))
    return out


def _worded_choices(name: str, param: CategoricalParameter, base: BaseConfig
                    ) -> list[tuple[str, str]]:
    """A categorical knob whose choices are all words on a key that holds a number in the base
    config (``choices: [a, b]`` on ``gaussian_sigma``: the model would get a string)."""
    if not param.choices or not all(isinstance(c, str) for c in param.choices):
        return []
    out = []
    for i, key in enumerate(param.targets):
        value = base.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append((f"parameters.{name}.targets.{i}",
                        f"{key} is a number in the base config ({value!r}), but the choices are "
                        f"words ({', '.join(map(repr, param.choices[:3]))}): the training would "
                        "get a string; give numbers as choices (unquoted), or target the key "
                        "those words belong to"))
    return out


#: where a config states its schedule: mmengine's loop, mmcv 1.x's runner, older mmdet's
SCHEDULE_KEYS = ("train_cfg.max_epochs", "runner.max_epochs", "total_epochs")


def schedule_mismatch(space: SweepSpace, base: BaseConfig) -> str | None:
    """Why the space's ``max_epochs`` is not the schedule the training will run (the base
    config's, or the one ``fixed`` sets), or None; None when no knob and no key states it."""
    keys = [parse_key(k) for k in SCHEDULE_KEYS]
    if any(parse_key(t) in keys for p in space.parameters.values() for t in p.targets):
        return None  # a knob varies the schedule
    fixed = {parse_key(k): v for k, v in space.fixed.items()}
    for key, parts in zip(SCHEDULE_KEYS, keys, strict=True):
        value = fixed[parts] if parts in fixed else base.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            if value == space.max_epochs:
                return None
            source = "fixed" if parts in fixed else f"the base config {base.path.name}"
            return (f"must be the schedule the training runs, but got {space.max_epochs} while "
                    f"{source} trains {value} ({key}); make them equal (a pruned trial stops "
                    "early, none is shortened)")
    return None


def _dead(key: str, parts: tuple[str, ...], base: BaseConfig, where: str, opt_in: str) -> str:
    for i in range(1, len(parts)):
        held = lookup(base.values, parts[:i])
        if isinstance(held, list | tuple) and parts[i].isdigit() and int(parts[i]) >= len(held):
            return (f"{key}: {format_key(parts[:i])} holds {len(held)} item(s) in the base config "
                    f"{base.path.name}; index {parts[i]} is past its end (items are numbered "
                    "from 0)")
    near = nearest_keys(base.values, parts)
    return (f"{key} is {where}: a merge would create it and the training would never read it "
            f"(a dead knob); nearest keys: {', '.join(near) or 'none'}. Fix the key, or {opt_in} "
            "if the training does read it")


def current_params(space: SweepSpace, base: BaseConfig) -> dict[str, Any]:
    """Each parameter's value in the base config (at its first target; a schedule's field: in
    the space's ``schedules``), where it has one."""
    out = {}
    schedules = {name: s.model_dump() for name, s in space.schedules.items()}
    for name, param in space.parameters.items():
        parts = parse_key(param.targets[0])
        value = lookup(schedules, parts[1:]) if parts[0] == TARGET_ROOT else base.get(
            param.targets[0])
        if value is not MISSING:
            out[name] = value
    return out


def enqueued_points(space: SweepSpace, base: BaseConfig) -> list[tuple[str, dict[str, Any]]]:
    """The space's enqueued points, ``params: base_config`` read from the base config.

    Raises:
        SpaceError: the base config lacks a parameter's value, or has one the space's range
            cannot hold.
    """
    current = current_params(space, base)
    points, problems = [], []
    for i, point in enumerate(space.search.enqueue):
        if point.params != BASE_CONFIG_POINT:
            points.append((point.name, dict(point.params)))
            continue
        for name, param in space.parameters.items():
            if name not in current:
                problems.append((f"search.enqueue.{i}.params", f"the base config has no value for "
                                 f"{name} ({format_key(parse_key(param.targets[0]))}); give "
                                 "the point's params explicitly"))
            elif problem := out_of_range(param, current[name]):
                problems.append((f"search.enqueue.{i}.params", f"{name} in the base config "
                                 f"{problem}; widen the parameter's range"))
        points.append((point.name, {k: current.get(k) for k in space.parameters}))
    if problems:
        raise space.problems(problems)
    return points
