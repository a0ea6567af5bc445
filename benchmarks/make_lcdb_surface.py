"""Tabulate a surface nobody here designed: learning curves from LCDB (Mohr et al., the `lcdb`
package on PyPI, 0.1.0), which ships the curves of 20 scikit-learn learners over training-set
size on OpenML datasets, per outer (test split) and inner (validation split) seed.

A surface is one OpenML dataset: the learner is the one (categorical) knob, the training-set size
is the fidelity (``epoch`` k is the k-th of the last ``--anchors`` sizes every learner was run
at), seeds 0 and 1 are LCDB's outer seeds 0 and 1 (inner seed 0), the metric is validation
accuracy (``score_valid``) and ``epoch_seconds`` the fit time. Nothing here chose the values: the
default (test) datasets are drawn with a fixed seed from every dataset on which all 20 learners
have both seeds and at least 8 common sizes; ``--tuning`` draws the tuning datasets (that
``tune_search.py`` chooses settings on) with another seed from the rest, and ``--tuning
--anchors 12`` three more of a longer fidelity (``lcdb_<id>_12``) from the datasets with 12 common
sizes, apart from all of those. Their spaces are ``search_spaces/lcdb.yaml`` and
``lcdb_12sizes.yaml`` (replay only).

lcdb publishes only an sdist (68 MB; no wheel), whose ``lcdb/database-accuracy.csv`` holds the
curves: ``--source`` names that file, or the sdist is fetched with ``pip download`` into
``~/.cache/aqr-sweep/lcdb`` and read from there.

Run: ``python benchmarks/make_lcdb_surface.py [--openmlid N ... | --tuning] [--anchors 8]
[--source CSV] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
CACHE = Path.home() / ".cache" / "aqr-sweep" / "lcdb"
PACKAGE = "lcdb==0.1.0"
MEMBER = "lcdb-0.1.0/lcdb/database-accuracy.csv"
LEARNERS = 20
SEEDS = (0, 1)
#: how the default (test) datasets are drawn from the eligible ones
DRAW_SEED = 0
DRAWN = 2
#: how the tuning datasets are drawn from the eligible ones less the test ones
TUNING_DRAW_SEED = 1
TUNING_DRAWN = 8
#: the anchors of the test and first tuning datasets; ``--tuning`` at other anchors (a longer
#: fidelity) draws LONG_DRAWN more tuning datasets from the ones eligible there less all of those
ANCHORS = 8
LONG_DRAWN = 3


def source_csv(given: Path | None) -> Path:
    """LCDB's accuracy table: ``given``, else the one in the cached sdist (fetched once)."""
    if given is not None:
        if not given.is_file():
            sys.exit(f"--source: no such file: {given} (lcdb's lcdb/database-accuracy.csv)")
        return given
    csv = CACHE / "database-accuracy.csv"
    if csv.is_file():
        return csv
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"fetching {PACKAGE} (68 MB sdist) into {CACHE}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    "--no-build-isolation", "-d", str(CACHE), PACKAGE], check=True)
    with tarfile.open(next(CACHE.glob("lcdb-*.tar.gz"))) as sdist, csv.open("wb") as out:
        shutil.copyfileobj(sdist.extractfile(sdist.getmember(MEMBER)), out)
    return csv


def load(csv: Path) -> pd.DataFrame:
    """The curves of inner seed 0 and outer seeds 0 and 1, learners by their class name."""
    frame = pd.read_csv(csv, usecols=["openmlid", "learner", "size_train", "outer_seed",
                                      "inner_seed", "traintime", "score_valid"])
    frame = frame[(frame.inner_seed == 0) & frame.outer_seed.isin(SEEDS)]
    return frame.assign(learner=frame.learner.str.rsplit(".", n=1).str[-1])


def common_anchors(rows: pd.DataFrame) -> list[int]:
    """The training-set sizes at which every learner has a number under both seeds."""
    rows = rows.dropna(subset=["score_valid"])
    per_run = rows.groupby(["learner", "outer_seed"]).size_train.agg(set)
    if rows.learner.nunique() < LEARNERS or len(per_run) < LEARNERS * len(SEEDS):
        return []
    return sorted(set.intersection(*per_run))


def eligible(frame: pd.DataFrame, anchors: int) -> list[int]:
    return sorted(int(d) for d, rows in frame.groupby("openmlid")
                  if len(common_anchors(rows)) >= anchors)


def _choose(pool: list[int], seed: int, size: int) -> list[int]:
    return sorted(int(i) for i in np.random.default_rng(seed).choice(pool, size=size,
                                                                      replace=False))


def draw(pool: list[int], tuning: bool, base_pool: list[int]) -> tuple[list[int], str]:
    """The test datasets, or (``tuning``) the tuning ones drawn from the pool less the test
    ones; and how they were drawn. The test and first tuning datasets are drawn from
    ``base_pool`` (the datasets eligible at :data:`ANCHORS` anchors); a ``pool`` of another
    number of anchors gives :data:`LONG_DRAWN` tuning datasets that are none of those."""
    test = _choose(base_pool, DRAW_SEED, DRAWN)
    if not tuning:
        return test, f"{len(base_pool)} eligible datasets, seed {DRAW_SEED}"
    rest = [i for i in base_pool if i not in test]
    first = _choose(rest, TUNING_DRAW_SEED, TUNING_DRAWN)
    if pool == base_pool:
        return (first, f"the {len(rest)} eligible datasets left once the test ones {test} are "
                       f"out, seed {TUNING_DRAW_SEED} (tuning)")
    rest = [i for i in pool if i not in test and i not in first]
    return (_choose(rest, TUNING_DRAW_SEED, LONG_DRAWN),
            f"the {len(rest)} datasets eligible at these anchors left once the test ones {test} "
            f"and the tuning ones at {ANCHORS} anchors {first} are out, seed "
            f"{TUNING_DRAW_SEED} (tuning)")


def surface(rows: pd.DataFrame, anchors: int) -> pd.DataFrame:
    """One dataset's table: learner, seed, epoch (the k-th of the last ``anchors`` common
    sizes), accuracy, epoch_seconds, size_train."""
    sizes = common_anchors(rows)[-anchors:]
    rows = rows[rows.size_train.isin(sizes)].dropna(subset=["score_valid"])
    rows = rows.drop_duplicates(["learner", "outer_seed", "size_train"])
    return pd.DataFrame({
        "learner": rows.learner,
        "seed": rows.outer_seed.astype(int),
        "epoch": rows.size_train.map({s: k + 1 for k, s in enumerate(sizes)}),
        "accuracy": rows.score_valid.round(6),
        "epoch_seconds": rows.traintime.round(4),
        "size_train": rows.size_train,
    }).sort_values(["learner", "seed", "epoch"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--openmlid", type=int, nargs="*",
                       help=f"datasets (default: {DRAWN} drawn with seed {DRAW_SEED} from the "
                            "eligible ones)")
    which.add_argument("--tuning", action="store_true",
                       help=f"the {TUNING_DRAWN} tuning datasets (drawn with seed "
                            f"{TUNING_DRAW_SEED} from the eligible ones less the test ones)")
    parser.add_argument("--anchors", type=int, default=8, help="training-set sizes kept "
                                                               "(the epochs; default 8)")
    parser.add_argument("--source", type=Path, help="lcdb's database-accuracy.csv")
    parser.add_argument("--out", type=Path, default=DATA, help="where the tables go "
                                                               "(default benchmarks/data)")
    args = parser.parse_args()
    frame = load(source_csv(args.source))
    pool = eligible(frame, args.anchors)
    longer = args.anchors != ANCHORS
    base_pool = eligible(frame, ANCHORS) if longer else pool
    ids, drawn_from = (args.openmlid, "named on the command line") if args.openmlid \
        else draw(pool, args.tuning, base_pool)
    for openmlid in ids:
        if openmlid not in pool:
            sys.exit(f"--openmlid {openmlid}: not all {LEARNERS} learners have seeds "
                     f"{list(SEEDS)} at {args.anchors} common sizes there (eligible: "
                     f"{len(pool)} datasets)")
        table = surface(frame[frame.openmlid == openmlid], args.anchors)
        name = f"lcdb_{openmlid}" + (f"_{args.anchors}" if longer else "")
        table.drop(columns="size_train").to_csv(args.out / f"{name}.csv", index=False)
        finals = table[table.epoch == args.anchors].groupby("learner").accuracy.mean()
        (args.out / f"{name}.json").write_text(json.dumps({
            "made_by": "python benchmarks/make_lcdb_surface.py"
                       + (f" --openmlid {openmlid}" if args.openmlid else "")
                       + (" --tuning" if args.tuning else "")
                       + (f" --anchors {args.anchors}" if longer else ""),
            "surface": name,
            "about": f"LCDB ({PACKAGE}) learning curves of OpenML dataset {openmlid}: the "
                     "learner as the one knob, training-set size as the fidelity; designed by "
                     "nobody here",
            "drawn_from": drawn_from,
            "metric": "accuracy (LCDB's score_valid)", "mode": "max",
            "seeds": {"0": "outer seed 0, inner seed 0", "1": "outer seed 1, inner seed 0"},
            "epochs": {str(k + 1): int(s) for k, s in
                       enumerate(sorted(table.size_train.unique()))},
            "best": finals.idxmax(), "best_mean": round(float(finals.max()), 4),
            "simulate_with": f"search_spaces/lcdb_{args.anchors}sizes.yaml" if longer
                             else "search_spaces/lcdb.yaml",
        }, indent=2) + "\n")
        print(f"{name}: {table.learner.nunique()} learners x {len(SEEDS)} seeds x "
              f"{args.anchors} sizes; best {finals.idxmax()} {finals.max():.4f}")


if __name__ == "__main__":
    main()
