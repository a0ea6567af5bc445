"""Setting up a sweep: its folder, the copy of its space, its study and its MLflow parent run."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from sweeps.config.base import enqueued_points, load_base_config
from sweeps.constants import TrialAttr
from sweeps.errors import DamagedStoreError, SweepExistsError, SweepNotFoundError
from sweeps.space import SweepSpace, load_space
from sweeps.store.lock import DriverLock
from sweeps.store.study import load_study, open_study
from sweeps.store.sweep_dir import PREFLIGHT_DIR, SweepDir, SweepRecord, default_tracking_uri
from sweeps.tracking.runs import (
    check_parent_run,
    experiment_id,
    start_parent_run,
    tracking_store,
)


def create_sweep(space_file: str | Path, name: str | None = None, check_base_config: bool = True
                 ) -> tuple[SweepDir, SweepSpace, SweepRecord]:
    """Validate the space and set up the sweep's folder, study storage and MLflow parent run.

    A sweep that holds only imported trials (``aqr-sweep import-log``) is taken over as it is.

    Args:
        space_file: The space YAML.
        name: Sweep name (default: the space's).
        check_base_config: Require the base config to exist here (importing logs does not).

    Raises:
        SpaceError: a bad space, a missing base config or a key it does not have.
        SweepExistsError: a sweep of that name has already run trials.
    """
    space_path = Path(space_file)
    space = load_space(space_path)
    if check_base_config:  # every key it sets exists, every enqueued point fits: else no sweep
        enqueued_points(space, load_base_config(space, space_path))
    sweep = SweepDir(name or space.name)
    if sweep.exists():  # taken over: it holds no trial (a preflight that failed, imported runs)
        _refuse_unless_only_imported(sweep)
        record = sweep.read()
        check_parent_run(sweep, record)  # its imported runs live there
        shutil.copyfile(space_path, sweep.space_file)
        record = replace(record, space_file=str(space_path.absolute()))
        sweep.write(record)
        return sweep, space, record
    if sweep.path.is_dir() and any(p.name not in (DriverLock.FILE, PREFLIGHT_DIR)
                                   for p in sweep.path.iterdir()):
        raise SweepExistsError(
            f"{sweep.path} already holds files of a sweep named {sweep.name!r}, but no "
            f"{sweep.record_file.name} to read it by; pick another name with --name (or move "
            "the folder away)")
    tracking_uri = space.tracking.uri or default_tracking_uri()
    sweep.path.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(space_path, sweep.space_file)
    with tracking_store(tracking_uri) as client:
        experiment = experiment_id(client, space)
        parent = start_parent_run(client, experiment, space, sweep.space_file)
    record = SweepRecord(sweep.name, str(space_path.absolute()), tracking_uri, experiment, parent)
    open_study(space, sweep)  # there from the start: a sweep stopped before a trial is taken over
    sweep.write(record)
    return sweep, space, record


def _refuse_unless_only_imported(sweep: SweepDir) -> None:
    """A sweep of that name exists: go on only if it holds nothing but imported runs.

    Raises:
        SweepExistsError: it ran trials, or its study cannot be read (a lost ``optuna.db`` must
            not make ``run`` take the old folder over and run its trials again).
    """
    try:
        study = load_study(sweep)
    except (SweepNotFoundError, DamagedStoreError) as err:
        raise SweepExistsError(
            f"a sweep named {sweep.name!r} already exists in {sweep.path}, but its study cannot "
            f"be read ({err}). Pick another name with --name; once its study is restored, go on "
            f"with `aqr-sweep resume {sweep.name}`") from None
    if any(not t.user_attrs.get(TrialAttr.IMPORTED) for t in study.get_trials(deepcopy=False)):
        raise SweepExistsError(
            f"a sweep named {sweep.name!r} already exists in {sweep.path}; continue it with "
            f"`aqr-sweep resume {sweep.name}` or pick another with --name")
