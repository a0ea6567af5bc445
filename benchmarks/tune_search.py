"""Choose every strategy's settings on the tuning surfaces, never on the test ones.

Each peer's main knobs are tried over a grid (ASHA-like schedulers: grace period / minimum
resource {1, 2, 3} x reduction factor {2, 3, 4}; BOHB and DEHB: their bracket knobs), and so are
aqr-sweep's candidate defaults (pruner x confirmation stage: when, how many). A setting's
objective is its regret at 1/4 plus its regret at 1/2 of the grid's budget (each a mean over
``--repetitions`` repetitions), averaged over each family of tuning surfaces, the two families
weighing the same: four of the mini task (6 and 12 epochs; the kind of table the test surfaces
are) and eleven drawn from LCDB (eight over 8 training-set sizes, three over 12), which nobody
here designed and which keep the choice from fitting our own simulator. Settings whose
objectives lie within :data:`TIE` of the best are equal within the noise; among them, the one
that gets within 0.01 of the best configuration soonest wins: the lowest mean share of the
budget spent until its answer stays there (never: all of it; the issue's GPU-hours to 0.01,
uncensored), each family weighing the same, then the lowest regret summed over all four budgets.
The best setting per peer goes into ``benchmarks/data/tuned_settings.json`` (with every setting's
regrets and shares by surface, so that another weighing needs no re-run), which
``bench_search.py`` runs the peers with; aqr-sweep's ranking is printed, and its winner is what
the shipped spaces (``demo.yaml``, ``demo_12ep.yaml``, ``lcdb.yaml``, ``lcdb_12sizes.yaml``) state
(this script does not edit them; a test checks they agree); only a setting that confirms can be
that winner.

A choice among many settings on one set of repetitions flatters its winner (the best of 117 noisy
objectives is the luckiest as much as the best), so the default is chosen in two stages: every
setting on repetitions 0-39, then the finalists (within :data:`FINALISTS` of the best) again on
fresh repetitions, more of them, and the winner is read off the second stage alone.

Run: ``python benchmarks/tune_search.py [--repetitions 100] [--first-repetition 0] [--jobs 2]
[--only NAME ...] [--near-best] [--new] [--tied]`` (``--near-best``: run only the settings the
first stage put within :data:`FINALISTS` of their best, the only ones that can win; ``--new``: run
only the settings with no result on these repetitions: a grid grown since, as their first stage,
or with ``--near-best``, the new finalists on the second stage's repetitions, the choice then read
off every setting that stage ran; ``--tied``: run again only the settings the last stage tied
within :data:`TIE` of its best, to break the tie on a measure their entries lack;
``--first-repetition``: where the repetitions start, each seeded by its number, so that a second
stage draws afresh), e.g. stage 1 ``--only aqr-sweep --repetitions 40``, stage 2 ``--only
aqr-sweep --near-best --first-repetition 40 --repetitions 120``
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.contenders import OURS, Arena, Contender, run_all  # noqa: E402
from benchmarks.protocol import FRACTIONS, mean_regret, mean_share_to_target  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
SPACES = ROOT / "search_spaces"
#: the LCDB datasets drawn for tuning (``make_lcdb_surface.py --tuning``)
LCDB_TUNING = (12, 185, 847, 914, 1448, 23517, 41156, 41165)
#: and those drawn apart from them at 12 sizes (``make_lcdb_surface.py --tuning --anchors 12``)
LCDB_LONG_TUNING = (930, 966, 1485)
#: (space, surface) by family: the surfaces settings are chosen on (none of them a test surface)
TUNING: dict[str, list[tuple[Path, Path]]] = {
    "mini task": [(SPACES / "demo.yaml", DATA / "mini_surface.csv"),
                  (SPACES / "demo.yaml", DATA / "seed7.csv"),
                  (SPACES / "transformer_lr.yaml", DATA / "transformer_lr.csv"),
                  (SPACES / "demo_12ep.yaml", DATA / "long12_seed13.csv")],
    "LCDB": [*((SPACES / "lcdb.yaml", DATA / f"lcdb_{i}.csv") for i in LCDB_TUNING),
             *((SPACES / "lcdb_12sizes.yaml", DATA / f"lcdb_{i}_12.csv")
               for i in LCDB_LONG_TUNING)],
}
OUT = DATA / "tuned_settings.json"
#: objectives closer than this to the best are a tie: about the standard deviation of the
#: difference of two settings' objectives at 120 repetitions (at 40, on repetitions 0-39 against
#: 40-79, three settings moved by +0.0026, +0.0002 and -0.0014)
TIE = 0.001
#: ``--near-best`` re-runs the settings within this of the best (about twice that noise at 40)
FINALISTS = 0.003

_ASHA = [{"grace_period": g, "reduction_factor": r} for g, r in itertools.product((1, 2, 3),
                                                                                   (2, 3, 4))]
_OPTUNA_BANDS = [{"min_resource": g, "reduction_factor": r}
                 for g, r in itertools.product((1, 2, 3), (2, 3, 4))]
#: each peer's settings grid (the cheaper model settings where a default is minutes a sweep)
GRIDS: dict[str, list[dict]] = {
    "ray-optuna-asha": _ASHA,
    "ray-random-asha": _ASHA,
    "ray-optuna-tpe": [{}],
    "ray-random": [{}],
    "guide-grid": [{}],
    "ray-bohb": [{"reduction_factor": r, "bohb_config": {"num_samples": 16}} for r in (2, 3, 4)],
    "optuna-tpe-hyperband": _OPTUNA_BANDS,
    "optuna-tpe-sha": _OPTUNA_BANDS,
    "optuna-gp-hyperband": [{"min_resource": g} for g in (1, 2, 3)],
    "optuna-gp": [{}],
    "syne-tune-asha": _ASHA,
    "syne-tune-bohb": [{"grace_period": g, "search_options": {"num_candidates": 16}}
                       for g in (1, 2, 3)],
    "dehb": [{"min_fidelity": f, "eta": e} for f, e in itertools.product((1, 2, 3), (2, 3))],
}
#: aqr-sweep's candidate defaults: pruner x confirmation stage (x sampler, TPE unless named).
#: Only those that confirm (answer with a mean over seeds and its noise, not one lucky run) can
#: become the default; the ones that do not are tuned beside them to show what the confirmation
#: costs. Random sampling is tried with the pruners that measured best with it (Ray's random
#: search + ASHA is the best peer on two mini-task surfaces) and the three leading confirmations;
#: the ranking's pessimism (standard errors off a mean) with the median pruners, which lead.
#: Every setting states its pessimism (these ran at 1, the default then), so that a change of the
#: default cannot relabel a result.
_CONFIRMS = [{"top_k": 0, "seeds": 0, "pessimism": 1.0},
             {"top_k": 1, "seeds": 1, "when": "leading", "pessimism": 1.0},
             {"top_k": 2, "seeds": 1, "when": "leading", "after": 3, "pessimism": 1.0}]
_MORE_CONFIRMS = [{"top_k": 2, "seeds": 1, "when": "leading", "pessimism": 1.0},
                  {"top_k": 2, "seeds": 1, "when": "end", "pessimism": 1.0},
                  {"top_k": 1, "seeds": 1, "when": "end", "pessimism": 1.0}]
OURS_GRID: list[dict] = [
    *({"pruner": pruner, "confirm": confirm}
      for pruner, confirm in itertools.product(
        [{"type": "median", "warmup_epochs": 1, "startup_trials": 2},
         {"type": "median", "warmup_epochs": 2, "startup_trials": 2},
         {"type": "median", "warmup_epochs": 2, "startup_trials": 3},
         *({"type": "asha", "options": {"grace_period": g, "reduction_factor": r}}
           for g, r in ((2, 3), (2, 4), (3, 2), (3, 3), (3, 4))),
         {"type": "none"}],
        [*_CONFIRMS, *_MORE_CONFIRMS])),
    *({"pruner": pruner, "confirm": confirm, "sampler": "random"}
      for pruner, confirm in itertools.product(
        [*({"type": "asha", "options": {"grace_period": 3, "reduction_factor": r}}
           for r in (2, 3)), {"type": "none"}], _CONFIRMS)),
    *({"pruner": {"type": "median", "warmup_epochs": warmup, "startup_trials": startup},
       "confirm": {**confirm, "pessimism": pessimism}}
      for (warmup, startup), confirm, pessimism in itertools.product(
        [(1, 2), (2, 2), (2, 3)],
        [*_CONFIRMS[1:], *_MORE_CONFIRMS],
        (1.5, 2.0))),
    # Optuna's other pruners behind the same driver, with the leading confirmation: the
    # percentile pruner keeping the top 66% or 75% (a lenient median pruner), and the rung-based
    # ones, which judge a trial against every trial at its rung, not only the completed ones
    *({"pruner": pruner, "confirm": {**_CONFIRMS[2], "pessimism": 1.5}}
      for pruner in [*({"type": "percentile", "warmup_epochs": warmup, "startup_trials": 2,
                        "options": {"percentile": kept}}
                       for warmup, kept in itertools.product((1, 2), (66.0, 75.0))),
                     *({"type": "successive_halving",
                        "options": {"min_resource": 3, "reduction_factor": r}} for r in (2, 3))]),
    # and Hyperband over the grid the ASHA peers get (minimum resource 1 left out: the first
    # epoch ranks the mini task backwards), with the leading confirmations
    *({"pruner": {"type": "hyperband", "options": {"min_resource": g, "reduction_factor": r}},
       "confirm": {**confirm, "pessimism": 1.5}}
      for (g, r), confirm in itertools.product(
        itertools.product((2, 3), (2, 3, 4)),
        [_CONFIRMS[2], _CONFIRMS[1], _MORE_CONFIRMS[0]]))]


def confirms(settings: dict) -> bool:
    confirm = settings.get("confirm", {})
    return bool(confirm.get("top_k") and confirm.get("seeds"))


#: repetitions for the peers that take seconds a sweep
SLOW_REPETITIONS = {"optuna-gp": 10, "optuna-gp-hyperband": 10}


def describe(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True) if settings else "defaults"


Regrets = dict[str, tuple[float, ...]]


@dataclass(frozen=True)
class Row:
    """A setting's result: its objective and the tie-breaks, first to last."""

    objective: float
    to_target: float
    all_budgets: float
    contender: Contender


def regrets_by_surface(per_surface: dict[Path, dict[str, list]], name: str) -> Regrets:
    """A contender's mean regret at each budget (1/8, 1/4, 1/2, 1), by surface file name."""
    return {surface.name: tuple(round(mean_regret(scores[name], f), 5) for f in FRACTIONS)
            for surface, scores in per_surface.items()}


def shares_by_surface(per_surface: dict[Path, dict[str, list]], name: str) -> dict[str, float]:
    """A contender's mean share of the budget until it stays within 0.01, by surface file name."""
    return {surface.name: round(mean_share_to_target(scores[name]), 4)
            for surface, scores in per_surface.items()}


def _by_family(values: dict[str, Any], measure: Callable[[Any], float]) -> float:
    """``measure`` of each surface's values averaged over each family, then over the families."""
    return statistics.fmean(statistics.fmean(measure(values[surface.name])
                                             for _, surface in pairs)
                            for pairs in TUNING.values())


def objective(regrets: Regrets) -> float:
    """Regret at 1/4 plus regret at 1/2, each family weighing the same."""
    return _by_family(regrets, lambda r: r[FRACTIONS.index(0.25)] + r[FRACTIONS.index(0.5)])


def to_target(shares: dict[str, float]) -> float:
    """The first tie-break: the share of the budget until within 0.01, families weighing the
    same."""
    return _by_family(shares, float)


def all_budgets(regrets: Regrets) -> float:
    """The second tie-break: regret summed over every budget, each family weighing the same."""
    return _by_family(regrets, sum)


def winner(rows: list[Row], eligible: Callable[[dict], bool]) -> Row:
    """Among the eligible settings within :data:`TIE` of the best eligible objective, the one
    soonest within 0.01, then with the lowest regret over all budgets."""
    candidates = [row for row in rows if eligible(row.contender.settings)]
    best = min(row.objective for row in candidates)
    return min((row for row in candidates if row.objective <= best + TIE),
               key=lambda row: (row.to_target, row.all_budgets))


def not_run(name: str, grid: list[dict], chosen: dict, drawn: list[int]) -> list[dict]:
    """The settings of ``grid`` the settings file holds no result for on the repetitions
    ``drawn`` (a grid grown since, or a stage stopped part-way)."""
    ran = {describe(g["settings"]) for g in chosen.get(name, {}).get("grid", [])
           if drawn in (g["repetitions"], first_stage(g)["repetitions"])}
    return [s for s in grid if describe(s) not in ran]


def contender(name: str, settings: dict) -> Contender:
    """``name`` (a peer, or aqr-sweep) under ``settings``."""
    return Contender(f"{name} {describe(settings)}", None if name == OURS else name, settings)


def stage_rows(name: str, entries: list[dict], drawn: list[int]) -> list[Row]:
    """The settings file's results on the repetitions ``drawn``, as rows to choose from."""
    return [Row(g["objective"], g.get("to_target", math.inf), g["all_budgets"],
                contender(name, g["settings"]))
            for g in entries if g["repetitions"] == drawn]


def first_stage(entry: dict) -> dict:
    """A settings file entry's first-stage result (``objective``, ``repetitions``): the entry
    itself until a later stage re-ran it, then what it kept of that stage as ``stage_1``."""
    return entry.get("stage_1", entry)


def merged_grid(before: list[dict], ran: list[dict]) -> list[dict]:
    """A settings file's grid after a run: the run's entries, each keeping its first stage's
    result as ``stage_1`` when this run is a later stage, then the entries the run left alone."""
    by_key = {describe(g["settings"]): g for g in before}
    for entry in ran:
        old = by_key.pop(describe(entry["settings"]), None)
        stage_1 = None if old is None else first_stage(old)
        if stage_1 is not None and stage_1["repetitions"] != entry["repetitions"]:
            entry["stage_1"] = {k: stage_1[k] for k in ("objective", "repetitions")}
    return [*ran, *by_key.values()]


def near_best(name: str, grid: list[dict], chosen: dict,
              eligible: Callable[[dict], bool] = lambda _: True) -> list[dict]:
    """The settings of ``grid`` that the first stage put within :data:`FINALISTS` of its best
    eligible one, and those it never ran (they can win too)."""
    entries = chosen.get(name, {}).get("grid", [])
    judged = {describe(g["settings"]): first_stage(g)["objective"] for g in entries}
    if not judged:
        return grid
    best = min(first_stage(g)["objective"] for g in entries if eligible(g["settings"]))
    return [s for s in grid if judged.get(describe(s), -math.inf) <= best + FINALISTS]


def tied(name: str, grid: list[dict], chosen: dict,
         eligible: Callable[[dict], bool] = lambda _: True) -> list[dict]:
    """The eligible settings of ``grid`` the last stage (the repetitions its choice was read off)
    put within :data:`TIE` of its best eligible objective: the ones a tie-break decides
    between."""
    entry = chosen.get(name, {})
    last = [g for g in entry.get("grid", []) if g["repetitions"] == entry.get("repetitions")]
    if not last:
        return grid
    best = min(g["objective"] for g in last if eligible(g["settings"]))
    judged = {describe(g["settings"]): g["objective"] for g in last}
    return [s for s in grid
            if eligible(s) and judged.get(describe(s), math.inf) <= best + TIE]


def dump(chosen: dict) -> str:
    """The settings file's text: JSON, each list of numbers on one line."""
    text = json.dumps(chosen, indent=1)
    return re.sub(r"\[\s+([-0-9.e,\s]+?)\s+\]",
                  lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=100)
    parser.add_argument("--first-repetition", type=int, default=0,
                        help="the first repetition's number (a second stage: draw afresh)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="tune only these (peer names, or aqr-sweep)")
    parser.add_argument("--near-best", action="store_true",
                        help="run only the settings the first stage put within FINALISTS of "
                             "the best")
    parser.add_argument("--new", action="store_true",
                        help="run only the settings with no result on these repetitions")
    parser.add_argument("--tied", action="store_true",
                        help="run again only the settings the last stage tied within TIE of "
                             "its best")
    args = parser.parse_args()
    started = time.perf_counter()
    chosen = json.loads(OUT.read_text()) if OUT.exists() else {}
    names = args.only or [OURS, *GRIDS]
    first = args.first_repetition
    for name in names:
        whole = OURS_GRID if name == OURS else GRIDS[name]
        eligible = confirms if name == OURS else lambda _: True
        if len(whole) == 1:  # (not a filtered grid's one setting: that one still runs)
            chosen[name] = {"settings": whole[0], "objective": None,
                            "note": "one setting: nothing to tune"}
            print(f"\n## {name}: one setting, nothing to tune")
            OUT.write_text(dump(chosen))
            continue
        grid = near_best(name, whole, chosen, eligible) if args.near_best else whole
        reps = min(args.repetitions, SLOW_REPETITIONS.get(name, args.repetitions))
        drawn = [first, first + reps]  # the repetitions' numbers, end excluded
        grid = not_run(name, grid, chosen, drawn) if args.new else grid
        grid = tied(name, grid, chosen, eligible) if args.tied else grid
        if not grid:
            print(f"\n## {name}: no setting to run")
            continue
        contenders = [contender(name, s) for s in grid]
        per_surface = {surface: run_all(Arena(space, surface), contenders, reps, args.jobs,
                                        first=first)
                       for pairs in TUNING.values() for space, surface in pairs}
        regrets = {c.name: regrets_by_surface(per_surface, c.name) for c in contenders}
        shares = {c.name: shares_by_surface(per_surface, c.name) for c in contenders}
        rows = sorted((Row(objective(regrets[c.name]), to_target(shares[c.name]),
                           all_budgets(regrets[c.name]), c) for c in contenders),
                      key=lambda row: (row.objective, row.to_target, row.all_budgets))
        print(f"\n## {name} (repetitions {first}-{first + reps - 1} x {len(per_surface)} "
              f"tuning surfaces; "
              f"{time.perf_counter() - started:.0f} s so far)")
        print("| settings | regret@1/4 + regret@1/2 (families weighing the same) | share of the "
              "budget to within 0.01 | regret summed over 1/8, 1/4, 1/2, 1 |")
        print("|---|---|---|---|")
        for r in rows:
            print(f"| {describe(r.contender.settings)} | {r.objective:.4f} | {r.to_target:.4f} "
                  f"| {r.all_budgets:.4f} |")
        best = winner(rows, eligible)
        grid_rows = merged_grid(chosen.get(name, {}).get("grid", []), [
            {"settings": r.contender.settings, "objective": round(r.objective, 5),
             "to_target": round(r.to_target, 4), "all_budgets": round(r.all_budgets, 5),
             "repetitions": drawn, "surfaces": regrets[r.contender.name],
             "shares": shares[r.contender.name]} for r in rows])
        resumed = args.new and chosen.get(name, {}).get("repetitions") == drawn
        if resumed:  # the stage the choice was read off, grown: the choice is over all of it
            best = winner(stage_rows(name, grid_rows, drawn), eligible)
        if args.new and name in chosen and not resumed:  # a first stage: the choice is stage 2's
            chosen[name]["grid"] = grid_rows
        else:
            chosen[name] = {"settings": best.contender.settings,
                            "objective": round(best.objective, 5),
                            "to_target": round(best.to_target, 4),
                            "all_budgets": round(best.all_budgets, 5), "repetitions": drawn,
                            "grid": grid_rows}
        OUT.write_text(dump(chosen))
        sys.stdout.flush()
    print(f"\nwrote {OUT} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
