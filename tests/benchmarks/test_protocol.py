"""The search benchmark's scoring: regret at fractions of the budget, the epochs until the regret
*stays* within the target, the fallback before any answer, and paired bootstrap intervals."""

import math
from types import SimpleNamespace as NS

from benchmarks.protocol import (
    TARGET,
    Score,
    bar,
    best_peer,
    mean_regret,
    mean_share_to_target,
    median_epochs,
    paired,
    reached,
    score,
    verdict,
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


def _scores(regrets: list[tuple[float, float, float, float]], epochs: float) -> list[Score]:
    return [Score(r, epochs, 1, 100.0) for r in regrets]


def test_the_criterion_needs_both_budgets_within_the_bound_and_the_gpu_hours_ratio():
    """D <= 0 and HI <= +0.002 at 1/4 and 1/2, and 1.2x fewer GPU-hours (medians)."""
    theirs = _scores([(0.05, 0.020 + i / 1000, 0.010, 0.0) for i in range(10)], 60.0)
    better = _scores([(0.05, 0.018 + i / 1000, 0.008, 0.0) for i in range(10)], 40.0)
    v = verdict(better, theirs)
    assert v.holds and v.ratio == 1.5 and v.quarter.high <= 0 and v.half.mean < 0
    slower = _scores([(0.05, 0.018 + i / 1000, 0.008, 0.0) for i in range(10)], 55.0)
    assert not verdict(slower, theirs).holds  # 60 / 55 < 1.2
    wide = _scores([(0.05, 0.020 + i / 1000 + (0.02 if i % 2 else -0.0201), 0.008, 0.0)
                    for i in range(10)], 40.0)
    v = verdict(wide, theirs)
    assert v.quarter.mean <= 0 < v.quarter.high - 0.002 and not v.holds  # the interval's end
    never = _scores([(0.05, 0.018, 0.008, 0.0)] * 10, math.inf)
    assert verdict(never, theirs).ratio == 0.0 and not verdict(never, theirs).holds
    within = _scores([(0.05, 0.020 + i / 1000 + (0.002 if i % 2 else -0.0022), 0.008, 0.0)
                      for i in range(10)], 50.0)
    v = verdict(within, theirs)  # a mean just below 0, its interval ending above 0; exactly 1.2x
    assert v.quarter.mean < 0 < v.quarter.high <= 0.002 and v.ratio == 1.2 and v.holds
    above = _scores([(0.05, 0.0205 + i / 1000, 0.008, 0.0) for i in range(10)], 40.0)
    assert verdict(above, theirs).quarter.high <= 0.002 and not verdict(above, theirs).holds
    late = _scores([(0.05, 0.018 + i / 1000, 0.012, 0.0) for i in range(10)], 40.0)
    assert verdict(late, theirs).quarter.high < 0 and not verdict(late, theirs).holds  # at 1/2


def test_the_best_peer_has_the_lowest_regret_at_a_quarter_plus_a_half():
    scores = {"a": _scores([(0.0, 0.02, 0.02, 0.0)], 1.0),
              "b": _scores([(0.9, 0.03, 0.00, 0.9)], 1.0),
              "c": _scores([(0.0, 0.00, 0.05, 0.0)], 1.0)}
    assert best_peer(scores, ["a", "b", "c"]) == "b"
    assert best_peer(scores, ["a", "c"]) == "a"


def test_the_bar_judges_each_peer_against_the_best_of_the_others():
    """The best peer faces the runner-up; every other peer faces the best."""
    theirs = _scores([(0.05, 0.020 + i / 1000, 0.010, 0.0) for i in range(10)], 60.0)
    better = _scores([(0.05, 0.018 + i / 1000, 0.008, 0.0) for i in range(10)], 40.0)
    worse = _scores([(0.05, 0.030 + i / 1000, 0.020, 0.0) for i in range(10)], 80.0)
    faced = bar({"a": theirs, "b": better, "c": worse}, ["a", "b", "c"])
    assert {name: best for name, (best, _) in faced.items()} == {"a": "b", "b": "a", "c": "b"}
    assert faced["b"][1].holds and not faced["a"][1].holds and not faced["c"][1].holds
    assert faced["b"][1] == verdict(better, theirs)
    assert bar({"a": theirs}, ["a"]) == {} == bar({"a": theirs}, ["a", "a"])  # none to face
    assert list(bar({"a": theirs, "b": better}, ["a", "b", "a"])) == ["a", "b"]
