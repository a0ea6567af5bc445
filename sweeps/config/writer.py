"""A config file that inherits a base config (``_base_``) and sets overrides as nested dicts: what
a trial trains (``write_trial_config``) and ``export-best`` writes, readable by mmengine's and
mmcv 1.x's ``Config.fromfile``."""

from __future__ import annotations

import os
import pprint
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sweeps.config.base import BaseConfig
from sweeps.config.overrides import flat_overrides, written
from sweeps.constants import TRIAL_CONFIG_FILE
from sweeps.run.failure import TrialError
from sweeps.space import SweepSpace


def config_text(base: BaseConfig, overrides: Mapping[str, Any], out_file: Path,
                header: str) -> str:
    """A config file: ``_base_`` (relative to ``out_file``) plus the overrides, nested as
    :func:`sweeps.config.overrides.written` writes them over the base's values.

    Raises:
        ConfigWriteError: an override indexes past the end of a list of the base config.
    """
    base_file = os.path.relpath(os.path.abspath(base.path), out_file.absolute().parent)
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"_base_ = [{base_file!r}]", ""]
    for key, value in written(overrides, base.values).items():
        lines.append(f"{key} = {pprint.pformat(value, sort_dicts=False, width=96)}")
    return "\n".join(lines) + "\n"


def write_trial_config(space: SweepSpace, base: BaseConfig, params: dict, work_dir: Path,
                       extra: Mapping[str, Any] | None = None) -> Path:
    """``<work_dir>/aqr_sweep/trial_config.py``: what the trial trains, reproducible from this
    file alone (``extra``: overrides on top, e.g. a smoke run's log interval).

    Raises:
        TrialError: the work dir was trained with other parameters.
    """
    path = work_dir / TRIAL_CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (f"Trial config of sweep {space.name} (aqr-sweep): the base config plus this trial's "
              f"overrides.\nparams: {params}")
    text = config_text(base, {**flat_overrides(space, params, base), **(extra or {})}, path,
                       header)
    if path.is_file() and path.read_text() != text:
        raise TrialError(f"{work_dir} was trained with other parameters (see {path}); its "
                         "checkpoints belong to that configuration and are not resumed with "
                         "these. Move the work dir away, or start a new sweep with --name")
    path.write_text(text)
    return path
