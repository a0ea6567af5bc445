"""Configurations ranked by their mean over runs, with the seed noise the sweep measured.

A configuration is its exact parameters; each run of it that completed the schedule (the first,
and the confirmation runs with other training seeds) gives one final value. The noise is the
pooled standard deviation of the runs of the configurations run more than once. The answer is the
configuration with the best *pessimistic* mean (its mean less ``pessimism`` standard errors,
``search.confirm.pessimism``), so that one lucky run does not outrank a configuration measured
twice unless it beats it by the noise; the configurations whose interval reaches the answer's
mean are tied with it within noise.

A run that did not complete counts too (stopped by the pruner, or still running: the answer is
the one the sweep would give if it stopped now), as Ray Tune's ``get_best_result(scope="last")``
counts it: a configuration with no completed run stands on the last value of its furthest run (an
earlier epoch's value, which on a rising curve understates its final), so a trial whose value
already beats every completed mean is the answer (and, with a confirmation stage, a finalist re-run
in full). Such runs count only beside completed ones: with none, there is no answer yet.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats

from sweeps.constants import DEFAULT_PESSIMISM, Mode

#: the two-sided confidence of a configuration's interval
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Run:
    """One run: its configuration, its value (final, or at ``at_epoch``), which trial it was."""

    key: Hashable
    value: float
    trial: int = -1
    #: the epoch its value is from when it did not complete (stopped, or running); None: it did
    at_epoch: int | None = None


@dataclass(frozen=True)
class Standing:
    """A configuration's runs and what they say.

    Attributes:
        key: The configuration.
        values: Its completed runs' final values, in trial order (or its furthest run's value
            at ``at_epoch``).
        trials: Their trial numbers.
        mean: Their mean.
        stderr: The noise over the square root of the runs (NaN without a noise estimate).
        half_width: The half-width of the mean's ``CONFIDENCE`` interval (NaN without one).
        at_epoch: For a configuration with no completed run: the epoch its furthest run's
            value is from (stopped, or still running); None when it stands on completed runs.
        noise_dof: The degrees of freedom of the noise its interval rests on (the ranking's).
    """

    key: Hashable
    values: tuple[float, ...]
    trials: tuple[int, ...]
    mean: float
    stderr: float
    half_width: float
    at_epoch: int | None
    noise_dof: int

    @property
    def runs(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Ranking:
    """Every configuration, best first (by pessimistic mean), and the noise it rests on."""

    standings: tuple[Standing, ...]
    mode: Mode
    #: the pooled seed noise (standard deviation of one run; NaN: no configuration ran twice)
    noise: float
    #: its degrees of freedom (runs beyond the first, summed over configurations)
    noise_dof: int

    @property
    def t(self) -> float:
        """Student's t for the ``CONFIDENCE`` interval at the noise's degrees of freedom."""
        return float(stats.t.ppf(0.5 + CONFIDENCE / 2, self.noise_dof)) if self.noise_dof \
            else math.nan

    @property
    def best(self) -> Standing | None:
        return self.standings[0] if self.standings else None

    def tied(self) -> list[Standing]:
        """The others whose interval reaches the best's mean (without a noise estimate: those
        with the very same mean)."""
        best = self.best
        if best is None:
            return []
        reach = (lambda s: 0.0) if math.isnan(self.noise) else (lambda s: s.half_width)
        return [s for s in self.standings[1:]
                if self.mode.sign * (best.mean - s.mean) <= reach(s)]

    def of(self, key: Hashable) -> Standing | None:
        return next((s for s in self.standings if s.key == key), None)


def rank(runs: Iterable[Run], mode: Mode, pessimism: float = DEFAULT_PESSIMISM) -> Ranking:
    """Group ``runs`` by configuration and rank the configurations by their mean less
    ``pessimism`` standard errors: on their completed runs, or (none completed) on their furthest
    run, once some run completed."""
    grouped: dict[Hashable, list[Run]] = {}
    for run in runs:
        if not math.isnan(run.value):
            grouped.setdefault(run.key, []).append(run)
    completed = {key: [r for r in group if r.at_epoch is None]
                 for key, group in grouped.items()}
    if not any(completed.values()):
        return Ranking((), mode, math.nan, 0)
    noise, dof = pooled_noise([r.value for r in group] for group in completed.values())
    t = Ranking((), mode, noise, dof).t
    standings = []
    for key, group in grouped.items():
        chosen = completed[key] or [max(group, key=lambda r: (r.at_epoch,
                                                              mode.sign * r.value))]
        values = tuple(r.value for r in chosen)
        stderr = noise / math.sqrt(len(values))
        standings.append(Standing(key, values, tuple(r.trial for r in chosen),
                                  statistics.fmean(values), stderr, t * stderr,
                                  chosen[0].at_epoch, dof))
    standings.sort(key=lambda s: -pessimistic(s, mode, pessimism))
    return Ranking(tuple(standings), mode, noise, dof)


def describe(mean: float, runs: int, half_width: float, at_epoch: int | None,
             noise_dof: int) -> str:
    """``0.3381 ± 0.0120 over 2 seed(s) (95%; seed noise from 3 re-runs)`` (no ± without a noise
    estimate; its re-runs, ``noise_dof``, say how far the noise can be trusted: one re-run makes a
    wide interval), or, for a configuration with no completed run, ``0.3100 at epoch 3 (no run of
    it completed)``."""
    if at_epoch is not None:
        return f"{mean:.4f} at epoch {at_epoch} (no run of it completed)"
    if math.isnan(half_width):
        return f"{mean:.4f} over {runs} seed(s)"
    return f"{mean:.4f} ± {half_width:.4f} over {runs} seed(s) {interval_basis(noise_dof)}"


def interval_basis(noise_dof: int) -> str:
    """``(95%; seed noise from 3 re-runs)``: what an interval of the sweep's noise rests on."""
    return f"({CONFIDENCE:.0%}; seed noise from {noise_dof} re-run{'' if noise_dof == 1 else 's'})"


def pessimistic(standing: Standing, mode: Mode, pessimism: float) -> float:
    """``sign * mean - pessimism * stderr``: larger is better; the plain mean without a noise
    estimate."""
    stderr = 0.0 if math.isnan(standing.stderr) else standing.stderr
    return mode.sign * standing.mean - pessimism * stderr


def pooled_noise(groups: Iterable[Sequence[float]]) -> tuple[float, int]:
    """The pooled standard deviation of the groups with more than one value, and its degrees of
    freedom; ``(nan, 0)`` when no group has two."""
    squares, dof = 0.0, 0
    for values in groups:
        if len(values) > 1:
            mean = statistics.fmean(values)
            squares += sum((v - mean) ** 2 for v in values)
            dof += len(values) - 1
    return (math.sqrt(squares / dof), dof) if dof else (math.nan, 0)


def params_key(params: dict[str, Any]) -> tuple:
    """A configuration's key: its parameters, sorted by name."""
    return tuple(sorted(params.items()))
