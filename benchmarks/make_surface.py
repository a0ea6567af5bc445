"""Tabulate the mini AQR-CMT task over a grid of the four AQR knobs: the surface that
``aqr-sweep simulate`` and ``bench_search.py`` replay instead of training.

Every configuration of the grid below is trained with ``python -m aqr.train`` for the config's full
schedule under each training seed, ``--jobs`` runs side by side (one thread each). Each finished run
is kept in ``benchmarks/data/surface_runs/`` as it ends, so a killed generation goes on where it
stopped when started again. The table (one row per configuration, seed and epoch: NDS, mAP, epoch
seconds) is written to ``benchmarks/data/mini_surface.csv`` with how it was made in
``mini_surface.json``.

Run: ``python benchmarks/make_surface.py [--seeds 3] [--jobs 2]``; ``--summary`` prints what
the table shows (best and worst configurations, seed noise, how early NDS ranks configurations)
as Markdown, without training.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path

from sweeps.overrides import cfg_options, flat_overrides
from sweeps.space import load_space

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "aqr" / "configs" / "mini_cmt_aqr.py"
DATA = ROOT / "benchmarks" / "data"
RUNS = DATA / "surface_runs"
TABLE = DATA / "mini_surface.csv"
METADATA = DATA / "mini_surface.json"

#: The knobs' values: the tuning guide's clamp x residual grid (clamp 1.5 / 2.0 / 2.5-3.0,
#: residual 0.7 / 0.6 / 0.5-0.4) crossed with two sigmas and two AQR lr_mults, the guide's
#: current 1.0 / 0.5 among them.
GRID: dict[str, list[float]] = {
    "max_weight_clamp": [1.5, 2.0, 3.0],
    "residual_weight": [0.4, 0.5, 0.6, 0.7],
    "gaussian_sigma": [1.0, 2.0],
    "aqr_lr_mult": [0.5, 1.5],
}
#: the knobs reach the config as in a demo sweep's trials: at the demo space's targets
DEMO = ROOT / "search_spaces" / "demo.yaml"
COLUMNS = [*GRID, "seed", "epoch", "NDS", "mAP", "epoch_seconds"]
_TIME = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) ")
_VAL = re.compile(r"Epoch\(val\) \[(\d+)\]\[\d+/\d+\]\s+pts_bbox_NuScenes/")


def configurations() -> list[dict[str, float]]:
    """Every combination of the grid's values."""
    return [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]


def run_name(config: dict[str, float], seed: int) -> str:
    return "_".join(f"{value:g}" for value in config.values()) + f"_s{seed}"


def epoch_seconds(text_log: Path) -> dict[int, float]:
    """Seconds from the previous validation (or the log's first line) to each epoch's validation,
    read off mmengine's timestamped text log."""
    stamps: dict[int, float] = {}
    start = None
    for line in text_log.read_text().splitlines():
        stamp = _TIME.match(line)
        if not stamp:
            continue
        seconds = datetime.strptime(stamp.group(1), "%Y/%m/%d %H:%M:%S").timestamp()
        start = seconds if start is None else start
        if val := _VAL.search(line):
            stamps[int(val.group(1))] = seconds
    ends = [start, *(stamps[e] for e in sorted(stamps))]
    return {e: ends[i + 1] - ends[i] for i, e in enumerate(sorted(stamps))}


def train(config: dict[str, float], seed: int) -> list[dict]:
    """Train one configuration under one seed; its rows of the table."""
    overrides = cfg_options(flat_overrides(load_space(DEMO), config))
    with tempfile.TemporaryDirectory(prefix="surface_") as work_dir:
        cmd = [sys.executable, "-m", "aqr.train", str(CONFIG), "--work-dir", work_dir,
               "--seed", str(seed), "--threads", "1",
               "--cfg-options", "default_hooks.checkpoint.max_keep_ckpts=1", *overrides]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"{run_name(config, seed)}: training failed: {last}")
        scalars = next(Path(work_dir).glob("*/vis_data/scalars.json"))
        seconds = epoch_seconds(next(Path(work_dir).glob("*/*.log")))
        rows = []
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            if "pts_bbox_NuScenes/NDS" in record:
                epoch = int(record["step"])
                rows.append({**config, "seed": seed, "epoch": epoch,
                             "NDS": record["pts_bbox_NuScenes/NDS"],
                             "mAP": record["pts_bbox_NuScenes/mAP"],
                             "epoch_seconds": seconds.get(epoch)})
        return rows


def write_table(started: float, seeds: int, jobs: int) -> int:
    """Gather the kept runs into the table and its metadata; the number of rows."""
    import pandas as pd

    rows = [row for path in sorted(RUNS.glob("*.json")) for row in json.loads(path.read_text())]
    frame = pd.DataFrame(rows, columns=COLUMNS).sort_values([*GRID, "seed", "epoch"])
    frame.to_csv(TABLE, index=False, float_format="%.6g")
    METADATA.write_text(json.dumps({
        "made_by": "python benchmarks/make_surface.py "
                   f"--seeds {seeds} --jobs {jobs}",
        "task": "aqr/configs/mini_cmt_aqr.py (the demo's base config), its full schedule",
        "metric": "pts_bbox_NuScenes/NDS", "mode": "max",
        "grid": GRID, "seeds": list(range(seeds)),
        "targets": {k: p.targets for k, p in load_space(DEMO).parameters.items()},
        "epoch_seconds": f"wall seconds per epoch (train + validation), one thread, {jobs} runs "
                         "side by side",
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "generation_seconds_this_call": round(time.time() - started),
        "written": datetime.now().isoformat(timespec="seconds"),
    }, indent=2) + "\n")
    return len(frame)


def summary(table: Path = TABLE) -> str:
    """The surface in numbers, as Markdown."""
    import pandas as pd

    frame = pd.read_csv(table)
    knobs = list(GRID)
    last = frame["epoch"].max()
    final = frame[frame["epoch"] == last].groupby(knobs)["NDS"].agg(["mean", "std", "min", "max"])
    final = final.sort_values("mean", ascending=False)
    seeds = frame["seed"].nunique()
    lines = [f"{len(final)} configurations x {seeds} seeds x {last} epochs "
             f"({len(frame)} rows); final NDS per configuration, mean over seeds:", ""]
    shown = pd.concat([final.head(5), final.tail(3)]).reset_index()
    lines.append(shown.to_markdown(index=False, floatfmt=".4f"))
    spread = final["mean"].iloc[0] - final["mean"].iloc[-1]
    noise = final["std"].median()
    gap = final["mean"].iloc[0] - final["mean"].iloc[1]
    lines += ["", f"- Best minus worst mean: {spread:.4f} NDS; seed noise (std over seeds of one "
              f"configuration): median {noise:.4f}, max {final['std'].max():.4f}; the best mean "
              f"is {gap:.4f} above the second."]
    truth = final["mean"]
    runs = frame.set_index([*knobs, "seed", "epoch"])["NDS"]
    for epoch in range(1, last):
        single = runs.xs(epoch, level="epoch").groupby(knobs).first()
        mean = runs.xs(epoch, level="epoch").groupby(knobs).mean()
        lines.append(f"- Epoch {epoch} vs final (Spearman over configurations): one seed "
                     f"{single.corr(truth.reindex(single.index), method='spearman'):.2f}, mean "
                     f"of seeds {mean.corr(truth.reindex(mean.index), method='spearman'):.2f}")
    by_seed = runs.xs(last, level="epoch").groupby("seed")
    lucky = sum(grp.droplevel("seed").idxmax() == truth.idxmax() for _, grp in by_seed)
    lines.append(f"- The best final run of one seed is the configuration best on average in "
                 f"{lucky} of {seeds} seeds.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per configuration")
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side")
    parser.add_argument("--summary", action="store_true", help="print the table's summary only")
    args = parser.parse_args()
    if args.summary:
        print(summary())
        return
    started = time.time()
    RUNS.mkdir(parents=True, exist_ok=True)
    # Seed by seed, so that an early stop still leaves whole seeds of the grid.
    todo = [(config, seed) for seed in range(args.seeds) for config in configurations()
            if not (RUNS / f"{run_name(config, seed)}.json").exists()]
    total = len(configurations()) * args.seeds
    print(f"{total - len(todo)}/{total} runs kept in {RUNS.relative_to(ROOT)}; "
          f"training {len(todo)}, {args.jobs} at a time", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(train, config, seed): (config, seed) for config, seed in todo}
        for done, future in enumerate(as_completed(futures), start=1):
            config, seed = futures[future]
            rows = future.result()
            path = RUNS / f"{run_name(config, seed)}.json"
            path.with_suffix(".tmp").write_text(json.dumps(rows))
            path.with_suffix(".tmp").replace(path)
            elapsed = time.time() - started
            print(f"[{done}/{len(todo)}] {run_name(config, seed)}: final NDS "
                  f"{rows[-1]['NDS']:.4f}  ({elapsed / 60:.1f} min, "
                  f"~{elapsed / done * (len(todo) - done) / 60:.0f} min left)", flush=True)
    print(f"{write_table(started, args.seeds, args.jobs)} rows -> {TABLE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
