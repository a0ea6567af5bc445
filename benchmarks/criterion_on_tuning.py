"""The issue's check, read on the tuning surfaces: would aqr-sweep's default, and the settings
tied with it, pass it there?

``bench_search.py`` judges a test surface: aqr-sweep against the best peer (the lowest regret at
1/4 plus 1/2), at 1/4 and 1/2 of the budget a paired mean difference <= 0 whose interval ends at
most ``MAX_HIGH`` above 0, and ``MIN_RATIO`` times fewer GPU-hours to within 0.01
(``benchmarks.protocol.verdict``).
``tune_search.py`` chooses the default on the tuning surfaces by a smoother measure (the mean
regret at 1/4 plus 1/2, ties broken by the share of the budget to within 0.01). This script reads
that choice by the check itself: on every tuning surface, the default and the settings the last
stage tied with it (the settings ``tune_search.py``'s tie-break chose between, up to
``--finalists``, best objective first) against every peer at its tuned settings, on repetitions
no tuning stage drew (from the first past every stage's). It prints, per surface, each
setting's verdict, then how many surfaces of each family each setting passes on, and beside it
the bar: how many each peer passes on, judged by the same check against the best of the other
peers. The test surfaces stay out of it.

Run: ``python benchmarks/criterion_on_tuning.py [--repetitions 100] [--first-repetition N]
[--finalists 5] [--peers NAME ...] [--surfaces NAME ...] [--jobs 2]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_search import applicable, at_least, bar_summary  # noqa: E402
from benchmarks.contenders import OURS, Arena, Contender, run_all  # noqa: E402
from benchmarks.peers import PEERS  # noqa: E402
from benchmarks.protocol import (  # noqa: E402
    MAX_HIGH,
    MIN_RATIO,
    bar,
    best_peer,
    mean_regret,
    reached,
    verdict,
)
from benchmarks.tune_search import (  # noqa: E402
    OURS_GRID,
    OUT,
    TUNING,
    confirms,
    describe,
    tied,
)
from sweeps.errors import UserError  # noqa: E402

SURFACES = [surface.stem for pairs in TUNING.values() for _, surface in pairs]


def finalists(tuned: dict[str, Any], most: int) -> list[dict]:
    """aqr-sweep's default first, then the settings its last stage tied with it (those
    ``tune_search.py``'s tie-break chose between: confirming, within its ``TIE`` of the best),
    best objective first, ``most`` at most."""
    ours = tuned[OURS]
    objective = {describe(g["settings"]): g["objective"] for g in ours["grid"]
                 if g["repetitions"] == ours["repetitions"]}
    ties = sorted((s for s in tied(OURS, OURS_GRID, tuned, confirms)
                   if s != ours["settings"]), key=lambda s: objective[describe(s)])
    return [ours["settings"], *ties[:most]]


def untouched(tuned: dict[str, Any]) -> int:
    """The first repetition past every one a tuning stage drew."""
    return max(g["repetitions"][1] for entry in tuned.values() for g in entry.get("grid", []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=at_least(2), default=100)
    parser.add_argument("--first-repetition", type=at_least(0),
                        help="where the repetitions start (default: past every tuning stage's)")
    parser.add_argument("--finalists", type=at_least(0), default=5,
                        help="tied settings beside the default (default 5)")
    parser.add_argument("--peers", nargs="*", choices=list(PEERS), metavar="PEER",
                        help="peers to run (default: all)")
    parser.add_argument("--surfaces", nargs="*", choices=SURFACES, metavar="NAME",
                        help=f"only these tuning surfaces (default: all: {', '.join(SURFACES)})")
    parser.add_argument("--jobs", type=at_least(1), default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    tuned = json.loads(OUT.read_text()) if OUT.exists() else {}
    if OURS not in tuned:
        parser.error(f"{OUT} holds no aqr-sweep choice: run benchmarks/tune_search.py first")
    tuning_end = untouched(tuned)
    first = tuning_end if args.first_repetition is None else args.first_repetition
    if first < tuning_end:
        parser.error(f"--first-repetition {first} draws repetitions the tuning stages chose on "
                     f"(they drew up to {tuning_end - 1}): start at {tuning_end} or later")
    ours = [Contender("default" if i == 0 else f"tied {i}", None, s)
            for i, s in enumerate(finalists(tuned, args.finalists))]
    peers = [Contender(name, name, tuned.get(name, {}).get("settings", {}))
             for name in dict.fromkeys(args.peers or PEERS)]
    print(f"repetitions {first}-{first + args.repetitions - 1}; aqr-sweep settings:")
    for c in ours:
        print(f"- {c.name}: {describe(c.settings)}")
    holds: dict[str, dict[str, list[bool]]] = {c.name: {} for c in [*ours, *peers]}
    for family, pairs in TUNING.items():
        for space_file, surface in pairs:
            if args.surfaces and surface.stem not in args.surfaces:
                continue
            arena = Arena(space_file, surface)
            space, points, sim = arena.load()
            entrants = applicable(space, points, sim.surface, peers)
            if not entrants:
                print(f"\n### {surface.stem} ({family}): no peer applies, left out")
                continue
            scores = run_all(arena, [*ours, *entrants], args.repetitions, args.jobs, first=first)
            best = best_peer(scores, [c.name for c in entrants])
            print(f"\n### {surface.stem} ({family}): best peer {best}, regret@1/4 "
                  f"{mean_regret(scores[best], 0.25):.4f}, "
                  f"@1/2 {mean_regret(scores[best], 0.5):.4f}, within 0.01 in "
                  f"{reached(scores[best]):.0%} ({time.perf_counter() - started:.0f} s so far)")
            print("| aqr-sweep | regret@1/4 | regret@1/2 | GPU-hours ratio | within 0.01 | "
                  "criterion |")
            print("|---|---|---|---|---|---|")
            for c in ours:
                v = verdict(scores[c.name], scores[best])
                holds[c.name].setdefault(family, []).append(v.holds)
                print(f"| {c.name} | {v.quarter} | {v.half} | {v.ratio:.2f}x | "
                      f"{reached(scores[c.name]):.0%} | {'holds' if v.holds else 'fails'} |")
            faced = bar(scores, [c.name for c in entrants])
            for name, (_, v) in faced.items():
                holds[name].setdefault(family, []).append(v.holds)
            print(f"\n{bar_summary(faced)}")
            sys.stdout.flush()
    print(f"\n| aqr-sweep | {' | '.join(f'holds on ({f})' for f in TUNING)} |")
    print(f"|---|{'---|' * len(TUNING)}")
    for c in [*ours, *peers]:
        cells = [f"{sum(h)} of {len(h)}" for h in (holds[c.name].get(f, []) for f in TUNING)]
        against = " (the bar: against the best of the other peers)" if c.peer else ""
        print(f"| {c.name}{against} | {' | '.join(cells)} |")
    print(f"\n(criterion: D <= 0 and HI <= +{MAX_HIGH} at 1/4 and 1/2, GPU-hours ratio >= "
          f"{MIN_RATIO}; {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    try:
        main()
    except UserError as err:  # a missing or malformed space or surface: one line, no traceback
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
