"""The search benchmark's scoring: regret at fractions of the budget, the epochs until the regret
*stays* within the target, the fallback before any answer, and paired bootstrap intervals."""

import math
from types import SimpleNamespace as NS

from benchmarks.protocol import (
    TARGET,
    mean_regret,
    mean_share_to_target,
    median_epochs,
    paired,
    reached,
    score,
)
from sweeps.constants import Mode

TRUTH = {"best": 0.30, "near": 0.295, "poor": 0.20, "current": 0.25, "diverged": math.nan}
SURFACE = NS(best=lambda mode: ("best", TRUTH["best"]), true_final=TRUTH.__getitem__,
             configs=list(TRUTH))


def trace(*answers: tuple[int, str | None]) -> NS:
    steps = [NS(epochs=e, recommended=r, time=float(e)) for e, r in answers]
    return NS(steps=steps, trials=[NS(started=0.0), NS(started=5.0), NS(started=99.0)])


def test_regret_at_each_fraction_falls_back_to_current_before_an_answer():
    s = score(trace((8, None), (16, "poor"), (40, "near"), (80, "best")), SURFACE, Mode.MAX, 80,
              "current")
    assert [round(r, 3) for r in s.regrets] == [0.05, 0.1, 0.005, 0.0]  # at 10, 20, 40, 80
    assert s.epochs_to_target == 40 and s.trials == 2


def test_the_target_counts_only_once_the_answer_stays_within_it():
    s = score(trace((10, "near"), (20, "poor"), (30, "best")), SURFACE, Mode.MAX, 30, "current")
    assert s.epochs_to_target == 30
    never = score(trace((10, "near"), (20, "poor")), SURFACE, Mode.MAX, 20, "current")
    assert math.isinf(never.epochs_to_target)
    assert TRUTH["best"] - TRUTH["near"] <= TARGET < TRUTH["best"] - TRUTH["poor"]


def test_summaries_and_paired_intervals():
    scores = [score(trace((10, "best")), SURFACE, Mode.MAX, 10, "current"),
              score(trace((10, "poor")), SURFACE, Mode.MAX, 10, "current"),
              score(trace((5, "near"), (10, "near")), SURFACE, Mode.MAX, 10, "current")]
    assert median_epochs(scores) == 10 and reached(scores) == 2 / 3
    # found at the last step, and never: the whole budget; found half-way: half of it
    assert [s.share_to_target for s in scores] == [1.0, 1.0, 0.5]
    assert math.isclose(mean_share_to_target(scores), 2.5 / 3)
    assert math.isclose(mean_regret(scores, 1.0), (0 + 0.1 + 0.005) / 3)
    d = paired([0.01, 0.02, 0.03, 0.02], [0.02, 0.03, 0.04, 0.03])
    assert math.isclose(d.mean, -0.01) and d.low <= d.mean <= d.high and d.high < 0
    assert str(d) == "-0.010 [-0.010, -0.010]"


def test_recommending_a_configuration_whose_every_run_diverged_costs_the_worst_regret():
    """It has no true value: a NaN regret read as within the target and poisoned the means."""
    s = score(trace((10, "diverged"), (20, "best")), SURFACE, Mode.MAX, 20, "current")
    assert [round(r, 3) for r in s.regrets] == [0.05, 0.05, 0.1, 0.0]  # current, current, ...
    assert s.epochs_to_target == 20
