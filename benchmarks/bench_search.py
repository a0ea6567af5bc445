"""Search efficiency on the mini task's surface: which strategy finds the best AQR configuration
for the fewest epochs (GPU-hours on the real run), and which ones stop the winner.

Every strategy runs as a simulated sweep (``sweeps.simulation``: aqr-sweep's own searcher and
pruning bridge, and the peers' real Ray and Optuna classes) over ``benchmarks/data/mini_surface.csv``,
``--repetitions`` times (each with its own sampler seed and its own draw of training seeds), up to
the full grid's epochs. Per strategy and budget (1/8, 1/4, 1/2 and 1 of the grid's epochs):

- regret: how much worse the recommended configuration truly is (its mean final NDS over seeds)
  than the best configuration's;
- epochs until the recommendation first came within 0.005 NDS of the best (a repetition that
  never did counts as the full budget, so a mean with misses is a lower bound; the share reached
  is shown);
- the same within 0.02 NDS (the seed noise of one configuration is ~0.03 NDS on this surface,
  and the runner-up is 0.0054 below the best, so within 0.005 means "found the single best");
- how often the best configuration was started and then stopped early;

in epochs and in GPU-hours of the real R50 run (one epoch = 2 h on 8 GPUs = 16 GPU-hours).
The last line compares aqr-sweep (the demo space's settings) with Ray's OptunaSearch + ASHA.

Run: ``python benchmarks/bench_search.py [--repetitions 20] [--quick]``
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.peers import strategies as P  # noqa: E402
from sweeps.config.base import current_params, enqueued_points, load_base_config  # noqa: E402
from sweeps.constants import R50_GPU_HOURS_PER_EPOCH  # noqa: E402
from sweeps.simulation import strategies as S  # noqa: E402
from sweeps.simulation.compare import Simulation  # noqa: E402
from sweeps.simulation.outcome import TOLERANCE, Outcome, outcome  # noqa: E402
from sweeps.simulation.settings import describe, parse_pruner  # noqa: E402
from sweeps.simulation.surface import load_surface  # noqa: E402
from sweeps.space import load_space  # noqa: E402

SURFACE = ROOT / "benchmarks" / "data" / "mini_surface.csv"
SPACE = ROOT / "search_spaces" / "demo.yaml"
FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1.0)
#: a looser target, for a view the seed noise (~0.03 NDS) does not swamp
LOOSE = 0.02
#: aqr-sweep's own settings tried besides the space's (the candidates for its defaults):
#: (sampler, pruner setting)
VARIANTS = (("tpe", "median:warmup_epochs=1"), ("tpe", "median:warmup_epochs=2"),
            ("tpe", "median:warmup_epochs=2,startup_trials=3"),
            ("tpe", "percentile:percentile=50,warmup_epochs=2"), ("tpe", "asha"),
            ("tpe", "asha:warmup_epochs=2"), ("tpe", "hyperband"), ("tpe", "none"),
            ("random", "median:warmup_epochs=2"))
OURS = "aqr-sweep"
PEER = "Ray OptunaSearch+ASHA"


def label(space) -> str:
    return f"{OURS} ({space.search.sampler}, {describe(space.pruner)})"


def strategies(space, points, current, available) -> list[S.Strategy]:
    out = [S.aqr_sweep(space, points, label(space))]
    for sampler, text in VARIANTS:
        variant = S.with_pruner(space, parse_pruner(text))
        variant = variant.model_copy(update={"search": variant.search.model_copy(
            update={"sampler": sampler})})
        if label(variant) != label(space):
            out.append(S.aqr_sweep(variant, points, label(variant)))
    out += [P.aqr_sweep_rerunning_leaders(space, points, name=f"{label(space)} + re-run leaders"),
            P.aqr_sweep_rerunning_leaders(S.with_pruner(space, parse_pruner("none")), points,
                                          name=f"{OURS} (tpe, none) + re-run leaders")]
    out += [P.ray_optuna_asha(space, points), P.ray_random_asha(space, points),
            P.optuna_tpe(space, points), P.random_full(space, points)]
    try:
        out.append(P.guide_grid(space, P.guide_configs(space, current, available)))
    except ValueError as err:  # a space without the guide's two knobs
        print(f"  no guide grid: {err}", file=sys.stderr)
    return out


def spread(values: list[float]) -> str:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return "-"
    sd = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return f"{statistics.mean(finite):.4f} ± {sd:.4f}"


def summary_row(name: str, budget: float, outcomes: list[Outcome],
                loose: list[Outcome]) -> dict:
    reached = [o.epochs_to_target for o in outcomes if o.epochs_to_target is not None]
    censored = [o.epochs_to_target if o.epochs_to_target is not None else budget
                for o in outcomes]
    loose_censored = [o.epochs_to_target if o.epochs_to_target is not None else budget
                      for o in loose]
    return {
        "epochs to loose": statistics.mean(loose_censored),
        "reached loose": sum(o.epochs_to_target is not None for o in loose) / len(loose),
        "strategy": name,
        "regret": spread([o.regret for o in outcomes]),
        "none recommended": sum(o.recommended is None for o in outcomes),
        "epochs to target": statistics.mean(censored),
        "epochs sd": statistics.stdev(censored) if len(censored) > 1 else 0.0,
        "reached": len(reached) / len(outcomes),
        "stopped best": sum(o.stopped_best for o in outcomes) / len(outcomes),
        "trials": statistics.mean(o.trials for o in outcomes),
        "epochs used": statistics.mean(o.epochs for o in outcomes),
    }


def print_table(budget: float, fraction: float, rows: list[dict]) -> None:
    print(f"\n### budget {fraction:g} of the grid: {budget:g} epochs = "
          f"{budget * R50_GPU_HOURS_PER_EPOCH:,.0f} GPU-hours of the R50 run")
    print(f"| strategy | regret (NDS, mean ± sd) | epochs to within {TOLERANCE} (GPU-h) | "
          f"reached | within {LOOSE}: epochs (reached) | stopped best | trials | epochs used |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['strategy']} | {r['regret']}"
              + (f" ({r['none recommended']} none)" if r["none recommended"] else "")
              + f" | {r['epochs to target']:.0f} ± {r['epochs sd']:.0f} "
              f"({r['epochs to target'] * R50_GPU_HOURS_PER_EPOCH:,.0f}) | {r['reached']:.0%} | "
              f"{r['epochs to loose']:.0f} ({r['reached loose']:.0%}) | "
              f"{r['stopped best']:.0%} | {r['trials']:.1f} | {r['epochs used']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surface", type=Path, default=SURFACE)
    parser.add_argument("--space", type=Path, default=SPACE)
    parser.add_argument("--repetitions", type=int, default=20)
    parser.add_argument("--slots", type=int, help="trials at once (default: the space's "
                                                   "concurrency)")
    parser.add_argument("--quick", action="store_true",
                        help="5 repetitions (a check that it runs, not a measurement)")
    args = parser.parse_args()
    reps = 5 if args.quick else args.repetitions
    started = time.perf_counter()
    space = load_space(args.space)
    base = load_base_config(space, args.space)
    points = enqueued_points(space, base)
    surface = load_surface(args.surface, space)
    grid_epochs = len(surface.configs) * space.max_epochs
    best, best_value = surface.best(space.mode)
    slots = args.slots or space.search.concurrency
    print(f"surface {args.surface.name}: {len(surface.configs)} configurations x "
          f"{len(next(iter(surface.curves.values())))} seeds, {space.max_epochs} epochs; best "
          f"{surface.as_params(best)} at mean NDS {best_value:.4f}")
    print(f"{reps} repetitions a strategy, {slots} trials at once, the grid = {grid_epochs} "
          f"epochs; target = within {TOLERANCE} NDS of the best")

    sim = Simulation(surface, space, slots=slots, budget_epochs=grid_epochs)
    results: dict[str, list] = {}
    for strategy in strategies(space, points, current_params(space, base), surface.knob_values):
        t0 = time.perf_counter()
        results[strategy.name] = sim.repeat(strategy, reps)
        print(f"  simulated {strategy.name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    ratio = math.nan
    for fraction in FRACTIONS:
        budget = grid_epochs * fraction
        rows = [summary_row(name, budget, [outcome(t, surface, space.mode, budget)
                                           for t in traces],
                            [outcome(t, surface, space.mode, budget, LOOSE) for t in traces])
                for name, traces in results.items()]
        print_table(budget, fraction, rows)
        if fraction == 1.0:
            ours = next(r for r in rows if r["strategy"] == label(space))
            peer = next(r for r in rows if r["strategy"] == PEER)
            ratio = peer["epochs to target"] / ours["epochs to target"]
    print(f"\n({time.perf_counter() - started:.0f} s)")
    print(f"aqr-sweep vs Ray OptunaSearch+ASHA, epochs to within 0.005 of best: {ratio:.1f}x")


if __name__ == "__main__":
    main()
