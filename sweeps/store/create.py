"""Setting up a sweep: its folder, the copy of its space, its study and its MLflow parent run."""

from __future__ import annotations

import shutil
from pathlib import Path

from sweeps.config.base import enqueued_points, load_base_config
from sweeps.constants import TrialAttr
from sweeps.errors import SweepExistsError
from sweeps.space import SweepSpace, load_space
from sweeps.store.study import open_study
from sweeps.store.sweep_dir import SweepDir, SweepRecord, default_tracking_uri
from sweeps.tracking.runs import experiment_id, start_parent_run, tracking_store


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
    if sweep.exists():
        study = open_study(space, sweep)
        if any(not t.user_attrs.get(TrialAttr.IMPORTED) for t in study.get_trials(deepcopy=False)):
            raise SweepExistsError(
                f"a sweep named {sweep.name!r} already exists in {sweep.path}; continue it with "
                f"`aqr-sweep resume {sweep.name}` or pick another with --name")
        return sweep, space, sweep.read()
    tracking_uri = space.tracking.uri or default_tracking_uri()
    sweep.path.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(space_path, sweep.space_file)
    with tracking_store(tracking_uri) as client:
        experiment = experiment_id(client, space)
        parent = start_parent_run(client, experiment, space, sweep.space_file)
    record = SweepRecord(sweep.name, str(space_path.absolute()), tracking_uri, experiment, parent)
    sweep.write(record)
    return sweep, space, record
