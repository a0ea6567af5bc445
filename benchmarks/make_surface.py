"""Tabulate the mini AQR-CMT task over a grid of AQR knobs: the surfaces that
``aqr-sweep simulate`` and ``bench_search.py`` replay instead of training.

A surface is made by a named recipe (:data:`RECIPES`, ``--surface NAME``): its knob grid, the space
file whose targets the knobs reach the config at (as in a sweep's trials), its training seeds, and
what else it changes: the data seed (both datasets), the schedule length (``train_cfg.max_epochs``
and the cosine's ``T_max``) and the scenes' difficulty (``MiniNuScenesDataset(spec=...)``). The
default, ``mini_surface``, is the demo's four knobs on the config as it is.

Every configuration of the grid is trained with ``python -m aqr.train`` for the full schedule under
each training seed, ``--jobs`` runs side by side (one thread each). Each finished run is kept in
``benchmarks/data/surface_runs/`` (``surface_runs/<name>/`` for the other recipes) as it ends, so a
killed generation goes on where it stopped when started again. The table (one row per
configuration, seed and epoch: NDS, mAP, epoch seconds) is written to
``benchmarks/data/<name>.csv`` with how it was made in ``<name>.json``.

Run: ``python benchmarks/make_surface.py [--surface NAME] [--seeds N] [--jobs 2]``;
``--summary`` prints what the surface's table shows (best and worst configurations, seed noise,
how early NDS ranks configurations) as Markdown, without training.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path
from typing import Any

from sweeps.config.overrides import cfg_options, flat_overrides
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
#: the columns of a table that are not knobs
RESULT_COLUMNS = ("seed", "epoch", "NDS", "mAP", "epoch_seconds")
#: the config's own schedule and the index of its CosineAnnealingLR in ``param_scheduler``
CONFIG_EPOCHS = 6
COSINE = 1
#: harder scenes (SceneSpec fields, both datasets): LiDAR fades sooner with range and loses beams
#: more often, so far objects lean on the cameras, which drop a view more often; more clutter in
#: both. The current config still learns on them: mAP 0.18 after 6 epochs (data seed 11, training
#: seed 0), against 0.29 on the default scenes of the same data seed.
HARD = {"lidar_falloff": 14.0, "reduced_beams_prob": 0.35, "dropped_view_prob": 0.4, "clutter": 10}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How one surface is made.

    Args:
        name: The surface's name: ``benchmarks/data/<name>.csv`` and ``.json``.
        about: One line on what it varies.
        grid: The knobs' values; the table has every combination.
        space: The space file whose parameters' targets the knobs reach the config at.
        seeds: Training seeds per configuration (0, 1, ...).
        data_seed: Both datasets' seed (None: the config's, 0).
        epochs: The schedule's length (None: the config's, 6); the cosine anneals over it.
        difficulty: SceneSpec fields changed in both datasets (:data:`aqr.mini.dataset.
            DIFFICULTY_FIELDS`); empty: the default scenes.
        simulate_space: The space to replay the surface with (None: ``space``); its max_epochs is
            the schedule.
    """

    name: str
    about: str
    grid: dict[str, list[float]]
    space: Path = DEMO
    seeds: int = 2
    data_seed: int | None = None
    epochs: int | None = None
    difficulty: dict[str, float] = dataclasses.field(default_factory=dict)
    simulate_space: Path | None = None

    @property
    def schedule(self) -> int:
        return self.epochs or CONFIG_EPOCHS

    @property
    def legacy(self) -> bool:
        """The first surface keeps its files where they always were."""
        return self.name == "mini_surface"

    @property
    def runs(self) -> Path:
        return RUNS if self.legacy else RUNS / self.name

    @property
    def table(self) -> Path:
        return DATA / f"{self.name}.csv"

    @property
    def metadata(self) -> Path:
        return DATA / f"{self.name}.json"

    def overrides(self) -> dict[str, Any]:
        """The config keys the recipe sets besides the knobs."""
        out: dict[str, Any] = {}
        if self.data_seed is not None:
            # the config computes both datasets' seeds from data_seed when it is read: set them
            out["train_dataloader.dataset.seed"] = self.data_seed
            out["val_dataloader.dataset.seed"] = self.data_seed
        if self.epochs is not None:
            out["train_cfg.max_epochs"] = self.epochs
            out[f"param_scheduler.{COSINE}.T_max"] = self.epochs
        for split in ("train", "val"):
            for field, value in self.difficulty.items():
                out[f"{split}_dataloader.dataset.spec.{field}"] = value
        return out


#: a smaller grid for the other surfaces: 2 x 3 x 2 x 2 = 24 configurations
GRID_24 = {"max_weight_clamp": [1.5, 3.0], "residual_weight": [0.4, 0.55, 0.7],
           "gaussian_sigma": [1.0, 2.0], "aqr_lr_mult": [0.5, 1.5]}
RECIPES: dict[str, Recipe] = {r.name: r for r in [
    Recipe("mini_surface", "the demo's four knobs on the config as it is (data seed 0, 6 epochs)",
           GRID, seeds=3),
    Recipe("seed7", "another data seed: does the surface's shape hold on other scenes?",
           GRID_24, data_seed=7),
    Recipe("hard_seed11", "harder scenes (LiDAR weaker with range, more reduced beams and "
           "dropped views, more clutter), another data seed", GRID_24, data_seed=11,
           difficulty=HARD),
    Recipe("long12_seed3", "a 12-epoch schedule (cosine over 12), another data seed: does early "
           "NDS rank configurations as well on a longer schedule?", GRID_24, data_seed=3,
           epochs=12, simulate_space=ROOT / "search_spaces" / "demo_12ep.yaml"),
    Recipe("long12_seed13", "a 12-epoch schedule on another data seed, for tuning (long12_seed3 "
           "is a test surface): the mini task's own long fidelity among the tuning surfaces",
           GRID_24, data_seed=13, epochs=12,
           simulate_space=ROOT / "search_spaces" / "demo_12ep.yaml"),
    Recipe("seed17", "another data seed, the default scenes, made after every choice of "
           "defaults and settings (2026-12-07) as a test surface nobody had seen",
           GRID_24, data_seed=17),
    Recipe("transformer_lr", "the transformer's lr_mult as a knob instead of sigma (sigma at the "
           "config's 1.0), another data seed",
           {"max_weight_clamp": [1.5, 3.0], "residual_weight": [0.4, 0.7],
            "transformer_lr_mult": [0.4, 0.8, 1.6], "aqr_lr_mult": [0.5, 1.5]},
           space=ROOT / "search_spaces" / "transformer_lr.yaml", data_seed=5),
]}
MINI = RECIPES["mini_surface"]
_TIME = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) ")
_VAL = re.compile(r"Epoch\(val\) \[(\d+)\]\[\d+/\d+\]\s+pts_bbox_NuScenes/")


def configurations(grid: dict[str, list[float]] = GRID) -> list[dict[str, float]]:
    """Every combination of the grid's values."""
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


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


def command(config: dict[str, float], seed: int, work_dir: str, recipe: Recipe = MINI
            ) -> list[str]:
    """The training command of one configuration under one seed."""
    overrides = cfg_options(flat_overrides(load_space(recipe.space), config))
    return [sys.executable, "-m", "aqr.train", str(CONFIG), "--work-dir", work_dir,
            "--seed", str(seed), "--threads", "1",
            "--cfg-options", "default_hooks.checkpoint.max_keep_ckpts=1", *overrides,
            *cfg_options(recipe.overrides())]


def train(config: dict[str, float], seed: int, recipe: Recipe = MINI) -> list[dict]:
    """Train one configuration under one seed; its rows of the table."""
    with tempfile.TemporaryDirectory(prefix="surface_") as work_dir:
        cmd = command(config, seed, work_dir, recipe)
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
        epochs = [row["epoch"] for row in rows]
        if epochs != list(range(1, recipe.schedule + 1)):
            raise RuntimeError(f"{run_name(config, seed)}: validated at epochs {epochs}, not "
                               f"1..{recipe.schedule}")
        return rows


def kept_rows(recipe: Recipe = MINI) -> list[dict]:
    """The rows of the recipe's finished runs."""
    return [row for path in sorted(recipe.runs.glob("*.json"))
            for row in json.loads(path.read_text())]


def write_table(started: float, seeds: int, jobs: int, recipe: Recipe = MINI) -> int:
    """Gather the kept runs into the table and its metadata; the number of rows."""
    import pandas as pd

    rows = kept_rows(recipe)
    columns = [*recipe.grid, *RESULT_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns).sort_values([*recipe.grid, "seed", "epoch"])
    frame.to_csv(recipe.table, index=False, float_format="%.6g")
    if recipe.legacy:
        meta = _legacy_metadata(started, seeds, jobs)
    else:
        meta = _metadata(recipe, started, seeds, jobs, frame)
    recipe.metadata.write_text(json.dumps(meta, indent=2) + "\n")
    return len(frame)


def _legacy_metadata(started: float, seeds: int, jobs: int) -> dict:
    return {
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
    }


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _metadata(recipe: Recipe, started: float, seeds: int, jobs: int, frame) -> dict:
    from aqr.mini.dataset import scene_spec

    nice = os.nice(0)
    calls = _calls(recipe)
    return {
        "made_by": (f"nice -n {nice} " if nice else "") + "python benchmarks/make_surface.py "
                   f"--surface {recipe.name} --seeds {seeds} --jobs {jobs}",
        "surface": recipe.name,
        "about": recipe.about,
        "task": f"aqr/configs/mini_cmt_aqr.py (the demo's base config), {recipe.schedule} epochs"
                + (" (the config's schedule)" if recipe.epochs is None else
                   f" (cosine annealed over {recipe.epochs})"),
        "metric": "pts_bbox_NuScenes/NDS", "mode": "max",
        "grid": recipe.grid, "seeds": list(range(seeds)),
        "space": _relative(recipe.space),
        "simulate_with": _relative(recipe.simulate_space or recipe.space),
        "targets": {k: p.targets for k, p in load_space(recipe.space).parameters.items()},
        "overrides": recipe.overrides(),
        "data_seed": recipe.data_seed if recipe.data_seed is not None else 0,
        "epochs": recipe.schedule,
        "difficulty": recipe.difficulty,          # SceneSpec fields changed ({}: none)
        "scene_spec": dataclasses.asdict(scene_spec(recipe.difficulty)),
        "epoch_seconds": f"wall seconds per epoch (train + validation), one thread, {jobs} runs "
                         f"side by side, measured at nice {nice} on a shared machine (other work "
                         "ran alongside): compare them with care",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "runs": int(frame.groupby([*recipe.grid, "seed"]).ngroups),
        "run_seconds_sum": round(float(frame["epoch_seconds"].sum())),
        "generation_seconds_this_call": round(time.time() - started),
        "generation_seconds_all_calls": round(sum(c["seconds"] for c in calls)),
        "calls": calls,
        "written": datetime.now().isoformat(timespec="seconds"),
    }


def _calls(recipe: Recipe) -> list[dict]:
    """The generation's calls so far (each appends one line when it ends)."""
    path = recipe.runs / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def summary(table: Path = TABLE) -> str:
    """The surface in numbers, as Markdown (the knobs: every column but the results)."""
    import pandas as pd

    frame = pd.read_csv(table)
    knobs = [c for c in frame.columns if c not in RESULT_COLUMNS]
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--surface", choices=list(RECIPES), default=MINI.name,
                        help="which recipe (default: mini_surface): "
                             + "; ".join(f"{r.name}: {r.about}" for r in RECIPES.values()))
    parser.add_argument("--seeds", type=int, help="training seeds per configuration (default: "
                                                  "the recipe's, 3 for mini_surface, else 2)")
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side")
    parser.add_argument("--max-runs", type=int, help="train at most this many runs, keep them and "
                                                     "stop without writing the table (a first look)")
    parser.add_argument("--summary", action="store_true", help="print the table's summary only")
    args = parser.parse_args()
    recipe = RECIPES[args.surface]
    if args.summary:
        print(summary(recipe.table))
        return
    seeds = recipe.seeds if args.seeds is None else args.seeds
    started = time.time()
    recipe.runs.mkdir(parents=True, exist_ok=True)
    grid = configurations(recipe.grid)
    # Seed by seed, so that an early stop still leaves whole seeds of the grid.
    todo = [(config, seed) for seed in range(seeds) for config in grid
            if not (recipe.runs / f"{run_name(config, seed)}.json").exists()]
    total = len(grid) * seeds
    print(f"{total - len(todo)}/{total} runs kept in {recipe.runs.relative_to(ROOT)}; "
          f"training {len(todo)}, {args.jobs} at a time", flush=True)
    whole = args.max_runs is None or args.max_runs >= len(todo)
    todo = todo if whole else todo[:args.max_runs]
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(train, config, seed, recipe): (config, seed)
                   for config, seed in todo}
        for done, future in enumerate(as_completed(futures), start=1):
            config, seed = futures[future]
            rows = future.result()
            path = recipe.runs / f"{run_name(config, seed)}.json"
            path.with_suffix(".tmp").write_text(json.dumps(rows))
            path.with_suffix(".tmp").replace(path)
            elapsed = time.time() - started
            print(f"[{done}/{len(todo)}] {run_name(config, seed)}: final NDS "
                  f"{rows[-1]['NDS']:.4f}  ({elapsed / 60:.1f} min, "
                  f"~{elapsed / done * (len(todo) - done) / 60:.0f} min left)", flush=True)
    if not recipe.legacy:
        with (recipe.runs / "calls.jsonl").open("a") as calls:
            calls.write(json.dumps({"started": datetime.fromtimestamp(started).isoformat(
                timespec="seconds"), "seconds": round(time.time() - started),
                "trained": len(todo), "jobs": args.jobs, "nice": os.nice(0)}) + "\n")
    if not whole:
        print(f"stopped after {len(todo)} runs (--max-runs); the table is written when all "
              f"{total} are kept")
        return
    print(f"{write_table(started, seeds, args.jobs, recipe)} rows -> "
          f"{recipe.table.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
