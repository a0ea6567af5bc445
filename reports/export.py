"""``aqr-sweep export-best``: the best trial as a config file ``tools/train.py`` takes as it is."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reports.sweep_data import SweepData
from sweeps.config.base import load_base_config
from sweeps.config.overrides import cfg_options, flat_overrides
from sweeps.config.writer import config_text
from sweeps.constants import CURRENT_LABEL, TrialAttr, TrialState
from sweeps.errors import BadOptionError, NoResultError
from sweeps.run.ranking import Ranking, describe, interval_basis, params_key


@dataclass
class BestTrial:
    """The configuration to export, and how it was chosen (:mod:`sweeps.run.ranking`).

    Attributes:
        number: Its first run the ranking stands on (whose config and checkpoint are exported).
        value: Its mean final metric over its runs (or its value at ``at_epoch``).
        runs: How many runs (training seeds) the mean is over.
        half_width: The half-width of the mean's 95% interval (NaN: no noise estimate, no
            configuration ran twice).
        tied_with: The first runs of the configurations tied with it within noise.
        versus_current: ``best vs current: +d ± e METRIC over n seed(s) (95%; seed noise from k
            re-runs)``, or None.
        at_epoch: When none of its runs completed: the epoch its value is from (its run was
            stopped there, or is still running), else None.
        noise_dof: The degrees of freedom of the noise ``half_width`` rests on.
    """

    number: int
    value: float
    params: dict[str, Any]
    work_dir: str
    runs: int = 1
    half_width: float = math.nan
    tied_with: list[int] = field(default_factory=list)
    versus_current: str | None = None
    at_epoch: int | None = None
    noise_dof: int = 0


def best_trial(data: SweepData) -> BestTrial:
    """The configuration the ranking puts first (its mean over its runs, less
    ``search.confirm.pessimism`` standard errors), with the configurations tied with it and how
    it compares with ``current``.

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
    ranking = data.ranking
    best = ranking.best
    first = best.trials[0]
    params = dict(data.study.trials[first].params)  # as Optuna holds them (types kept)
    work_dir = str(data.trials.set_index("trial").loc[first, "work_dir"])
    return BestTrial(first, best.mean, params, work_dir, best.runs, best.half_width,
                     [s.trials[0] for s in ranking.tied()],
                     versus_current(data, ranking), best.at_epoch, best.noise_dof)


def describe_mean(best: BestTrial) -> str:
    """``0.3381 ± 0.0120 over 2 seed(s) (95%; ...)`` (see :func:`sweeps.run.ranking.describe`)."""
    return describe(best.value, best.runs, best.half_width, best.at_epoch, best.noise_dof)


def versus_current(data: SweepData, ranking: Ranking) -> str | None:
    """``best vs current: +d ± e METRIC over n seed(s) (95%; seed noise from k re-runs)`` (e:
    the 95% interval of the difference from the sweep's seed noise); ``not compared`` when one
    of the two has no completed run; None when ``current`` has no run or is the best."""
    current = next((t for t in data.study.get_trials(deepcopy=False)
                    if t.user_attrs.get(TrialAttr.LABEL) == CURRENT_LABEL and t.params), None)
    standing = ranking.of(params_key(current.params)) if current is not None else None
    best = ranking.best
    if standing is None or best is None or standing.key == best.key:
        return None
    metric = data.space.metric.rsplit("/", 1)[-1]
    if best.at_epoch is not None or standing.at_epoch is not None:
        partial = best if best.at_epoch is not None else standing
        who = "best" if partial is best else "current"
        return (f"best vs current: not compared (no run of {who} completed: its {metric} is "
                f"epoch {partial.at_epoch}'s, not a final)")
    diff = best.mean - standing.mean
    seeds = min(best.runs, standing.runs)
    if math.isnan(ranking.noise):
        return (f"best vs current: {diff:+.4f} {metric} over {seeds} seed(s) (no noise "
                "estimate: no configuration ran twice)")
    spread = ranking.noise * math.sqrt(1 / best.runs + 1 / standing.runs)
    return (f"best vs current: {diff:+.4f} ± {ranking.t * spread:.4f} {metric} over {seeds} "
            f"seed(s) {interval_basis(ranking.noise_dof)}")


def latest_checkpoint(work_dir: str) -> str | None:
    """The checkpoint a trial's training left: mmengine's ``last_checkpoint`` or the newest .pth."""
    path = Path(work_dir)
    pointer = path / "last_checkpoint"
    if pointer.is_file():
        return pointer.read_text().strip()
    checkpoints = sorted(path.glob("*.pth"), key=lambda p: p.stat().st_mtime)
    return str(checkpoints[-1]) if checkpoints else None


def check_output(out_file: Path, data: SweepData, base: Path, fmt: str) -> None:
    """Raises BadOptionError: ``out_file`` cannot be written as a file (a directory, or a path
    under a file), would overwrite what the sweep reads back (a file in its folder, the space it
    was made from, or the base config the export builds on), or lacks the suffix of ``fmt``."""
    example = f"best.{fmt}"
    if out_file.is_dir():
        raise BadOptionError(f"-o {out_file} is a directory; give a file path such as "
                             f"{out_file / example}")
    above = next(p for p in out_file.absolute().parents if p.exists())
    if not above.is_dir():
        raise BadOptionError(f"-o {out_file}: {above} is a file, not a directory; give a file "
                             f"path such as {example}")
    target = out_file.resolve()
    if target.is_relative_to(data.sweep_dir.path.resolve()):
        raise BadOptionError(f"-o {out_file} is in the folder of sweep {data.name!r} "
                             f"({data.sweep_dir.path}), which holds its space, study and trials; "
                             f"give a path outside it such as {example}")
    for own, what in ((Path(data.record.space_file), "space file"), (base, "base config")):
        if target == own.resolve():
            raise BadOptionError(f"-o {out_file} is the {what} of sweep {data.name!r}; give "
                                 f"another file path such as {example}")
    suffixes = {"py": (".py",), "yaml": (".yaml", ".yml")}[fmt]
    if out_file.suffix not in suffixes:
        other = "yaml" if fmt == "py" else "py"
        raise BadOptionError(f"-o {out_file}: a {fmt} export must end in {suffixes[0]} (configs "
                             f"are read by their suffix); name it "
                             f"{out_file.with_suffix(suffixes[0]).name}, or give --format {other}")


def export_best(data: SweepData, out_file: Path, fmt: str = "py") -> tuple[BestTrial, list[str]]:
    """Write the best trial's config (``py``) or bare params (``yaml``), creating its folder;
    return the trial and its ``--cfg-options``.

    Raises:
        BadOptionError: a bad ``fmt`` or ``out_file`` (:func:`check_output`).
        NoResultError: no trial completed.
    """
    if fmt not in ("py", "yaml"):
        raise BadOptionError(f"--format must be 'py' or 'yaml', but got {fmt!r}")
    best = best_trial(data)
    base = load_base_config(data.space, Path(data.record.space_file))
    check_output(out_file, data, base.path, fmt)
    out_file.parent.mkdir(parents=True, exist_ok=True)  # as mmengine's mkdir_or_exist
    overrides = flat_overrides(data.space, best.params, base)  # a schedule: its hook too
    if fmt == "yaml":
        out_file.write_text(yaml.safe_dump(best.params, sort_keys=False))
    else:
        header = (f"Best configuration of sweep {data.name} (trial {best.number}): "
                  f"{data.space.metric} = {describe_mean(best)}\nparams: {best.params}")
        out_file.write_text(config_text(base, overrides, out_file, header))
    return best, cfg_options(overrides)
