"""The search benchmark's protocol: what a simulated sweep is scored on, and how two strategies
are compared over repetitions.

- **Regret** at a budget: how much worse the configuration a strategy recommends is, in truth
  (its mean final value over the surface's seeds), than the best configuration. Before a strategy
  recommends anything, its answer is the configuration in use (the space's first enqueued point):
  what a researcher keeps when a sweep has nothing to say yet.
- **Epochs until the regret stays at or below** :data:`TARGET`: the epochs trained when the
  recommendation last came (and then stayed) within the target, up to the full budget; a
  repetition whose final answer is further off never gets there.
- **Paired comparisons**: the per-repetition differences (ours minus the peer's), their mean and
  a bootstrap confidence interval.
- **The criterion** (issue 18) against the best peer (the lowest regret at 1/4 plus 1/2): at 1/4
  and 1/2 a mean difference <= 0 whose interval ends at most :data:`MAX_HIGH` above 0, and at least
  :data:`MIN_RATIO` times fewer GPU-hours to the target (medians).
- **The bar**: the same check, each peer against the best of the other peers on the same
  repetitions: how often a strategy already among the peers would pass it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sweeps.constants import Mode
from sweeps.simulation.loop import Trace
from sweeps.simulation.surface import Config, Surface

#: the budgets at which regret is read, as shares of the grid (every configuration, once, in full)
FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1.0)
#: how close to the best configuration's mean counts as found (NDS)
TARGET = 0.01
#: the criterion: the highest upper bound of a regret difference, the lowest GPU-hours ratio
MAX_HIGH, MIN_RATIO = 0.002, 1.2
#: bootstrap resamples of a paired comparison, and its two-sided confidence
RESAMPLES, CONFIDENCE = 4000, 0.95


@dataclass(frozen=True)
class Score:
    """One simulated sweep, scored."""

    #: regret at each of :data:`FRACTIONS` of the budget
    regrets: tuple[float, ...]
    #: epochs until the regret stayed at or below :data:`TARGET` (inf: it did not)
    epochs_to_target: float
    #: trials started within the budget
    trials: int
    #: the budget (epochs) it was scored on
    budget: float

    @property
    def share_to_target(self) -> float:
        """The share of the budget spent until the regret stayed within the target (1: never)."""
        return min(self.epochs_to_target, self.budget) / self.budget


def score(trace: Trace, surface: Surface, mode: Mode, budget: float, fallback: Config
          ) -> Score:
    """Score ``trace`` at each fraction of ``budget`` epochs; ``fallback`` is the answer until
    the strategy has one. A configuration none of whose runs completed with a number (every
    seed diverged) has no true value: recommending it costs the worst configuration's regret."""
    _, best = surface.best(mode)
    truths = [t for c in surface.configs if not math.isnan(t := surface.true_final(c))]
    worst = max(mode.sign * (best - t) for t in truths)

    def regret(config: Config | None) -> float:
        truth = surface.true_final(fallback if config is None else config)
        return worst if math.isnan(truth) else mode.sign * (best - truth)

    steps = [s for s in trace.steps if s.epochs <= budget]
    regrets = []
    for fraction in FRACTIONS:
        seen = [s for s in steps if s.epochs <= fraction * budget]
        regrets.append(regret(seen[-1].recommended if seen else None))
    reached = 0.0 if regret(None) <= TARGET else math.inf
    for step in steps:
        if regret(step.recommended) > TARGET:
            reached = math.inf
        elif math.isinf(reached):
            reached = float(step.epochs)
    end = steps[-1].time if steps else 0.0
    return Score(tuple(regrets), reached, sum(1 for t in trace.trials if t.started <= end),
                 budget)


@dataclass(frozen=True)
class Difference:
    """A paired comparison: mean of ``ours - theirs`` and its bootstrap interval."""

    mean: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.mean:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"


def paired(ours: Sequence[float], theirs: Sequence[float], seed: int = 0) -> Difference:
    """The mean of the per-repetition differences and its percentile bootstrap interval."""
    diffs = np.asarray(ours, dtype=float) - np.asarray(theirs, dtype=float)
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(RESAMPLES, len(diffs)))].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Difference(float(diffs.mean()), float(low), float(high))


def median_epochs(scores: Sequence[Score]) -> float:
    """The median epochs to the target (inf when most repetitions never got there)."""
    return float(np.median([s.epochs_to_target for s in scores]))


def gpu_hours_ratio(ours: float, theirs: float) -> float:
    """The peer's epochs (GPU-hours) to the target over ours: 0 when only the peer gets there,
    inf when only we do, 1 when neither does (or both did before training anything)."""
    if math.isinf(ours):
        return 1.0 if math.isinf(theirs) else 0.0
    if ours == 0:  # the answer before any training was already within the target
        return 1.0 if theirs == 0 else math.inf
    return theirs / ours


def reached(scores: Sequence[Score]) -> float:
    """The share of repetitions that got (and stayed) within the target."""
    return sum(not math.isinf(s.epochs_to_target) for s in scores) / len(scores)


def mean_share_to_target(scores: Sequence[Score]) -> float:
    """The mean share of the budget until the regret stayed within the target (never: all of
    it): the GPU-hours to the target, uncensored by the median."""
    return float(np.mean([s.share_to_target for s in scores]))


def mean_regret(scores: Sequence[Score], fraction: float) -> float:
    return float(np.mean([s.regrets[FRACTIONS.index(fraction)] for s in scores]))


def best_peer(scores: Mapping[str, Sequence[Score]], peers: Sequence[str]) -> str:
    """The peer with the lowest mean regret at 1/4 plus 1/2 of the budget."""
    return min(peers, key=lambda name: mean_regret(scores[name], 0.25)
               + mean_regret(scores[name], 0.5))


@dataclass(frozen=True)
class Verdict:
    """Ours against one peer, as the criterion reads it: ``quarter``, ``half`` and ``whole`` are
    the paired differences in regret (ours minus theirs) at 1/4, 1/2 and 1 of the budget,
    ``ratio`` their median epochs to the target over ours (:func:`gpu_hours_ratio`)."""

    quarter: Difference
    half: Difference
    whole: Difference
    ratio: float

    @property
    def holds(self) -> bool:
        """At 1/4 and 1/2 a mean <= 0 whose interval ends at most :data:`MAX_HIGH` above 0, and a
        ratio of at least :data:`MIN_RATIO`."""
        return (all(d.mean <= 0 and d.high <= MAX_HIGH for d in (self.quarter, self.half))
                and self.ratio >= MIN_RATIO)


def verdict(ours: Sequence[Score], theirs: Sequence[Score]) -> Verdict:
    """Paired differences at 1/4, 1/2 and 1 of the budget, and the GPU-hours ratio."""
    quarter, half, whole = (paired([s.regrets[i] for s in ours], [s.regrets[i] for s in theirs])
                            for i in (1, 2, 3))
    return Verdict(quarter, half, whole, gpu_hours_ratio(median_epochs(ours),
                                                         median_epochs(theirs)))


def bar(scores: Mapping[str, Sequence[Score]], peers: Sequence[str]
        ) -> dict[str, tuple[str, Verdict]]:
    """Each of ``peers`` against the best of the others, as :func:`verdict` judges aqr-sweep
    against the best peer: the peer it faced, and the verdict (none with fewer than two)."""
    faced: dict[str, tuple[str, Verdict]] = {}
    if len(set(peers)) < 2:
        return faced
    for name in dict.fromkeys(peers):
        best = best_peer(scores, [p for p in peers if p != name])
        faced[name] = (best, verdict(scores[name], scores[best]))
    return faced
