"""The checks across a space's fields, one named function each: parameter names, config keys
set twice, schedules that searched values could break, conditions, enqueued points, grid sweeps,
the pruner's warm-up and a confirmation stage without seeds."""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

from sweeps.config.keys import format_key, parse_key
from sweeps.space.checks import Found
from sweeps.space.parameters import CategoricalParameter, FloatParameter, out_of_range, same_choice
from sweeps.space.schedule import KINDS, TARGET_ROOT, arguments_problem, schedule_target
from sweeps.space.specs import BASE_CONFIG_POINT

#: a :class:`sweeps.space.space.SweepSpace` (not imported: that module imports this one)
SweepSpace = Any

#: a parameter's name is also an Optuna/MLflow parameter and part of report file names
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,99}")
#: points of a ``grid`` sweep
MAX_GRID_POINTS = 100_000


def cross_field_problems(space: SweepSpace) -> list[Found]:
    """Every problem across the space's fields."""
    return [*_parameter_name_problems(space), *_key_problems(space),
            *_schedule_problems(space), *_condition_problems(space), *_enqueue_problems(space),
            *_grid_problems(space), *_warmup_problems(space), *_confirm_problems(space)]


def allowed_values(values: Any) -> list:
    """A ``when``'s value or list of values, as a list."""
    return values if isinstance(values, list) else [values]


def _parameter_name_problems(space: SweepSpace) -> list[Found]:
    """Names that cannot be Optuna/MLflow parameters and report file names."""
    return [(("parameters", name), "a parameter's name must be a letter or '_', then letters, "
             "digits, '_' or '-' (at most 100; it names Optuna and MLflow parameters and report "
             f"files), but got {name if len(name) <= 60 else name[:60] + '...'!r}; rename it, "
             "e.g. max_weight_clamp")
            for name in space.parameters if not _PARAM_NAME.fullmatch(name)]


def _key_problems(space: SweepSpace) -> list[Found]:
    """Config keys that do not parse, parameters without keys, and keys set twice (by two
    parameters, or by a parameter and ``fixed``)."""
    found: list[Found] = []
    fixed = {}
    for key in space.fixed:
        try:
            fixed[parse_key(key)] = key
        except ValueError as err:
            found.append((("fixed", key), str(err)))
    claimed: dict[tuple[str, ...], str] = {}
    for name, param in space.parameters.items():
        if not param.targets:
            found.append((("parameters", name, "targets"), "give at least one config key"))
        for i, key in enumerate(param.targets):
            where = ("parameters", name, "targets", i)
            try:
                parts = parse_key(key)
            except ValueError as err:
                found.append((where, str(err)))
                continue
            if parts[0] == TARGET_ROOT and (problem := schedule_target(parts, space.schedules)):
                found.append((where, problem))
                continue
            if parts in claimed:
                found.append((where, f"{key!r} is already set by parameter {claimed[parts]!r}"))
            elif parts in fixed:
                found.append((where, f"{key!r} is also in fixed"))
            elif nested := next((k for k in (*claimed, *fixed) if _nests(k, parts)), None):
                owner = f"parameter {claimed[nested]!r}" if nested in claimed else "fixed"
                value = space.fixed[fixed[nested]] if nested in fixed else None
                section = isinstance(value, dict) and not value.get("_delete_")  # merged
                found.append((where, f"{key!r} lies inside {format_key(nested)!r}, a section "
                                     "fixed sets; write fixed's keys dotted, down to the values "
                                     "it sets, so that none holds a parameter's target"
                              if section else
                              f"{key!r} and {format_key(nested)!r} ({owner}) are one "
                              "inside the other: the outer one would replace the inner "
                              "one's section; target leaves that do not nest"))
            claimed[parts] = name
    found += [(("create_fixed", i), f"{key!r} is not a key of fixed; list only keys that fixed "
                                    "sets (a misspelt one would create nothing)")
              for i, key in enumerate(space.create_fixed) if key not in space.fixed]
    return found


def _nests(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether one of two different keys lies inside the other."""
    n = min(len(a), len(b))
    return a != b and a[:n] == b[:n]


def _schedule_problems(space: SweepSpace) -> list[Found]:
    """Each kind a schedule can take (its own, or a searched ``kind``'s choices) must be a kind,
    and make a schedule at every corner of the searched ranges of its arguments."""
    found: list[Found] = []
    searched: dict[str, list[tuple[str, tuple[str, ...], list]]] = {}
    for name, param in space.parameters.items():
        for key in param.targets:
            try:
                parts = parse_key(key)
            except ValueError:
                continue  # _key_problems names it
            if parts[0] == TARGET_ROOT and not schedule_target(parts, space.schedules):
                corners = (param.choices if isinstance(param, CategoricalParameter)
                           else [param.low, param.high])
                searched.setdefault(parts[1], []).append((name, parts[2:], corners))
    for schedule, spec in space.schedules.items():
        fields = searched.get(schedule, [])
        kinds = next((c for _, f, c in fields if f == ("kind",)), [spec.kind])
        kind_param = next((n for n, f, _ in fields if f == ("kind",)), None)
        for kind in kinds:
            if kind not in KINDS:
                found.append((("parameters", kind_param, "choices"), f"{kind!r} is not a "
                              f"schedule kind; kinds: {', '.join(KINDS)}"))
                continue
            own = [(n, f[2] if len(f) > 2 else None, f[1], c) for n, f, c in fields
                   if f[0] == kind]
            for corner in itertools.product(*(c for *_, c in own)):
                args = spec.arguments(kind)
                args = {k: list(v) if isinstance(v, list) else v for k, v in args.items()}
                for (_, index, arg, _), value in zip(own, corner, strict=True):
                    if index is None:
                        args[arg] = value
                    elif arg in args:
                        args[arg][int(index)] = value
                problem = arguments_problem(kind, args)
                if problem:
                    at = ", ".join(f"{n}={v}" for (n, *_), v in zip(own, corner, strict=True))
                    where = ("parameters", own[0][0]) if own else (
                        ("parameters", kind_param, "choices") if kind_param
                        else ("schedules", schedule))
                    found.append((where, f"schedule {schedule!r} as {kind}: {problem}"
                                  + (f" (at {at}); narrow the ranges" if at else
                                     f"; give schedules.{schedule}.{kind} in full")))
                    break
    return found


def _condition_problems(space: SweepSpace) -> list[Found]:
    """A ``when`` names categorical parameters without conditions of their own, and values
    among their choices."""
    found: list[Found] = []
    switches = sorted(n for n, p in space.parameters.items()
                      if isinstance(p, CategoricalParameter) and not p.when)
    for name, param in space.parameters.items():
        for other, allowed in (param.when or {}).items():
            where = ("parameters", name, "when", other)
            given = space.parameters.get(other)
            if other not in switches or other == name:
                found.append((where, "must name another categorical parameter without a when "
                              f"of its own: one of {[s for s in switches if s != name]}"))
                continue
            for value in allowed_values(allowed):
                if not any(same_choice(value, c) for c in given.choices):
                    found.append((where, f"{value!r} is not one of {other}'s choices "
                                         f"{given.choices}"))
    return found


def _enqueue_problems(space: SweepSpace) -> list[Found]:
    """Enqueued points that miss a parameter, name an unknown one, or hold a value out of its
    range."""
    found: list[Found] = []
    points = space.search.enqueue
    if len(points) > space.num_trials():
        found.append((("search", "enqueue"), f"{len(points)} points but the sweep runs "
                      f"{space.num_trials()} trials, so the last would never run; raise "
                      "search.num_trials or enqueue fewer"))
    names = [point.name for point in points]
    found += [(("search", "enqueue", i, "name"), f"{name!r} names an earlier point too; give "
                                                  "each point its own name")
              for i, name in enumerate(names) if name in names[:i]]
    for i, point in enumerate(points):
        if point.params == BASE_CONFIG_POINT:
            continue
        missing = sorted(n for n in set(space.parameters) - set(point.params)
                         if space.active(n, point.params))
        if missing:
            found.append((("search", "enqueue", i, "params"), f"no value for {', '.join(missing)}; "
                          "give every parameter (or params: base_config)"))
        for name, value in point.params.items():
            where = ("search", "enqueue", i, "params", name)
            if name not in space.parameters:
                found.append((where, f"unknown parameter; known: {sorted(space.parameters)}"))
            elif problem := out_of_range(space.parameters[name], value):
                found.append((where, problem))
    return found


def _grid_problems(space: SweepSpace) -> list[Found]:
    """A grid sweep needs a step on every float and at most :data:`MAX_GRID_POINTS` points."""
    if space.search.sampler != "grid":
        return []
    found: list[Found] = [(("parameters", name), "sampler 'grid' needs a step on float "
                           "parameters (or make it categorical)")
                          for name, p in space.parameters.items()
                          if isinstance(p, FloatParameter) and p.step is None]
    found += [(("parameters", name, "when"), "sampler 'grid' runs every combination of every "
               "parameter and cannot leave one out; drop the when, or use sampler tpe or random")
              for name, p in space.parameters.items() if p.when]
    sizes = [p.grid_size() for p in space.parameters.values()]
    if all(sizes) and math.prod(sizes) > MAX_GRID_POINTS:
        found.append((("search", "sampler"), f"a grid sweep may have at most {MAX_GRID_POINTS} "
                      f"points, but this grid has {math.prod(sizes)} "
                      f"({' x '.join(map(str, sizes))}); use coarser steps, fewer choices or "
                      "another sampler (tpe, random)"))
    return found


def _warmup_problems(space: SweepSpace) -> list[Found]:
    """A warm-up as long as the schedule would never prune."""
    warmup = space.pruner.warmup_epochs
    if space.pruner.type == "none" or warmup < space.max_epochs:
        return []
    return [(("pruner", "warmup_epochs"), f"must be < max_epochs ({space.max_epochs}): a trial "
             "is never pruned during its warm-up, so no trial could ever be pruned, but got "
             f"{warmup}; lower it (e.g. {max(0, space.max_epochs // 3)}), or set pruner type: "
             "none")]


def _confirm_problems(space: SweepSpace) -> list[Found]:
    """Confirmation runs need a new training seed each, which the command must take; kept for
    the end, they need trials before them to have finalists; as leaders lead, trials after the
    ``after`` completed ones."""
    confirm = space.search.confirm
    if confirm is None or not confirm.seeds or not confirm.top_k:
        return []
    if not space.takes_seed:
        return [(("search", "confirm"), "re-runs the leading configurations with new training "
                 "seeds, but the command takes no '{seed}': add it (e.g. --seed {seed}), or set "
                 "search.confirm.seeds: 0")]
    kept = confirm.reserved + len(space.search.enqueue)
    if confirm.when == "end" and space.num_trials() <= kept:
        return [(("search", "confirm", "when"), f"'end' keeps the last {confirm.reserved} "
                 f"trials (top_k * seeds + seeds) for the finalists and the enqueued points "
                 f"take {len(space.search.enqueue)}, so num_trials must be more than {kept} to "
                 f"leave any for the search, but got {space.num_trials()}; raise "
                 "search.num_trials, or set when: leading")]
    if confirm.when == "leading" and confirm.after >= space.num_trials():
        return [(("search", "confirm", "after"), f"must be < num_trials ({space.num_trials()}): "
                 "leaders are re-run once that many runs completed, which never happens before "
                 f"the sweep's last trial, but got {confirm.after}; lower it (e.g. "
                 f"{min(3, space.num_trials() // 2)}), or raise search.num_trials")]
    return []
