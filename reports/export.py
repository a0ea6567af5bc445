"""``aqr-sweep export-best``: the best trial as a config file ``tools/train.py`` takes as it is."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reports.sweep_data import SweepData
from sweeps.config.base import resolve_base_config
from sweeps.config.overrides import cfg_options, flat_overrides
from sweeps.config.writer import config_text
from sweeps.constants import TrialState
from sweeps.errors import BadOptionError, NoResultError


@dataclass
class BestTrial:
    """The trial to export, and how it was chosen."""

    number: int
    value: float
    params: dict[str, Any]
    work_dir: str
    tied_with: list[int]


def best_trial(data: SweepData) -> BestTrial:
    """The completed trial with the best final metric (ties: the first, the others named).

    Raises:
        NoResultError: no trial completed, with what the sweep holds instead.
    """
    done = data.trials[(data.trials["state"] == TrialState.COMPLETED)
                       & data.trials["value"].notna()]
    if done.empty and (data.trials["state"] == TrialState.IMPORTED).all() and len(data.trials):
        raise NoResultError(f"sweep {data.name!r} holds only imported runs (references on their "
                            "own schedules, never exported); run its trials with `aqr-sweep run "
                            f"SPACE --name {data.name}`")
    if done.empty:
        counts = ", ".join(f"{n} {s}" for s, n in data.trials["state"].value_counts().items())
        raise NoResultError(f"sweep {data.name!r} has no completed trial ({counts or 'no trials'}); "
                         f"run more with `aqr-sweep resume {data.name}` or look at "
                         f"`aqr-sweep status {data.name}`")
    values = done["value"].astype(float)
    target = data.space.mode.pick(values)
    tied = done[values.apply(lambda v: math.isclose(v, target, rel_tol=0, abs_tol=1e-12))]
    row = tied.iloc[0]
    params = dict(data.study.trials[int(row["trial"])].params)  # as Optuna holds them (types kept)
    return BestTrial(int(row["trial"]), float(row["value"]), params, str(row["work_dir"]),
                     [int(t) for t in tied["trial"].iloc[1:]])


def latest_checkpoint(work_dir: str) -> str | None:
    """The checkpoint a trial's training left: mmengine's ``last_checkpoint`` or the newest .pth."""
    path = Path(work_dir)
    pointer = path / "last_checkpoint"
    if pointer.is_file():
        return pointer.read_text().strip()
    checkpoints = sorted(path.glob("*.pth"), key=lambda p: p.stat().st_mtime)
    return str(checkpoints[-1]) if checkpoints else None


def export_best(data: SweepData, out_file: Path, fmt: str = "py") -> tuple[BestTrial, list[str]]:
    """Write the best trial's config (``py``) or bare params (``yaml``); return the trial and its
    ``--cfg-options``."""
    best = best_trial(data)
    overrides = flat_overrides(data.space, best.params)
    if fmt == "yaml":
        out_file.write_text(yaml.safe_dump(best.params, sort_keys=False))
    elif fmt == "py":
        base = resolve_base_config(data.space, Path(data.record.space_file))
        header = (f"Best trial {best.number} of sweep {data.name}: {data.space.metric} = "
                  f"{best.value:.4f}\nparams: {best.params}")
        out_file.write_text(config_text(base, overrides, out_file, header))
    else:
        raise BadOptionError(f"--format must be 'py' or 'yaml', but got {fmt!r}")
    return best, cfg_options(overrides)
