"""A sweep's Optuna study, persisted in its folder: opening it, and the bookkeeping of trials a
dead driver left running."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import optuna

from sweeps.constants import TrialAttr, interrupted_key
from sweeps.errors import DamagedStoreError, SweepNotFoundError
from sweeps.run.pruners import build_pruner
from sweeps.run.repeats import is_repeat
from sweeps.run.samplers import build_sampler
from sweeps.space import SweepSpace
from sweeps.store.sweep_dir import SweepDir

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
            optuna.trial.TrialState.FAIL)


def new_study(space: SweepSpace, storage: str | None = None, name: str | None = None
              ) -> optuna.Study:
    """A study with the space's direction, sampler and pruner (in memory without ``storage``;
    an existing one of that name is loaded)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=name, storage=storage, load_if_exists=storage is not None,
        direction=space.mode.direction,
        sampler=build_sampler(space), pruner=build_pruner(space))


def enqueue_points(study: optuna.Study, points: list[tuple[str, dict]]) -> None:
    """Queue the space's enqueued points, each labelled, to be proposed first."""
    for label, params in points:
        study.enqueue_trial(params, user_attrs={TrialAttr.LABEL: label})


def open_study(space: SweepSpace, sweep: SweepDir) -> optuna.Study:
    """The sweep's study, with the space's sampler (seeded past the trials it holds: see
    :func:`sweeps.run.samplers.build_sampler`) and pruner; created on first use."""
    sweep.path.mkdir(parents=True, exist_ok=True)
    study = new_study(space, sweep.study_storage, sweep.name)
    held = len(study.get_trials(deepcopy=False))
    if held:
        study.sampler = build_sampler(space, held)
    return study


def load_study(sweep: SweepDir) -> optuna.Study:
    """The sweep's study, to read or go on with (never created here). Its file is checked
    read-only first: a store that cannot be read is refused before Optuna opens it (which would
    write its tables into an empty file).

    Raises:
        SweepNotFoundError: the sweep has no study file.
        DamagedStoreError: the file is empty, not an Optuna study, or lacks the sweep's study.
    """
    if not sweep.study_file.is_file():
        raise SweepNotFoundError(f"sweep {sweep.name!r} has no study ({sweep.study_file} is "
                                 "missing): its trials cannot be read or resumed; start a new "
                                 "sweep with `aqr-sweep run SPACE --name NEW`")
    problem = _study_file_problem(sweep)
    if problem is None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            return optuna.load_study(study_name=sweep.name, storage=sweep.study_storage)
        except Exception as err:  # noqa: BLE001 - sqlite/alembic/Optuna errors of a damaged file
            problem = f"{type(err).__name__}: " + (str(err).strip().splitlines() or [""])[0][:200]
    raise DamagedStoreError(f"sweep {sweep.name!r}: its study {sweep.study_file} cannot be read "
                            f"({problem}); nothing was changed. Restore it from a backup, or "
                            "start a new sweep with `aqr-sweep run SPACE --name NEW`")


#: the first bytes of every SQLite database file
_SQLITE_HEADER = b"SQLite format 3\x00"


def _study_file_problem(sweep: SweepDir) -> str | None:
    """Why the study file cannot be a readable Optuna study of the sweep, found without writing
    to it (a read-only connection), or None."""
    from optuna.storages._rdb.models import BaseModel

    try:
        with open(sweep.study_file, "rb") as f:
            head = f.read(len(_SQLITE_HEADER))
        if not head:
            return "it is empty (0 bytes)"
        if head != _SQLITE_HEADER:
            return "it is not an SQLite database"
        with closing(sqlite3.connect(f"file:{sweep.study_file}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master "
                                                   "WHERE type = 'table'")}
            missing = sorted(set(BaseModel.metadata.tables) - tables)
            if missing:
                return f"it lacks Optuna's tables {', '.join(missing)}"
            if db.execute("SELECT 1 FROM studies WHERE study_name = ?",
                          (sweep.name,)).fetchone() is None:
                return f"it holds no study named {sweep.name!r}"
    except (OSError, sqlite3.Error) as err:
        return f"{type(err).__name__}: {err}"
    return None


def interrupted_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The trials a dead driver left RUNNING: a resumed sweep runs each of them again as the same
    Optuna trial (its curve goes on), in its own work dir, from its latest checkpoint."""
    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))


def trials_to_run(space: SweepSpace, study: optuna.Study) -> int:
    """The space's trial count less the trials that already ended (imported ones, proposals set
    aside as repeats, and those an older version marked interrupted and ran again as new trials,
    excluded)."""
    done = [t for t in study.get_trials(deepcopy=False, states=FINISHED)
            if not study.user_attrs.get(interrupted_key(t.number))
            and not t.user_attrs.get(TrialAttr.IMPORTED) and not is_repeat(t)]
    return max(space.num_trials() - len(done), 0)


def changed_parameters(space: SweepSpace, study: optuna.Study) -> str | None:
    """Why the sweep's trials cannot go on under ``space`` (its copy, edited since): a
    parameter they were run with is gone from it, or one it has is new to them; or None."""
    runs = [t for t in study.get_trials(deepcopy=False)
            if t.params and not t.user_attrs.get(TrialAttr.IMPORTED) and not is_repeat(t)]
    ran = {name for t in runs for name in t.params}
    gone = sorted(ran - set(space.parameters))
    new = sorted(name for name in set(space.parameters) - ran
                 if runs and all(space.active(name, t.params) for t in runs))
    if not gone and not new:
        return None
    said = "; ".join(part for part in (
        f"its trials ran with {', '.join(gone)}, which it no longer has" if gone else "",
        f"{', '.join(new)} is new to them" if new else "") if part)
    return (f"{said}; a sweep keeps the parameters it began with: undo the change to resume, "
            "or run the changed space as a new sweep (--name)")
