"""Mini AQR-CMT: seconds per epoch, and how strongly the AQR knobs move NDS compared to seed noise.

Trains the embedded task with ``python -m aqr.train`` (one thread each, two at a time) for the
tuning guide's presets, three training seeds each, and reads NDS from each run's
``scalars.json``. Prints a table of NDS mean and std per preset, a trivial predictor's NDS for
scale, and last ``sensitivity spread/noise: N.N`` = (max - min of the preset means) / (mean of the
per-preset stds).

Run: ``python benchmarks/bench_minicmt.py [--epochs 6] [--seeds 3] [--jobs 2]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

CONFIG = Path(__file__).resolve().parents[1] / "aqr" / "configs" / "mini_cmt_aqr.py"
# clamp / residual / sigma / AQR lr_mult, as in the tuning guide's quick-reference table
PRESETS = {
    "current": (1.5, 0.7, 1.0, 0.5),
    "conservative": (2.0, 0.6, 1.0, 0.5),
    "aggressive": (2.5, 0.5, 0.8, 0.8),
    "no clamp (100)": (100.0, 0.7, 1.0, 0.5),
}
AQR_KEYS = ("aqr_weight_generator", "weight_renderer", "feature_modulator")


def overrides(clamp: float, residual: float, sigma: float, lr_mult: float) -> list[str]:
    head = "model.pts_bbox_head"
    out = [f"{head}.renderer_config.max_weight_clamp={clamp}",
           f"{head}.renderer_config.gaussian_sigma={sigma}",
           f"{head}.modulator_config.residual_weight={residual}"]
    out += [f"optim_wrapper.paramwise_cfg.custom_keys.{k}.lr_mult={lr_mult}" for k in AQR_KEYS]
    return out


def train(work_dir: Path, seed: int, epochs: int, knobs: tuple) -> tuple[list[dict], float]:
    cmd = [sys.executable, "-m", "aqr.train", str(CONFIG), "--work-dir", str(work_dir),
           "--seed", str(seed), "--cfg-options", f"train_cfg.max_epochs={epochs}",
           *overrides(*knobs)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"training failed ({work_dir}): {proc.stderr.strip().splitlines()[-1]}")
    scalars = next(work_dir.glob("*/vis_data/scalars.json"))
    validations = [json.loads(line) for line in scalars.read_text().splitlines()
                   if "pts_bbox_NuScenes/NDS" in line]
    return validations, wall


def trivial_metrics() -> dict[str, float]:
    """NDS of a predictor that ignores the sensors: every class's mean box on a fixed 16x16 grid."""
    from aqr.mini.dataset import MiniNuScenesDataset
    from aqr.mini.metric import nuscenes_metrics, to_detection_boxes
    from aqr.mini.scenes import CLASSES, SIZE_PRIORS

    val = MiniNuScenesDataset("val", num_scenes=160)
    grid = (np.arange(16) + 0.5) / 16 * 64 - 32
    xs, ys = np.meshgrid(grid, grid)
    gt, pred = {}, {}
    for i, scene in enumerate(val.scenes):
        token = f"val-{i}"
        gt[token] = to_detection_boxes(token, scene["boxes"], scene["labels"])
        boxes, labels, scores = [], [], []
        for c, name in enumerate(CLASSES):
            size = SIZE_PRIORS[name]
            for x, y in zip(xs.flat, ys.flat, strict=True):
                boxes.append([x, y, size[2] / 2, *size, 0.0, 0.0, 0.0])
                labels.append(c)
                scores.append([0.5, 0.3, 0.2][c])
        pred[token] = to_detection_boxes(token, np.array(boxes), np.array(labels),
                                         np.array(scores))
    return nuscenes_metrics(gt, pred)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    runs = [(name, seed) for name in PRESETS for seed in range(args.seeds)]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        futures = {run: pool.submit(train, Path(tmp) / f"{i}", run[1], args.epochs,
                                    PRESETS[run[0]]) for i, run in enumerate(runs)}
        results = {run: future.result() for run, future in futures.items()}
    walls = [wall for _, wall in results.values()]
    print(f"seconds per epoch (wall, train + val + start-up share, 1 thread, {args.jobs} jobs "
          f"side by side): {statistics.mean(walls) / args.epochs:.1f}")
    print(f"\nNDS after {args.epochs} epochs, {args.seeds} training seeds each")
    print("| preset | clamp / residual / sigma / AQR lr_mult | NDS mean | NDS std | mAP mean |")
    print("|---|---|---|---|---|")
    means, stds = [], []
    for name, knobs in PRESETS.items():
        finals = [results[(name, s)][0][-1] for s in range(args.seeds)]
        nds = [f["pts_bbox_NuScenes/NDS"] for f in finals]
        means.append(statistics.mean(nds))
        stds.append(statistics.stdev(nds) if len(nds) > 1 else 0.0)
        mean_map = statistics.mean(f["pts_bbox_NuScenes/mAP"] for f in finals)
        print(f"| {name} | {' / '.join(f'{k:g}' for k in knobs)} | {means[-1]:.4f} | "
              f"{stds[-1]:.4f} | {mean_map:.4f} |")
    trivial = trivial_metrics()
    print(f"| trivial predictor (class-prior boxes on a grid, no sensors) | - | "
          f"{trivial['NDS']:.4f} | - | {trivial['mAP']:.4f} |")
    noise = statistics.mean(stds)
    spread = max(means) - min(means)
    ratio = spread / noise if noise > 0 else float("inf")
    print(f"sensitivity spread/noise: {ratio:.1f}")


if __name__ == "__main__":
    main()
