"""Vectorised WeightRenderer against the original per-query loop, forward + backward.

The reference below is the approach of the original CMT-AQR renderer: a Python loop over batch and
queries that adds a window of the (sum-normalised) gaussian kernel around each query's cell. Both run
side by side in this process, on the same inputs; the script checks they give the same maps and
prints the speedup per case. Last line: ``renderer speedup vs per-query loop: N.Nx`` (the smallest).

Run: ``python benchmarks/bench_renderer.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from aqr.renderer import WeightRenderer, gaussian_kernel


def loop_render(weights: torch.Tensor, pts: torch.Tensor, shape: tuple[int, int, int],
                sigma: float) -> torch.Tensor:
    """Per-query loop renderer (the original code's approach): ``pts`` is (view, row, col)."""
    num_views, height, width = shape
    kernel = gaussian_kernel(sigma, "sum")
    half = kernel.shape[0] // 2
    maps = torch.zeros(weights.shape[0], num_views, height, width)
    for b in range(weights.shape[0]):
        for q in range(weights.shape[1]):
            view, row, col = (float(v) for v in pts[b, q])
            if math.isnan(row) or not (0 <= view < num_views and 0 <= row < height
                                       and 0 <= col < width):
                continue
            r, c, v = int(row), int(col), int(view)
            y0, y1 = max(r - half, 0), min(r + half + 1, height)
            x0, x1 = max(c - half, 0), min(c + half + 1, width)
            patch = kernel[y0 - r + half:y1 - r + half, x0 - c + half:x1 - c + half]
            maps[b, v, y0:y1, x0:x1] += weights[b, q] * patch
    return maps


def timed(fn, repeats: int) -> tuple[float, torch.Tensor]:
    best, out = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run_case(modality: str, num_queries: int, sigma: float, repeats: int) -> float:
    torch.manual_seed(0)
    batch = 4
    shape = (1, 128, 128) if modality == "bev" else (6, 20, 50)
    renderer = WeightRenderer(gaussian_sigma=sigma, kernel_norm="sum", normalize_weights=False,
                              min_weight_threshold=0.0, bev_feature_shape=shape[1:],
                              pers_feature_shape=shape)
    pts = torch.rand(batch, num_queries, 3) * torch.tensor(shape, dtype=torch.float32)
    pts[..., 0] = pts[..., 0].floor()
    if modality == "pers":
        pts[:, ::7, 0] = -1.0  # some queries in no camera view
    weights = torch.rand(batch, num_queries)

    def ours():
        w = weights.clone().requires_grad_(True)
        out = (renderer.render_bev_weights(w, pts[..., 1:]).unsqueeze(1) if modality == "bev"
               else renderer.render_perspective_weights(w, pts))
        out.pow(2).sum().backward()
        return out.detach()

    def reference():
        w = weights.clone().requires_grad_(True)
        out = loop_render(w, pts, shape, sigma)
        out.pow(2).sum().backward()
        return out.detach()

    t_ours, m_ours = timed(ours, repeats * 5)
    t_ref, m_ref = timed(reference, repeats)
    diff = (m_ours - m_ref).abs().max().item()
    if diff >= 1e-5:
        raise SystemExit(f"maps differ: max abs diff {diff:.2e} >= 1e-5 ({modality}, Q={num_queries})")
    speedup = t_ref / t_ours
    print(f"{modality:5s} Q={num_queries:5d} sigma={sigma:.0f}  loop {t_ref * 1e3:9.1f} ms  "
          f"vectorised {t_ours * 1e3:7.2f} ms  max|diff| {diff:.1e}  speedup {speedup:7.1f}x",
          flush=True)
    return speedup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"B=4, forward + backward, torch {torch.__version__}, {torch.get_num_threads()} threads")
    speedups = [run_case(modality, q, sigma, args.repeats)
                for modality in ("bev", "pers") for q in (900, 1730) for sigma in (1.0, 2.0)]
    print(f"renderer speedup vs per-query loop: {min(speedups):.1f}x")


if __name__ == "__main__":
    main()
