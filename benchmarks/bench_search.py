"""Search efficiency: aqr-sweep with its defaults against tuned peers from four libraries, on a
surface of learning curves, over many repetitions, with paired confidence intervals.

Every strategy runs as a simulated sweep (``sweeps.simulation``) over ``--surface`` (a table of
final and per-epoch NDS per configuration and training seed), with the space's concurrency, up to
the grid's budget (every configuration once, in full). aqr-sweep is the space as it is (its
defaults: the sampler, pruner and confirmation stage it names, and the ranking ``export-best``
answers with); each peer runs through its own library's classes (``benchmarks.peers``) with the
settings ``benchmarks/tune_search.py`` chose for it on the tuning surfaces
(``benchmarks/data/tuned_settings.json``), never on the surface scored here.

Scored (``benchmarks.protocol``), per repetition: the true-mean regret of the recommended
configuration at 1/8, 1/4, 1/2 and 1 of the budget, and the GPU-hours (an epoch of the real R50
run is 16) until that regret stays at or below 0.01; then, against each peer, the paired mean
difference in regret (ours minus theirs, bootstrap 95% interval). The best peer is the one with
the lowest regret at 1/4 plus 1/2. Before the last line, the bar: each peer judged by the same
check against the best of the other peers (when two or more apply). The last line:

``aqr-sweep vs best peer NAME: regret@1/4 D [LO, HI], regret@1/2 D [LO, HI], GPU-hours to
regret<=0.01: A vs B (R.Rx)`` (R = B / A, medians; a strategy whose median repetition never
stays within 0.01 reads ``never``: R is 0 when only the peer gets there, inf when only aqr-sweep
does, 1 when neither does).

Run: ``python benchmarks/bench_search.py [--space S] [--surface T] [--repetitions 100]
[--jobs 2] [--peers NAME ...]``
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.contenders import OURS, Arena, Contender, build, fitted, run_all  # noqa: E402
from benchmarks.peers import PEERS  # noqa: E402
from benchmarks.peers.runner import Runner  # noqa: E402
from benchmarks.protocol import (  # noqa: E402
    FRACTIONS,
    TARGET,
    Score,
    Verdict,
    bar,
    best_peer,
    mean_regret,
    median_epochs,
    reached,
    verdict,
)
from sweeps.constants import R50_GPU_HOURS_PER_EPOCH  # noqa: E402
from sweeps.errors import BadOptionError, UserError  # noqa: E402
from sweeps.simulation.compare import Simulation  # noqa: E402
from sweeps.simulation.surface import Surface  # noqa: E402
from sweeps.space import SweepSpace, load_space  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
SPACE = ROOT / "search_spaces" / "demo.yaml"
SURFACE = DATA / "hard_seed11.csv"
SETTINGS = DATA / "tuned_settings.json"


def contenders(settings_file: Path, names: list[str] | None) -> list[Contender]:
    """aqr-sweep (the space's defaults), then each peer at its tuned settings (a peer the file
    does not name: at its library's defaults).

    Raises:
        BadOptionError: the settings file is missing, not JSON, or not as tune_search.py writes
            it (``{peer: {"settings": {...}, ...}}``).
    """
    fix = ("make it with `python benchmarks/tune_search.py`, or leave --settings out for the "
           "shipped benchmarks/data/tuned_settings.json")
    try:
        tuned = json.loads(settings_file.read_text())
    except OSError as err:
        raise BadOptionError(f"--settings {settings_file}: {err.strerror}; {fix}") from None
    except ValueError as err:
        raise BadOptionError(f"--settings {settings_file}: not JSON ({err}); {fix}") from None
    shape = ('{"ray-random-asha": {"settings": {"grace_period": 3, "reduction_factor": 2}}, '
             '...}')
    if not isinstance(tuned, dict) or any(
            not isinstance(entry, dict) or not isinstance(entry.get("settings", {}), dict)
            for entry in tuned.values()):
        raise BadOptionError(f"--settings {settings_file}: must map each peer to its settings, "
                             f"as {shape}; {fix}")
    out = [Contender(OURS)]
    for name in dict.fromkeys(names or PEERS):
        out.append(Contender(name, name, tuned.get(name, {}).get("settings", {})))
    return out


def applicable(space: SweepSpace, points: list, surface: Surface, entrants: list[Contender]
               ) -> list[Contender]:
    """The entrants that apply to the space (the guide's grid needs the AQR knobs) and can replay
    the table (Syne Tune's needs whole curves), their epoch settings fitted to the table's
    schedule; each one left out or changed is said, with why."""
    kept = []
    for c in entrants:
        try:
            c, changes = fitted(c, space.max_epochs)
            peer = build(c, space, points)
            if isinstance(peer, Runner):
                peer.replays(surface, space.max_epochs)
        except ValueError as err:
            print(f"{c.name} left out: {err}")
            continue
        if changes:
            print(f"{c.name}: {', '.join(changes)} (the table's schedule is {space.max_epochs} "
                  "epochs)")
        kept.append(c)
    return kept


def hours(epochs: float) -> str:
    """GPU-hours of ``epochs``, no thousands separator (programs read the last line)."""
    return "never" if math.isinf(epochs) else f"{epochs * R50_GPU_HOURS_PER_EPOCH:.0f}"


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``low``."""
    def integer(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    return integer


def surface_line(name: str, sim: Simulation) -> str:
    """What the surface is: its size, how far apart its best configurations are (by their mean
    over the runs that completed with a number), its seed noise, the budget."""
    surface, mode = sim.surface, sim.space.mode
    finals = sorted((f for c in surface.configs if not math.isnan(f := surface.true_final(c))),
                    reverse=mode == "max")
    spreads = [float(np.std(values)) for c in surface.configs
               if len(values := surface.finals(c)) > 1]
    noise = f"{np.median(spreads):.4f}" if spreads else "unknown (no configuration completed twice)"
    runner_up = (f", runner-up {abs(finals[0] - finals[1]):.4f} "
                 f"{'below' if mode == 'max' else 'above'}" if len(finals) > 1 else "")
    within = sum(abs(f - finals[0]) <= TARGET for f in finals)
    seeds = max(len(runs) for runs in surface.curves.values())
    diverged = len(surface.configs) - len(finals)
    return (f"surface {name}: {len(surface.configs)} configurations x {seeds} seeds x "
            f"{surface.max_epochs} epochs; best mean {finals[0]:.4f}{runner_up}, {within} within "
            f"{TARGET}" + (f" ({diverged} with no completed run: never the best)" if diverged
                           else "")
            + f"; seed noise (median sd) {noise}; budget {sim.budget_epochs:g} epochs = "
            f"{hours(sim.budget_epochs)} GPU-hours; {sim.slots} trials at once")


def print_bar(scores: Mapping[str, Sequence[Score]], peers: list[str]) -> None:
    """The bar: each peer judged by the same check against the best of the other peers
    (aqr-sweep left out), as a table and :func:`bar_summary`'s line."""
    faced = bar(scores, peers)
    if faced:
        print("\n| the bar: peer vs the best of the other peers | regret@1/4 | regret@1/2 | "
              "GPU-hours ratio | criterion |")
        print("|---|---|---|---|---|")
    for name, (best, v) in faced.items():
        print(f"| {name} vs {best} | {v.quarter} | {v.half} | {v.ratio:.1f}x | "
              f"{'holds' if v.holds else 'fails'} |")
    print(f"\n{bar_summary(faced)}")


def bar_summary(faced: dict[str, tuple[str, Verdict]]) -> str:
    """One line: how many peers pass the check against the best of the others, and which."""
    if not faced:
        return "the bar: fewer than two peers apply, none to judge against another"
    passing = [name for name, (_, v) in faced.items() if v.holds]
    return (f"the bar: {len(passing)} of {len(faced)} peers pass the check against the best of "
            f"the others{': ' + ', '.join(passing) if passing else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", type=Path, default=SPACE)
    parser.add_argument("--surface", type=Path, default=SURFACE)
    parser.add_argument("--repetitions", type=at_least(2), default=100,
                        help="repetitions a strategy (default 100; a paired interval needs 2)")
    parser.add_argument("--jobs", type=at_least(1), default=2, help="processes (default 2)")
    parser.add_argument("--peers", nargs="*", choices=list(PEERS), metavar="PEER",
                        help=f"peers to run (default: all: "
                                                   f"{', '.join(PEERS)})")
    parser.add_argument("--settings", type=Path, default=SETTINGS,
                        help="the peers' tuned settings (tune_search.py)")
    args = parser.parse_args()
    started = time.perf_counter()
    arena = Arena(args.space, args.surface)
    space, points, sim = arena.load()
    print(surface_line(arena.surface_file.name, sim))
    for line in sim.surface.notes(space):
        print(f"note: {line}")
    if (stated := load_space(args.space).max_epochs) != space.max_epochs:
        print(f"the table's curves run {space.max_epochs} epochs: replayed as the full schedule "
              f"({args.space.name} says max_epochs {stated})")
    entrants = applicable(space, points, sim.surface, contenders(args.settings, args.peers))
    if not entrants[1:]:  # entrants[0] is aqr-sweep
        named = f"--peers: none of {', '.join(args.peers)}" if args.peers else "no peer"
        raise BadOptionError(f"{named} applies to {args.space.name} and "
                             f"{arena.surface_file.name} (said above)"
                             + ("; name another peer, or leave --peers out for all"
                                if args.peers else ""))
    print(f"{args.repetitions} repetitions a strategy; peers at their settings from "
          f"{args.settings.name}", flush=True)
    scores = run_all(arena, entrants, args.repetitions, args.jobs,
                     progress=lambda text: print(f"  done: {text} "
                                                 f"({time.perf_counter() - started:.0f} s)",
                                                 file=sys.stderr, flush=True))
    ours = scores[OURS]

    print("\n| strategy | settings | regret @1/8 | @1/4 | @1/2 | @1 | GPU-hours to regret <= "
          f"{TARGET} (median) | reached |")
    print("|---|---|---|---|---|---|---|---|")
    for c in entrants:
        s = scores[c.name]
        print(f"| {c.name} | {json.dumps(c.settings, sort_keys=True) if c.settings else 'defaults'}"
              f" | " + " | ".join(f"{mean_regret(s, f):.4f}" for f in FRACTIONS)
              + f" | {hours(median_epochs(s))} | {reached(s):.0%} |")

    print("\n| ours minus peer | regret@1/4 | regret@1/2 | regret@1 | GPU-hours ratio "
          "(peer / ours) |")
    print("|---|---|---|---|---|")
    verdicts = {c.name: verdict(ours, scores[c.name]) for c in entrants[1:]}
    for name, v in verdicts.items():
        print(f"| {name} | {v.quarter} | {v.half} | {v.whole} | {v.ratio:.1f}x |")

    print_bar(scores, list(verdicts))
    best = best_peer(scores, list(verdicts))
    against = verdicts[best]
    print(f"\n({time.perf_counter() - started:.0f} s)")
    print(f"aqr-sweep vs best peer {best}: regret@1/4 {against.quarter}, "
          f"regret@1/2 {against.half}, "
          f"GPU-hours to regret<={TARGET}: {hours(median_epochs(ours))} vs "
          f"{hours(median_epochs(scores[best]))} ({against.ratio:.1f}x)")


if __name__ == "__main__":
    try:
        main()
    except UserError as err:  # a missing or malformed space or surface: one line, no traceback
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
